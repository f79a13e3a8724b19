package auth_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/memstore"
)

// callCounter counts every call the Manager makes to its store, by
// method. It wraps a memstore in a named field, never an embedded one, so
// that no method reaches the store without being counted. It has no
// store.CounterBatch; callCounterBatch adds it.
type callCounter struct {
	inner *memstore.Store
	mu    sync.Mutex
	calls map[string]int
}

var (
	_ store.Store    = (*callCounter)(nil)
	_ store.Counters = (*callCounter)(nil)
	_ store.Expirer  = (*callCounter)(nil)
)

func newCallCounter(inner *memstore.Store) *callCounter {
	return &callCounter{inner: inner, calls: map[string]int{}}
}

func (c *callCounter) count(method string) {
	c.mu.Lock()
	c.calls[method]++
	c.mu.Unlock()
}

// take returns the calls counted so far, and their total, and starts
// counting afresh.
func (c *callCounter) take() (map[string]int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	calls, total := c.calls, 0
	for _, n := range calls {
		total += n
	}
	c.calls = map[string]int{}
	return calls, total
}

func (c *callCounter) CreateUser(ctx context.Context, u *store.User) error {
	c.count("CreateUser")
	return c.inner.CreateUser(ctx, u)
}

func (c *callCounter) UserByID(ctx context.Context, id string) (*store.User, error) {
	c.count("UserByID")
	return c.inner.UserByID(ctx, id)
}

func (c *callCounter) UserByEmail(ctx context.Context, email string) (*store.User, error) {
	c.count("UserByEmail")
	return c.inner.UserByEmail(ctx, email)
}

func (c *callCounter) UpdateUser(ctx context.Context, id string, u store.UserUpdate) (*store.User, error) {
	c.count("UpdateUser")
	return c.inner.UpdateUser(ctx, id, u)
}

func (c *callCounter) DeleteUser(ctx context.Context, id string) error {
	c.count("DeleteUser")
	return c.inner.DeleteUser(ctx, id)
}

func (c *callCounter) ListUsers(ctx context.Context, q store.UserQuery) (*store.UserPage, error) {
	c.count("ListUsers")
	return c.inner.ListUsers(ctx, q)
}

func (c *callCounter) CreateSession(ctx context.Context, s *store.Session, refreshHash []byte) error {
	c.count("CreateSession")
	return c.inner.CreateSession(ctx, s, refreshHash)
}

func (c *callCounter) SessionUser(ctx context.Context, id string) (*store.Session, *store.User, error) {
	c.count("SessionUser")
	return c.inner.SessionUser(ctx, id)
}

func (c *callCounter) UserSessions(ctx context.Context, userID string, now time.Time) ([]store.Session, error) {
	c.count("UserSessions")
	return c.inner.UserSessions(ctx, userID, now)
}

func (c *callCounter) RevokeSession(ctx context.Context, userID, id string) error {
	c.count("RevokeSession")
	return c.inner.RevokeSession(ctx, userID, id)
}

func (c *callCounter) RevokeUserSessions(ctx context.Context, userID, except string) (int, error) {
	c.count("RevokeUserSessions")
	return c.inner.RevokeUserSessions(ctx, userID, except)
}

func (c *callCounter) RotateRefreshToken(ctx context.Context, r store.Rotation) (*store.Session, *store.User, error) {
	c.count("RotateRefreshToken")
	return c.inner.RotateRefreshToken(ctx, r)
}

func (c *callCounter) PutSecret(ctx context.Context, s *store.Secret) error {
	c.count("PutSecret")
	return c.inner.PutSecret(ctx, s)
}

func (c *callCounter) ConsumeSecret(ctx context.Context, cs store.Consume) (*store.Secret, *store.User, error) {
	c.count("ConsumeSecret")
	return c.inner.ConsumeSecret(ctx, cs)
}

func (c *callCounter) ReserveCodeAttempt(ctx context.Context, userID string, p store.Purpose, now time.Time, maxAttempts int) (*store.Secret, error) {
	c.count("ReserveCodeAttempt")
	return c.inner.ReserveCodeAttempt(ctx, userID, p, now, maxAttempts)
}

func (c *callCounter) DeleteExpired(ctx context.Context, before time.Time) (int, error) {
	c.count("DeleteExpired")
	return c.inner.DeleteExpired(ctx, before)
}

func (c *callCounter) IncrementCounter(ctx context.Context, key string, now time.Time, ttl time.Duration, sliding bool) (store.Counter, error) {
	c.count("IncrementCounter")
	return c.inner.IncrementCounter(ctx, key, now, ttl, sliding)
}

func (c *callCounter) GetCounter(ctx context.Context, key string, now time.Time) (store.Counter, error) {
	c.count("GetCounter")
	return c.inner.GetCounter(ctx, key, now)
}

func (c *callCounter) DeleteCounter(ctx context.Context, key string) error {
	c.count("DeleteCounter")
	return c.inner.DeleteCounter(ctx, key)
}

// callCounterBatch is a callCounter with store.CounterBatch.
type callCounterBatch struct{ *callCounter }

var _ store.CounterBatch = callCounterBatch{}

func (c callCounterBatch) UpdateCounters(ctx context.Context, keys []string, now time.Time, fn func([]store.Counter) error) error {
	c.count("UpdateCounters")
	return c.inner.UpdateCounters(ctx, keys, now, fn)
}

// limiterKind is a store with or without store.CounterBatch.
type limiterKind struct {
	name  string
	batch bool
}

var limiterKinds = []limiterKind{{"CounterBatch", true}, {"OneKeyAtATime", false}}

// countingEnv is newEnv with its memstore behind a counting wrapper, as
// both the Store and Limits.Store, with or without the batch operation.
// No audit sink is wired.
func countingEnv(t *testing.T, kind limiterKind) (*env, *callCounter) {
	t.Helper()
	var counting *callCounter
	e := newEnv(t, func(c *auth.Config) {
		counting = newCallCounter(c.Store.(*memstore.Store))
		var s interface {
			store.Store
			store.Counters
		} = counting
		if kind.batch {
			s = callCounterBatch{counting}
		}
		c.Store, c.Limits.Store = s, s
	})
	return e, counting
}

func formatCalls(calls map[string]int) string {
	var out []string
	for _, m := range slices.Sorted(maps.Keys(calls)) {
		out = append(out, fmt.Sprintf("%s×%d", m, calls[m]))
	}
	return fmt.Sprint(out)
}

// TestStoreCallsLogin: a successful login from a known IP, with no audit
// sink, makes at most 4 store calls in all, counters included: the
// throttle gate's check-and-reserve in one batch call, the user, clearing
// the account's failures, the session. A store without the batch still
// logs in, one counter at a time.
func TestStoreCallsLogin(t *testing.T) {
	for _, kind := range limiterKinds {
		t.Run(kind.name, func(t *testing.T) {
			e, counting := countingEnv(t, kind)
			e.register(t, "ada@example.com")
			ctx := withIP(t.Context(), "203.0.113.9")
			for i := range 3 { // the first login and later ones alike
				counting.take()
				if _, err := e.m.Login(ctx, "ada@example.com", goodPassword); err != nil {
					t.Fatalf("Login %d: %v", i+1, err)
				}
				calls, total := counting.take()
				t.Logf("login %d: %d store calls: %s", i+1, total, formatCalls(calls))
				switch {
				case kind.batch && total > 4:
					t.Fatalf("login %d made %d store calls, want at most 4: %s", i+1, total, formatCalls(calls))
				case kind.batch && calls["UpdateCounters"] != 1:
					t.Fatalf("login %d: UpdateCounters called %d times, want once: %s", i+1, calls["UpdateCounters"], formatCalls(calls))
				case !kind.batch && (calls["GetCounter"] == 0 || calls["IncrementCounter"] == 0):
					t.Fatalf("login %d without CounterBatch did not check and count: %s", i+1, formatCalls(calls))
				}
				if calls["CreateSession"] != 1 || calls["UserByEmail"] != 1 {
					t.Fatalf("login %d: %s, want one UserByEmail and one CreateSession", i+1, formatCalls(calls))
				}
			}
		})
	}
}

// TestThrottlingWithAndWithoutBatch: SECURITY.md #19, #21 and #71, the
// password gate behaves the same whether the limiter offers
// store.CounterBatch or only store.Counters: the same delays, the same
// per-IP cut-off, the same bound on parallel guesses.
func TestThrottlingWithAndWithoutBatch(t *testing.T) {
	const wrong = "not the right password"
	for _, kind := range limiterKinds {
		t.Run(kind.name, func(t *testing.T) {
			// usesBatch fails unless the store was called the way kind says.
			usesBatch := func(t *testing.T, counting *callCounter) {
				t.Helper()
				calls, _ := counting.take()
				if got := calls["UpdateCounters"] > 0; got != kind.batch {
					t.Fatalf("UpdateCounters used: %v, want %v (%s)", got, kind.batch, formatCalls(calls))
				}
			}
			t.Run("delays", func(t *testing.T) {
				e, counting := countingEnv(t, kind)
				e.register(t, "ada@example.com")
				ctx := withIP(t.Context(), "203.0.113.9")
				for i := range 5 {
					_, err := e.m.Login(ctx, "ada@example.com", wrong)
					wantErr(t, fmt.Sprintf("failure %d", i+1), err, auth.ErrInvalidCredentials)
				}
				_, err := e.m.Login(ctx, "ada@example.com", goodPassword)
				if d := retryAfter(t, err); d != time.Second {
					t.Fatalf("attempt 6 retry after %v, want 1s", d)
				}
				for _, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
					e.clock.Advance(want)
					_, err := e.m.Login(ctx, "ada@example.com", wrong)
					wantErr(t, "after waiting", err, auth.ErrInvalidCredentials)
					_, err = e.m.Login(ctx, "ada@example.com", goodPassword)
					if d := retryAfter(t, err); d != 2*want {
						t.Fatalf("retry after %v, want %v (doubling)", d, 2*want)
					}
				}
				e.clock.Advance(8 * time.Second)
				if _, err := e.m.Login(ctx, "ada@example.com", goodPassword); err != nil {
					t.Fatalf("the right password after the wait: %v", err)
				}
				if c, _ := e.store.GetCounter(t.Context(), auth.CounterKey("pw", "ada@example.com"), e.clock.Now()); c.Count != 0 {
					t.Fatalf("the account's failures after a success: %d, want 0", c.Count)
				}
				for i := range 5 {
					_, err := e.m.Login(ctx, "ada@example.com", wrong)
					wantErr(t, fmt.Sprintf("failure %d after the success", i+1), err, auth.ErrInvalidCredentials)
				}
				usesBatch(t, counting)
			})
			t.Run("spray from one IP", func(t *testing.T) {
				e, counting := countingEnv(t, kind)
				e.register(t, "ada@example.com")
				ctx := withIP(t.Context(), "203.0.113.9")
				throttledAt := 0
				for i := range 30 {
					_, err := e.m.Login(ctx, fmt.Sprintf("victim%d@example.com", i), wrong)
					if errors.Is(err, auth.ErrThrottled) {
						throttledAt = i + 1
						break
					}
					wantErr(t, "a guess", err, auth.ErrInvalidCredentials)
				}
				if throttledAt != 21 {
					t.Fatalf("throttled at attempt %d, want 21 (20 failures a minute)", throttledAt)
				}
				for _, k := range []string{"ip-login-m", "ip-login-h"} {
					if c, _ := e.store.GetCounter(t.Context(), auth.CounterKey(k, "203.0.113.9"), e.clock.Now()); c.Count != 20 {
						t.Fatalf("%s counter %d, want 20", k, c.Count)
					}
				}
				if _, err := e.m.Login(withIP(t.Context(), "198.51.100.1"), "ada@example.com", goodPassword); err != nil {
					t.Fatalf("another IP: %v", err)
				}
				e.clock.Advance(time.Minute)
				if _, err := e.m.Login(ctx, "ada@example.com", goodPassword); err != nil {
					t.Fatalf("same IP a minute later: %v", err)
				}
				usesBatch(t, counting)
			})
			t.Run("parallel guesses", func(t *testing.T) {
				e, counting := countingEnv(t, kind)
				e.register(t, "ada@example.com")
				before := e.hasher.compares.Load()
				var wg sync.WaitGroup
				for range 100 {
					wg.Go(func() {
						_, err := e.m.Login(context.Background(), "ada@example.com", wrong)
						if !errors.Is(err, auth.ErrInvalidCredentials) && !errors.Is(err, auth.ErrThrottled) {
							t.Errorf("Login: %v", err)
						}
					})
				}
				wg.Wait()
				evaluated := e.hasher.compares.Load() - before
				if evaluated > 5 {
					t.Fatalf("%d passwords evaluated, want at most 5", evaluated)
				}
				c, _ := e.store.GetCounter(t.Context(), auth.CounterKey("pw", "ada@example.com"), e.clock.Now())
				// With the batch, every attempt let through is counted and
				// no refused one is: exactly 5, all evaluated.
				if c.Count < 5 || kind.batch && (c.Count != 5 || evaluated != 5) {
					t.Fatalf("counter %d after the burst with %d evaluated", c.Count, evaluated)
				}
				_, err := e.m.Login(t.Context(), "ada@example.com", goodPassword)
				wantErr(t, "after the burst", err, auth.ErrThrottled)
				usesBatch(t, counting)
			})
		})
	}
}

// failingBatch is a limiter whose UpdateCounters always fails.
type failingBatch struct{ callCounterBatch }

var errLimiterDown = errors.New("limiter down")

func (failingBatch) UpdateCounters(context.Context, []string, time.Time, func([]store.Counter) error) error {
	return errLimiterDown
}

// TestThrottleBatchFailure: when the batch call fails, the login fails
// closed with the store's error (not a throttle, not a success), and no
// password is evaluated.
func TestThrottleBatchFailure(t *testing.T) {
	e := newEnv(t, func(c *auth.Config) {
		c.Limits.Store = failingBatch{callCounterBatch{newCallCounter(c.Store.(*memstore.Store))}}
	})
	e.register(t, "ada@example.com")
	before := e.hasher.compares.Load()
	_, err := e.m.Login(withIP(t.Context(), "203.0.113.9"), "ada@example.com", goodPassword)
	if !errors.Is(err, errLimiterDown) || errors.Is(err, auth.ErrThrottled) {
		t.Fatalf("Login with a failing limiter: %v, want the limiter's error", err)
	}
	if n := e.hasher.compares.Load() - before; n != 0 {
		t.Fatalf("%d passwords evaluated past a failing limiter", n)
	}
}
