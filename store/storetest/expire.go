package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

func expirerTests() []test {
	return []test{
		{name: "DeleteExpired", run: testDeleteExpired},
		{name: "Empty", run: testDeleteExpiredEmpty},
	}
}

// expirer returns s as a store.Expirer, or skips the test.
func expirer(tb testing.TB, s store.Store) store.Expirer {
	tb.Helper()
	e, ok := s.(store.Expirer)
	if !ok {
		tb.Skipf("%T does not implement store.Expirer", s)
	}
	return e
}

// testDeleteExpired: sessions not live at before go with their refresh
// tokens, secrets whose ExpiresAt is not after before go, and the rest
// stays and keeps working.
func testDeleteExpired(t *testing.T, s store.Store) {
	e := expirer(t, s)
	mustCreateUser(t, s, newUser(1))
	mustCreateUser(t, s, newUser(2))
	before := at(10 * 24 * time.Hour)

	// Sessions 1 and 5 are live at before; 2, 3 and 4 are not.
	live := newSession(1, userID(1), at(9*24*time.Hour))
	idleAt := newSession(2, userID(1), at(2*24*time.Hour)) // IdleExpiresAt == before once rotated below
	idlePast := newSession(3, userID(2), at(2*24*time.Hour))
	absolute := newSession(4, userID(2), at(-20*24*time.Hour)) // ExpiresAt == before
	absolute.IdleExpiresAt = absolute.ExpiresAt
	liveJust := newSession(5, userID(2), at(3*24*time.Hour+time.Microsecond))
	for n, sess := range map[int]*store.Session{1: live, 2: idleAt, 3: idlePast, 4: absolute, 5: liveJust} {
		mustCreateSession(t, s, sess, refresh(n, 0))
	}
	// Session 2 gets a rotated-away token; its idle deadline becomes before.
	rotate(t, s, 2, 0, before.Add(-idleLife))

	mkSecret := func(uid string, p store.Purpose, label string, expires time.Time) *store.Secret {
		sec := newSecret(uid, p, label)
		sec.ExpiresAt = expires
		sec.CodeExpiresAt = expires
		return sec
	}
	secretAt := mkSecret(userID(1), store.PurposeVerifyEmail, "at", before)
	secretPast := mkSecret(userID(2), store.PurposeVerifyEmail, "past", before.Add(-time.Hour))
	secretLive := mkSecret(userID(1), store.PurposeResetPassword, "live", before.Add(time.Microsecond))
	for _, sec := range []*store.Secret{secretAt, secretPast, secretLive} {
		mustPutSecret(t, s, sec)
	}

	n, err := e.DeleteExpired(t.Context(), before.In(elsewhere))
	if err != nil {
		t.Fatalf("DeleteExpired: %v", err)
	}
	if want := 3 + 2; n != want {
		t.Errorf("DeleteExpired = %d, want %d (3 sessions and 2 secrets)", n, want)
	}

	for _, tc := range []struct {
		sess *store.Session
		kept bool
	}{{live, true}, {idleAt, false}, {idlePast, false}, {absolute, false}, {liveJust, true}} {
		if got := sessionExists(t, s, tc.sess.ID); got != tc.kept {
			t.Errorf("session %s exists = %t, want %t", tc.sess.ID, got, tc.kept)
		}
	}
	// Kept sessions keep working; deleted ones' refresh hashes are free.
	rotate(t, s, 1, 0, before)
	rotate(t, s, 5, 0, before)
	for i, h := range [][]byte{refresh(2, 0), refresh(2, 1), refresh(3, 0), refresh(4, 0)} {
		err := s.CreateSession(t.Context(), newSession(10+i, userID(1), before), h)
		wantErr(t, "CreateSession with a purged session's refresh hash", err, nil)
	}

	probe := func(sec *store.Secret) bool {
		t.Helper()
		return secretExistsAt(t, s, sec.Hash, sec.Purpose, before.Add(-2*time.Hour))
	}
	if !probe(secretLive) {
		t.Error("the secret expiring after before was deleted")
	}
	for _, sec := range []*store.Secret{secretAt, secretPast} {
		if probe(sec) {
			t.Errorf("secret %q expiring at %v survived", sec.Email, sec.ExpiresAt)
		}
	}

	again, err := e.DeleteExpired(t.Context(), before)
	if err != nil || again != 0 {
		t.Errorf("DeleteExpired again = %d, %v; want 0, nil", again, err)
	}
}

func testDeleteExpiredEmpty(t *testing.T, s store.Store) {
	e := expirer(t, s)
	mustCreateUser(t, s, newUser(1))
	mustCreateSession(t, s, newSession(1, userID(1), base), refresh(1, 0))
	mustPutSecret(t, s, newSecret(userID(1), store.PurposeVerifyEmail, "1"))
	n, err := e.DeleteExpired(t.Context(), base)
	if err != nil || n != 0 {
		t.Errorf("DeleteExpired with nothing expired = %d, %v; want 0, nil", n, err)
	}
	if !sessionExists(t, s, sessionID(1)) {
		t.Error("a live session was deleted")
	}
	if !secretExists(t, s, digest("secret 1"), store.PurposeVerifyEmail) {
		t.Error("a live secret was deleted")
	}
}
