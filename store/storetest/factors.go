package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

func factorTests() []test {
	return []test{
		{name: "CreateAndList", run: testFactorCreateList},
		{name: "CreateErrors", run: testFactorCreateErrors},
		{name: "UseAdvancesStep", run: testFactorUse},
		{name: "UseOneWinner", run: testFactorUseRace},
		{name: "Delete", run: testFactorDelete},
		{name: "DeleteUserFactors", run: testFactorDeleteUser},
		{name: "DeleteUserCascades", run: testFactorUserDeleted},
		{name: "NoAliasing", run: testFactorAlias},
		{name: "HasFactorsFollows", run: testHasFactors},
		{name: "HasFactorsConcurrentConfirm", run: testHasFactorsRace},
	}
}

func recoveryCodeTests() []test {
	return []test{
		{name: "ConsumeOnce", run: testRecoveryConsume},
		{name: "ReplaceInvalidatesOld", run: testRecoveryReplace},
		{name: "Errors", run: testRecoveryErrors},
		{name: "ConsumeOneWinner", run: testRecoveryRace},
	}
}

func challengeTests() []test {
	return []test{
		{name: "PutAndReserve", run: testChallengePutReserve},
		{name: "Errors", run: testChallengeErrors},
		{name: "Exhausted", run: testChallengeExhausted},
		{name: "Expired", run: testChallengeExpired},
		{name: "ReserveConcurrent", run: testChallengeReserveRace},
		{name: "DeleteOneWinner", run: testChallengeDeleteRace},
		{name: "DeleteExpired", run: testChallengeDeleteExpired},
	}
}

// secondFactors returns s as a store.SecondFactors, or skips the test.
func secondFactors(tb testing.TB, s store.Store) store.SecondFactors {
	tb.Helper()
	f, ok := s.(store.SecondFactors)
	if !ok {
		tb.Skipf("%T does not implement store.SecondFactors", s)
	}
	return f
}

func factorID(n int) string { return fmt.Sprintf("c0000000-0000-4000-8000-%012d", n) }

// newFactor returns pending TOTP factor n of user uid, created at
// base+n seconds.
func newFactor(n int, uid string) *store.Factor {
	return &store.Factor{
		ID:        factorID(n),
		UserID:    uid,
		Type:      store.FactorTOTP,
		Name:      fmt.Sprintf("phone %d", n),
		Secret:    digest(fmt.Sprintf("sealed secret %d", n)),
		CreatedAt: at(time.Duration(n) * time.Second).In(elsewhere),
	}
}

func mustCreateFactor(tb testing.TB, s store.SecondFactors, f *store.Factor) {
	tb.Helper()
	if err := s.CreateFactor(tb.Context(), f); err != nil {
		tb.Fatalf("setup: CreateFactor(%s): %v", f.ID, err)
	}
}

func mustFactors(tb testing.TB, s store.SecondFactors, uid string) []store.Factor {
	tb.Helper()
	fs, err := s.UserFactors(tb.Context(), uid)
	if err != nil {
		tb.Fatalf("UserFactors(%s): %v", uid, err)
	}
	return fs
}

// utcFactor is f as a store returns it: times in UTC.
func utcFactor(f *store.Factor) store.Factor {
	c := *f
	c.CreatedAt, c.ConfirmedAt, c.LastUsedAt = c.CreatedAt.UTC(), c.ConfirmedAt.UTC(), c.LastUsedAt.UTC()
	return c
}

func testFactorCreateList(t *testing.T, st store.Store) {
	s := secondFactors(t, st)
	mustCreateUser(t, st, newUser(1))
	mustCreateUser(t, st, newUser(2))
	// Created out of order: the list is by CreatedAt.
	mustCreateFactor(t, s, newFactor(2, userID(1)))
	mustCreateFactor(t, s, newFactor(1, userID(1)))
	mustCreateFactor(t, s, newFactor(3, userID(2)))
	checkEqual(t, "UserFactors(user 1)", mustFactors(t, s, userID(1)),
		[]store.Factor{utcFactor(newFactor(1, userID(1))), utcFactor(newFactor(2, userID(1)))})
	if got := mustFactors(t, s, unknownID); len(got) != 0 {
		t.Errorf("UserFactors(unknown) = %d factors, want 0", len(got))
	}
	if fs := mustFactors(t, s, userID(1)); fs[0].Confirmed() {
		t.Error("a new factor is confirmed; want pending")
	}
}

func testFactorCreateErrors(t *testing.T, st store.Store) {
	s := secondFactors(t, st)
	mustCreateUser(t, st, newUser(1))
	wantErr(t, "CreateFactor(unknown user)", s.CreateFactor(t.Context(), newFactor(1, unknownID)), store.ErrNotFound)
	mustCreateFactor(t, s, newFactor(1, userID(1)))
	wantErr(t, "CreateFactor(taken ID)", s.CreateFactor(t.Context(), newFactor(1, userID(1))), store.ErrConflict)
	if got := len(mustFactors(t, s, userID(1))); got != 1 {
		t.Errorf("after the failed creates: %d factors, want 1", got)
	}
}

// testFactorUse: SECURITY.md #78 — a step is accepted once, only when it is
// after the last accepted one, and the first use confirms the factor.
func testFactorUse(t *testing.T, st store.Store) {
	s := secondFactors(t, st)
	mustCreateUser(t, st, newUser(1))
	mustCreateUser(t, st, newUser(2))
	mustCreateFactor(t, s, newFactor(1, userID(1)))
	use := func(step int64, now time.Time) (*store.Factor, error) {
		return s.UseFactor(t.Context(), store.FactorUse{UserID: userID(1), ID: factorID(1), Step: step, Now: now})
	}
	f, err := use(100, at(time.Minute).In(elsewhere))
	if !wantErr(t, "UseFactor(step 100)", err, nil) {
		return
	}
	want := utcFactor(newFactor(1, userID(1)))
	want.LastStep, want.ConfirmedAt, want.LastUsedAt = 100, at(time.Minute), at(time.Minute)
	checkEqual(t, "UseFactor result", f, &want)
	_, err = use(100, at(2*time.Minute))
	wantErr(t, "UseFactor(same step)", err, store.ErrReplayed)
	_, err = use(99, at(2*time.Minute))
	wantErr(t, "UseFactor(earlier step)", err, store.ErrReplayed)
	f, err = use(101, at(3*time.Minute))
	if wantErr(t, "UseFactor(step 101)", err, nil) {
		// ConfirmedAt stays the first use.
		want.LastStep, want.LastUsedAt = 101, at(3*time.Minute)
		checkEqual(t, "UseFactor(step 101) result", f, &want)
	}
	checkEqual(t, "stored factor", mustFactors(t, s, userID(1)), []store.Factor{want})
	_, err = s.UseFactor(t.Context(), store.FactorUse{UserID: userID(2), ID: factorID(1), Step: 200, Now: at(time.Hour)})
	wantErr(t, "UseFactor(another user's factor)", err, store.ErrNotFound)
	_, err = s.UseFactor(t.Context(), store.FactorUse{UserID: userID(1), ID: factorID(9), Step: 200, Now: at(time.Hour)})
	wantErr(t, "UseFactor(unknown factor)", err, store.ErrNotFound)
}

// testFactorUseRace: SECURITY.md #78 — 20 goroutines submit one step:
// exactly one wins, the others get ErrReplayed.
func testFactorUseRace(t *testing.T, st store.Store) {
	s := secondFactors(t, st)
	mustCreateUser(t, st, newUser(1))
	mustCreateFactor(t, s, newFactor(1, userID(1)))
	errs := concurrently(20, func(int) error {
		_, err := s.UseFactor(t.Context(), store.FactorUse{UserID: userID(1), ID: factorID(1), Step: 42, Now: at(time.Minute)})
		return err
	})
	ok, matched, other := tally(errs, store.ErrReplayed)
	if ok != 1 || matched[0] != 19 || len(other) != 0 {
		t.Errorf("20 concurrent uses of one step: %d succeeded, %d replayed, other errors %v; want 1, 19, none", ok, matched[0], other)
	}
}

func testFactorDelete(t *testing.T, st store.Store) {
	s := secondFactors(t, st)
	mustCreateUser(t, st, newUser(1))
	mustCreateUser(t, st, newUser(2))
	mustCreateFactor(t, s, newFactor(1, userID(1)))
	mustCreateFactor(t, s, newFactor(2, userID(1)))
	wantErr(t, "DeleteFactor(another user's)", s.DeleteFactor(t.Context(), userID(2), factorID(1)), store.ErrNotFound)
	wantErr(t, "DeleteFactor", s.DeleteFactor(t.Context(), userID(1), factorID(1)), nil)
	wantErr(t, "DeleteFactor again", s.DeleteFactor(t.Context(), userID(1), factorID(1)), store.ErrNotFound)
	checkEqual(t, "factors left", mustFactors(t, s, userID(1)), []store.Factor{utcFactor(newFactor(2, userID(1)))})
}

func testFactorDeleteUser(t *testing.T, st store.Store) {
	s := secondFactors(t, st)
	mustCreateUser(t, st, newUser(1))
	mustCreateUser(t, st, newUser(2))
	mustCreateFactor(t, s, newFactor(1, userID(1)))
	mustCreateFactor(t, s, newFactor(2, userID(1)))
	mustCreateFactor(t, s, newFactor(3, userID(2)))
	mustReplaceCodes(t, s, userID(1), codeHashes("u1", 3))
	mustReplaceCodes(t, s, userID(2), codeHashes("u2", 3))
	mustPutChallenge(t, s, newChallenge(1, userID(1)))
	mustPutChallenge(t, s, newChallenge(2, userID(2)))

	n, err := s.DeleteUserFactors(t.Context(), userID(1))
	if wantErr(t, "DeleteUserFactors", err, nil) && n != 2 {
		t.Errorf("DeleteUserFactors = %d, want 2", n)
	}
	if got := mustFactors(t, s, userID(1)); len(got) != 0 {
		t.Errorf("user 1 has %d factors after DeleteUserFactors, want 0", len(got))
	}
	if got := mustCountCodes(t, s, userID(1)); got != 0 {
		t.Errorf("user 1 has %d recovery codes after DeleteUserFactors, want 0", got)
	}
	_, _, err = s.ReserveChallengeAttempt(t.Context(), newChallenge(1, userID(1)).Hash, base, 5)
	wantErr(t, "user 1's challenge after DeleteUserFactors", err, store.ErrNotFound)
	// The other user keeps everything.
	if len(mustFactors(t, s, userID(2))) != 1 || mustCountCodes(t, s, userID(2)) != 3 {
		t.Error("DeleteUserFactors touched another user's factors or codes")
	}
	_, _, err = s.ReserveChallengeAttempt(t.Context(), newChallenge(2, userID(2)).Hash, base, 5)
	wantErr(t, "user 2's challenge", err, nil)
}

func testFactorUserDeleted(t *testing.T, st store.Store) {
	s := secondFactors(t, st)
	mustCreateUser(t, st, newUser(1))
	mustCreateFactor(t, s, newFactor(1, userID(1)))
	mustReplaceCodes(t, s, userID(1), codeHashes("u1", 2))
	mustPutChallenge(t, s, newChallenge(1, userID(1)))
	if err := st.DeleteUser(t.Context(), userID(1)); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	if len(mustFactors(t, s, userID(1))) != 0 || mustCountCodes(t, s, userID(1)) != 0 {
		t.Error("factors or recovery codes survive DeleteUser")
	}
	_, _, err := s.ReserveChallengeAttempt(t.Context(), newChallenge(1, userID(1)).Hash, base, 5)
	wantErr(t, "challenge after DeleteUser", err, store.ErrNotFound)
	// The user comes back with the same ID: nothing of the old one remains.
	mustCreateUser(t, st, newUser(1))
	if len(mustFactors(t, s, userID(1))) != 0 {
		t.Error("a recreated user inherits factors")
	}
}

func testFactorAlias(t *testing.T, st store.Store) {
	s := secondFactors(t, st)
	mustCreateUser(t, st, newUser(1))
	f := newFactor(1, userID(1))
	mustCreateFactor(t, s, f)
	scribble(f.Secret)
	f.Name = "scribbled"
	fs := mustFactors(t, s, userID(1))
	checkEqual(t, "stored factor after changing the input", fs, []store.Factor{utcFactor(newFactor(1, userID(1)))})
	scribble(fs[0].Secret)
	checkEqual(t, "stored factor after changing the output", mustFactors(t, s, userID(1)), []store.Factor{utcFactor(newFactor(1, userID(1)))})

	c := newChallenge(1, userID(1))
	mustPutChallenge(t, s, c)
	scribble(c.Binding)
	got, _, err := s.ReserveChallengeAttempt(t.Context(), newChallenge(1, userID(1)).Hash, base, 5)
	if wantErr(t, "ReserveChallengeAttempt", err, nil) {
		want := newChallenge(1, userID(1))
		want.Attempts = 1
		checkEqual(t, "stored challenge after changing the input", got, want)
	}
}

// codeHashes returns n distinct recovery-code hashes labelled label.
func codeHashes(label string, n int) [][]byte {
	hs := make([][]byte, n)
	for i := range hs {
		hs[i] = digest(fmt.Sprintf("recovery %s %d", label, i))
	}
	return hs
}

func mustReplaceCodes(tb testing.TB, s store.SecondFactors, uid string, hashes [][]byte) {
	tb.Helper()
	if err := s.ReplaceRecoveryCodes(tb.Context(), uid, hashes); err != nil {
		tb.Fatalf("setup: ReplaceRecoveryCodes(%s): %v", uid, err)
	}
}

func mustCountCodes(tb testing.TB, s store.SecondFactors, uid string) int {
	tb.Helper()
	n, err := s.CountRecoveryCodes(tb.Context(), uid)
	if err != nil {
		tb.Fatalf("CountRecoveryCodes(%s): %v", uid, err)
	}
	return n
}

// testRecoveryConsume: SECURITY.md #81 — a recovery code is single-use.
func testRecoveryConsume(t *testing.T, st store.Store) {
	s := secondFactors(t, st)
	mustCreateUser(t, st, newUser(1))
	mustCreateUser(t, st, newUser(2))
	hs := codeHashes("a", 3)
	mustReplaceCodes(t, s, userID(1), hs)
	if got := mustCountCodes(t, s, userID(1)); got != 3 {
		t.Errorf("CountRecoveryCodes = %d, want 3", got)
	}
	_, err := s.ConsumeRecoveryCode(t.Context(), userID(2), hs[0])
	wantErr(t, "ConsumeRecoveryCode(another user's code)", err, store.ErrNotFound)
	left, err := s.ConsumeRecoveryCode(t.Context(), userID(1), hs[0])
	if wantErr(t, "ConsumeRecoveryCode", err, nil) && left != 2 {
		t.Errorf("ConsumeRecoveryCode left %d, want 2", left)
	}
	_, err = s.ConsumeRecoveryCode(t.Context(), userID(1), hs[0])
	wantErr(t, "ConsumeRecoveryCode(used code)", err, store.ErrNotFound)
	_, err = s.ConsumeRecoveryCode(t.Context(), userID(1), digest("never issued"))
	wantErr(t, "ConsumeRecoveryCode(unknown code)", err, store.ErrNotFound)
	if got := mustCountCodes(t, s, userID(1)); got != 2 {
		t.Errorf("CountRecoveryCodes = %d, want 2", got)
	}
}

// testRecoveryReplace: SECURITY.md #81 — regenerating invalidates the old
// set.
func testRecoveryReplace(t *testing.T, st store.Store) {
	s := secondFactors(t, st)
	mustCreateUser(t, st, newUser(1))
	old, next := codeHashes("old", 3), codeHashes("new", 4)
	mustReplaceCodes(t, s, userID(1), old)
	mustReplaceCodes(t, s, userID(1), next)
	for i, h := range old {
		_, err := s.ConsumeRecoveryCode(t.Context(), userID(1), h)
		wantErr(t, fmt.Sprintf("old code %d after replacing", i), err, store.ErrNotFound)
	}
	if got := mustCountCodes(t, s, userID(1)); got != 4 {
		t.Errorf("CountRecoveryCodes = %d, want 4", got)
	}
	_, err := s.ConsumeRecoveryCode(t.Context(), userID(1), next[3])
	wantErr(t, "new code", err, nil)
	mustReplaceCodes(t, s, userID(1), nil)
	if got := mustCountCodes(t, s, userID(1)); got != 0 {
		t.Errorf("after replacing with none: %d codes, want 0", got)
	}
}

func testRecoveryErrors(t *testing.T, st store.Store) {
	s := secondFactors(t, st)
	mustCreateUser(t, st, newUser(1))
	wantErr(t, "ReplaceRecoveryCodes(unknown user)", s.ReplaceRecoveryCodes(t.Context(), unknownID, codeHashes("x", 2)), store.ErrNotFound)
	mustReplaceCodes(t, s, userID(1), codeHashes("keep", 2))
	dup := [][]byte{digest("d"), digest("e"), digest("d")}
	wantErr(t, "ReplaceRecoveryCodes(duplicate hash)", s.ReplaceRecoveryCodes(t.Context(), userID(1), dup), store.ErrConflict)
	if got := mustCountCodes(t, s, userID(1)); got != 2 {
		t.Errorf("after a failed replace: %d codes, want the 2 from before", got)
	}
	if got := mustCountCodes(t, s, unknownID); got != 0 {
		t.Errorf("CountRecoveryCodes(unknown) = %d, want 0", got)
	}
}

// testRecoveryRace: SECURITY.md #81 — 20 goroutines spend one code:
// exactly one succeeds.
func testRecoveryRace(t *testing.T, st store.Store) {
	s := secondFactors(t, st)
	mustCreateUser(t, st, newUser(1))
	hs := codeHashes("race", 2)
	mustReplaceCodes(t, s, userID(1), hs)
	errs := concurrently(20, func(int) error {
		_, err := s.ConsumeRecoveryCode(t.Context(), userID(1), hs[1])
		return err
	})
	ok, matched, other := tally(errs, store.ErrNotFound)
	if ok != 1 || matched[0] != 19 || len(other) != 0 {
		t.Errorf("20 concurrent uses of one code: %d succeeded, %d not found, other %v; want 1, 19, none", ok, matched[0], other)
	}
}

// newChallenge returns challenge n of user uid, valid for five minutes from
// base.
func newChallenge(n int, uid string) *store.LoginChallenge {
	return &store.LoginChallenge{
		Hash:            digest(fmt.Sprintf("challenge %d", n)),
		UserID:          uid,
		Binding:         digest(fmt.Sprintf("binding %d", n)),
		AuthenticatedAt: base,
		ExpiresAt:       at(5 * time.Minute),
	}
}

func mustPutChallenge(tb testing.TB, s store.SecondFactors, c *store.LoginChallenge) {
	tb.Helper()
	if err := s.PutChallenge(tb.Context(), c); err != nil {
		tb.Fatalf("setup: PutChallenge: %v", err)
	}
}

func testChallengePutReserve(t *testing.T, st store.Store) {
	s := secondFactors(t, st)
	mustCreateUser(t, st, newUser(1))
	c := newChallenge(1, userID(1))
	c.AuthenticatedAt, c.ExpiresAt = c.AuthenticatedAt.In(elsewhere), c.ExpiresAt.In(elsewhere)
	mustPutChallenge(t, s, c)
	for i := 1; i <= 2; i++ {
		got, u, err := s.ReserveChallengeAttempt(t.Context(), c.Hash, at(time.Minute), 5)
		if !wantErr(t, "ReserveChallengeAttempt", err, nil) {
			return
		}
		want := newChallenge(1, userID(1))
		want.Attempts = i
		checkEqual(t, fmt.Sprintf("challenge at attempt %d", i), got, want)
		if u.ID != userID(1) || u.Email != email(1) {
			t.Errorf("challenge user = %s %s, want %s", u.ID, u.Email, userID(1))
		}
	}
}

func testChallengeErrors(t *testing.T, st store.Store) {
	s := secondFactors(t, st)
	mustCreateUser(t, st, newUser(1))
	wantErr(t, "PutChallenge(unknown user)", s.PutChallenge(t.Context(), newChallenge(1, unknownID)), store.ErrNotFound)
	mustPutChallenge(t, s, newChallenge(1, userID(1)))
	wantErr(t, "PutChallenge(taken hash)", s.PutChallenge(t.Context(), newChallenge(1, userID(1))), store.ErrConflict)
	_, _, err := s.ReserveChallengeAttempt(t.Context(), digest("unknown"), base, 5)
	wantErr(t, "ReserveChallengeAttempt(unknown)", err, store.ErrNotFound)
	wantErr(t, "DeleteChallenge(unknown)", s.DeleteChallenge(t.Context(), digest("unknown")), store.ErrNotFound)
}

// testChallengeExhausted: SECURITY.md #79 — at most maxAttempts answers are
// reserved on one challenge.
func testChallengeExhausted(t *testing.T, st store.Store) {
	s := secondFactors(t, st)
	mustCreateUser(t, st, newUser(1))
	c := newChallenge(1, userID(1))
	mustPutChallenge(t, s, c)
	for i := range 5 {
		if _, _, err := s.ReserveChallengeAttempt(t.Context(), c.Hash, base, 5); err != nil {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
	}
	_, _, err := s.ReserveChallengeAttempt(t.Context(), c.Hash, base, 5)
	wantErr(t, "attempt 6", err, store.ErrExhausted)
}

// testChallengeExpired: SECURITY.md #80 — a challenge is usable strictly
// before its ExpiresAt.
func testChallengeExpired(t *testing.T, st store.Store) {
	s := secondFactors(t, st)
	mustCreateUser(t, st, newUser(1))
	c := newChallenge(1, userID(1))
	mustPutChallenge(t, s, c)
	_, _, err := s.ReserveChallengeAttempt(t.Context(), c.Hash, c.ExpiresAt, 5)
	wantErr(t, "ReserveChallengeAttempt at ExpiresAt", err, store.ErrNotFound)
	_, _, err = s.ReserveChallengeAttempt(t.Context(), c.Hash, c.ExpiresAt.Add(-time.Microsecond), 5)
	wantErr(t, "ReserveChallengeAttempt just before ExpiresAt", err, nil)
}

// testChallengeReserveRace: SECURITY.md #79 — the attempt counter survives
// concurrency: of 20 concurrent reservations with a limit of 5, exactly 5
// succeed.
func testChallengeReserveRace(t *testing.T, st store.Store) {
	s := secondFactors(t, st)
	mustCreateUser(t, st, newUser(1))
	c := newChallenge(1, userID(1))
	mustPutChallenge(t, s, c)
	errs := concurrently(20, func(int) error {
		_, _, err := s.ReserveChallengeAttempt(t.Context(), c.Hash, base, 5)
		return err
	})
	ok, matched, other := tally(errs, store.ErrExhausted)
	if ok != 5 || matched[0] != 15 || len(other) != 0 {
		t.Errorf("20 concurrent reservations: %d succeeded, %d exhausted, other %v; want 5, 15, none", ok, matched[0], other)
	}
}

// testChallengeDeleteRace: SECURITY.md #80 — a challenge is consumed once.
func testChallengeDeleteRace(t *testing.T, st store.Store) {
	s := secondFactors(t, st)
	mustCreateUser(t, st, newUser(1))
	c := newChallenge(1, userID(1))
	mustPutChallenge(t, s, c)
	errs := concurrently(20, func(int) error { return s.DeleteChallenge(t.Context(), c.Hash) })
	ok, matched, other := tally(errs, store.ErrNotFound)
	if ok != 1 || matched[0] != 19 || len(other) != 0 {
		t.Errorf("20 concurrent deletes: %d succeeded, %d not found, other %v; want 1, 19, none", ok, matched[0], other)
	}
	_, _, err := s.ReserveChallengeAttempt(t.Context(), c.Hash, base, 5)
	wantErr(t, "ReserveChallengeAttempt after delete", err, store.ErrNotFound)
}

func testChallengeDeleteExpired(t *testing.T, st store.Store) {
	s := secondFactors(t, st)
	e, ok := st.(store.Expirer)
	if !ok {
		t.Skipf("%T does not implement store.Expirer", st)
	}
	mustCreateUser(t, st, newUser(1))
	live, dead := newChallenge(1, userID(1)), newChallenge(2, userID(1))
	dead.ExpiresAt = at(time.Minute)
	mustPutChallenge(t, s, live)
	mustPutChallenge(t, s, dead)
	n, err := e.DeleteExpired(t.Context(), at(time.Minute))
	if wantErr(t, "DeleteExpired", err, nil) && n != 1 {
		t.Errorf("DeleteExpired = %d, want 1 (the expired challenge)", n)
	}
	wantErr(t, "DeleteChallenge(expired one)", s.DeleteChallenge(t.Context(), dead.Hash), store.ErrNotFound)
	wantErr(t, "DeleteChallenge(live one)", s.DeleteChallenge(t.Context(), live.Hash), nil)
}

// wantHasFactors fails unless every way of reading user uid (by ID, by
// email, with a session, in a listing) says HasFactors is want.
func wantHasFactors(tb testing.TB, st store.Store, uid string, want bool, when string) {
	tb.Helper()
	u := mustUser(tb, st, uid)
	if u.HasFactors != want {
		tb.Errorf("%s: UserByID(%s).HasFactors = %t, want %t", when, uid, u.HasFactors, want)
	}
	if byEmail, err := st.UserByEmail(tb.Context(), u.Email); err != nil {
		tb.Errorf("%s: UserByEmail: %v", when, err)
	} else if byEmail.HasFactors != want {
		tb.Errorf("%s: UserByEmail(%s).HasFactors = %t, want %t", when, u.Email, byEmail.HasFactors, want)
	}
	page, err := st.ListUsers(tb.Context(), store.UserQuery{IDs: []string{uid}, Limit: 10})
	switch {
	case err != nil:
		tb.Errorf("%s: ListUsers: %v", when, err)
	case len(page.Users) != 1:
		tb.Errorf("%s: ListUsers(%s) = %d users, want 1", when, uid, len(page.Users))
	case page.Users[0].User.HasFactors != want:
		tb.Errorf("%s: ListUsers(%s).HasFactors = %t, want %t", when, uid, page.Users[0].User.HasFactors, want)
	}
}

// testHasFactors: store.User.HasFactors is "has at least one confirmed
// factor", kept by CreateFactor, UseFactor, DeleteFactor and
// DeleteUserFactors, and never set by CreateUser or UpdateUser.
func testHasFactors(t *testing.T, st store.Store) {
	s := secondFactors(t, st)
	u1 := newUser(1)
	u1.HasFactors = true // ignored: a new user has no factors
	mustCreateUser(t, st, u1)
	mustCreateUser(t, st, newUser(2))
	wantHasFactors(t, st, userID(1), false, "new user")

	mustCreateFactor(t, s, newFactor(1, userID(1)))
	wantHasFactors(t, st, userID(1), false, "with a pending factor")
	if _, err := s.UseFactor(t.Context(), store.FactorUse{UserID: userID(1), ID: factorID(1), Step: 10, Now: at(time.Minute)}); err != nil {
		t.Fatalf("UseFactor (confirm): %v", err)
	}
	wantHasFactors(t, st, userID(1), true, "after the factor is confirmed")
	wantHasFactors(t, st, userID(2), false, "another user, after user 1 confirmed")
	if _, err := s.UseFactor(t.Context(), store.FactorUse{UserID: userID(1), ID: factorID(1), Step: 11, Now: at(2 * time.Minute)}); err != nil {
		t.Fatalf("UseFactor (later step): %v", err)
	}
	wantHasFactors(t, st, userID(1), true, "after a later use")

	// UpdateUser keeps the flag; it has no field for it.
	if _, err := st.UpdateUser(t.Context(), userID(1), store.UserUpdate{Name: ptr("Renamed"), UpdatedAt: at(3 * time.Minute)}); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	wantHasFactors(t, st, userID(1), true, "after UpdateUser")

	// A second, pending factor: deleting the confirmed one leaves none
	// confirmed; deleting a pending one changes nothing.
	mustCreateFactor(t, s, newFactor(2, userID(1)))
	wantErr(t, "DeleteFactor(pending)", s.DeleteFactor(t.Context(), userID(1), factorID(2)), nil)
	wantHasFactors(t, st, userID(1), true, "after deleting a pending factor")
	wantErr(t, "DeleteFactor(confirmed)", s.DeleteFactor(t.Context(), userID(1), factorID(1)), nil)
	wantHasFactors(t, st, userID(1), false, "after deleting the only confirmed factor")

	// A factor created confirmed (a passkey is) sets it at once; with two
	// confirmed, deleting one keeps it.
	confirmed := func(n int) *store.Factor {
		f := newFactor(n, userID(1))
		f.Type, f.ConfirmedAt = "passkey", at(time.Hour)
		return f
	}
	mustCreateFactor(t, s, confirmed(3))
	wantHasFactors(t, st, userID(1), true, "after creating a confirmed factor")
	mustCreateFactor(t, s, confirmed(4))
	wantErr(t, "DeleteFactor(one of two confirmed)", s.DeleteFactor(t.Context(), userID(1), factorID(3)), nil)
	wantHasFactors(t, st, userID(1), true, "with one of two confirmed factors left")
	wantErr(t, "CreateFactor(confirmed, unknown user)", s.CreateFactor(t.Context(), &store.Factor{
		ID: factorID(9), UserID: unknownID, Type: store.FactorTOTP, Secret: digest("x"), CreatedAt: base, ConfirmedAt: base,
	}), store.ErrNotFound)

	// The reset clears it.
	if _, err := s.DeleteUserFactors(t.Context(), userID(1)); err != nil {
		t.Fatalf("DeleteUserFactors: %v", err)
	}
	wantHasFactors(t, st, userID(1), false, "after DeleteUserFactors")
}

// testHasFactorsRace: concurrent first uses of one pending factor confirm
// it once, and the flag is set.
func testHasFactorsRace(t *testing.T, st store.Store) {
	s := secondFactors(t, st)
	mustCreateUser(t, st, newUser(1))
	mustCreateFactor(t, s, newFactor(1, userID(1)))
	errs := concurrently(10, func(int) error {
		_, err := s.UseFactor(t.Context(), store.FactorUse{UserID: userID(1), ID: factorID(1), Step: 7, Now: at(time.Minute)})
		return err
	})
	ok, matched, other := tally(errs, store.ErrReplayed)
	if ok != 1 || matched[0] != 9 || len(other) != 0 {
		t.Errorf("10 concurrent confirmations: %d succeeded, %d replayed, other errors %v; want 1, 9, none", ok, matched[0], other)
	}
	wantHasFactors(t, st, userID(1), true, "after the concurrent confirmations")
}
