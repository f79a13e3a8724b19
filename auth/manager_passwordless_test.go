package auth_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/store"
)

// withPasswordless turns passwordless email login on.
func withPasswordless(c *auth.Config) {
	c.Passwordless = auth.PasswordlessConfig{Enabled: true}
	c.BaseURL = "https://app.example.com"
}

// emailLogin asks for an email login of addr and returns the answer with
// the mailed link token and code (none when nothing was mailed).
func (e *env) emailLogin(t testing.TB, ctx context.Context, addr string) (*auth.EmailLogin, string, string) {
	t.Helper()
	before := len(e.mail.Messages())
	l, err := e.m.RequestEmailLogin(ctx, addr)
	if err != nil {
		t.Fatalf("RequestEmailLogin(%q): %v", addr, err)
	}
	e.flush(t)
	msgs := e.mail.Messages()[before:]
	for _, msg := range msgs {
		if msg.Kind == mail.KindEmailLogin {
			return l, tokenIn(t, msg), codeIn(t, msg)
		}
	}
	return l, "", ""
}

func TestPasswordlessConfig(t *testing.T) {
	ctx := context.Background()
	t.Run("off_by_default", func(t *testing.T) {
		e := newEnv(t)
		e.register(t, "ada@example.com")
		_, err := e.m.RequestEmailLogin(ctx, "ada@example.com")
		wantErr(t, "RequestEmailLogin", err, auth.ErrPasswordlessDisabled)
		_, err = e.m.EmailLoginWithLink(ctx, strings.Repeat("A", 43))
		wantErr(t, "EmailLoginWithLink", err, auth.ErrPasswordlessDisabled)
		_, err = e.m.EmailLoginWithCode(ctx, "x", "123456")
		wantErr(t, "EmailLoginWithCode", err, auth.ErrPasswordlessDisabled)
		if n := len(e.mail.Messages()); n != 0 {
			t.Errorf("%d messages sent with passwordless off", n)
		}
	})
	for _, tc := range []struct {
		name  string
		edit  func(*auth.PasswordlessConfig)
		field string
	}{
		{"ttl_over_15_minutes", func(p *auth.PasswordlessConfig) { p.TTL = 16 * time.Minute }, "Config.Passwordless.TTL"},
		{"code_ttl_over_10_minutes", func(p *auth.PasswordlessConfig) { p.CodeTTL = 11 * time.Minute }, "Config.Passwordless.CodeTTL"},
		{"too_many_attempts", func(p *auth.PasswordlessConfig) { p.MaxAttempts = 11 }, "Config.Passwordless.MaxAttempts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			_, err := auth.New(auth.Config{
				Store: e.store, Mailer: e.mail, Tokens: auth.TokenConfig{SigningKey: testKey},
				Passwordless: func() auth.PasswordlessConfig {
					p := auth.PasswordlessConfig{Enabled: true}
					tc.edit(&p)
					return p
				}(),
			})
			var ve *auth.ValidationError
			if !errors.As(err, &ve) || ve.Field != tc.field {
				t.Fatalf("New = %v, want a ValidationError for %s", err, tc.field)
			}
		})
	}
	t.Run("store_without_email_logins", func(t *testing.T) {
		e := newEnv(t)
		_, err := auth.New(auth.Config{
			Store: struct{ store.Store }{e.store}, Mailer: e.mail, Tokens: auth.TokenConfig{SigningKey: testKey},
			Limits: auth.Limits{Disabled: true}, Passwordless: auth.PasswordlessConfig{Enabled: true},
		})
		var ve *auth.ValidationError
		if !errors.As(err, &ve) || ve.Field != "Config.Passwordless.Enabled" {
			t.Fatalf("New = %v, want a ValidationError for Config.Passwordless.Enabled", err)
		}
	})
}

func TestEmailLogin(t *testing.T) {
	ctx := context.Background()

	t.Run("link_logs_in", func(t *testing.T) {
		e := newEnv(t, withPasswordless)
		u := e.register(t, "ada@example.com")
		l, token, code := e.emailLogin(t, ctx, "Ada@Example.com")
		if token == "" || code == "" {
			t.Fatal("no link token or code mailed")
		}
		msg := e.lastMailTo(t, "ada@example.com", mail.KindEmailLogin)
		if want := "https://app.example.com/login/email?token=" + token; !strings.Contains(msg.Text, want) {
			t.Errorf("mail has no link %s:\n%s", want, msg.Text)
		}
		if l.LoginID == "" || !l.ExpiresAt.Equal(e.clock.Now().Add(10*time.Minute)) {
			t.Errorf("answer %+v: want a login ID and the code's expiry 10 minutes on", l)
		}
		res, err := e.m.EmailLoginWithLink(ctx, token)
		wantErr(t, "EmailLoginWithLink", err, nil)
		if res.Tokens == nil || res.Session == nil || res.User.ID != u.ID {
			t.Fatalf("EmailLoginWithLink = %+v, want a session of %s", res, u.ID)
		}
		e.identity(t, res.Tokens.AccessToken)
		if evs := e.events.ofType(auth.EventEmailLogin); len(evs) != 1 || evs[0].Outcome != auth.OutcomeSuccess || evs[0].UserID != u.ID {
			t.Errorf("email_login events = %+v, want one success of %s", evs, u.ID)
		}
		if evs := e.events.ofType(auth.EventEmailLoginRequested); len(evs) != 1 || evs[0].Outcome != auth.OutcomeSuccess {
			t.Errorf("email_login_requested events = %+v, want one success", evs)
		}
	})

	t.Run("code_logs_in", func(t *testing.T) {
		e := newEnv(t, withPasswordless)
		u := e.register(t, "ada@example.com")
		l, _, code := e.emailLogin(t, ctx, "ada@example.com")
		res, err := e.m.EmailLoginWithCode(ctx, l.LoginID, code)
		wantErr(t, "EmailLoginWithCode", err, nil)
		if res.Tokens == nil || res.User.ID != u.ID {
			t.Fatalf("EmailLoginWithCode = %+v, want tokens for %s", res, u.ID)
		}
	})

	// SECURITY.md #69: the link and the code are one single-use login.
	t.Run("single_use_across_link_and_code", func(t *testing.T) {
		e := newEnv(t, withPasswordless)
		e.register(t, "ada@example.com")
		l, token, code := e.emailLogin(t, ctx, "ada@example.com")
		wantErr(t, "EmailLoginWithCode", func() error { _, err := e.m.EmailLoginWithCode(ctx, l.LoginID, code); return err }(), nil)
		_, err := e.m.EmailLoginWithLink(ctx, token)
		wantErr(t, "the link after the code", err, auth.ErrInvalidEmailLogin)
		_, err = e.m.EmailLoginWithCode(ctx, l.LoginID, code)
		wantErr(t, "the code again", err, auth.ErrInvalidEmailLogin)

		e.clock.Advance(2 * time.Minute) // past the mail limit
		l, token, code = e.emailLogin(t, ctx, "ada@example.com")
		wantErr(t, "EmailLoginWithLink", func() error { _, err := e.m.EmailLoginWithLink(ctx, token); return err }(), nil)
		_, err = e.m.EmailLoginWithCode(ctx, l.LoginID, code)
		wantErr(t, "the code after the link", err, auth.ErrInvalidEmailLogin)
		_, err = e.m.EmailLoginWithLink(ctx, token)
		wantErr(t, "the link again", err, auth.ErrInvalidEmailLogin)
		if !errors.Is(err, auth.ErrInvalidChallenge) {
			t.Errorf("ErrInvalidEmailLogin does not match ErrInvalidChallenge")
		}
	})

	// SECURITY.md #69: of a link and codes used at once, one logs in.
	t.Run("concurrent_link_and_code_one_winner", func(t *testing.T) {
		e := newEnv(t, withPasswordless, noLimits)
		e.register(t, "ada@example.com")
		l, token, code := e.emailLogin(t, ctx, "ada@example.com")
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for i := range 10 {
			wg.Go(func() {
				var err error
				if i%2 == 0 {
					_, err = e.m.EmailLoginWithLink(ctx, token)
				} else {
					_, err = e.m.EmailLoginWithCode(ctx, l.LoginID, code)
				}
				if err == nil {
					mu.Lock()
					wins++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if wins != 1 {
			t.Fatalf("%d logins from one email login, want 1", wins)
		}
	})

	// SECURITY.md #15: an unknown or disabled email gets the same answer
	// and nothing is stored or mailed.
	t.Run("unknown_email_answers_the_same_and_sends_nothing", func(t *testing.T) {
		e := newEnv(t, withPasswordless)
		e.register(t, "ada@example.com")
		known, _, _ := e.emailLogin(t, ctx, "ada@example.com")
		sent := len(e.mail.Messages())
		unknown, token, _ := e.emailLogin(t, ctx, "nobody@example.com")
		if token != "" || len(e.mail.Messages()) != sent {
			t.Fatal("an unknown email was mailed")
		}
		if len(unknown.LoginID) != len(known.LoginID) || unknown.LoginID == known.LoginID || !unknown.ExpiresAt.Equal(known.ExpiresAt) {
			t.Errorf("answers differ in shape: %+v and %+v", known, unknown)
		}
		// Its login ID never succeeds, with any code.
		_, err := e.m.EmailLoginWithCode(ctx, unknown.LoginID, "000000")
		wantErr(t, "the unknown email's login ID", err, auth.ErrInvalidEmailLogin)
		evs := e.events.ofType(auth.EventEmailLoginRequested)
		if last := evs[len(evs)-1]; last.Reason != "unknown_email" || last.UserID != "" {
			t.Errorf("event for an unknown email = %+v", last)
		}
	})

	t.Run("answers_before_the_mail_is_delivered", func(t *testing.T) {
		// The mailer holds every delivery until released: RequestEmailLogin
		// returning while the delivery is held proves that the answer does
		// not wait for the lookup, the store write and the mail (whose
		// time would tell whether the address has an account).
		held := &blockingMailer{release: make(chan struct{}), started: make(chan struct{}, 1)}
		e := newEnv(t, withPasswordless, func(c *auth.Config) { c.Mailer = held })
		e.register(t, "ada@example.com")
		done := make(chan error, 1)
		go func() {
			_, err := e.m.RequestEmailLogin(ctx, "ada@example.com")
			done <- err
		}()
		select {
		case err := <-done:
			wantErr(t, "RequestEmailLogin", err, nil)
		case <-time.After(10 * time.Second):
			close(held.release)
			t.Fatal("RequestEmailLogin waits for the mail delivery")
		}
		select {
		case <-held.started:
		case <-time.After(10 * time.Second):
			t.Fatal("the sign-in mail was never sent")
		}
		close(held.release)
		e.flush(t)
	})

	// SECURITY.md #51: the code lives 10 minutes, the link 15.
	t.Run("code_expires_before_the_link", func(t *testing.T) {
		e := newEnv(t, withPasswordless)
		e.register(t, "ada@example.com")
		l, token, code := e.emailLogin(t, ctx, "ada@example.com")
		e.clock.Advance(10 * time.Minute)
		_, err := e.m.EmailLoginWithCode(ctx, l.LoginID, code)
		wantErr(t, "the code at 10 minutes", err, auth.ErrInvalidEmailLogin)
		e.clock.Advance(5*time.Minute - time.Second)
		_, err = e.m.EmailLoginWithLink(ctx, token)
		wantErr(t, "the link at 15 minutes - 1 s", err, nil)
	})

	t.Run("link_expires", func(t *testing.T) {
		e := newEnv(t, withPasswordless)
		e.register(t, "ada@example.com")
		_, token, _ := e.emailLogin(t, ctx, "ada@example.com")
		e.clock.Advance(15 * time.Minute)
		_, err := e.m.EmailLoginWithLink(ctx, token)
		wantErr(t, "the link at 15 minutes", err, auth.ErrInvalidEmailLogin)
	})

	// SECURITY.md #23: after 5 wrong codes even the right one fails.
	t.Run("five_wrong_codes_kill_the_code", func(t *testing.T) {
		e := newEnv(t, withPasswordless, noLimits)
		e.register(t, "ada@example.com")
		l, _, code := e.emailLogin(t, ctx, "ada@example.com")
		wrong := wrongCode(code)
		for i := range 5 {
			_, err := e.m.EmailLoginWithCode(ctx, l.LoginID, wrong)
			wantErr(t, "wrong code "+string(rune('1'+i)), err, auth.ErrInvalidCode)
		}
		_, err := e.m.EmailLoginWithCode(ctx, l.LoginID, code)
		wantErr(t, "the right code after 5 wrong ones", err, auth.ErrInvalidEmailLogin)
	})

	// SECURITY.md #23: parallel wrong guesses are evaluated at most 5 times.
	t.Run("parallel_wrong_guesses_are_evaluated_at_most_five_times", func(t *testing.T) {
		e := newEnv(t, withPasswordless, noLimits)
		e.register(t, "ada@example.com")
		l, _, code := e.emailLogin(t, ctx, "ada@example.com")
		wrong := wrongCode(code)
		var wg sync.WaitGroup
		var mu sync.Mutex
		evaluated := 0
		for range 100 {
			wg.Go(func() {
				_, err := e.m.EmailLoginWithCode(ctx, l.LoginID, wrong)
				if errors.Is(err, auth.ErrInvalidCode) {
					mu.Lock()
					evaluated++
					mu.Unlock()
				} else if !errors.Is(err, auth.ErrInvalidEmailLogin) {
					t.Errorf("EmailLoginWithCode: %v", err)
				}
			})
		}
		wg.Wait()
		if evaluated > 5 {
			t.Fatalf("%d wrong codes were compared, want at most 5", evaluated)
		}
	})

	// SECURITY.md #19: wrong codes count against the account like wrong
	// passwords.
	t.Run("wrong_codes_throttle_the_account", func(t *testing.T) {
		e := newEnv(t, withPasswordless, func(c *auth.Config) { c.Limits.MailPerMinute, c.Limits.MailPerHour = -1, -1 })
		e.register(t, "ada@example.com")
		for i := range 5 {
			l, _, code := e.emailLogin(t, ctx, "ada@example.com")
			_, err := e.m.EmailLoginWithCode(ctx, l.LoginID, wrongCode(code))
			wantErr(t, "wrong code "+string(rune('1'+i)), err, auth.ErrInvalidCode)
		}
		_, err := e.m.Login(ctx, "ada@example.com", goodPassword)
		var te *auth.ThrottledError
		if !errors.As(err, &te) {
			t.Fatalf("Login after 5 wrong codes = %v, want ErrThrottled", err)
		}
	})

	t.Run("second_factor_still_asked", func(t *testing.T) {
		e := newEnv(t, withPasswordless, withFactors)
		u := e.enrolled(t, "ada@example.com")
		_, token, _ := e.emailLogin(t, ctx, "ada@example.com")
		res, err := e.m.EmailLoginWithLink(ctx, token)
		wantErr(t, "EmailLoginWithLink", err, nil)
		if res.Challenge == nil || res.Tokens != nil || res.Session != nil {
			t.Fatalf("EmailLoginWithLink of an enrolled user = %+v, want only a challenge", res)
		}
		done, err := e.m.CompleteLogin(ctx, res.Challenge.Token, auth.MethodTOTP, u.code(t, e.clock.Now()))
		wantErr(t, "CompleteLogin", err, nil)
		if done.Tokens == nil {
			t.Fatal("CompleteLogin gave no tokens")
		}
	})

	// An unverified account becomes verified; the password set before
	// anyone proved the address, and its sessions, are gone.
	t.Run("verifies_an_unverified_account_and_drops_its_password", func(t *testing.T) {
		e := newEnv(t, withPasswordless, func(c *auth.Config) { c.Verification.Required = true })
		u := e.register(t, "ada@example.com")
		_, token, _ := e.emailLogin(t, ctx, "ada@example.com")
		res, err := e.m.EmailLoginWithLink(ctx, token)
		wantErr(t, "EmailLoginWithLink", err, nil)
		if !res.User.IsVerified || res.Tokens == nil {
			t.Fatalf("EmailLoginWithLink = %+v, want a verified user with tokens", res.User)
		}
		got, _ := e.store.UserByID(ctx, u.ID)
		if !got.IsVerified || got.PasswordHash != "" {
			t.Errorf("stored user: verified %v, password hash %q; want verified and no password", got.IsVerified, got.PasswordHash)
		}
		_, err = e.m.Login(ctx, "ada@example.com", goodPassword)
		wantErr(t, "Login with the pre-registered password", err, auth.ErrInvalidCredentials)
		e.identity(t, res.Tokens.AccessToken)
	})

	t.Run("disabled_account_gets_nothing", func(t *testing.T) {
		e := newEnv(t, withPasswordless)
		admin, _ := e.superuser(t, "root@example.com")
		u := e.register(t, "ada@example.com")
		// A disabled account is not mailed at all.
		_, err := e.m.UpdateProfile(ctx, admin, auth.ProfileUpdate{UserID: u.ID, IsActive: ptr(false)})
		wantErr(t, "deactivate", err, nil)
		_, token, _ := e.emailLogin(t, ctx, "ada@example.com")
		if token != "" {
			t.Fatal("a disabled account was mailed a login")
		}
	})

	// A login mailed before a password change, a reset or a deactivation
	// is dead.
	t.Run("account_changes_kill_pending_logins", func(t *testing.T) {
		e := newEnv(t, withPasswordless)
		e.register(t, "ada@example.com")
		res := e.login(t, "ada@example.com")
		l, token, code := e.emailLogin(t, ctx, "ada@example.com")
		e.clock.Advance(time.Second)
		id := e.identity(t, res.Tokens.AccessToken)
		wantErr(t, "ChangePassword", e.m.ChangePassword(ctx, id, goodPassword, "another horse battery staple"), nil)
		_, err := e.m.EmailLoginWithCode(ctx, l.LoginID, code)
		wantErr(t, "the code after a password change", err, auth.ErrInvalidEmailLogin)
		_, err = e.m.EmailLoginWithLink(ctx, token)
		wantErr(t, "the link after a password change", err, auth.ErrInvalidEmailLogin)
		// A deactivation, and an email change, do the same.
		admin, _ := e.superuser(t, "root@example.com")
		u := e.register(t, "bob@example.com")
		e.clock.Advance(2 * time.Minute)
		_, token, _ = e.emailLogin(t, ctx, "bob@example.com")
		e.clock.Advance(time.Second)
		_, err = e.m.UpdateProfile(ctx, admin, auth.ProfileUpdate{UserID: u.ID, IsActive: ptr(false)})
		wantErr(t, "deactivate", err, nil)
		_, err = e.m.UpdateProfile(ctx, admin, auth.ProfileUpdate{UserID: u.ID, IsActive: ptr(true)})
		wantErr(t, "reactivate", err, nil)
		_, err = e.m.EmailLoginWithLink(ctx, token)
		wantErr(t, "the link after a deactivation", err, auth.ErrInvalidEmailLogin)
		e.clock.Advance(2 * time.Minute)
		_, token, _ = e.emailLogin(t, ctx, "bob@example.com")
		_, err = e.m.UpdateProfile(ctx, admin, auth.ProfileUpdate{UserID: u.ID, Email: ptr("robert@example.com")})
		wantErr(t, "email change", err, nil)
		_, err = e.m.EmailLoginWithLink(ctx, token)
		wantErr(t, "the link after an email change", err, auth.ErrInvalidEmailLogin)
	})

	// SECURITY.md #22: a second request within a minute answers the same
	// but sends nothing.
	t.Run("mail_is_limited_per_account", func(t *testing.T) {
		e := newEnv(t, withPasswordless)
		e.register(t, "ada@example.com")
		_, first, _ := e.emailLogin(t, ctx, "ada@example.com")
		second, token, _ := e.emailLogin(t, ctx, "ada@example.com")
		if first == "" || token != "" || second.LoginID == "" {
			t.Fatalf("first mailed %v, second mailed %v (answer %+v); want only the first mailed", first != "", token != "", second)
		}
	})

	// SECURITY.md #21: requests are limited per client IP.
	t.Run("requests_are_limited_per_ip", func(t *testing.T) {
		e := newEnv(t, withPasswordless, func(c *auth.Config) { c.Limits.IPEmailLoginsPerHour = 3 })
		ipCtx := auth.ContextWithClient(ctx, auth.Client{IP: mustAddr("192.0.2.7")})
		for i := range 3 {
			if _, err := e.m.RequestEmailLogin(ipCtx, "user"+string(rune('a'+i))+"@example.com"); err != nil {
				t.Fatalf("request %d: %v", i+1, err)
			}
		}
		_, err := e.m.RequestEmailLogin(ipCtx, "userz@example.com")
		var te *auth.ThrottledError
		if !errors.As(err, &te) || te.RetryAfter <= 0 {
			t.Fatalf("4th request = %v, want a ThrottledError", err)
		}
	})

	t.Run("malformed_input", func(t *testing.T) {
		e := newEnv(t, withPasswordless)
		_, err := e.m.RequestEmailLogin(ctx, "not an email")
		wantErr(t, "RequestEmailLogin(bad email)", err, auth.ErrInvalidEmail)
		_, err = e.m.EmailLoginWithLink(ctx, "short")
		wantErr(t, "EmailLoginWithLink(short)", err, auth.ErrInvalidEmailLogin)
		_, err = e.m.EmailLoginWithCode(ctx, "bad id", "123456")
		wantErr(t, "EmailLoginWithCode(bad id)", err, auth.ErrInvalidEmailLogin)
		l, err := e.m.RequestEmailLogin(ctx, "nobody@example.com")
		wantErr(t, "RequestEmailLogin", err, nil)
		_, err = e.m.EmailLoginWithCode(ctx, l.LoginID, "12345")
		wantErr(t, "EmailLoginWithCode(5 digits)", err, auth.ErrInvalidCode)
	})
}
