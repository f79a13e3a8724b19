package auth_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/mail"
)

// TestDeactivation: a superuser deactivates and reactivates a user. While
// deactivated, none of the user's tokens work, a login with the right
// password is ErrAccountDisabled, and what was mailed to them is dead; each
// change is an event and a mail that does not name the superuser.
func TestDeactivation(t *testing.T) {
	deactivate := func(t *testing.T, e *env, admin *auth.Identity, userID string, active bool) {
		t.Helper()
		u, err := e.m.UpdateProfile(t.Context(), admin, auth.ProfileUpdate{UserID: userID, IsActive: ptr(active)})
		if err != nil {
			t.Fatalf("setting IsActive %t: %v", active, err)
		}
		if u.IsActive != active {
			t.Fatalf("IsActive = %t after setting it to %t", u.IsActive, active)
		}
	}
	t.Run("deactivate and reactivate", func(t *testing.T) {
		e := newEnv(t)
		admin, _ := e.superuser(t, "root@example.com")
		bob := e.register(t, "bob@example.com")
		web, phone := e.login(t, "bob@example.com"), e.login(t, "bob@example.com")
		bobID := e.identity(t, web.Tokens.AccessToken)
		if err := e.m.RequestPasswordReset(t.Context(), "bob@example.com"); err != nil {
			t.Fatal(err)
		}
		reset := tokenIn(t, e.lastMailTo(t, "bob@example.com", mail.KindResetPassword))
		if _, err := e.m.UpdateProfile(t.Context(), bobID, auth.ProfileUpdate{Email: ptr("bob2@example.com"), CurrentPassword: goodPassword}); err != nil {
			t.Fatal(err)
		}
		confirm := tokenIn(t, e.lastMailTo(t, "bob2@example.com", mail.KindChangeEmail))
		e.flush(t)
		e.events.reset()

		e.clock.Advance(time.Minute)
		deactivate(t, e, admin, bob.ID, false)
		for _, res := range []*auth.LoginResult{web, phone} {
			_, err := e.m.Authenticate(t.Context(), res.Tokens.AccessToken)
			wantErr(t, "access token of a deactivated user", err, auth.ErrTokenInvalid)
			_, err = e.m.Refresh(t.Context(), res.Tokens.RefreshToken)
			wantErr(t, "refresh token of a deactivated user", err, auth.ErrTokenInvalid)
		}
		_, err := e.m.Login(t.Context(), "bob@example.com", goodPassword)
		wantErr(t, "login with the right password", err, auth.ErrAccountDisabled)
		_, err = e.m.Login(t.Context(), "bob@example.com", "not the password at all")
		wantErr(t, "login with a wrong password", err, auth.ErrInvalidCredentials)
		wantErr(t, "reset token mailed before", e.m.ResetPassword(t.Context(), reset, newPassword), auth.ErrTokenInvalid)
		_, err = e.m.VerifyEmail(t.Context(), auth.Verification{Code: confirm})
		if err == nil {
			t.Fatal("an email change confirmed after deactivation")
		}
		if u, _ := e.store.UserByID(t.Context(), bob.ID); u.IsActive || u.PendingEmail != "" || u.Email != "bob@example.com" {
			t.Fatalf("stored user after deactivation: %+v", u)
		}

		evs := e.events.ofType(auth.EventUserDeactivated)
		if len(evs) != 1 || evs[0].Outcome != auth.OutcomeSuccess || evs[0].UserID != bob.ID || evs[0].ActorID != admin.User.ID {
			t.Fatalf("deactivation events %+v", evs)
		}
		if n := len(e.events.ofType(auth.EventUserReactivated)); n != 0 {
			t.Fatalf("%d reactivation events", n)
		}
		msg := e.lastMailTo(t, "bob@example.com", mail.KindAccountDeactivated)
		for _, part := range []string{msg.Subject, msg.Text, msg.HTML} {
			if strings.Contains(part, "root") || strings.Contains(part, admin.User.ID) {
				t.Fatalf("the mail names the superuser:\n%s", part)
			}
		}

		e.events.reset()
		deactivate(t, e, admin, bob.ID, true)
		evs = e.events.ofType(auth.EventUserReactivated)
		if len(evs) != 1 || evs[0].UserID != bob.ID || evs[0].ActorID != admin.User.ID {
			t.Fatalf("reactivation events %+v", evs)
		}
		e.lastMailTo(t, "bob@example.com", mail.KindAccountReactivated)
		e.login(t, "bob@example.com")
		// The sessions from before stay dead.
		_, err = e.m.Authenticate(t.Context(), web.Tokens.AccessToken)
		wantErr(t, "a session from before the deactivation", err, auth.ErrTokenInvalid)
	})
	t.Run("setting the state the user has tells no one", func(t *testing.T) {
		e := newEnv(t)
		admin, _ := e.superuser(t, "root@example.com")
		bob := e.register(t, "bob@example.com")
		deactivate(t, e, admin, bob.ID, true)
		deactivate(t, e, admin, bob.ID, false)
		deactivate(t, e, admin, bob.ID, false)
		e.flush(t)
		if n := len(e.events.ofType(auth.EventUserDeactivated)) + len(e.events.ofType(auth.EventUserReactivated)); n != 1 {
			t.Fatalf("%d (de)activation events, want 1", n)
		}
		var mails int
		for _, m := range e.mail.Messages() {
			if m.Kind == mail.KindAccountDeactivated || m.Kind == mail.KindAccountReactivated {
				mails++
			}
		}
		if mails != 1 {
			t.Fatalf("%d (de)activation mails, want 1", mails)
		}
	})
	t.Run("a superuser cannot deactivate themselves", func(t *testing.T) {
		// Even with another superuser left: they would lock themselves out.
		e := newEnv(t)
		admin, res := e.superuser(t, "root@example.com")
		e.superuser(t, "second@example.com")
		for _, p := range []auth.ProfileUpdate{{IsActive: ptr(false)}, {UserID: admin.User.ID, IsActive: ptr(false), Name: ptr("Gone")}} {
			_, err := e.m.UpdateProfile(t.Context(), admin, p)
			wantErr(t, "deactivating oneself", err, auth.ErrDeactivateSelf)
		}
		if u, _ := e.store.UserByID(t.Context(), admin.User.ID); !u.IsActive || u.Name != "" {
			t.Fatalf("a refused update changed the superuser: %+v", u)
		}
		e.identity(t, res.Tokens.AccessToken)
		if _, err := e.m.UpdateProfile(t.Context(), admin, auth.ProfileUpdate{IsActive: ptr(true)}); err != nil {
			t.Fatalf("setting one's own IsActive to true: %v", err)
		}
	})
	t.Run("another superuser can be deactivated", func(t *testing.T) {
		e := newEnv(t)
		admin, _ := e.superuser(t, "root@example.com")
		second, res := e.superuser(t, "second@example.com")
		deactivate(t, e, admin, second.User.ID, false)
		_, err := e.m.Authenticate(t.Context(), res.Tokens.AccessToken)
		wantErr(t, "the deactivated superuser's token", err, auth.ErrTokenInvalid)
		_, err = e.m.Login(t.Context(), "second@example.com", goodPassword)
		wantErr(t, "the deactivated superuser's login", err, auth.ErrAccountDisabled)
	})
	t.Run("only superusers", func(t *testing.T) {
		e := newEnv(t)
		bob := e.register(t, "bob@example.com")
		carol := e.register(t, "carol@example.com")
		id := e.identity(t, e.login(t, "bob@example.com").Tokens.AccessToken)
		for _, p := range []auth.ProfileUpdate{{IsActive: ptr(false)}, {UserID: carol.ID, IsActive: ptr(false)}, {UserID: bob.ID, IsActive: ptr(true)}} {
			_, err := e.m.UpdateProfile(t.Context(), id, p)
			wantErr(t, "a user setting IsActive", err, auth.ErrForbidden)
		}
		for _, uid := range []string{bob.ID, carol.ID} {
			if u, _ := e.store.UserByID(t.Context(), uid); !u.IsActive {
				t.Fatalf("user %s deactivated by a non-superuser", u.Email)
			}
		}
	})
	t.Run("a login racing the deactivation does not come back", func(t *testing.T) {
		// The login has checked that the account is active and is still
		// comparing the password when the deactivation lands: the session
		// it then starts is dead, and stays dead after a reactivation.
		e := newEnv(t)
		admin, _ := e.superuser(t, "root@example.com")
		bob := e.register(t, "bob@example.com")
		e.hasher.gate = make(chan struct{})
		done := make(chan *auth.LoginResult)
		go func() {
			res, _ := e.m.Login(t.Context(), "bob@example.com", goodPassword)
			done <- res
		}()
		for e.hasher.inFlight.Load() == 0 {
			time.Sleep(time.Millisecond)
		}
		e.clock.Advance(100 * time.Millisecond) // the hash takes its time
		deactivate(t, e, admin, bob.ID, false)
		close(e.hasher.gate)
		res := <-done
		deactivate(t, e, admin, bob.ID, true)
		if res == nil {
			return // the login saw the deactivation after all
		}
		_, err := e.m.Authenticate(t.Context(), res.Tokens.AccessToken)
		wantErr(t, "the racing login's access token", err, auth.ErrTokenInvalid)
		_, err = e.m.Refresh(t.Context(), res.Tokens.RefreshToken)
		wantErr(t, "the racing login's refresh token", err, auth.ErrTokenInvalid)
	})
}
