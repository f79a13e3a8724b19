package auth_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/memstore"
)

// bus is an in-process Invalidator shared by several Managers (the
// "instances"): Publish delivers synchronously to every healthy listener.
// A listener can be cut off (healthy(false), deliveries lost) and brought
// back (healthy(true)).
type bus struct {
	mu        sync.Mutex
	listeners map[int]*busListener
	next      int
	published atomic.Int64
}

type busListener struct {
	up      bool
	deliver func([]string)
	healthy func(bool)
}

func newBus() *bus { return &bus{listeners: map[int]*busListener{}} }

func (b *bus) Publish(_ context.Context, keys []string) error {
	b.published.Add(1)
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, l := range b.listeners {
		if l.up {
			l.deliver(keys)
		}
	}
	return nil
}

func (b *bus) Listen(ctx context.Context, deliver func([]string), healthy func(bool)) error {
	b.mu.Lock()
	id := b.next
	b.next++
	b.listeners[id] = &busListener{up: true, deliver: deliver, healthy: healthy}
	healthy(true)
	b.mu.Unlock()
	<-ctx.Done()
	b.mu.Lock()
	delete(b.listeners, id)
	b.mu.Unlock()
	return context.Cause(ctx)
}

// setUp cuts every listener off (false) or reconnects them (true).
func (b *bus) setUp(up bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, l := range b.listeners {
		l.up = up
		l.healthy(up)
	}
}

func (b *bus) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.listeners)
}

// readCountingStore counts SessionUser reads (Authenticate's only store read).
type readCountingStore struct {
	*memstore.Store
	reads atomic.Int64
}

func (s *readCountingStore) SessionUser(ctx context.Context, id string) (*store.Session, *store.User, error) {
	s.reads.Add(1)
	return s.Store.SessionUser(ctx, id)
}

// cluster is several Managers ("instances") over one store, their session
// caches joined by one bus.
type cluster struct {
	st   *readCountingStore
	bus  *bus
	envs []*env
}

func newCluster(t *testing.T, n int) *cluster {
	t.Helper()
	c := &cluster{st: &readCountingStore{Store: memstore.New()}, bus: newBus()}
	for range n {
		e := newEnv(t, withFactors, func(cfg *auth.Config) {
			cfg.Store, cfg.Limits.Store = c.st, c.st
			cfg.SessionCache = auth.SessionCacheConfig{Invalidator: c.bus}
		})
		e.store = c.st.Store
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- e.m.ListenInvalidations(ctx) }()
		t.Cleanup(func() {
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Errorf("ListenInvalidations: %v", err)
			}
		})
		c.envs = append(c.envs, e)
	}
	for deadline := time.Now().Add(5 * time.Second); c.bus.count() < n; {
		if time.Now().After(deadline) {
			t.Fatal("listeners never subscribed")
		}
		time.Sleep(time.Millisecond)
	}
	return c
}

// authOn authenticates access on e twice, so that the second answer comes
// from e's cache if anything does.
func authOn(e *env, access string) (*auth.Identity, error) {
	if _, err := e.m.Authenticate(context.Background(), access); err != nil {
		return nil, err
	}
	return e.m.Authenticate(context.Background(), access)
}

func TestSessionCacheHitNeedsNoStoreRead(t *testing.T) {
	c := newCluster(t, 1)
	a := c.envs[0]
	a.register(t, "hit@example.com")
	res := a.login(t, "hit@example.com")
	before := c.st.reads.Load()
	for range 100 {
		if _, err := a.m.Authenticate(context.Background(), res.Tokens.AccessToken); err != nil {
			t.Fatal(err)
		}
	}
	if got := c.st.reads.Load() - before; got != 1 {
		t.Fatalf("100 Authenticates made %d store reads, want 1", got)
	}
	// Callers may change what they get: the cache hands out copies.
	id, _ := a.m.Authenticate(context.Background(), res.Tokens.AccessToken)
	id.User.IsSuperuser, id.Session.UserID = true, "someone"
	id2, _ := a.m.Authenticate(context.Background(), res.Tokens.AccessToken)
	if id2.User.IsSuperuser || id2.Session.UserID != id2.User.ID {
		t.Fatal("a caller's change reached the cache")
	}
}

// TestSessionCacheInvalidation: every operation that ends or changes a
// session or a user, made on instance A, is seen at the very next
// Authenticate on instance B, which had the session cached.
func TestSessionCacheInvalidation(t *testing.T) {
	ctx := context.Background()
	type setup struct {
		c       *cluster
		a, b    *env
		victim  *auth.LoginResult // the session B has cached
		other   *auth.Identity    // another session of the victim, on A
		admin   *auth.Identity    // a superuser, on A
		victimU *store.User
	}
	refused := func(t *testing.T, s *setup) {
		t.Helper()
		if id, err := s.b.m.Authenticate(ctx, s.victim.Tokens.AccessToken); !errors.Is(err, auth.ErrTokenInvalid) {
			t.Fatalf("B: Authenticate after the change = %v, %v; want ErrTokenInvalid", id, err)
		}
	}
	seen := func(check func(*auth.Identity) bool) func(*testing.T, *setup) {
		return func(t *testing.T, s *setup) {
			t.Helper()
			id, err := s.b.m.Authenticate(ctx, s.victim.Tokens.AccessToken)
			if err != nil {
				t.Fatalf("B: Authenticate: %v", err)
			}
			if !check(id) {
				t.Fatalf("B still serves the old identity: %+v %+v", id.User, id.Session)
			}
		}
	}
	self := func(s *setup) *auth.Identity { return s.a.identity(t, s.victim.Tokens.AccessToken) }
	cases := []struct {
		name  string
		op    func(t *testing.T, s *setup)
		check func(t *testing.T, s *setup)
	}{
		{"logout", func(t *testing.T, s *setup) { must(t, s.a.m.Logout(ctx, self(s))) }, refused},
		{"revoke session", func(t *testing.T, s *setup) {
			must(t, s.a.m.RevokeSession(ctx, s.other, "", s.victim.Session.ID))
		}, refused},
		{"superuser revokes session", func(t *testing.T, s *setup) {
			must(t, s.a.m.RevokeSession(ctx, s.admin, s.victimU.ID, s.victim.Session.ID))
		}, refused},
		{"logout everywhere", func(t *testing.T, s *setup) {
			_, err := s.a.m.LogoutEverywhere(ctx, s.other)
			must(t, err)
		}, refused},
		{"revoke other sessions", func(t *testing.T, s *setup) {
			_, err := s.a.m.RevokeOtherSessions(ctx, s.other, "")
			must(t, err)
		}, refused},
		{"password change from another session", func(t *testing.T, s *setup) {
			must(t, s.a.m.ChangePassword(ctx, s.other, goodPassword, "a brand new passphrase 42"))
		}, refused},
		{"password reset", func(t *testing.T, s *setup) {
			must(t, s.a.m.RequestPasswordReset(ctx, s.victimU.Email))
			tok := tokenIn(t, s.a.lastMailTo(t, s.victimU.Email, mail.KindResetPassword))
			must(t, s.a.m.ResetPassword(ctx, tok, "a brand new passphrase 42"))
		}, refused},
		{"forced password reset", func(t *testing.T, s *setup) {
			must(t, s.a.m.ForcePasswordReset(ctx, s.admin, s.victimU.ID))
		}, refused},
		{"deactivation", func(t *testing.T, s *setup) {
			_, err := s.a.m.UpdateProfile(ctx, s.admin, auth.ProfileUpdate{UserID: s.victimU.ID, IsActive: ptr(false)})
			must(t, err)
		}, refused},
		{"deletion", func(t *testing.T, s *setup) {
			must(t, s.a.m.DeleteUser(ctx, s.admin, s.victimU.ID, ""))
		}, refused},
		{"renewal ends the old session", func(t *testing.T, s *setup) {
			_, err := s.a.m.RenewSession(ctx, self(s))
			must(t, err)
		}, refused},
		{"refresh token reuse", func(t *testing.T, s *setup) {
			_, err := s.a.m.Refresh(ctx, s.victim.Tokens.RefreshToken)
			must(t, err)
			if _, err := s.a.m.Refresh(ctx, s.victim.Tokens.RefreshToken); !errors.Is(err, auth.ErrRefreshTokenReused) {
				t.Fatalf("reuse: %v", err)
			}
		}, refused},
		{"refresh rotation", func(t *testing.T, s *setup) {
			s.a.clock.Advance(time.Minute)
			_, err := s.a.m.Refresh(ctx, s.victim.Tokens.RefreshToken)
			must(t, err)
		}, seen(func(id *auth.Identity) bool { return id.Session.LastUsedAt.After(id.Session.CreatedAt) })},
		{"superuser grant", func(t *testing.T, s *setup) {
			_, err := s.a.m.UpdateProfile(ctx, s.admin, auth.ProfileUpdate{UserID: s.victimU.ID, IsSuperuser: ptr(true)})
			must(t, err)
		}, seen(func(id *auth.Identity) bool { return id.User.IsSuperuser })},
		{"profile change", func(t *testing.T, s *setup) {
			_, err := s.a.m.UpdateProfile(ctx, self(s), auth.ProfileUpdate{Name: ptr("Renamed")})
			must(t, err)
		}, seen(func(id *auth.Identity) bool { return id.User.Name == "Renamed" })},
		{"new login moves LastLoginAt", func(t *testing.T, s *setup) {
			s.a.clock.Advance(time.Minute)
			s.a.login(t, s.victimU.Email)
		}, seen(func(id *auth.Identity) bool { return id.User.LastLoginAt.After(id.Session.CreatedAt) })},
		{"factor confirmed", func(t *testing.T, s *setup) {
			enr, err := s.a.m.EnrollTOTP(ctx, self(s), goodPassword, "phone")
			must(t, err)
			u := &mfaUser{secret: enr.Secret}
			_, err = s.a.m.ConfirmTOTP(ctx, self(s), enr.FactorID, u.code(t, s.a.clock.Now()))
			must(t, err)
		}, seen(func(id *auth.Identity) bool { return id.User.HasFactors })},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t, 2)
			s := &setup{c: c, a: c.envs[0], b: c.envs[1]}
			s.admin, _ = s.a.superuser(t, "root@example.com")
			s.victimU = s.a.register(t, "victim@example.com")
			s.victim = s.a.login(t, "victim@example.com")
			s.other = s.a.identity(t, s.a.login(t, "victim@example.com").Tokens.AccessToken)
			if _, err := authOn(s.b, s.victim.Tokens.AccessToken); err != nil {
				t.Fatalf("B: Authenticate before: %v", err)
			}
			reads := c.st.reads.Load()
			if _, err := s.b.m.Authenticate(ctx, s.victim.Tokens.AccessToken); err != nil || c.st.reads.Load() != reads {
				t.Fatalf("B did not serve the session from its cache (err %v)", err)
			}
			tc.op(t, s)
			tc.check(t, s)
		})
	}
}

// TestSessionCacheFactorReset: a superuser's factor reset on A clears
// HasFactors on B at once.
func TestSessionCacheFactorReset(t *testing.T) {
	ctx := context.Background()
	c := newCluster(t, 2)
	a, b := c.envs[0], c.envs[1]
	admin, _ := a.superuser(t, "root@example.com")
	u := a.enrolled(t, "mfa@example.com")
	tok := a.login(t, "mfa@example.com")
	if tok.Tokens == nil {
		// A login with a factor needs the second step.
		ch := tok.Challenge
		res, err := a.m.CompleteLogin(ctx, ch.Token, "totp", u.code(t, a.clock.Now()))
		must(t, err)
		tok = res
	}
	if id, err := authOn(b, tok.Tokens.AccessToken); err != nil || !id.User.HasFactors {
		t.Fatalf("B before: %v %v", id, err)
	}
	must(t, a.m.ResetFactors(ctx, admin, u.user.ID))
	id, err := b.m.Authenticate(ctx, tok.Tokens.AccessToken)
	if err != nil || id.User.HasFactors {
		t.Fatalf("B after the reset: HasFactors still set (%v)", err)
	}
}

// TestSessionCacheUnhealthyReadsExact: while the subscription is down,
// every Authenticate reads the store, so a change whose notification is
// lost is still refused; after a reconnect the cache starts empty.
func TestSessionCacheUnhealthyReadsExact(t *testing.T) {
	ctx := context.Background()
	c := newCluster(t, 2)
	a, b := c.envs[0], c.envs[1]
	a.register(t, "down@example.com")
	res := a.login(t, "down@example.com")
	if _, err := authOn(b, res.Tokens.AccessToken); err != nil {
		t.Fatal(err)
	}
	c.bus.setUp(false) // B (and A) lose their subscriptions: notifications are lost
	before := c.st.reads.Load()
	for range 3 {
		if _, err := b.m.Authenticate(ctx, res.Tokens.AccessToken); err != nil {
			t.Fatal(err)
		}
	}
	if got := c.st.reads.Load() - before; got != 3 {
		t.Fatalf("unhealthy: 3 Authenticates made %d store reads, want 3", got)
	}
	must(t, a.m.Logout(ctx, a.identity(t, res.Tokens.AccessToken)))
	if _, err := b.m.Authenticate(ctx, res.Tokens.AccessToken); !errors.Is(err, auth.ErrTokenInvalid) {
		t.Fatalf("B accepted a session logged out while its subscription was down: %v", err)
	}

	// Reconnect: entries from before are gone, reads are cached again.
	res2 := a.login(t, "down@example.com")
	c.bus.setUp(true)
	before = c.st.reads.Load()
	for range 3 {
		if _, err := b.m.Authenticate(ctx, res2.Tokens.AccessToken); err != nil {
			t.Fatal(err)
		}
	}
	if got := c.st.reads.Load() - before; got != 1 {
		t.Fatalf("healthy again: 3 Authenticates made %d store reads, want 1", got)
	}
}

// TestSessionCacheReconnectFlushes: an entry cached before a disconnect is
// never used after the reconnect (a notification may have been missed).
func TestSessionCacheReconnectFlushes(t *testing.T) {
	ctx := context.Background()
	c := newCluster(t, 1)
	b := c.envs[0]
	b.register(t, "flush@example.com")
	res := b.login(t, "flush@example.com")
	if _, err := authOn(b, res.Tokens.AccessToken); err != nil {
		t.Fatal(err)
	}
	// A change the cache never hears of: written behind the Manager's back.
	if _, err := c.st.RevokeUserSessions(ctx, res.User.ID, ""); err != nil {
		t.Fatal(err)
	}
	c.bus.setUp(false)
	c.bus.setUp(true)
	if _, err := b.m.Authenticate(ctx, res.Tokens.AccessToken); !errors.Is(err, auth.ErrTokenInvalid) {
		t.Fatalf("after a reconnect an old entry was used: %v", err)
	}
}

// TestSessionCacheBeforeListen: until ListenInvalidations has subscribed
// the cache is not used.
func TestSessionCacheBeforeListen(t *testing.T) {
	st := &readCountingStore{Store: memstore.New()}
	e := newEnv(t, func(cfg *auth.Config) {
		cfg.Store, cfg.Limits.Store = st, st
		cfg.SessionCache = auth.SessionCacheConfig{Invalidator: newBus()}
	})
	e.register(t, "early@example.com")
	res := e.login(t, "early@example.com")
	before := st.reads.Load()
	for range 3 {
		e.identity(t, res.Tokens.AccessToken)
	}
	if got := st.reads.Load() - before; got != 3 {
		t.Fatalf("before ListenInvalidations: %d store reads for 3 Authenticates, want 3", got)
	}
}

func TestSessionCacheTTL(t *testing.T) {
	ctx := context.Background()
	c := newCluster(t, 1)
	e := c.envs[0]
	e.register(t, "ttl@example.com")
	res := e.login(t, "ttl@example.com")
	authOn(e, res.Tokens.AccessToken)
	before := c.st.reads.Load()
	e.clock.Advance(auth.DefaultSessionCacheTTL)
	if _, err := e.m.Authenticate(ctx, res.Tokens.AccessToken); err != nil {
		t.Fatal(err)
	}
	if c.st.reads.Load() == before {
		t.Fatal("an entry was used after SessionCache.TTL")
	}
}

func TestSessionCacheConfig(t *testing.T) {
	cases := []struct {
		name  string
		cfg   auth.SessionCacheConfig
		field string
	}{
		{"size without invalidator", auth.SessionCacheConfig{Size: 10}, "Config.SessionCache.Invalidator"},
		{"negative size", auth.SessionCacheConfig{Invalidator: newBus(), Size: -1}, "Config.SessionCache.Size"},
		{"huge size", auth.SessionCacheConfig{Invalidator: newBus(), Size: auth.MaxSessionCacheSize + 1}, "Config.SessionCache.Size"},
		{"short TTL", auth.SessionCacheConfig{Invalidator: newBus(), TTL: time.Millisecond}, "Config.SessionCache.TTL"},
		{"long TTL", auth.SessionCacheConfig{Invalidator: newBus(), TTL: time.Hour}, "Config.SessionCache.TTL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := auth.New(auth.Config{Store: memstore.New(), Mailer: mail.Discard{}, Tokens: auth.TokenConfig{SigningKey: testKey}, SessionCache: tc.cfg})
			var ve *auth.ValidationError
			if !errors.As(err, &ve) || ve.Field != tc.field {
				t.Fatalf("New: %v, want a ValidationError for %s", err, tc.field)
			}
		})
	}
	m, err := auth.New(auth.Config{Store: memstore.New(), Mailer: mail.Discard{}, Tokens: auth.TokenConfig{SigningKey: testKey}})
	must(t, err)
	if err := m.ListenInvalidations(context.Background()); !errors.Is(err, auth.ErrSessionCacheOff) {
		t.Fatalf("ListenInvalidations with the cache off: %v", err)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// failingBus fails every Publish.
type failingBus struct{ *bus }

func (failingBus) Publish(context.Context, []string) error { return errors.New("bus down") }

// TestSessionCachePublishFailure: a failed publication does not fail the
// operation (its change has committed), is logged, and this instance has
// invalidated its own entry anyway.
func TestSessionCachePublishFailure(t *testing.T) {
	ctx := context.Background()
	fb := failingBus{newBus()}
	e := newEnv(t, func(cfg *auth.Config) { cfg.SessionCache = auth.SessionCacheConfig{Invalidator: fb} })
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { e.m.ListenInvalidations(lctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	for fb.count() < 1 {
		time.Sleep(time.Millisecond)
	}
	e.register(t, "pub@example.com")
	res := e.login(t, "pub@example.com")
	id, err := authOn(e, res.Tokens.AccessToken)
	must(t, err)
	if err := e.m.Logout(ctx, id); err != nil {
		t.Fatalf("Logout with a failing publisher: %v", err)
	}
	if _, err := e.m.Authenticate(ctx, res.Tokens.AccessToken); !errors.Is(err, auth.ErrTokenInvalid) {
		t.Fatalf("the local entry survived the logout: %v", err)
	}
	if !strings.Contains(e.logs.String(), "publishing a session-cache invalidation failed") {
		t.Fatal("the failed publication was not logged")
	}
}

// TestLocalInvalidator: the invalidator of a single process is
// healthy from its start until ctx ends, and publishing needs nothing.
func TestLocalInvalidator(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	var states []bool
	done := make(chan error)
	up := make(chan struct{})
	go func() {
		done <- auth.LocalInvalidator{}.Listen(ctx, func([]string) { t.Error("delivered") }, func(b bool) { states = append(states, b); close(up) })
	}()
	<-up
	if err := (auth.LocalInvalidator{}).Publish(ctx, []string{"s:1"}); err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	cancel(stop)
	if err := <-done; !errors.Is(err, stop) {
		t.Errorf("Listen returned %v, want the cause", err)
	}
	if len(states) != 1 || !states[0] {
		t.Errorf("health %v, want [true]", states)
	}
}
