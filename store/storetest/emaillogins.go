package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

func emailLoginTests() []test {
	return []test{
		{name: "PutAndReserve", run: testEmailLoginPutReserve},
		{name: "PutErrors", run: testEmailLoginPutErrors},
		{name: "PutReplacesOlder", run: testEmailLoginReplaces},
		{name: "SingleUseAcrossLinkAndCode", run: testEmailLoginSingleUse},
		{name: "TakeOneWinner", run: testEmailLoginTakeRace},
		{name: "ReserveConcurrent", run: testEmailLoginReserveRace},
		{name: "Expiry", run: testEmailLoginExpiry},
		{name: "DeleteUserCascades", run: testEmailLoginUserDeleted},
		{name: "DeleteExpired", run: testEmailLoginDeleteExpired},
		{name: "NoAliasing", run: testEmailLoginAlias},
	}
}

// emailLogins returns s as a store.EmailLogins, or skips the test.
func emailLogins(tb testing.TB, s store.Store) store.EmailLogins {
	tb.Helper()
	l, ok := s.(store.EmailLogins)
	if !ok {
		tb.Skipf("%T does not implement store.EmailLogins", s)
	}
	return l
}

// newEmailLogin returns email login n of user uid, created at base, its
// link valid 15 minutes and its code 10.
func newEmailLogin(n int, uid string) *store.EmailLogin {
	return &store.EmailLogin{
		ID:            fmt.Sprintf("login-%d", n),
		Hash:          digest(fmt.Sprintf("email login link %d", n)),
		CodeHash:      digest(fmt.Sprintf("email login code %d", n)),
		UserID:        uid,
		Email:         fmt.Sprintf("inbox%03d@example.com", n),
		CreatedAt:     base.In(elsewhere),
		ExpiresAt:     at(15 * time.Minute).In(elsewhere),
		CodeExpiresAt: at(10 * time.Minute).In(elsewhere),
	}
}

func utcEmailLogin(l *store.EmailLogin) *store.EmailLogin {
	c := *l
	c.CreatedAt, c.ExpiresAt, c.CodeExpiresAt = c.CreatedAt.UTC(), c.ExpiresAt.UTC(), c.CodeExpiresAt.UTC()
	return &c
}

func mustPutEmailLogin(tb testing.TB, s store.EmailLogins, l *store.EmailLogin) {
	tb.Helper()
	if err := s.PutEmailLogin(tb.Context(), l); err != nil {
		tb.Fatalf("setup: PutEmailLogin(%s): %v", l.ID, err)
	}
}

func testEmailLoginPutReserve(t *testing.T, st store.Store) {
	s := emailLogins(t, st)
	mustCreateUser(t, st, newUser(1))
	l := newEmailLogin(1, userID(1))
	mustPutEmailLogin(t, s, l)
	for i := 1; i <= 2; i++ {
		got, u, err := s.ReserveEmailLoginAttempt(t.Context(), l.ID, at(time.Minute), 5)
		if !wantErr(t, "ReserveEmailLoginAttempt", err, nil) {
			return
		}
		want := utcEmailLogin(l)
		want.Attempts = i
		checkEqual(t, fmt.Sprintf("email login after %d reservations", i), got, want)
		if u.ID != userID(1) || u.Email != email(1) {
			t.Errorf("ReserveEmailLoginAttempt returned user %s <%s>, want %s", u.ID, u.Email, userID(1))
		}
	}
	_, _, err := s.ReserveEmailLoginAttempt(t.Context(), "login-unknown", at(time.Minute), 5)
	wantErr(t, "ReserveEmailLoginAttempt(unknown id)", err, store.ErrNotFound)
}

func testEmailLoginPutErrors(t *testing.T, st store.Store) {
	s := emailLogins(t, st)
	wantErr(t, "PutEmailLogin(unknown user)", s.PutEmailLogin(t.Context(), newEmailLogin(1, unknownID)), store.ErrNotFound)
	mustCreateUser(t, st, newUser(1))
	mustCreateUser(t, st, newUser(2))
	mustPutEmailLogin(t, s, newEmailLogin(1, userID(1)))
	sameID := newEmailLogin(2, userID(2))
	sameID.ID = newEmailLogin(1, "").ID
	wantErr(t, "PutEmailLogin(ID in use)", s.PutEmailLogin(t.Context(), sameID), store.ErrConflict)
	sameHash := newEmailLogin(3, userID(2))
	sameHash.Hash = newEmailLogin(1, "").Hash
	wantErr(t, "PutEmailLogin(Hash in use)", s.PutEmailLogin(t.Context(), sameHash), store.ErrConflict)
	// The failed puts changed nothing: the first login still works.
	if _, _, err := s.TakeEmailLogin(t.Context(), newEmailLogin(1, "").Hash, at(time.Minute)); err != nil {
		t.Errorf("TakeEmailLogin after refused puts: %v", err)
	}
}

// testEmailLoginReplaces: a user has at most one email login; a newer one
// kills the older link and code.
func testEmailLoginReplaces(t *testing.T, st store.Store) {
	s := emailLogins(t, st)
	mustCreateUser(t, st, newUser(1))
	mustCreateUser(t, st, newUser(2))
	older, newer, other := newEmailLogin(1, userID(1)), newEmailLogin(2, userID(1)), newEmailLogin(3, userID(2))
	mustPutEmailLogin(t, s, older)
	mustPutEmailLogin(t, s, other)
	mustPutEmailLogin(t, s, newer)
	_, _, err := s.TakeEmailLogin(t.Context(), older.Hash, at(time.Minute))
	wantErr(t, "TakeEmailLogin(replaced link)", err, store.ErrNotFound)
	_, _, err = s.ReserveEmailLoginAttempt(t.Context(), older.ID, at(time.Minute), 5)
	wantErr(t, "ReserveEmailLoginAttempt(replaced id)", err, store.ErrNotFound)
	if _, _, err := s.ReserveEmailLoginAttempt(t.Context(), newer.ID, at(time.Minute), 5); err != nil {
		t.Errorf("ReserveEmailLoginAttempt(newer): %v", err)
	}
	if _, _, err := s.ReserveEmailLoginAttempt(t.Context(), other.ID, at(time.Minute), 5); err != nil {
		t.Errorf("another user's login went too: %v", err)
	}
}

// testEmailLoginSingleUse: SECURITY.md #69 — the link and the code are one
// record: whichever is used first, the other is dead.
func testEmailLoginSingleUse(t *testing.T, st store.Store) {
	s := emailLogins(t, st)
	mustCreateUser(t, st, newUser(1))
	t.Run("link first", func(t *testing.T) {
		l := newEmailLogin(1, userID(1))
		mustPutEmailLogin(t, s, l)
		got, u, err := s.TakeEmailLogin(t.Context(), l.Hash, at(time.Minute))
		if !wantErr(t, "TakeEmailLogin", err, nil) {
			return
		}
		checkEqual(t, "taken email login", got, utcEmailLogin(l))
		if u.ID != userID(1) {
			t.Errorf("TakeEmailLogin user = %s, want %s", u.ID, userID(1))
		}
		_, _, err = s.TakeEmailLogin(t.Context(), l.Hash, at(time.Minute))
		wantErr(t, "TakeEmailLogin again", err, store.ErrNotFound)
		_, _, err = s.ReserveEmailLoginAttempt(t.Context(), l.ID, at(time.Minute), 5)
		wantErr(t, "ReserveEmailLoginAttempt after the link", err, store.ErrNotFound)
		wantErr(t, "DeleteEmailLogin after the link", s.DeleteEmailLogin(t.Context(), l.ID), store.ErrNotFound)
	})
	t.Run("code first", func(t *testing.T) {
		l := newEmailLogin(2, userID(1))
		mustPutEmailLogin(t, s, l)
		if _, _, err := s.ReserveEmailLoginAttempt(t.Context(), l.ID, at(time.Minute), 5); err != nil {
			t.Fatalf("ReserveEmailLoginAttempt: %v", err)
		}
		if err := s.DeleteEmailLogin(t.Context(), l.ID); err != nil {
			t.Fatalf("DeleteEmailLogin: %v", err)
		}
		_, _, err := s.TakeEmailLogin(t.Context(), l.Hash, at(time.Minute))
		wantErr(t, "TakeEmailLogin after the code", err, store.ErrNotFound)
		wantErr(t, "DeleteEmailLogin again", s.DeleteEmailLogin(t.Context(), l.ID), store.ErrNotFound)
	})
	t.Run("link and code race", func(t *testing.T) {
		l := newEmailLogin(3, userID(1))
		mustPutEmailLogin(t, s, l)
		errs := concurrently(16, func(i int) error {
			if i%2 == 0 {
				_, _, err := s.TakeEmailLogin(t.Context(), l.Hash, at(time.Minute))
				return err
			}
			return s.DeleteEmailLogin(t.Context(), l.ID)
		})
		ok, matched, other := tally(errs, store.ErrNotFound)
		if ok != 1 || matched[0] != 15 || len(other) != 0 {
			t.Errorf("8 links and 8 codes at once: %d succeeded, %d not found, other %v; want 1, 15, none", ok, matched[0], other)
		}
	})
}

func testEmailLoginTakeRace(t *testing.T, st store.Store) {
	s := emailLogins(t, st)
	mustCreateUser(t, st, newUser(1))
	l := newEmailLogin(1, userID(1))
	mustPutEmailLogin(t, s, l)
	errs := concurrently(16, func(int) error {
		_, _, err := s.TakeEmailLogin(t.Context(), l.Hash, at(time.Minute))
		return err
	})
	ok, matched, other := tally(errs, store.ErrNotFound)
	if ok != 1 || matched[0] != 15 || len(other) != 0 {
		t.Errorf("16 concurrent takes: %d succeeded, %d not found, other %v; want 1, 15, none", ok, matched[0], other)
	}
}

// testEmailLoginReserveRace: SECURITY.md #23 — concurrent code attempts
// never exceed the limit.
func testEmailLoginReserveRace(t *testing.T, st store.Store) {
	s := emailLogins(t, st)
	mustCreateUser(t, st, newUser(1))
	l := newEmailLogin(1, userID(1))
	mustPutEmailLogin(t, s, l)
	errs := concurrently(20, func(int) error {
		_, _, err := s.ReserveEmailLoginAttempt(t.Context(), l.ID, at(time.Minute), 5)
		return err
	})
	ok, matched, other := tally(errs, store.ErrExhausted)
	if ok != 5 || matched[0] != 15 || len(other) != 0 {
		t.Errorf("20 concurrent reservations: %d succeeded, %d exhausted, other %v; want 5, 15, none", ok, matched[0], other)
	}
	// Exhausted codes leave the link alone: the link is the stronger secret.
	if _, _, err := s.TakeEmailLogin(t.Context(), l.Hash, at(time.Minute)); err != nil {
		t.Errorf("TakeEmailLogin after the code was exhausted: %v", err)
	}
}

// testEmailLoginExpiry: the code dies at CodeExpiresAt, the link at
// ExpiresAt (usable strictly before each).
func testEmailLoginExpiry(t *testing.T, st store.Store) {
	s := emailLogins(t, st)
	mustCreateUser(t, st, newUser(1))
	l := newEmailLogin(1, userID(1))
	mustPutEmailLogin(t, s, l)
	if _, _, err := s.ReserveEmailLoginAttempt(t.Context(), l.ID, at(10*time.Minute-time.Microsecond), 5); err != nil {
		t.Errorf("ReserveEmailLoginAttempt just before CodeExpiresAt: %v", err)
	}
	_, _, err := s.ReserveEmailLoginAttempt(t.Context(), l.ID, at(10*time.Minute), 5)
	wantErr(t, "ReserveEmailLoginAttempt at CodeExpiresAt", err, store.ErrNotFound)
	_, _, err = s.TakeEmailLogin(t.Context(), l.Hash, at(15*time.Minute))
	wantErr(t, "TakeEmailLogin at ExpiresAt", err, store.ErrNotFound)
	if _, _, err := s.TakeEmailLogin(t.Context(), l.Hash, at(15*time.Minute-time.Microsecond)); err != nil {
		t.Errorf("TakeEmailLogin just before ExpiresAt: %v", err)
	}
}

func testEmailLoginUserDeleted(t *testing.T, st store.Store) {
	s := emailLogins(t, st)
	mustCreateUser(t, st, newUser(1))
	l := newEmailLogin(1, userID(1))
	mustPutEmailLogin(t, s, l)
	if err := st.DeleteUser(t.Context(), userID(1)); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	_, _, err := s.TakeEmailLogin(t.Context(), l.Hash, at(time.Minute))
	wantErr(t, "TakeEmailLogin after DeleteUser", err, store.ErrNotFound)
	_, _, err = s.ReserveEmailLoginAttempt(t.Context(), l.ID, at(time.Minute), 5)
	wantErr(t, "ReserveEmailLoginAttempt after DeleteUser", err, store.ErrNotFound)
	// A user created again with the same ID does not inherit it.
	mustCreateUser(t, st, newUser(1))
	_, _, err = s.TakeEmailLogin(t.Context(), l.Hash, at(time.Minute))
	wantErr(t, "TakeEmailLogin after the user was recreated", err, store.ErrNotFound)
}

func testEmailLoginDeleteExpired(t *testing.T, st store.Store) {
	s := emailLogins(t, st)
	e, ok := st.(store.Expirer)
	if !ok {
		t.Skipf("%T does not implement store.Expirer", st)
	}
	mustCreateUser(t, st, newUser(1))
	mustCreateUser(t, st, newUser(2))
	old, live := newEmailLogin(1, userID(1)), newEmailLogin(2, userID(2))
	old.ExpiresAt, old.CodeExpiresAt = at(time.Minute), at(time.Minute)
	mustPutEmailLogin(t, s, old)
	mustPutEmailLogin(t, s, live)
	n, err := e.DeleteExpired(t.Context(), at(time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("DeleteExpired = %d, %v; want 1", n, err)
	}
	if _, _, err := s.TakeEmailLogin(t.Context(), live.Hash, at(0)); err != nil {
		t.Errorf("the live email login went too: %v", err)
	}
	if _, _, err := s.TakeEmailLogin(t.Context(), old.Hash, at(0)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("TakeEmailLogin(purged) = %v, want ErrNotFound", err)
	}
}

func testEmailLoginAlias(t *testing.T, st store.Store) {
	s := emailLogins(t, st)
	mustCreateUser(t, st, newUser(1))
	l := newEmailLogin(1, userID(1))
	mustPutEmailLogin(t, s, l)
	l.CodeHash[0] ^= 0xff
	l.Email = "changed@example.com"
	got, _, err := s.ReserveEmailLoginAttempt(t.Context(), l.ID, at(time.Minute), 5)
	if err != nil {
		t.Fatalf("ReserveEmailLoginAttempt: %v", err)
	}
	want := utcEmailLogin(newEmailLogin(1, userID(1)))
	want.Attempts = 1
	checkEqual(t, "stored email login after the caller changed its copy", got, want)
	got.CodeHash[0] ^= 0xff
	got.Hash[0] ^= 0xff
	again, _, err := s.TakeEmailLogin(t.Context(), want.Hash, at(time.Minute))
	if err != nil {
		t.Fatalf("TakeEmailLogin after the caller changed a returned copy: %v", err)
	}
	checkEqual(t, "stored email login after the caller changed a returned copy", again, want)
}
