package authtest

import (
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/internal/testhash"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/memstore"
)

// Password is the password of every user [Kit.User] makes, unless
// [WithPassword] says otherwise. It passes the default password policy.
const Password = "correct horse battery staple"

// BaseURL is the kit's auth.Config.BaseURL, so that mailed links exist
// ([Kit.LastLink]). Its host is the one httptest.NewRequest gives requests.
const BaseURL = "https://example.com"

// defaultStart is the time the kit's clock shows until Advance moves it,
// unless Start sets another (documented there).
var defaultStart = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

// TB is what the kit needs of a test. *testing.T, *testing.B and
// *testing.F have it; pass the test's own. (It is an interface of its own
// rather than testing.TB so that the package's examples can run: an
// implementation's Fatalf must not return, as testing's does not.)
type TB interface {
	Helper()
	Cleanup(func())
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// Kit is a Manager with its fakes, for one test. Its methods are safe for
// concurrent use. Make one with [New].
type Kit struct {
	// Manager is the Manager under test. Its Config has the kit's store,
	// mailer, hasher, clock and BaseURL, a random signing key, and
	// whatever [Configure] changed.
	Manager *auth.Manager
	// Store is the Manager's store (also its throttling counters).
	Store *memstore.Store
	// Mail receives every message the Manager sends. Prefer [Kit.LastMail]
	// and friends, which wait for the background delivery first.
	Mail *mail.Capture
	// Guard is a Guard for Manager, configured by [GuardConfig].
	Guard *middleware.Guard

	secrets *secretLog

	mu        sync.Mutex
	now       time.Time
	passwords map[string]string // by normalized email
}

// New builds a kit for the test t. The Manager's background work is
// flushed when t ends; mail still undelivered then fails the test.
func New(t TB, opts ...Option) *Kit {
	t.Helper()
	s := settings{start: defaultStart}
	for _, o := range opts {
		o.apply(&s)
	}
	k := &Kit{
		Store:     memstore.New(),
		Mail:      mail.NewCapture(),
		secrets:   &secretLog{},
		now:       s.start,
		passwords: map[string]string{},
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatalf("authtest: signing key: %v", err)
	}
	cfg := auth.Config{
		Store:    k.Store,
		Mailer:   k.Mail,
		BaseURL:  BaseURL,
		Tokens:   auth.TokenConfig{SigningKey: key},
		Password: auth.PasswordConfig{Hasher: testhash.Fast{}},
		Mail:     auth.MailConfig{RetryDelay: time.Millisecond},
		Now:      k.Now,
	}
	for _, f := range s.edits {
		f(&cfg)
	}
	templates := cfg.Mail.Templates
	if templates == nil {
		templates = mail.DefaultTemplates()
	}
	cfg.Mail.Templates = &recorder{next: templates, log: k.secrets}
	m, err := auth.New(cfg)
	if err != nil {
		t.Fatalf("authtest: auth.New: %v", err)
	}
	k.Manager = m
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := m.Flush(ctx); err != nil {
			t.Errorf("authtest: flushing the Manager's background work: %v", err)
		}
	})
	k.Guard = middleware.New(m, s.guard)
	return k
}

// Now returns the time on the kit's clock, the Manager's Config.Now.
func (k *Kit) Now() time.Time {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.now
}

// Advance moves the kit's clock forward by d (backward for a negative d,
// which tests of clock skew may want).
func (k *Kit) Advance(d time.Duration) {
	k.mu.Lock()
	k.now = k.now.Add(d)
	k.mu.Unlock()
}

// User registers a user through the Manager (so the record is exactly
// what a registration makes) and then sets what the options ask for. The
// user is active and verified unless [Disabled] or [Unverified] says
// otherwise, and their password is [Password] unless [WithPassword] gives
// another. With Config.Verification.Required (see [Configure]) the
// registration mails a verification code, which [Kit.LastCode] reads —
// also for users the kit then marks verified. It fails the test when the
// email is taken or refused, or the password does not pass the policy.
func (k *Kit) User(t TB, email string, opts ...UserOption) *store.User {
	t.Helper()
	us := userSettings{password: Password, active: true, verified: true}
	for _, o := range opts {
		o.applyUser(&us)
	}
	ctx := context.Background()
	norm, err := auth.NormalizeEmail(email)
	if err != nil {
		t.Fatalf("authtest: User(%q): %v", email, err)
	}
	if _, err := k.Store.UserByEmail(ctx, norm); err == nil {
		t.Fatalf("authtest: User(%q): the email is taken", email)
	}
	u, err := k.Manager.Register(ctx, auth.Registration{Email: email, Password: us.password, Name: us.name})
	if err != nil {
		t.Fatalf("authtest: User(%q): Register: %v", email, err)
	}
	up := store.UserUpdate{UpdatedAt: k.Now()}
	if u.IsVerified != us.verified {
		up.IsVerified = &us.verified
	}
	if u.IsActive != us.active {
		up.IsActive = &us.active
	}
	if us.superuser {
		up.IsSuperuser = &us.superuser
	}
	if up.IsVerified != nil || up.IsActive != nil || up.IsSuperuser != nil {
		if u, err = k.Store.UpdateUser(ctx, u.ID, up); err != nil {
			t.Fatalf("authtest: User(%q): %v", email, err)
		}
	}
	k.mu.Lock()
	k.passwords[u.Email] = us.password
	k.mu.Unlock()
	return u
}

// LogIn logs in a user made by [Kit.User], with their password, and fails
// the test if the Manager refuses (a disabled user, or an unverified one
// when verification is required: call Manager.Login yourself to test
// those refusals). In cookie mode the login goes through Guard.LogIn, as
// a browser's would, and the returned Login carries the session cookie.
func (k *Kit) LogIn(t TB, email string) *Login {
	t.Helper()
	norm, err := auth.NormalizeEmail(email)
	if err != nil {
		t.Fatalf("authtest: LogIn(%q): %v", email, err)
	}
	k.mu.Lock()
	pw, ok := k.passwords[norm]
	k.mu.Unlock()
	if !ok {
		t.Fatalf("authtest: LogIn(%q): not a user made by Kit.User", email)
	}
	if k.Guard.CookieName() == "" {
		res, err := k.Manager.Login(context.Background(), email, pw)
		if err != nil {
			t.Fatalf("authtest: LogIn(%q): %v", email, err)
		}
		if res.Tokens == nil {
			t.Fatalf("authtest: LogIn(%q): the login asks for a second factor", email)
		}
		return &Login{LoginResult: res}
	}
	w := httptest.NewRecorder()
	res, err := k.Guard.LogIn(w, httptest.NewRequest(http.MethodPost, "/login", nil), email, pw)
	if err != nil {
		t.Fatalf("authtest: LogIn(%q): %v", email, err)
	}
	if res.Tokens == nil {
		t.Fatalf("authtest: LogIn(%q): the login asks for a second factor", email)
	}
	l := &Login{LoginResult: res, cookieName: k.Guard.CookieName()}
	l.Update(w.Result().Header)
	if l.Cookie == nil {
		t.Fatalf("authtest: LogIn(%q): Guard.LogIn set no cookie", email)
	}
	return l
}

// Login is a logged-in user, as [Kit.LogIn] returns it: the Manager's
// result (User, Session, Tokens) and, in cookie mode, the session cookie.
type Login struct {
	*auth.LoginResult
	// Cookie is the session cookie Guard.LogIn set, in cookie mode; nil
	// otherwise, and after a response deleted it (see [Login.Update]).
	Cookie *http.Cookie

	cookieName string // "" unless in cookie mode
}

// Request returns an httptest request that carries the login: the session
// cookie in cookie mode, "Authorization: Bearer" with the access token
// otherwise.
func (l *Login) Request(method, target string, body io.Reader) *http.Request {
	r := httptest.NewRequest(method, target, body)
	l.Authorize(r)
	return r
}

// Authorize adds the login's credential to r, as [Login.Request] does.
func (l *Login) Authorize(r *http.Request) {
	if l.cookieName != "" {
		if l.Cookie != nil {
			r.AddCookie(&http.Cookie{Name: l.Cookie.Name, Value: l.Cookie.Value})
		}
		return
	}
	r.Header.Set("Authorization", "Bearer "+l.Tokens.AccessToken)
}

// Update takes the session cookie from a response's header (a recorder's
// Result().Header, or an *http.Response's Header), as a browser would: in
// cookie mode the Guard refreshes an expired cookie and sends a new one,
// and the old one, presented again once middleware.RefreshMemory has
// passed, counts as a replay that ends the session. A response that
// deletes the cookie sets Cookie to nil; one that does not mention it
// changes nothing; so does Update outside cookie mode. Tokens is not
// updated.
func (l *Login) Update(h http.Header) {
	if l.cookieName == "" {
		return
	}
	for _, line := range h.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err != nil || c.Name != l.cookieName {
			continue
		}
		if c.MaxAge < 0 || c.Value == "" {
			l.Cookie = nil
			return
		}
		l.Cookie = c
	}
}
