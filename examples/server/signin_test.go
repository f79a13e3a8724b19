package main_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"github.com/gatehouse-go/gatehouse/internal/browsertest"
)

// TestSignInPage: /login is one page whose Content Security Policy
// allows exactly its inline style and script, by hash, and requests only
// to its own origin.
func TestSignInPage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	t.Parallel()
	dir := t.TempDir()
	s := start(t, buildServer(t), nil, "-db", filepath.Join(dir, "gh.db"), "-maildir", filepath.Join(dir, "mail"))
	resp, err := http.Get(s.url + "/login")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	csp := resp.Header.Get("Content-Security-Policy")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("GET /login: %d %v", resp.StatusCode, resp.Header)
	}
	for _, want := range []string{"default-src 'none'", "connect-src 'self'", "form-action 'none'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe") {
		t.Errorf("CSP %q allows unsafe sources", csp)
	}
	for _, tag := range []string{"script", "style"} {
		blocks := regexp.MustCompile(`(?s)<`+tag+`>(.*?)</`+tag+`>`).FindAllSubmatch(body, -1)
		if len(blocks) != 1 {
			t.Fatalf("%d <%s> blocks, want 1", len(blocks), tag)
		}
		sum := sha256.Sum256(blocks[0][1])
		if src := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(csp, tag+"-src "+src) {
			t.Errorf("CSP %q does not allow the page's %s (%s)", csp, tag, src)
		}
	}
	for _, id := range []string{"login-form", "code-form", "passkey-sign-in", "use-passkey", "register-passkey", "logout"} {
		if !strings.Contains(string(body), `id="`+id+`"`) {
			t.Errorf("the page has no #%s", id)
		}
	}
}

// signIn types the password into the sign-in page and waits for the code
// step.
func signIn(t *testing.T, b *browsertest.Browser, email, password string) {
	t.Helper()
	setValue(t, b, "#email", email)
	setValue(t, b, "#password", password)
	b.Do(
		chromedp.Click(chromedp.CSS("#sign-in")),
	)
	waitStatus(t, b, "Enter the code")
}

// setValue sets an input's value, replacing what it held.
func setValue(t *testing.T, b *browsertest.Browser, css, value string) {
	t.Helper()
	js, _ := json.Marshal(value)
	sel, _ := json.Marshal(css)
	browsertest.Get(t, b, chromedp.Evaluate[bool](`(document.querySelector(`+string(sel)+`).value = `+string(js)+`) !== null`))
}

// waitStatus waits until the page's status line contains text.
func waitStatus(t *testing.T, b *browsertest.Browser, text string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := browsertest.Get(t, b, chromedp.Evaluate[string](`document.getElementById("status").textContent`))
		if strings.Contains(got, text) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the status line says %q, want %q", got, text)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSignInInBrowser drives /login in headless Chromium against the
// example server: a password login of a user with TOTP asks for the code,
// refuses a wrong one and signs in with the right one; then, with the
// DevTools virtual authenticator, the page registers a passkey, signs in
// with it alone (passwordless), and answers a password login's second
// step with it (SECURITY.md #83).
func TestSignInInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	t.Parallel()
	b := browsertest.New(t)
	dir := t.TempDir()
	s := start(t, buildServer(t), nil, "-db", filepath.Join(dir, "gh.db"), "-maildir", filepath.Join(dir, "mail"))
	s.registerUser(t)
	access, _ := s.login(t, userEmail, userPW)
	// A fresh login: enrolling needs no current_password.
	enr := s.want(t, s.call(t, "POST", "/v2/mfa/totp/enroll", "application/json", `{"name":"phone"}`, access), 200)
	secret, _ := enr["secret"].(string)
	code, err := totp.GenerateCode(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	conf := s.want(t, s.call(t, "POST", "/v2/mfa/totp/confirm", "application/json", `{"factor_id":"`+enr["factor_id"].(string)+`","code":"`+code+`"}`, access), 200)
	var recovery []string
	for _, c := range conf["recovery_codes"].([]any) {
		recovery = append(recovery, c.(string))
	}

	// WebAuthn needs a domain name: localhost, not 127.0.0.1.
	page := strings.Replace(s.url, "127.0.0.1", "localhost", 1) + "/login"
	b.Do(chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	if w := browsertest.Get(t, b, chromedp.Evaluate[string](`getComputedStyle(document.body).maxWidth`)); w != "544px" {
		t.Errorf("the page's style did not apply: body max-width %q", w)
	}

	t.Run("password and code", func(t *testing.T) {
		signIn(t, b, userEmail, userPW)
		setValue(t, b, "#code", "000000")
		b.Do(chromedp.Click(chromedp.CSS("#code-submit")))
		waitStatus(t, b, "Wrong or already used code")
		// The next step's code: the confirmation spent this one's.
		next, err := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		setValue(t, b, "#code", next)
		b.Do(chromedp.Click(chromedp.CSS("#code-submit")))
		waitStatus(t, b, "You are signed in (password and code)")
		b.Do(chromedp.Click(chromedp.CSS("#logout")), chromedp.WaitVisible(chromedp.CSS("#password-step")))
		waitStatus(t, b, "You are signed out")
	})

	t.Run("passkeys", func(t *testing.T) {
		authn := b.AddAuthenticator()
		// Signed in with a recovery code: both TOTP steps near now may be
		// spent already.
		signIn(t, b, userEmail, userPW)
		setValue(t, b, "#code", recovery[0])
		b.Do(chromedp.Click(chromedp.CSS("#code-submit")))
		waitStatus(t, b, "You are signed in (password and recovery code)")
		// A fresh login: registering needs no current password.
		setValue(t, b, "#passkey-name", "laptop")
		b.Do(chromedp.Click(chromedp.CSS("#register-passkey")))
		waitStatus(t, b, "Your passkey is registered")
		if creds := authn.Credentials(); len(creds) != 1 || !creds[0].IsResidentCredential || creds[0].RpID != "localhost" {
			t.Fatalf("the authenticator holds %+v", creds)
		}
		b.Do(chromedp.Click(chromedp.CSS("#logout")), chromedp.WaitVisible(chromedp.CSS("#password-step")))

		// Passwordless: the passkey alone.
		b.Do(chromedp.Click(chromedp.CSS("#passkey-sign-in")), chromedp.WaitVisible(chromedp.CSS("#signed-in")))
		waitStatus(t, b, "You are signed in (passkey)")
		b.Do(chromedp.Click(chromedp.CSS("#logout")), chromedp.WaitVisible(chromedp.CSS("#password-step")))

		// The passkey as the second step of a password login.
		signIn(t, b, userEmail, userPW)
		b.Do(
			chromedp.WaitVisible(chromedp.CSS("#use-passkey")),
			chromedp.Click(chromedp.CSS("#use-passkey")),
			chromedp.WaitVisible(chromedp.CSS("#signed-in")),
		)
		waitStatus(t, b, "You are signed in (password and passkey)")
	})
}
