package main_test

import (
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse-go/gatehouse/internal/browsertest"
)

// pageReply is a page the server answered.
type pageReply struct {
	status int
	header http.Header
	body   string
	url    *url.URL // where it came from, to resolve the form's action
}

func (s *server) page(t *testing.T, method, rawURL string, form url.Values) pageReply {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, rawURL, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	p := pageReply{status: resp.StatusCode, header: resp.Header, body: string(b), url: req.URL}
	checkPage(t, p)
	return p
}

var (
	styleRe   = regexp.MustCompile(`(?s)<style>(.*?)</style>`)
	inputRe   = regexp.MustCompile(`<input [^>]*>`)
	attrRe    = regexp.MustCompile(`\b(type|id|name|value)="([^"]*)"`)
	handlerRe = regexp.MustCompile(`\son[a-z]+=`)
	actionRe  = regexp.MustCompile(`<form method="post" action="([^"]*)">`)
)

// checkPage checks what every page must be: HTML in English with a title
// and a heading, its inputs labelled, no script and nothing loaded from
// elsewhere, and headers that keep the token in it from leaking.
func checkPage(t *testing.T, p pageReply) {
	t.Helper()
	h := p.header
	if ct := h.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if rp := h.Get("Referrer-Policy"); rp != "no-referrer" {
		t.Errorf("Referrer-Policy %q", rp)
	}
	if cc := h.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe") || strings.Contains(csp, "script-src") || strings.Contains(csp, "*") {
		t.Errorf("Content-Security-Policy %q is not strict", csp)
	}
	// The one inline style is allowed by its hash, so browsers apply it.
	m := styleRe.FindStringSubmatch(p.body)
	if m == nil {
		t.Errorf("no style in the page")
	} else {
		sum := sha256.Sum256([]byte(m[1]))
		if want := "style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q does not allow the page's style (%s)", csp, want)
		}
	}
	for _, want := range []string{"<!doctype html>", `<html lang="en">`, "<title>", "<h1>", `<meta name="viewport"`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the page has no %s:\n%s", want, p.body)
		}
	}
	for _, bad := range []string{"<script", " src=", "<link", "<img", "<iframe", "http://", "https://", "style="} {
		if strings.Contains(p.body, bad) {
			t.Errorf("the page holds %q (no script, nothing from elsewhere):\n%s", bad, p.body)
		}
	}
	if h := handlerRe.FindString(p.body); h != "" {
		t.Errorf("the page has an inline event handler %q", h)
	}
	for _, in := range inputRe.FindAllString(p.body, -1) {
		a := attrs(in)
		if a["type"] == "hidden" {
			continue
		}
		if a["id"] == "" || !strings.Contains(p.body, `<label for="`+a["id"]+`">`) {
			t.Errorf("input without a label: %s", in)
		}
	}
}

func attrs(tag string) map[string]string {
	a := map[string]string{}
	for _, m := range attrRe.FindAllStringSubmatch(tag, -1) {
		a[m[1]] = m[2]
	}
	return a
}

// form returns the action URL of the page's form and the values of its
// hidden fields.
func (p pageReply) form(t *testing.T) (string, url.Values) {
	t.Helper()
	m := actionRe.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no POST form in the page (%d):\n%s", p.status, p.body)
	}
	action, err := p.url.Parse(m[1])
	if err != nil {
		t.Fatal(err)
	}
	vals := url.Values{}
	for _, in := range inputRe.FindAllString(p.body, -1) {
		if a := attrs(in); a["type"] == "hidden" {
			vals.Set(a["name"], a["value"])
		}
	}
	return action.String(), vals
}

// open GETs the page of a mail link and checks it carries the token.
func (s *server) open(t *testing.T, link string) pageReply {
	t.Helper()
	if !strings.HasPrefix(link, s.url+"/") {
		t.Fatalf("the mail links to %s, not to the server at %s", link, s.url)
	}
	p := s.page(t, "GET", link, nil)
	if p.status != 200 {
		t.Fatalf("GET %s: %d\n%s", link, p.status, p.body)
	}
	token := tokenOf(t, link)
	if _, vals := p.form(t); vals.Get("token") != token {
		t.Fatalf("the form carries token %q, want the link's", vals.Get("token"))
	}
	return p
}

// submit posts the page's form with the extra fields.
func (s *server) submit(t *testing.T, p pageReply, extra url.Values) pageReply {
	t.Helper()
	action, vals := p.form(t)
	for k, v := range extra {
		vals[k] = v
	}
	return s.page(t, "POST", action, vals)
}

func tokenOf(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("token")
}

func wantPage(t *testing.T, p pageReply, status int, text string) {
	t.Helper()
	if p.status != status || !strings.Contains(p.body, text) {
		t.Fatalf("%s %s: %d, want %d with %q:\n%s", "POST", p.url, p.status, status, text, p.body)
	}
}

// TestMailLinkPages follows every kind of link the server mails, as a user
// would: the link from the mail folder, the page it opens, the form on it,
// and then the account, which must have changed.
func TestMailLinkPages(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	t.Parallel()
	dir := t.TempDir()
	maildir := filepath.Join(dir, "mail")
	s := start(t, buildServer(t), nil, "-db", filepath.Join(dir, "gh.db"), "-maildir", maildir, "-require-email-verification")
	var tokens []string
	register := func(t *testing.T, email string) {
		t.Helper()
		s.want(t, s.call(t, "POST", "/v2/register", "application/json", `{"email":"`+email+`","password":"`+userPW+`"}`, ""), 200)
	}
	loginStatus := func(email, pw string) int {
		form := url.Values{"username": {email}, "password": {pw}}
		return s.call(t, "POST", "/v2/login", "application/x-www-form-urlencoded", form.Encode(), "").status
	}

	t.Run("verify-email", func(t *testing.T) {
		register(t, userEmail)
		if st := loginStatus(userEmail, userPW); st != 401 {
			t.Fatalf("login before verifying: %d", st)
		}
		link := mailLink(t, maildir, userEmail, "/verify-email")
		tokens = append(tokens, tokenOf(t, link))
		p := s.open(t, link)
		s.open(t, link) // opening it again (a mail scanner, a reload) spends nothing
		if h := p.header.Get("Strict-Transport-Security"); h != "" {
			t.Errorf("HSTS %q over plain HTTP", h)
		}
		// A token only in the URL of the POST, not in the form, is refused.
		action, _ := p.form(t)
		wantPage(t, s.page(t, "POST", action+"?token="+url.QueryEscape(tokenOf(t, link)), url.Values{}), 400, "token is missing")
		if st := loginStatus(userEmail, userPW); st != 401 {
			t.Fatalf("login after a refused POST: %d", st)
		}
		// A browser's post from another site is refused.
		_, vals := p.form(t)
		req, _ := http.NewRequest("POST", action, strings.NewReader(vals.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		resp, err := s.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 403 {
			t.Fatalf("a cross-site POST: %d", resp.StatusCode)
		}
		if st := loginStatus(userEmail, userPW); st != 401 {
			t.Fatalf("login after a cross-site POST: %d", st)
		}
		wantPage(t, s.submit(t, p, nil), 200, "Your email address is verified")
		if st := loginStatus(userEmail, userPW); st != 200 {
			t.Fatalf("login after verifying: %d", st)
		}
		// The token is spent.
		wantPage(t, s.submit(t, p, nil), 400, "already used")
	})

	const newPW = "a brand new passphrase here"
	t.Run("reset-password", func(t *testing.T) {
		s.want(t, s.call(t, "POST", "/v2/request_password_reset", "application/json", `{"email":"`+userEmail+`"}`, ""), 200)
		link := mailLink(t, maildir, userEmail, "/reset-password")
		tokens = append(tokens, tokenOf(t, link))
		p := s.open(t, link)
		if !strings.Contains(p.body, `autocomplete="new-password"`) {
			t.Errorf("the new-password fields lack autocomplete=new-password:\n%s", p.body)
		}
		differ := s.submit(t, p, url.Values{"new_password": {newPW}, "confirm_password": {newPW + "x"}})
		wantPage(t, differ, 400, "differ")
		weak := s.submit(t, differ, url.Values{"new_password": {"short"}, "confirm_password": {"short"}})
		wantPage(t, weak, 400, "too short")
		// The refusals kept the token in the form.
		wantPage(t, s.submit(t, weak, url.Values{"new_password": {newPW}, "confirm_password": {newPW}}), 200, "Your password is changed")
		if st := loginStatus(userEmail, userPW); st != 401 {
			t.Fatalf("login with the old password: %d", st)
		}
		if st := loginStatus(userEmail, newPW); st != 200 {
			t.Fatalf("login with the new password: %d", st)
		}
	})

	const changed = "ada.lovelace@example.com"
	t.Run("confirm-email", func(t *testing.T) {
		access, _ := s.login(t, userEmail, newPW)
		s.want(t, s.call(t, "PUT", "/v2/user", "application/json", `{"email":"`+changed+`","current_password":"`+newPW+`"}`, access), 200)
		link := mailLink(t, maildir, changed, "/confirm-email")
		tokens = append(tokens, tokenOf(t, link))
		wantPage(t, s.submit(t, s.open(t, link), nil), 200, "Your new email address is confirmed")
		access, _ = s.login(t, changed, newPW)
		if me := s.want(t, s.call(t, "GET", "/v2/user", "", "", access), 200); me["email"] != changed {
			t.Fatalf("after confirming, the user is %v", me)
		}
		if st := loginStatus(userEmail, newPW); st != 401 {
			t.Fatalf("login with the old address: %d", st)
		}
	})

	t.Run("cancel-email-change", func(t *testing.T) {
		// Another account: mail about email changes is limited per
		// account, and ada just had one.
		const bob, bobNew = "bob@example.com", "bob.other@example.com"
		register(t, bob)
		verify := mailLink(t, maildir, bob, "/verify-email")
		wantPage(t, s.submit(t, s.open(t, verify), nil), 200, "verified")
		access, _ := s.login(t, bob, userPW)
		s.want(t, s.call(t, "PUT", "/v2/user", "application/json", `{"email":"`+bobNew+`","current_password":"`+userPW+`"}`, access), 200)
		confirm := mailLink(t, maildir, bobNew, "/confirm-email")
		cancel := mailLink(t, maildir, bob, "/cancel-email-change")
		tokens = append(tokens, tokenOf(t, cancel), tokenOf(t, confirm))
		wantPage(t, s.submit(t, s.open(t, cancel), nil), 200, "The change is cancelled")
		// Every session ended, the address stayed, and the confirmation
		// link is dead.
		s.want(t, s.call(t, "GET", "/v2/user", "", "", access), 401)
		access, _ = s.login(t, bob, userPW)
		if me := s.want(t, s.call(t, "GET", "/v2/user", "", "", access), 200); me["email"] != bob {
			t.Fatalf("after cancelling, the user is %v", me)
		}
		wantPage(t, s.submit(t, s.open(t, confirm), nil), 400, "cancelled")
		if st := loginStatus(bobNew, userPW); st != 401 {
			t.Fatalf("login with the cancelled address: %d", st)
		}
	})

	t.Run("no token in the log", func(t *testing.T) {
		s.stop(t)
		logs := s.stderr.String()
		if !strings.Contains(logs, "verify_email") {
			t.Fatalf("the server logged no events, so this check proves nothing:\n%s", logs)
		}
		for _, tok := range tokens {
			if tok == "" || strings.Contains(logs, tok) {
				t.Errorf("token %q is empty or in the log", tok)
			}
		}
	})
}

// TestPageWithoutToken: a page opened without a token asks for one, with a
// labelled field, and a wrong token gets a clear answer.
func TestPageWithoutToken(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	t.Parallel()
	dir := t.TempDir()
	s := start(t, buildServer(t), nil, "-db", filepath.Join(dir, "gh.db"), "-maildir", filepath.Join(dir, "mail"), "-require-email-verification")
	for _, path := range []string{"/verify-email", "/reset-password", "/confirm-email", "/cancel-email-change"} {
		t.Run(path, func(t *testing.T) {
			p := s.page(t, "GET", s.url+path, nil)
			if p.status != 200 || !strings.Contains(p.body, `<label for="token">`) {
				t.Fatalf("GET %s: %d\n%s", path, p.status, p.body)
			}
			form := url.Values{"token": {"not-a-token"}, "new_password": {"another fine passphrase"}, "confirm_password": {"another fine passphrase"}}
			wrong := s.page(t, "POST", s.url+path, form)
			if wrong.status != 400 || !strings.Contains(wrong.body, `role="alert"`) || !strings.Contains(wrong.body, "wrong") {
				t.Fatalf("POST %s with a wrong token: %d\n%s", path, wrong.status, wrong.body)
			}
		})
	}
}

// TestResetPageInBrowser uses the reset page in a real browser: its style
// applies under its Content Security Policy, the form posts, and the
// password changes.
func TestResetPageInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	t.Parallel()
	b := browsertest.New(t)
	dir := t.TempDir()
	maildir := filepath.Join(dir, "mail")
	s := start(t, buildServer(t), nil, "-db", filepath.Join(dir, "gh.db"), "-maildir", maildir)
	s.registerUser(t)
	s.want(t, s.call(t, "POST", "/v2/request_password_reset", "application/json", `{"email":"`+userEmail+`"}`, ""), 200)
	link := mailLink(t, maildir, userEmail, "/reset-password")

	const newPW = "typed into a real browser"
	b.Do(chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("#new_password")))
	// 34rem: the inline style was allowed by its hash, not blocked.
	if w := browsertest.Get(t, b, chromedp.Evaluate[string](`getComputedStyle(document.body).maxWidth`)); w != "544px" {
		t.Errorf("the page's style did not apply: body max-width %q", w)
	}
	b.Do(
		chromedp.SendKeys(chromedp.CSS("#new_password"), newPW),
		chromedp.SendKeys(chromedp.CSS("#confirm_password"), newPW),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[role="status"]`)),
	)
	if got := b.Text(`[role="status"]`); !strings.Contains(got, "Your password is changed") {
		t.Fatalf("after submitting, the page says %q", got)
	}
	if loc := browsertest.Get(t, b, chromedp.Location()); strings.Contains(loc, "token") {
		t.Errorf("the page after the post is %s: the token went into the URL", loc)
	}
	s.login(t, userEmail, newPW)
}
