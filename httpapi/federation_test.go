package httpapi_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/auth/federation"
	"github.com/gatehouse-go/gatehouse/httpapi"
	"github.com/gatehouse-go/gatehouse/httperr"
	"github.com/gatehouse-go/gatehouse/internal/fedtest"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/memstore"
)

// gitHubOptions serves the provider "github" against gh.
func gitHubOptions(gh *fedtest.GitHub) options {
	return options{sql: memstore.New(), federation: func(tb testing.TB, m *auth.Manager, st store.Store) []httpapi.FederatedProvider {
		p := federation.GitHub(gh.ClientID, gh.ClientSecret, "https://app.test/v2/oauth/github/callback")
		p.GitHub = &federation.GitHubEndpoints{AuthURL: gh.URL() + "/login/oauth/authorize", TokenURL: gh.URL() + "/login/oauth/access_token", APIURL: gh.URL()}
		c, err := federation.New(tb.Context(), m, st, p, federation.Options{ReturnPaths: []string{"/settings"}})
		if err != nil {
			tb.Fatal(err)
		}
		return []httpapi.FederatedProvider{c}
	}}
}

// noFollow sends r without following redirects.
func (e *env) noFollow(tb testing.TB, r *http.Request) resp {
	tb.Helper()
	hc := *e.srv.Client()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := hc.Do(r)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatal(err)
	}
	e.mu.Lock()
	e.bodies = append(e.bodies, b)
	e.mu.Unlock()
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

// flowCookie returns the binding cookie an answer set, checking its
// attributes.
func flowCookie(tb testing.TB, r resp) *http.Cookie {
	tb.Helper()
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == "__Host-gatehouse-oauth" {
			if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" || c.MaxAge <= 0 || c.MaxAge > 600 || c.Value == "" {
				tb.Fatalf("binding cookie %s: want __Host-, Secure, HttpOnly, SameSite=Lax, a short Max-Age", c)
			}
			return c
		}
	}
	tb.Fatalf("no binding cookie in %v", r.header)
	return nil
}

// callback hands the provider's answer q to the callback with cookie.
func (e *env) callback(tb testing.TB, provider string, q url.Values, cookie *http.Cookie, header http.Header) resp {
	tb.Helper()
	r, _ := http.NewRequest("GET", e.base+"/oauth/"+provider+"/callback?"+q.Encode(), nil)
	if cookie != nil {
		r.AddCookie(cookie)
	}
	for k, v := range header {
		r.Header[k] = v
	}
	return e.noFollow(tb, r)
}

// TestFederationHTTPGitHub: the endpoints end to end against a
// GitHub-shaped OAuth server: authorize redirects with the binding
// cookie, the callback answers the token pair (no provider token), a
// replay or a missing cookie is 400 federation_failed, identities list
// and unlink (never the last way to log in), a logged-in user links
// another identity. SECURITY.md #85, #88, #89.
func TestFederationHTTPGitHub(t *testing.T) {
	gh := fedtest.NewGitHub(t)
	gh.SetEmails(fedtest.Email{Email: "octo@example.org", Primary: true, Verified: true})
	e := newEnv(t, gitHubOptions(gh))

	start := func(t *testing.T) (url.Values, *http.Cookie) {
		r, _ := http.NewRequest("GET", e.base+"/oauth/github/authorize?return_to=/settings", nil)
		a := e.noFollow(t, r)
		if a.status != http.StatusFound || !strings.HasPrefix(a.header.Get("Location"), gh.URL()+"/login/oauth/authorize?") {
			t.Fatalf("authorize = %d %q, want 302 to the provider", a.status, a.header.Get("Location"))
		}
		return fedtest.Follow(t, a.header.Get("Location")), flowCookie(t, a)
	}
	q, cookie := start(t)
	// Without the binding cookie: refused before the code is exchanged
	// (the flow stays for its own browser).
	wantError(t, e.callback(t, "github", q, nil, nil), http.StatusBadRequest, httperr.TypeFederationFailed)
	if n, _ := gh.Counts(); n != 0 {
		t.Errorf("%d token requests after a callback without the cookie, want 0", n)
	}
	cb := e.callback(t, "github", q, cookie, nil)
	tok := wantTokens(t, cb)
	if strings.Contains(string(cb.body), "gho_") {
		t.Errorf("the callback's answer holds a provider token: %s", cb.body)
	}
	if c := cb.header.Get("Set-Cookie"); !strings.Contains(c, "__Host-gatehouse-oauth=;") {
		t.Errorf("the binding cookie is not deleted: %q", c)
	}
	// Replay: refused, no detail.
	replay := e.callback(t, "github", q, cookie, nil)
	wantError(t, replay, http.StatusBadRequest, httperr.TypeFederationFailed)
	if strings.Contains(string(replay.body), "state") {
		t.Errorf("the refusal tells the reason: %s", replay.body)
	}

	list := e.do(t, jsonReq("GET", "/user/identities", "", tok.access))
	if list.status != 200 || !strings.Contains(string(list.body), `"provider":"github","issuer":"https://github.com","subject":"4242","email":"octo@example.org","created_at":`) || !strings.Contains(string(list.body), `"last_login_at":`) {
		t.Fatalf("GET /user/identities = %d %s", list.status, list.body)
	}
	unlink := `{"issuer":"https://github.com","subject":"4242"}`
	wantError(t, e.do(t, jsonReq("DELETE", "/user/identities", unlink, tok.access)), http.StatusBadRequest, httperr.TypeLastLogin)

	// A password user links a GitHub account, then unlinks it.
	e.register(t, "pw@example.org", "correct horse battery")
	pw := e.login(t, "pw@example.org", "correct horse battery")
	gh.ID = 777
	r, _ := http.NewRequest("POST", e.base+"/oauth/github/link", nil)
	r.Header.Set("Authorization", "Bearer "+pw.access)
	lk := e.noFollow(t, r)
	au, _ := wantOK(t, lk)["authorization_url"].(string)
	if !strings.HasPrefix(au, gh.URL()) {
		t.Fatalf("link = %s", lk.body)
	}
	wantMessage(t, e.callback(t, "github", fedtest.Follow(t, au), flowCookie(t, lk), nil), "Identity linked")
	unlink = `{"issuer":"https://github.com","subject":"777"}`
	wantMessage(t, e.do(t, jsonReq("DELETE", "/user/identities", unlink, pw.access)), "Identity unlinked")
	wantError(t, e.do(t, jsonReq("DELETE", "/user/identities", unlink, pw.access)), http.StatusNotFound, httperr.TypeNotFound)

	// Linking an identity that is someone else's: 409 identity_taken.
	gh.ID = 4242
	lk = e.noFollow(t, r.Clone(t.Context()))
	au, _ = wantOK(t, lk)["authorization_url"].(string)
	wantError(t, e.callback(t, "github", fedtest.Follow(t, au), flowCookie(t, lk), nil), http.StatusConflict, httperr.TypeIdentityTaken)

	wantError(t, e.do(t, req{method: "GET", path: "/oauth/nope/authorize"}), http.StatusNotFound, httperr.TypeNotFound)
	wantError(t, e.do(t, req{method: "GET", path: "/user/identities"}), http.StatusUnauthorized, httperr.TypeInvalidToken)
}

// TestFederationHTTPUnverifiedEmail: a provider that has not verified the
// primary email creates no account over HTTP either. SECURITY.md #88.
func TestFederationHTTPUnverifiedEmail(t *testing.T) {
	gh := fedtest.NewGitHub(t)
	gh.SetEmails(fedtest.Email{Email: "victim@example.org", Primary: true})
	e := newEnv(t, gitHubOptions(gh))
	r, _ := http.NewRequest("GET", e.base+"/oauth/github/authorize", nil)
	a := e.noFollow(t, r)
	wantError(t, e.callback(t, "github", fedtest.Follow(t, a.header.Get("Location")), flowCookie(t, a), nil), http.StatusForbidden, httperr.TypeProviderEmailUnverified)
}

// TestFederationHTTPOIDCCookieSession: against an OpenID Provider
// (mockoidc), with the application's Guard in cookie mode: the callback
// arrives cross-site (as a provider's redirect does), sets the session
// cookie and lands on the allowed return path; an open-redirect return_to
// lands on the default page. SECURITY.md #85, #87.
func TestFederationHTTPOIDCCookieSession(t *testing.T) {
	op := fedtest.StartOIDC(t)
	o := options{sql: memstore.New(), guard: &middleware.Config{Cookies: &middleware.CookieConfig{}},
		federation: func(tb testing.TB, m *auth.Manager, st store.Store) []httpapi.FederatedProvider {
			cfg := op.Config()
			c, err := federation.New(tb.Context(), m, st, federation.Provider{Name: "mock", Issuer: cfg.Issuer, ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
				RedirectURL: "https://app.test/v2/oauth/mock/callback"}, federation.Options{ReturnPaths: []string{"/settings"}, DefaultReturn: "/home"})
			if err != nil {
				tb.Fatal(err)
			}
			return []httpapi.FederatedProvider{c}
		}}
	e := newEnv(t, o)
	crossSite := http.Header{"Sec-Fetch-Site": {"cross-site"}}
	for returnTo, want := range map[string]string{"/settings": "/settings", "//evil.test": "/home", "https://evil.test": "/home"} {
		r, _ := http.NewRequest("GET", e.base+"/oauth/mock/authorize?return_to="+url.QueryEscape(returnTo), nil)
		a := e.noFollow(t, r)
		if a.status != http.StatusFound {
			t.Fatalf("authorize = %d %s", a.status, a.body)
		}
		cb := e.callback(t, "mock", fedtest.Follow(t, a.header.Get("Location")), flowCookie(t, a), crossSite)
		if cb.status != http.StatusFound || cb.header.Get("Location") != want {
			t.Errorf("return_to=%q: callback = %d %q, want 302 to %s (%s)", returnTo, cb.status, cb.header.Get("Location"), want, cb.body)
		}
		var session *http.Cookie
		for _, c := range (&http.Response{Header: cb.header}).Cookies() {
			if c.Name == e.guard.CookieName() && c.Value != "" {
				session = c
			}
		}
		if session == nil || !session.Secure || !session.HttpOnly {
			t.Fatalf("return_to=%q: no session cookie in %v", returnTo, cb.header)
		}
	}
}

// TestFederationCookieLivesAsLongAsTheFlow: the binding cookie's Max-Age
// is the provider's flow lifetime (federation.Options.FlowTTL), not a
// fixed 10 minutes that would end a longer flow early.
func TestFederationCookieLivesAsLongAsTheFlow(t *testing.T) {
	gh := fedtest.NewGitHub(t)
	for _, c := range []struct {
		ttl  time.Duration
		want int
	}{{0, 600}, {30 * time.Minute, 1800}, {90 * time.Second, 90}} {
		o := gitHubOptions(gh)
		o.federation = func(tb testing.TB, m *auth.Manager, st store.Store) []httpapi.FederatedProvider {
			p := federation.GitHub(gh.ClientID, gh.ClientSecret, "https://app.test/v2/oauth/github/callback")
			p.GitHub = &federation.GitHubEndpoints{AuthURL: gh.URL() + "/login/oauth/authorize", TokenURL: gh.URL() + "/login/oauth/access_token", APIURL: gh.URL()}
			cl, err := federation.New(tb.Context(), m, st, p, federation.Options{FlowTTL: c.ttl})
			if err != nil {
				tb.Fatal(err)
			}
			return []httpapi.FederatedProvider{cl}
		}
		e := newEnv(t, o)
		r, _ := http.NewRequest("GET", e.base+"/oauth/github/authorize", nil)
		a := e.noFollow(t, r)
		var got *http.Cookie
		for _, ck := range (&http.Response{Header: a.header}).Cookies() {
			if ck.Name == "__Host-gatehouse-oauth" {
				got = ck
			}
		}
		if got == nil || got.MaxAge != c.want {
			t.Errorf("FlowTTL %v: binding cookie %v, want Max-Age %d", c.ttl, got, c.want)
		}
	}
}
