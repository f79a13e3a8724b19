// Package fedtest serves a GitHub-shaped OAuth 2.0 server over httptest
// for the module's tests of federated login: the authorization endpoint
// redirecting with a code, the token endpoint checking the client secret
// and the PKCE code_verifier (S256), and GET /user and /user/emails. No
// library package imports it.
package fedtest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
)

// Email is one entry of GET /user/emails.
type Email struct {
	Email    string `json:"email"`
	Primary  bool   `json:"primary"`
	Verified bool   `json:"verified"`
}

// GitHub is the server. Set User and Emails before a login.
type GitHub struct {
	Server       *httptest.Server
	ClientID     string
	ClientSecret string

	mu sync.Mutex
	// ID and Login are GET /user's id and login; set them before use.
	ID    int64
	Login string
	// Emails is GET /user/emails; change it with SetEmails.
	Emails             []Email
	codes              map[string]grant // code → its authorization
	tokens             map[string]bool  // access tokens issued
	exchanges, refused int
}

// Counts returns how many token requests came, and how many were refused.
func (g *GitHub) Counts() (exchanges, refused int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.exchanges, g.refused
}

// SetEmails replaces the answer of GET /user/emails.
func (g *GitHub) SetEmails(e ...Email) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.Emails = e
}

type grant struct {
	challenge, redirect string
}

// NewGitHub starts the server; it is closed when t ends.
func NewGitHub(t testing.TB) *GitHub {
	g := &GitHub{ClientID: "gh-client", ClientSecret: "gh-secret", ID: 4242, Login: "octo",
		codes: map[string]grant{}, tokens: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login/oauth/authorize", g.authorize)
	mux.HandleFunc("POST /login/oauth/access_token", g.token)
	mux.HandleFunc("GET /user", g.api(func() any { return map[string]any{"id": g.ID, "login": g.Login, "name": "The Octocat"} }))
	mux.HandleFunc("GET /user/emails", g.api(func() any { return g.Emails }))
	g.Server = httptest.NewServer(mux)
	t.Cleanup(g.Server.Close)
	return g
}

// URL returns the server's base URL, for federation.GitHubEndpoints.
func (g *GitHub) URL() string { return g.Server.URL }

func (g *GitHub) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != g.ClientID || q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" {
		http.Error(w, "bad authorization request", http.StatusBadRequest)
		return
	}
	code := rand.Text()
	g.mu.Lock()
	g.codes[code] = grant{challenge: q.Get("code_challenge"), redirect: q.Get("redirect_uri")}
	g.mu.Unlock()
	to, err := url.Parse(q.Get("redirect_uri"))
	if err != nil {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	v := url.Values{"code": {code}, "state": {q.Get("state")}}
	to.RawQuery = v.Encode()
	http.Redirect(w, r, to.String(), http.StatusFound)
}

func (g *GitHub) token(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	f := r.PostForm
	g.mu.Lock()
	defer g.mu.Unlock()
	g.exchanges++
	gr, ok := g.codes[f.Get("code")]
	delete(g.codes, f.Get("code"))
	sum := sha256.Sum256([]byte(f.Get("code_verifier")))
	w.Header().Set("Content-Type", "application/json")
	if !ok || f.Get("client_id") != g.ClientID || f.Get("client_secret") != g.ClientSecret ||
		f.Get("redirect_uri") != gr.redirect || base64.RawURLEncoding.EncodeToString(sum[:]) != gr.challenge {
		g.refused++
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "bad_verification_code"})
		return
	}
	at := "gho_" + rand.Text()
	g.tokens[at] = true
	_ = json.NewEncoder(w).Encode(map[string]string{"access_token": at, "token_type": "bearer", "scope": "read:user,user:email"})
}

func (g *GitHub) api(body func() any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		defer g.mu.Unlock()
		tok, ok := bearer(r)
		if !ok || !g.tokens[tok] {
			http.Error(w, `{"message":"Bad credentials"}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(body())
	}
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	const p = "Bearer "
	if len(h) <= len(p) || h[:len(p)] != p {
		return "", false
	}
	return h[len(p):], true
}

// Follow follows authURL's redirect to the callback and returns the
// callback's query, as a browser would hand it to the application.
func Follow(t testing.TB, authURL string) url.Values {
	t.Helper()
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Get(authURL)
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize answered %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc.Query()
}
