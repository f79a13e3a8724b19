package auth_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/auth/jwt"
	"github.com/gatehouse-go/gatehouse/auth/password"
	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/memstore"
)

func TestLogin(t *testing.T) {
	t.Run("success", func(t *testing.T) {
		e := newEnv(t)
		u := e.register(t, "ada@example.com")
		res, err := e.m.Login(t.Context(), " ADA@example.com", goodPassword)
		if err != nil {
			t.Fatal(err)
		}
		if res.Challenge != nil || res.Tokens == nil || res.Session == nil || res.User.ID != u.ID {
			t.Fatalf("unexpected result %+v", res)
		}
		if !res.Tokens.AccessTokenExpiresAt.Equal(e.clock.Now().Add(auth.DefaultAccessTokenTTL)) {
			t.Fatalf("access token expires %v", res.Tokens.AccessTokenExpiresAt)
		}
		if !res.Tokens.RefreshTokenExpiresAt.Equal(e.clock.Now().Add(auth.DefaultRefreshIdleTimeout)) {
			t.Fatalf("refresh token expires %v", res.Tokens.RefreshTokenExpiresAt)
		}
		if !res.Session.ExpiresAt.Equal(e.clock.Now().Add(auth.DefaultRefreshTokenTTL)) {
			t.Fatalf("session expires %v", res.Session.ExpiresAt)
		}
		id := e.identity(t, res.Tokens.AccessToken)
		if id.User.ID != u.ID || id.Session.ID != res.Session.ID || id.Claims.UserID != u.ID {
			t.Fatalf("identity %+v", id)
		}
		stored, _ := e.store.UserByID(t.Context(), u.ID)
		if !stored.LastLoginAt.Equal(e.clock.Now()) {
			t.Fatalf("LastLoginAt %v", stored.LastLoginAt)
		}
	})

	t.Run("client recorded on the session", func(t *testing.T) {
		e := newEnv(t)
		e.register(t, "ada@example.com")
		ctx := auth.ContextWithClient(t.Context(), auth.Client{IP: mustAddr("203.0.113.7"), UserAgent: "test-agent/1"})
		res, err := e.m.Login(ctx, "ada@example.com", goodPassword)
		if err != nil {
			t.Fatal(err)
		}
		if res.Session.IP != "203.0.113.7" || res.Session.UserAgent != "test-agent/1" {
			t.Fatalf("session client %q %q", res.Session.IP, res.Session.UserAgent)
		}
	})

	t.Run("every failure looks the same and costs one hash", func(t *testing.T) {
		// SECURITY.md #13 and #14: unknown email, wrong password, a user
		// without a password and a disabled user with a wrong password all
		// give ErrInvalidCredentials after exactly one hash comparison.
		e := newEnv(t)
		e.register(t, "known@example.com")
		nopw := e.register(t, "nopw@example.com")
		if _, err := e.store.UpdateUser(t.Context(), nopw.ID, store.UserUpdate{PasswordHash: ptr(""), UpdatedAt: e.clock.Now()}); err != nil {
			t.Fatal(err)
		}
		off := e.register(t, "off@example.com")
		if _, err := e.store.UpdateUser(t.Context(), off.ID, store.UserUpdate{IsActive: ptr(false), UpdatedAt: e.clock.Now()}); err != nil {
			t.Fatal(err)
		}
		// Warm the dummy hash so that its one-off creation is not counted.
		e.m.Login(t.Context(), "warm@example.com", "x")
		cases := []struct{ name, email, password string }{
			{"unknown email", "nobody@example.com", goodPassword},
			{"wrong password", "known@example.com", "not the password at all"},
			{"no password set", "nopw@example.com", goodPassword},
			{"disabled, wrong password", "off@example.com", "not the password at all"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				before := e.hasher.compares.Load()
				_, err := e.m.Login(t.Context(), c.email, c.password)
				if !errors.Is(err, auth.ErrInvalidCredentials) || err.Error() != auth.ErrInvalidCredentials.Error() {
					t.Fatalf("error %v, want exactly ErrInvalidCredentials", err)
				}
				if n := e.hasher.compares.Load() - before; n != 1 {
					t.Fatalf("%d hash comparisons, want 1", n)
				}
			})
		}
	})

	t.Run("disabled account with the right password", func(t *testing.T) {
		e := newEnv(t)
		u := e.register(t, "off@example.com")
		e.store.UpdateUser(t.Context(), u.ID, store.UserUpdate{IsActive: ptr(false), UpdatedAt: e.clock.Now()})
		_, err := e.m.Login(t.Context(), "off@example.com", goodPassword)
		wantErr(t, "Login", err, auth.ErrAccountDisabled)
	})

	t.Run("over-long password is refused before hashing", func(t *testing.T) {
		// SECURITY.md #6.
		e := newEnv(t)
		e.register(t, "ada@example.com")
		before := e.hasher.calls()
		_, err := e.m.Login(t.Context(), "ada@example.com", strings.Repeat("€", 1<<18))
		wantErr(t, "Login", err, auth.ErrInvalidCredentials)
		if n := e.hasher.calls() - before; n != 0 {
			t.Fatalf("%d hashes for a 768 KiB password", n)
		}
	})

	t.Run("malformed email", func(t *testing.T) {
		e := newEnv(t)
		_, err := e.m.Login(t.Context(), "a\nb@example.com", goodPassword)
		wantErr(t, "Login", err, auth.ErrInvalidEmail)
	})

	t.Run("unicode password is normalized", func(t *testing.T) {
		// SECURITY.md #9: NFKC on set and verify; no case folding.
		e := newEnv(t)
		if _, err := e.m.Register(t.Context(), auth.Registration{Email: "u@example.com", Password: "Åland islands in winter"}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.m.Login(t.Context(), "u@example.com", "A\u030aland islands in winter"); err != nil {
			t.Fatalf("decomposed form: %v", err)
		}
		_, err := e.m.Login(t.Context(), "u@example.com", "åland islands in winter")
		wantErr(t, "other case", err, auth.ErrInvalidCredentials)
		_, err = e.m.Login(t.Context(), "u@example.com", " Åland islands in winter")
		wantErr(t, "leading space", err, auth.ErrInvalidCredentials)
	})

	t.Run("no periodic expiry", func(t *testing.T) {
		// SECURITY.md #10.
		e := newEnv(t)
		e.register(t, "ada@example.com")
		e.clock.Advance(400 * 24 * time.Hour)
		e.login(t, "ada@example.com")
	})

	t.Run("each login is a new session", func(t *testing.T) {
		// SECURITY.md #43: no fixation; a fresh family per login.
		e := newEnv(t)
		e.register(t, "ada@example.com")
		a, b := e.login(t, "ada@example.com"), e.login(t, "ada@example.com")
		if a.Session.ID == b.Session.ID || a.Tokens.RefreshToken == b.Tokens.RefreshToken {
			t.Fatal("two logins share a session or refresh token")
		}
	})
}

func TestPasswordHashUpgrade(t *testing.T) {
	// SECURITY.md #2: a hash from a legacy hasher is replaced after a
	// successful login, and only then.
	legacy := newSpyHasher()
	legacy.Prefix = "$legacy$"
	e := newEnv(t, func(c *auth.Config) { c.Password.LegacyHashers = []auth.Hasher{legacy} })
	u := e.register(t, "old@example.com")
	oldHash, _ := legacy.Hash(goodPassword)
	e.store.UpdateUser(t.Context(), u.ID, store.UserUpdate{PasswordHash: &oldHash, UpdatedAt: e.clock.Now()})

	_, err := e.m.Login(t.Context(), "old@example.com", "wrong password here")
	wantErr(t, "wrong password", err, auth.ErrInvalidCredentials)
	if s, _ := e.store.UserByID(t.Context(), u.ID); s.PasswordHash != oldHash {
		t.Fatal("a failed login re-hashed the password")
	}
	e.login(t, "old@example.com")
	s, _ := e.store.UserByID(t.Context(), u.ID)
	if !strings.HasPrefix(s.PasswordHash, "$spy$") {
		t.Fatalf("hash after login %q, want the current hasher's", s.PasswordHash)
	}
	e.login(t, "old@example.com")
}

func TestRehashWhenParametersAreBelowPolicy(t *testing.T) {
	weak, err := password.NewBcrypt(10)
	if err != nil {
		t.Fatal(err)
	}
	strong, err := password.NewBcrypt(11)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(c *auth.Config) { c.Password.Hasher = strong })
	u := e.register(t, "b@example.com")
	old, _ := weak.Hash(goodPassword)
	e.store.UpdateUser(t.Context(), u.ID, store.UserUpdate{PasswordHash: &old, UpdatedAt: e.clock.Now()})
	e.login(t, "b@example.com")
	s, _ := e.store.UserByID(t.Context(), u.ID)
	if s.PasswordHash == old || !strings.HasPrefix(s.PasswordHash, "$2a$11$") && !strings.HasPrefix(s.PasswordHash, "$2b$11$") {
		t.Fatalf("hash after login %q, want cost 11", s.PasswordHash)
	}
}

func TestConcurrentHashingIsBounded(t *testing.T) {
	// SECURITY.md #12: at most Password.MaxConcurrentHashes hashes run at once.
	e := newEnv(t, func(c *auth.Config) { c.Password.MaxConcurrentHashes = 2 })
	e.register(t, "ada@example.com")
	e.hasher.delay = 2 * time.Millisecond
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.m.Login(context.Background(), "ada@example.com", "wrong password here")
		}()
	}
	wg.Wait()
	if n := e.hasher.maxSeen.Load(); n != 2 {
		t.Fatalf("at most %d hashes ran at once, want 2", n)
	}

	t.Run("waiters give up at their deadline", func(t *testing.T) {
		e := newEnv(t, func(c *auth.Config) { c.Password.MaxConcurrentHashes = 1 })
		e.register(t, "ada@example.com")
		e.hasher.gate = make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			e.m.Login(context.Background(), "ada@example.com", goodPassword)
		}()
		for e.hasher.inFlight.Load() == 0 {
			time.Sleep(time.Millisecond)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
		defer cancel()
		_, err := e.m.Login(ctx, "ada@example.com", goodPassword)
		wantErr(t, "Login while the slot is taken", err, auth.ErrBusy)
		close(e.hasher.gate)
		<-done
	})

	t.Run("a busy refusal is no password failure", func(t *testing.T) {
		// A login refused with ErrBusy checked no password: it must not
		// count toward the account's throttle, or a flood of logins would
		// lock its victims out (more than LoginFreeFailures of them here,
		// for a known and an unknown email).
		const free = 3
		e := newEnv(t, func(c *auth.Config) {
			c.Password.MaxConcurrentHashes = 1
			c.Limits.LoginFreeFailures = free
		})
		e.register(t, "ada@example.com")
		e.register(t, "bob@example.com")
		// The dummy hash of unknown emails is made once, by the first.
		e.m.Login(t.Context(), "primer@example.com", "wrong password here")
		release := holdOnlySlot(e, "bob@example.com")
		for _, email := range []string{"ada@example.com", "nobody@example.com"} {
			for i := range 2 * free {
				ctx, cancel := context.WithTimeout(t.Context(), 2*time.Millisecond)
				_, err := e.m.Login(ctx, email, "wrong password here")
				cancel()
				wantErr(t, fmt.Sprintf("busy login %d of %s", i, email), err, auth.ErrBusy)
			}
		}
		release()
		// Without the fix the account would wait out a delay now.
		if _, err := e.m.Login(t.Context(), "ada@example.com", goodPassword); err != nil {
			t.Fatalf("Login after busy refusals: %v, want success", err)
		}
		// The unknown email's counter is back to nothing: the first wrong
		// passwords are still free.
		for i := range free {
			_, err := e.m.Login(t.Context(), "nobody@example.com", "wrong password here")
			wantErr(t, fmt.Sprintf("wrong password %d after busy refusals", i), err, auth.ErrInvalidCredentials)
		}
	})
}

// countingCounters is a memstore whose counter writes are counted.
type countingCounters struct {
	*memstore.Store
	updates, increments atomic.Int64
}

func (c *countingCounters) UpdateCounters(ctx context.Context, keys []string, now time.Time, fn func([]store.Counter) error) error {
	c.updates.Add(1)
	return c.Store.UpdateCounters(ctx, keys, now, fn)
}

func (c *countingCounters) IncrementCounter(ctx context.Context, key string, now time.Time, ttl time.Duration, sliding bool) (store.Counter, error) {
	c.increments.Add(1)
	return c.Store.IncrementCounter(ctx, key, now, ttl, sliding)
}

// TestBusyLoginWritesNothing: a login (or current-password check) that
// finds no hash slot before its deadline is refused before its throttle
// gate opens, so a flood beyond the hashing capacity costs no counter
// writes (SECURITY.md #12), while a login that gets a slot still reserves
// its attempt.
func TestBusyLoginWritesNothing(t *testing.T) {
	counters := &countingCounters{Store: memstore.New()}
	e := newEnv(t, func(c *auth.Config) {
		c.Password.MaxConcurrentHashes = 1
		c.Limits.Store = counters
	})
	e.register(t, "ada@example.com")
	e.register(t, "bob@example.com")
	id := e.identity(t, e.login(t, "ada@example.com").Tokens.AccessToken)
	e.m.Login(t.Context(), "primer@example.com", "wrong password here") // makes the dummy hash
	before := counters.updates.Load() + counters.increments.Load()
	if _, err := e.m.Login(t.Context(), "ada@example.com", "wrong password here"); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("wrong password: %v", err)
	}
	if counters.updates.Load()+counters.increments.Load() == before {
		t.Fatal("a checked login wrote no throttle counter")
	}

	release := holdOnlySlot(e, "bob@example.com")
	before = counters.updates.Load() + counters.increments.Load()
	for _, email := range []string{"ada@example.com", "nobody@example.com"} {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Millisecond)
		_, err := e.m.Login(ctx, email, "wrong password here")
		cancel()
		wantErr(t, "busy login of "+email, err, auth.ErrBusy)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Millisecond)
	err := e.m.ChangePassword(ctx, id, "wrong password here", "a brand new passphrase 42")
	cancel()
	wantErr(t, "busy password change", err, auth.ErrBusy)
	if n := counters.updates.Load() + counters.increments.Load() - before; n != 0 {
		t.Errorf("busy refusals wrote %d throttle counters, want 0", n)
	}
	release()
}

// holdOnlySlot starts a right login of email whose password check holds
// the hash slot (Password.MaxConcurrentHashes 1) in e's gated spy hasher,
// and returns once it does; release lets it finish and waits for it.
func holdOnlySlot(e *env, email string) (release func()) {
	e.hasher.gate = make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.m.Login(context.Background(), email, goodPassword)
	}()
	for e.hasher.inFlight.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	return func() {
		close(e.hasher.gate)
		<-done
		e.hasher.gate = nil
	}
}

func TestAuthenticate(t *testing.T) {
	setup := func(t *testing.T) (*env, *store.User, *auth.LoginResult) {
		e := newEnv(t)
		u := e.register(t, "ada@example.com")
		return e, u, e.login(t, "ada@example.com")
	}
	t.Run("expired", func(t *testing.T) {
		e, _, res := setup(t)
		e.clock.Advance(auth.DefaultAccessTokenTTL + time.Minute)
		_, err := e.m.Authenticate(t.Context(), res.Tokens.AccessToken)
		wantErr(t, "Authenticate", err, auth.ErrTokenExpired)
	})
	t.Run("garbage and oversized", func(t *testing.T) {
		e, _, _ := setup(t)
		for _, tok := range []string{"", "garbage", "a.b.c", strings.Repeat("a", jwt.MaxTokenLen+1)} {
			_, err := e.m.Authenticate(t.Context(), tok)
			wantErr(t, "Authenticate", err, auth.ErrTokenInvalid)
		}
	})
	t.Run("refresh token is not an access token", func(t *testing.T) {
		// SECURITY.md #29.
		e, _, res := setup(t)
		_, err := e.m.Authenticate(t.Context(), res.Tokens.RefreshToken)
		wantErr(t, "refresh token as bearer", err, auth.ErrTokenInvalid)
		_, err = e.m.Refresh(t.Context(), res.Tokens.AccessToken)
		wantErr(t, "access token at refresh", err, auth.ErrTokenInvalid)
	})
	t.Run("token of another issuer", func(t *testing.T) {
		e, _, _ := setup(t)
		otherKey := make([]byte, 32)
		rand.Read(otherKey)
		other := newEnv(t, func(c *auth.Config) { c.Tokens.SigningKey = otherKey })
		other.register(t, "ada@example.com")
		res := other.login(t, "ada@example.com")
		_, err := e.m.Authenticate(t.Context(), res.Tokens.AccessToken)
		wantErr(t, "foreign token", err, auth.ErrTokenInvalid)
	})
	t.Run("logout revokes the access token", func(t *testing.T) {
		// SECURITY.md #40.
		e, _, res := setup(t)
		id := e.identity(t, res.Tokens.AccessToken)
		if err := e.m.Logout(t.Context(), id); err != nil {
			t.Fatal(err)
		}
		_, err := e.m.Authenticate(t.Context(), res.Tokens.AccessToken)
		wantErr(t, "Authenticate after logout", err, auth.ErrTokenInvalid)
		_, err = e.m.Refresh(t.Context(), res.Tokens.RefreshToken)
		wantErr(t, "Refresh after logout", err, auth.ErrTokenInvalid)
	})
	t.Run("disabled user", func(t *testing.T) {
		e, u, res := setup(t)
		e.store.UpdateUser(t.Context(), u.ID, store.UserUpdate{IsActive: ptr(false), UpdatedAt: e.clock.Now()})
		_, err := e.m.Authenticate(t.Context(), res.Tokens.AccessToken)
		wantErr(t, "Authenticate", err, auth.ErrTokenInvalid)
	})
	t.Run("tokens of sessions older than TokensValidAfter", func(t *testing.T) {
		e, u, res := setup(t)
		e.clock.Advance(time.Second)
		now := e.clock.Now()
		e.store.UpdateUser(t.Context(), u.ID, store.UserUpdate{TokensValidAfter: &now, UpdatedAt: now})
		_, err := e.m.Authenticate(t.Context(), res.Tokens.AccessToken)
		wantErr(t, "Authenticate", err, auth.ErrTokenInvalid)
		_, err = e.m.Refresh(t.Context(), res.Tokens.RefreshToken)
		wantErr(t, "Refresh", err, auth.ErrTokenInvalid)
	})
	t.Run("store failure fails closed", func(t *testing.T) {
		// SECURITY.md #44 and #73.
		e, _, res := setup(t)
		broken := newEnv(t, func(c *auth.Config) { c.Store = failingStore{e.store}; c.Tokens.SigningKey = testKey })
		id, err := broken.m.Authenticate(t.Context(), res.Tokens.AccessToken)
		if id != nil || err == nil || errors.Is(err, auth.ErrTokenInvalid) {
			t.Fatalf("Authenticate with a failing store = %v, %v; want an internal error", id, err)
		}
	})
}

// failingStore fails every session lookup and rotation.
type failingStore struct{ store.Store }

var errStoreDown = errors.New("store down")

func (failingStore) SessionUser(context.Context, string) (*store.Session, *store.User, error) {
	return nil, nil, errStoreDown
}

func (failingStore) RotateRefreshToken(context.Context, store.Rotation) (*store.Session, *store.User, error) {
	return nil, nil, errStoreDown
}

func (failingStore) CreateSession(context.Context, *store.Session, []byte) error { return errStoreDown }

func TestLoginFailsClosed(t *testing.T) {
	// SECURITY.md #73: no tokens when the store fails.
	e := newEnv(t)
	e.register(t, "ada@example.com")
	broken := newEnv(t, func(c *auth.Config) { c.Store = failingStore{e.store} })
	res, err := broken.m.Login(t.Context(), "ada@example.com", goodPassword)
	if res != nil || err == nil || !errors.Is(err, errStoreDown) {
		t.Fatalf("Login = %v, %v; want the store's error and no result", res, err)
	}
	_, err = broken.m.Refresh(t.Context(), strings.Repeat("A", 43))
	if !errors.Is(err, errStoreDown) {
		t.Fatalf("Refresh = %v, want the store's error", err)
	}
}

func TestRefresh(t *testing.T) {
	setup := func(t *testing.T, edit ...func(*auth.Config)) (*env, *auth.LoginResult) {
		e := newEnv(t, edit...)
		e.register(t, "ada@example.com")
		return e, e.login(t, "ada@example.com")
	}
	t.Run("rotates", func(t *testing.T) {
		// SECURITY.md #36.
		e, res := setup(t)
		e.clock.Advance(time.Minute)
		pair, err := e.m.Refresh(t.Context(), res.Tokens.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		if pair.RefreshToken == res.Tokens.RefreshToken || pair.AccessToken == res.Tokens.AccessToken {
			t.Fatal("refresh returned the old tokens")
		}
		id := e.identity(t, pair.AccessToken)
		if id.Session.ID != res.Session.ID || !id.Session.LastUsedAt.Equal(e.clock.Now()) {
			t.Fatalf("session after refresh %+v", id.Session)
		}
	})
	t.Run("reuse revokes the family", func(t *testing.T) {
		// SECURITY.md #37: R0→R1→R2→R3, replay R0: everything dies.
		e, res := setup(t)
		r := res.Tokens.RefreshToken
		var last *auth.TokenPair
		for range 3 {
			p, err := e.m.Refresh(t.Context(), r)
			if err != nil {
				t.Fatal(err)
			}
			r, last = p.RefreshToken, p
		}
		_, err := e.m.Refresh(t.Context(), res.Tokens.RefreshToken)
		wantErr(t, "replayed R0", err, auth.ErrRefreshTokenReused)
		wantErr(t, "replayed R0", err, auth.ErrTokenInvalid)
		_, err = e.m.Refresh(t.Context(), last.RefreshToken)
		wantErr(t, "R3 after the replay", err, auth.ErrTokenInvalid)
		_, err = e.m.Authenticate(t.Context(), last.AccessToken)
		wantErr(t, "newest access token after the replay", err, auth.ErrTokenInvalid)
		if evs := e.events.ofType(auth.EventRefreshReuse); len(evs) != 1 || evs[0].SessionID != res.Session.ID {
			t.Fatalf("reuse events %+v", evs)
		}
	})
	t.Run("reuse within the grace window", func(t *testing.T) {
		// SECURITY.md #38: a retry inside the window fails but does not
		// revoke the family.
		e, res := setup(t, func(c *auth.Config) { c.Sessions.ReuseGrace = 10 * time.Second })
		p, err := e.m.Refresh(t.Context(), res.Tokens.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(5 * time.Second)
		_, err = e.m.Refresh(t.Context(), res.Tokens.RefreshToken)
		wantErr(t, "retry within grace", err, auth.ErrTokenInvalid)
		if _, err := e.m.Refresh(t.Context(), p.RefreshToken); err != nil {
			t.Fatalf("the winner's token after a retry within grace: %v", err)
		}
	})
	t.Run("concurrent refresh has one winner", func(t *testing.T) {
		// SECURITY.md #38.
		e, res := setup(t)
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := e.m.Refresh(context.Background(), res.Tokens.RefreshToken); err == nil {
					wins.Add(1)
				} else if !errors.Is(err, auth.ErrTokenInvalid) {
					t.Errorf("Refresh: %v", err)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d winners, want 1", wins.Load())
		}
	})
	t.Run("idle limit", func(t *testing.T) {
		// SECURITY.md #39.
		e, res := setup(t)
		e.clock.Advance(auth.DefaultRefreshIdleTimeout - time.Second)
		p, err := e.m.Refresh(t.Context(), res.Tokens.RefreshToken)
		if err != nil {
			t.Fatalf("refresh 1 s before the idle limit: %v", err)
		}
		e.clock.Advance(auth.DefaultRefreshIdleTimeout)
		_, err = e.m.Refresh(t.Context(), p.RefreshToken)
		wantErr(t, "refresh at the idle limit", err, auth.ErrTokenInvalid)
	})
	t.Run("absolute limit", func(t *testing.T) {
		// SECURITY.md #39: a chain refreshed continuously still dies.
		e, res := setup(t)
		r := res.Tokens.RefreshToken
		start := e.clock.Now()
		var err error
		for e.clock.Now().Sub(start) < auth.DefaultRefreshTokenTTL+24*time.Hour {
			e.clock.Advance(24 * time.Hour)
			var p *auth.TokenPair
			p, err = e.m.Refresh(t.Context(), r)
			if err != nil {
				break
			}
			r = p.RefreshToken
			if !p.AccessTokenExpiresAt.After(e.clock.Now()) {
				t.Fatal("access token issued already expired")
			}
		}
		wantErr(t, "refresh past the absolute limit", err, auth.ErrTokenInvalid)
		if d := e.clock.Now().Sub(start); d != auth.DefaultRefreshTokenTTL {
			t.Fatalf("chain died after %v, want %v", d, auth.DefaultRefreshTokenTTL)
		}
	})
	t.Run("malformed tokens never reach the store", func(t *testing.T) {
		e, res := setup(t)
		for _, tok := range []string{"", "x", res.Tokens.RefreshToken + "=", res.Tokens.RefreshToken[:42], strings.Repeat("A", 44)} {
			_, err := e.m.Refresh(t.Context(), tok)
			wantErr(t, "Refresh("+tok+")", err, auth.ErrTokenInvalid)
		}
	})
}

// hashSpyStore records the refresh-token hashes handed to the store.
type hashSpyStore struct {
	store.Store
	mu     sync.Mutex
	hashes [][]byte
}

func (s *hashSpyStore) CreateSession(ctx context.Context, sess *store.Session, h []byte) error {
	s.mu.Lock()
	s.hashes = append(s.hashes, append([]byte(nil), h...))
	s.mu.Unlock()
	return s.Store.CreateSession(ctx, sess, h)
}

func (s *hashSpyStore) RotateRefreshToken(ctx context.Context, r store.Rotation) (*store.Session, *store.User, error) {
	s.mu.Lock()
	s.hashes = append(s.hashes, append([]byte(nil), r.New...))
	s.mu.Unlock()
	return s.Store.RotateRefreshToken(ctx, r)
}

func TestRefreshTokensAreOpaqueAndStoredHashed(t *testing.T) {
	// SECURITY.md #35: 256 random bits, only SHA-256 reaches the store,
	// and lookups are by that hash.
	spy := &hashSpyStore{Store: memstore.New()}
	e := newEnv(t, func(c *auth.Config) { c.Store = spy })
	e.register(t, "ada@example.com")
	res := e.login(t, "ada@example.com")
	pair, err := e.m.Refresh(t.Context(), res.Tokens.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	for i, tok := range []string{res.Tokens.RefreshToken, pair.RefreshToken} {
		raw, err := base64.RawURLEncoding.Strict().DecodeString(tok)
		if err != nil || len(raw) != 32 {
			t.Fatalf("token %d decodes to %d bytes (%v), want 32", i, len(raw), err)
		}
		sum := sha256.Sum256(raw)
		if !bytes.Equal(spy.hashes[i], sum[:]) {
			t.Fatalf("token %d: the store got %x, want its SHA-256", i, spy.hashes[i])
		}
		if bytes.Contains(spy.hashes[i], raw) || strings.Contains(string(spy.hashes[i]), tok) {
			t.Fatalf("token %d reached the store", i)
		}
	}
}
