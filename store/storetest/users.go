package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

func userTests() []test {
	return []test{
		{name: "CreateAndGet", sub: []test{
			{name: "AllFields", run: func(t *testing.T, s store.Store) { testCreateAndGet(t, s, fullUser(1)) }},
			{name: "ZeroFields", run: func(t *testing.T, s store.Store) {
				testCreateAndGet(t, s, &store.User{ID: userID(1), Email: email(1)})
			}},
		}},
		{name: "ByEmailExact", run: testByEmailExact},
		{name: "NotFound", run: testUserNotFound},
		{name: "CreateConflictEmail", run: testCreateConflictEmail},
		{name: "CreateConflictID", run: testCreateConflictID},
		{name: "CreateConcurrentEmail", run: testCreateConcurrentEmail},
		{name: "Update", sub: updateTests()},
		{name: "LastSuperuser", sub: lastSuperuserTests()},
		{name: "Delete", sub: []test{
			{name: "Cascade", run: testDeleteCascade},
			{name: "ReRegister", run: testDeleteReRegister},
		}},
	}
}

// testCreateAndGet stores u and reads it back by ID and by email.
func testCreateAndGet(t *testing.T, s store.Store, u *store.User) {
	want := *u
	if err := s.CreateUser(t.Context(), u); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	got, err := s.UserByID(t.Context(), want.ID)
	if err != nil {
		t.Fatalf("UserByID: %v", err)
	}
	checkEqual(t, "UserByID", got, &want)
	got, err = s.UserByEmail(t.Context(), want.Email)
	if err != nil {
		t.Fatalf("UserByEmail: %v", err)
	}
	checkEqual(t, "UserByEmail", got, &want)
}

// testByEmailExact: UserByEmail matches the stored email exactly, with no
// case folding or trimming.
func testByEmailExact(t *testing.T, s store.Store) {
	mustCreateUser(t, s, newUser(1))
	for _, tc := range []struct{ name, probe string }{
		{"UpperLocalPart", "USER001@example.com"},
		{"UpperDomain", "user001@EXAMPLE.COM"},
		{"LeadingSpace", " user001@example.com"},
		{"TrailingSpace", "user001@example.com "},
		{"Prefix", "user001@example.co"},
	} {
		probe := tc.probe
		t.Run(tc.name, func(t *testing.T) {
			u, err := s.UserByEmail(t.Context(), probe)
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("UserByEmail(%q) = %v, %v; want ErrNotFound", probe, u, err)
			}
		})
	}
}

func testUserNotFound(t *testing.T, s store.Store) {
	mustCreateUser(t, s, newUser(1))
	tests := []struct {
		name string
		call func() error
	}{
		{"ByID", func() error { _, err := s.UserByID(t.Context(), unknownID); return err }},
		{"ByEmail", func() error { _, err := s.UserByEmail(t.Context(), email(2)); return err }},
		{"Update", func() error {
			_, err := s.UpdateUser(t.Context(), unknownID, store.UserUpdate{Name: ptr("x"), UpdatedAt: at(time.Hour)})
			return err
		}},
		{"Delete", func() error { return s.DeleteUser(t.Context(), unknownID) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, tc.name, tc.call(), store.ErrNotFound)
		})
	}
	checkEqual(t, "existing user", mustUser(t, s, userID(1)), newUser(1))
}

func testCreateConflictEmail(t *testing.T, s store.Store) {
	first := fullUser(1)
	mustCreateUser(t, s, first)
	dup := newUser(2)
	dup.Email = first.Email
	wantErr(t, "CreateUser with a taken email", s.CreateUser(t.Context(), dup), store.ErrConflict)
	if userExists(t, s, dup.ID) {
		t.Error("the conflicting user was stored")
	}
	got, err := s.UserByEmail(t.Context(), first.Email)
	if err != nil {
		t.Fatalf("UserByEmail: %v", err)
	}
	checkEqual(t, "first user", got, fullUser(1))
}

func testCreateConflictID(t *testing.T, s store.Store) {
	mustCreateUser(t, s, fullUser(1))
	dup := newUser(2)
	dup.ID = userID(1)
	wantErr(t, "CreateUser with a taken ID", s.CreateUser(t.Context(), dup), store.ErrConflict)
	if _, err := s.UserByEmail(t.Context(), dup.Email); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UserByEmail(conflicting email): err = %v, want ErrNotFound", err)
	}
	checkEqual(t, "first user", mustUser(t, s, userID(1)), fullUser(1))
}

// SECURITY.md #70: concurrent registration of one email creates one user.
func testCreateConcurrentEmail(t *testing.T, s store.Store) {
	const n = 50
	errs := concurrently(n, func(i int) error {
		u := newUser(i + 1)
		u.Email = "race@example.com"
		return s.CreateUser(t.Context(), u)
	})
	ok, matched, other := tally(errs, store.ErrConflict)
	if ok != 1 || matched[0] != n-1 || len(other) > 0 {
		t.Fatalf("%d concurrent CreateUser: %d succeeded, %d ErrConflict, other errors %v; want 1, %d, none", n, ok, matched[0], other, n-1)
	}
	winner := -1
	for i, err := range errs {
		if err == nil {
			winner = i
		}
	}
	got, err := s.UserByEmail(t.Context(), "race@example.com")
	if err != nil {
		t.Fatalf("UserByEmail: %v", err)
	}
	if got.ID != userID(winner+1) {
		t.Errorf("UserByEmail ID = %s, want the winner's %s", got.ID, userID(winner+1))
	}
	page, err := s.ListUsers(t.Context(), store.UserQuery{})
	if err != nil {
		t.Fatalf("ListUsers: %v", err)
	}
	if page.Total != 1 {
		t.Errorf("ListUsers Total = %d, want 1", page.Total)
	}
}

func updateTests() []test {
	fields := []struct {
		name   string
		update store.UserUpdate
		apply  func(u *store.User)
	}{
		{"Nothing", store.UserUpdate{}, func(*store.User) {}},
		{"Email", store.UserUpdate{Email: ptr("renamed@example.com")}, func(u *store.User) { u.Email = "renamed@example.com" }},
		{"SameEmail", store.UserUpdate{Email: ptr(email(1))}, func(*store.User) {}},
		{"PendingEmail", store.UserUpdate{PendingEmail: ptr("next@example.com")}, func(u *store.User) { u.PendingEmail = "next@example.com" }},
		{"PasswordHash", store.UserUpdate{PasswordHash: ptr("$argon2id$new")}, func(u *store.User) { u.PasswordHash = "$argon2id$new" }},
		{"PasswordHashCleared", store.UserUpdate{PasswordHash: ptr("")}, func(u *store.User) { u.PasswordHash = "" }},
		{"Name", store.UserUpdate{Name: ptr("Grace Hopper")}, func(u *store.User) { u.Name = "Grace Hopper" }},
		{"NameCleared", store.UserUpdate{Name: ptr("")}, func(u *store.User) { u.Name = "" }},
		{"Bio", store.UserUpdate{Bio: ptr("Compilers.")}, func(u *store.User) { u.Bio = "Compilers." }},
		{"ProfilePicture", store.UserUpdate{ProfilePicture: ptr("https://example.com/g.png")}, func(u *store.User) { u.ProfilePicture = "https://example.com/g.png" }},
		{"IsSuperuser", store.UserUpdate{IsSuperuser: ptr(true)}, func(u *store.User) { u.IsSuperuser = true }},
		{"IsActive", store.UserUpdate{IsActive: ptr(false)}, func(u *store.User) { u.IsActive = false }},
		{"IsVerified", store.UserUpdate{IsVerified: ptr(false)}, func(u *store.User) { u.IsVerified = false }},
		{"TokensValidAfter", store.UserUpdate{TokensValidAfter: ptr(at(90 * time.Minute).In(elsewhere))}, func(u *store.User) { u.TokensValidAfter = at(90 * time.Minute) }},
		{"PendingEmailExpiresAt", store.UserUpdate{PendingEmail: ptr("next@example.com"), PendingEmailExpiresAt: ptr(at(25 * time.Hour).In(elsewhere))}, func(u *store.User) {
			u.PendingEmail, u.PendingEmailExpiresAt = "next@example.com", at(25*time.Hour)
		}},
		{"Several", store.UserUpdate{Name: ptr("N"), Bio: ptr("B"), IsVerified: ptr(false)}, func(u *store.User) {
			u.Name, u.Bio, u.IsVerified = "N", "B", false
		}},
	}
	var fieldTests []test
	for _, f := range fields {
		fieldTests = append(fieldTests, test{name: f.name, run: func(t *testing.T, s store.Store) {
			mustCreateUser(t, s, newUser(1))
			mustCreateUser(t, s, newUser(2))
			upd := f.update
			upd.UpdatedAt = at(time.Hour).In(elsewhere)
			want := newUser(1)
			f.apply(want)
			want.UpdatedAt = at(time.Hour)

			got, err := s.UpdateUser(t.Context(), userID(1), upd)
			if err != nil {
				t.Fatalf("UpdateUser: %v", err)
			}
			checkEqual(t, "returned user", got, want)
			checkEqual(t, "stored user", mustUser(t, s, userID(1)), want)
			checkEqual(t, "other user", mustUser(t, s, userID(2)), newUser(2))
		}})
	}
	return []test{
		{name: "Fields", sub: fieldTests},
		{name: "EmailMoves", run: testUpdateEmailMoves},
		{name: "ConflictEmail", run: testUpdateConflictEmail},
		{name: "RevokeSessions", run: func(t *testing.T, s store.Store) { testUpdateRevokeSessions(t, s, "") }},
		{name: "RevokeSessionsKeep", run: func(t *testing.T, s store.Store) { testUpdateRevokeSessions(t, s, sessionID(2)) }},
		{name: "RevokeSessionsKeepForeign", run: func(t *testing.T, s store.Store) { testUpdateRevokeSessions(t, s, sessionID(9)) }},
		{name: "DropSecrets", run: testUpdateDropSecrets},
		{name: "PendingEmailCleared", run: testUpdatePendingEmailCleared},
	}
}

// testUpdatePendingEmailCleared: an empty PendingEmail and a zero
// PendingEmailExpiresAt clear both (a confirmed or cancelled change).
func testUpdatePendingEmailCleared(t *testing.T, s store.Store) {
	mustCreateUser(t, s, fullUser(1))
	got, err := s.UpdateUser(t.Context(), userID(1), store.UserUpdate{PendingEmail: ptr(""), PendingEmailExpiresAt: ptr(time.Time{}), UpdatedAt: at(time.Hour)})
	if err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	want := fullUser(1)
	want.PendingEmail, want.PendingEmailExpiresAt, want.UpdatedAt = "", time.Time{}, at(time.Hour)
	checkEqual(t, "returned user", got, want)
	checkEqual(t, "stored user", mustUser(t, s, userID(1)), want)
}

// testUpdateEmailMoves: after an email change the user is found by the new
// address only, and the old one is free.
func testUpdateEmailMoves(t *testing.T, s store.Store) {
	mustCreateUser(t, s, newUser(1))
	if _, err := s.UpdateUser(t.Context(), userID(1), store.UserUpdate{Email: ptr(email(5)), UpdatedAt: at(time.Hour)}); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	got, err := s.UserByEmail(t.Context(), email(5))
	if err != nil {
		t.Fatalf("UserByEmail(new): %v", err)
	}
	if got.ID != userID(1) {
		t.Errorf("UserByEmail(new).ID = %s, want %s", got.ID, userID(1))
	}
	if _, err := s.UserByEmail(t.Context(), email(1)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UserByEmail(old): err = %v, want ErrNotFound", err)
	}
	u := newUser(2)
	u.Email = email(1)
	wantErr(t, "CreateUser with the freed email", s.CreateUser(t.Context(), u), nil)
}

// testUpdateConflictEmail: a taken email gives ErrConflict, and neither the
// fields nor the side effects of the update happen.
func testUpdateConflictEmail(t *testing.T, s store.Store) {
	mustCreateUser(t, s, newUser(1))
	mustCreateUser(t, s, newUser(2))
	mustCreateSession(t, s, newSession(1, userID(1), base), refresh(1, 0))
	sec := newSecret(userID(1), store.PurposeResetPassword, "a")
	mustPutSecret(t, s, sec)

	_, err := s.UpdateUser(t.Context(), userID(1), store.UserUpdate{
		Email: ptr(email(2)), Name: ptr("changed"), IsVerified: ptr(false), UpdatedAt: at(time.Hour),
		RevokeSessions: true, DropSecrets: true,
	})
	wantErr(t, "UpdateUser to a taken email", err, store.ErrConflict)

	u1 := newUser(1)
	u1.LastLoginAt = base
	checkEqual(t, "user", mustUser(t, s, userID(1)), u1)
	checkEqual(t, "owner of the email", mustUser(t, s, userID(2)), newUser(2))
	if !sessionExists(t, s, sessionID(1)) {
		t.Error("the session was revoked by a failed update")
	}
	if !secretExists(t, s, sec.Hash, sec.Purpose) {
		t.Error("the secret was dropped by a failed update")
	}
}

// testUpdateRevokeSessions: RevokeSessions deletes the user's sessions but
// keep (when it is one of theirs), whose AuthenticatedAt becomes UpdatedAt.
// Session 9 belongs to another user and is never touched.
//
// SECURITY.md #42: a password change revokes the other sessions.
func testUpdateRevokeSessions(t *testing.T, s store.Store, keep string) {
	mustCreateUser(t, s, newUser(1))
	mustCreateUser(t, s, newUser(2))
	for n := 1; n <= 3; n++ {
		mustCreateSession(t, s, newSession(n, userID(1), at(time.Duration(n)*time.Minute)), refresh(n, 0))
	}
	mustCreateSession(t, s, newSession(9, userID(2), base), refresh(9, 0))
	rotate(t, s, 1, 0, at(10*time.Minute))

	when := at(time.Hour)
	_, err := s.UpdateUser(t.Context(), userID(1), store.UserUpdate{
		PasswordHash: ptr("$argon2id$changed"), TokensValidAfter: ptr(when), UpdatedAt: when.In(elsewhere),
		RevokeSessions: true, KeepSession: keep,
	})
	if err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	for n := 1; n <= 3; n++ {
		kept := sessionID(n) == keep
		if got := sessionExists(t, s, sessionID(n)); got != kept {
			t.Errorf("session %d exists = %t, want %t", n, got, kept)
		}
	}
	if keep == sessionID(2) {
		want := newSession(2, userID(1), at(2*time.Minute))
		want.AuthenticatedAt = when
		checkEqual(t, "kept session", mustSession(t, s, sessionID(2)), want)
		// The kept session's token still rotates.
		rotate(t, s, 2, 0, at(2*time.Hour))
	}
	checkEqual(t, "other user's session", mustSession(t, s, sessionID(9)), newSession(9, userID(2), base))
	for _, h := range [][]byte{refresh(1, 0), refresh(1, 1), refresh(3, 0)} {
		_, _, err := s.RotateRefreshToken(t.Context(), store.Rotation{Old: h, New: digest("unused"), Now: at(2 * time.Hour), IdleExpiresAt: at(3 * time.Hour)})
		wantErr(t, "rotating a revoked session's token", err, store.ErrNotFound)
	}
}

// testUpdateDropSecrets: DropSecrets deletes every secret of the user and
// none of anybody else's.
func testUpdateDropSecrets(t *testing.T, s store.Store) {
	mustCreateUser(t, s, newUser(1))
	mustCreateUser(t, s, newUser(2))
	mine := []*store.Secret{
		newSecret(userID(1), store.PurposeVerifyEmail, "1v"),
		newSecret(userID(1), store.PurposeResetPassword, "1r"),
		newSecret(userID(1), store.PurposeChangeEmail, "1c"),
	}
	theirs := newSecret(userID(2), store.PurposeVerifyEmail, "2v")
	for _, sec := range append(mine, theirs) {
		mustPutSecret(t, s, sec)
	}
	if _, err := s.UpdateUser(t.Context(), userID(1), store.UserUpdate{UpdatedAt: at(time.Hour), DropSecrets: true}); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	for _, sec := range mine {
		if secretExists(t, s, sec.Hash, sec.Purpose) {
			t.Errorf("secret for %s survived DropSecrets", sec.Purpose)
		}
	}
	if !secretExists(t, s, theirs.Hash, theirs.Purpose) {
		t.Error("another user's secret was dropped")
	}
}

// lastSuperuserTests crosses every operation that can remove an active
// superuser with the situations in which it must or must not be refused.
func lastSuperuserTests() []test {
	type scenario struct {
		name   string
		target *store.User // user 1, the one the operation acts on
		other  *store.User // user 2
		want   error
	}
	inactive := func(u *store.User) *store.User { u.IsActive = false; return u }
	scenarios := []scenario{
		{"OnlyActive", superuser(1), newUser(2), store.ErrLastSuperuser},
		{"AnotherActive", superuser(1), superuser(2), nil},
		{"OtherInactive", superuser(1), inactive(superuser(2)), store.ErrLastSuperuser},
		{"NoSuperusers", newUser(1), newUser(2), nil},
		{"TargetInactive", inactive(superuser(1)), newUser(2), nil},
	}
	type operation struct {
		name  string
		do    func(t *testing.T, s store.Store) error
		check func(t *testing.T, s store.Store) // after success
	}
	update := func(u store.UserUpdate) func(t *testing.T, s store.Store) error {
		return func(t *testing.T, s store.Store) error {
			u.Name, u.UpdatedAt = ptr("changed"), at(time.Hour)
			u.RevokeSessions, u.DropSecrets = true, true
			_, err := s.UpdateUser(t.Context(), userID(1), u)
			return err
		}
	}
	ops := []operation{
		{"Demote", update(store.UserUpdate{IsSuperuser: ptr(false)}), func(t *testing.T, s store.Store) {
			if mustUser(t, s, userID(1)).IsSuperuser {
				t.Error("user is still a superuser")
			}
		}},
		{"Deactivate", update(store.UserUpdate{IsActive: ptr(false)}), func(t *testing.T, s store.Store) {
			if mustUser(t, s, userID(1)).IsActive {
				t.Error("user is still active")
			}
		}},
		{"DemoteAndDeactivate", update(store.UserUpdate{IsSuperuser: ptr(false), IsActive: ptr(false)}), func(t *testing.T, s store.Store) {
			if u := mustUser(t, s, userID(1)); u.IsActive || u.IsSuperuser {
				t.Errorf("user IsActive = %t, IsSuperuser = %t; want both false", u.IsActive, u.IsSuperuser)
			}
		}},
		{"Delete", func(t *testing.T, s store.Store) error { return s.DeleteUser(t.Context(), userID(1)) }, func(t *testing.T, s store.Store) {
			if userExists(t, s, userID(1)) {
				t.Error("user still exists")
			}
		}},
	}
	var groups []test
	for _, op := range ops {
		var cases []test
		for _, sc := range scenarios {
			cases = append(cases, test{name: sc.name, run: func(t *testing.T, s store.Store) {
				target, other := *sc.target, *sc.other
				mustCreateUser(t, s, &target)
				mustCreateUser(t, s, &other)
				mustCreateSession(t, s, newSession(1, userID(1), base), refresh(1, 0))
				sec := newSecret(userID(1), store.PurposeVerifyEmail, "1")
				mustPutSecret(t, s, sec)

				err := op.do(t, s)
				if !wantErr(t, op.name, err, sc.want) {
					return
				}
				if sc.want == nil {
					op.check(t, s)
					return
				}
				// Refused: nothing changed, side effects included.
				want := target
				want.LastLoginAt = base
				checkEqual(t, "user after refusal", mustUser(t, s, userID(1)), &want)
				if !sessionExists(t, s, sessionID(1)) {
					t.Error("session revoked by a refused operation")
				}
				if !secretExists(t, s, sec.Hash, sec.Purpose) {
					t.Error("secret dropped by a refused operation")
				}
			}})
		}
		groups = append(groups, test{name: op.name, sub: cases})
	}
	return append(groups, test{name: "ConcurrentDemote", run: testConcurrentDemote})
}

// testConcurrentDemote: two superusers demoting each other at the same time
// cannot both succeed.
func testConcurrentDemote(t *testing.T, s store.Store) {
	mustCreateUser(t, s, superuser(1))
	mustCreateUser(t, s, superuser(2))
	for round := range 5 {
		when := at(time.Duration(round+1) * time.Minute)
		errs := concurrently(2, func(i int) error {
			_, err := s.UpdateUser(t.Context(), userID(i+1), store.UserUpdate{IsSuperuser: ptr(false), UpdatedAt: when})
			return err
		})
		ok, matched, other := tally(errs, store.ErrLastSuperuser)
		if ok != 1 || matched[0] != 1 || len(other) > 0 {
			t.Fatalf("round %d: %d succeeded, %d ErrLastSuperuser, other errors %v; want 1, 1, none", round, ok, matched[0], other)
		}
		demoted := 1
		if errs[1] == nil {
			demoted = 2
		}
		if u := mustUser(t, s, userID(demoted)); u.IsSuperuser {
			t.Fatalf("round %d: the winner's update did not demote user %d", round, demoted)
		}
		if u := mustUser(t, s, userID(3-demoted)); !u.IsSuperuser {
			t.Fatalf("round %d: the refused update demoted user %d", round, 3-demoted)
		}
		if _, err := s.UpdateUser(t.Context(), userID(demoted), store.UserUpdate{IsSuperuser: ptr(true), UpdatedAt: when}); err != nil {
			t.Fatalf("round %d: promoting user %d again: %v", round, demoted, err)
		}
	}
}

// cascadeFixture gives user 1 two sessions (one rotated twice) and two
// secrets, and user 2 one of each.
func cascadeFixture(tb testing.TB, s store.Store) (mine, theirs []*store.Secret) {
	tb.Helper()
	mustCreateUser(tb, s, superuser(1))
	mustCreateUser(tb, s, superuser(2))
	mustCreateSession(tb, s, newSession(1, userID(1), base), refresh(1, 0))
	mustCreateSession(tb, s, newSession(2, userID(1), base), refresh(2, 0))
	mustCreateSession(tb, s, newSession(3, userID(2), base), refresh(3, 0))
	rotate(tb, s, 1, 0, at(time.Minute))
	rotate(tb, s, 1, 1, at(2*time.Minute))
	mine = []*store.Secret{
		newSecret(userID(1), store.PurposeVerifyEmail, "1v"),
		newSecret(userID(1), store.PurposeResetPassword, "1r"),
	}
	theirs = []*store.Secret{newSecret(userID(2), store.PurposeVerifyEmail, "2v")}
	for _, sec := range append(mine, theirs...) {
		mustPutSecret(tb, s, sec)
	}
	return mine, theirs
}

// testDeleteCascade: DeleteUser removes the user's sessions, every refresh
// token of theirs (even rotated ones, which then are unknown rather than
// reused) and secrets, and nothing of anyone else's.
//
// SECURITY.md #56: the user and all their tokens are deleted atomically.
func testDeleteCascade(t *testing.T, s store.Store) {
	mine, theirs := cascadeFixture(t, s)
	if err := s.DeleteUser(t.Context(), userID(1)); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	if userExists(t, s, userID(1)) {
		t.Error("UserByID finds the deleted user")
	}
	for _, id := range []string{sessionID(1), sessionID(2)} {
		if sessionExists(t, s, id) {
			t.Errorf("session %s survived", id)
		}
	}
	for _, h := range [][]byte{refresh(1, 0), refresh(1, 1), refresh(1, 2), refresh(2, 0)} {
		_, _, err := s.RotateRefreshToken(t.Context(), store.Rotation{Old: h, New: digest("unused"), Now: at(time.Hour), IdleExpiresAt: at(2 * time.Hour)})
		wantErr(t, "rotating a deleted user's token", err, store.ErrNotFound)
	}
	for _, sec := range mine {
		if secretExists(t, s, sec.Hash, sec.Purpose) {
			t.Errorf("secret for %s survived", sec.Purpose)
		}
	}
	sessions, err := s.UserSessions(t.Context(), userID(1), at(time.Hour))
	if err != nil || len(sessions) != 0 {
		t.Errorf("UserSessions(deleted user) = %d sessions, %v; want none", len(sessions), err)
	}

	checkEqual(t, "other user", mustUser(t, s, userID(2)), func() *store.User { u := superuser(2); u.LastLoginAt = base; return u }())
	checkEqual(t, "other user's session", mustSession(t, s, sessionID(3)), newSession(3, userID(2), base))
	rotate(t, s, 3, 0, at(time.Hour))
	for _, sec := range theirs {
		if !secretExists(t, s, sec.Hash, sec.Purpose) {
			t.Errorf("other user's secret for %s was deleted", sec.Purpose)
		}
	}
}

// testDeleteReRegister: the deleted user's email and the hashes of their
// refresh tokens and secrets are free again, and a new account with the
// same email inherits nothing.
func testDeleteReRegister(t *testing.T, s store.Store) {
	mine, _ := cascadeFixture(t, s)
	if err := s.DeleteUser(t.Context(), userID(1)); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	again := newUser(7)
	again.Email = email(1)
	if err := s.CreateUser(t.Context(), again); err != nil {
		t.Fatalf("CreateUser with the deleted user's email: %v", err)
	}
	got, err := s.UserByEmail(t.Context(), email(1))
	if err != nil {
		t.Fatalf("UserByEmail: %v", err)
	}
	checkEqual(t, "new account", got, again)
	sessions, err := s.UserSessions(t.Context(), userID(7), at(time.Hour))
	if err != nil || len(sessions) != 0 {
		t.Errorf("UserSessions(new account) = %d sessions, %v; want none", len(sessions), err)
	}
	if _, err := s.ReserveCodeAttempt(t.Context(), userID(7), store.PurposeVerifyEmail, base, 5); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ReserveCodeAttempt(new account): err = %v, want ErrNotFound", err)
	}
	// The old refresh token hashes are no longer in use.
	for i, h := range [][]byte{refresh(1, 0), refresh(1, 1), refresh(1, 2), refresh(2, 0)} {
		err := s.CreateSession(t.Context(), newSession(10+i, userID(7), at(time.Hour)), h)
		wantErr(t, "CreateSession with a deleted user's refresh hash", err, nil)
	}
	for _, sec := range mine {
		sec := *sec
		sec.UserID = userID(7)
		wantErr(t, "PutSecret with a deleted user's secret hash", s.PutSecret(t.Context(), &sec), nil)
	}
}
