package federation_test

import (
	"crypto/rand"
	"errors"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/gatehouse-go/gatehouse/internal/fedtest"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/auth/federation"
	"github.com/gatehouse-go/gatehouse/internal/testhash"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/store/memstore"
)

const callback = "https://app.test/auth/oidc/callback"

type rig struct {
	op       *mockoidc.MockOIDC
	c        *federation.Client
	m        *auth.Manager
	st       *memstore.Store
	verifier atomic.Value // code_verifier of the last token request
}

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{}
	r.verifier.Store("")
	r.op = fedtest.StartOIDC(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if req.URL.Path == "/oidc/token" {
				_ = req.ParseForm()
				r.verifier.Store(req.PostForm.Get("code_verifier"))
			}
			next.ServeHTTP(w, req)
		})
	})
	st := memstore.New()
	r.st = st
	var err error
	r.m, err = auth.New(auth.Config{Store: st, Mailer: mail.Discard{}, Tokens: auth.TokenConfig{SigningKey: randomKey(t)}, Password: auth.PasswordConfig{Hasher: testhash.Fast{}}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := r.op.Config()
	r.c, err = federation.New(t.Context(), r.m, st, federation.Provider{
		Name: "mock", Issuer: cfg.Issuer, ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, RedirectURL: callback,
	}, federation.Options{ReturnPaths: []string{"/settings"}, DefaultReturn: "/home"})
	if err != nil {
		t.Fatalf("federation.New: %v", err)
	}
	return r
}

// authorize starts a login and lets the provider answer it; it returns the
// browser secret, state and code of the callback.
func (r *rig) authorize(t *testing.T, returnTo string) (secret, state, code string) {
	t.Helper()
	s, err := r.c.Start(t.Context(), returnTo)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	au, _ := url.Parse(s.URL)
	if q := au.Query(); q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" || q.Get("redirect_uri") != callback {
		t.Fatalf("authorization URL %s lacks PKCE S256, nonce or the exact redirect_uri", s.URL)
	}
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Get(s.URL)
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize answered %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return s.BrowserSecret, loc.Query().Get("state"), loc.Query().Get("code")
}

// TestCallbackLogsIn: the full code flow against an OpenID Provider; the
// token request carries the code_verifier; the result is the
// application's own session, and no provider token is stored.
// SECURITY.md #85, #89.
func TestCallbackLogsIn(t *testing.T) {
	r := newRig(t)
	secret, state, code := r.authorize(t, "/settings")
	res, to, err := r.c.Callback(t.Context(), secret, q(state, code))
	if err != nil {
		t.Fatalf("Callback: %v", err)
	}
	if res.Tokens == nil || res.User.Email != "jane.doe@example.com" || !res.User.IsVerified {
		t.Errorf("result = %+v, want a verified jane.doe with tokens", res)
	}
	if to != "/settings" {
		t.Errorf("return to = %q, want /settings", to)
	}
	if v := r.verifier.Load().(string); v == "" {
		t.Error("the token request carried no code_verifier")
	}
	// SECURITY.md #89: provider tokens are not kept by default.
	id, _, err := r.st.IdentityUser(t.Context(), r.op.Issuer(), "1234567890")
	if err != nil || len(id.Tokens) != 0 {
		t.Errorf("stored identity = %+v, %v; want one with no provider tokens", id, err)
	}
	// Second login: the same user by (issuer, subject).
	secret, state, code = r.authorize(t, "")
	res2, to, err := r.c.Callback(t.Context(), secret, q(state, code))
	if err != nil || res2.User.ID != res.User.ID || to != "/home" {
		t.Errorf("second login = %v, %q, %v; want the same user at /home", res2, to, err)
	}
}

// TestCallbackRefusesBadState: missing, foreign, replayed state, or
// another browser's flow → ErrInvalidState, before any code exchange.
// SECURITY.md #85.
func TestCallbackRefusesBadState(t *testing.T) {
	r := newRig(t)
	secret, state, code := r.authorize(t, "")
	for name, tc := range map[string][2]string{
		"missing state":  {secret, ""},
		"foreign state":  {secret, "not-a-state-we-issued"},
		"other browser":  {"another-browsers-secret", state},
		"missing secret": {"", state},
	} {
		r.verifier.Store("")
		if _, _, err := r.c.Callback(t.Context(), tc[0], q(tc[1], code)); !errors.Is(err, federation.ErrInvalidState) {
			t.Errorf("%s: err = %v, want ErrInvalidState", name, err)
		}
		if r.verifier.Load().(string) != "" {
			t.Errorf("%s: the code was exchanged before the state was checked", name)
		}
	}
	// The "other browser" attempt used the flow up: even the right browser
	// cannot replay it.
	if _, _, err := r.c.Callback(t.Context(), secret, q(state, code)); !errors.Is(err, federation.ErrInvalidState) {
		t.Errorf("after a wrong browser: err = %v, want ErrInvalidState", err)
	}
	secret, state, code = r.authorize(t, "")
	if _, _, err := r.c.Callback(t.Context(), secret, q(state, code)); err != nil {
		t.Fatalf("Callback: %v", err)
	}
	if _, _, err := r.c.Callback(t.Context(), secret, q(state, code)); !errors.Is(err, federation.ErrInvalidState) {
		t.Errorf("replayed state: err = %v, want ErrInvalidState", err)
	}
}

// TestReturnToAllowlist: return_to other than an allowed local path is
// ignored. SECURITY.md #87.
func TestReturnToAllowlist(t *testing.T) {
	r := newRig(t)
	for _, bad := range []string{"https://evil.test", "//evil.test", `/\evil.test`, "/settings/../x", "/Settings"} {
		secret, state, code := r.authorize(t, bad)
		_, to, err := r.c.Callback(t.Context(), secret, q(state, code))
		if err != nil {
			t.Fatalf("%q: Callback: %v", bad, err)
		}
		if to != "/home" {
			t.Errorf("return_to=%q: landed on %q, want /home", bad, to)
		}
	}
}

// randomKey returns a fresh 32-byte signing key for the Manager.
func randomKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return k
}

// q is the query of a callback with state and code.
func q(state, code string) url.Values {
	return url.Values{"state": {state}, "code": {code}}
}
