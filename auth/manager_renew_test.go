package auth_test

import (
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/store"
)

// TestRenewSession: SECURITY.md #67 (no fixation). Renewing gives a new
// session ID and tokens; the old session's tokens stop working at once;
// the new session keeps the old one's login time and absolute end, and
// counts a password change made from the old one.
func TestRenewSession(t *testing.T) {
	t.Run("replaces the session", func(t *testing.T) {
		e := newEnv(t)
		e.register(t, "ada@example.com")
		old := e.login(t, "ada@example.com")
		other := e.login(t, "ada@example.com")
		e.clock.Advance(10 * time.Minute)
		ctx := auth.ContextWithClient(t.Context(), auth.Client{IP: mustAddr("192.0.2.7"), UserAgent: "renewer/1"})
		res, err := e.m.RenewSession(ctx, e.identity(t, old.Tokens.AccessToken))
		if err != nil {
			t.Fatal(err)
		}
		if res.Session.ID == old.Session.ID || res.Tokens.RefreshToken == old.Tokens.RefreshToken || res.Tokens.AccessToken == old.Tokens.AccessToken {
			t.Fatal("the renewed session reuses the old one's ID or tokens")
		}
		if res.Challenge != nil || res.User == nil || res.User.ID != old.User.ID {
			t.Fatalf("result %+v", res)
		}
		_, err = e.m.Authenticate(t.Context(), old.Tokens.AccessToken)
		wantErr(t, "the old access token", err, auth.ErrTokenInvalid)
		_, err = e.m.Refresh(t.Context(), old.Tokens.RefreshToken)
		wantErr(t, "the old refresh token", err, auth.ErrTokenInvalid)
		id := e.identity(t, res.Tokens.AccessToken)
		if id.Session.ID != res.Session.ID {
			t.Fatalf("the new access token names session %s, want %s", id.Session.ID, res.Session.ID)
		}
		if !id.Session.AuthenticatedAt.Equal(old.Session.AuthenticatedAt) || !id.Session.ExpiresAt.Equal(old.Session.ExpiresAt) {
			t.Errorf("renewed session authenticated %v, ends %v; want the old %v, %v",
				id.Session.AuthenticatedAt, id.Session.ExpiresAt, old.Session.AuthenticatedAt, old.Session.ExpiresAt)
		}
		if id.Session.IP != "192.0.2.7" || id.Session.UserAgent != "renewer/1" {
			t.Errorf("renewed session client %q %q, want the one in ctx", id.Session.IP, id.Session.UserAgent)
		}
		if !res.Tokens.RefreshTokenExpiresAt.After(e.clock.Now()) || res.Tokens.RefreshTokenExpiresAt.After(old.Session.ExpiresAt) {
			t.Errorf("refresh token expires %v, want after now and not after the session's end %v", res.Tokens.RefreshTokenExpiresAt, old.Session.ExpiresAt)
		}
		e.identity(t, other.Tokens.AccessToken) // other sessions are left alone
		if _, err := e.m.Refresh(t.Context(), res.Tokens.RefreshToken); err != nil {
			t.Fatalf("the new refresh token: %v", err)
		}
		if evs := e.events.ofType(auth.EventSessionRenewed); len(evs) != 1 || evs[0].Outcome != auth.OutcomeSuccess || evs[0].SessionID != res.Session.ID {
			t.Errorf("events %+v, want one successful session_renewed naming the new session", evs)
		}
	})
	t.Run("after a password change", func(t *testing.T) {
		e := newEnv(t)
		e.register(t, "ada@example.com")
		old := e.login(t, "ada@example.com")
		e.clock.Advance(time.Second)
		id := e.identity(t, old.Tokens.AccessToken)
		if err := e.m.ChangePassword(t.Context(), id, goodPassword, newPassword); err != nil {
			t.Fatal(err)
		}
		// id.Session was read before the change; the store's copy counts.
		res, err := e.m.RenewSession(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		e.identity(t, res.Tokens.AccessToken)
		_, err = e.m.Authenticate(t.Context(), old.Tokens.AccessToken)
		wantErr(t, "the pre-change session", err, auth.ErrTokenInvalid)
	})
	t.Run("ended sessions are not renewed", func(t *testing.T) {
		e := newEnv(t)
		e.register(t, "ada@example.com")
		for _, tc := range []struct {
			name string
			end  func(id *auth.Identity)
		}{
			{"logged out", func(id *auth.Identity) { e.m.Logout(t.Context(), id) }},
			{"expired", func(*auth.Identity) { e.clock.Advance(auth.DefaultRefreshIdleTimeout) }},
			{"another session changed the password", func(id *auth.Identity) {
				e.clock.Advance(time.Second)
				other := e.identity(t, e.login(t, "ada@example.com").Tokens.AccessToken)
				if err := e.m.ChangePassword(t.Context(), other, goodPassword, newPassword); err != nil {
					t.Fatal(err)
				}
				if err := e.m.ChangePassword(t.Context(), other, newPassword, goodPassword); err != nil {
					t.Fatal(err)
				}
			}},
			{"outlived its credentials", func(id *auth.Identity) {
				// TokensValidAfter moved on without the store ending the
				// session (as a store of another instance may have it).
				e.clock.Advance(time.Second)
				now := e.clock.Now()
				if _, err := e.store.UpdateUser(t.Context(), id.User.ID, store.UserUpdate{TokensValidAfter: &now, UpdatedAt: now}); err != nil {
					t.Fatal(err)
				}
			}},
			{"user disabled", func(id *auth.Identity) {
				now := e.clock.Now()
				if _, err := e.store.UpdateUser(t.Context(), id.User.ID, store.UserUpdate{IsActive: ptr(false), UpdatedAt: now}); err != nil {
					t.Fatal(err)
				}
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				res := e.login(t, "ada@example.com")
				id := e.identity(t, res.Tokens.AccessToken)
				tc.end(id)
				before := len(e.events.ofType(auth.EventSessionRenewed))
				got, err := e.m.RenewSession(t.Context(), id)
				wantErr(t, "RenewSession", err, auth.ErrUnauthenticated)
				if got != nil {
					t.Fatal("a result with the error")
				}
				evs := e.events.ofType(auth.EventSessionRenewed)
				if len(evs) != before+1 || evs[len(evs)-1].Outcome != auth.OutcomeFailure {
					t.Errorf("events %+v, want one more failed session_renewed", evs)
				}
			})
		}
	})
	t.Run("unauthenticated", func(t *testing.T) {
		e := newEnv(t)
		_, err := e.m.RenewSession(t.Context(), nil)
		wantErr(t, "RenewSession(nil)", err, auth.ErrUnauthenticated)
	})
}
