package browsertest_test

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse-go/gatehouse/internal/browsertest"
)

func encode(t *testing.T, m image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestNonBlank(t *testing.T) {
	white := image.NewRGBA(image.Rect(0, 0, 400, 300))
	for y := range 300 {
		for x := range 400 {
			white.Set(x, y, color.White)
		}
	}
	if err := browsertest.NonBlank(encode(t, white)); err == nil {
		t.Error("an all-white image passed as non-blank")
	}
	text := image.NewRGBA(white.Bounds())
	copy(text.Pix, white.Pix)
	for y := 100; y < 140; y++ {
		for x := 50; x < 350; x++ {
			text.Set(x, y, color.Black)
		}
	}
	if err := browsertest.NonBlank(encode(t, text)); err != nil {
		t.Errorf("an image with a black bar: %v", err)
	}
	if err := browsertest.NonBlank([]byte("not a png")); err == nil {
		t.Error("garbage passed as an image")
	}
}

// TestBrowser drives the real browser through a form post and a
// screenshot: the harness itself works.
func TestBrowser(t *testing.T) {
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if r.Method == http.MethodPost {
			got <- r.PostFormValue("name")
			w.Write([]byte(`<!doctype html><title>done</title><h1 id="done">Thanks, ` + r.PostFormValue("name") + `</h1>`))
			return
		}
		w.Write([]byte(`<!doctype html><title>form</title><h1>Hello</h1>
<form method="post"><label>Name <input id="name" name="name"></label><button id="go">Send</button></form>`))
	}))
	defer srv.Close()
	b := browsertest.New(t)
	b.Do(
		chromedp.Navigate(srv.URL),
		chromedp.SendKeys(chromedp.CSS("#name"), "Ada"),
		chromedp.Click(chromedp.CSS("#go")),
		chromedp.WaitVisible(chromedp.CSS("#done")),
	)
	if name := <-got; name != "Ada" {
		t.Errorf("the server got name=%q", name)
	}
	if txt := b.Text("#done"); txt != "Thanks, Ada" {
		t.Errorf("page says %q", txt)
	}
	path := b.Screenshot("done page")
	if st, err := os.Stat(path); err != nil || st.Size() == 0 {
		t.Errorf("screenshot %s: %v", path, err)
	}
}

// TestAuthenticator: the virtual authenticator answers
// navigator.credentials.create with a discoverable, user-verified
// credential for the page's origin, and .get with an assertion from it.
func TestAuthenticator(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<!doctype html><title>webauthn</title><p>passkeys</p>`))
	}))
	defer srv.Close()
	b := browsertest.New(t)
	a := b.AddAuthenticator()
	// WebAuthn needs a domain: localhost, not 127.0.0.1.
	b.Do(chromedp.Navigate(strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)))
	const ceremony = `(async () => {
  const rand = () => crypto.getRandomValues(new Uint8Array(32));
  const made = await navigator.credentials.create({publicKey: {
    challenge: rand(), rp: {id: "localhost", name: "test"},
    user: {id: new Uint8Array([1, 2, 3]), name: "ada", displayName: "Ada"},
    pubKeyCredParams: [{type: "public-key", alg: -7}],
    authenticatorSelection: {residentKey: "required", userVerification: "required"}}});
  const got = await navigator.credentials.get({publicKey: {challenge: rand(), rpId: "localhost", userVerification: "required"}});
  const flags = new Uint8Array(got.response.authenticatorData)[32];
  return made.id === got.id && (flags & 0x05) === 0x05 ? "ok" : "mismatch";
})()`
	res := browsertest.Get(t, b, chromedp.Evaluate[string](ceremony, chromedp.EvalAwaitPromise))
	if res != "ok" {
		t.Fatalf("the ceremony in the page gave %q", res)
	}
	creds := a.Credentials()
	if len(creds) != 1 || !creds[0].IsResidentCredential || creds[0].RpID != "localhost" {
		t.Fatalf("the authenticator holds %+v", creds)
	}
}
