package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/cookiejar"
	netmail "net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse-go/gatehouse/internal/browsertest"
	"github.com/gatehouse-go/gatehouse/internal/testhash"
)

// testApp is the application running in-process on a free loopback port,
// with its own temporary database and mail folder.
type testApp struct {
	url     string // http://127.0.0.1:PORT
	maildir string
	db      string // the SQLite database's path
	adminPW string // the random password of admin@example.com
	logs    *syncBuffer
	pool    *x509.CertPool // the roots clients trust, with TLS
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startApp runs the application as main does, on 127.0.0.1:0, and stops
// it (cleanly: run must return nil) when the test ends. set changes the
// options first.
func startApp(t *testing.T, set ...func(*options)) *testApp {
	t.Helper()
	dir := t.TempDir()
	a := &testApp{maildir: filepath.Join(dir, "mail"), db: filepath.Join(dir, "webapp.db"), logs: &syncBuffer{}}
	o := options{
		addr: "127.0.0.1:0", db: a.db, maildir: a.maildir,
		hasher: testhash.Fast{}, // argon2id would spend most of the test's time
	}
	for _, f := range set {
		f(&o)
	}
	ctx, cancel := context.WithCancel(context.Background())
	out, stdout := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, o, stdout, slog.New(slog.NewTextHandler(a.logs, nil)))
		stdout.Close()
		done <- err
	}()
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		line := lines.Text()
		if rest, ok := strings.CutPrefix(line, "created superuser admin@example.com with password "); ok {
			a.adminPW, _, _ = strings.Cut(rest, " ")
		}
		if u, ok := strings.CutPrefix(line, "listening on "); ok {
			a.url = u
			break
		}
	}
	if a.url == "" {
		cancel()
		t.Fatalf("the app did not start: %v\n%s", <-done, a.logs)
	}
	go io.Copy(io.Discard, out)
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
		if t.Failed() {
			t.Logf("the app logged:\n%s", a.logs)
		}
	})
	return a
}

// mailed waits for a mail to the address to whose text matches re and
// returns the match's first group (or the whole match without groups),
// from the newest such mail.
func (a *testApp) mailed(t *testing.T, to, re string) string {
	t.Helper()
	rx := regexp.MustCompile(re)
	for range 100 {
		files, _ := filepath.Glob(filepath.Join(a.maildir, "*.eml"))
		for i := len(files) - 1; i >= 0; i-- {
			rcpt, text := readMail(t, files[i])
			if !strings.EqualFold(rcpt, to) {
				continue
			}
			if m := rx.FindStringSubmatch(text); m != nil {
				return m[len(m)-1]
			}
		}
		time.Sleep(50 * time.Millisecond) // mail is written in the background
	}
	t.Fatalf("no mail to %s matches %s", to, re)
	return ""
}

// readMail returns the recipient and the decoded text part of an .eml file.
func readMail(t *testing.T, file string) (to, text string) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	msg, err := netmail.ReadMessage(f)
	if err != nil {
		t.Fatal(err)
	}
	to = msg.Header.Get("To")
	if addr, err := netmail.ParseAddress(to); err == nil {
		to = addr.Address
	}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	body, cte := io.Reader(msg.Body), msg.Header.Get("Content-Transfer-Encoding")
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(msg.Body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err != nil {
				t.Fatalf("%s: no text part: %v", file, err)
			}
			if strings.HasPrefix(p.Header.Get("Content-Type"), "text/plain") {
				body, cte = p, p.Header.Get("Content-Transfer-Encoding")
				break
			}
		}
	}
	if strings.EqualFold(cte, "quoted-printable") {
		body = quotedprintable.NewReader(body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	return to, string(b)
}

// link is the regular expression of a link in mail to one of the app's
// pages.
func (a *testApp) link(page string) string {
	return `(` + regexp.QuoteMeta(a.url+page) + `\?token=[A-Za-z0-9_-]+)`
}

// client is a browser without a browser: a cookie jar that posts forms
// as a non-browser client would (no Origin, no Sec-Fetch-Site).
func (a *testApp) client(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: a.pool}}}
}

// post sends a form and returns the path of the page it ends on.
func (a *testApp) post(t *testing.T, c *http.Client, path string, form url.Values) string {
	t.Helper()
	resp, err := c.PostForm(a.url+path, form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.Request.URL.Path
}

// withCookie is a client that sends this session cookie.
func (a *testApp) withCookie(t *testing.T, value string) *http.Client {
	t.Helper()
	c := a.client(t)
	u, _ := url.Parse(a.url)
	c.Jar.SetCookies(u, []*http.Cookie{{Name: "gatehouse", Value: value}})
	return c
}

// cookieOf is the session cookie c holds for the app ("" for none).
func (a *testApp) cookieOf(c *http.Client) string {
	u, _ := url.Parse(a.url)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "gatehouse" {
			return ck.Value
		}
	}
	return ""
}

// newUser registers and verifies an account through the app's forms.
func (a *testApp) newUser(t *testing.T, email, password, name string) {
	t.Helper()
	c := a.client(t)
	if p := a.post(t, c, "/register", url.Values{"email": {email}, "new_password": {password}, "name": {name}}); p != "/verify" {
		t.Fatalf("registering %s ended on %s", email, p)
	}
	code := a.mailed(t, email, `Your code: (\d{6})`)
	if p := a.post(t, c, "/verify", url.Values{"email": {email}, "code": {code}}); p != "/login" {
		t.Fatalf("verifying %s ended on %s", email, p)
	}
}

// signedIn reports whether c's cookie opens the profile page (instead of
// being sent to the login page).
func (a *testApp) signedIn(t *testing.T, c *http.Client) bool {
	t.Helper()
	resp, err := c.Get(a.url + "/account")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.Request.URL.Path == "/account"
}

// tab is a headless Chromium on the app.
type tab struct {
	*browsertest.Browser
	t   *testing.T
	app *testApp
}

func newTab(t *testing.T, app *testApp) *tab {
	return &tab{Browser: browsertest.New(t), t: t, app: app}
}

// open loads a page of the app and returns the HTTP status of the
// document it ends on (after redirects).
func (b *tab) open(path string) int64 {
	b.t.Helper()
	resp := browsertest.Get(b.t, b.Browser, chromedp.NavigateResponse(b.app.url+path))
	return resp.Status
}

// fill sets form fields, by id: fill("email", "a@example.com", ...).
func (b *tab) fill(idValues ...string) {
	b.t.Helper()
	var steps []chromedp.Action[chromedp.Void]
	for i := 0; i < len(idValues); i += 2 {
		steps = append(steps, chromedp.SetValue(chromedp.ID(idValues[i]), idValues[i+1]))
	}
	b.Do(steps...)
}

// click clicks the element (a submit button, a link) and waits for the
// page it loads; it returns the HTTP status of that page.
func (b *tab) click(css string) int64 {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.Context(), browsertest.Timeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(css)))
	if err != nil {
		b.t.Fatalf("clicking %s: %v", css, err)
	}
	return resp.Status
}

// submit fills fields (as fill) and clicks the form's submit button:
// submit("#login", "email", "a@example.com").
func (b *tab) submit(form string, idValues ...string) int64 {
	b.t.Helper()
	b.fill(idValues...)
	return b.click(`form[action="` + form + `"] button[type=submit]`)
}

// waitFor waits until the JavaScript expression is true in the page,
// across the navigation that may be under way.
func (b *tab) waitFor(expr string) {
	b.t.Helper()
	deadline := time.Now().Add(browsertest.Timeout)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(b.Context(), time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		cancel()
		if err == nil && ok {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.t.Fatalf("waiting for %s: timed out", expr)
}

// path is the path of the current page.
func (b *tab) path() string {
	b.t.Helper()
	u, err := url.Parse(browsertest.Get(b.t, b.Browser, chromedp.Location()))
	if err != nil {
		b.t.Fatal(err)
	}
	return u.Path
}

// page is the visible text of the page's main part.
func (b *tab) page() string {
	b.t.Helper()
	return browsertest.Get(b.t, b.Browser, chromedp.Evaluate[string](`document.querySelector("main").innerText`))
}

// see fails the test unless the page's main part shows each text.
func (b *tab) see(texts ...string) {
	b.t.Helper()
	page := b.page()
	for _, s := range texts {
		if !strings.Contains(page, s) {
			b.t.Fatalf("%s does not show %q; it shows:\n%s", b.path(), s, page)
		}
	}
}

// a11y lists what is wrong with the page's accessibility basics and its
// stylesheet: a missing lang or h1, an input without a label, an
// aria-describedby naming no element, or a stylesheet the Content
// Security Policy blocked.
const a11y = `(() => {
	const bad = [];
	if (document.documentElement.lang !== "en") bad.push("no lang=en");
	if (document.querySelectorAll("h1").length !== 1) bad.push("not one h1");
	for (const e of document.querySelectorAll("input:not([type=hidden]), textarea, select")) {
		if (!e.labels || e.labels.length === 0) bad.push("no label for " + (e.name || e.id));
	}
	for (const e of document.querySelectorAll("[aria-describedby]")) {
		for (const id of e.getAttribute("aria-describedby").split(" ")) {
			if (!document.getElementById(id)) bad.push("aria-describedby names no element: " + id);
		}
	}
	if (getComputedStyle(document.querySelector("header")).backgroundColor !== "rgb(17, 24, 39)") bad.push("the stylesheet was not applied");
	return bad;
})()`

// shot checks the page's accessibility basics and writes its screenshot
// (which must not be blank) under the test's temp dir. With
// WEBAPP_SCREENSHOTS set to a folder, a copy goes there too, to look at.
func (b *tab) shot(name string) {
	b.t.Helper()
	if bad := browsertest.Get(b.t, b.Browser, chromedp.Evaluate[[]string](a11y)); len(bad) > 0 {
		b.t.Errorf("%s (%s): %s", name, b.path(), strings.Join(bad, "; "))
	}
	path := b.Screenshot(name)
	if dir := os.Getenv("WEBAPP_SCREENSHOTS"); dir != "" {
		data, err := os.ReadFile(path)
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, filepath.Base(path)), data, 0o644)
		}
		if err != nil {
			b.t.Log(err)
		}
	}
}

// cookie returns the value of the session cookie the browser holds for
// the app, read through the DevTools protocol ("" when there is none).
func (b *tab) cookie() string {
	b.t.Helper()
	cookies := browsertest.Get(b.t, b.Browser, func(ctx context.Context, tg *chromedp.Target) ([]*network.Cookie, error) {
		res, err := cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{URLs: []string{b.app.url}})
		return res.Cookies, err
	})
	for _, c := range cookies {
		if c.Name == "gatehouse" {
			return c.Value
		}
	}
	return ""
}

// setCookie puts a session cookie with this value into the browser, as
// an attacker with access to it (or a planted link) could.
func (b *tab) setCookie(value string) {
	b.t.Helper()
	b.Do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, network.SetCookie, network.SetCookieParams{
			Name: "gatehouse", Value: value, URL: b.app.url, Path: "/", HTTPOnly: new(true), SameSite: network.CookieSameSiteLax,
		})
		return err
	}))
}

// logIn logs in through the login page and checks that it lands on the
// profile.
func (b *tab) logIn(email, password string) {
	b.t.Helper()
	b.open("/login")
	b.submit("/login", "email", email, "password", password)
	if p := b.path(); p != "/account" {
		b.t.Fatalf("logging in as %s ended on %s: %s", email, p, b.page())
	}
}

// logInRaw logs in as ada and returns the login's own answer (the
// redirect that sets the cookie), not the page it leads to.
func (a *testApp) logInRaw(t *testing.T) *http.Response {
	t.Helper()
	c := a.client(t)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.PostForm(a.url+"/login", url.Values{"email": {adaEmail}, "password": {adaPW}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST /login: %d", resp.StatusCode)
	}
	return resp
}

// setCookie returns the cookie of that name the response sets.
func setCookie(t *testing.T, resp *http.Response, name string) *http.Cookie {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no %s cookie in %q", name, resp.Header.Values("Set-Cookie"))
	return nil
}

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key as
// PEM files in dir, and returns their paths and a pool that trusts it.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "webapp test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, pool
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func contains(list []string, s string) bool { return slices.Contains(list, s) }

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
