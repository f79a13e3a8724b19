package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

func secretTests() []test {
	return []test{
		{name: "Put", sub: []test{
			{name: "RoundTrip", run: testPutRoundTrip},
			{name: "UnknownUser", run: testPutUnknownUser},
			{name: "ConflictHash", run: testPutConflictHash},
			{name: "Replaces", run: testPutReplaces},
			{name: "PurposesCoexist", run: testPutPurposesCoexist},
		}},
		{name: "Consume", sub: []test{
			{name: "Success", run: testConsumeSuccess},
			{name: "NotFound", sub: consumeNotFoundTests()},
			{name: "AnyOfPurposes", run: testConsumeAnyOfPurposes},
			{name: "JustBeforeExpiry", run: testConsumeJustBeforeExpiry},
			{name: "ApplyArgs", run: testConsumeApplyArgs},
			{name: "ApplyError", run: testConsumeApplyError},
			{name: "ApplyUpdate", run: testConsumeApplyUpdate},
			{name: "NilUpdate", run: testConsumeNilUpdate},
			{name: "UpdateConflict", run: testConsumeUpdateConflict},
			{name: "UpdateLastSuperuser", run: testConsumeUpdateLastSuperuser},
			{name: "Concurrent", run: testConsumeConcurrent},
		}},
		{name: "ReserveCode", sub: []test{
			{name: "Counts", run: testReserveCounts},
			{name: "CountsFromStored", run: testReserveCountsFromStored},
			{name: "Lookup", sub: reserveLookupTests()},
			{name: "Concurrent", run: testReserveConcurrent},
		}},
	}
}

// consumeAt consumes hash for purpose p at now with no Apply.
func consumeAt(tb testing.TB, s store.Store, hash []byte, p store.Purpose, now time.Time) (*store.Secret, *store.User, error) {
	tb.Helper()
	return s.ConsumeSecret(tb.Context(), store.Consume{Hash: hash, Purposes: []store.Purpose{p}, Now: now})
}

// testPutRoundTrip: every field of a secret comes back from ConsumeSecret.
func testPutRoundTrip(t *testing.T, s store.Store) {
	mustCreateUser(t, s, newUser(1))
	in := newSecret(userID(1), store.Purpose("custom_purpose"), "1")
	in.CreatedAt = in.CreatedAt.In(elsewhere)
	in.ExpiresAt = in.ExpiresAt.In(elsewhere)
	in.CodeExpiresAt = in.CodeExpiresAt.In(elsewhere)
	in.Attempts = 2
	want := *in
	if err := s.PutSecret(t.Context(), in); err != nil {
		t.Fatalf("PutSecret: %v", err)
	}
	got, u, err := consumeAt(t, s, want.Hash, want.Purpose, base)
	if err != nil {
		t.Fatalf("ConsumeSecret: %v", err)
	}
	checkEqual(t, "secret", got, &want)
	checkEqual(t, "user", u, newUser(1))
}

func testPutUnknownUser(t *testing.T, s store.Store) {
	mustCreateUser(t, s, newUser(1))
	sec := newSecret(unknownID, store.PurposeVerifyEmail, "1")
	wantErr(t, "PutSecret for an unknown user", s.PutSecret(t.Context(), sec), store.ErrNotFound)
	if secretExists(t, s, sec.Hash, sec.Purpose) {
		t.Error("the secret was stored")
	}
}

// testPutConflictHash: a hash in use is refused, whoever owns it, and the
// refused call replaces nothing.
func testPutConflictHash(t *testing.T, s store.Store) {
	mustCreateUser(t, s, newUser(1))
	mustCreateUser(t, s, newUser(2))
	taken := newSecret(userID(1), store.PurposeVerifyEmail, "taken")
	mustPutSecret(t, s, taken)
	myReset := newSecret(userID(1), store.PurposeResetPassword, "reset")
	mustPutSecret(t, s, myReset)
	theirReset := newSecret(userID(2), store.PurposeResetPassword, "their reset")
	mustPutSecret(t, s, theirReset)

	for _, tc := range []struct {
		name string
		uid  string
		old  *store.Secret // the secret the refused call would have replaced
	}{
		{"OtherUser", userID(2), theirReset},
		{"SameUserOtherPurpose", userID(1), myReset},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dup := newSecret(tc.uid, store.PurposeResetPassword, "dup")
			dup.Hash = taken.Hash
			wantErr(t, "PutSecret with a hash in use", s.PutSecret(t.Context(), dup), store.ErrConflict)
			if !secretExists(t, s, tc.old.Hash, tc.old.Purpose) {
				t.Error("the refused PutSecret deleted the secret it would have replaced")
			}
			got, err := s.ReserveCodeAttempt(t.Context(), tc.uid, store.PurposeResetPassword, base, 5)
			if err != nil {
				t.Fatalf("ReserveCodeAttempt: %v", err)
			}
			checkEqual(t, "reset secret", got.CodeHash, tc.old.CodeHash)
		})
	}
	if !secretExists(t, s, taken.Hash, taken.Purpose) {
		t.Error("the original secret is gone")
	}
}

// testPutReplaces: a new secret replaces the user's secret for the same
// purpose, whose hash becomes free; other users' secrets stay.
func testPutReplaces(t *testing.T, s store.Store) {
	mustCreateUser(t, s, newUser(1))
	mustCreateUser(t, s, newUser(2))
	first := newSecret(userID(1), store.PurposeResetPassword, "first")
	theirs := newSecret(userID(2), store.PurposeResetPassword, "theirs")
	mustPutSecret(t, s, first)
	mustPutSecret(t, s, theirs)
	second := newSecret(userID(1), store.PurposeResetPassword, "second")
	if err := s.PutSecret(t.Context(), second); err != nil {
		t.Fatalf("PutSecret(second): %v", err)
	}
	if secretExists(t, s, first.Hash, first.Purpose) {
		t.Error("the replaced secret can still be consumed")
	}
	if !secretExists(t, s, second.Hash, second.Purpose) {
		t.Error("the new secret cannot be consumed")
	}
	if !secretExists(t, s, theirs.Hash, theirs.Purpose) {
		t.Error("another user's secret for the same purpose was replaced")
	}
	got, err := s.ReserveCodeAttempt(t.Context(), userID(1), store.PurposeResetPassword, base, 5)
	if err != nil {
		t.Fatalf("ReserveCodeAttempt: %v", err)
	}
	checkEqual(t, "code hash", got.CodeHash, second.CodeHash)
	reuse := newSecret(userID(2), store.PurposeVerifyEmail, "reuse")
	reuse.Hash = first.Hash
	wantErr(t, "PutSecret with the replaced secret's hash", s.PutSecret(t.Context(), reuse), nil)
}

func testPutPurposesCoexist(t *testing.T, s store.Store) {
	mustCreateUser(t, s, newUser(1))
	secrets := []*store.Secret{
		newSecret(userID(1), store.PurposeVerifyEmail, "v"),
		newSecret(userID(1), store.PurposeResetPassword, "r"),
		newSecret(userID(1), store.PurposeChangeEmail, "c"),
	}
	for _, sec := range secrets {
		mustPutSecret(t, s, sec)
	}
	for _, sec := range secrets {
		if _, _, err := consumeAt(t, s, sec.Hash, sec.Purpose, base); err != nil {
			t.Errorf("ConsumeSecret(%s): %v", sec.Purpose, err)
		}
	}
}

// testConsumeSuccess: a secret is consumed once, and its hash is free
// afterwards.
//
// SECURITY.md #45: single use.
func testConsumeSuccess(t *testing.T, s store.Store) {
	mustCreateUser(t, s, newUser(1))
	sec := newSecret(userID(1), store.PurposeVerifyEmail, "1")
	mustPutSecret(t, s, sec)
	got, u, err := consumeAt(t, s, sec.Hash, sec.Purpose, base)
	if err != nil {
		t.Fatalf("ConsumeSecret: %v", err)
	}
	checkEqual(t, "secret", got, newSecret(userID(1), store.PurposeVerifyEmail, "1"))
	checkEqual(t, "user", u, newUser(1))
	_, _, err = consumeAt(t, s, sec.Hash, sec.Purpose, base)
	wantErr(t, "second ConsumeSecret", err, store.ErrNotFound)
	if _, err := s.ReserveCodeAttempt(t.Context(), userID(1), sec.Purpose, base, 5); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ReserveCodeAttempt after consumption: err = %v, want ErrNotFound", err)
	}
	checkEqual(t, "user after consumption", mustUser(t, s, userID(1)), newUser(1))
	wantErr(t, "PutSecret with the consumed hash", s.PutSecret(t.Context(), sec), nil)
}

// consumeNotFoundTests: secrets that are missing, of another purpose or
// expired are not found, Apply is not called, and the secret stays.
//
// SECURITY.md #45: expiry boundary, and a reset token fails at
// verify-email.
func consumeNotFoundTests() []test {
	sec := newSecret(userID(1), store.PurposeResetPassword, "1")
	cases := []struct {
		name     string
		hash     []byte
		purposes []store.Purpose
		now      time.Time
	}{
		{"UnknownHash", digest("never stored"), []store.Purpose{store.PurposeResetPassword}, base},
		{"WrongPurpose", sec.Hash, []store.Purpose{store.PurposeVerifyEmail}, base},
		{"NoPurposes", sec.Hash, nil, base},
		{"AtExpiresAt", sec.Hash, []store.Purpose{store.PurposeResetPassword}, sec.ExpiresAt},
		{"AtExpiresAtElsewhere", sec.Hash, []store.Purpose{store.PurposeResetPassword}, sec.ExpiresAt.In(elsewhere)},
		{"AfterExpiresAt", sec.Hash, []store.Purpose{store.PurposeResetPassword}, sec.ExpiresAt.Add(time.Second)},
	}
	var tests []test
	for _, tc := range cases {
		tests = append(tests, test{name: tc.name, run: func(t *testing.T, s store.Store) {
			mustCreateUser(t, s, newUser(1))
			mustPutSecret(t, s, newSecret(userID(1), store.PurposeResetPassword, "1"))
			calls := 0
			_, _, err := s.ConsumeSecret(t.Context(), store.Consume{
				Hash: tc.hash, Purposes: tc.purposes, Now: tc.now,
				Apply: func(*store.Secret, *store.User) (*store.UserUpdate, error) {
					calls++
					return &store.UserUpdate{Name: ptr("applied"), UpdatedAt: tc.now}, nil
				},
			})
			wantErr(t, "ConsumeSecret", err, store.ErrNotFound)
			if calls != 0 {
				t.Errorf("Apply called %d times for a secret that was not found", calls)
			}
			checkEqual(t, "user", mustUser(t, s, userID(1)), newUser(1))
			if !secretExists(t, s, sec.Hash, sec.Purpose) {
				t.Error("the secret is gone")
			}
		}})
	}
	return tests
}

func testConsumeAnyOfPurposes(t *testing.T, s store.Store) {
	mustCreateUser(t, s, newUser(1))
	sec := newSecret(userID(1), store.PurposeChangeEmail, "1")
	mustPutSecret(t, s, sec)
	got, _, err := s.ConsumeSecret(t.Context(), store.Consume{
		Hash: sec.Hash, Purposes: []store.Purpose{store.PurposeVerifyEmail, store.PurposeChangeEmail}, Now: base,
	})
	if err != nil {
		t.Fatalf("ConsumeSecret: %v", err)
	}
	if got.Purpose != store.PurposeChangeEmail {
		t.Errorf("Purpose = %q, want %q", got.Purpose, store.PurposeChangeEmail)
	}
}

func testConsumeJustBeforeExpiry(t *testing.T, s store.Store) {
	mustCreateUser(t, s, newUser(1))
	sec := newSecret(userID(1), store.PurposeResetPassword, "1")
	mustPutSecret(t, s, sec)
	_, _, err := consumeAt(t, s, sec.Hash, sec.Purpose, sec.ExpiresAt.Add(-time.Microsecond))
	wantErr(t, "ConsumeSecret just before ExpiresAt", err, nil)
}

// testConsumeApplyArgs: Apply sees the stored secret and user, and is
// called once.
func testConsumeApplyArgs(t *testing.T, s store.Store) {
	mustCreateUser(t, s, fullUser(1))
	mustPutSecret(t, s, newSecret(userID(1), store.PurposeVerifyEmail, "1"))
	var (
		gotSecret store.Secret
		gotUser   store.User
		calls     int
	)
	_, _, err := s.ConsumeSecret(t.Context(), store.Consume{
		Hash: digest("secret 1"), Purposes: []store.Purpose{store.PurposeVerifyEmail}, Now: base,
		Apply: func(sec *store.Secret, u *store.User) (*store.UserUpdate, error) {
			calls++
			if sec == nil || u == nil {
				return nil, errors.New("nil argument")
			}
			gotSecret, gotUser = *sec, *u
			return nil, nil
		},
	})
	if err != nil {
		t.Fatalf("ConsumeSecret: %v", err)
	}
	if calls < 1 {
		t.Fatal("Apply was not called")
	}
	checkEqual(t, "Apply's secret", &gotSecret, newSecret(userID(1), store.PurposeVerifyEmail, "1"))
	checkEqual(t, "Apply's user", &gotUser, fullUser(1))
}

var errApply = errors.New("storetest: apply refused")

// testConsumeApplyError: Apply's error is returned unwrapped and nothing
// changes, even when Apply also returned an update.
func testConsumeApplyError(t *testing.T, s store.Store) {
	mustCreateUser(t, s, newUser(1))
	mustCreateSession(t, s, newSession(1, userID(1), base), refresh(1, 0))
	sec := newSecret(userID(1), store.PurposeResetPassword, "1")
	mustPutSecret(t, s, sec)
	got, u, err := s.ConsumeSecret(t.Context(), store.Consume{
		Hash: sec.Hash, Purposes: []store.Purpose{sec.Purpose}, Now: base,
		Apply: func(*store.Secret, *store.User) (*store.UserUpdate, error) {
			return &store.UserUpdate{PasswordHash: ptr("x"), UpdatedAt: at(time.Hour), RevokeSessions: true, DropSecrets: true}, errApply
		},
	})
	if !errors.Is(err, errApply) {
		t.Fatalf("err = %v, want Apply's error", err)
	}
	if errors.Unwrap(err) != nil {
		t.Errorf("err = %v: Apply's error was wrapped, want it returned as is", err)
	}
	if got != nil || u != nil {
		t.Error("a failed ConsumeSecret returned a secret or user")
	}
	want := newUser(1)
	want.LastLoginAt = base
	checkEqual(t, "user", mustUser(t, s, userID(1)), want)
	if !sessionExists(t, s, sessionID(1)) {
		t.Error("the session was revoked")
	}
	if _, _, err := consumeAt(t, s, sec.Hash, sec.Purpose, base); err != nil {
		t.Errorf("the secret cannot be consumed after Apply failed: %v", err)
	}
}

// testConsumeApplyUpdate: the update Apply returns is applied with its side
// effects, in the same step as the consumption.
//
// SECURITY.md #48: completing a reset revokes sessions.
func testConsumeApplyUpdate(t *testing.T, s store.Store) {
	mustCreateUser(t, s, newUser(1))
	mustCreateUser(t, s, newUser(2))
	mustCreateSession(t, s, newSession(1, userID(1), base), refresh(1, 0))
	mustCreateSession(t, s, newSession(2, userID(1), base), refresh(2, 0))
	mustCreateSession(t, s, newSession(9, userID(2), base), refresh(9, 0))
	reset := newSecret(userID(1), store.PurposeResetPassword, "reset")
	verify := newSecret(userID(1), store.PurposeVerifyEmail, "verify")
	theirs := newSecret(userID(2), store.PurposeResetPassword, "theirs")
	for _, sec := range []*store.Secret{reset, verify, theirs} {
		mustPutSecret(t, s, sec)
	}
	when := at(30 * time.Minute)
	gotSecret, gotUser, err := s.ConsumeSecret(t.Context(), store.Consume{
		Hash: reset.Hash, Purposes: []store.Purpose{store.PurposeResetPassword}, Now: when,
		Apply: func(*store.Secret, *store.User) (*store.UserUpdate, error) {
			return &store.UserUpdate{
				PasswordHash: ptr("$argon2id$reset"), TokensValidAfter: ptr(when), UpdatedAt: when.In(elsewhere),
				RevokeSessions: true, KeepSession: sessionID(2), DropSecrets: true,
			}, nil
		},
	})
	if err != nil {
		t.Fatalf("ConsumeSecret: %v", err)
	}
	checkEqual(t, "returned secret", gotSecret, newSecret(userID(1), store.PurposeResetPassword, "reset"))
	want := newUser(1)
	want.PasswordHash, want.TokensValidAfter, want.UpdatedAt, want.LastLoginAt = "$argon2id$reset", when, when, base
	checkEqual(t, "returned user", gotUser, want)
	checkEqual(t, "stored user", mustUser(t, s, userID(1)), want)
	if sessionExists(t, s, sessionID(1)) {
		t.Error("session 1 survived RevokeSessions")
	}
	kept := newSession(2, userID(1), base)
	kept.AuthenticatedAt = when
	checkEqual(t, "kept session", mustSession(t, s, sessionID(2)), kept)
	if secretExists(t, s, verify.Hash, verify.Purpose) {
		t.Error("the user's other secret survived DropSecrets")
	}
	if secretExists(t, s, reset.Hash, reset.Purpose) {
		t.Error("the consumed secret can be consumed again")
	}
	checkEqual(t, "other user's session", mustSession(t, s, sessionID(9)), newSession(9, userID(2), base))
	if !secretExists(t, s, theirs.Hash, theirs.Purpose) {
		t.Error("another user's secret was dropped")
	}
}

// testConsumeNilUpdate: an Apply that returns no update only consumes.
func testConsumeNilUpdate(t *testing.T, s store.Store) {
	mustCreateUser(t, s, newUser(1))
	sec := newSecret(userID(1), store.PurposeVerifyEmail, "1")
	mustPutSecret(t, s, sec)
	_, u, err := s.ConsumeSecret(t.Context(), store.Consume{
		Hash: sec.Hash, Purposes: []store.Purpose{sec.Purpose}, Now: base,
		Apply: func(*store.Secret, *store.User) (*store.UserUpdate, error) { return nil, nil },
	})
	if err != nil {
		t.Fatalf("ConsumeSecret: %v", err)
	}
	checkEqual(t, "returned user", u, newUser(1))
	checkEqual(t, "stored user", mustUser(t, s, userID(1)), newUser(1))
	if secretExists(t, s, sec.Hash, sec.Purpose) {
		t.Error("the secret was not consumed")
	}
}

// testConsumeUpdateConflict: an email change to a taken address fails with
// ErrConflict and leaves the secret, the user and the side effects alone.
func testConsumeUpdateConflict(t *testing.T, s store.Store) {
	mustCreateUser(t, s, newUser(1))
	mustCreateUser(t, s, newUser(2))
	mustCreateSession(t, s, newSession(1, userID(1), base), refresh(1, 0))
	sec := newSecret(userID(1), store.PurposeChangeEmail, "1")
	other := newSecret(userID(1), store.PurposeVerifyEmail, "2")
	mustPutSecret(t, s, sec)
	mustPutSecret(t, s, other)
	_, _, err := s.ConsumeSecret(t.Context(), store.Consume{
		Hash: sec.Hash, Purposes: []store.Purpose{sec.Purpose}, Now: base,
		Apply: func(*store.Secret, *store.User) (*store.UserUpdate, error) {
			return &store.UserUpdate{Email: ptr(email(2)), UpdatedAt: at(time.Hour), RevokeSessions: true, DropSecrets: true}, nil
		},
	})
	wantErr(t, "ConsumeSecret with a conflicting update", err, store.ErrConflict)
	want := newUser(1)
	want.LastLoginAt = base
	checkEqual(t, "user", mustUser(t, s, userID(1)), want)
	if !sessionExists(t, s, sessionID(1)) {
		t.Error("the session was revoked")
	}
	if !secretExists(t, s, other.Hash, other.Purpose) {
		t.Error("the user's other secret was dropped")
	}
	if !secretExists(t, s, sec.Hash, sec.Purpose) {
		t.Error("the secret was consumed although the update failed")
	}
}

func testConsumeUpdateLastSuperuser(t *testing.T, s store.Store) {
	mustCreateUser(t, s, superuser(1))
	sec := newSecret(userID(1), store.PurposeVerifyEmail, "1")
	mustPutSecret(t, s, sec)
	_, _, err := s.ConsumeSecret(t.Context(), store.Consume{
		Hash: sec.Hash, Purposes: []store.Purpose{sec.Purpose}, Now: base,
		Apply: func(*store.Secret, *store.User) (*store.UserUpdate, error) {
			return &store.UserUpdate{IsActive: ptr(false), UpdatedAt: at(time.Hour)}, nil
		},
	})
	wantErr(t, "ConsumeSecret deactivating the last superuser", err, store.ErrLastSuperuser)
	checkEqual(t, "user", mustUser(t, s, userID(1)), superuser(1))
	if !secretExists(t, s, sec.Hash, sec.Purpose) {
		t.Error("the secret was consumed although the update failed")
	}
}

// testConsumeConcurrent: 50 concurrent redemptions of one secret, each
// setting its own password: exactly one wins and its password is stored.
//
// SECURITY.md #69: reset-token double spend.
func testConsumeConcurrent(t *testing.T, s store.Store) {
	const n = 50
	mustCreateUser(t, s, newUser(1))
	sec := newSecret(userID(1), store.PurposeResetPassword, "1")
	mustPutSecret(t, s, sec)
	errs := concurrently(n, func(i int) error {
		_, _, err := s.ConsumeSecret(t.Context(), store.Consume{
			Hash: sec.Hash, Purposes: []store.Purpose{sec.Purpose}, Now: base,
			Apply: func(*store.Secret, *store.User) (*store.UserUpdate, error) {
				return &store.UserUpdate{PasswordHash: ptr(fmt.Sprint("hash ", i)), UpdatedAt: at(time.Minute)}, nil
			},
		})
		return err
	})
	ok, matched, other := tally(errs, store.ErrNotFound)
	if ok != 1 || matched[0] != n-1 || len(other) > 0 {
		t.Fatalf("%d concurrent ConsumeSecret: %d succeeded, %d ErrNotFound, other errors %v; want 1, %d, none", n, ok, matched[0], other, n-1)
	}
	for i, err := range errs {
		if err == nil {
			if got := mustUser(t, s, userID(1)).PasswordHash; got != fmt.Sprint("hash ", i) {
				t.Errorf("PasswordHash = %q, want the winner's %q", got, fmt.Sprint("hash ", i))
			}
		}
	}
}

// SECURITY.md #23: attempts on a short code are limited.
func testReserveCounts(t *testing.T, s store.Store) {
	const limit = 3
	mustCreateUser(t, s, newUser(1))
	mustPutSecret(t, s, newSecret(userID(1), store.PurposeVerifyEmail, "1"))
	for i := 1; i <= limit; i++ {
		got, err := s.ReserveCodeAttempt(t.Context(), userID(1), store.PurposeVerifyEmail, base, limit)
		if err != nil {
			t.Fatalf("attempt %d: %v", i, err)
		}
		want := newSecret(userID(1), store.PurposeVerifyEmail, "1")
		want.Attempts = i
		checkEqual(t, fmt.Sprintf("attempt %d", i), got, want)
	}
	for i := limit + 1; i <= limit+2; i++ {
		got, err := s.ReserveCodeAttempt(t.Context(), userID(1), store.PurposeVerifyEmail, base, limit)
		if !errors.Is(err, store.ErrExhausted) {
			t.Errorf("attempt %d = %v, %v; want ErrExhausted", i, got, err)
		}
	}
	// A larger allowance lets the count go on from where it stands.
	got, err := s.ReserveCodeAttempt(t.Context(), userID(1), store.PurposeVerifyEmail, base, limit+1)
	if err != nil {
		t.Fatalf("attempt with a larger allowance: %v", err)
	}
	if got.Attempts != limit+1 {
		t.Errorf("Attempts = %d, want %d", got.Attempts, limit+1)
	}
}

func testReserveCountsFromStored(t *testing.T, s store.Store) {
	mustCreateUser(t, s, newUser(1))
	sec := newSecret(userID(1), store.PurposeVerifyEmail, "1")
	sec.Attempts = 4
	mustPutSecret(t, s, sec)
	got, err := s.ReserveCodeAttempt(t.Context(), userID(1), store.PurposeVerifyEmail, base, 5)
	if err != nil {
		t.Fatalf("ReserveCodeAttempt: %v", err)
	}
	if got.Attempts != 5 {
		t.Errorf("Attempts = %d, want 5", got.Attempts)
	}
	_, err = s.ReserveCodeAttempt(t.Context(), userID(1), store.PurposeVerifyEmail, base, 5)
	wantErr(t, "ReserveCodeAttempt past the limit", err, store.ErrExhausted)
}

// reserveLookupTests: only an unexpired code of the user's secret for the
// purpose can be attempted.
func reserveLookupTests() []test {
	sec := newSecret(userID(1), store.PurposeVerifyEmail, "1")
	noCode := newSecret(userID(1), store.PurposeVerifyEmail, "1")
	noCode.CodeHash = nil
	cases := []struct {
		name    string
		secret  *store.Secret // nil: none stored
		userID  string
		purpose store.Purpose
		now     time.Time
		want    error
	}{
		{"JustBeforeCodeExpiry", sec, userID(1), store.PurposeVerifyEmail, sec.CodeExpiresAt.Add(-time.Microsecond), nil},
		{"NoSecret", nil, userID(1), store.PurposeVerifyEmail, base, store.ErrNotFound},
		{"UnknownUser", sec, unknownID, store.PurposeVerifyEmail, base, store.ErrNotFound},
		{"OtherUser", sec, userID(2), store.PurposeVerifyEmail, base, store.ErrNotFound},
		{"OtherPurpose", sec, userID(1), store.PurposeResetPassword, base, store.ErrNotFound},
		{"NoCodeHash", noCode, userID(1), store.PurposeVerifyEmail, base, store.ErrNotFound},
		{"AtCodeExpiry", sec, userID(1), store.PurposeVerifyEmail, sec.CodeExpiresAt, store.ErrNotFound},
		{"AfterCodeExpiry", sec, userID(1), store.PurposeVerifyEmail, sec.CodeExpiresAt.Add(time.Minute), store.ErrNotFound},
	}
	var tests []test
	for _, tc := range cases {
		tests = append(tests, test{name: tc.name, run: func(t *testing.T, s store.Store) {
			mustCreateUser(t, s, newUser(1))
			mustCreateUser(t, s, newUser(2))
			if tc.secret != nil {
				sec := *tc.secret
				mustPutSecret(t, s, &sec)
			}
			_, err := s.ReserveCodeAttempt(t.Context(), tc.userID, tc.purpose, tc.now, 5)
			wantErr(t, "ReserveCodeAttempt", err, tc.want)
		}})
	}
	return tests
}

// testReserveConcurrent: of 100 concurrent reservations with an allowance
// of 5, exactly 5 succeed, each with its own count.
//
// SECURITY.md #23: 100 parallel guesses give at most 5 evaluations.
func testReserveConcurrent(t *testing.T, s store.Store) {
	const n, limit = 100, 5
	mustCreateUser(t, s, newUser(1))
	mustPutSecret(t, s, newSecret(userID(1), store.PurposeVerifyEmail, "1"))
	attempts := make([]int, n)
	errs := concurrently(n, func(i int) error {
		sec, err := s.ReserveCodeAttempt(t.Context(), userID(1), store.PurposeVerifyEmail, base, limit)
		if err == nil {
			attempts[i] = sec.Attempts
		}
		return err
	})
	ok, matched, other := tally(errs, store.ErrExhausted)
	if ok != limit || matched[0] != n-limit || len(other) > 0 {
		t.Fatalf("%d concurrent reservations: %d succeeded, %d ErrExhausted, other errors %v; want %d, %d, none", n, ok, matched[0], other, limit, n-limit)
	}
	seen := make(map[int]bool)
	for i, err := range errs {
		if err == nil {
			seen[attempts[i]] = true
		}
	}
	for a := 1; a <= limit; a++ {
		if !seen[a] {
			t.Errorf("no reservation was counted as attempt %d (counts seen: %v)", a, seen)
		}
	}
}
