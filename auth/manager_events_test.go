package auth_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/memstore"
)

// TestEveryOperationReportsOneEvent walks the lifecycle and checks that each
// operation reports exactly one event of its type, with the client from the
// context, and that no secret used along the way reaches the log or an
// event (SECURITY.md #62 and #63).
func TestEveryOperationReportsOneEvent(t *testing.T) {
	e := newEnv(t, requireVerification)
	ctx := auth.ContextWithClient(t.Context(), auth.Client{IP: mustAddr("198.51.100.4"), UserAgent: "ua/1"})
	const pw = "sentinel-password-Q7xZ"
	const pw2 = "sentinel-password-second-K3"
	var secrets []string
	step := func(want auth.EventType, outcome auth.Outcome, f func() error) {
		t.Helper()
		e.flush(t)
		e.events.reset()
		err := f()
		e.flush(t)
		evs := e.events.all()
		var n int
		for _, ev := range evs {
			if ev.Type == want {
				n++
				if ev.Outcome != outcome {
					t.Errorf("%s: outcome %s, want %s (reason %q)", want, ev.Outcome, outcome, ev.Reason)
				}
				if ev.Client.IP.String() != "198.51.100.4" || ev.Time.IsZero() {
					t.Errorf("%s: client %+v time %v", want, ev.Client, ev.Time)
				}
			}
		}
		if n != 1 {
			t.Errorf("%s: %d events of that type (err %v), want 1; all: %+v", want, n, err, evs)
		}
	}

	step(auth.EventRegister, auth.OutcomeSuccess, func() error {
		_, err := e.m.Register(ctx, auth.Registration{Email: "ada@example.com", Password: pw})
		return err
	})
	verify := e.lastMailTo(t, "ada@example.com", mail.KindVerifyEmail)
	secrets = append(secrets, tokenIn(t, verify), codeIn(t, verify))
	step(auth.EventLogin, auth.OutcomeFailure, func() error {
		_, err := e.m.Login(ctx, "ada@example.com", pw+"-wrong")
		return err
	})
	step(auth.EventVerifyEmail, auth.OutcomeFailure, func() error {
		_, err := e.m.VerifyEmail(ctx, auth.Verification{Email: "ada@example.com", Code: wrongCode(codeIn(t, verify))})
		return err
	})
	step(auth.EventVerifyEmail, auth.OutcomeSuccess, func() error {
		_, err := e.m.VerifyEmail(ctx, auth.Verification{Email: "ada@example.com", Code: codeIn(t, verify)})
		return err
	})
	var res *auth.LoginResult
	step(auth.EventLogin, auth.OutcomeSuccess, func() (err error) {
		res, err = e.m.Login(ctx, "ada@example.com", pw)
		return err
	})
	secrets = append(secrets, res.Tokens.AccessToken, res.Tokens.RefreshToken)
	var pair *auth.TokenPair
	step(auth.EventRefresh, auth.OutcomeSuccess, func() (err error) {
		pair, err = e.m.Refresh(ctx, res.Tokens.RefreshToken)
		return err
	})
	secrets = append(secrets, pair.AccessToken, pair.RefreshToken)
	step(auth.EventRefreshReuse, auth.OutcomeFailure, func() error {
		_, err := e.m.Refresh(ctx, res.Tokens.RefreshToken)
		return err
	})
	res, _ = e.m.Login(ctx, "ada@example.com", pw)
	secrets = append(secrets, res.Tokens.AccessToken, res.Tokens.RefreshToken)
	id := e.identity(t, res.Tokens.AccessToken)
	step(auth.EventPasswordChange, auth.OutcomeSuccess, func() error {
		return e.m.ChangePassword(ctx, id, pw, pw2)
	})
	step(auth.EventProfileUpdate, auth.OutcomeSuccess, func() error {
		_, err := e.m.UpdateProfile(ctx, id, auth.ProfileUpdate{Name: ptr("Ada")})
		return err
	})
	step(auth.EventEmailChangeRequested, auth.OutcomeSuccess, func() error {
		_, err := e.m.UpdateProfile(ctx, id, auth.ProfileUpdate{Email: ptr("ada2@example.com"), CurrentPassword: pw2})
		return err
	})
	change := tokenIn(t, e.lastMailTo(t, "ada2@example.com", mail.KindChangeEmail))
	secrets = append(secrets, change)
	step(auth.EventEmailChanged, auth.OutcomeSuccess, func() error {
		_, err := e.m.VerifyEmail(ctx, auth.Verification{Code: change})
		return err
	})
	step(auth.EventResetRequested, auth.OutcomeSuccess, func() error {
		return e.m.RequestPasswordReset(ctx, "ada2@example.com")
	})
	reset := tokenIn(t, e.lastMailTo(t, "ada2@example.com", mail.KindResetPassword))
	secrets = append(secrets, reset)
	step(auth.EventResetRequested, auth.OutcomeFailure, func() error {
		return e.m.RequestPasswordReset(ctx, "nobody@example.com")
	})
	const pw3 = "sentinel-password-third-M9"
	step(auth.EventResetCompleted, auth.OutcomeSuccess, func() error {
		return e.m.ResetPassword(ctx, reset, pw3)
	})
	res, _ = e.m.Login(ctx, "ada2@example.com", pw3)
	secrets = append(secrets, res.Tokens.AccessToken, res.Tokens.RefreshToken)
	id = e.identity(t, res.Tokens.AccessToken)
	step(auth.EventForbidden, auth.OutcomeFailure, func() error {
		_, err := e.m.UsersOverview(ctx, id, auth.UsersQuery{})
		return err
	})
	step(auth.EventSessionRenewed, auth.OutcomeSuccess, func() error {
		renewed, err := e.m.RenewSession(ctx, id)
		if err == nil {
			secrets = append(secrets, renewed.Tokens.AccessToken, renewed.Tokens.RefreshToken)
			id = e.identity(t, renewed.Tokens.AccessToken)
		}
		return err
	})
	step(auth.EventLogout, auth.OutcomeSuccess, func() error { return e.m.Logout(ctx, id) })
	res, _ = e.m.Login(ctx, "ada2@example.com", pw3)
	id = e.identity(t, res.Tokens.AccessToken)
	step(auth.EventLogoutEverywhere, auth.OutcomeSuccess, func() error {
		_, err := e.m.LogoutEverywhere(ctx, id)
		return err
	})
	res, _ = e.m.Login(ctx, "ada2@example.com", pw3)
	id = e.identity(t, res.Tokens.AccessToken)
	step(auth.EventDeleteUser, auth.OutcomeSuccess, func() error { return e.m.DeleteUser(ctx, id, "", pw3) })
	step(auth.EventEnsureSuperuser, auth.OutcomeSuccess, func() error {
		_, err := e.m.EnsureSuperuser(ctx, "root@example.com", pw)
		return err
	})

	// SECURITY.md #63: no secret in the log or in any event.
	secrets = append(secrets, pw, pw2, pw3)
	logs := e.logs.String()
	if !strings.Contains(logs, `"event":"login"`) {
		t.Fatalf("the log has no login event:\n%s", logs)
	}
	for _, s := range secrets {
		if s == "" {
			t.Fatal("empty secret collected")
		}
		if strings.Contains(logs, s) {
			t.Errorf("secret %q appears in the log", s)
		}
	}
	events := fmt.Sprintf("%+v", e.events.all())
	for _, s := range secrets {
		if strings.Contains(events, s) {
			t.Errorf("secret %q appears in an event", s)
		}
	}
	// Session IDs appear in logs only as a salted hash.
	if strings.Contains(logs, res.Session.ID) {
		t.Error("a session ID appears in the log")
	}
}

// slowStore is memstore whose session revocations and user listing take
// delay on the fake clock, so that an event's Latency shows whether the
// operation timed them.
type slowStore struct {
	*memstore.Store
	clock *clock
	delay atomic.Int64 // nanoseconds
}

func (s *slowStore) wait() { s.clock.Advance(time.Duration(s.delay.Load())) }

func (s *slowStore) ListUsers(ctx context.Context, q store.UserQuery) (*store.UserPage, error) {
	s.wait()
	return s.Store.ListUsers(ctx, q)
}

func (s *slowStore) RevokeSession(ctx context.Context, userID, id string) error {
	s.wait()
	return s.Store.RevokeSession(ctx, userID, id)
}

func (s *slowStore) RevokeUserSessions(ctx context.Context, userID, except string) (int, error) {
	s.wait()
	return s.Store.RevokeUserSessions(ctx, userID, except)
}

// TestOperationLatency: the Latency of an event is the time its operation
// took, store calls included, for the superuser overview and the session
// operations too (they used to start timing just before reporting, and
// reported about 0).
func TestOperationLatency(t *testing.T) {
	const delay = 250 * time.Millisecond
	slow := &slowStore{Store: memstore.New()}
	e := newEnv(t, func(c *auth.Config) { c.Store, c.Limits.Store = slow, slow })
	slow.clock = e.clock
	ctx := t.Context()
	admin, _ := e.superuser(t, "root@example.com")
	e.register(t, "ada@example.com")
	session := func() *auth.Identity {
		t.Helper()
		return e.identity(t, e.login(t, "ada@example.com").Tokens.AccessToken)
	}
	tests := []struct {
		name string
		want auth.EventType
		op   func() error
	}{
		{"UsersOverview", auth.EventUsersOverview, func() error {
			_, err := e.m.UsersOverview(ctx, admin, auth.UsersQuery{})
			return err
		}},
		{"Logout", auth.EventLogout, func() error { return e.m.Logout(ctx, session()) }},
		{"LogoutEverywhere", auth.EventLogoutEverywhere, func() error {
			_, err := e.m.LogoutEverywhere(ctx, session())
			return err
		}},
		{"RevokeSession", auth.EventSessionRevoked, func() error {
			id := session()
			return e.m.RevokeSession(ctx, id, "", id.Session.ID)
		}},
		{"RevokeOtherSessions", auth.EventLogoutEverywhere, func() error {
			_, err := e.m.RevokeOtherSessions(ctx, session(), "")
			return err
		}},
		{"RevokeOtherSessions by a superuser", auth.EventLogoutEverywhere, func() error {
			_, err := e.m.RevokeOtherSessions(ctx, admin, session().User.ID)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.flush(t)
			e.events.reset()
			slow.delay.Store(int64(delay))
			err := tt.op()
			slow.delay.Store(0)
			if err != nil {
				t.Fatal(err)
			}
			evs := e.events.ofType(tt.want)
			if len(evs) != 1 {
				t.Fatalf("%d %s events, want 1: %+v", len(evs), tt.want, e.events.all())
			}
			if evs[0].Latency != delay {
				t.Errorf("Latency = %v, want %v (the store's time)", evs[0].Latency, delay)
			}
		})
	}
}
