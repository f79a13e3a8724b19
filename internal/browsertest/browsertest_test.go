package browsertest_test

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
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
