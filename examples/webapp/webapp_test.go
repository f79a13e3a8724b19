package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse-go/gatehouse/internal/browsertest"
)

// The browser tests drive headless Chromium (internal/browsertest: skipped
// without it, required under CI=true) through every page of the app,
// started in-process on its own database and mail folder. Each page gets
// a screenshot, checked non-blank, and an accessibility check (see shot).

const (
	adaEmail = "ada@example.com"
	adaPW    = "correct horse battery staple"
)

// TestAccountPages walks one user through the whole account lifecycle:
// register, verify by code, log in, profile, email change confirmed by
// the mailed link, sessions (signing out another device, then this one),
// password change, forgotten password, deletion.
func TestAccountPages(t *testing.T) {
	app := startApp(t)
	b := newTab(t, app)

	b.open("/register")
	b.shot("register")
	b.submit("/register", "email", adaEmail, "name", "Ada Lovelace", "new_password", adaPW)
	if p := b.path(); p != "/verify" {
		t.Fatalf("registering ended on %s: %s", p, b.page())
	}
	b.see("Account created")
	code := app.mailed(t, adaEmail, `Your code: (\d{6})`)
	wrong := fmt.Sprintf("%06d", (atoi(t, code)+1)%1000000)
	if status := b.submit("/verify", "code", wrong); status != http.StatusBadRequest {
		t.Errorf("a wrong code: status %d", status)
	}
	if msg := b.Text("#code-error"); !strings.Contains(msg, "wrong or has expired") {
		t.Errorf("a wrong code says %q next to the field", msg)
	}
	b.shot("verify")
	b.submit("/verify", "code", code)
	if p := b.path(); p != "/login" {
		t.Fatalf("verifying ended on %s: %s", p, b.page())
	}
	b.see("Your email address is verified")
	if v := browsertest.Get(t, b.Browser, chromedp.Value(chromedp.ID("email"))); v != adaEmail {
		t.Errorf("the login form has email %q, want it filled in", v)
	}
	b.shot("login")

	if status := b.submit("/login", "email", adaEmail, "password", "not the password"); status != http.StatusBadRequest {
		t.Errorf("a wrong password: status %d", status)
	}
	b.see("That email address and password do not match an account.")
	b.logIn(adaEmail, adaPW)
	b.see(adaEmail, "verified")
	if v := browsertest.Get(t, b.Browser, chromedp.Value(chromedp.ID("name"))); v != "Ada Lovelace" {
		t.Errorf("the profile has name %q", v)
	}
	b.shot("profile")

	// The profile: a bad field is explained next to it, a good one saved.
	b.submit("/account/profile", "name", strings.Repeat("n", 201))
	if msg := b.Text("#name-error"); !strings.Contains(msg, "at most 200 characters") {
		t.Errorf("a long name says %q next to the field", msg)
	}
	b.submit("/account/profile", "name", "Ada King", "bio", "Mathematician. Wrote the first program.")
	b.see("Your profile is saved.")
	if v := browsertest.Get(t, b.Browser, chromedp.Value(chromedp.ID("name"))); v != "Ada King" {
		t.Errorf("after saving, the profile has name %q", v)
	}

	// The email change needs the current password, and shows the pending
	// address until the mailed link confirms it.
	const newEmail = "ada.king@example.com"
	b.submit("/account/email", "email", newEmail, "current_password", "not the password")
	if msg := b.Text("#current_password-error"); msg != "That is not your current password." {
		t.Errorf("a wrong password says %q next to the field", msg)
	}
	b.submit("/account/email", "email", newEmail, "current_password", adaPW)
	b.see("Almost done")
	if s := b.Text("#pending-email"); !strings.Contains(s, newEmail) || !strings.Contains(s, "expires in 24 hours") {
		t.Errorf("the pending address shows as %q", s)
	}
	b.shot("profile-email-pending")
	confirm := app.mailed(t, newEmail, app.link("/confirm-email"))
	b.open(strings.TrimPrefix(confirm, app.url))
	b.see("Confirm that this address is yours")
	b.shot("confirm-email")
	b.click("main form button")
	if p := b.path(); p != "/account" {
		t.Fatalf("confirming the new address ended on %s: %s", p, b.page())
	}
	b.see("Your new email address is confirmed.")
	if s := b.Text("#current-email"); !strings.Contains(s, newEmail) {
		t.Errorf("the current address shows as %q", s)
	}
	email := newEmail

	// A page for superusers only.
	if status := b.open("/admin"); status != http.StatusForbidden {
		t.Errorf("GET /admin as a user: %d", status)
	}
	b.see("Administrators only")

	// Sessions: another device logs in, and is signed out from here.
	other := app.client(t)
	if p := app.post(t, other, "/login", url.Values{"email": {email}, "password": {adaPW}}); p != "/account" {
		t.Fatalf("the second device's login ended on %s", p)
	}
	b.open("/account/sessions")
	b.see("2 active sessions", "this device", "Go-http-client")
	b.shot("sessions")
	b.click("#revoke-others")
	b.see("Every other device is signed out.", "1 active session")
	if app.signedIn(t, other) {
		t.Error("the other device is still signed in")
	}

	// Password change: the browser moves to a new session, and a copy of
	// the old cookie is worth nothing.
	b.open("/account/password")
	b.shot("password")
	b.submit("/account/password", "current_password", adaPW, "new_password", "a new passphrase, long", "confirm_password", "a new passphrase, lung")
	if msg := b.Text("#confirm_password-error"); !strings.Contains(msg, "differ") {
		t.Errorf("differing new passwords say %q", msg)
	}
	before := b.cookie()
	const pw2 = "a brand new passphrase"
	b.submit("/account/password", "current_password", adaPW, "new_password", pw2, "confirm_password", pw2)
	b.see("Your password is changed")
	if after := b.cookie(); after == "" || after == before {
		t.Errorf("the session cookie did not change with the password")
	}
	if app.signedIn(t, app.withCookie(t, before)) {
		t.Error("the cookie from before the password change still works")
	}

	// "Sign out this device", from the sessions page.
	b.open("/account/sessions")
	b.click("#this-device button")
	if p := b.path(); p != "/login" {
		t.Fatalf("signing out this device ended on %s", p)
	}
	b.see("You are logged out.")

	// A forgotten password, reset through the mailed link.
	b.open("/forgot-password")
	b.shot("forgot-password")
	b.submit("/forgot-password", "email", email)
	b.see("If an account uses that address, we have emailed it a link")
	reset := app.mailed(t, email, app.link("/reset-password"))
	b.open(strings.TrimPrefix(reset, app.url))
	b.shot("reset-password")
	const pw3 = "the third passphrase of ada"
	b.submit("/reset-password", "new_password", pw3, "confirm_password", pw3)
	if p := b.path(); p != "/login" {
		t.Fatalf("resetting the password ended on %s: %s", p, b.page())
	}
	b.see("Log in with your new password.")
	b.logIn(email, pw3)

	// Deletion, with the password.
	b.open("/account/delete")
	b.shot("delete-account")
	b.submit("/account/delete", "current_password", pw2)
	if msg := b.Text("#current_password-error"); msg != "That is not your current password." {
		t.Errorf("deleting with a wrong password says %q", msg)
	}
	b.submit("/account/delete", "current_password", pw3)
	if p := b.path(); p != "/login" {
		t.Fatalf("deleting the account ended on %s: %s", p, b.page())
	}
	b.see("Goodbye!")
	if c := b.cookie(); c != "" {
		t.Error("the session cookie survived the account")
	}
	b.submit("/login", "email", email, "password", pw3)
	b.see("do not match an account")
}

// TestMailLinks opens the other links in mail: the verification link of
// a new account, and the link that lets the old address cancel an email
// change. A used link, a page without a token and an unknown page say so.
func TestMailLinks(t *testing.T) {
	app := startApp(t)
	b := newTab(t, app)
	const bob, pw = "bob@example.com", "bobs own passphrase"

	c := app.client(t)
	app.post(t, c, "/register", url.Values{"email": {bob}, "new_password": {pw}, "name": {"Bob"}})
	link := app.mailed(t, bob, app.link("/verify-email"))
	// Before verifying, the login says so and links to the code form.
	b.open("/login")
	b.submit("/login", "email", bob, "password", pw)
	b.see("Verify your email address first")
	if href := browsertest.Get(t, b.Browser, chromedp.Evaluate[string](`document.querySelector(".notice a").getAttribute("href")`)); href != "/verify?email=bob%40example.com" {
		t.Errorf("the unverified login links to %q", href)
	}
	b.open(strings.TrimPrefix(link, app.url))
	b.see("Confirm that this email address is yours")
	b.shot("verify-email")
	b.click("main form button")
	if p := b.path(); p != "/login" {
		t.Fatalf("verifying by link ended on %s: %s", p, b.page())
	}
	b.see("Your email address is verified")
	b.open(strings.TrimPrefix(link, app.url))
	if status := b.click("main form button"); status != http.StatusBadRequest {
		t.Errorf("a used link: %d", status)
	}
	b.see("This link is wrong, expired or already used")

	b.logIn(bob, pw)
	b.submit("/account/email", "email", "robert@example.com", "current_password", pw)
	b.see("Almost done")
	cancel := app.mailed(t, bob, app.link("/cancel-email-change"))
	b.open(strings.TrimPrefix(cancel, app.url))
	b.see("If it was not you, cancel it")
	b.shot("cancel-email-change")
	b.click("main form button")
	if p := b.path(); p != "/login" {
		t.Fatalf("cancelling the email change ended on %s: %s", p, b.page())
	}
	b.see("The email change is cancelled")
	b.logIn(bob, pw)
	if pending := browsertest.Get(t, b.Browser, chromedp.Evaluate[bool](`document.getElementById("pending-email") !== null`)); pending {
		t.Error("the cancelled address is still pending")
	}

	b.open("/reset-password")
	b.see("This link is wrong, expired or already used")
	if status := b.open("/no-such-page"); status != http.StatusNotFound {
		t.Errorf("an unknown page: %d", status)
	}
	b.see("There is no page at this address.")
	b.shot("not-found")
}

// TestAdminPage: a superuser (the bootstrap admin, with the password
// printed at start) sees the users, the logins, the audit log and the
// events chart.
func TestAdminPage(t *testing.T) {
	app := startApp(t)
	if app.adminPW == "" {
		t.Fatal("no admin password was printed at start")
	}
	c := app.client(t)
	app.post(t, c, "/register", url.Values{"email": {"bob@example.com"}, "new_password": {"bobs own passphrase"}})
	app.post(t, c, "/login", url.Values{"email": {"admin@example.com"}, "password": {"a wrong guess"}})

	b := newTab(t, app)
	b.logIn("admin@example.com", app.adminPW)
	if status := b.open("/admin"); status != http.StatusOK {
		t.Fatalf("GET /admin: %d", status)
	}
	b.see("Administration", "bob@example.com", "unverified", "admin@example.com",
		"2\nlogins, 7 days", "50 %\nof logins failed")
	labels := browsertest.Get(t, b.Browser, chromedp.Evaluate[[]string](
		`[...document.querySelectorAll("#events-chart .chart-label")].map(e => e.textContent)`))
	for _, want := range []string{"login", "register", "ensure superuser"} {
		if !contains(labels, want) {
			t.Errorf("the chart's bars are %q, want one for %q", labels, want)
		}
	}
	bars := browsertest.Get(t, b.Browser, chromedp.Evaluate[int](`document.querySelectorAll("#events-chart rect").length`))
	if bars != len(labels) {
		t.Errorf("%d bars for %d labels", bars, len(labels))
	}
	rows := browsertest.Get(t, b.Browser, chromedp.Evaluate[int](`document.querySelectorAll("#logs tbody tr").length`))
	if rows < 4 {
		t.Errorf("the audit log shows %d rows", rows)
	}
	b.shot("admin")
}

// TestCrossSitePost: a page on another origin (a second server, another
// port of 127.0.0.1: the same site, so the SameSite=Lax cookie goes along
// and only the cross-origin check stands in the way) submits forms to the
// app by itself. Each is refused with 403, and nothing changes: the user
// keeps the name, the session and the account.
func TestCrossSitePost(t *testing.T) {
	app := startApp(t)
	app.newUser(t, adaEmail, adaPW, "Ada")
	app.newUser(t, "mallory@example.com", "mallorys own passphrase", "Mallory")
	forms := map[string]string{
		"/profile":  `<form method="post" action="APP/account/profile"><input name="name" value="Mallory was here"><input name="bio" value="pwned"></form>`,
		"/logout":   `<form method="post" action="APP/logout"></form>`,
		"/others":   `<form method="post" action="APP/account/sessions/revoke-others"></form>`,
		"/login":    `<form method="post" action="APP/login"><input name="email" value="mallory@example.com"><input name="password" value="mallorys own passphrase"></form>`,
		"/register": `<form method="post" action="APP/register"><input name="email" value="victim@example.com"><input name="new_password" value="chosen by mallory"></form>`,
	}
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form, ok := forms[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>You won!</title><h1>Claim your prize</h1>%s
<script>addEventListener("load", () => setTimeout(() => document.forms[0].submit(), 50))</script>`, strings.ReplaceAll(form, "APP", app.url))
	}))
	defer evil.Close()

	b := newTab(t, app)
	b.logIn(adaEmail, adaPW)
	session := b.cookie()
	for _, page := range []string{"/profile", "/logout", "/others", "/login", "/register"} {
		target := regexp.MustCompile(`action="([^"]+)"`).FindStringSubmatch(strings.ReplaceAll(forms[page], "APP", app.url))[1]
		if status, ended := b.forged(evil.URL + page); status != http.StatusForbidden || ended != target {
			t.Errorf("a form posted from %s to %s: status %d on %s, want 403 there", evil.URL, target, status, ended)
		}
		b.see("This form was sent from another website, so nothing was changed.")
		if page == "/profile" {
			b.shot("cross-origin-refused")
		}
	}

	if c := b.cookie(); c != session {
		t.Error("the forged requests changed the session cookie")
	}
	b.open("/account")
	if p := b.path(); p != "/account" {
		t.Fatalf("after the forgeries the user is on %s, not signed in", p)
	}
	b.see(adaEmail)
	if v := browsertest.Get(t, b.Browser, chromedp.Value(chromedp.ID("name"))); v != "Ada" {
		t.Errorf("the forged post changed the name to %q", v)
	}
	b.open("/account/sessions")
	b.see("1 active session")
	// No account was registered for victim@example.com: its login is
	// refused as unknown, not as unverified.
	c := app.client(t)
	app.post(t, c, "/logout", nil)
	resp, err := c.PostForm(app.url+"/login", url.Values{"email": {"victim@example.com"}, "password": {"chosen by mallory"}})
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, resp)
	if !strings.Contains(body, "do not match an account") {
		t.Error("the forged registration created an account")
	}
}

// forged opens a page of another site that posts a form to the app, and
// returns the status and address of the app's page the browser ends on.
func (b *tab) forged(page string) (int64, string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.Context(), browsertest.Timeout)
	defer cancel()
	responses := chromedp.Events(ctx, network.ResponseReceived)
	b.Do(chromedp.Navigate(page))
	for ev, err := range responses {
		if err != nil {
			b.t.Fatalf("waiting for the app's answer to the form from %s: %v", page, err)
		}
		if u := ev.Response.URL; ev.Type == network.ResourceTypeDocument && strings.HasPrefix(u, b.app.url+"/") {
			b.waitFor(`document.readyState === "complete" && location.href === ` + jsString(u))
			return ev.Response.Status, u
		}
	}
	return 0, ""
}

// TestStaleCookieAfterLogout: once logged out, a copy of the cookie sends
// the browser to the login page (and is cleared), and opens nothing for
// anyone else either.
func TestStaleCookieAfterLogout(t *testing.T) {
	app := startApp(t)
	app.newUser(t, adaEmail, adaPW, "Ada")
	b := newTab(t, app)
	b.logIn(adaEmail, adaPW)
	stale := b.cookie()
	if stale == "" {
		t.Fatal("no session cookie after the login")
	}
	b.click("#logout")
	b.see("You are logged out.")
	if c := b.cookie(); c != "" {
		t.Error("logging out left the session cookie")
	}

	b.setCookie(stale)
	b.open("/account")
	if p := b.path(); p != "/login" {
		t.Fatalf("the stale cookie opened %s", p)
	}
	b.see("Your session has ended. Log in again to continue.")
	if c := b.cookie(); c != "" {
		t.Error("the stale cookie was not cleared")
	}
	if app.signedIn(t, app.withCookie(t, stale)) {
		t.Error("the stale cookie works from another client")
	}
}

// TestSessionFixation: an attacker plants the cookie of a session of
// their own in the victim's browser, hoping to share the session the
// victim logs into. The login replaces the cookie (read through the
// DevTools protocol), and the planted value no longer works at all.
func TestSessionFixation(t *testing.T) {
	app := startApp(t)
	app.newUser(t, adaEmail, adaPW, "Ada")
	app.newUser(t, "mallory@example.com", "mallorys own passphrase", "Mallory")
	attacker := app.client(t)
	app.post(t, attacker, "/login", url.Values{"email": {"mallory@example.com"}, "password": {"mallorys own passphrase"}})
	planted := app.cookieOf(attacker)
	if planted == "" {
		t.Fatal("the attacker got no cookie")
	}

	b := newTab(t, app)
	b.setCookie(planted)
	b.open("/account")
	b.see("mallory@example.com") // the planted session works, until…
	b.logIn(adaEmail, adaPW)
	b.see(adaEmail)
	got := b.cookie()
	if got == "" || got == planted {
		t.Fatal("logging in kept the planted cookie")
	}
	if app.signedIn(t, attacker) {
		t.Error("the planted session still works for the attacker")
	}
	b.setCookie(planted)
	b.open("/account")
	if p := b.path(); p != "/login" {
		t.Errorf("the planted cookie opened %s after the login", p)
	}
}

// TestThrottledLogin: after a few wrong passwords the login form says how
// long to wait, in seconds, with Retry-After.
func TestThrottledLogin(t *testing.T) {
	app := startApp(t)
	b := newTab(t, app)
	b.open("/login")
	throttled := regexp.MustCompile(`Too many attempts\. Try again in \d+ seconds?\.`)
	for i := range 10 {
		b.fill("email", adaEmail, "password", fmt.Sprintf("guess number %d", i))
		ctx, cancel := context.WithTimeout(b.Context(), browsertest.Timeout)
		resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`form[action="/login"] button`)))
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if resp.Status != http.StatusTooManyRequests {
			continue
		}
		if resp.Headers["Retry-After"] == nil {
			t.Error("a throttled login has no Retry-After")
		}
		if msg := b.Text(".alert"); !throttled.MatchString(msg) {
			t.Errorf("a throttled login says %q", msg)
		}
		b.shot("login-throttled")
		return
	}
	t.Fatal("ten wrong passwords in a row were never throttled")
}

// TestCookieModes: over plain HTTP on loopback the app uses (and loudly
// logs) the development cookie; with -tls-cert and -tls-key it sets a
// real __Host- cookie, Secure, and sends HSTS; plain HTTP anywhere else
// is refused.
func TestCookieModes(t *testing.T) {
	t.Run("plain HTTP on loopback", func(t *testing.T) {
		app := startApp(t)
		app.newUser(t, adaEmail, adaPW, "Ada")
		resp := app.logInRaw(t)
		c := setCookie(t, resp, "gatehouse")
		if c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" {
			t.Errorf("development cookie: %+v", c)
		}
		if !strings.Contains(app.logs.String(), "DEVELOPMENT MODE") {
			t.Error("the development cookie was not logged")
		}
		if h := resp.Header.Get("Strict-Transport-Security"); h != "" {
			t.Errorf("HSTS over plain HTTP: %q", h)
		}
	})
	t.Run("TLS", func(t *testing.T) {
		dir := t.TempDir()
		certFile, keyFile, pool := selfSigned(t, dir)
		app := startApp(t, func(o *options) { o.tlsCert, o.tlsKey = certFile, keyFile })
		if !strings.HasPrefix(app.url, "https://") {
			t.Fatalf("the app listens on %s", app.url)
		}
		app.pool = pool
		app.newUser(t, adaEmail, adaPW, "Ada")
		resp := app.logInRaw(t)
		c := setCookie(t, resp, "__Host-gatehouse")
		if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" || c.MaxAge <= 0 {
			t.Errorf("session cookie: %+v", c)
		}
		if h := resp.Header.Get("Strict-Transport-Security"); h != "max-age=63072000; includeSubDomains" {
			t.Errorf("HSTS: %q", h)
		}
		if strings.Contains(app.logs.String(), "DEVELOPMENT MODE") {
			t.Error("the development mode was logged with TLS")
		}
	})
	t.Run("plain HTTP elsewhere", func(t *testing.T) {
		for _, o := range []options{
			{addr: "0.0.0.0:0"},
			{addr: "127.0.0.1:0", baseURL: "http://app.example.com"},
		} {
			dir := t.TempDir()
			o.db, o.maildir = dir+"/webapp.db", dir+"/mail"
			err := run(context.Background(), o, &syncBuffer{}, discard())
			if err == nil || !strings.Contains(err.Error(), "-tls-cert") {
				t.Errorf("addr %s, base URL %q: %v", o.addr, o.baseURL, err)
			}
		}
	})
}

func TestBarChart(t *testing.T) {
	c := barChart([]string{"login", "session_renewed"}, []int{10, 5})
	if len(c.Bars) != 2 || c.Bars[0].W != 400 || c.Bars[1].W != 200 {
		t.Fatalf("bars %+v: want 400 and 200 units long", c.Bars)
	}
	if c.Bars[1].Label != "session renewed" || c.Bars[1].Y <= c.Bars[0].Y || c.Height < c.Bars[1].Y+c.BarH {
		t.Errorf("layout %+v", c)
	}
	if c.Summary != "login 10, session renewed 5" {
		t.Errorf("summary %q", c.Summary)
	}
	if tiny := barChart([]string{"a", "b"}, []int{1000, 1}); tiny.Bars[1].W < 2 {
		t.Errorf("a count of 1 beside 1000 draws %d units: invisible", tiny.Bars[1].W)
	}
}

func TestDevice(t *testing.T) {
	for ua, want := range map[string]string{
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36":                           "Chrome on Linux",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0":           "Edge on Windows",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1": "Safari on iPhone",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14.0; rv:121.0) Gecko/20100101 Firefox/121.0":                                                     "Firefox on macOS",
		"Go-http-client/1.1": "Go-http-client/1.1",
		"":                   "Unknown device",
	} {
		if got := device(ua); got != want {
			t.Errorf("device(%q) = %q, want %q", ua, got, want)
		}
	}
}
