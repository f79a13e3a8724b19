package audit_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/netip"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/audit"
	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/internal/testhash"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/memstore"
)

// testKey signs the tests' tokens; generated per process.
var testKey = func() []byte {
	k := make([]byte, 32)
	rand.Read(k)
	return k
}()

const goodPassword = "correct horse battery staple"

// clock is a settable fake clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// eventLog collects the Manager's events (auth.Config.OnEvent).
type eventLog struct {
	mu     sync.Mutex
	events []auth.Event
}

func (l *eventLog) add(_ context.Context, e auth.Event) {
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
}

func (l *eventLog) all() []auth.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]auth.Event(nil), l.events...)
}

func (l *eventLog) reset() {
	l.mu.Lock()
	l.events = nil
	l.mu.Unlock()
}

func (l *eventLog) ofType(t auth.EventType) []auth.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []auth.Event
	for _, e := range l.events {
		if e.Type == t {
			out = append(out, e)
		}
	}
	return out
}

// lockedBuffer is a bytes.Buffer safe for concurrent writers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// env is a Manager over memstore wired to a Recorder and a Reader on the
// same store, with captured mail and a fake clock.
type env struct {
	m      *auth.Manager
	rec    *audit.Recorder
	reader *audit.Reader
	store  *memstore.Store
	mail   *mail.Capture
	clock  *clock
	events *eventLog
	logs   *lockedBuffer
}

// newEnv builds an env; each edit is a func(*auth.Config) or a
// func(*audit.Config), applied before the constructors run.
func newEnv(t testing.TB, edits ...any) *env {
	t.Helper()
	e := &env{store: memstore.New(), mail: mail.NewCapture(), clock: newClock(), events: &eventLog{}, logs: &lockedBuffer{}}
	logger := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	acfg := audit.Config{Runs: e.store, Now: e.clock.Now, Logger: logger}
	cfg := auth.Config{
		Store:    e.store,
		Mailer:   e.mail,
		Tokens:   auth.TokenConfig{SigningKey: testKey},
		Password: auth.PasswordConfig{Hasher: testhash.Fast{}, LegacyHashers: []auth.Hasher{}},
		Now:      e.clock.Now,
		Mail:     auth.MailConfig{RetryDelay: time.Millisecond},
		Logger:   logger,
		OnEvent:  e.events.add,
	}
	for _, edit := range edits {
		switch f := edit.(type) {
		case func(*auth.Config):
			f(&cfg)
		case func(*audit.Config):
			f(&acfg)
		default:
			t.Fatalf("newEnv: edit of type %T", edit)
		}
	}
	rec, err := audit.New(acfg)
	if err != nil {
		t.Fatalf("audit.New: %v", err)
	}
	e.rec = rec
	cfg.Audit = rec
	if e.m, err = auth.New(cfg); err != nil {
		t.Fatalf("auth.New: %v", err)
	}
	if e.reader, err = audit.NewReader(e.m, acfg.Runs); err != nil {
		t.Fatalf("audit.NewReader: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.m.Flush(ctx); err != nil {
			t.Errorf("Flush: %v", err)
		}
	})
	return e
}

func requireVerification(c *auth.Config) { c.Verification.Required = true }

func (e *env) register(t testing.TB, email string) *store.User {
	t.Helper()
	u, err := e.m.Register(context.Background(), auth.Registration{Email: email, Password: goodPassword})
	if err != nil {
		t.Fatalf("Register(%q): %v", email, err)
	}
	return u
}

func (e *env) login(t testing.TB, email string) *auth.LoginResult {
	t.Helper()
	res, err := e.m.Login(context.Background(), email, goodPassword)
	if err != nil {
		t.Fatalf("Login(%q): %v", email, err)
	}
	return res
}

func (e *env) identity(t testing.TB, access string) *auth.Identity {
	t.Helper()
	id, err := e.m.Authenticate(context.Background(), access)
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	return id
}

func (e *env) superuser(t testing.TB, email string) (*auth.Identity, *auth.LoginResult) {
	t.Helper()
	if _, err := e.m.EnsureSuperuser(context.Background(), email, goodPassword); err != nil {
		t.Fatalf("EnsureSuperuser: %v", err)
	}
	res := e.login(t, email)
	return e.identity(t, res.Tokens.AccessToken), res
}

func (e *env) flush(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.m.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

// lastMailTo waits for the Manager's background work and returns the last
// message of kind k sent to addr.
func (e *env) lastMailTo(t testing.TB, addr string, k mail.Kind) mail.Message {
	t.Helper()
	e.flush(t)
	msgs := e.mail.Messages()
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Kind == k && len(msgs[i].To) == 1 && msgs[i].To[0].Email == addr {
			return msgs[i]
		}
	}
	t.Fatalf("no %s message to %s among %d", k, addr, len(msgs))
	return mail.Message{}
}

// wantErr fails unless errors.Is(err, want).
func wantErr(t testing.TB, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: error %v, want %v", what, err, want)
	}
}

func ptr[T any](v T) *T { return &v }

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

var (
	// A token may begin or end with '-' or '_', where \b does not match.
	tokenRE = regexp.MustCompile(`(?:^|[^A-Za-z0-9_-])([A-Za-z0-9_-]{43})(?:[^A-Za-z0-9_-]|$)`)
	codeRE  = regexp.MustCompile(`\b[0-9]{6}\b`)
)

// tokenIn returns the 43-character token in a message's text body.
func tokenIn(t testing.TB, m mail.Message) string {
	t.Helper()
	sub := tokenRE.FindStringSubmatch(m.Text)
	if sub == nil {
		t.Fatalf("no token in %s message:\n%s", m.Kind, m.Text)
	}
	return sub[1]
}

// codeIn returns the 6-digit code in a message's text body.
func codeIn(t testing.TB, m mail.Message) string {
	t.Helper()
	code := codeRE.FindString(m.Text)
	if code == "" {
		t.Fatalf("no code in %s message:\n%s", m.Kind, m.Text)
	}
	return code
}

// wrongCode returns a code that differs from code in its first digit.
func wrongCode(code string) string {
	b := []byte(code)
	b[0] = '0' + (b[0]-'0'+1)%10
	return string(b)
}
