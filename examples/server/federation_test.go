package main_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/gatehouse-go/gatehouse/internal/fedtest"
)

// TestServerFederatedLogin runs the server with -oidc-* against an OpenID
// Provider (mockoidc): the home page shows the button, a federated login
// answers the token pair, the admin links and unlinks an identity, and the
// three are events in the audit log.
func TestServerFederatedLogin(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	t.Parallel()
	op := fedtest.StartOIDC(t)
	cfg := op.Config()

	bin := buildServer(t)
	dir := t.TempDir()
	env := []string{"GATEHOUSE_ADMIN_EMAIL=" + adminEmail, "GATEHOUSE_ADMIN_PASSWORD=" + adminPW,
		"GATEHOUSE_OIDC_CLIENT_SECRET=" + cfg.ClientSecret}
	s := start(t, bin, env, "-db", filepath.Join(dir, "f.db"), "-maildir", filepath.Join(dir, "mail"),
		"-oidc-issuer", cfg.Issuer, "-oidc-client-id", cfg.ClientID, "-oidc-name", "mock")

	resp, err := http.Get(s.url + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), `href="/v2/oauth/mock/authorize">Sign in with mock</a>`) {
		t.Errorf("home page has no sign-in button:\n%s", page)
	}

	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	// flow runs authorize (or link, with a bearer) and the callback.
	flow := func(bearer string) reply {
		t.Helper()
		var authURL string
		var cookie *http.Cookie
		if bearer == "" {
			r, err := noFollow.Get(s.url + "/v2/oauth/mock/authorize")
			if err != nil {
				t.Fatal(err)
			}
			r.Body.Close()
			if r.StatusCode != http.StatusFound {
				t.Fatalf("authorize: %d", r.StatusCode)
			}
			authURL, cookie = r.Header.Get("Location"), r.Cookies()[0]
		} else {
			lk := s.call(t, "POST", "/v2/oauth/mock/link", "", "", bearer)
			authURL = s.want(t, lk, 200)["authorization_url"].(string)
			cookie = (&http.Response{Header: lk.header}).Cookies()[0]
		}
		if !strings.Contains(authURL, "redirect_uri="+url.QueryEscape(s.url+"/v2/oauth/mock/callback")) {
			t.Errorf("redirect_uri not the server's callback: %s", authURL)
		}
		q := fedtest.Follow(t, authURL)
		req, _ := http.NewRequest("GET", s.url+"/v2/oauth/mock/callback?"+q.Encode(), nil)
		req.AddCookie(cookie)
		return s.callReq(t, req)
	}
	res := s.want(t, flow(""), 200)
	if res["access_token"] == nil {
		t.Fatalf("federated login: %v", res)
	}

	access, _ := s.login(t, adminEmail, adminPW)
	op.QueueUser(&mockoidc.MockUser{Subject: "admin-at-op", Email: "other@example.org", EmailVerified: true})
	if msg := s.want(t, flow(access), 200)["message"]; msg != "Identity linked" {
		t.Fatalf("link: %v", msg)
	}
	s.want(t, s.call(t, "DELETE", "/v2/user/identities", "application/json", `{"issuer":"`+cfg.Issuer+`","subject":"admin-at-op"}`, access), 200)

	logs := s.call(t, "GET", "/v2/logs?limit=100", "", "", access)
	if logs.status != 200 {
		t.Fatalf("GET /v2/logs: %d %v", logs.status, logs.body)
	}
	text := jsonText(t, logs.body)
	for _, ev := range []string{"federated_login", "identity_linked", "identity_unlinked"} {
		if !strings.Contains(text, ev) {
			t.Errorf("no %s event in the audit log", ev)
		}
	}
}

// jsonText is v encoded, for searching.
func jsonText(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
