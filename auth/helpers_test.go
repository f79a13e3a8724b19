package auth_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/netip"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/internal/testhash"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/memstore"
)

// testKey is a signing key for tests only, generated per process.
var testKey = func() []byte {
	k := make([]byte, 32)
	rand.Read(k)
	return k
}()

// clock is a settable fake clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock {
	return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

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

// spyHasher is a fast stand-in for a password hasher (tests of the Manager's
// logic should not spend 180 ms per hash). It counts calls and the most
// calls in flight at once, and can be slowed down.
type spyHasher struct {
	testhash.Fast
	hashes   atomic.Int64
	compares atomic.Int64
	inFlight atomic.Int64
	maxSeen  atomic.Int64
	delay    time.Duration
	gate     chan struct{} // when set, every call waits for a receive
}

func newSpyHasher() *spyHasher { return &spyHasher{Fast: testhash.Fast{Prefix: "$spy$"}} }

func (h *spyHasher) enter() func() {
	n := h.inFlight.Add(1)
	for {
		m := h.maxSeen.Load()
		if n <= m || h.maxSeen.CompareAndSwap(m, n) {
			break
		}
	}
	if h.gate != nil {
		<-h.gate
	}
	if h.delay > 0 {
		time.Sleep(h.delay)
	}
	return func() { h.inFlight.Add(-1) }
}

func (h *spyHasher) Hash(pw string) (string, error) {
	defer h.enter()()
	h.hashes.Add(1)
	return h.Fast.Hash(pw)
}

// Compare counts (and waits at the gate) only for hashes of its scheme
// that parse, as a real hasher spends its time only on those.
func (h *spyHasher) Compare(hash, pw string) error {
	err := h.Fast.Compare(hash, pw)
	if errors.Is(err, auth.ErrUnsupportedHash) || errors.Is(err, auth.ErrInvalidHash) {
		return err
	}
	defer h.enter()()
	h.compares.Add(1)
	return err
}

func (h *spyHasher) calls() int64 { return h.hashes.Load() + h.compares.Load() }

// env is a Manager with its fakes.
type env struct {
	m      *auth.Manager
	store  *memstore.Store
	mail   *mail.Capture
	clock  *clock
	hasher *spyHasher
	events *eventLog
	logs   *lockedBuffer
}

// eventLog collects the Manager's events.
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

// ofType returns the events of type t.
func (l *eventLog) ofType(t auth.EventType) []auth.Event {
	var out []auth.Event
	for _, e := range l.all() {
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

// newEnv builds a Manager over memstore with a spy hasher, a capture mailer
// and a fake clock; edit adjusts the Config first.
func newEnv(t testing.TB, edit ...func(*auth.Config)) *env {
	t.Helper()
	e := &env{
		store:  memstore.New(),
		mail:   mail.NewCapture(),
		clock:  newClock(),
		hasher: newSpyHasher(),
		events: &eventLog{},
	}
	logs := &lockedBuffer{}
	cfg := auth.Config{
		Store:    e.store,
		Limits:   auth.Limits{Store: e.store},
		Mailer:   e.mail,
		Tokens:   auth.TokenConfig{SigningKey: testKey},
		Password: auth.PasswordConfig{Hasher: e.hasher, LegacyHashers: []auth.Hasher{}},
		Now:      e.clock.Now,
		Mail:     auth.MailConfig{RetryDelay: time.Millisecond},
		Logger:   slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		OnEvent:  e.events.add,
	}
	for _, f := range edit {
		f(&cfg)
	}
	m, err := auth.New(cfg)
	if err != nil {
		t.Fatalf("auth.New: %v", err)
	}
	e.m = m
	e.logs = logs
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := m.Flush(ctx); err != nil {
			t.Errorf("Flush: %v", err)
		}
	})
	return e
}

const goodPassword = "correct horse battery staple"

// register creates a user with goodPassword.
func (e *env) register(t testing.TB, email string) *store.User {
	t.Helper()
	u, err := e.m.Register(context.Background(), auth.Registration{Email: email, Password: goodPassword})
	if err != nil {
		t.Fatalf("Register(%q): %v", email, err)
	}
	return u
}

// login logs in with goodPassword.
func (e *env) login(t testing.TB, email string) *auth.LoginResult {
	t.Helper()
	res, err := e.m.Login(context.Background(), email, goodPassword)
	if err != nil {
		t.Fatalf("Login(%q): %v", email, err)
	}
	return res
}

// identity authenticates an access token.
func (e *env) identity(t testing.TB, access string) *auth.Identity {
	t.Helper()
	id, err := e.m.Authenticate(context.Background(), access)
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	return id
}

// superuser creates and logs in a superuser.
func (e *env) superuser(t testing.TB, email string) (*auth.Identity, *auth.LoginResult) {
	t.Helper()
	if _, err := e.m.EnsureSuperuser(context.Background(), email, goodPassword); err != nil {
		t.Fatalf("EnsureSuperuser: %v", err)
	}
	res := e.login(t, email)
	return e.identity(t, res.Tokens.AccessToken), res
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

func (e *env) flush(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.m.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

var (
	// A token may begin or end with '-' or '_', where \b does not match.
	tokenRE = regexp.MustCompile(`(?:^|[^A-Za-z0-9_-])([A-Za-z0-9_-]{43})(?:[^A-Za-z0-9_-]|$)`)
	codeRE  = regexp.MustCompile(`\b[0-9]{6}\b`)
)

// tokenIn returns the 43-character token in a message's text body.
func tokenIn(t testing.TB, m mail.Message) string {
	t.Helper()
	var tok string
	if sub := tokenRE.FindStringSubmatch(m.Text); sub != nil {
		tok = sub[1]
	}
	if tok == "" {
		t.Fatalf("no token in %s message:\n%s", m.Kind, m.Text)
	}
	return tok
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

func ptr[T any](v T) *T { return &v }

// wantErr fails unless errors.Is(err, want) (or err == nil when want is nil).
func wantErr(t testing.TB, what string, err, want error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("%s: unexpected error %v", what, err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("%s: error %v, want %v", what, err, want)
	}
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
