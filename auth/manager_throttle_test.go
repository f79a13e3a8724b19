package auth_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/memstore"
)

// retryAfter returns the wait of a throttled error, failing otherwise.
func retryAfter(t *testing.T, err error) time.Duration {
	t.Helper()
	var te *auth.ThrottledError
	if !errors.As(err, &te) || !errors.Is(err, auth.ErrThrottled) {
		t.Fatalf("error %v, want a *ThrottledError", err)
	}
	return te.RetryAfter
}

func TestLoginThrottling(t *testing.T) {
	const wrong = "not the right password"
	t.Run("exponential delay after five failures", func(t *testing.T) {
		// SECURITY.md #19.
		e := newEnv(t)
		e.register(t, "ada@example.com")
		wantFirstDelay(t, e, "ada@example.com", wrong)
		for _, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second} {
			e.clock.Advance(want)
			_, err := e.m.Login(t.Context(), "ada@example.com", wrong)
			wantErr(t, "after waiting", err, auth.ErrInvalidCredentials)
			_, err = e.m.Login(t.Context(), "ada@example.com", wrong)
			if d := retryAfter(t, err); d != 2*want {
				t.Fatalf("retry after %v, want %v (doubling)", d, 2*want)
			}
		}
	})
	t.Run("the delay runs from the end of a slow failure", func(t *testing.T) {
		// SECURITY.md #19: a password check that takes longer than the
		// delay (a loaded machine, a costly hasher) must not use it up.
		clock := newClock()
		e := newEnv(t, func(c *auth.Config) {
			c.Now = clock.Now
			c.Password.Hasher = slowHasher{Hasher: c.Password.Hasher, took: func() { clock.Advance(3 * time.Second) }}
		})
		e.register(t, "ada@example.com")
		wantFirstDelay(t, e, "ada@example.com", wrong) // right after a failure whose check took 3s
	})
	t.Run("a success resets the count", func(t *testing.T) {
		e := newEnv(t)
		e.register(t, "ada@example.com")
		for range 5 {
			e.m.Login(t.Context(), "ada@example.com", wrong)
		}
		e.clock.Advance(time.Second)
		e.login(t, "ada@example.com")
		for i := range 5 {
			_, err := e.m.Login(t.Context(), "ada@example.com", wrong)
			wantErr(t, fmt.Sprintf("failure %d after a success", i+1), err, auth.ErrInvalidCredentials)
		}
	})
	t.Run("unknown emails are throttled identically", func(t *testing.T) {
		// SECURITY.md #19 and §5 decision 7: the same errors, the same waits,
		// and no hash once throttled.
		e := newEnv(t)
		e.register(t, "ada@example.com")
		e.m.Login(t.Context(), "warm@example.com", wrong) // create the dummy hash
		var waits [2][]time.Duration
		for i, email := range []string{"ada@example.com", "nobody@example.com"} {
			for range 7 {
				before := e.hasher.compares.Load()
				_, err := e.m.Login(t.Context(), email, wrong)
				if errors.Is(err, auth.ErrThrottled) {
					waits[i] = append(waits[i], retryAfter(t, err))
					if n := e.hasher.compares.Load() - before; n != 0 {
						t.Fatalf("%s: a throttled attempt ran %d hashes", email, n)
					}
					e.clock.Advance(waits[i][len(waits[i])-1])
				}
			}
		}
		if fmt.Sprint(waits[0]) != fmt.Sprint(waits[1]) || len(waits[0]) == 0 {
			t.Fatalf("waits differ: known %v, unknown %v", waits[0], waits[1])
		}
	})
	t.Run("hard stop until a password reset", func(t *testing.T) {
		// SECURITY.md #19 and #20: the 100th consecutive failure is never
		// evaluated; a reset still works and lets the user in at once.
		e := newEnv(t)
		e.register(t, "ada@example.com")
		failures := 0
		for failures < 100 {
			_, err := e.m.Login(t.Context(), "ada@example.com", wrong)
			if errors.Is(err, auth.ErrThrottled) {
				e.clock.Advance(retryAfter(t, err))
				continue
			}
			wantErr(t, "failure", err, auth.ErrInvalidCredentials)
			failures++
			if failures == 99 {
				break
			}
		}
		c, _ := e.store.GetCounter(t.Context(), auth.CounterKey("pw", "ada@example.com"), e.clock.Now())
		if c.Count != 99 {
			t.Fatalf("counter %d after 99 failures", c.Count)
		}
		e.clock.Advance(15 * time.Minute)
		_, err := e.m.Login(t.Context(), "ada@example.com", wrong)
		wantErr(t, "the 100th failure", err, auth.ErrInvalidCredentials)
		// Blocked whatever the wait, short of LoginForgetAfter (12 h).
		for _, wait := range []time.Duration{15 * time.Minute, time.Hour, 10 * time.Hour} {
			e.clock.Advance(wait)
			_, err = e.m.Login(t.Context(), "ada@example.com", goodPassword)
			wantErr(t, "right password after the hard stop", err, auth.ErrThrottled)
		}
		if err := e.m.RequestPasswordReset(t.Context(), "ada@example.com"); err != nil {
			t.Fatal(err)
		}
		token := tokenIn(t, e.lastMailTo(t, "ada@example.com", mail.KindResetPassword))
		if err := e.m.ResetPassword(t.Context(), token, newPassword); err != nil {
			t.Fatal(err)
		}
		if _, err := e.m.Login(t.Context(), "ada@example.com", newPassword); err != nil {
			t.Fatalf("login right after the reset: %v", err)
		}
	})
	t.Run("forgotten after twelve hours without failures", func(t *testing.T) {
		e := newEnv(t)
		e.register(t, "ada@example.com")
		for range 5 {
			e.m.Login(t.Context(), "ada@example.com", wrong)
		}
		e.clock.Advance(12 * time.Hour)
		for i := range 5 {
			_, err := e.m.Login(t.Context(), "ada@example.com", wrong)
			wantErr(t, fmt.Sprintf("failure %d after 12h", i+1), err, auth.ErrInvalidCredentials)
		}
	})
	t.Run("parallel guesses are evaluated at most five times", func(t *testing.T) {
		// SECURITY.md #71: a burst of 100 parallel wrong logins loses no
		// update — every attempt let through is counted before its password
		// is checked, so at most five are evaluated — and leaves the lockout
		// engaged. Attempts refused as throttled are deliberately not
		// counted, so hammering cannot turn the delay into a lockout (#20);
		// the store-level test of #71 (storetest Counters/Concurrent) shows
		// 100 concurrent hits counting exactly 100.
		e := newEnv(t)
		e.register(t, "ada@example.com")
		before := e.hasher.compares.Load()
		var wg sync.WaitGroup
		for range 100 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := e.m.Login(context.Background(), "ada@example.com", wrong)
				if !errors.Is(err, auth.ErrInvalidCredentials) && !errors.Is(err, auth.ErrThrottled) {
					t.Errorf("Login: %v", err)
				}
			}()
		}
		wg.Wait()
		if n := e.hasher.compares.Load() - before; n > 5 {
			t.Fatalf("%d passwords evaluated, want at most 5", n)
		}
		c, _ := e.store.GetCounter(t.Context(), auth.CounterKey("pw", "ada@example.com"), e.clock.Now())
		if c.Count < 5 {
			t.Fatalf("counter %d after the burst, want at least the 5 evaluated failures", c.Count)
		}
		_, err := e.m.Login(t.Context(), "ada@example.com", goodPassword)
		wantErr(t, "after the burst", err, auth.ErrThrottled)
	})
	t.Run("wrong current passwords count too", func(t *testing.T) {
		// SECURITY.md #53.
		e := newEnv(t)
		e.register(t, "ada@example.com")
		id := e.identity(t, e.login(t, "ada@example.com").Tokens.AccessToken)
		for range 5 {
			wantErr(t, "ChangePassword", e.m.ChangePassword(t.Context(), id, wrong, newPassword), auth.ErrInvalidPassword)
		}
		wantErr(t, "6th ChangePassword", e.m.ChangePassword(t.Context(), id, goodPassword, newPassword), auth.ErrThrottled)
		_, err := e.m.Login(t.Context(), "ada@example.com", goodPassword)
		wantErr(t, "login after 5 wrong current passwords", err, auth.ErrThrottled)
	})
}

func withIP(ctx context.Context, ip string) context.Context {
	return auth.ContextWithClient(ctx, auth.Client{IP: mustAddr(ip)})
}

func TestPerIPLimits(t *testing.T) {
	t.Run("login spray from one IP", func(t *testing.T) {
		// SECURITY.md #21: 200 different emails from one IP get 429 after the
		// threshold; another IP is unaffected; a request without a known IP
		// is not put in a shared bucket.
		e := newEnv(t)
		e.register(t, "ada@example.com")
		ctx := withIP(t.Context(), "203.0.113.9")
		var throttledAt int
		for i := range 200 {
			_, err := e.m.Login(ctx, fmt.Sprintf("victim%d@example.com", i), "guess guess guess")
			if errors.Is(err, auth.ErrThrottled) {
				throttledAt = i + 1
				break
			}
		}
		if throttledAt != 21 {
			t.Fatalf("throttled at attempt %d, want 21 (20 failures a minute)", throttledAt)
		}
		if _, err := e.m.Login(withIP(t.Context(), "198.51.100.1"), "ada@example.com", goodPassword); err != nil {
			t.Fatalf("another IP: %v", err)
		}
		if _, err := e.m.Login(t.Context(), "ada@example.com", goodPassword); err != nil {
			t.Fatalf("no IP: %v", err)
		}
		e.clock.Advance(time.Minute)
		if _, err := e.m.Login(ctx, "ada@example.com", goodPassword); err != nil {
			t.Fatalf("same IP a minute later: %v", err)
		}
	})
	t.Run("registrations", func(t *testing.T) {
		e := newEnv(t)
		ctx := withIP(t.Context(), "203.0.113.9")
		for i := range 10 {
			if _, err := e.m.Register(ctx, auth.Registration{Email: fmt.Sprintf("u%d@example.com", i), Password: goodPassword}); err != nil {
				t.Fatal(err)
			}
		}
		_, err := e.m.Register(ctx, auth.Registration{Email: "u10@example.com", Password: goodPassword})
		retryAfter(t, err)
		e.clock.Advance(time.Hour)
		if _, err := e.m.Register(ctx, auth.Registration{Email: "u10@example.com", Password: goodPassword}); err != nil {
			t.Fatalf("an hour later: %v", err)
		}
	})
	t.Run("reset requests", func(t *testing.T) {
		e := newEnv(t)
		ctx := withIP(t.Context(), "203.0.113.9")
		for i := range 20 {
			if err := e.m.RequestPasswordReset(ctx, fmt.Sprintf("u%d@example.com", i)); err != nil {
				t.Fatal(err)
			}
		}
		retryAfter(t, e.m.RequestPasswordReset(ctx, "u20@example.com"))
	})
	t.Run("verification guesses", func(t *testing.T) {
		e := newEnv(t, requireVerification)
		e.register(t, "v@example.com")
		code := codeIn(t, e.lastMailTo(t, "v@example.com", mail.KindVerifyEmail))
		ctx := withIP(t.Context(), "203.0.113.9")
		for i := range 30 {
			_, err := e.m.VerifyEmail(ctx, auth.Verification{Email: fmt.Sprintf("x%d@example.com", i), Code: "123456"})
			wantErr(t, "wrong code", err, auth.ErrInvalidCode)
		}
		_, err := e.m.VerifyEmail(ctx, auth.Verification{Email: "v@example.com", Code: code})
		retryAfter(t, err)
		if _, err := e.m.VerifyEmail(withIP(t.Context(), "198.51.100.1"), auth.Verification{Email: "v@example.com", Code: code}); err != nil {
			t.Fatalf("from another IP: %v", err)
		}
	})
}

func TestMailLimits(t *testing.T) {
	// SECURITY.md #22: a second reset request within a minute answers the
	// same but sends no mail; the older token keeps working.
	e := newEnv(t)
	e.register(t, "ada@example.com")
	if err := e.m.RequestPasswordReset(t.Context(), "ada@example.com"); err != nil {
		t.Fatal(err)
	}
	first := tokenIn(t, e.lastMailTo(t, "ada@example.com", mail.KindResetPassword))
	e.clock.Advance(30 * time.Second)
	if err := e.m.RequestPasswordReset(t.Context(), "ada@example.com"); err != nil {
		t.Fatalf("second request: %v", err)
	}
	e.flush(t)
	if n := len(e.mail.Messages()); n != 1 {
		t.Fatalf("%d messages, want 1", n)
	}
	if evs := e.events.ofType(auth.EventResetRequested); len(evs) != 2 || evs[1].Reason != "mail_throttled" {
		t.Fatalf("events %+v", evs)
	}
	for range 5 {
		e.clock.Advance(time.Minute)
		e.m.RequestPasswordReset(t.Context(), "ada@example.com")
		e.flush(t) // the request's work runs in the background at the clock's time
	}
	if n := len(e.mail.Messages()); n != 5 {
		t.Fatalf("%d messages in an hour, want 5", n)
	}
	e.clock.Advance(time.Hour)
	if err := e.m.ResetPassword(t.Context(), first, newPassword); !errors.Is(err, auth.ErrTokenInvalid) {
		t.Fatalf("the first token after newer ones were sent: %v", err)
	}
}

func TestUniformRegistration(t *testing.T) {
	// SECURITY.md #16: a taken email answers like a new one, creates
	// nothing, runs the same hashing, and mails the owner.
	e := newEnv(t, func(c *auth.Config) { c.Accounts.UniformRegistration = true })
	owner := e.register(t, "ada@example.com")
	e.flush(t)
	before := e.hasher.hashes.Load()
	u, err := e.m.Register(t.Context(), auth.Registration{Email: "Ada@Example.com", Password: "another good passphrase"})
	if err != nil {
		t.Fatalf("duplicate in uniform mode: %v", err)
	}
	if n := e.hasher.hashes.Load() - before; n != 1 {
		t.Fatalf("%d hashes for a duplicate, want 1 like a new registration", n)
	}
	if u.ID == owner.ID || u.Email != "ada@example.com" || u.PasswordHash != "" {
		t.Fatalf("answer %+v", u)
	}
	page, _ := e.store.ListUsers(t.Context(), store.UserQuery{})
	if page.Total != 1 {
		t.Fatalf("%d users after a duplicate registration", page.Total)
	}
	msg := e.lastMailTo(t, "ada@example.com", mail.KindSignupAttempt)
	if msg.Subject == "" {
		t.Fatal("empty notice")
	}
	if _, err := e.m.Login(t.Context(), "ada@example.com", "another good passphrase"); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("the duplicate's password works: %v", err)
	}
}

func TestThrottlingConfig(t *testing.T) {
	// A store without counters needs an explicit choice. (Bad limits are in
	// TestNewValidatesConfig.)
	noCounters := struct{ store.Store }{memstore.New()}
	base := auth.Config{Store: noCounters, Mailer: mail.Discard{}, Tokens: auth.TokenConfig{SigningKey: testKey}, Password: auth.PasswordConfig{Hasher: newSpyHasher()}}
	_, err := auth.New(base)
	var ve *auth.ValidationError
	if !errors.As(err, &ve) || ve.Field != "Config.Limits.Store" {
		t.Fatalf("New without counters: %v", err)
	}
	cfg := base
	cfg.Limits.Disabled = true
	if _, err := auth.New(cfg); err != nil {
		t.Fatalf("Limits.Disabled: %v", err)
	}
	cfg = base
	cfg.Limits.Store = memstore.New()
	if _, err := auth.New(cfg); err != nil {
		t.Fatalf("explicit Limits.Store: %v", err)
	}
}

// slowHasher is a Hasher whose Compare calls took, which advances a fake
// clock: a password check that takes that long.
type slowHasher struct {
	auth.Hasher
	took func()
}

func (h slowHasher) Compare(hash, pw string) error {
	h.took()
	return h.Hasher.Compare(hash, pw)
}

// wantFirstDelay fails email's login five times with wrong (the free
// failures) and wants the sixth attempt, with the right password, told to
// retry after 1s.
func wantFirstDelay(t *testing.T, e *env, email, wrong string) {
	t.Helper()
	for i := range 5 {
		_, err := e.m.Login(t.Context(), email, wrong)
		wantErr(t, fmt.Sprintf("failure %d", i+1), err, auth.ErrInvalidCredentials)
	}
	_, err := e.m.Login(t.Context(), email, goodPassword)
	if d := retryAfter(t, err); d != time.Second {
		t.Fatalf("attempt 6 retry after %v, want 1s", d)
	}
}

// TestPerIPLimitsIPv6ByNetwork (SECURITY.md #21): the per-IP limits count
// an IPv6 client by its /64, which one subscriber can send from in full: a
// spray from 21 addresses of one /64 is throttled as one from a single
// address would be; a neighbouring /64 is not; an IPv4-mapped address
// counts with its IPv4 address.
func TestPerIPLimitsIPv6ByNetwork(t *testing.T) {
	spray := func(t *testing.T, e *env, addr func(i int) string) (throttledAt int) {
		t.Helper()
		for i := range 40 {
			_, err := e.m.Login(withIP(t.Context(), addr(i)), fmt.Sprintf("victim%d@example.com", i), "guess guess guess")
			if errors.Is(err, auth.ErrThrottled) {
				return i + 1
			}
		}
		return 0
	}
	t.Run("one /64, many addresses", func(t *testing.T) {
		e := newEnv(t)
		e.register(t, "ada@example.com")
		if at := spray(t, e, func(i int) string { return fmt.Sprintf("2001:db8:1:2:%x::%x", i, i+1) }); at != 21 {
			t.Fatalf("throttled at attempt %d, want 21 (20 failures a minute for the /64)", at)
		}
		_, err := e.m.Login(withIP(t.Context(), "2001:db8:1:2:ffff:ffff:ffff:ffff"), "ada@example.com", goodPassword)
		wantErr(t, "another address of the /64", err, auth.ErrThrottled)
		_, err = e.m.Login(withIP(t.Context(), "2001:db8:1:2::1%eth0"), "ada@example.com", goodPassword)
		wantErr(t, "an address of the /64 with a zone", err, auth.ErrThrottled)
		if _, err := e.m.Login(withIP(t.Context(), "2001:db8:1:3::1"), "ada@example.com", goodPassword); err != nil {
			t.Fatalf("the neighbouring /64: %v", err)
		}
	})
	t.Run("IPv4-mapped counts as IPv4", func(t *testing.T) {
		e := newEnv(t)
		e.register(t, "ada@example.com")
		if at := spray(t, e, func(i int) string {
			if i%2 == 0 {
				return "203.0.113.9"
			}
			return "::ffff:203.0.113.9"
		}); at != 21 {
			t.Fatalf("throttled at attempt %d, want 21 (one bucket for both spellings)", at)
		}
		if _, err := e.m.Login(withIP(t.Context(), "::ffff:203.0.113.10"), "ada@example.com", goodPassword); err != nil {
			t.Fatalf("the next IPv4 address: %v", err)
		}
	})
	t.Run("registrations", func(t *testing.T) {
		e := newEnv(t)
		for i := range 10 {
			ctx := withIP(t.Context(), fmt.Sprintf("2001:db8:7:7::%x", i+1))
			if _, err := e.m.Register(ctx, auth.Registration{Email: fmt.Sprintf("u%d@example.com", i), Password: goodPassword}); err != nil {
				t.Fatal(err)
			}
		}
		_, err := e.m.Register(withIP(t.Context(), "2001:db8:7:7:abcd::1"), auth.Registration{Email: "u10@example.com", Password: goodPassword})
		retryAfter(t, err)
		if _, err := e.m.Register(withIP(t.Context(), "2001:db8:7:8::1"), auth.Registration{Email: "u10@example.com", Password: goodPassword}); err != nil {
			t.Fatalf("another /64: %v", err)
		}
	})
}
