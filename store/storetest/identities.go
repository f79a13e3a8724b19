package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

func identityTests() []test {
	return []test{
		{name: "CreateAndFind", run: testIdentityCreateFind},
		{name: "CreateErrors", run: testIdentityCreateErrors},
		{name: "CreateUserWithIdentity", run: testIdentityCreateUser},
		{name: "CreateUserWithIdentityOneWinner", run: testIdentityCreateUserRace},
		{name: "Touch", run: testIdentityTouch},
		{name: "DeleteKeepsLastLogin", run: testIdentityDeleteLast},
		{name: "DeleteLastTwoOneWinner", run: testIdentityDeleteRace},
		{name: "DeleteUserCascades", run: testIdentityUserDeleted},
		{name: "NoAliasing", run: testIdentityAlias},
	}
}

func flowTests() []test {
	return []test{
		{name: "TakeOnce", run: testFlowTakeOnce},
		{name: "Expired", run: testFlowExpired},
		{name: "TakeOneWinner", run: testFlowTakeRace},
		{name: "DeleteExpired", run: testFlowDeleteExpired},
	}
}

// identities returns s as a store.Identities, or skips the test.
func identities(tb testing.TB, s store.Store) store.Identities {
	tb.Helper()
	f, ok := s.(store.Identities)
	if !ok {
		tb.Skipf("%T does not implement store.Identities", s)
	}
	return f
}

const issuer = "https://issuer.example.com"

// newIdentity returns identity n of user uid, created at base+n seconds.
func newIdentity(n int, uid string) *store.Identity {
	return &store.Identity{
		Issuer:        issuer,
		Subject:       fmt.Sprintf("subject-%d", n),
		UserID:        uid,
		Provider:      "example",
		Email:         fmt.Sprintf("provider%03d@example.org", n),
		EmailVerified: n%2 == 0,
		CreatedAt:     at(time.Duration(n) * time.Second).In(elsewhere),
		LastLoginAt:   at(time.Duration(n) * time.Second).In(elsewhere),
		Tokens:        digest(fmt.Sprintf("sealed tokens %d", n)),
	}
}

func mustCreateIdentity(tb testing.TB, s store.Identities, id *store.Identity) {
	tb.Helper()
	if err := s.CreateIdentity(tb.Context(), id); err != nil {
		tb.Fatalf("setup: CreateIdentity(%s): %v", id.Subject, err)
	}
}

func utcIdentity(id *store.Identity) *store.Identity {
	c := *id
	c.CreatedAt, c.LastLoginAt = c.CreatedAt.UTC(), c.LastLoginAt.UTC()
	return &c
}

func testIdentityCreateFind(t *testing.T, s store.Store) {
	ids := identities(t, s)
	mustCreateUser(t, s, newUser(1))
	mustCreateUser(t, s, newUser(2))
	a, b, c := newIdentity(3, userID(1)), newIdentity(1, userID(1)), newIdentity(2, userID(2))
	b.Issuer = "https://other.example.com"
	for _, id := range []*store.Identity{a, b, c} {
		mustCreateIdentity(t, ids, id)
	}
	got, u, err := ids.IdentityUser(t.Context(), a.Issuer, a.Subject)
	if err != nil {
		t.Fatalf("IdentityUser: %v", err)
	}
	checkEqual(t, "identity", got, utcIdentity(a))
	if u.ID != userID(1) {
		t.Errorf("IdentityUser user = %s, want %s", u.ID, userID(1))
	}
	// Same subject at another issuer is another identity.
	_, _, err = ids.IdentityUser(t.Context(), issuer, b.Subject)
	wantErr(t, "IdentityUser(other issuer)", err, store.ErrNotFound)
	list, err := ids.UserIdentities(t.Context(), userID(1))
	if err != nil {
		t.Fatalf("UserIdentities: %v", err)
	}
	if len(list) != 2 || list[0].Subject != b.Subject || list[1].Subject != a.Subject {
		t.Fatalf("UserIdentities = %+v, want [%s %s] by CreatedAt", list, b.Subject, a.Subject)
	}
	checkEqual(t, "listed identity", &list[0], utcIdentity(b))
	none, err := ids.UserIdentities(t.Context(), unknownID)
	if err != nil || len(none) != 0 {
		t.Errorf("UserIdentities(unknown) = %v, %v; want none", none, err)
	}
}

func testIdentityCreateErrors(t *testing.T, s store.Store) {
	ids := identities(t, s)
	mustCreateUser(t, s, newUser(1))
	mustCreateUser(t, s, newUser(2))
	wantErr(t, "CreateIdentity(unknown user)", ids.CreateIdentity(t.Context(), newIdentity(1, unknownID)), store.ErrNotFound)
	mustCreateIdentity(t, ids, newIdentity(1, userID(1)))
	// The same (issuer, subject) for another user: never linked twice.
	wantErr(t, "CreateIdentity(taken)", ids.CreateIdentity(t.Context(), newIdentity(1, userID(2))), store.ErrConflict)
	_, u, err := ids.IdentityUser(t.Context(), issuer, newIdentity(1, "").Subject)
	if err != nil || u.ID != userID(1) {
		t.Errorf("after the conflict the identity is %v, %v; want user 1's", u, err)
	}
}

func testIdentityCreateUser(t *testing.T, s store.Store) {
	ids := identities(t, s)
	u := newUser(1)
	u.PasswordHash = ""
	id := newIdentity(1, "")
	if err := ids.CreateUserWithIdentity(t.Context(), u, id); err != nil {
		t.Fatalf("CreateUserWithIdentity: %v", err)
	}
	got, gu, err := ids.IdentityUser(t.Context(), id.Issuer, id.Subject)
	if err != nil {
		t.Fatalf("IdentityUser: %v", err)
	}
	want := utcIdentity(id)
	want.UserID = u.ID
	checkEqual(t, "identity", got, want)
	if gu.ID != u.ID || gu.PasswordHash != "" {
		t.Errorf("user = %+v, want the new passwordless user", gu)
	}
	// Email taken: neither the user nor the identity is stored.
	u2 := newUser(2)
	u2.Email = u.Email
	id2 := newIdentity(2, "")
	wantErr(t, "CreateUserWithIdentity(email taken)", ids.CreateUserWithIdentity(t.Context(), u2, id2), store.ErrConflict)
	if userExists(t, s, u2.ID) {
		t.Error("the user was stored although its email was taken")
	}
	_, _, err = ids.IdentityUser(t.Context(), id2.Issuer, id2.Subject)
	wantErr(t, "IdentityUser after the failed create", err, store.ErrNotFound)
	// Identity taken: the user is not stored.
	u3 := newUser(3)
	wantErr(t, "CreateUserWithIdentity(identity taken)", ids.CreateUserWithIdentity(t.Context(), u3, newIdentity(1, "")), store.ErrConflict)
	if userExists(t, s, u3.ID) {
		t.Error("the user was stored although the identity was taken")
	}
}

func testIdentityCreateUserRace(t *testing.T, s store.Store) {
	ids := identities(t, s)
	const n = 8
	errs := concurrently(n, func(i int) error {
		return ids.CreateUserWithIdentity(t.Context(), newUser(10+i), newIdentity(1, ""))
	})
	ok, matched, other := tally(errs, store.ErrConflict)
	if ok != 1 || matched[0] != n-1 || len(other) != 0 {
		t.Fatalf("%d concurrent first logins: %d succeeded, %d conflicts, others %v; want exactly one winner", n, ok, matched[0], other)
	}
	winners := 0
	for i := range n {
		if userExists(t, s, userID(10+i)) {
			winners++
		}
	}
	if winners != 1 {
		t.Errorf("%d users stored, want 1 (a loser's user must not stay behind)", winners)
	}
}

func testIdentityTouch(t *testing.T, s store.Store) {
	ids := identities(t, s)
	mustCreateUser(t, s, newUser(1))
	id := newIdentity(1, userID(1))
	mustCreateIdentity(t, ids, id)
	l := store.IdentityLogin{Issuer: id.Issuer, Subject: id.Subject, Now: at(time.Hour).In(elsewhere), Email: "new@example.org", EmailVerified: true}
	if err := ids.TouchIdentity(t.Context(), l); err != nil {
		t.Fatalf("TouchIdentity: %v", err)
	}
	got, _, err := ids.IdentityUser(t.Context(), id.Issuer, id.Subject)
	if err != nil {
		t.Fatalf("IdentityUser: %v", err)
	}
	want := utcIdentity(id)
	want.LastLoginAt, want.Email, want.EmailVerified, want.Tokens = at(time.Hour), "new@example.org", true, nil
	checkEqual(t, "touched identity", got, want)
	if len(got.Tokens) != 0 {
		t.Errorf("Tokens = %x, want dropped", got.Tokens)
	}
	l.Subject = "nobody"
	wantErr(t, "TouchIdentity(unknown)", ids.TouchIdentity(t.Context(), l), store.ErrNotFound)
}

func testIdentityDeleteLast(t *testing.T, s store.Store) {
	ids := identities(t, s)
	u := newUser(1)
	u.PasswordHash = ""
	a, b := newIdentity(1, ""), newIdentity(2, u.ID)
	if err := ids.CreateUserWithIdentity(t.Context(), u, a); err != nil {
		t.Fatalf("setup: %v", err)
	}
	mustCreateUser(t, s, newUser(2))
	wantErr(t, "DeleteIdentity(only one, no password)", ids.DeleteIdentity(t.Context(), u.ID, a.Issuer, a.Subject), store.ErrLastLogin)
	mustCreateIdentity(t, ids, b)
	wantErr(t, "DeleteIdentity(other user's)", ids.DeleteIdentity(t.Context(), userID(2), a.Issuer, a.Subject), store.ErrNotFound)
	wantErr(t, "DeleteIdentity(one of two)", ids.DeleteIdentity(t.Context(), u.ID, a.Issuer, a.Subject), nil)
	wantErr(t, "DeleteIdentity(again)", ids.DeleteIdentity(t.Context(), u.ID, a.Issuer, a.Subject), store.ErrNotFound)
	wantErr(t, "DeleteIdentity(now the last)", ids.DeleteIdentity(t.Context(), u.ID, b.Issuer, b.Subject), store.ErrLastLogin)
	// With a password, the last identity may go.
	hash := "$argon2id$v=19$m=65536,t=3,p=4$c3RvcmV0ZXN0$aGFzaA"
	if _, err := s.UpdateUser(t.Context(), u.ID, store.UserUpdate{PasswordHash: &hash, UpdatedAt: at(time.Minute)}); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	wantErr(t, "DeleteIdentity(last, with a password)", ids.DeleteIdentity(t.Context(), u.ID, b.Issuer, b.Subject), nil)
	list, err := ids.UserIdentities(t.Context(), u.ID)
	if err != nil || len(list) != 0 {
		t.Errorf("UserIdentities = %v, %v; want none", list, err)
	}
}

func testIdentityDeleteRace(t *testing.T, s store.Store) {
	ids := identities(t, s)
	u := newUser(1)
	u.PasswordHash = ""
	a, b := newIdentity(1, ""), newIdentity(2, u.ID)
	if err := ids.CreateUserWithIdentity(t.Context(), u, a); err != nil {
		t.Fatalf("setup: %v", err)
	}
	mustCreateIdentity(t, ids, b)
	pair := []*store.Identity{a, b}
	errs := concurrently(2, func(i int) error {
		return ids.DeleteIdentity(t.Context(), u.ID, pair[i].Issuer, pair[i].Subject)
	})
	ok, matched, other := tally(errs, store.ErrLastLogin)
	if ok != 1 || matched[0] != 1 || len(other) != 0 {
		t.Fatalf("two concurrent unlinks of the last two identities: %v; want one success and one ErrLastLogin", errs)
	}
	list, err := ids.UserIdentities(t.Context(), u.ID)
	if err != nil || len(list) != 1 {
		t.Errorf("UserIdentities = %v, %v; want one left", list, err)
	}
}

func testIdentityUserDeleted(t *testing.T, s store.Store) {
	ids := identities(t, s)
	mustCreateUser(t, s, newUser(1))
	id := newIdentity(1, userID(1))
	mustCreateIdentity(t, ids, id)
	if err := s.DeleteUser(t.Context(), userID(1)); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	_, _, err := ids.IdentityUser(t.Context(), id.Issuer, id.Subject)
	wantErr(t, "IdentityUser after DeleteUser", err, store.ErrNotFound)
	// The identity is free again for a new account.
	mustCreateUser(t, s, newUser(2))
	id.UserID = userID(2)
	mustCreateIdentity(t, ids, id)
}

func testIdentityAlias(t *testing.T, s store.Store) {
	ids := identities(t, s)
	mustCreateUser(t, s, newUser(1))
	id := newIdentity(1, userID(1))
	mustCreateIdentity(t, ids, id)
	id.Tokens[0] ^= 0xff
	id.Email = "changed@example.org"
	got, _, err := ids.IdentityUser(t.Context(), issuer, id.Subject)
	if err != nil {
		t.Fatalf("IdentityUser: %v", err)
	}
	want := newIdentity(1, userID(1))
	checkEqual(t, "stored identity after the caller changed its copy", got, utcIdentity(want))
	got.Tokens[0] ^= 0xff
	again, _, _ := ids.IdentityUser(t.Context(), issuer, id.Subject)
	checkEqual(t, "stored identity after the caller changed a returned copy", again, utcIdentity(want))
}

func newFlow(label string, expires time.Time) *store.FederationFlow {
	return &store.FederationFlow{
		Hash:      digest("state " + label),
		Binding:   digest("browser " + label),
		Provider:  "example",
		ReturnTo:  "/settings",
		UserID:    userID(1),
		CreatedAt: base.In(elsewhere),
		ExpiresAt: expires.In(elsewhere),
	}
}

func testFlowTakeOnce(t *testing.T, s store.Store) {
	ids := identities(t, s)
	f := newFlow("a", at(10*time.Minute))
	if err := ids.PutFlow(t.Context(), f); err != nil {
		t.Fatalf("PutFlow: %v", err)
	}
	wantErr(t, "PutFlow(same hash)", ids.PutFlow(t.Context(), newFlow("a", at(time.Minute))), store.ErrConflict)
	_, err := ids.TakeFlow(t.Context(), digest("state b"), at(time.Minute))
	wantErr(t, "TakeFlow(foreign state)", err, store.ErrNotFound)
	got, err := ids.TakeFlow(t.Context(), f.Hash, at(time.Minute))
	if err != nil {
		t.Fatalf("TakeFlow: %v", err)
	}
	want := *f
	want.CreatedAt, want.ExpiresAt = f.CreatedAt.UTC(), f.ExpiresAt.UTC()
	checkEqual(t, "flow", got, &want)
	_, err = ids.TakeFlow(t.Context(), f.Hash, at(time.Minute))
	wantErr(t, "TakeFlow(replayed state)", err, store.ErrNotFound)
}

func testFlowExpired(t *testing.T, s store.Store) {
	ids := identities(t, s)
	f := newFlow("a", at(10*time.Minute))
	if err := ids.PutFlow(t.Context(), f); err != nil {
		t.Fatalf("PutFlow: %v", err)
	}
	_, err := ids.TakeFlow(t.Context(), f.Hash, at(10*time.Minute))
	wantErr(t, "TakeFlow(at ExpiresAt)", err, store.ErrNotFound)
}

func testFlowTakeRace(t *testing.T, s store.Store) {
	ids := identities(t, s)
	f := newFlow("a", at(10*time.Minute))
	if err := ids.PutFlow(t.Context(), f); err != nil {
		t.Fatalf("PutFlow: %v", err)
	}
	const n = 8
	errs := concurrently(n, func(int) error {
		_, err := ids.TakeFlow(t.Context(), f.Hash, at(time.Minute))
		return err
	})
	ok, matched, other := tally(errs, store.ErrNotFound)
	if ok != 1 || matched[0] != n-1 || len(other) != 0 {
		t.Fatalf("%d concurrent callbacks with one state: %d succeeded, others %v; want exactly one", n, ok, errs)
	}
}

func testFlowDeleteExpired(t *testing.T, s store.Store) {
	ids := identities(t, s)
	e, ok := s.(store.Expirer)
	if !ok {
		t.Skipf("%T does not implement store.Expirer", s)
	}
	old, live := newFlow("old", at(time.Minute)), newFlow("live", at(time.Hour))
	for _, f := range []*store.FederationFlow{old, live} {
		if err := ids.PutFlow(t.Context(), f); err != nil {
			t.Fatalf("PutFlow: %v", err)
		}
	}
	n, err := e.DeleteExpired(t.Context(), at(time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("DeleteExpired = %d, %v; want 1", n, err)
	}
	if _, err := ids.TakeFlow(t.Context(), live.Hash, at(0)); err != nil {
		t.Errorf("the live flow went too: %v", err)
	}
	if _, err := ids.TakeFlow(t.Context(), old.Hash, at(0)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("TakeFlow(purged) = %v, want ErrNotFound", err)
	}
}
