package auth_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/memstore"
)

var errInjected = errors.New("injected store failure")

// faultStore fails the failAt-th store call (counting from 1) made after
// it is armed; every other call goes to the memstore underneath.
type faultStore struct {
	s      *memstore.Store
	calls  atomic.Int64
	failAt atomic.Int64 // 0: never
	fired  atomic.Bool
}

func (f *faultStore) arm(k int) {
	f.calls.Store(0)
	f.fired.Store(false)
	f.failAt.Store(int64(k))
}

func (f *faultStore) disarm() { f.failAt.Store(0) }

func (f *faultStore) fail() error {
	n := f.calls.Add(1)
	if n == f.failAt.Load() {
		f.fired.Store(true)
		return errInjected
	}
	return nil
}

func (f *faultStore) CreateUser(ctx context.Context, u *store.User) error {
	if err := f.fail(); err != nil {
		return err
	}
	return f.s.CreateUser(ctx, u)
}

func (f *faultStore) UserByID(ctx context.Context, id string) (*store.User, error) {
	if err := f.fail(); err != nil {
		return nil, err
	}
	return f.s.UserByID(ctx, id)
}

func (f *faultStore) UserByEmail(ctx context.Context, email string) (*store.User, error) {
	if err := f.fail(); err != nil {
		return nil, err
	}
	return f.s.UserByEmail(ctx, email)
}

func (f *faultStore) UpdateUser(ctx context.Context, id string, u store.UserUpdate) (*store.User, error) {
	if err := f.fail(); err != nil {
		return nil, err
	}
	return f.s.UpdateUser(ctx, id, u)
}

func (f *faultStore) DeleteUser(ctx context.Context, id string) error {
	if err := f.fail(); err != nil {
		return err
	}
	return f.s.DeleteUser(ctx, id)
}

func (f *faultStore) ListUsers(ctx context.Context, q store.UserQuery) (*store.UserPage, error) {
	if err := f.fail(); err != nil {
		return nil, err
	}
	return f.s.ListUsers(ctx, q)
}

func (f *faultStore) CreateSession(ctx context.Context, s *store.Session, h []byte) error {
	if err := f.fail(); err != nil {
		return err
	}
	return f.s.CreateSession(ctx, s, h)
}

func (f *faultStore) SessionUser(ctx context.Context, id string) (*store.Session, *store.User, error) {
	if err := f.fail(); err != nil {
		return nil, nil, err
	}
	return f.s.SessionUser(ctx, id)
}

func (f *faultStore) UserSessions(ctx context.Context, userID string, now time.Time) ([]store.Session, error) {
	if err := f.fail(); err != nil {
		return nil, err
	}
	return f.s.UserSessions(ctx, userID, now)
}

func (f *faultStore) RevokeSession(ctx context.Context, userID, id string) error {
	if err := f.fail(); err != nil {
		return err
	}
	return f.s.RevokeSession(ctx, userID, id)
}

func (f *faultStore) RevokeUserSessions(ctx context.Context, userID, except string) (int, error) {
	if err := f.fail(); err != nil {
		return 0, err
	}
	return f.s.RevokeUserSessions(ctx, userID, except)
}

func (f *faultStore) RotateRefreshToken(ctx context.Context, r store.Rotation) (*store.Session, *store.User, error) {
	if err := f.fail(); err != nil {
		return nil, nil, err
	}
	return f.s.RotateRefreshToken(ctx, r)
}

func (f *faultStore) PutSecret(ctx context.Context, s *store.Secret) error {
	if err := f.fail(); err != nil {
		return err
	}
	return f.s.PutSecret(ctx, s)
}

func (f *faultStore) ConsumeSecret(ctx context.Context, c store.Consume) (*store.Secret, *store.User, error) {
	if err := f.fail(); err != nil {
		return nil, nil, err
	}
	return f.s.ConsumeSecret(ctx, c)
}

func (f *faultStore) ReserveCodeAttempt(ctx context.Context, userID string, p store.Purpose, now time.Time, max int) (*store.Secret, error) {
	if err := f.fail(); err != nil {
		return nil, err
	}
	return f.s.ReserveCodeAttempt(ctx, userID, p, now, max)
}

func (f *faultStore) IncrementCounter(ctx context.Context, key string, now time.Time, ttl time.Duration, sliding bool) (store.Counter, error) {
	if err := f.fail(); err != nil {
		return store.Counter{}, err
	}
	return f.s.IncrementCounter(ctx, key, now, ttl, sliding)
}

func (f *faultStore) GetCounter(ctx context.Context, key string, now time.Time) (store.Counter, error) {
	if err := f.fail(); err != nil {
		return store.Counter{}, err
	}
	return f.s.GetCounter(ctx, key, now)
}

func (f *faultStore) DeleteCounter(ctx context.Context, key string) error {
	if err := f.fail(); err != nil {
		return err
	}
	return f.s.DeleteCounter(ctx, key)
}

// TestStoreFaults fails the k-th store call of each operation, for every k
// until the operation runs clean, and checks that the operation fails
// closed (no tokens, an error that is not a client error) and that what it
// leaves behind is consistent: either everything happened or nothing did
// (SECURITY.md #73 and #74).
func TestStoreFaults(t *testing.T) {
	type fixture struct {
		e     *env
		fs    *faultStore
		res   *auth.LoginResult // a session of ada@example.com
		id    *auth.Identity
		token string // a mailed token, for cases that need one
	}
	setup := func(t *testing.T) *fixture {
		fs := &faultStore{s: memstore.New()}
		e := newEnv(t, func(c *auth.Config) { c.Store = fs; c.Limits.Store = fs; c.Verification.Required = true })
		e.store = fs.s
		e.register(t, "ada@example.com")
		code := codeIn(t, e.lastMailTo(t, "ada@example.com", mail.KindVerifyEmail))
		if _, err := e.m.VerifyEmail(t.Context(), auth.Verification{Email: "ada@example.com", Code: code}); err != nil {
			t.Fatal(err)
		}
		res := e.login(t, "ada@example.com")
		return &fixture{e: e, fs: fs, res: res, id: e.identity(t, res.Tokens.AccessToken)}
	}
	// works reports whether email/password logs in (with the store healthy).
	works := func(t *testing.T, f *fixture, email, password string) bool {
		t.Helper()
		f.fs.disarm()
		_, err := f.e.m.Login(context.Background(), email, password)
		return err == nil
	}
	cases := []struct {
		name string
		// prepare, when set, runs on a healthy store before the failure is
		// armed; op runs the operation; check verifies the state after a
		// failed run.
		prepare func(t *testing.T, f *fixture)
		op      func(t *testing.T, f *fixture) error
		check   func(t *testing.T, f *fixture)
	}{
		{"login", nil, func(t *testing.T, f *fixture) error {
			res, err := f.e.m.Login(context.Background(), "ada@example.com", goodPassword)
			if err != nil && res != nil {
				t.Fatal("Login returned a result with an error")
			}
			return err
		}, func(t *testing.T, f *fixture) {
			f.fs.disarm()
			ss, _ := f.fs.s.UserSessions(context.Background(), f.id.User.ID, f.e.clock.Now())
			if len(ss) != 1 {
				t.Fatalf("%d sessions after a failed login, want the 1 from setup", len(ss))
			}
		}},
		{"authenticate", nil, func(t *testing.T, f *fixture) error {
			id, err := f.e.m.Authenticate(context.Background(), f.res.Tokens.AccessToken)
			if err != nil && id != nil {
				t.Fatal("Authenticate returned an identity with an error")
			}
			return err
		}, func(t *testing.T, f *fixture) {}},
		{"refresh", nil, func(t *testing.T, f *fixture) error {
			_, err := f.e.m.Refresh(context.Background(), f.res.Tokens.RefreshToken)
			return err
		}, func(t *testing.T, f *fixture) {
			f.fs.disarm()
			if _, err := f.e.m.Refresh(context.Background(), f.res.Tokens.RefreshToken); err != nil {
				t.Fatalf("the refresh token after a failed refresh: %v", err)
			}
		}},
		{"change password", nil, func(t *testing.T, f *fixture) error {
			return f.e.m.ChangePassword(context.Background(), f.id, goodPassword, newPassword)
		}, func(t *testing.T, f *fixture) {
			if !works(t, f, "ada@example.com", goodPassword) {
				t.Fatal("the old password stopped working after a failed change")
			}
		}},
		{"reset", func(t *testing.T, f *fixture) {
			if err := f.e.m.RequestPasswordReset(context.Background(), "ada@example.com"); err != nil {
				t.Fatal(err)
			}
			f.token = tokenIn(t, f.e.lastMailTo(t, "ada@example.com", mail.KindResetPassword))
		}, func(t *testing.T, f *fixture) error {
			return f.e.m.ResetPassword(context.Background(), f.token, newPassword)
		}, func(t *testing.T, f *fixture) {
			if !works(t, f, "ada@example.com", goodPassword) {
				t.Fatal("the old password stopped working after a failed reset")
			}
			if err := f.e.m.ResetPassword(context.Background(), f.token, newPassword); err != nil {
				t.Fatalf("the token after a failed reset: %v", err)
			}
		}},
		{"verify email change", func(t *testing.T, f *fixture) {
			if _, err := f.e.m.UpdateProfile(context.Background(), f.id, auth.ProfileUpdate{Email: ptr("new@example.com"), CurrentPassword: goodPassword}); err != nil {
				t.Fatal(err)
			}
			f.token = tokenIn(t, f.e.lastMailTo(t, "new@example.com", mail.KindChangeEmail))
		}, func(t *testing.T, f *fixture) error {
			_, err := f.e.m.VerifyEmail(context.Background(), auth.Verification{Code: f.token})
			return err
		}, func(t *testing.T, f *fixture) {
			f.fs.disarm()
			u, err := f.fs.s.UserByID(context.Background(), f.id.User.ID)
			if err != nil || u.Email != "ada@example.com" || u.PendingEmail != "new@example.com" {
				t.Fatalf("user after a failed confirmation: %+v, %v", u, err)
			}
			if _, err := f.e.m.VerifyEmail(context.Background(), auth.Verification{Code: f.token}); err != nil {
				t.Fatalf("the token after a failed confirmation: %v", err)
			}
		}},
		{"delete", nil, func(t *testing.T, f *fixture) error {
			return f.e.m.DeleteUser(context.Background(), f.id, "", goodPassword)
		}, func(t *testing.T, f *fixture) {
			f.fs.disarm()
			if _, err := f.fs.s.UserByID(context.Background(), f.id.User.ID); err != nil {
				t.Fatalf("the user after a failed delete: %v", err)
			}
			if _, err := f.e.m.Authenticate(context.Background(), f.res.Tokens.AccessToken); err != nil {
				t.Fatalf("the session after a failed delete: %v", err)
			}
			f.e.flush(t)
			for _, m := range f.e.mail.Messages() {
				if m.Kind == mail.KindAccountDeleted {
					t.Fatalf("a failed delete mailed an account_deleted notice")
				}
			}
		}},
		{"renew session", nil, func(t *testing.T, f *fixture) error {
			res, err := f.e.m.RenewSession(context.Background(), f.id)
			if err != nil && res != nil {
				t.Fatal("RenewSession returned a result with an error")
			}
			return err
		}, func(t *testing.T, f *fixture) {
			// The old session goes on, alone: a half-made renewal is
			// taken back.
			f.fs.disarm()
			if _, err := f.e.m.Authenticate(context.Background(), f.res.Tokens.AccessToken); err != nil {
				t.Fatalf("the session after a failed renewal: %v", err)
			}
			ss, _ := f.fs.s.UserSessions(context.Background(), f.id.User.ID, f.e.clock.Now())
			if len(ss) != 1 {
				t.Fatalf("%d sessions after a failed renewal, want the 1 from setup", len(ss))
			}
		}},
		{"logout", nil, func(t *testing.T, f *fixture) error {
			return f.e.m.Logout(context.Background(), f.id)
		}, func(t *testing.T, f *fixture) {
			f.fs.disarm()
			if _, err := f.e.m.Authenticate(context.Background(), f.res.Tokens.AccessToken); err != nil {
				t.Fatalf("the session after a failed logout: %v", err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for k := 1; ; k++ {
				if k > 40 {
					t.Fatal("the operation never ran clean")
				}
				f := setup(t)
				if tc.prepare != nil {
					tc.prepare(t, f)
				}
				f.fs.arm(k)
				err := tc.op(t, f)
				fired := f.fs.fired.Load()
				f.fs.disarm()
				if !fired {
					if err != nil {
						t.Fatalf("k=%d: clean run failed: %v", k, err)
					}
					return // every store call of the operation has failed once
				}
				if err == nil {
					// A failure the operation may absorb (a best-effort
					// write after the decisive one): the result must hold.
					continue
				}
				if !errors.Is(err, errInjected) {
					t.Fatalf("k=%d: error %v does not carry the store failure (a store error must not look like a client error)", k, err)
				}
				tc.check(t, f)
			}
		})
	}
}
