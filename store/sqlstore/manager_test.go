package sqlstore_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
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
	"github.com/gatehouse-go/gatehouse/store/sqlstore"
)

// newManager returns a Manager over s with the fast hasher and a capturing
// mailer.
func newManager(tb testing.TB, s store.Store) (*auth.Manager, *mail.Capture) {
	tb.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		tb.Fatal(err)
	}
	capture := mail.NewCapture()
	// The audit log on the same store, as examples/server wires it.
	rec, err := audit.New(audit.Config{Runs: s.(store.Runs)})
	if err != nil {
		tb.Fatal(err)
	}
	m, err := auth.New(auth.Config{
		Store:    s,
		Audit:    rec,
		Mailer:   capture,
		Tokens:   auth.TokenConfig{SigningKey: key},
		Password: auth.PasswordConfig{Hasher: testhash.Fast{}, LegacyHashers: []auth.Hasher{}},
	})
	if err != nil {
		tb.Fatalf("auth.New: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := m.Flush(ctx); err != nil {
			tb.Errorf("Flush: %v", err)
		}
	})
	return m, capture
}

// mailToken is the long token in a mail: 43 characters of base64url on a
// line of their own (\b would miss a token that starts or ends with '-').
var mailToken = regexp.MustCompile(`(?m)^[A-Za-z0-9_-]{43}$`)

// TestManagerHappyPath drives the auth Manager over each dialect through
// register, login, authenticate, refresh (and reuse detection), change
// password and reset, proving the wiring beyond the conformance suite.
func TestManagerHappyPath(t *testing.T) {
	const (
		email  = "ada@example.com"
		first  = "correct horse battery staple"
		second = "another long passphrase here"
		third  = "yet another long passphrase"
	)
	for _, tdb := range dialects() {
		t.Run(tdb.name, func(t *testing.T) {
			ctx := t.Context()
			m, capture := newManager(t, newStore(t, tdb.open(t), tdb.dialect))

			if _, err := m.Register(ctx, auth.Registration{Email: email, Password: first}); err != nil {
				t.Fatalf("Register: %v", err)
			}
			if _, err := m.Register(ctx, auth.Registration{Email: "ADA@example.com", Password: first}); !errors.Is(err, auth.ErrEmailTaken) {
				t.Errorf("Register with the same email in capitals: err = %v, want ErrEmailTaken", err)
			}
			res, err := m.Login(ctx, email, first)
			if err != nil {
				t.Fatalf("Login: %v", err)
			}
			id, err := m.Authenticate(ctx, res.Tokens.AccessToken)
			if err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			if id.User.Email != email || id.Session.ID != res.Session.ID {
				t.Errorf("Authenticate = user %q, session %q; want %q, %q", id.User.Email, id.Session.ID, email, res.Session.ID)
			}

			pair, err := m.Refresh(ctx, res.Tokens.RefreshToken)
			if err != nil {
				t.Fatalf("Refresh: %v", err)
			}
			if _, err := m.Refresh(ctx, res.Tokens.RefreshToken); !errors.Is(err, auth.ErrRefreshTokenReused) {
				t.Errorf("Refresh with the rotated token: err = %v, want ErrRefreshTokenReused", err)
			}
			if _, err := m.Refresh(ctx, pair.RefreshToken); !errors.Is(err, auth.ErrTokenInvalid) {
				t.Errorf("Refresh after reuse revoked the session: err = %v, want ErrTokenInvalid", err)
			}

			res, err = m.Login(ctx, email, first)
			if err != nil {
				t.Fatalf("second Login: %v", err)
			}
			id, err = m.Authenticate(ctx, res.Tokens.AccessToken)
			if err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			if err := m.ChangePassword(ctx, id, first, second); err != nil {
				t.Fatalf("ChangePassword: %v", err)
			}
			if _, err := m.Login(ctx, email, first); !errors.Is(err, auth.ErrInvalidCredentials) {
				t.Errorf("Login with the old password: err = %v, want ErrInvalidCredentials", err)
			}
			if _, err := m.Login(ctx, email, second); err != nil {
				t.Errorf("Login with the new password: %v", err)
			}

			if err := m.RequestPasswordReset(ctx, email); err != nil {
				t.Fatalf("RequestPasswordReset: %v", err)
			}
			if err := m.Flush(ctx); err != nil {
				t.Fatalf("Flush: %v", err)
			}
			var token string
			for _, msg := range capture.Messages() { // other notices may come after it
				if msg.Kind == mail.KindResetPassword {
					token = mailToken.FindString(msg.Text)
				}
			}
			if token == "" {
				t.Fatalf("no reset mail with a token among %d messages", len(capture.Messages()))
			}
			if err := m.ResetPassword(ctx, token, third); err != nil {
				t.Fatalf("ResetPassword: %v", err)
			}
			if err := m.ResetPassword(ctx, token, first); !errors.Is(err, auth.ErrTokenInvalid) {
				t.Errorf("ResetPassword with a used token: err = %v, want ErrTokenInvalid", err)
			}
			if _, err := m.Login(ctx, email, third); err != nil {
				t.Errorf("Login after the reset: %v", err)
			}
		})
	}
}

// TestConcurrentLoginsSQLite: many goroutines logging in and refreshing at
// once on a SQLite file database never see "database is locked": write
// transactions queue on the busy timeout (and are retried if they still
// find the database busy).
func TestConcurrentLoginsSQLite(t *testing.T) {
	const (
		workers  = 20
		rounds   = 5
		refreshs = 3
		password = "correct horse battery staple"
	)
	ctx := t.Context()
	s := newStore(t, openSQLiteFile(t), sqlstore.SQLite)
	m, _ := newManager(t, s)
	for w := range workers {
		if _, err := m.Register(ctx, auth.Registration{Email: fmt.Sprintf("worker%02d@example.com", w), Password: password}); err != nil {
			t.Fatalf("Register: %v", err)
		}
	}
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	start := make(chan struct{})
	for w := range workers {
		wg.Go(func() {
			<-start
			email := fmt.Sprintf("worker%02d@example.com", w)
			for range rounds {
				res, err := m.Login(ctx, email, password)
				if err != nil {
					fail(fmt.Errorf("Login(%s): %w", email, err))
					continue
				}
				token := res.Tokens.RefreshToken
				for range refreshs {
					pair, err := m.Refresh(ctx, token)
					if err != nil {
						fail(fmt.Errorf("Refresh(%s): %w", email, err))
						break
					}
					token = pair.RefreshToken
				}
			}
		})
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	// Every login left its session.
	page, err := s.ListUsers(ctx, store.UserQuery{})
	if err != nil {
		t.Fatalf("ListUsers: %v", err)
	}
	if page.Total != workers {
		t.Errorf("Total = %d, want %d", page.Total, workers)
	}
	for _, sum := range page.Users {
		if sum.Sessions != rounds {
			t.Errorf("%s has %d sessions, want %d", sum.User.Email, sum.Sessions, rounds)
		}
	}
}

// TestLimitsSharedAcrossInstances: two Managers, standing for two instances
// of an application, on one database enforce one set of limits, because the
// throttling counters live in the store (issue: shared state; SECURITY.md
// #19, #21, #22).
func TestLimitsSharedAcrossInstances(t *testing.T) {
	for _, tdb := range dialects() {
		if tdb.name == "SQLiteMemory" {
			continue // one connection, one process: nothing to share
		}
		t.Run(tdb.name, func(t *testing.T) {
			ctx := t.Context()
			db := tdb.open(t)
			now := time.Date(2026, 4, 1, 10, 0, 0, 0, time.UTC)
			key := make([]byte, 32)
			rand.Read(key)
			instance := func() (*auth.Manager, *mail.Capture) {
				capture := mail.NewCapture()
				m, err := auth.New(auth.Config{
					Store:    newStore(t, db, tdb.dialect),
					Mailer:   capture,
					Tokens:   auth.TokenConfig{SigningKey: key},
					Password: auth.PasswordConfig{Hasher: testhash.Fast{}, LegacyHashers: []auth.Hasher{}},
					Now:      func() time.Time { return now },
				})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { m.Flush(context.Background()) })
				return m, capture
			}
			a, mailA := instance()
			b, mailB := instance()
			if _, err := a.Register(ctx, auth.Registration{Email: "ada@example.com", Password: "correct horse battery staple"}); err != nil {
				t.Fatal(err)
			}

			// Per account: five failures on A, the sixth attempt on B waits.
			for range 5 {
				if _, err := a.Login(ctx, "ada@example.com", "wrong password here"); !errors.Is(err, auth.ErrInvalidCredentials) {
					t.Fatalf("failure on A: %v", err)
				}
			}
			if _, err := b.Login(ctx, "ada@example.com", "correct horse battery staple"); !errors.Is(err, auth.ErrThrottled) {
				t.Fatalf("B after five failures on A: %v, want ErrThrottled", err)
			}

			// Per IP: twenty failures from one address on A, B refuses it.
			ipCtx := auth.ContextWithClient(ctx, auth.Client{IP: netip.MustParseAddr("203.0.113.7")})
			for i := range 20 {
				a.Login(ipCtx, fmt.Sprintf("guess%d@example.com", i), "wrong password here")
			}
			if _, err := b.Login(ipCtx, "someone@example.com", "wrong password here"); !errors.Is(err, auth.ErrThrottled) {
				t.Fatalf("B for an IP that failed 20 times on A: %v, want ErrThrottled", err)
			}

			// Per account mail: A sends a reset mail, B's request within the
			// minute answers the same and sends nothing.
			if err := a.RequestPasswordReset(ctx, "ada@example.com"); err != nil {
				t.Fatal(err)
			}
			if err := b.RequestPasswordReset(ctx, "ada@example.com"); err != nil {
				t.Fatal(err)
			}
			for _, m := range []*auth.Manager{a, b} {
				if err := m.Flush(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if na, nb := len(mailA.Messages()), len(mailB.Messages()); na+nb != 1 {
				t.Fatalf("%d reset messages from A and %d from B, want one in all", na, nb)
			}
		})
	}
}
