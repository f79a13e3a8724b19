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
	"github.com/gatehouse-go/gatehouse/auth/password"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/store"
)

const newPassword = "an entirely different passphrase"

func TestChangePassword(t *testing.T) {
	setup := func(t *testing.T) (*env, *auth.LoginResult, *auth.LoginResult) {
		e := newEnv(t)
		e.register(t, "ada@example.com")
		return e, e.login(t, "ada@example.com"), e.login(t, "ada@example.com")
	}
	t.Run("ends other sessions, keeps this one", func(t *testing.T) {
		// SECURITY.md #42.
		e, a, b := setup(t)
		e.clock.Advance(time.Second)
		if err := e.m.ChangePassword(t.Context(), e.identity(t, a.Tokens.AccessToken), goodPassword, newPassword); err != nil {
			t.Fatal(err)
		}
		_, err := e.m.Authenticate(t.Context(), b.Tokens.AccessToken)
		wantErr(t, "B's access token", err, auth.ErrTokenInvalid)
		_, err = e.m.Refresh(t.Context(), b.Tokens.RefreshToken)
		wantErr(t, "B's refresh token", err, auth.ErrTokenInvalid)
		e.identity(t, a.Tokens.AccessToken)
		if _, err := e.m.Refresh(t.Context(), a.Tokens.RefreshToken); err != nil {
			t.Fatalf("A's refresh token: %v", err)
		}
		_, err = e.m.Login(t.Context(), "ada@example.com", goodPassword)
		wantErr(t, "old password", err, auth.ErrInvalidCredentials)
		if _, err := e.m.Login(t.Context(), "ada@example.com", newPassword); err != nil {
			t.Fatalf("new password: %v", err)
		}
		e.lastMailTo(t, "ada@example.com", mail.KindPasswordChanged)
	})
	t.Run("needs the current password", func(t *testing.T) {
		// SECURITY.md #53.
		e, a, _ := setup(t)
		id := e.identity(t, a.Tokens.AccessToken)
		for _, current := range []string{"", "wrong password here"} {
			wantErr(t, "ChangePassword", e.m.ChangePassword(t.Context(), id, current, newPassword), auth.ErrInvalidPassword)
		}
		e.login(t, "ada@example.com")
	})
	t.Run("policy applies", func(t *testing.T) {
		// SECURITY.md #8: same reason as at registration.
		e, a, _ := setup(t)
		err := e.m.ChangePassword(t.Context(), e.identity(t, a.Tokens.AccessToken), goodPassword, "password1234567")
		var pe *password.PolicyError
		if !errors.As(err, &pe) || pe.Reason != password.Common {
			t.Fatalf("error %v, want a PasswordError with reason common", err)
		}
	})
	t.Run("kills pending reset tokens", func(t *testing.T) {
		// SECURITY.md #46.
		e, a, _ := setup(t)
		e.m.RequestPasswordReset(t.Context(), "ada@example.com")
		reset := tokenIn(t, e.lastMailTo(t, "ada@example.com", mail.KindResetPassword))
		if err := e.m.ChangePassword(t.Context(), e.identity(t, a.Tokens.AccessToken), goodPassword, newPassword); err != nil {
			t.Fatal(err)
		}
		wantErr(t, "reset token after a change", e.m.ResetPassword(t.Context(), reset, "yet another fine passphrase"), auth.ErrTokenInvalid)
	})
	t.Run("unauthenticated", func(t *testing.T) {
		e, _, _ := setup(t)
		wantErr(t, "ChangePassword(nil)", e.m.ChangePassword(t.Context(), nil, goodPassword, newPassword), auth.ErrUnauthenticated)
	})
}

func TestPasswordReset(t *testing.T) {
	request := func(t *testing.T, e *env, email string) string {
		t.Helper()
		if err := e.m.RequestPasswordReset(t.Context(), email); err != nil {
			t.Fatal(err)
		}
		return tokenIn(t, e.lastMailTo(t, email, mail.KindResetPassword))
	}
	t.Run("complete flow", func(t *testing.T) {
		// SECURITY.md #47 and #48.
		e := newEnv(t, func(c *auth.Config) { c.BaseURL = "https://app.example.com" })
		e.register(t, "ada@example.com")
		session := e.login(t, "ada@example.com")
		token := request(t, e, "ada@example.com")
		msg := e.lastMailTo(t, "ada@example.com", mail.KindResetPassword)
		if want := "https://app.example.com/reset-password?token=" + token; !strings.Contains(msg.Text, want) {
			t.Fatalf("reset mail lacks %s:\n%s", want, msg.Text)
		}
		// Requesting changed nothing.
		e.login(t, "ada@example.com")
		e.identity(t, session.Tokens.AccessToken)

		if err := e.m.ResetPassword(t.Context(), token, newPassword); err != nil {
			t.Fatal(err)
		}
		_, err := e.m.Authenticate(t.Context(), session.Tokens.AccessToken)
		wantErr(t, "old access token", err, auth.ErrTokenInvalid)
		_, err = e.m.Refresh(t.Context(), session.Tokens.RefreshToken)
		wantErr(t, "old refresh token", err, auth.ErrTokenInvalid)
		_, err = e.m.Login(t.Context(), "ada@example.com", goodPassword)
		wantErr(t, "old password", err, auth.ErrInvalidCredentials)
		if _, err := e.m.Login(t.Context(), "ada@example.com", newPassword); err != nil {
			t.Fatalf("new password: %v", err)
		}
		e.lastMailTo(t, "ada@example.com", mail.KindPasswordChanged)
		// SECURITY.md #45: single use.
		wantErr(t, "second use", e.m.ResetPassword(t.Context(), token, "yet another fine passphrase"), auth.ErrTokenInvalid)
	})
	t.Run("unknown email answers the same and sends nothing", func(t *testing.T) {
		// SECURITY.md #15.
		e := newEnv(t)
		if err := e.m.RequestPasswordReset(t.Context(), "nobody@example.com"); err != nil {
			t.Fatalf("unknown email: %v", err)
		}
		e.flush(t)
		if n := len(e.mail.Messages()); n != 0 {
			t.Fatalf("%d messages for an unknown email", n)
		}
		if evs := e.events.ofType(auth.EventResetRequested); len(evs) != 1 || evs[0].Reason != "unknown_email" {
			t.Fatalf("events %+v", evs)
		}
	})
	t.Run("answers before the mail is delivered", func(t *testing.T) {
		// SECURITY.md #15: delivery happens off the request path, so a slow
		// or failing mailer cannot change the answer.
		blocking := &blockingMailer{release: make(chan struct{}), started: make(chan struct{}, 1)}
		e := newEnv(t, func(c *auth.Config) { c.Mailer = blocking; c.Mail.Attempts = 1 })
		e.register(t, "ada@example.com")
		if err := e.m.RequestPasswordReset(t.Context(), "ada@example.com"); err != nil {
			t.Fatal(err)
		}
		<-blocking.started // the mailer is now stuck inside Send
		if err := e.m.RequestPasswordReset(t.Context(), "nobody@example.com"); err != nil {
			t.Fatal(err)
		}
		close(blocking.release)
	})
	t.Run("expiry boundary", func(t *testing.T) {
		// SECURITY.md #45: valid at 30 min − 1 s, invalid at 30 min.
		e := newEnv(t)
		e.register(t, "ada@example.com")
		token := request(t, e, "ada@example.com")
		e.clock.Advance(auth.DefaultResetTokenTTL - time.Second)
		if err := e.m.ResetPassword(t.Context(), token, newPassword); err != nil {
			t.Fatalf("1 s before expiry: %v", err)
		}
		token = request(t, e, "ada@example.com")
		e.clock.Advance(auth.DefaultResetTokenTTL)
		wantErr(t, "at expiry", e.m.ResetPassword(t.Context(), token, "yet another fine passphrase"), auth.ErrTokenInvalid)
	})
	t.Run("a newer request replaces the older token", func(t *testing.T) {
		e := newEnv(t)
		e.register(t, "ada@example.com")
		first := request(t, e, "ada@example.com")
		e.clock.Advance(time.Minute) // past the per-account mail limit
		second := request(t, e, "ada@example.com")
		wantErr(t, "older token", e.m.ResetPassword(t.Context(), first, newPassword), auth.ErrTokenInvalid)
		if err := e.m.ResetPassword(t.Context(), second, newPassword); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("weak password refused, token kept", func(t *testing.T) {
		// SECURITY.md #8 and #48.
		e := newEnv(t)
		e.register(t, "alice@example.com")
		token := request(t, e, "alice@example.com")
		for _, pw := range []string{"password1234567", "alice@example.com", "short"} {
			err := e.m.ResetPassword(t.Context(), token, pw)
			wantErr(t, "ResetPassword("+pw+")", err, auth.ErrWeakPassword)
		}
		if err := e.m.ResetPassword(t.Context(), token, newPassword); err != nil {
			t.Fatalf("token after refused passwords: %v", err)
		}
	})
	t.Run("double spend", func(t *testing.T) {
		// SECURITY.md #69: 50 redemptions with different passwords, one
		// winner, and the final password is the winner's.
		e := newEnv(t)
		e.register(t, "ada@example.com")
		token := request(t, e, "ada@example.com")
		var wins atomic.Int32
		var winner atomic.Value
		var wg sync.WaitGroup
		for i := range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				pw := "winning passphrase number " + string(rune('A'+i))
				if err := e.m.ResetPassword(context.Background(), token, pw); err == nil {
					wins.Add(1)
					winner.Store(pw)
				} else if !errors.Is(err, auth.ErrTokenInvalid) {
					t.Errorf("ResetPassword: %v", err)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d winners, want 1", wins.Load())
		}
		if _, err := e.m.Login(t.Context(), "ada@example.com", winner.Load().(string)); err != nil {
			t.Fatalf("the winner's password: %v", err)
		}
	})
	t.Run("malformed email", func(t *testing.T) {
		e := newEnv(t)
		wantErr(t, "RequestPasswordReset", e.m.RequestPasswordReset(t.Context(), "no at sign"), auth.ErrInvalidEmail)
	})
	t.Run("mail goes to the stored address", func(t *testing.T) {
		// SECURITY.md #18: the recipient is the stored address, whatever
		// form the request used.
		e := newEnv(t)
		e.register(t, "ada@example.com")
		e.m.RequestPasswordReset(t.Context(), " ADA@EXAMPLE.COM ")
		e.flush(t)
		msgs := e.mail.Messages()
		if len(msgs) != 1 || msgs[0].To[0].Email != "ada@example.com" {
			t.Fatalf("messages %+v", msgs)
		}
	})
}

// blockingMailer blocks every Send until release is closed.
type blockingMailer struct {
	release chan struct{}
	started chan struct{}
}

func (b *blockingMailer) Send(ctx context.Context, m mail.Message) error {
	select {
	case b.started <- struct{}{}:
	default:
	}
	<-b.release
	return nil
}

func TestMailRetriesAndFlush(t *testing.T) {
	t.Run("failed deliveries are retried", func(t *testing.T) {
		e := newEnv(t, requireVerification)
		e.mail.FailNext(errors.New("smtp: 451 try later"), 2)
		e.register(t, "ada@example.com")
		msg := e.lastMailTo(t, "ada@example.com", mail.KindVerifyEmail)
		if msg.Subject == "" {
			t.Fatal("delivered message has no subject")
		}
		if !strings.Contains(e.logs.String(), "mail delivery failed") {
			t.Fatal("failed attempts were not logged")
		}
	})
	t.Run("flush reports work still pending", func(t *testing.T) {
		blocking := &blockingMailer{release: make(chan struct{}), started: make(chan struct{}, 1)}
		e := newEnv(t, requireVerification, func(c *auth.Config) { c.Mailer = blocking })
		e.register(t, "ada@example.com")
		<-blocking.started
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := e.m.Flush(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("Flush with pending mail = %v, want context.Canceled", err)
		}
		if !strings.Contains(e.logs.String(), "flush ended with work pending") {
			t.Fatal("pending work was not logged")
		}
		close(blocking.release)
	})
}

func TestDeleteUser(t *testing.T) {
	t.Run("self with password", func(t *testing.T) {
		// SECURITY.md #56.
		e := newEnv(t)
		u := e.register(t, "ada@example.com")
		res := e.login(t, "ada@example.com")
		id := e.identity(t, res.Tokens.AccessToken)
		wantErr(t, "no password", e.m.DeleteUser(t.Context(), id, "", ""), auth.ErrInvalidPassword)
		wantErr(t, "wrong password", e.m.DeleteUser(t.Context(), id, u.ID, "wrong password here"), auth.ErrInvalidPassword)
		if err := e.m.DeleteUser(t.Context(), id, u.ID, goodPassword); err != nil {
			t.Fatal(err)
		}
		_, err := e.m.Authenticate(t.Context(), res.Tokens.AccessToken)
		wantErr(t, "old access token", err, auth.ErrTokenInvalid)
		_, err = e.m.Refresh(t.Context(), res.Tokens.RefreshToken)
		wantErr(t, "old refresh token", err, auth.ErrTokenInvalid)
		again := e.register(t, "ada@example.com")
		if again.ID == u.ID {
			t.Fatal("re-registration reused the deleted user's ID")
		}
		_, err = e.m.Authenticate(t.Context(), res.Tokens.AccessToken)
		wantErr(t, "old access token after re-registration", err, auth.ErrTokenInvalid)
	})
	t.Run("not someone else", func(t *testing.T) {
		// SECURITY.md #57.
		e := newEnv(t)
		a := e.register(t, "a@example.com")
		b := e.register(t, "b@example.com")
		id := e.identity(t, e.login(t, "a@example.com").Tokens.AccessToken)
		wantErr(t, "delete B", e.m.DeleteUser(t.Context(), id, b.ID, goodPassword), auth.ErrForbidden)
		if _, err := e.store.UserByID(t.Context(), b.ID); err != nil {
			t.Fatalf("B after A's attempt: %v", err)
		}
		if evs := e.events.ofType(auth.EventForbidden); len(evs) != 1 || evs[0].ActorID != a.ID || evs[0].UserID != b.ID {
			t.Fatalf("forbidden events %+v", evs)
		}
	})
	t.Run("superuser deletes anyone without their password", func(t *testing.T) {
		e := newEnv(t)
		admin, _ := e.superuser(t, "root@example.com")
		b := e.register(t, "b@example.com")
		if err := e.m.DeleteUser(t.Context(), admin, b.ID, ""); err != nil {
			t.Fatal(err)
		}
		wantErr(t, "unknown user", e.m.DeleteUser(t.Context(), admin, b.ID, ""), auth.ErrNotFound)
	})
	t.Run("last superuser cannot delete itself", func(t *testing.T) {
		e := newEnv(t)
		admin, _ := e.superuser(t, "root@example.com")
		wantErr(t, "DeleteUser", e.m.DeleteUser(t.Context(), admin, "", goodPassword), auth.ErrLastSuperuser)
		e.superuser(t, "root2@example.com")
		if err := e.m.DeleteUser(t.Context(), admin, "", goodPassword); err != nil {
			t.Fatalf("with a second superuser: %v", err)
		}
	})
}

// A deleted account's address is told, once the account is gone: who
// deleted it (the user or an administrator, never named), and nothing when
// the delete fails.
func TestDeleteUserNotice(t *testing.T) {
	deletedMails := func(t *testing.T, e *env) []mail.Message {
		t.Helper()
		e.flush(t)
		var out []mail.Message
		for _, m := range e.mail.Messages() {
			if m.Kind == mail.KindAccountDeleted {
				out = append(out, m)
			}
		}
		return out
	}
	t.Run("self", func(t *testing.T) {
		e := newEnv(t)
		u := e.register(t, "ada@example.com")
		if _, err := e.m.UpdateProfile(t.Context(), e.identity(t, e.login(t, "ada@example.com").Tokens.AccessToken), auth.ProfileUpdate{Name: ptr("Ada Lovelace")}); err != nil {
			t.Fatal(err)
		}
		id := e.identity(t, e.login(t, "ada@example.com").Tokens.AccessToken)
		wantErr(t, "wrong password", e.m.DeleteUser(t.Context(), id, "", "wrong password here"), auth.ErrInvalidPassword)
		wantErr(t, "no password", e.m.DeleteUser(t.Context(), id, u.ID, ""), auth.ErrInvalidPassword)
		if got := deletedMails(t, e); len(got) != 0 {
			t.Fatalf("a failed delete mailed %d notices", len(got))
		}
		if err := e.m.DeleteUser(t.Context(), id, "", goodPassword); err != nil {
			t.Fatal(err)
		}
		got := deletedMails(t, e)
		if len(got) != 1 {
			t.Fatalf("%d account_deleted mails, want 1", len(got))
		}
		m := got[0]
		if len(m.To) != 1 || m.To[0] != (mail.Address{Name: "Ada Lovelace", Email: "ada@example.com"}) {
			t.Errorf("notice to %v, want Ada Lovelace <ada@example.com>", m.To)
		}
		if !strings.Contains(m.Text, "If you deleted it") || strings.Contains(m.Text, "administrator") {
			t.Errorf("self-deletion notice:\n%s", m.Text)
		}
	})
	t.Run("by a superuser", func(t *testing.T) {
		e := newEnv(t)
		admin, _ := e.superuser(t, "root@example.com")
		b := e.register(t, "b@example.com")
		if err := e.m.DeleteUser(t.Context(), admin, b.ID, ""); err != nil {
			t.Fatal(err)
		}
		got := deletedMails(t, e)
		if len(got) != 1 || len(got[0].To) != 1 || got[0].To[0].Email != "b@example.com" {
			t.Fatalf("account_deleted mails %+v, want one to b@example.com", got)
		}
		m := got[0]
		if !strings.Contains(m.Text, "by an administrator") || strings.Contains(m.Text, "If you deleted it") {
			t.Errorf("notice does not say an administrator deleted the account:\n%s", m.Text)
		}
		for _, part := range []string{m.Subject, m.Text, m.HTML} {
			if strings.Contains(part, "root@example.com") || strings.Contains(part, admin.User.ID) {
				t.Errorf("notice names the superuser:\n%s", part)
			}
		}
		// Deleting the user again fails, and mails nothing more.
		wantErr(t, "again", e.m.DeleteUser(t.Context(), admin, b.ID, ""), auth.ErrNotFound)
		if got := deletedMails(t, e); len(got) != 1 {
			t.Fatalf("%d account_deleted mails after a failed second delete, want 1", len(got))
		}
	})
	t.Run("refused", func(t *testing.T) {
		e := newEnv(t)
		admin, _ := e.superuser(t, "root@example.com")
		wantErr(t, "last superuser", e.m.DeleteUser(t.Context(), admin, "", goodPassword), auth.ErrLastSuperuser)
		other := e.register(t, "other@example.com")
		id := e.identity(t, e.login(t, "other@example.com").Tokens.AccessToken)
		wantErr(t, "someone else", e.m.DeleteUser(t.Context(), id, admin.User.ID, goodPassword), auth.ErrForbidden)
		if got := deletedMails(t, e); len(got) != 0 {
			t.Fatalf("refused deletes mailed %d notices", len(got))
		}
		if _, err := e.store.UserByID(t.Context(), other.ID); err != nil {
			t.Fatal(err)
		}
	})
}

func TestEnsureSuperuser(t *testing.T) {
	t.Run("fresh store has none", func(t *testing.T) {
		// SECURITY.md #60: no default admin.
		e := newEnv(t)
		e.register(t, "ada@example.com")
		page, _ := e.store.ListUsers(t.Context(), store.UserQuery{})
		for _, s := range page.Users {
			if s.User.IsSuperuser {
				t.Fatalf("superuser %s exists without configuration", s.User.Email)
			}
		}
	})
	t.Run("idempotent, keeps a changed password", func(t *testing.T) {
		e := newEnv(t)
		u, err := e.m.EnsureSuperuser(t.Context(), "root@example.com", goodPassword)
		if err != nil || !u.IsSuperuser || !u.IsActive || !u.IsVerified {
			t.Fatalf("EnsureSuperuser: %v %+v", err, u)
		}
		id := e.identity(t, e.login(t, "root@example.com").Tokens.AccessToken)
		if err := e.m.ChangePassword(t.Context(), id, goodPassword, newPassword); err != nil {
			t.Fatal(err)
		}
		again, err := e.m.EnsureSuperuser(t.Context(), "Root@Example.com", goodPassword)
		if err != nil || again.ID != u.ID {
			t.Fatalf("second EnsureSuperuser: %v, %v", err, again)
		}
		if _, err := e.m.Login(t.Context(), "root@example.com", newPassword); err != nil {
			t.Fatalf("changed password after EnsureSuperuser: %v", err)
		}
	})
	t.Run("promotes an existing user", func(t *testing.T) {
		e := newEnv(t)
		u := e.register(t, "ada@example.com")
		got, err := e.m.EnsureSuperuser(t.Context(), "ada@example.com", newPassword)
		if err != nil || got.ID != u.ID || !got.IsSuperuser {
			t.Fatalf("EnsureSuperuser on an existing user: %v %+v", err, got)
		}
	})
	t.Run("weak password refused", func(t *testing.T) {
		e := newEnv(t)
		_, err := e.m.EnsureSuperuser(t.Context(), "root@example.com", "admin")
		wantErr(t, "EnsureSuperuser", err, auth.ErrWeakPassword)
		if _, err := e.store.UserByEmail(t.Context(), "root@example.com"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a weak password created the account: %v", err)
		}
	})
	// The doc promises the policy in every case: an existing account,
	// whose password EnsureSuperuser leaves alone, is not promoted on a
	// weak or empty password either.
	for _, weak := range []string{"admin", "", "ada@example.com"} {
		t.Run("weak password refused for an existing user/"+weak, func(t *testing.T) {
			e := newEnv(t)
			e.register(t, "ada@example.com")
			_, err := e.m.EnsureSuperuser(t.Context(), "ada@example.com", weak)
			wantErr(t, "EnsureSuperuser", err, auth.ErrWeakPassword)
			u, err := e.store.UserByEmail(t.Context(), "ada@example.com")
			if err != nil || u.IsSuperuser {
				t.Fatalf("after a refused EnsureSuperuser: %v, superuser %v", err, u != nil && u.IsSuperuser)
			}
		})
	}
}

func TestForcePasswordReset(t *testing.T) {
	// SECURITY.md #10: after a forced reset the password fails, every
	// session ends, and the mailed link sets a new password.
	e := newEnv(t)
	admin, _ := e.superuser(t, "root@example.com")
	u := e.register(t, "ada@example.com")
	res := e.login(t, "ada@example.com")
	user := e.identity(t, res.Tokens.AccessToken)
	wantErr(t, "by a user", e.m.ForcePasswordReset(t.Context(), user, u.ID), auth.ErrForbidden)
	if err := e.m.ForcePasswordReset(t.Context(), admin, u.ID); err != nil {
		t.Fatal(err)
	}
	_, err := e.m.Authenticate(t.Context(), res.Tokens.AccessToken)
	wantErr(t, "old session", err, auth.ErrTokenInvalid)
	_, err = e.m.Login(t.Context(), "ada@example.com", goodPassword)
	wantErr(t, "old password", err, auth.ErrInvalidCredentials)
	token := tokenIn(t, e.lastMailTo(t, "ada@example.com", mail.KindResetPassword))
	if err := e.m.ResetPassword(t.Context(), token, newPassword); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Login(t.Context(), "ada@example.com", newPassword); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "unknown user", e.m.ForcePasswordReset(t.Context(), admin, "00000000-0000-4000-8000-000000000000"), auth.ErrNotFound)
}

// gatedLookups holds UserByEmail calls, once armed, until released: the
// Manager's background work then runs after the clock has moved on.
type gatedLookups struct {
	store.Store
	gate atomic.Pointer[chan struct{}]
}

func (g *gatedLookups) UserByEmail(ctx context.Context, email string) (*store.User, error) {
	if ch := g.gate.Load(); ch != nil {
		select {
		case <-*ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return g.Store.UserByEmail(ctx, email)
}

// TestBackgroundWorkKeepsRequestTime: a reset request is answered at once
// and served in the background; its token's expiry and the per-account
// mail limit count from the request, not from when the work got its turn.
// (Counting from the latter made httpapi's TestResetMailThrottled flaky.)
func TestBackgroundWorkKeepsRequestTime(t *testing.T) {
	setup := func(t *testing.T) (*env, *gatedLookups, chan struct{}) {
		var g *gatedLookups
		e := newEnv(t, func(c *auth.Config) {
			g = &gatedLookups{Store: c.Store}
			c.Store = g
			c.Password.ResetTTL = time.Hour
		})
		e.register(t, "ada@example.com")
		release := make(chan struct{})
		g.gate.Store(&release)
		return e, g, release
	}
	t.Run("token expiry", func(t *testing.T) {
		e, _, release := setup(t)
		if err := e.m.RequestPasswordReset(t.Context(), "ada@example.com"); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(50 * time.Minute)
		close(release)
		token := tokenIn(t, e.lastMailTo(t, "ada@example.com", mail.KindResetPassword))
		e.clock.Advance(11 * time.Minute) // 61 minutes after the request
		wantErr(t, "reset an hour and a minute after the request", e.m.ResetPassword(t.Context(), token, newPassword), auth.ErrTokenInvalid)
	})
	t.Run("mail limit", func(t *testing.T) {
		// One reset mail a minute. The first request is served 30 s late;
		// a second one 61 s after the first still gets its mail.
		e, _, release := setup(t)
		if err := e.m.RequestPasswordReset(t.Context(), "ada@example.com"); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(30 * time.Second)
		close(release)
		e.flush(t)
		e.clock.Advance(31 * time.Second)
		if err := e.m.RequestPasswordReset(t.Context(), "ada@example.com"); err != nil {
			t.Fatal(err)
		}
		e.flush(t)
		n := 0
		for _, m := range e.mail.Messages() {
			if m.Kind == mail.KindResetPassword {
				n++
			}
		}
		if n != 2 {
			t.Fatalf("%d reset mails, want 2", n)
		}
	})
}
