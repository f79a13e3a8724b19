package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

func passkeyTests() []test {
	return []test{
		{name: "CreateAndFind", run: testPasskeyCreateFind},
		{name: "CredentialIDUnique", run: testPasskeyCredentialUnique},
		{name: "UseAdvancesCounter", run: testPasskeyUse},
		{name: "UseOneWinner", run: testPasskeyUseRace},
		{name: "DeleteFrees", run: testPasskeyDelete},
		{name: "DeleteUserCascades", run: testPasskeyUserDeleted},
		{name: "KeepsLastLogin", run: testPasskeyLastLogin},
		{name: "NoAliasing", run: testPasskeyAlias},
	}
}

func ceremonyTests() []test {
	return []test{
		{name: "TakeOnce", run: testCeremonyTakeOnce},
		{name: "Expired", run: testCeremonyExpired},
		{name: "TakeOneWinner", run: testCeremonyTakeRace},
		{name: "DeleteExpired", run: testCeremonyDeleteExpired},
	}
}

// passkeyStore is the store's passkey capability, with its factors.
type passkeyStore interface {
	store.SecondFactors
	store.Passkeys
}

// passkeys returns s with its passkey capability, or skips the test.
func passkeys(tb testing.TB, s store.Store) passkeyStore {
	tb.Helper()
	p, ok := s.(passkeyStore)
	if !ok {
		tb.Skipf("%T does not implement store.SecondFactors and store.Passkeys", s)
	}
	return p
}

// ceremonies returns s as a store.Ceremonies, or skips the test.
func ceremonies(tb testing.TB, s store.Store) store.Ceremonies {
	tb.Helper()
	c, ok := s.(store.Ceremonies)
	if !ok {
		tb.Skipf("%T does not implement store.Ceremonies", s)
	}
	return c
}

// newPasskey returns passkey n of user uid: created confirmed at base+n
// seconds, with a credential ID of its own and a signature counter of n.
func newPasskey(n int, uid string) *store.Factor {
	created := at(time.Duration(n) * time.Second).In(elsewhere)
	return &store.Factor{
		ID:           factorID(100 + n),
		UserID:       uid,
		Type:         store.FactorPasskey,
		Name:         fmt.Sprintf("key %d", n),
		Secret:       digest(fmt.Sprintf("sealed credential %d", n)),
		CreatedAt:    created,
		ConfirmedAt:  created,
		LastStep:     int64(n),
		CredentialID: append(digest(fmt.Sprintf("credential %d", n)), byte(n)),
	}
}

func testPasskeyCreateFind(t *testing.T, st store.Store) {
	s := passkeys(t, st)
	mustCreateUser(t, st, newUser(1))
	mustCreateFactor(t, s, newFactor(1, userID(1)))
	pk := newPasskey(2, userID(1))
	mustCreateFactor(t, s, pk)
	if u := mustUser(t, st, userID(1)); !u.HasFactors {
		t.Error("a passkey is created confirmed, but the user's HasFactors is false")
	}
	f, u, err := s.PasskeyByCredentialID(t.Context(), pk.CredentialID)
	if err != nil {
		t.Fatalf("PasskeyByCredentialID: %v", err)
	}
	checkEqual(t, "passkey", f, ptr(utcFactor(pk)))
	if u.ID != userID(1) || !u.HasFactors {
		t.Errorf("PasskeyByCredentialID user = %s (HasFactors %v), want %s with factors", u.ID, u.HasFactors, userID(1))
	}
	_, _, err = s.PasskeyByCredentialID(t.Context(), digest("no such credential"))
	wantErr(t, "PasskeyByCredentialID(unknown)", err, store.ErrNotFound)
	_, _, err = s.PasskeyByCredentialID(t.Context(), nil)
	wantErr(t, "PasskeyByCredentialID(empty)", err, store.ErrNotFound)
	fs := mustFactors(t, s, userID(1))
	if len(fs) != 2 || len(fs[0].CredentialID) != 0 || string(fs[1].CredentialID) != string(pk.CredentialID) {
		t.Errorf("UserFactors = %+v; want the TOTP factor without a credential ID, then the passkey with its own", fs)
	}
}

func testPasskeyCredentialUnique(t *testing.T, st store.Store) {
	s := passkeys(t, st)
	mustCreateUser(t, st, newUser(1))
	mustCreateUser(t, st, newUser(2))
	mustCreateFactor(t, s, newPasskey(1, userID(1)))
	// Many factors without a credential ID may coexist.
	mustCreateFactor(t, s, newFactor(2, userID(1)))
	mustCreateFactor(t, s, newFactor(3, userID(2)))
	dup := newPasskey(4, userID(2))
	dup.CredentialID = newPasskey(1, "").CredentialID
	wantErr(t, "CreateFactor(another user's credential ID)", s.CreateFactor(t.Context(), dup), store.ErrConflict)
	if fs := mustFactors(t, s, userID(2)); len(fs) != 1 {
		t.Errorf("user 2 has %d factors after the refused create, want 1", len(fs))
	}
	// Concurrent registrations of one credential: exactly one wins.
	errs := concurrently(8, func(i int) error {
		f := newPasskey(10+i, userID(2))
		f.CredentialID = digest("one credential")
		return s.CreateFactor(t.Context(), f)
	})
	ok, matched, other := tally(errs, store.ErrConflict)
	if ok != 1 || matched[0] != 7 || len(other) != 0 {
		t.Errorf("8 concurrent creates of one credential ID: %d succeeded, %d conflicts, other %v; want 1, 7, none", ok, matched[0], other)
	}
}

func testPasskeyUse(t *testing.T, st store.Store) {
	s := passkeys(t, st)
	mustCreateUser(t, st, newUser(1))
	mustCreateUser(t, st, newUser(2))
	mustCreateFactor(t, s, newFactor(1, userID(1)))
	pk := newPasskey(5, userID(1)) // counter 5
	mustCreateFactor(t, s, pk)
	use := func(uid, id string, count int64) error {
		_, err := s.UsePasskey(t.Context(), store.PasskeyUse{UserID: uid, ID: id, SignCount: count, Now: at(time.Hour)})
		return err
	}
	wantErr(t, "UsePasskey(same counter)", use(userID(1), pk.ID, 5), store.ErrReplayed)
	wantErr(t, "UsePasskey(lower counter)", use(userID(1), pk.ID, 4), store.ErrReplayed)
	wantErr(t, "UsePasskey(counter 0 after 5)", use(userID(1), pk.ID, 0), store.ErrReplayed)
	wantErr(t, "UsePasskey(another user's)", use(userID(2), pk.ID, 9), store.ErrNotFound)
	wantErr(t, "UsePasskey(a TOTP factor)", use(userID(1), factorID(1), 9), store.ErrNotFound)
	wantErr(t, "UsePasskey(unknown)", use(userID(1), unknownID, 9), store.ErrNotFound)
	f, err := s.UsePasskey(t.Context(), store.PasskeyUse{UserID: userID(1), ID: pk.ID, SignCount: 9, Now: at(time.Hour).In(elsewhere)})
	if err != nil {
		t.Fatalf("UsePasskey(higher counter): %v", err)
	}
	want := utcFactor(pk)
	want.LastStep, want.LastUsedAt = 9, at(time.Hour).UTC()
	checkEqual(t, "used passkey", f, &want)
	got, _, err := s.PasskeyByCredentialID(t.Context(), pk.CredentialID)
	if err != nil {
		t.Fatalf("PasskeyByCredentialID: %v", err)
	}
	checkEqual(t, "stored passkey", got, &want)

	// An authenticator without a counter reports 0 every time.
	zero := newPasskey(0, userID(1))
	mustCreateFactor(t, s, zero)
	for i := range 2 {
		wantErr(t, fmt.Sprintf("UsePasskey(counterless, use %d)", i+1), use(userID(1), zero.ID, 0), nil)
	}
	wantErr(t, "UsePasskey(counterless starts counting)", use(userID(1), zero.ID, 1), nil)
	wantErr(t, "UsePasskey(back to 0)", use(userID(1), zero.ID, 0), store.ErrReplayed)
}

func testPasskeyUseRace(t *testing.T, st store.Store) {
	s := passkeys(t, st)
	mustCreateUser(t, st, newUser(1))
	pk := newPasskey(1, userID(1))
	mustCreateFactor(t, s, pk)
	errs := concurrently(20, func(int) error {
		_, err := s.UsePasskey(t.Context(), store.PasskeyUse{UserID: userID(1), ID: pk.ID, SignCount: 7, Now: at(time.Minute)})
		return err
	})
	ok, matched, other := tally(errs, store.ErrReplayed)
	if ok != 1 || matched[0] != 19 || len(other) != 0 {
		t.Errorf("20 concurrent uses with one counter: %d succeeded, %d replayed, other %v; want 1, 19, none", ok, matched[0], other)
	}
}

func testPasskeyDelete(t *testing.T, st store.Store) {
	s := passkeys(t, st)
	mustCreateUser(t, st, newUser(1))
	mustCreateUser(t, st, newUser(2))
	pk := newPasskey(1, userID(1))
	mustCreateFactor(t, s, pk)
	wantErr(t, "DeleteFactor(passkey)", s.DeleteFactor(t.Context(), userID(1), pk.ID), nil)
	_, _, err := s.PasskeyByCredentialID(t.Context(), pk.CredentialID)
	wantErr(t, "PasskeyByCredentialID(deleted)", err, store.ErrNotFound)
	if u := mustUser(t, st, userID(1)); u.HasFactors {
		t.Error("HasFactors still set after the only passkey was deleted")
	}
	// Its credential ID is free again, for anyone.
	again := newPasskey(1, userID(2))
	wantErr(t, "CreateFactor(freed credential ID)", s.CreateFactor(t.Context(), again), nil)
}

func testPasskeyUserDeleted(t *testing.T, st store.Store) {
	s := passkeys(t, st)
	mustCreateUser(t, st, newUser(1))
	mustCreateUser(t, st, newUser(2))
	a, b := newPasskey(1, userID(1)), newPasskey(2, userID(2))
	mustCreateFactor(t, s, a)
	mustCreateFactor(t, s, b)
	if err := st.DeleteUser(t.Context(), userID(1)); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	_, _, err := s.PasskeyByCredentialID(t.Context(), a.CredentialID)
	wantErr(t, "PasskeyByCredentialID(deleted user's)", err, store.ErrNotFound)
	if _, _, err := s.PasskeyByCredentialID(t.Context(), b.CredentialID); err != nil {
		t.Errorf("the other user's passkey: %v", err)
	}
	wantErr(t, "CreateFactor(deleted user's credential ID)", s.CreateFactor(t.Context(), newPasskey(1, userID(2))), nil)
}

// testPasskeyLastLogin: a passkey is a way to log in, so a passwordless
// user with one may unlink their only identity.
func testPasskeyLastLogin(t *testing.T, st store.Store) {
	s := passkeys(t, st)
	ids, ok := st.(store.Identities)
	if !ok {
		t.Skipf("%T does not implement store.Identities", st)
	}
	u := newUser(1)
	u.PasswordHash = ""
	id := newIdentity(1, "")
	if err := ids.CreateUserWithIdentity(t.Context(), u, id); err != nil {
		t.Fatalf("setup: %v", err)
	}
	// A TOTP factor is no way to log in.
	totp := newFactor(1, u.ID)
	totp.ConfirmedAt = totp.CreatedAt
	mustCreateFactor(t, s, totp)
	wantErr(t, "DeleteIdentity(last, only TOTP)", ids.DeleteIdentity(t.Context(), u.ID, id.Issuer, id.Subject), store.ErrLastLogin)
	mustCreateFactor(t, s, newPasskey(2, u.ID))
	wantErr(t, "DeleteIdentity(last, with a passkey)", ids.DeleteIdentity(t.Context(), u.ID, id.Issuer, id.Subject), nil)
}

func testPasskeyAlias(t *testing.T, st store.Store) {
	s := passkeys(t, st)
	mustCreateUser(t, st, newUser(1))
	pk := newPasskey(1, userID(1))
	want := utcFactor(pk)
	want.Secret, want.CredentialID = append([]byte(nil), pk.Secret...), append([]byte(nil), pk.CredentialID...)
	mustCreateFactor(t, s, pk)
	pk.CredentialID[0] ^= 0xff
	pk.Secret[0] ^= 0xff
	got, _, err := s.PasskeyByCredentialID(t.Context(), want.CredentialID)
	if err != nil {
		t.Fatalf("PasskeyByCredentialID after changing the caller's copy: %v", err)
	}
	checkEqual(t, "passkey", got, &want)
	got.CredentialID[0] ^= 0xff
	got.Secret[0] ^= 0xff
	again, _, err := s.PasskeyByCredentialID(t.Context(), want.CredentialID)
	if err != nil {
		t.Fatalf("PasskeyByCredentialID after changing a returned copy: %v", err)
	}
	checkEqual(t, "passkey", again, &want)
}

// newCeremony returns ceremony label, expiring at expires.
func newCeremony(label string, expires time.Time) *store.Ceremony {
	return &store.Ceremony{
		Hash:      digest("ceremony " + label),
		Purpose:   "passkey_login",
		UserID:    userID(1),
		Data:      []byte(`{"challenge":"` + label + `"}`),
		CreatedAt: base.In(elsewhere),
		ExpiresAt: expires.In(elsewhere),
	}
}

func mustPutCeremony(tb testing.TB, s store.Ceremonies, c *store.Ceremony) {
	tb.Helper()
	if err := s.PutCeremony(tb.Context(), c); err != nil {
		tb.Fatalf("PutCeremony: %v", err)
	}
}

func testCeremonyTakeOnce(t *testing.T, st store.Store) {
	s := ceremonies(t, st)
	c := newCeremony("a", at(5*time.Minute))
	mustPutCeremony(t, s, c)
	wantErr(t, "PutCeremony(same hash)", s.PutCeremony(t.Context(), newCeremony("a", at(time.Minute))), store.ErrConflict)
	// A ceremony needs no user: a passwordless login has none yet.
	anon := newCeremony("anon", at(5*time.Minute))
	anon.UserID = ""
	mustPutCeremony(t, s, anon)
	_, err := s.TakeCeremony(t.Context(), digest("ceremony b"), at(time.Minute))
	wantErr(t, "TakeCeremony(unknown)", err, store.ErrNotFound)
	got, err := s.TakeCeremony(t.Context(), c.Hash, at(time.Minute))
	if err != nil {
		t.Fatalf("TakeCeremony: %v", err)
	}
	want := *c
	want.CreatedAt, want.ExpiresAt = c.CreatedAt.UTC(), c.ExpiresAt.UTC()
	checkEqual(t, "ceremony", got, &want)
	got.Data[0] = 'X'
	_, err = s.TakeCeremony(t.Context(), c.Hash, at(time.Minute))
	wantErr(t, "TakeCeremony(replayed)", err, store.ErrNotFound)
	if got, err := s.TakeCeremony(t.Context(), anon.Hash, at(time.Minute)); err != nil || got.UserID != "" {
		t.Errorf("TakeCeremony(without user) = %+v, %v", got, err)
	}
}

func testCeremonyExpired(t *testing.T, st store.Store) {
	s := ceremonies(t, st)
	c := newCeremony("a", at(5*time.Minute))
	mustPutCeremony(t, s, c)
	_, err := s.TakeCeremony(t.Context(), c.Hash, at(5*time.Minute))
	wantErr(t, "TakeCeremony(at ExpiresAt)", err, store.ErrNotFound)
	_, err = s.TakeCeremony(t.Context(), c.Hash, at(0))
	wantErr(t, "TakeCeremony(after an expired take)", err, store.ErrNotFound)
}

func testCeremonyTakeRace(t *testing.T, st store.Store) {
	s := ceremonies(t, st)
	c := newCeremony("a", at(5*time.Minute))
	mustPutCeremony(t, s, c)
	const n = 20
	errs := concurrently(n, func(int) error {
		_, err := s.TakeCeremony(t.Context(), c.Hash, at(time.Minute))
		return err
	})
	ok, matched, other := tally(errs, store.ErrNotFound)
	if ok != 1 || matched[0] != n-1 || len(other) != 0 {
		t.Fatalf("%d concurrent takes of one ceremony: %d succeeded, %d not found, other %v; want exactly one", n, ok, matched[0], other)
	}
}

func testCeremonyDeleteExpired(t *testing.T, st store.Store) {
	s := ceremonies(t, st)
	e, ok := st.(store.Expirer)
	if !ok {
		t.Skipf("%T does not implement store.Expirer", st)
	}
	old, live := newCeremony("old", at(time.Minute)), newCeremony("live", at(time.Hour))
	mustPutCeremony(t, s, old)
	mustPutCeremony(t, s, live)
	n, err := e.DeleteExpired(t.Context(), at(time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("DeleteExpired = %d, %v; want 1", n, err)
	}
	if _, err := s.TakeCeremony(t.Context(), live.Hash, at(0)); err != nil {
		t.Errorf("the live ceremony went too: %v", err)
	}
	if _, err := s.TakeCeremony(t.Context(), old.Hash, at(0)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("TakeCeremony(purged) = %v, want ErrNotFound", err)
	}
}
