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

func TestRegister(t *testing.T) {
	t.Run("success", func(t *testing.T) {
		e := newEnv(t)
		u, err := e.m.Register(t.Context(), auth.Registration{Email: "  Ada@Example.COM ", Password: goodPassword, Name: "Ada", Bio: "line one\nline two"})
		if err != nil {
			t.Fatal(err)
		}
		if u.Email != "ada@example.com" || u.Name != "Ada" || !u.IsActive || !u.IsVerified || u.IsSuperuser {
			t.Fatalf("unexpected user %+v", u)
		}
		if u.ID == "" || u.CreatedAt.IsZero() || !u.CreatedAt.Equal(e.clock.Now()) {
			t.Fatalf("ID %q / CreatedAt %v", u.ID, u.CreatedAt)
		}
		stored, err := e.store.UserByID(t.Context(), u.ID)
		if err != nil {
			t.Fatal(err)
		}
		// SECURITY.md #1: only a hash is stored.
		if stored.PasswordHash == "" || strings.Contains(stored.PasswordHash, goodPassword) {
			t.Fatalf("stored hash %q", stored.PasswordHash)
		}
		if evs := e.events.ofType(auth.EventRegister); len(evs) != 1 || evs[0].Outcome != auth.OutcomeSuccess || evs[0].UserID != u.ID {
			t.Fatalf("register events %+v", evs)
		}
		e.flush(t)
		if n := len(e.mail.Messages()); n != 0 {
			t.Fatalf("%d messages sent without verification required", n)
		}
	})

	t.Run("email taken regardless of case", func(t *testing.T) {
		// SECURITY.md #18: normalized emails collide.
		e := newEnv(t)
		e.register(t, "alice@example.com")
		_, err := e.m.Register(t.Context(), auth.Registration{Email: "Alice@Example.COM", Password: goodPassword})
		wantErr(t, "second Register", err, auth.ErrEmailTaken)
	})

	refused := []struct {
		name string
		r    auth.Registration
		want error
	}{
		{"malformed email", auth.Registration{Email: "not-an-email", Password: goodPassword}, auth.ErrInvalidEmail},
		{"email with NUL", auth.Registration{Email: "a\x00@b.example", Password: goodPassword}, auth.ErrInvalidEmail},
		{"short password", auth.Registration{Email: "a@example.com", Password: "short"}, auth.ErrWeakPassword},
		// SECURITY.md #8: the blocklist applies at registration.
		{"common password", auth.Registration{Email: "a@example.com", Password: "password1234567"}, auth.ErrWeakPassword},
		{"password is the email", auth.Registration{Email: "alice.smith@example.com", Password: "alice.smith@example.com"}, auth.ErrWeakPassword},
		// SECURITY.md #6: the hard cap applies before any hashing.
		{"1 MB password", auth.Registration{Email: "a@example.com", Password: strings.Repeat("x", 1<<20)}, auth.ErrPasswordTooLong},
	}
	for _, tt := range refused {
		t.Run("refuses "+tt.name, func(t *testing.T) {
			e := newEnv(t)
			_, err := e.m.Register(t.Context(), tt.r)
			wantErr(t, "Register", err, tt.want)
			if n := e.hasher.calls(); n != 0 {
				t.Fatalf("hasher ran %d times for refused input", n)
			}
			page, err := e.store.ListUsers(t.Context(), store.UserQuery{})
			if err != nil || page.Total != 0 {
				t.Fatalf("store has %v users (err %v)", page, err)
			}
		})
	}

	t.Run("profile fields validated", func(t *testing.T) {
		e := newEnv(t)
		_, err := e.m.Register(t.Context(), auth.Registration{Email: "a@example.com", Password: goodPassword, ProfilePicture: "javascript:alert(1)"})
		var ve *auth.ValidationError
		if !errors.As(err, &ve) || ve.Field != "profile_picture" {
			t.Fatalf("error %v, want a ValidationError on profile_picture", err)
		}
	})

	t.Run("concurrent registrations of one email", func(t *testing.T) {
		// SECURITY.md #70: exactly one account per normalized email.
		e := newEnv(t)
		var ok, taken atomic.Int32
		var wg sync.WaitGroup
		for i := range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				email := "race@example.com"
				if i%2 == 1 {
					email = "RACE@example.com"
				}
				_, err := e.m.Register(context.Background(), auth.Registration{Email: email, Password: goodPassword})
				switch {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, auth.ErrEmailTaken):
					taken.Add(1)
				default:
					t.Errorf("Register: %v", err)
				}
			}()
		}
		wg.Wait()
		if ok.Load() != 1 || taken.Load() != 49 {
			t.Fatalf("%d successes and %d ErrEmailTaken, want 1 and 49", ok.Load(), taken.Load())
		}
	})
}

func requireVerification(c *auth.Config) { c.Verification.Required = true }

func TestEmailVerification(t *testing.T) {
	t.Run("code with email", func(t *testing.T) {
		e := newEnv(t, requireVerification, func(c *auth.Config) { c.BaseURL = "https://app.example.com/" })
		u := e.register(t, "v@example.com")
		if u.IsVerified {
			t.Fatal("new user is verified")
		}
		msg := e.lastMailTo(t, "v@example.com", mail.KindVerifyEmail)
		if !strings.Contains(msg.Text, "https://app.example.com/verify-email?token="+tokenIn(t, msg)) {
			t.Fatalf("verification mail has no link built from BaseURL:\n%s", msg.Text)
		}
		// SECURITY.md #52: the unverified user cannot log in, and learns why
		// only with the right password.
		_, err := e.m.Login(t.Context(), "v@example.com", goodPassword)
		wantErr(t, "Login before verification", err, auth.ErrEmailNotVerified)
		_, err = e.m.Login(t.Context(), "v@example.com", "wrong password entirely")
		wantErr(t, "Login with wrong password", err, auth.ErrInvalidCredentials)

		got, err := e.m.VerifyEmail(t.Context(), auth.Verification{Email: "V@Example.com", Code: codeIn(t, msg)})
		if err != nil || !got.IsVerified {
			t.Fatalf("VerifyEmail: %v, %+v", err, got)
		}
		e.login(t, "v@example.com")
		// Single use.
		_, err = e.m.VerifyEmail(t.Context(), auth.Verification{Email: "v@example.com", Code: codeIn(t, msg)})
		wantErr(t, "second VerifyEmail", err, auth.ErrInvalidCode)
	})

	t.Run("token alone", func(t *testing.T) {
		e := newEnv(t, requireVerification)
		e.register(t, "v@example.com")
		msg := e.lastMailTo(t, "v@example.com", mail.KindVerifyEmail)
		got, err := e.m.VerifyEmail(t.Context(), auth.Verification{Code: tokenIn(t, msg)})
		if err != nil || !got.IsVerified {
			t.Fatalf("VerifyEmail with the token: %v", err)
		}
	})

	t.Run("short code needs the email", func(t *testing.T) {
		e := newEnv(t, requireVerification)
		e.register(t, "v@example.com")
		msg := e.lastMailTo(t, "v@example.com", mail.KindVerifyEmail)
		_, err := e.m.VerifyEmail(t.Context(), auth.Verification{Code: codeIn(t, msg)})
		wantErr(t, "code alone", err, auth.ErrInvalidCode)
		_, err = e.m.VerifyEmail(t.Context(), auth.Verification{Email: "other@example.com", Code: codeIn(t, msg)})
		wantErr(t, "code with another email", err, auth.ErrInvalidCode)
	})

	t.Run("five wrong codes kill the code", func(t *testing.T) {
		// SECURITY.md #23: after 5 wrong guesses the right code fails.
		e := newEnv(t, requireVerification)
		e.register(t, "v@example.com")
		code := codeIn(t, e.lastMailTo(t, "v@example.com", mail.KindVerifyEmail))
		wrong := wrongCode(code)
		for i := range 5 {
			_, err := e.m.VerifyEmail(t.Context(), auth.Verification{Email: "v@example.com", Code: wrong})
			wantErr(t, "wrong code "+string(rune('1'+i)), err, auth.ErrInvalidCode)
		}
		_, err := e.m.VerifyEmail(t.Context(), auth.Verification{Email: "v@example.com", Code: code})
		wantErr(t, "right code after 5 wrong", err, auth.ErrInvalidCode)
	})

	t.Run("four wrong codes then the right one", func(t *testing.T) {
		e := newEnv(t, requireVerification)
		e.register(t, "v@example.com")
		code := codeIn(t, e.lastMailTo(t, "v@example.com", mail.KindVerifyEmail))
		for range 4 {
			e.m.VerifyEmail(t.Context(), auth.Verification{Email: "v@example.com", Code: wrongCode(code)})
		}
		if _, err := e.m.VerifyEmail(t.Context(), auth.Verification{Email: "v@example.com", Code: code}); err != nil {
			t.Fatalf("right code on the 5th attempt: %v", err)
		}
	})

	t.Run("parallel wrong guesses are evaluated at most five times", func(t *testing.T) {
		// SECURITY.md #23: attempts are counted atomically.
		counting := &countingStore{Store: memstore.New()}
		e2 := newEnv(t, requireVerification, func(c *auth.Config) { c.Store = counting })
		e2.register(t, "v@example.com")
		code := codeIn(t, e2.lastMailTo(t, "v@example.com", mail.KindVerifyEmail))
		var wg sync.WaitGroup
		for range 100 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				e2.m.VerifyEmail(context.Background(), auth.Verification{Email: "v@example.com", Code: wrongCode(code)})
			}()
		}
		wg.Wait()
		if n := counting.reserved.Load(); n != 5 {
			t.Fatalf("%d code evaluations, want exactly 5", n)
		}
		_, err := e2.m.VerifyEmail(t.Context(), auth.Verification{Email: "v@example.com", Code: code})
		wantErr(t, "right code after the flood", err, auth.ErrInvalidCode)
	})

	t.Run("code expires before the link", func(t *testing.T) {
		// SECURITY.md #51: code ≤ 10 min, link ≤ 24 h, boundaries exact.
		e := newEnv(t, requireVerification)
		e.register(t, "v@example.com")
		msg := e.lastMailTo(t, "v@example.com", mail.KindVerifyEmail)
		e.clock.Advance(auth.DefaultVerificationCodeTTL)
		_, err := e.m.VerifyEmail(t.Context(), auth.Verification{Email: "v@example.com", Code: codeIn(t, msg)})
		wantErr(t, "code at its expiry", err, auth.ErrInvalidCode)
		e.clock.Advance(auth.DefaultVerificationLinkTTL - auth.DefaultVerificationCodeTTL - time.Second)
		if _, err := e.m.VerifyEmail(t.Context(), auth.Verification{Code: tokenIn(t, msg)}); err != nil {
			t.Fatalf("token 1 s before its expiry: %v", err)
		}
	})

	t.Run("link expires", func(t *testing.T) {
		e := newEnv(t, requireVerification)
		e.register(t, "v@example.com")
		msg := e.lastMailTo(t, "v@example.com", mail.KindVerifyEmail)
		e.clock.Advance(auth.DefaultVerificationLinkTTL)
		_, err := e.m.VerifyEmail(t.Context(), auth.Verification{Code: tokenIn(t, msg)})
		wantErr(t, "token at its expiry", err, auth.ErrInvalidCode)
	})

	t.Run("resend replaces the old code", func(t *testing.T) {
		e := newEnv(t, requireVerification)
		e.register(t, "v@example.com")
		first := e.lastMailTo(t, "v@example.com", mail.KindVerifyEmail)
		e.clock.Advance(time.Minute) // past the per-account mail limit
		if err := e.m.ResendVerification(t.Context(), "v@example.com"); err != nil {
			t.Fatal(err)
		}
		e.flush(t)
		msgs := e.mail.Messages()
		if len(msgs) != 2 {
			t.Fatalf("%d messages, want 2", len(msgs))
		}
		second := msgs[1]
		_, err := e.m.VerifyEmail(t.Context(), auth.Verification{Code: tokenIn(t, first)})
		wantErr(t, "first token after resend", err, auth.ErrInvalidCode)
		if _, err := e.m.VerifyEmail(t.Context(), auth.Verification{Code: tokenIn(t, second)}); err != nil {
			t.Fatalf("second token: %v", err)
		}
	})

	t.Run("resend reveals nothing", func(t *testing.T) {
		// SECURITY.md #15: same answer for unknown, verified and unverified.
		e := newEnv(t, requireVerification)
		e.register(t, "v@example.com")
		e.flush(t)
		e.clock.Advance(time.Minute) // past the per-account mail limit
		for _, email := range []string{"v@example.com", "nobody@example.com"} {
			if err := e.m.ResendVerification(t.Context(), email); err != nil {
				t.Fatalf("ResendVerification(%s): %v", email, err)
			}
		}
		e.flush(t)
		if n := len(e.mail.Messages()); n != 2 {
			t.Fatalf("%d messages, want 2 (registration and one resend)", n)
		}
	})

	t.Run("not required", func(t *testing.T) {
		e := newEnv(t)
		e.register(t, "v@example.com")
		_, err := e.m.VerifyEmail(t.Context(), auth.Verification{Email: "v@example.com", Code: "123456"})
		wantErr(t, "VerifyEmail", err, auth.ErrVerificationNotRequired)
		wantErr(t, "ResendVerification", e.m.ResendVerification(t.Context(), "v@example.com"), auth.ErrVerificationNotRequired)
		wantErr(t, "ResendVerification of a malformed address", e.m.ResendVerification(t.Context(), "not an address"), auth.ErrInvalidEmail)
	})

	t.Run("tokens are bound to their purpose", func(t *testing.T) {
		// SECURITY.md #45: a reset token fails at verify-email and the reverse.
		e := newEnv(t, requireVerification)
		e.register(t, "v@example.com")
		verify := tokenIn(t, e.lastMailTo(t, "v@example.com", mail.KindVerifyEmail))
		if err := e.m.RequestPasswordReset(t.Context(), "v@example.com"); err != nil {
			t.Fatal(err)
		}
		reset := tokenIn(t, e.lastMailTo(t, "v@example.com", mail.KindResetPassword))
		_, err := e.m.VerifyEmail(t.Context(), auth.Verification{Code: reset})
		wantErr(t, "reset token at verify", err, auth.ErrInvalidCode)
		wantErr(t, "verify token at reset", e.m.ResetPassword(t.Context(), verify, "a brand new passphrase"), auth.ErrTokenInvalid)
		// Both still work for their own purpose.
		if _, err := e.m.VerifyEmail(t.Context(), auth.Verification{Code: verify}); err != nil {
			t.Fatalf("verify token: %v", err)
		}
		if err := e.m.ResetPassword(t.Context(), reset, "a brand new passphrase"); err != nil {
			t.Fatalf("reset token: %v", err)
		}
	})
}

// wrongCode returns a 6-digit code different from code.
func wrongCode(code string) string {
	b := []byte(code)
	b[0] = '0' + (b[0]-'0'+1)%10
	return string(b)
}

// countingStore counts successful code reservations.
type countingStore struct {
	store.Store
	reserved atomic.Int64
}

func (s *countingStore) ReserveCodeAttempt(ctx context.Context, userID string, p store.Purpose, now time.Time, max int) (*store.Secret, error) {
	sec, err := s.Store.ReserveCodeAttempt(ctx, userID, p, now, max)
	if err == nil {
		s.reserved.Add(1)
	}
	return sec, err
}
