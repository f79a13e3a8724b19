package auth_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/store"
)

func TestUpdateProfile(t *testing.T) {
	t.Run("own fields", func(t *testing.T) {
		e := newEnv(t)
		e.register(t, "ada@example.com")
		id := e.identity(t, e.login(t, "ada@example.com").Tokens.AccessToken)
		e.clock.Advance(time.Minute)
		u, err := e.m.UpdateProfile(t.Context(), id, auth.ProfileUpdate{
			Name: ptr("Ada L."), Bio: ptr("Analyst"), ProfilePicture: ptr("https://img.example.com/a.png"),
		})
		if err != nil {
			t.Fatal(err)
		}
		if u.Name != "Ada L." || u.Bio != "Analyst" || u.ProfilePicture != "https://img.example.com/a.png" || !u.UpdatedAt.Equal(e.clock.Now()) {
			t.Fatalf("updated user %+v", u)
		}
		u, err = e.m.UpdateProfile(t.Context(), id, auth.ProfileUpdate{Bio: ptr("")})
		if err != nil || u.Bio != "" || u.Name != "Ada L." {
			t.Fatalf("clearing bio: %v %+v", err, u)
		}
	})
	t.Run("privileged fields and other users are forbidden", func(t *testing.T) {
		// SECURITY.md #55 and #57.
		e := newEnv(t)
		a := e.register(t, "a@example.com")
		b := e.register(t, "b@example.com")
		id := e.identity(t, e.login(t, "a@example.com").Tokens.AccessToken)
		for name, p := range map[string]auth.ProfileUpdate{
			"is_superuser":      {IsSuperuser: ptr(true)},
			"is_active":         {IsActive: ptr(true)},
			"another user":      {UserID: b.ID, Name: ptr("pwned")},
			"another user's su": {UserID: b.ID, IsSuperuser: ptr(false)},
		} {
			_, err := e.m.UpdateProfile(t.Context(), id, p)
			wantErr(t, name, err, auth.ErrForbidden)
		}
		for _, uid := range []string{a.ID, b.ID} {
			u, _ := e.store.UserByID(t.Context(), uid)
			if u.IsSuperuser || u.Name != "" || !u.UpdatedAt.Equal(u.CreatedAt) {
				t.Fatalf("user changed by forbidden updates: %+v", u)
			}
		}
	})
	t.Run("bad fields", func(t *testing.T) {
		e := newEnv(t)
		e.register(t, "ada@example.com")
		id := e.identity(t, e.login(t, "ada@example.com").Tokens.AccessToken)
		for name, p := range map[string]auth.ProfileUpdate{
			"name":            {Name: ptr(strings.Repeat("n", auth.MaxNameLength+1))},
			"name newline":    {Name: ptr("a\nb")},
			"bio":             {Bio: ptr(strings.Repeat("b", auth.MaxBioLength+1))},
			"bio invalid utf": {Bio: ptr("\xff")},
			"picture":         {ProfilePicture: ptr("ftp://example.com/x")},
			"picture js":      {ProfilePicture: ptr("javascript:alert(1)")},
		} {
			_, err := e.m.UpdateProfile(t.Context(), id, p)
			var ve *auth.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("%s: error %v, want a ValidationError", name, err)
			}
		}
		_, err := e.m.UpdateProfile(t.Context(), id, auth.ProfileUpdate{Email: ptr("nope")})
		wantErr(t, "bad email", err, auth.ErrInvalidEmail)
	})
	t.Run("superuser powers", func(t *testing.T) {
		e := newEnv(t)
		admin, _ := e.superuser(t, "root@example.com")
		b := e.register(t, "b@example.com")
		bRes := e.login(t, "b@example.com")
		u, err := e.m.UpdateProfile(t.Context(), admin, auth.ProfileUpdate{UserID: b.ID, IsSuperuser: ptr(true), Name: ptr("Bee")})
		if err != nil || !u.IsSuperuser || u.Name != "Bee" {
			t.Fatalf("promote: %v %+v", err, u)
		}
		// Deactivating ends the user's sessions.
		if _, err := e.m.UpdateProfile(t.Context(), admin, auth.ProfileUpdate{UserID: b.ID, IsActive: ptr(false)}); err != nil {
			t.Fatal(err)
		}
		_, err = e.m.Refresh(t.Context(), bRes.Tokens.RefreshToken)
		wantErr(t, "refresh of a deactivated user", err, auth.ErrTokenInvalid)
		_, err = e.m.UpdateProfile(t.Context(), admin, auth.ProfileUpdate{UserID: "00000000-0000-4000-8000-000000000000", Name: ptr("x")})
		wantErr(t, "unknown user", err, auth.ErrNotFound)
	})
	t.Run("last superuser cannot demote itself", func(t *testing.T) {
		e := newEnv(t)
		admin, _ := e.superuser(t, "root@example.com")
		_, err := e.m.UpdateProfile(t.Context(), admin, auth.ProfileUpdate{IsSuperuser: ptr(false)})
		wantErr(t, "demote self", err, auth.ErrLastSuperuser)
		_, err = e.m.UpdateProfile(t.Context(), admin, auth.ProfileUpdate{IsActive: ptr(false)})
		wantErr(t, "deactivate self", err, auth.ErrDeactivateSelf)
	})
	t.Run("demotion takes effect at the next request", func(t *testing.T) {
		// SECURITY.md #59.
		e := newEnv(t)
		root, _ := e.superuser(t, "root@example.com")
		_, res := e.superuser(t, "second@example.com")
		second := e.identity(t, res.Tokens.AccessToken)
		if err := e.m.AuthorizeSuperuser(t.Context(), second); err != nil {
			t.Fatal(err)
		}
		if _, err := e.m.UpdateProfile(t.Context(), root, auth.ProfileUpdate{UserID: second.User.ID, IsSuperuser: ptr(false)}); err != nil {
			t.Fatal(err)
		}
		again := e.identity(t, res.Tokens.AccessToken)
		wantErr(t, "same token after demotion", e.m.AuthorizeSuperuser(t.Context(), again), auth.ErrForbidden)
		_, err := e.m.UsersOverview(t.Context(), again, auth.UsersQuery{})
		wantErr(t, "overview after demotion", err, auth.ErrForbidden)
	})
}

func TestEmailChange(t *testing.T) {
	setup := func(t *testing.T) (*env, *auth.Identity) {
		e := newEnv(t)
		e.register(t, "old@example.com")
		return e, e.identity(t, e.login(t, "old@example.com").Tokens.AccessToken)
	}
	t.Run("pending until the new address confirms", func(t *testing.T) {
		// SECURITY.md #54.
		e, id := setup(t)
		u, err := e.m.UpdateProfile(t.Context(), id, auth.ProfileUpdate{Email: ptr("New@Example.com"), CurrentPassword: goodPassword})
		if err != nil {
			t.Fatal(err)
		}
		if u.Email != "old@example.com" || u.PendingEmail != "new@example.com" {
			t.Fatalf("after the request: email %q pending %q", u.Email, u.PendingEmail)
		}
		notice := e.lastMailTo(t, "old@example.com", mail.KindEmailChangeNotice)
		if !strings.Contains(notice.Text, "new@example.com") {
			t.Fatalf("notice to the old address does not name the new one:\n%s", notice.Text)
		}
		token := tokenIn(t, e.lastMailTo(t, "new@example.com", mail.KindChangeEmail))
		if _, err := e.m.Login(t.Context(), "new@example.com", goodPassword); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Fatalf("login with the unconfirmed address: %v", err)
		}
		u, err = e.m.VerifyEmail(t.Context(), auth.Verification{Code: token})
		if err != nil {
			t.Fatal(err)
		}
		if u.Email != "new@example.com" || u.PendingEmail != "" || !u.IsVerified {
			t.Fatalf("after confirming: %+v", u)
		}
		e.login(t, "new@example.com")
		if len(e.events.ofType(auth.EventEmailChanged)) != 1 {
			t.Fatalf("events %+v", e.events.all())
		}
	})
	t.Run("pending until confirmed, cancelled, dropped or expired", func(t *testing.T) {
		request := func(t *testing.T, e *env, id *auth.Identity) *store.User {
			t.Helper()
			u, err := e.m.UpdateProfile(t.Context(), id, auth.ProfileUpdate{Email: ptr("new@example.com"), CurrentPassword: goodPassword})
			if err != nil {
				t.Fatal(err)
			}
			return u
		}
		stored := func(t *testing.T, e *env, id *auth.Identity) *store.User {
			t.Helper()
			u, err := e.store.UserByID(t.Context(), id.User.ID)
			if err != nil {
				t.Fatal(err)
			}
			return u
		}
		wantNone := func(t *testing.T, u *store.User) {
			t.Helper()
			if u.PendingEmail != "" || !u.PendingEmailExpiresAt.IsZero() {
				t.Fatalf("pending %q until %v, want none", u.PendingEmail, u.PendingEmailExpiresAt)
			}
		}
		t.Run("expires with its link", func(t *testing.T) {
			e, id := setup(t)
			u := request(t, e, id)
			if want := e.clock.Now().Add(auth.DefaultVerificationLinkTTL); !u.PendingEmailExpiresAt.Equal(want) {
				t.Fatalf("PendingEmailExpiresAt = %v, want %v", u.PendingEmailExpiresAt, want)
			}
			e.clock.Advance(auth.DefaultVerificationLinkTTL - time.Second)
			if got := stored(t, e, id).PendingEmailAt(e.clock.Now()); got != "new@example.com" {
				t.Fatalf("a second before the link expires: pending %q", got)
			}
			e.clock.Advance(time.Second)
			if got := stored(t, e, id).PendingEmailAt(e.clock.Now()); got != "" {
				t.Fatalf("when the link expires: pending %q, want none", got)
			}
		})
		t.Run("confirmed", func(t *testing.T) {
			e, id := setup(t)
			request(t, e, id)
			u, err := e.m.VerifyEmail(t.Context(), auth.Verification{Code: tokenIn(t, e.lastMailTo(t, "new@example.com", mail.KindChangeEmail))})
			if err != nil {
				t.Fatal(err)
			}
			wantNone(t, u)
			wantNone(t, stored(t, e, id))
		})
		t.Run("cancelled", func(t *testing.T) {
			e, id := setup(t)
			request(t, e, id)
			if err := e.m.CancelEmailChange(t.Context(), tokenIn(t, e.lastMailTo(t, "old@example.com", mail.KindEmailChangeNotice))); err != nil {
				t.Fatal(err)
			}
			wantNone(t, stored(t, e, id))
		})
		t.Run("password changed", func(t *testing.T) {
			// The change's link dies with the user's other secrets.
			e, id := setup(t)
			request(t, e, id)
			if err := e.m.ChangePassword(t.Context(), id, goodPassword, newPassword); err != nil {
				t.Fatal(err)
			}
			wantNone(t, stored(t, e, id))
		})
		t.Run("password reset", func(t *testing.T) {
			e, id := setup(t)
			request(t, e, id)
			if err := e.m.RequestPasswordReset(t.Context(), "old@example.com"); err != nil {
				t.Fatal(err)
			}
			reset := tokenIn(t, e.lastMailTo(t, "old@example.com", mail.KindResetPassword))
			if err := e.m.ResetPassword(t.Context(), reset, newPassword); err != nil {
				t.Fatal(err)
			}
			wantNone(t, stored(t, e, id))
		})
		t.Run("forced reset", func(t *testing.T) {
			e, id := setup(t)
			admin, _ := e.superuser(t, "root@example.com")
			request(t, e, id)
			if err := e.m.ForcePasswordReset(t.Context(), admin, id.User.ID); err != nil {
				t.Fatal(err)
			}
			wantNone(t, stored(t, e, id))
		})
		t.Run("changed by a superuser", func(t *testing.T) {
			e, id := setup(t)
			admin, _ := e.superuser(t, "root@example.com")
			request(t, e, id)
			u, err := e.m.UpdateProfile(t.Context(), admin, auth.ProfileUpdate{UserID: id.User.ID, Email: ptr("third@example.com")})
			if err != nil {
				t.Fatal(err)
			}
			wantNone(t, u)
			wantNone(t, stored(t, e, id))
		})
	})
	t.Run("always needs the current password", func(t *testing.T) {
		// SECURITY.md #54: an access token alone, even one from a login a
		// second old, never changes the email (the stolen-token takeover).
		for _, age := range []time.Duration{0, time.Second, 11 * time.Minute} {
			e := newEnv(t)
			e.register(t, "old@example.com")
			res := e.login(t, "old@example.com")
			e.clock.Advance(age)
			id := e.identity(t, res.Tokens.AccessToken)
			e.flush(t)
			sent := len(e.mail.Messages())
			_, err := e.m.UpdateProfile(t.Context(), id, auth.ProfileUpdate{Email: ptr("new@example.com")})
			wantErr(t, fmt.Sprintf("login %v old, no password", age), err, auth.ErrReauthRequired)
			_, err = e.m.UpdateProfile(t.Context(), id, auth.ProfileUpdate{Email: ptr("new@example.com"), CurrentPassword: "wrong password here"})
			wantErr(t, fmt.Sprintf("login %v old, wrong password", age), err, auth.ErrInvalidPassword)
			if u, err := e.store.UserByID(t.Context(), res.User.ID); err != nil || u.Email != "old@example.com" || u.PendingEmail != "" {
				t.Fatalf("refused changes changed the user: %v %+v", err, u)
			}
			e.flush(t)
			if n := len(e.mail.Messages()); n != sent {
				t.Fatalf("refused changes sent %d mails", n-sent)
			}
			u, err := e.m.UpdateProfile(t.Context(), id, auth.ProfileUpdate{Email: ptr("new@example.com"), CurrentPassword: goodPassword})
			if err != nil || u.PendingEmail != "new@example.com" {
				t.Fatalf("login %v old, with the password: %v %+v", age, err, u)
			}
		}
	})
	t.Run("only the latest requested address can be confirmed", func(t *testing.T) {
		// SECURITY.md #50: a token is bound to the address it was sent to.
		e, id := setup(t)
		e.m.UpdateProfile(t.Context(), id, auth.ProfileUpdate{Email: ptr("first@example.com"), CurrentPassword: goodPassword})
		first := tokenIn(t, e.lastMailTo(t, "first@example.com", mail.KindChangeEmail))
		e.clock.Advance(time.Minute) // past the per-account mail limit
		e.m.UpdateProfile(t.Context(), id, auth.ProfileUpdate{Email: ptr("second@example.com"), CurrentPassword: goodPassword})
		second := tokenIn(t, e.lastMailTo(t, "second@example.com", mail.KindChangeEmail))
		_, err := e.m.VerifyEmail(t.Context(), auth.Verification{Code: first})
		if err == nil {
			t.Fatal("the token for the superseded address confirmed it")
		}
		u, err := e.m.VerifyEmail(t.Context(), auth.Verification{Code: second})
		if err != nil || u.Email != "second@example.com" {
			t.Fatalf("latest token: %v %+v", err, u)
		}
	})
	t.Run("change kills tokens mailed to the old address", func(t *testing.T) {
		// SECURITY.md #46 and #50.
		e, id := setup(t)
		e.m.RequestPasswordReset(t.Context(), "old@example.com")
		reset := tokenIn(t, e.lastMailTo(t, "old@example.com", mail.KindResetPassword))
		e.m.UpdateProfile(t.Context(), id, auth.ProfileUpdate{Email: ptr("new@example.com"), CurrentPassword: goodPassword})
		wantErr(t, "reset token after an email change", e.m.ResetPassword(t.Context(), reset, newPassword), auth.ErrTokenInvalid)
	})
	t.Run("taken address", func(t *testing.T) {
		e, id := setup(t)
		e.register(t, "taken@example.com")
		_, err := e.m.UpdateProfile(t.Context(), id, auth.ProfileUpdate{Email: ptr("Taken@example.com"), CurrentPassword: goodPassword})
		wantErr(t, "UpdateProfile", err, auth.ErrEmailTaken)
	})
	t.Run("taken while pending", func(t *testing.T) {
		e, id := setup(t)
		e.m.UpdateProfile(t.Context(), id, auth.ProfileUpdate{Email: ptr("new@example.com"), CurrentPassword: goodPassword})
		token := tokenIn(t, e.lastMailTo(t, "new@example.com", mail.KindChangeEmail))
		e.register(t, "new@example.com")
		_, err := e.m.VerifyEmail(t.Context(), auth.Verification{Code: token})
		wantErr(t, "confirming a taken address", err, auth.ErrEmailTaken)
	})
	t.Run("disabled by configuration", func(t *testing.T) {
		e := newEnv(t, func(c *auth.Config) { c.Accounts.DisableEmailChange = true })
		e.register(t, "old@example.com")
		id := e.identity(t, e.login(t, "old@example.com").Tokens.AccessToken)
		_, err := e.m.UpdateProfile(t.Context(), id, auth.ProfileUpdate{Email: ptr("new@example.com"), CurrentPassword: goodPassword})
		wantErr(t, "UpdateProfile", err, auth.ErrForbidden)
	})
	t.Run("superuser changes another user's address directly", func(t *testing.T) {
		e := newEnv(t)
		admin, _ := e.superuser(t, "root@example.com")
		b := e.register(t, "b@example.com")
		u, err := e.m.UpdateProfile(t.Context(), admin, auth.ProfileUpdate{UserID: b.ID, Email: ptr("b2@example.com")})
		if err != nil || u.Email != "b2@example.com" {
			t.Fatalf("%v %+v", err, u)
		}
		e.lastMailTo(t, "b@example.com", mail.KindEmailChangeNotice)
	})
}

// TestCancelEmailChange: SECURITY.md #54. The notice to the old address
// carries a token that stops the change and signs every device out.
func TestCancelEmailChange(t *testing.T) {
	request := func(t *testing.T, e *env, id *auth.Identity, to string) (cancel, confirm string) {
		t.Helper()
		if _, err := e.m.UpdateProfile(t.Context(), id, auth.ProfileUpdate{Email: ptr(to), CurrentPassword: goodPassword}); err != nil {
			t.Fatal(err)
		}
		return tokenIn(t, e.lastMailTo(t, "old@example.com", mail.KindEmailChangeNotice)),
			tokenIn(t, e.lastMailTo(t, to, mail.KindChangeEmail))
	}
	setup := func(t *testing.T, edit ...func(*auth.Config)) (*env, *auth.Identity, *store.User) {
		e := newEnv(t, edit...)
		u := e.register(t, "old@example.com")
		return e, e.identity(t, e.login(t, "old@example.com").Tokens.AccessToken), u
	}
	t.Run("stops the change and ends every session", func(t *testing.T) {
		e, id, u := setup(t)
		other := e.login(t, "old@example.com")
		cancel, confirm := request(t, e, id, "new@example.com")
		if err := e.m.CancelEmailChange(t.Context(), cancel); err != nil {
			t.Fatal(err)
		}
		if got, _ := e.store.UserByID(t.Context(), u.ID); got.Email != "old@example.com" || got.PendingEmail != "" {
			t.Fatalf("after cancelling: %+v", got)
		}
		if _, err := e.m.VerifyEmail(t.Context(), auth.Verification{Code: confirm}); err == nil {
			t.Fatal("the confirmation link still works after cancelling")
		}
		if _, err := e.m.Authenticate(t.Context(), other.Tokens.AccessToken); err == nil {
			t.Fatal("a session survived the cancellation")
		}
		if _, err := e.m.Refresh(t.Context(), other.Tokens.RefreshToken); err == nil {
			t.Fatal("a refresh token survived the cancellation")
		}
		wantErr(t, "second use", e.m.CancelEmailChange(t.Context(), cancel), auth.ErrTokenInvalid)
		e.login(t, "old@example.com") // the password still works
		evs := e.events.ofType(auth.EventEmailChangeCancelled)
		if len(evs) != 2 || evs[0].Outcome != auth.OutcomeSuccess || evs[0].UserID != u.ID || evs[1].Outcome != auth.OutcomeFailure {
			t.Fatalf("events %+v", evs)
		}
	})
	t.Run("too late once confirmed", func(t *testing.T) {
		e, id, u := setup(t)
		cancel, confirm := request(t, e, id, "new@example.com")
		if _, err := e.m.VerifyEmail(t.Context(), auth.Verification{Code: confirm}); err != nil {
			t.Fatal(err)
		}
		wantErr(t, "cancel after confirmation", e.m.CancelEmailChange(t.Context(), cancel), auth.ErrTokenInvalid)
		if got, _ := e.store.UserByID(t.Context(), u.ID); got.Email != "new@example.com" {
			t.Fatalf("a refused cancel changed the user: %+v", got)
		}
	})
	t.Run("only the latest notice", func(t *testing.T) {
		e, id, u := setup(t)
		first, _ := request(t, e, id, "first@example.com")
		e.clock.Advance(time.Minute) // past the per-account mail limit
		second, _ := request(t, e, id, "second@example.com")
		wantErr(t, "the superseded notice", e.m.CancelEmailChange(t.Context(), first), auth.ErrTokenInvalid)
		if got, _ := e.store.UserByID(t.Context(), u.ID); got.PendingEmail != "second@example.com" {
			t.Fatalf("a refused cancel changed the user: %+v", got)
		}
		if err := e.m.CancelEmailChange(t.Context(), second); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("expires with the confirmation", func(t *testing.T) {
		e, id, _ := setup(t)
		cancel, _ := request(t, e, id, "new@example.com")
		e.clock.Advance(auth.DefaultVerificationLinkTTL)
		wantErr(t, "expired", e.m.CancelEmailChange(t.Context(), cancel), auth.ErrTokenInvalid)
	})
	t.Run("bad tokens", func(t *testing.T) {
		e, id, _ := setup(t)
		_, confirm := request(t, e, id, "new@example.com")
		for _, tok := range []string{"", "short", strings.Repeat("A", 43), confirm} {
			wantErr(t, fmt.Sprintf("token %q", tok), e.m.CancelEmailChange(t.Context(), tok), auth.ErrTokenInvalid)
		}
	})
	t.Run("the notice links to the cancel page", func(t *testing.T) {
		e, id, _ := setup(t, func(c *auth.Config) { c.BaseURL = "https://app.example.com" })
		cancel, _ := request(t, e, id, "new@example.com")
		notice := e.lastMailTo(t, "old@example.com", mail.KindEmailChangeNotice)
		if want := "https://app.example.com/cancel-email-change?token=" + cancel; !strings.Contains(notice.Text, want) || !strings.Contains(notice.HTML, want) {
			t.Fatalf("notice lacks %s:\n%s", want, notice.Text)
		}
	})
}

func TestSessions(t *testing.T) {
	t.Run("list, revoke one, revoke others", func(t *testing.T) {
		// SECURITY.md #41.
		e := newEnv(t)
		e.register(t, "ada@example.com")
		a := e.login(t, "ada@example.com")
		e.clock.Advance(time.Second)
		b := e.login(t, "ada@example.com")
		e.clock.Advance(time.Second)
		c := e.login(t, "ada@example.com")
		id := e.identity(t, a.Tokens.AccessToken)
		list, err := e.m.Sessions(t.Context(), id, "")
		if err != nil || len(list) != 3 || list[0].ID != c.Session.ID || list[2].ID != a.Session.ID {
			t.Fatalf("Sessions: %v %+v", err, list)
		}
		if err := e.m.RevokeSession(t.Context(), id, "", b.Session.ID); err != nil {
			t.Fatal(err)
		}
		_, err = e.m.Authenticate(t.Context(), b.Tokens.AccessToken)
		wantErr(t, "revoked session", err, auth.ErrTokenInvalid)
		wantErr(t, "revoking it again", e.m.RevokeSession(t.Context(), id, "", b.Session.ID), auth.ErrNotFound)
		n, err := e.m.RevokeOtherSessions(t.Context(), id, "")
		if err != nil || n != 1 {
			t.Fatalf("RevokeOtherSessions = %d, %v", n, err)
		}
		_, err = e.m.Refresh(t.Context(), c.Tokens.RefreshToken)
		wantErr(t, "C after revoke-others", err, auth.ErrTokenInvalid)
		e.identity(t, a.Tokens.AccessToken)
	})
	t.Run("logout everywhere", func(t *testing.T) {
		e := newEnv(t)
		e.register(t, "ada@example.com")
		a, b := e.login(t, "ada@example.com"), e.login(t, "ada@example.com")
		n, err := e.m.LogoutEverywhere(t.Context(), e.identity(t, a.Tokens.AccessToken))
		if err != nil || n != 2 {
			t.Fatalf("LogoutEverywhere = %d, %v", n, err)
		}
		for _, tok := range []string{a.Tokens.AccessToken, b.Tokens.AccessToken} {
			_, err := e.m.Authenticate(t.Context(), tok)
			wantErr(t, "after logout everywhere", err, auth.ErrTokenInvalid)
		}
	})
	t.Run("other users' sessions", func(t *testing.T) {
		e := newEnv(t)
		admin, _ := e.superuser(t, "root@example.com")
		b := e.register(t, "b@example.com")
		bRes := e.login(t, "b@example.com")
		e.register(t, "a@example.com")
		aID := e.identity(t, e.login(t, "a@example.com").Tokens.AccessToken)
		_, err := e.m.Sessions(t.Context(), aID, b.ID)
		wantErr(t, "user listing another's sessions", err, auth.ErrForbidden)
		wantErr(t, "user revoking another's session", e.m.RevokeSession(t.Context(), aID, b.ID, bRes.Session.ID), auth.ErrForbidden)
		wantErr(t, "user revoking another's session as their own", e.m.RevokeSession(t.Context(), aID, "", bRes.Session.ID), auth.ErrNotFound)
		list, err := e.m.Sessions(t.Context(), admin, b.ID)
		if err != nil || len(list) != 1 {
			t.Fatalf("superuser listing: %v %+v", err, list)
		}
		n, err := e.m.RevokeOtherSessions(t.Context(), admin, b.ID)
		if err != nil || n != 1 {
			t.Fatalf("superuser ending all: %d %v", n, err)
		}
	})
}

func TestUsersOverview(t *testing.T) {
	e := newEnv(t)
	admin, _ := e.superuser(t, "root@example.com")
	var ids []string
	for _, email := range []string{"c@example.com", "a@example.com", "b@example.com"} {
		ids = append(ids, e.register(t, email).ID)
	}
	e.login(t, "a@example.com")
	page, err := e.m.UsersOverview(t.Context(), admin, auth.UsersQuery{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != 4 || len(page.Users) != 2 || page.Users[0].User.Email != "a@example.com" || page.Users[0].Sessions != 1 {
		t.Fatalf("first page %+v", page)
	}
	page, err = e.m.UsersOverview(t.Context(), admin, auth.UsersQuery{IDs: ids[:2], Offset: 1})
	if err != nil || page.Total != 2 || len(page.Users) != 1 || page.Users[0].User.Email != "c@example.com" {
		t.Fatalf("filtered page %+v %v", page, err)
	}
	page, err = e.m.UsersOverview(t.Context(), admin, auth.UsersQuery{After: "b@example.com"})
	if err != nil || len(page.Users) != 2 || page.Users[0].User.Email != "c@example.com" {
		t.Fatalf("keyset page %+v %v", page, err)
	}
	page, err = e.m.UsersOverview(t.Context(), admin, auth.UsersQuery{Offset: 100})
	if err != nil || len(page.Users) != 0 || page.Total != 4 {
		t.Fatalf("page past the end %+v %v", page, err)
	}
	_, err = e.m.UsersOverview(t.Context(), admin, auth.UsersQuery{Offset: -1})
	var ve *auth.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("negative offset: %v", err)
	}
	user := e.identity(t, e.login(t, "b@example.com").Tokens.AccessToken)
	_, err = e.m.UsersOverview(t.Context(), user, auth.UsersQuery{})
	wantErr(t, "non-superuser", err, auth.ErrForbidden)
	_, err = e.m.UsersOverview(t.Context(), nil, auth.UsersQuery{})
	wantErr(t, "anonymous", err, auth.ErrUnauthenticated)
}

func TestSessionsOfUnknownUser(t *testing.T) {
	e := newEnv(t)
	admin, _ := e.superuser(t, "root@example.com")
	const unknown = "00000000-0000-4000-8000-000000000000"
	_, err := e.m.Sessions(t.Context(), admin, unknown)
	wantErr(t, "Sessions", err, auth.ErrNotFound)
	_, err = e.m.RevokeOtherSessions(t.Context(), admin, unknown)
	wantErr(t, "RevokeOtherSessions", err, auth.ErrNotFound)
}
