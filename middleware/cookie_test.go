package middleware_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
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

// countingStore counts refresh-token rotations and can hold them at a gate,
// so that concurrent requests really overlap.
type countingStore struct {
	*memstore.Store
	rotations atomic.Int64
	gate      chan struct{} // when not nil, rotations wait for it to close
}

func (s *countingStore) RotateRefreshToken(ctx context.Context, r store.Rotation) (*store.Session, *store.User, error) {
	s.rotations.Add(1)
	if s.gate != nil {
		<-s.gate
	}
	return s.Store.RotateRefreshToken(ctx, r)
}

// cookieEnv is a Manager and a Guard in cookie mode, with a settable clock
// and the Manager's events.
type cookieEnv struct {
	m     *auth.Manager
	g     *middleware.Guard
	store *countingStore
	now   atomic.Pointer[time.Time]
	logs  *bytes.Buffer

	mu     sync.Mutex
	events []auth.Event
}

func newCookieEnv(t *testing.T, cc middleware.CookieConfig, edit ...func(*auth.Config)) *cookieEnv {
	t.Helper()
	e := &cookieEnv{store: &countingStore{Store: memstore.New()}, logs: &bytes.Buffer{}}
	start := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	e.now.Store(&start)
	cfg := auth.Config{
		Store:    e.store,
		Mailer:   mail.Discard{},
		Tokens:   auth.TokenConfig{SigningKey: key},
		Password: auth.PasswordConfig{Hasher: testhash.Fast{}},
		Now:      func() time.Time { return *e.now.Load() },
		OnEvent: func(_ context.Context, ev auth.Event) {
			e.mu.Lock()
			e.events = append(e.events, ev)
			e.mu.Unlock()
		},
	}
	for _, f := range edit {
		f(&cfg)
	}
	m, err := auth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Flush(context.Background()) })
	e.m = m
	e.g = middleware.New(m, middleware.Config{Cookies: &cc, Logger: slog.New(slog.NewTextHandler(e.logs, nil))})
	for _, email := range []string{"user@example.com", "other@example.com"} {
		if _, err := m.Register(context.Background(), auth.Registration{Email: email, Password: password}); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func (e *cookieEnv) advance(d time.Duration) {
	next := e.now.Load().Add(d)
	e.now.Store(&next)
}

// count returns how many events of type t with outcome o were reported.
func (e *cookieEnv) count(t auth.EventType, o auth.Outcome) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, ev := range e.events {
		if ev.Type == t && ev.Outcome == o {
			n++
		}
	}
	return n
}

// logIn logs email in through Guard.LogIn and returns the response.
func (e *cookieEnv) logIn(t *testing.T, email string, edit func(*http.Request)) *httptest.ResponseRecorder {
	t.Helper()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := e.g.LogIn(w, r, email, password); err != nil {
			middleware.WriteError(w, r, http.StatusUnauthorized, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	return do(t, h, func(r *http.Request) {
		r.Method = "POST"
		if edit != nil {
			edit(r)
		}
	})
}

// sessionCookie returns the cookie a response set: exactly one Set-Cookie
// header is expected.
func sessionCookie(t *testing.T, w *httptest.ResponseRecorder) (*http.Cookie, string) {
	t.Helper()
	lines := w.Result().Header.Values("Set-Cookie")
	if len(lines) != 1 {
		t.Fatalf("Set-Cookie headers: %q, want exactly one", lines)
	}
	c, err := http.ParseSetCookie(lines[0])
	if err != nil {
		t.Fatalf("Set-Cookie %q: %v", lines[0], err)
	}
	return c, lines[0]
}

func withCookie(c *http.Cookie) func(*http.Request) {
	return func(r *http.Request) { r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value}) }
}

func post(edits ...func(*http.Request)) func(*http.Request) {
	return func(r *http.Request) {
		r.Method = "POST"
		for _, f := range edits {
			if f != nil {
				f(r)
			}
		}
	}
}

func header(k, v string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set(k, v) }
}

// wantAttributes checks a session cookie's attributes, SECURITY.md #67:
// __Host- name, Secure, HttpOnly, SameSite=Lax, Path=/, no Domain, and for
// a live cookie a Max-Age of at least a second and at most maxAge.
func wantAttributes(t *testing.T, c *http.Cookie, raw string, live bool, maxAge time.Duration) {
	t.Helper()
	if !strings.HasPrefix(c.Name, "__Host-") || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" {
		t.Errorf("cookie %q: name %q secure %v httponly %v samesite %v path %q domain %q", raw, c.Name, c.Secure, c.HttpOnly, c.SameSite, c.Path, c.Domain)
	}
	for _, attr := range []string{"; Path=/", "; HttpOnly", "; Secure", "; SameSite=Lax"} {
		if !strings.Contains(raw, attr) {
			t.Errorf("cookie %q lacks %q", raw, attr)
		}
	}
	if strings.Contains(strings.ToLower(raw), "domain=") {
		t.Errorf("cookie %q has a Domain", raw)
	}
	if live {
		if c.Value == "" || c.MaxAge < 1 || time.Duration(c.MaxAge)*time.Second > maxAge {
			t.Errorf("cookie %q: Max-Age %d, want 1 to %v", raw, c.MaxAge, maxAge)
		}
		return
	}
	if c.Value != "" || c.MaxAge != -1 || !strings.Contains(raw, "; Max-Age=0") {
		t.Errorf("cookie %q does not delete the cookie (Max-Age=0, empty value)", raw)
	}
}

// TestCookieAttributes: SECURITY.md #67. The session cookie has every
// attribute it must have, at login, after a refresh and when cleared, and
// its Max-Age never outlasts the session.
func TestCookieAttributes(t *testing.T) {
	e := newCookieEnv(t, middleware.CookieConfig{}, func(c *auth.Config) {
		c.Sessions = auth.SessionConfig{TTL: 2 * time.Hour, IdleTimeout: time.Hour}
	})
	start := e.m.Now()
	w := e.logIn(t, "user@example.com", nil)
	if w.Code != http.StatusNoContent {
		t.Fatalf("login: %d %s", w.Code, w.Body)
	}
	c, raw := sessionCookie(t, w)
	if c.Name != middleware.DefaultCookieName {
		t.Errorf("name %q, want %q", c.Name, middleware.DefaultCookieName)
	}
	wantAttributes(t, c, raw, true, time.Hour)
	if w.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("login response Cache-Control %q, want no-store", w.Header().Get("Cache-Control"))
	}

	// Refreshes move Max-Age with the idle deadline, never past the
	// session's absolute end (start + 2h).
	h := e.g.RequireAuth(echo)
	for i, step := range []time.Duration{50 * time.Minute, 50 * time.Minute} {
		e.advance(step)
		w := do(t, h, withCookie(c))
		if w.Code != 200 {
			t.Fatalf("refresh %d: %d %s", i, w.Code, w.Body)
		}
		var next *http.Cookie
		next, raw = sessionCookie(t, w)
		left := start.Add(2 * time.Hour).Sub(e.m.Now())
		wantAttributes(t, next, raw, true, min(left, time.Hour))
		if next.Value == c.Value {
			t.Fatal("the refreshed cookie has the old value")
		}
		c = next
	}

	w = do(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := e.g.EndSession(w, r); err != nil {
			t.Errorf("EndSession: %v", err)
		}
	}), post(withCookie(c)))
	cleared, raw := sessionCookie(t, w)
	if cleared.Name != c.Name {
		t.Errorf("cleared %q, want %q", cleared.Name, c.Name)
	}
	wantAttributes(t, cleared, raw, false, 0)
}

func TestCookieNameAndInsecure(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cfg      middleware.CookieConfig
		want     string
		secure   bool
		logLevel string // a line New must log
	}{
		{"default", middleware.CookieConfig{}, "__Host-gatehouse", true, ""},
		{"prefix added", middleware.CookieConfig{Name: "myapp"}, "__Host-myapp", true, ""},
		{"prefix kept", middleware.CookieConfig{Name: "__Host-myapp"}, "__Host-myapp", true, ""},
		{"invalid name", middleware.CookieConfig{Name: "my app;"}, "__Host-gatehouse", true, "level=ERROR"},
		{"insecure", middleware.CookieConfig{Insecure: true}, "gatehouse", false, "level=WARN"},
		{"insecure drops the prefix", middleware.CookieConfig{Name: "__Host-myapp", Insecure: true}, "myapp", false, "level=WARN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newCookieEnv(t, tc.cfg)
			logs := e.logs.String()
			if tc.logLevel == "" && logs != "" {
				t.Errorf("New logged %q", logs)
			}
			if !strings.Contains(logs, tc.logLevel) {
				t.Errorf("New logged %q, want a %s line", logs, tc.logLevel)
			}
			if tc.cfg.Insecure && !strings.Contains(logs, "INSECURE") {
				t.Errorf("the Insecure warning is not loud: %q", logs)
			}
			if got := e.g.CookieName(); got != tc.want {
				t.Errorf("CookieName() = %q, want %q", got, tc.want)
			}
			c, raw := sessionCookie(t, e.logIn(t, "user@example.com", nil))
			if c.Name != tc.want || c.Secure != tc.secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
				t.Errorf("cookie %q, want name %q, Secure %v", raw, tc.want, tc.secure)
			}
			if w := do(t, e.g.RequireAuth(echo), withCookie(c)); w.Code != 200 {
				t.Errorf("the cookie does not authenticate: %d", w.Code)
			}
		})
	}
}

// TestCookieAuthenticates: the cookie authenticates requests without an
// Authorization header; with one, the header decides; bearer requests
// work as before.
func TestCookieAuthenticates(t *testing.T) {
	e := newCookieEnv(t, middleware.CookieConfig{})
	c, _ := sessionCookie(t, e.logIn(t, "user@example.com", nil))
	res, err := e.m.Login(context.Background(), "other@example.com", password)
	if err != nil {
		t.Fatal(err)
	}
	other := res.Tokens.AccessToken
	h := e.g.RequireAuth(echo)
	garbage := &http.Cookie{Name: c.Name, Value: "nonsense"}
	for _, tc := range []struct {
		name    string
		edit    func(*http.Request)
		status  int
		body    string
		cleared bool // the response deletes the cookie
	}{
		{"cookie", withCookie(c), 200, "hello user@example.com", false},
		{"no credentials", nil, 401, "", false},
		{"garbage cookie", withCookie(garbage), 401, "", true},
		{"bearer", bearer(other), 200, "hello other@example.com", false},
		{"header decides over the cookie", func(r *http.Request) { withCookie(c)(r); bearer(other)(r) }, 200, "hello other@example.com", false},
		{"a bad header is not rescued by the cookie", func(r *http.Request) { withCookie(c)(r); bearer("garbage")(r) }, 401, "", false},
		{"another cookie name", withCookie(&http.Cookie{Name: "gatehouse", Value: c.Value}), 401, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := do(t, h, tc.edit)
			if w.Code != tc.status || (tc.body != "" && w.Body.String() != tc.body) {
				t.Fatalf("%d %s, want %d %s", w.Code, w.Body, tc.status, tc.body)
			}
			vary := strings.Join(w.Header().Values("Vary"), ",")
			if !strings.Contains(vary, "Cookie") || !strings.Contains(vary, "Authorization") {
				t.Errorf("Vary %q, want Authorization and Cookie", vary)
			}
			sets := w.Header().Values("Set-Cookie")
			if tc.cleared {
				cc, raw := sessionCookie(t, w)
				wantAttributes(t, cc, raw, false, 0)
			} else if len(sets) != 0 {
				t.Errorf("Set-Cookie %q on a request that needs none", sets)
			}
		})
	}
}

// TestCookieRefresh: an expired access token in the cookie is refreshed
// inside the middleware; the new cookie works; the old one, replayed after
// RefreshMemory, is a reuse that revokes the session (SECURITY.md #37).
func TestCookieRefresh(t *testing.T) {
	e := newCookieEnv(t, middleware.CookieConfig{})
	old, _ := sessionCookie(t, e.logIn(t, "user@example.com", nil))
	h := e.g.RequireAuth(echo)
	e.advance(auth.DefaultAccessTokenTTL + time.Minute)
	w := do(t, h, withCookie(old))
	if w.Code != 200 || w.Body.String() != "hello user@example.com" {
		t.Fatalf("expired cookie: %d %s, want the request served", w.Code, w.Body)
	}
	fresh, _ := sessionCookie(t, w)
	if fresh.Value == old.Value {
		t.Fatal("no new cookie after a refresh")
	}
	if w := do(t, h, withCookie(fresh)); w.Code != 200 || len(w.Header().Values("Set-Cookie")) != 0 {
		t.Fatalf("new cookie: %d, Set-Cookie %q", w.Code, w.Header().Values("Set-Cookie"))
	}
	if n := e.count(auth.EventRefresh, auth.OutcomeSuccess); n != 1 {
		t.Fatalf("%d refreshes, want 1", n)
	}

	e.advance(middleware.RefreshMemory)
	w = do(t, h, withCookie(old))
	if w.Code != 401 {
		t.Fatalf("replayed old cookie: %d, want 401", w.Code)
	}
	if len(w.Header().Values("Set-Cookie")) != 0 {
		t.Errorf("a replay's answer touches the cookie: %q", w.Header().Values("Set-Cookie"))
	}
	if n := e.count(auth.EventRefreshReuse, auth.OutcomeFailure); n != 1 {
		t.Fatalf("%d reuse events, want 1", n)
	}
	// The session is revoked: the newest cookie is dead too, and cleared.
	w = do(t, h, withCookie(fresh))
	if w.Code != 401 {
		t.Fatalf("the newest cookie after a replay: %d, want 401", w.Code)
	}
	cleared, raw := sessionCookie(t, w)
	wantAttributes(t, cleared, raw, false, 0)
}

// TestCookieConcurrentRefresh: 20 concurrent requests with one expired
// cookie (a page and its fetches) all succeed with one rotation between
// them, and the session survives; a request just after gets the same new
// cookie. After RefreshMemory and the ReuseGrace, the old cookie replayed
// is a reuse and revokes the session.
func TestCookieConcurrentRefresh(t *testing.T) {
	for _, grace := range []time.Duration{0, 5 * time.Second} {
		t.Run("grace "+grace.String(), func(t *testing.T) {
			e := newCookieEnv(t, middleware.CookieConfig{}, func(c *auth.Config) { c.Sessions.ReuseGrace = grace })
			old, _ := sessionCookie(t, e.logIn(t, "user@example.com", nil))
			h := e.g.RequireAuth(echo)
			e.advance(auth.DefaultAccessTokenTTL + time.Minute)

			e.store.gate = make(chan struct{})
			const n = 20
			var wg sync.WaitGroup
			codes := make([]int, n)
			values := make([]string, n)
			started := make(chan struct{}, n)
			for i := range n {
				wg.Go(func() {
					started <- struct{}{}
					w := do(t, h, withCookie(old))
					codes[i] = w.Code
					if sets := w.Result().Cookies(); len(sets) == 1 {
						values[i] = sets[0].Value
					}
				})
			}
			for range n {
				<-started
			}
			time.Sleep(20 * time.Millisecond) // let the requests pile up on the first rotation
			close(e.store.gate)
			wg.Wait()
			e.store.gate = nil

			for i := range n {
				if codes[i] != 200 || values[i] == "" || values[i] != values[0] {
					t.Fatalf("request %d: %d, cookie %.12q…; want 200 and the one new cookie", i, codes[i], values[i])
				}
			}
			if r := e.store.rotations.Load(); r != 1 {
				t.Fatalf("%d rotations, want 1", r)
			}
			if e.count(auth.EventRefreshReuse, auth.OutcomeFailure) != 0 {
				t.Fatal("reuse detected among the concurrent requests")
			}
			fresh := &http.Cookie{Name: old.Name, Value: values[0]}
			if w := do(t, h, withCookie(fresh)); w.Code != 200 {
				t.Fatalf("the new cookie: %d; the session was revoked", w.Code)
			}

			// A request that arrives just after, with the old cookie.
			e.advance(middleware.RefreshMemory - time.Second)
			w := do(t, h, withCookie(old))
			if c, _ := sessionCookie(t, w); w.Code != 200 || c.Value != values[0] {
				t.Fatalf("old cookie just after: %d, a different cookie: %v", w.Code, c.Value != values[0])
			}
			if r := e.store.rotations.Load(); r != 1 {
				t.Fatalf("%d rotations after the late request, want 1", r)
			}

			// A genuine replay, after RefreshMemory and the grace.
			e.advance(time.Second + grace)
			if w := do(t, h, withCookie(old)); w.Code != 401 {
				t.Fatalf("replay: %d, want 401", w.Code)
			}
			if e.count(auth.EventRefreshReuse, auth.OutcomeFailure) != 1 {
				t.Fatal("the replay was not detected as a reuse")
			}
			if w := do(t, h, withCookie(fresh)); w.Code != 401 {
				t.Fatalf("the new cookie after a replay: %d, want 401 (session revoked)", w.Code)
			}
		})
	}
}

// TestCookieReuseWithinGrace: with several instances, a refresh that loses
// the race on another instance (here: the refresh token rotated by hand,
// outside this Guard) fails within ReuseGrace without revoking the
// session and without touching the cookie.
func TestCookieReuseWithinGrace(t *testing.T) {
	e := newCookieEnv(t, middleware.CookieConfig{}, func(c *auth.Config) { c.Sessions.ReuseGrace = 5 * time.Second })
	old, _ := sessionCookie(t, e.logIn(t, "user@example.com", nil))
	refresh, _, _ := strings.Cut(old.Value, ".")
	e.advance(auth.DefaultAccessTokenTTL + time.Minute)
	pair, err := e.m.Refresh(context.Background(), refresh) // "instance A"
	if err != nil {
		t.Fatal(err)
	}
	w := do(t, e.g.RequireAuth(echo), withCookie(old)) // "instance B"
	if w.Code != 401 || len(w.Header().Values("Set-Cookie")) != 0 {
		t.Fatalf("losing refresh: %d, Set-Cookie %q; want 401 and the cookie left alone", w.Code, w.Header().Values("Set-Cookie"))
	}
	if _, err := e.m.Authenticate(context.Background(), pair.AccessToken); err != nil {
		t.Fatalf("the session after a reuse within the grace: %v", err)
	}
}

// TestCrossOriginRefused: SECURITY.md #67. An unsafe request with a valid
// cookie from another origin gets 403 and changes nothing; same-origin
// and non-browser requests, safe methods, trusted origins and bearer
// requests pass.
func TestCrossOriginRefused(t *testing.T) {
	e := newCookieEnv(t, middleware.CookieConfig{TrustedOrigins: []string{"https://admin.example.com", "not an origin"}})
	if !strings.Contains(e.logs.String(), "TrustedOrigins") {
		t.Errorf("an invalid trusted origin is not logged: %q", e.logs.String())
	}
	c, _ := sessionCookie(t, e.logIn(t, "user@example.com", nil))
	res, err := e.m.Login(context.Background(), "other@example.com", password)
	if err != nil {
		t.Fatal(err)
	}
	var changes atomic.Int64
	h := e.g.RequireAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		changes.Add(1)
		echo(w, r)
	}))
	const refused = `{"detail":{"message":"Cross-origin request refused","error_type":"forbidden"},"message":"Cross-origin request refused","error_type":"forbidden"}`
	for _, tc := range []struct {
		name   string
		edit   func(*http.Request)
		status int
	}{
		{"cross-site POST", post(withCookie(c), header("Sec-Fetch-Site", "cross-site")), 403},
		{"same-site POST from another origin", post(withCookie(c), header("Sec-Fetch-Site", "same-site")), 403},
		{"foreign Origin without Sec-Fetch-Site", post(withCookie(c), header("Origin", "https://evil.example")), 403},
		{"cross-site DELETE", func(r *http.Request) {
			withCookie(c)(r)
			r.Method = "DELETE"
			r.Header.Set("Sec-Fetch-Site", "cross-site")
		}, 403},
		{"same-origin POST", post(withCookie(c), header("Sec-Fetch-Site", "same-origin")), 200},
		{"matching Origin", post(withCookie(c), header("Origin", "http://example.com")), 200},
		{"no browser headers", post(withCookie(c)), 200},
		{"cross-site GET", func(r *http.Request) { withCookie(c)(r); r.Header.Set("Sec-Fetch-Site", "cross-site") }, 200},
		{"trusted origin", post(withCookie(c), header("Sec-Fetch-Site", "cross-site"), header("Origin", "https://admin.example.com")), 200},
		{"bearer, cross-site", post(bearer(res.Tokens.AccessToken), header("Sec-Fetch-Site", "cross-site"), header("Origin", "https://evil.example")), 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := changes.Load()
			w := do(t, h, tc.edit)
			if w.Code != tc.status {
				t.Fatalf("%d %s, want %d", w.Code, w.Body, tc.status)
			}
			if tc.status == 403 {
				if changes.Load() != before {
					t.Fatal("the handler ran for a forged request")
				}
				if w.Body.String() != refused {
					t.Fatalf("body %s\nwant %s", w.Body, refused)
				}
				wantRefusalHeaders(t, w)
				if len(w.Header().Values("Set-Cookie")) != 0 {
					t.Fatal("a forged request touched the cookie")
				}
			}
		})
	}

	// A forged request with an expired cookie does not refresh it.
	e.advance(auth.DefaultAccessTokenTTL + time.Minute)
	before := e.store.rotations.Load()
	w := do(t, h, post(withCookie(c), header("Sec-Fetch-Site", "cross-site")))
	if w.Code != 403 || e.store.rotations.Load() != before || len(w.Header().Values("Set-Cookie")) != 0 {
		t.Fatalf("forged request, expired cookie: %d, %d rotations, Set-Cookie %q", w.Code, e.store.rotations.Load()-before, w.Header().Values("Set-Cookie"))
	}

	// Authenticate alone leaves it anonymous, saying why.
	var failure error
	var user bool
	do(t, e.g.Authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		failure = middleware.Failure(r.Context())
		_, user = auth.UserFromContext(r.Context())
	})), post(withCookie(c), header("Sec-Fetch-Site", "cross-site")))
	if user || !errors.Is(failure, middleware.ErrCrossOrigin) {
		t.Fatalf("Authenticate: user %v, Failure %v; want anonymous with ErrCrossOrigin", user, failure)
	}
}

// TestLogInReplacesCookie: SECURITY.md #67 (no fixation). A cookie set
// before the login — a session of the attacker's, planted in the victim's
// browser, or garbage — is replaced, and a working one stops working.
func TestLogInReplacesCookie(t *testing.T) {
	e := newCookieEnv(t, middleware.CookieConfig{})
	h := e.g.RequireAuth(echo)
	planted, _ := sessionCookie(t, e.logIn(t, "other@example.com", nil)) // the attacker's
	for _, tc := range []struct {
		name  string
		plant *http.Cookie
	}{
		{"a working cookie", planted},
		{"garbage", &http.Cookie{Name: planted.Name, Value: "attacker-chosen-value"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := e.logIn(t, "user@example.com", withCookie(tc.plant))
			fresh, _ := sessionCookie(t, w)
			if fresh.Value == tc.plant.Value || fresh.Value == "" {
				t.Fatal("the login kept the planted cookie")
			}
			if w := do(t, h, withCookie(tc.plant)); w.Code != 401 {
				t.Fatalf("the planted cookie after the login: %d %s, want 401", w.Code, w.Body)
			}
			if w := do(t, h, withCookie(fresh)); w.Code != 200 || w.Body.String() != "hello user@example.com" {
				t.Fatalf("the new cookie: %d %s", w.Code, w.Body)
			}
		})
	}
}

func TestLogInRefusals(t *testing.T) {
	e := newCookieEnv(t, middleware.CookieConfig{})
	sessions := func() int {
		u, err := e.store.UserByEmail(context.Background(), "user@example.com")
		if err != nil {
			t.Fatal(err)
		}
		ss, err := e.store.UserSessions(context.Background(), u.ID, e.m.Now())
		if err != nil {
			t.Fatal(err)
		}
		return len(ss)
	}
	for _, tc := range []struct {
		name     string
		password string
		edit     func(*http.Request)
		want     error
	}{
		{"login CSRF", password, header("Sec-Fetch-Site", "cross-site"), middleware.ErrCrossOrigin},
		{"login CSRF by GET", password, func(r *http.Request) { r.Method = "GET"; r.Header.Set("Sec-Fetch-Site", "cross-site") }, middleware.ErrCrossOrigin},
		{"wrong password", "wrong password entirely", nil, auth.ErrInvalidCredentials},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			w := do(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, err = e.g.LogIn(w, r, "user@example.com", tc.password)
			}), post(tc.edit))
			if !errors.Is(err, tc.want) {
				t.Fatalf("LogIn: %v, want %v", err, tc.want)
			}
			if len(w.Header().Values("Set-Cookie")) != 0 || sessions() != 0 {
				t.Fatalf("a refused login set %q and left %d sessions", w.Header().Values("Set-Cookie"), sessions())
			}
		})
	}

	// StartSession from another origin ends the session it was given.
	res, err := e.m.Login(context.Background(), "user@example.com", password)
	if err != nil {
		t.Fatal(err)
	}
	w := do(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err = e.g.StartSession(w, r, res)
	}), post(header("Origin", "https://evil.example")))
	if !errors.Is(err, middleware.ErrCrossOrigin) || len(w.Header().Values("Set-Cookie")) != 0 || sessions() != 0 {
		t.Fatalf("StartSession cross-origin: %v, Set-Cookie %q, %d sessions", err, w.Header().Values("Set-Cookie"), sessions())
	}
}

// TestEndSession: logging out ends the session and clears the cookie; the
// stale cookie is refused afterwards; a cross-site logout does nothing.
func TestEndSession(t *testing.T) {
	e := newCookieEnv(t, middleware.CookieConfig{})
	c, _ := sessionCookie(t, e.logIn(t, "user@example.com", nil))
	var err error
	logout := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { err = e.g.EndSession(w, r) })
	h := e.g.RequireAuth(echo)

	w := do(t, logout, func(r *http.Request) { withCookie(c)(r); r.Header.Set("Sec-Fetch-Site", "cross-site") })
	if !errors.Is(err, middleware.ErrCrossOrigin) || len(w.Header().Values("Set-Cookie")) != 0 {
		t.Fatalf("a link from another site: %v, Set-Cookie %q", err, w.Header().Values("Set-Cookie"))
	}
	if w := do(t, h, withCookie(c)); w.Code != 200 {
		t.Fatalf("the session after a refused logout: %d", w.Code)
	}

	w = do(t, logout, post(withCookie(c), header("Sec-Fetch-Site", "same-origin")))
	if err != nil {
		t.Fatal(err)
	}
	cleared, raw := sessionCookie(t, w)
	wantAttributes(t, cleared, raw, false, 0)
	if n := e.count(auth.EventLogout, auth.OutcomeSuccess); n != 1 {
		t.Fatalf("%d logouts, want 1", n)
	}
	w = do(t, h, withCookie(c))
	if w.Code != 401 {
		t.Fatalf("stale cookie after logout: %d, want 401", w.Code)
	}

	// Logging out again (a stale cookie, or none) clears the cookie.
	for _, edit := range []func(*http.Request){post(withCookie(c)), post()} {
		w = do(t, logout, edit)
		if err != nil {
			t.Fatal(err)
		}
		cleared, raw = sessionCookie(t, w)
		wantAttributes(t, cleared, raw, false, 0)
	}
}

// TestChangePasswordRenewsSession: SECURITY.md #67. After a password
// change through the Guard the browser is on a fresh session: the old
// cookie is dead, the user's other sessions too, the new one works.
func TestChangePasswordRenewsSession(t *testing.T) {
	e := newCookieEnv(t, middleware.CookieConfig{})
	c, _ := sessionCookie(t, e.logIn(t, "user@example.com", nil))
	elsewhere, _ := sessionCookie(t, e.logIn(t, "user@example.com", nil))
	h := e.g.RequireAuth(echo)
	var err error
	change := func(current string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			err = e.g.ChangePassword(w, r, current, "a new and better passphrase")
		})
	}

	w := do(t, change("wrong password entirely"), post(withCookie(c)))
	if !errors.Is(err, auth.ErrInvalidPassword) || len(w.Header().Values("Set-Cookie")) != 0 {
		t.Fatalf("wrong current password: %v, Set-Cookie %q", err, w.Header().Values("Set-Cookie"))
	}
	if w := do(t, h, withCookie(c)); w.Code != 200 {
		t.Fatalf("the session after a refused change: %d", w.Code)
	}
	do(t, change(password), post(withCookie(c), header("Sec-Fetch-Site", "cross-site")))
	if !errors.Is(err, middleware.ErrCrossOrigin) {
		t.Fatalf("cross-site change: %v", err)
	}

	e.advance(time.Second)
	w = do(t, change(password), post(withCookie(c)))
	if err != nil {
		t.Fatal(err)
	}
	fresh, raw := sessionCookie(t, w)
	wantAttributes(t, fresh, raw, true, auth.DefaultRefreshIdleTimeout)
	if fresh.Value == c.Value {
		t.Fatal("the cookie did not change")
	}
	for name, old := range map[string]*http.Cookie{"the old cookie": c, "another session": elsewhere} {
		if w := do(t, h, withCookie(old)); w.Code != 401 {
			t.Errorf("%s after the change: %d, want 401", name, w.Code)
		}
	}
	if w := do(t, h, withCookie(fresh)); w.Code != 200 {
		t.Fatalf("the new cookie: %d", w.Code)
	}
	if _, err := e.m.Login(context.Background(), "user@example.com", "a new and better passphrase"); err != nil {
		t.Fatalf("the new password: %v", err)
	}
}

func TestRenewSessionThroughGuard(t *testing.T) {
	e := newCookieEnv(t, middleware.CookieConfig{})
	c, _ := sessionCookie(t, e.logIn(t, "user@example.com", nil))
	h := e.g.RequireAuth(echo)
	var res *auth.LoginResult
	var err error
	renew := e.g.RequireAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, err = e.g.RenewSession(w, r)
	}))
	w := do(t, renew, post(withCookie(c)))
	if err != nil {
		t.Fatal(err)
	}
	fresh, _ := sessionCookie(t, w)
	if fresh.Value == c.Value || !strings.HasPrefix(fresh.Value, res.Tokens.RefreshToken+".") {
		t.Fatal("the cookie is not the renewed session's")
	}
	if w := do(t, h, withCookie(c)); w.Code != 401 {
		t.Fatalf("the old cookie: %d, want 401", w.Code)
	}
	if w := do(t, h, withCookie(fresh)); w.Code != 200 {
		t.Fatalf("the new cookie: %d", w.Code)
	}

	// A bearer request has no cookie session to renew.
	login, err := e.m.Login(context.Background(), "user@example.com", password)
	if err != nil {
		t.Fatal(err)
	}
	do(t, renew, post(bearer(login.Tokens.AccessToken)))
	if !errors.Is(err, auth.ErrUnauthenticated) {
		t.Fatalf("RenewSession of a bearer request: %v, want ErrUnauthenticated", err)
	}
}

// TestBearerGuardHasNoCookieMode: without Config.Cookies the session
// methods fail and a cookie is never looked at.
func TestBearerGuardHasNoCookieMode(t *testing.T) {
	e := newCookieEnv(t, middleware.CookieConfig{})
	c, _ := sessionCookie(t, e.logIn(t, "user@example.com", nil))
	g := middleware.New(e.m, middleware.Config{})
	if g.CookieName() != "" {
		t.Errorf("CookieName() = %q, want \"\"", g.CookieName())
	}
	if w := do(t, g.RequireAuth(echo), withCookie(c)); w.Code != 401 {
		t.Fatalf("a cookie on a bearer-only Guard: %d, want 401", w.Code)
	}
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/", nil)
	if _, err := g.LogIn(w, r, "user@example.com", password); err == nil {
		t.Error("LogIn on a bearer-only Guard succeeded")
	}
	if err := g.EndSession(w, r); err == nil {
		t.Error("EndSession on a bearer-only Guard succeeded")
	}
	if len(w.Header().Values("Set-Cookie")) != 0 {
		t.Error("a bearer-only Guard set a cookie")
	}
}

// TestErrCrossOriginAnswer: httperr.Write answers ErrCrossOrigin itself.
func TestErrCrossOriginAnswer(t *testing.T) {
	w := httptest.NewRecorder()
	middleware.WriteError(w, httptest.NewRequest("POST", "/", nil), http.StatusForbidden, middleware.ErrCrossOrigin)
	body, _ := io.ReadAll(w.Body)
	if w.Code != 403 || !strings.Contains(string(body), `"Cross-origin request refused"`) {
		t.Fatalf("%d %s", w.Code, body)
	}
	if !errors.Is(errors.Join(errors.New("x"), middleware.ErrCrossOrigin), middleware.ErrCrossOrigin) {
		t.Fatal("errors.Is does not find ErrCrossOrigin")
	}
}
