package authtest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/authtest"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/middleware"
)

// fakeT records failures. Fatalf ends the goroutine like testing's, so
// calls that may fail run in their own (see fails).
type fakeT struct {
	mu       sync.Mutex
	failures []string
	cleanups []func()
}

func (f *fakeT) Helper()           {}
func (f *fakeT) Cleanup(fn func()) { f.mu.Lock(); f.cleanups = append(f.cleanups, fn); f.mu.Unlock() }
func (f *fakeT) Errorf(format string, args ...any) {
	f.mu.Lock()
	f.failures = append(f.failures, fmt.Sprintf(format, args...))
	f.mu.Unlock()
}
func (f *fakeT) Fatalf(format string, args ...any) {
	f.Errorf(format, args...)
	runtime.Goexit()
}

// fails runs f with ft and returns the failure it reported, "" if none.
func fails(ft *fakeT, f func()) string {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	<-done
	ft.mu.Lock()
	defer ft.mu.Unlock()
	if len(ft.failures) == 0 {
		return ""
	}
	last := ft.failures[len(ft.failures)-1]
	ft.failures = nil
	return last
}

var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	u, ok := auth.UserFromContext(r.Context())
	if !ok {
		http.Error(w, "anonymous", 500)
		return
	}
	fmt.Fprint(w, u.Email)
})

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestBearerLogin(t *testing.T) {
	kit := authtest.New(t)
	u := kit.User(t, "Ada@Example.com")
	if u.Email != "ada@example.com" || !u.IsActive || !u.IsVerified || u.IsSuperuser {
		t.Fatalf("user %+v", u)
	}
	login := kit.LogIn(t, "ada@example.com")
	if login.Cookie != nil || login.Tokens == nil || login.User.ID != u.ID || login.Session == nil {
		t.Fatalf("login %+v", login)
	}
	r := login.Request("GET", "/me", nil)
	if got := r.Header.Get("Authorization"); got != "Bearer "+login.Tokens.AccessToken {
		t.Fatalf("Authorization %q", got)
	}
	if w := serve(kit.Guard.RequireAuth(echo), r); w.Code != 200 || w.Body.String() != "ada@example.com" {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if w := serve(kit.Guard.RequireAuth(echo), httptest.NewRequest("GET", "/me", nil)); w.Code != 401 {
		t.Fatalf("anonymous: %d", w.Code)
	}
	// Update does nothing outside cookie mode.
	login.Update(http.Header{"Set-Cookie": {"__Host-gatehouse=x; Path=/; Secure"}})
	if login.Cookie != nil {
		t.Fatal("Update took a cookie outside cookie mode")
	}
}

func TestCookieLogin(t *testing.T) {
	kit := authtest.New(t, authtest.GuardConfig(middleware.Config{Cookies: &middleware.CookieConfig{}}))
	kit.User(t, "ada@example.com")
	login := kit.LogIn(t, "ada@example.com")
	c := login.Cookie
	if c == nil || c.Name != "__Host-gatehouse" || !c.Secure || !c.HttpOnly || c.Value == "" {
		t.Fatalf("cookie %+v", c)
	}
	r := login.Request("POST", "/notes", strings.NewReader("x"))
	if r.Header.Get("Authorization") != "" || len(r.Cookies()) != 1 || r.Cookies()[0].Value != c.Value {
		t.Fatalf("request headers %v", r.Header)
	}
	h := kit.Guard.RequireAuth(echo)
	if w := serve(h, r); w.Code != 200 || w.Body.String() != "ada@example.com" {
		t.Fatalf("%d %s", w.Code, w.Body)
	}

	// The clock moves past the access token: the Guard refreshes, Update
	// follows, and the next request, long after, still works.
	for i := range 3 {
		kit.Advance(time.Hour)
		w := serve(h, login.Request("GET", "/notes", nil))
		before := login.Cookie.Value
		login.Update(w.Result().Header)
		if w.Code != 200 || login.Cookie.Value == before {
			t.Fatalf("round %d: %d, new cookie %v", i, w.Code, login.Cookie.Value != before)
		}
	}

	// A response that deletes the cookie clears it; a request then has none.
	w := httptest.NewRecorder()
	if err := kit.Guard.EndSession(w, login.Request("POST", "/logout", nil)); err != nil {
		t.Fatal(err)
	}
	login.Update(w.Result().Header)
	if login.Cookie != nil || len(login.Request("GET", "/", nil).Cookies()) != 0 {
		t.Fatal("the deleted cookie is still sent")
	}
}

func TestClock(t *testing.T) {
	start := time.Date(2030, 2, 3, 4, 5, 6, 0, time.UTC)
	kit := authtest.New(t, authtest.Start(start))
	if !kit.Now().Equal(start) || !kit.Manager.Now().Equal(start) {
		t.Fatalf("Now %v, Manager.Now %v; want %v", kit.Now(), kit.Manager.Now(), start)
	}
	kit.Advance(90 * time.Minute)
	if want := start.Add(90 * time.Minute); !kit.Now().Equal(want) || !kit.Manager.Now().Equal(want) {
		t.Fatalf("after Advance: %v, want %v", kit.Now(), want)
	}
	kit.User(t, "ada@example.com")
	login := kit.LogIn(t, "ada@example.com")
	if want := kit.Now().Add(auth.DefaultAccessTokenTTL); !login.Tokens.AccessTokenExpiresAt.Equal(want) {
		t.Fatalf("access token expires %v, want %v (the kit's clock)", login.Tokens.AccessTokenExpiresAt, want)
	}
	if time.Since(authtest.New(t).Now()) < 24*time.Hour {
		t.Fatal("the default start is not a fixed time")
	}
}

func TestUsers(t *testing.T) {
	kit := authtest.New(t)
	ctx := context.Background()
	admin := kit.User(t, "root@example.com", authtest.Superuser(), authtest.Name("Root"))
	if !admin.IsSuperuser || !admin.IsActive || !admin.IsVerified || admin.Name != "Root" {
		t.Fatalf("superuser %+v", admin)
	}
	login := kit.LogIn(t, "root@example.com")
	if w := serve(kit.Guard.RequireSuperuser(echo), login.Request("GET", "/admin", nil)); w.Code != 200 {
		t.Fatalf("superuser route: %d", w.Code)
	}

	if u := kit.User(t, "new@example.com", authtest.Unverified()); u.IsVerified {
		t.Fatal("Unverified user is verified")
	}
	if u := kit.User(t, "gone@example.com", authtest.Disabled()); u.IsActive {
		t.Fatal("Disabled user is active")
	}
	if _, err := kit.Manager.Login(ctx, "gone@example.com", authtest.Password); !errors.Is(err, auth.ErrAccountDisabled) {
		t.Fatalf("disabled login: %v", err)
	}
	kit.User(t, "own@example.com", authtest.WithPassword("another fine passphrase"))
	if _, err := kit.Manager.Login(ctx, "own@example.com", "another fine passphrase"); err != nil {
		t.Fatalf("WithPassword: %v", err)
	}
	kit.LogIn(t, "own@example.com")

	// Stored hashes are the kit's quick ones, not argon2id.
	u, err := kit.Store.UserByEmail(ctx, "own@example.com")
	if err != nil || strings.HasPrefix(u.PasswordHash, "$argon2id$") || u.PasswordHash == "" {
		t.Fatalf("hash %q, %v", u.PasswordHash, err)
	}

	ft := &fakeT{}
	for _, tc := range []struct {
		name, want string
		f          func()
	}{
		{"taken email", "taken", func() { kit.User(ft, "ROOT@example.com") }},
		{"bad email", "User(\"not an email\")", func() { kit.User(ft, "not an email") }},
		{"weak password", "Register", func() { kit.User(ft, "weak@example.com", authtest.WithPassword("short")) }},
		{"unknown user", "not a user made by Kit.User", func() { kit.LogIn(ft, "nobody@example.com") }},
		{"disabled user", "account disabled", func() { kit.LogIn(ft, "gone@example.com") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := fails(ft, tc.f); !strings.Contains(got, tc.want) {
				t.Fatalf("failure %q, want one containing %q", got, tc.want)
			}
		})
	}
}

func TestMail(t *testing.T) {
	kit := authtest.New(t, authtest.Configure(func(c *auth.Config) { c.Verification.Required = true }))
	ctx := context.Background()
	kit.User(t, "ada@example.com", authtest.Unverified())
	verify := kit.LastMail(t, "ada@example.com")
	if verify.Kind != mail.KindVerifyEmail || len(verify.Code) != 6 || len(verify.Token) != 43 || verify.Link != authtest.BaseURL+"/verify-email?token="+verify.Token {
		t.Fatalf("verification mail %+v", verify)
	}
	if !strings.Contains(verify.Text, verify.Code) {
		t.Fatal("the code is not the one in the message")
	}
	if kit.LastCode(t, "ADA@example.com") != verify.Code {
		t.Fatal("LastCode is not the verification's code")
	}
	if _, err := kit.Manager.VerifyEmail(ctx, auth.Verification{Email: "ada@example.com", Code: verify.Code}); err != nil {
		t.Fatalf("the code does not verify: %v", err)
	}

	// A reset mail, sent in the background: the helpers wait for it.
	if err := kit.Manager.RequestPasswordReset(ctx, "ada@example.com"); err != nil {
		t.Fatal(err)
	}
	token := kit.LastToken(t, "ada@example.com")
	if kit.LastMail(t, "ada@example.com").Kind != mail.KindResetPassword || kit.LastLink(t, "ada@example.com") != authtest.BaseURL+"/reset-password?token="+token {
		t.Fatal("the last mail is not the reset with its link")
	}
	if kit.LastCode(t, "ada@example.com") != verify.Code {
		t.Fatal("LastCode does not skip mail without a code")
	}
	if err := kit.Manager.ResetPassword(ctx, token, "a brand new passphrase"); err != nil {
		t.Fatalf("the token does not reset: %v", err)
	}
	// The password-changed notice carries no secret.
	if m := kit.LastMail(t, "ada@example.com"); m.Kind != mail.KindPasswordChanged || m.Token != "" || m.Code != "" || m.Link != "" {
		t.Fatalf("notice %+v", m)
	}

	ft := &fakeT{}
	if got := fails(ft, func() { kit.LastMail(ft, "nobody@example.com") }); !strings.Contains(got, "no mail to nobody@example.com") {
		t.Fatalf("LastMail of nobody: %q", got)
	}
	if got := fails(ft, func() { kit.LastToken(ft, "nobody@example.com") }); !strings.Contains(got, "no mail with a token") {
		t.Fatalf("LastToken of nobody: %q", got)
	}
}

// TestCustomTemplates: templates given through Configure are used, and
// the kit still knows the secrets they were rendered with.
func TestCustomTemplates(t *testing.T) {
	tpl := mail.DefaultTemplates()
	kit := authtest.New(t, authtest.Configure(func(c *auth.Config) {
		c.Mail.Templates = renderFunc(func(ctx context.Context, d mail.Data) (mail.Message, error) {
			m, err := tpl.Render(ctx, d)
			m.Subject = "[custom] " + m.Subject
			return m, err
		})
	}))
	kit.User(t, "ada@example.com")
	kit.Manager.RequestPasswordReset(context.Background(), "ada@example.com")
	m := kit.LastMail(t, "ada@example.com")
	if !strings.HasPrefix(m.Subject, "[custom] ") || m.Token == "" {
		t.Fatalf("mail %q, token %q", m.Subject, m.Token)
	}
}

type renderFunc func(context.Context, mail.Data) (mail.Message, error)

func (f renderFunc) Render(ctx context.Context, d mail.Data) (mail.Message, error) { return f(ctx, d) }

// TestCleanupFlushes: mail queued at the end of a test is delivered by the
// kit's Cleanup (goleak in TestMain checks that nothing is left running).
func TestCleanupFlushes(t *testing.T) {
	ft := &fakeT{}
	kit := authtest.New(ft)
	kit.User(ft, "ada@example.com")
	kit.Manager.RequestPasswordReset(context.Background(), "ada@example.com")
	for i := len(ft.cleanups) - 1; i >= 0; i-- {
		ft.cleanups[i]()
	}
	if len(ft.failures) != 0 {
		t.Fatalf("failures %q", ft.failures)
	}
	if msgs := kit.Mail.Messages(); len(msgs) != 1 || msgs[0].Kind != mail.KindResetPassword {
		t.Fatalf("after Cleanup: %d messages", len(msgs))
	}
}
