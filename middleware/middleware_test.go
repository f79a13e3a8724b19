package middleware_test

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/internal/testhash"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/memstore"
)

var key = func() []byte { k := make([]byte, 32); rand.Read(k); return k }()

const password = "correct horse battery staple"

type fixture struct {
	m       *auth.Manager
	store   *memstore.Store
	now     atomic.Pointer[time.Time]
	user    string // access tokens
	admin   string
	expired string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{store: memstore.New()}
	start := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	f.now.Store(&start)
	m, err := auth.New(auth.Config{
		Store:    f.store,
		Mailer:   mail.Discard{},
		Tokens:   auth.TokenConfig{SigningKey: key},
		Password: auth.PasswordConfig{Hasher: testhash.Fast{}},
		Now:      func() time.Time { return *f.now.Load() },
	})
	if err != nil {
		t.Fatal(err)
	}
	f.m = m
	ctx := context.Background()
	if _, err := m.Register(ctx, auth.Registration{Email: "user@example.com", Password: password}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.EnsureSuperuser(ctx, "root@example.com", password); err != nil {
		t.Fatal(err)
	}
	login := func(email string) string {
		res, err := m.Login(ctx, email, password)
		if err != nil {
			t.Fatal(err)
		}
		return res.Tokens.AccessToken
	}
	f.expired = login("user@example.com")
	later := start.Add(time.Hour)
	f.now.Store(&later)
	f.user, f.admin = login("user@example.com"), login("root@example.com")
	return f
}

// echo reports who the handler saw.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if u, ok := auth.UserFromContext(r.Context()); ok {
		io.WriteString(w, "hello "+u.Email)
		return
	}
	io.WriteString(w, "hello anonymous")
})

func do(t *testing.T, h http.Handler, edit func(*http.Request)) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest("GET", "/x", nil)
	if edit != nil {
		edit(r)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func bearer(tok string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
}

func TestAuthenticateNeverRefuses(t *testing.T) {
	f := newFixture(t)
	g := middleware.New(f.m, middleware.Config{})
	var failure error
	h := g.Authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		failure = middleware.Failure(r.Context())
		echo(w, r)
	}))
	for _, tc := range []struct {
		name, body string
		edit       func(*http.Request)
		failure    error
	}{
		{"no token", "hello anonymous", nil, nil},
		{"garbage", "hello anonymous", bearer("garbage"), auth.ErrTokenInvalid},
		{"expired", "hello anonymous", bearer(f.expired), auth.ErrTokenExpired},
		{"valid", "hello user@example.com", bearer(f.user), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := do(t, h, tc.edit)
			if w.Code != 200 || w.Body.String() != tc.body {
				t.Fatalf("%d %q", w.Code, w.Body.String())
			}
			if !errors.Is(failure, tc.failure) || (tc.failure == nil && failure != nil) {
				t.Fatalf("Failure = %v, want %v", failure, tc.failure)
			}
			if !strings.Contains(strings.Join(w.Header().Values("Vary"), ","), "Authorization") {
				t.Fatal("no Vary: Authorization")
			}
		})
	}
}

func TestRequireAuth(t *testing.T) {
	// SECURITY.md #65: tokens only from Authorization: Bearer.
	f := newFixture(t)
	h := middleware.New(f.m, middleware.Config{}).RequireAuth(echo)
	const (
		anonymous = `{"detail":{"message":"Not authenticated","error_type":"invalid_token"},"message":"Not authenticated","error_type":"invalid_token"}`
		invalid   = `{"detail":{"message":"Invalid token","error_type":"invalid_token"},"message":"Invalid token","error_type":"invalid_token"}`
		expired   = `{"detail":{"message":"Token expired","error_type":"token_expired"},"message":"Token expired","error_type":"token_expired"}`
	)
	tests := []struct {
		name      string
		edit      func(*http.Request)
		status    int
		challenge string
		body      string // the /v2 error body of a refusal
	}{
		{"valid", bearer(f.user), 200, "", "hello user@example.com"},
		{"lower-case scheme", func(r *http.Request) { r.Header.Set("Authorization", "bearer "+f.user) }, 200, "", "hello user@example.com"},
		{"no token", nil, 401, "Bearer", anonymous},
		{"query parameter", func(r *http.Request) { r.URL.RawQuery = "access_token=" + f.user }, 401, "Bearer", anonymous},
		{"basic", func(r *http.Request) { r.SetBasicAuth("user@example.com", password) }, 401, `Bearer error="invalid_token"`, invalid},
		{"empty token", func(r *http.Request) { r.Header.Set("Authorization", "Bearer ") }, 401, `Bearer error="invalid_token"`, invalid},
		{"two headers", func(r *http.Request) {
			r.Header.Add("Authorization", "Bearer "+f.user)
			r.Header.Add("Authorization", "Bearer "+f.user)
		}, 401, `Bearer error="invalid_token"`, invalid},
		{"garbage", bearer("a.b.c"), 401, `Bearer error="invalid_token"`, invalid},
		{"expired", bearer(f.expired), 401, `Bearer error="invalid_token", error_description="The access token expired"`, expired},
		{"oversized header", bearer(strings.Repeat("a", middleware.MaxAuthorizationBytes)), 401, `Bearer error="invalid_token"`, invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := do(t, h, tt.edit)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d", w.Code, tt.status)
			}
			if got := w.Header().Get("WWW-Authenticate"); got != tt.challenge {
				t.Fatalf("WWW-Authenticate %q, want %q", got, tt.challenge)
			}
			if w.Body.String() != tt.body {
				t.Fatalf("body %s\nwant %s", w.Body, tt.body)
			}
			if tt.status != 200 {
				wantRefusalHeaders(t, w)
			}
		})
	}
}

// wantRefusalHeaders checks the headers of a refusal: those of every /v2
// answer.
func wantRefusalHeaders(t *testing.T, w *httptest.ResponseRecorder) {
	t.Helper()
	for k, v := range map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"} {
		if got := w.Header().Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
}

func TestRequireSuperuser(t *testing.T) {
	// SECURITY.md #58: none/garbage/expired/user/superuser → 401/401/401/403/200.
	f := newFixture(t)
	h := middleware.New(f.m, middleware.Config{}).RequireSuperuser(echo)
	for _, tt := range []struct {
		name   string
		edit   func(*http.Request)
		status int
	}{
		{"none", nil, 401},
		{"garbage", bearer("garbage"), 401},
		{"expired", bearer(f.expired), 401},
		{"user", bearer(f.user), 403},
		{"superuser", bearer(f.admin), 200},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := do(t, h, tt.edit)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d", w.Code, tt.status)
			}
			if tt.status == 403 {
				const want = `{"detail":{"message":"Only superusers may do this","error_type":"forbidden"},"message":"Only superusers may do this","error_type":"forbidden"}`
				if w.Body.String() != want || w.Header().Get("WWW-Authenticate") != "" {
					t.Fatalf("403: %s %v", w.Body, w.Header())
				}
				wantRefusalHeaders(t, w)
			}
		})
	}
}

// brokenStore fails session lookups.
type brokenStore struct{ store.Store }

func (brokenStore) SessionUser(context.Context, string) (*store.Session, *store.User, error) {
	return nil, nil, errors.New("connection refused")
}

func TestStoreFailureFailsClosed(t *testing.T) {
	// SECURITY.md #44: the handler never runs and the answer is 503.
	f := newFixture(t)
	m, err := auth.New(auth.Config{
		Store:    brokenStore{f.store},
		Limits:   auth.Limits{Store: f.store},
		Mailer:   mail.Discard{},
		Tokens:   auth.TokenConfig{SigningKey: key},
		Password: auth.PasswordConfig{Hasher: testhash.Fast{}},
		Now:      func() time.Time { return *f.now.Load() },
	})
	if err != nil {
		t.Fatal(err)
	}
	var ran bool
	h := middleware.New(m, middleware.Config{}).RequireAuth(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { ran = true }))
	w := do(t, h, bearer(f.user))
	if w.Code != http.StatusServiceUnavailable || ran {
		t.Fatalf("status %d, handler ran %v", w.Code, ran)
	}
	const want = `{"detail":{"message":"Service temporarily unavailable, try again","error_type":"unavailable"},"message":"Service temporarily unavailable, try again","error_type":"unavailable"}`
	if w.Body.String() != want || w.Header().Get("Retry-After") != "1" {
		t.Fatalf("503: %s, Retry-After %q", w.Body, w.Header().Get("Retry-After"))
	}
	wantRefusalHeaders(t, w)
}

func TestCustomErrorHandlerAndExtractor(t *testing.T) {
	f := newFixture(t)
	var gotStatus int
	g := middleware.New(f.m, middleware.Config{
		Extractor: func(r *http.Request) (string, error) {
			if c, err := r.Cookie("at"); err == nil {
				return c.Value, nil
			}
			return "", middleware.ErrNoToken
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, status int, err error) {
			gotStatus = status
			w.WriteHeader(418)
		},
	})
	h := g.RequireAuth(echo)
	if w := do(t, h, func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "at", Value: f.user}) }); w.Code != 200 {
		t.Fatalf("cookie token: %d", w.Code)
	}
	if w := do(t, h, nil); w.Code != 418 || gotStatus != 401 {
		t.Fatalf("custom handler: %d / %d", w.Code, gotStatus)
	}
}

// TestCustomErrorHandlerDelegates: an application's handler answers some
// refusals its own way (a redirect to its login page) and leaves the rest
// to WriteError.
func TestCustomErrorHandlerDelegates(t *testing.T) {
	f := newFixture(t)
	g := middleware.New(f.m, middleware.Config{
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, status int, err error) {
			if status == http.StatusUnauthorized && strings.Contains(r.Header.Get("Accept"), "text/html") {
				http.Redirect(w, r, "/login", http.StatusSeeOther)
				return
			}
			middleware.WriteError(w, r, status, err)
		},
	})
	h := g.RequireSuperuser(echo)
	if w := do(t, h, func(r *http.Request) { r.Header.Set("Accept", "text/html") }); w.Code != 303 || w.Header().Get("Location") != "/login" {
		t.Fatalf("browser: %d %v", w.Code, w.Header())
	}
	w := do(t, h, bearer(f.user))
	if w.Code != 403 || !strings.Contains(w.Body.String(), `"error_type":"forbidden"`) {
		t.Fatalf("API client: %d %s", w.Code, w.Body)
	}
	wantRefusalHeaders(t, w)
}

// TestConfigIsCopied: changing the Config's TrustedProxies after New does
// not change the Guard.
func TestConfigIsCopied(t *testing.T) {
	f := newFixture(t)
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	g := middleware.New(f.m, middleware.Config{TrustedProxies: proxies})
	proxies[0] = netip.MustParsePrefix("192.0.2.0/24")
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.0.0.1:1"
	r.Header.Set("X-Forwarded-For", "203.0.113.5")
	if got := g.Client(r).IP.String(); got != "203.0.113.5" {
		t.Fatalf("client %s, want 203.0.113.5 (the proxies given to New)", got)
	}
}

func TestBearerTokenBoundedWork(t *testing.T) {
	// SECURITY.md #33: a huge header is refused before parsing, with
	// bounded allocations.
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+strings.Repeat(".", 1<<20))
	allocs := testing.AllocsPerRun(10, func() {
		if _, err := middleware.BearerToken(r); !errors.Is(err, auth.ErrTokenInvalid) {
			t.Fatalf("err %v", err)
		}
	})
	if allocs > 2 {
		t.Fatalf("%v allocations for a 1 MB header", allocs)
	}
}

func TestClientFrom(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "[::ffff:192.0.2.9]:4242"
	r.Header.Set("X-Forwarded-For", "203.0.113.1")
	r.Header.Set("User-Agent", strings.Repeat("é", 400))
	c := middleware.ClientFrom(r)
	if c.IP.String() != "192.0.2.9" {
		t.Fatalf("IP %v, want the peer's (X-Forwarded-For is not trusted)", c.IP)
	}
	if len(c.UserAgent) > 512 || !strings.HasPrefix(c.UserAgent, "é") || strings.ContainsRune(c.UserAgent, '\uFFFD') {
		t.Fatalf("user agent %d bytes", len(c.UserAgent))
	}
}

func TestClientBehindProxies(t *testing.T) {
	// SECURITY.md #21: X-Forwarded-For counts only from trusted proxies,
	// walked from the right; a spoofed entry cannot pick the bucket.
	f := newFixture(t)
	g := middleware.New(f.m, middleware.Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	for _, tc := range []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"untrusted peer ignores the header", "192.0.2.1:1", []string{"203.0.113.5"}, "192.0.2.1"},
		{"trusted peer, one hop", "10.0.0.1:1", []string{"203.0.113.5"}, "203.0.113.5"},
		{"spoofed left part is ignored", "10.0.0.1:1", []string{"1.2.3.4, 203.0.113.5"}, "203.0.113.5"},
		{"chain of trusted proxies", "10.0.0.1:1", []string{"203.0.113.5, 10.0.0.7", "10.0.0.8"}, "203.0.113.5"},
		{"garbage at the client position", "10.0.0.1:1", []string{"203.0.113.5, nonsense"}, "invalid IP"},
		{"missing header", "10.0.0.1:1", nil, "invalid IP"},
		{"only proxies", "10.0.0.1:1", []string{"10.0.0.2"}, "invalid IP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.peer
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := g.Client(r).IP.String(); got != tc.want {
				t.Fatalf("client %s, want %s", got, tc.want)
			}
		})
	}
}
