package main_test

import (
	"net/url"
	"path/filepath"
	"testing"
)

// TestPasswordlessPages runs the server with -passwordless: the /sign-in
// form mails a link, the link's page signs in once, and the API's
// /v2/login/email answers.
func TestPasswordlessPages(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	t.Parallel()
	dir := t.TempDir()
	maildir := filepath.Join(dir, "mail")
	s := start(t, buildServer(t), nil, "-db", filepath.Join(dir, "gh.db"), "-maildir", maildir, "-passwordless")
	s.registerUser(t)

	form := s.page(t, "GET", s.url+"/sign-in", nil)
	wantPage(t, form, 200, "Email me a sign-in link")
	action, vals := form.form(t)
	vals.Set("email", userEmail)
	wantPage(t, s.page(t, "POST", action, vals), 200, "a sign-in link and code are on their way")
	// An unknown address reads the same.
	vals.Set("email", "nobody@example.com")
	wantPage(t, s.page(t, "POST", action, vals), 200, "a sign-in link and code are on their way")

	link := mailLink(t, maildir, userEmail, "/login/email")
	p := s.open(t, link)
	s.open(t, link) // opening it again spends nothing
	wantPage(t, s.submit(t, p, url.Values{}), 200, "You are signed in")
	wantPage(t, s.submit(t, p, url.Values{}), 400, "already used")

	res := s.want(t, s.call(t, "POST", "/v2/login/email", "application/json", `{"email":"nobody@example.com"}`, ""), 200)
	if res["login_id"] == nil {
		t.Errorf("/v2/login/email answered %v, want a login_id", res)
	}
}
