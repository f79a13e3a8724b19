package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

// aliasTests: records are copied on the way in and out, so neither side can
// change the other's copy.
func aliasTests() []test {
	return []test{
		{name: "UserIn", run: testAliasUserIn},
		{name: "UserUpdateIn", run: testAliasUserUpdateIn},
		{name: "UserOut", run: testAliasUserOut},
		{name: "ListUsersOut", run: testAliasListUsersOut},
		{name: "SessionIn", run: testAliasSessionIn},
		{name: "SessionOut", run: testAliasSessionOut},
		{name: "RotationIn", run: testAliasRotationIn},
		{name: "SecretIn", run: testAliasSecretIn},
		{name: "SecretOut", run: testAliasSecretOut},
		{name: "ApplyArgs", run: testAliasApplyArgs},
	}
}

func scribbleUser(u *store.User) {
	u.ID, u.Email, u.Name, u.PasswordHash = "scribbled", "scribbled@example.com", "scribbled", "scribbled"
	u.IsSuperuser, u.IsActive = !u.IsSuperuser, !u.IsActive
	u.UpdatedAt = at(999 * time.Hour)
}

func scribbleSession(s *store.Session) {
	s.ID, s.UserID, s.IP = "scribbled", "scribbled", "scribbled"
	s.ExpiresAt, s.IdleExpiresAt = at(999*time.Hour), at(999*time.Hour)
}

func scribble(b []byte) {
	for i := range b {
		b[i] ^= 0xff
	}
}

func testAliasUserIn(t *testing.T, s store.Store) {
	u := fullUser(1)
	mustCreateUser(t, s, u)
	scribbleUser(u)
	checkEqual(t, "stored user", mustUser(t, s, userID(1)), fullUser(1))
}

// testAliasUserUpdateIn: the values behind a UserUpdate's pointers are
// copied, not kept.
func testAliasUserUpdateIn(t *testing.T, s store.Store) {
	mustCreateUser(t, s, newUser(1))
	name, tva := "Grace", at(time.Hour)
	if _, err := s.UpdateUser(t.Context(), userID(1), store.UserUpdate{Name: &name, TokensValidAfter: &tva, UpdatedAt: at(time.Hour)}); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	name, tva = "scribbled", at(999*time.Hour)
	got := mustUser(t, s, userID(1))
	if got.Name != "Grace" || !got.TokensValidAfter.Equal(at(time.Hour)) {
		t.Errorf("stored Name, TokensValidAfter = %q, %v; want %q, %v", got.Name, got.TokensValidAfter, "Grace", at(time.Hour))
	}
}

// testAliasUserOut: every method that returns a user returns a copy.
func testAliasUserOut(t *testing.T, s store.Store) {
	mustCreateUser(t, s, fullUser(1))
	mustCreateSession(t, s, newSession(1, userID(1), base), refresh(1, 0))
	want := fullUser(1)
	want.LastLoginAt = base
	check := func(from string) {
		t.Helper()
		checkEqual(t, "stored user after changing the copy from "+from, mustUser(t, s, userID(1)), want)
	}

	u, err := s.UserByID(t.Context(), userID(1))
	if err != nil {
		t.Fatalf("UserByID: %v", err)
	}
	scribbleUser(u)
	check("UserByID")

	if u, err = s.UserByEmail(t.Context(), email(1)); err != nil {
		t.Fatalf("UserByEmail: %v", err)
	}
	scribbleUser(u)
	check("UserByEmail")

	if _, u, err = s.SessionUser(t.Context(), sessionID(1)); err != nil {
		t.Fatalf("SessionUser: %v", err)
	}
	scribbleUser(u)
	check("SessionUser")

	if u, err = s.UpdateUser(t.Context(), userID(1), store.UserUpdate{UpdatedAt: want.UpdatedAt}); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	scribbleUser(u)
	check("UpdateUser")

	if _, u, err = s.RotateRefreshToken(t.Context(), store.Rotation{Old: refresh(1, 0), New: refresh(1, 1), Now: at(time.Hour), IdleExpiresAt: at(2 * time.Hour)}); err != nil {
		t.Fatalf("RotateRefreshToken: %v", err)
	}
	scribbleUser(u)
	check("RotateRefreshToken")

	mustPutSecret(t, s, newSecret(userID(1), store.PurposeVerifyEmail, "1"))
	if _, u, err = consumeAt(t, s, digest("secret 1"), store.PurposeVerifyEmail, base); err != nil {
		t.Fatalf("ConsumeSecret: %v", err)
	}
	scribbleUser(u)
	check("ConsumeSecret")
}

func testAliasListUsersOut(t *testing.T, s store.Store) {
	mustCreateUser(t, s, fullUser(1))
	page, err := s.ListUsers(t.Context(), store.UserQuery{})
	if err != nil || len(page.Users) != 1 {
		t.Fatalf("ListUsers = %v, %v; want one user", page, err)
	}
	scribbleUser(&page.Users[0].User)
	page.Users[0].Sessions = 42
	checkEqual(t, "stored user", mustUser(t, s, userID(1)), fullUser(1))
	page, err = s.ListUsers(t.Context(), store.UserQuery{})
	if err != nil || len(page.Users) != 1 {
		t.Fatalf("ListUsers = %v, %v; want one user", page, err)
	}
	checkEqual(t, "listed again", &page.Users[0], &store.UserSummary{User: *fullUser(1)})
}

// testAliasSessionIn: the session and the refresh hash are copied.
func testAliasSessionIn(t *testing.T, s store.Store) {
	mustCreateUser(t, s, newUser(1))
	sess, h := newSession(1, userID(1), base), refresh(1, 0)
	mustCreateSession(t, s, sess, h)
	scribbleSession(sess)
	scribble(h)
	checkEqual(t, "stored session", mustSession(t, s, sessionID(1)), newSession(1, userID(1), base))
	rotate(t, s, 1, 0, at(time.Hour)) // by the original hash
}

// testAliasSessionOut: every method that returns a session returns a copy.
func testAliasSessionOut(t *testing.T, s store.Store) {
	mustCreateUser(t, s, newUser(1))
	mustCreateSession(t, s, newSession(1, userID(1), base), refresh(1, 0))
	want := mustSession(t, s, sessionID(1))
	check := func(from string) {
		t.Helper()
		checkEqual(t, "stored session after changing the copy from "+from, mustSession(t, s, sessionID(1)), want)
	}

	sess, _, err := s.SessionUser(t.Context(), sessionID(1))
	if err != nil {
		t.Fatalf("SessionUser: %v", err)
	}
	scribbleSession(sess)
	check("SessionUser")

	list, err := s.UserSessions(t.Context(), userID(1), base)
	if err != nil || len(list) != 1 {
		t.Fatalf("UserSessions = %v, %v; want one session", list, err)
	}
	scribbleSession(&list[0])
	check("UserSessions")

	if sess, _, err = s.RotateRefreshToken(t.Context(), store.Rotation{Old: refresh(1, 0), New: refresh(1, 1), Now: at(time.Hour), IdleExpiresAt: at(2 * time.Hour)}); err != nil {
		t.Fatalf("RotateRefreshToken: %v", err)
	}
	want = newSession(1, userID(1), base)
	want.LastUsedAt, want.IdleExpiresAt = at(time.Hour), at(2*time.Hour)
	scribbleSession(sess)
	check("RotateRefreshToken")
}

// testAliasRotationIn: the store keeps its own copy of Rotation.New.
func testAliasRotationIn(t *testing.T, s store.Store) {
	mustCreateUser(t, s, newUser(1))
	mustCreateSession(t, s, newSession(1, userID(1), base), refresh(1, 0))
	newHash := refresh(1, 1)
	if _, _, err := s.RotateRefreshToken(t.Context(), store.Rotation{Old: refresh(1, 0), New: newHash, Now: at(time.Hour), IdleExpiresAt: at(time.Hour + idleLife)}); err != nil {
		t.Fatalf("RotateRefreshToken: %v", err)
	}
	scribble(newHash)
	rotate(t, s, 1, 1, at(2*time.Hour)) // by the original value
}

// testAliasSecretIn: a secret's byte slices are copied on the way in.
func testAliasSecretIn(t *testing.T, s store.Store) {
	mustCreateUser(t, s, newUser(1))
	sec := newSecret(userID(1), store.PurposeVerifyEmail, "1")
	mustPutSecret(t, s, sec)
	scribble(sec.Hash)
	scribble(sec.CodeHash)
	sec.Email, sec.Purpose, sec.ExpiresAt = "scribbled", "scribbled", base

	got, err := s.ReserveCodeAttempt(t.Context(), userID(1), store.PurposeVerifyEmail, base, 5)
	if err != nil {
		t.Fatalf("ReserveCodeAttempt: %v", err)
	}
	want := newSecret(userID(1), store.PurposeVerifyEmail, "1")
	want.Attempts = 1
	checkEqual(t, "stored secret", got, want)
}

// testAliasSecretOut: the secrets ReserveCodeAttempt and ConsumeSecret
// return share no bytes with the store.
func testAliasSecretOut(t *testing.T, s store.Store) {
	mustCreateUser(t, s, newUser(1))
	mustPutSecret(t, s, newSecret(userID(1), store.PurposeVerifyEmail, "1"))
	got, err := s.ReserveCodeAttempt(t.Context(), userID(1), store.PurposeVerifyEmail, base, 5)
	if err != nil {
		t.Fatalf("ReserveCodeAttempt: %v", err)
	}
	scribble(got.Hash)
	scribble(got.CodeHash)
	got.Attempts = -100

	want := newSecret(userID(1), store.PurposeVerifyEmail, "1")
	want.Attempts = 2
	if got, err = s.ReserveCodeAttempt(t.Context(), userID(1), store.PurposeVerifyEmail, base, 5); err != nil {
		t.Fatalf("second ReserveCodeAttempt: %v", err)
	}
	checkEqual(t, "stored secret after changing a returned copy", got, want)
	scribble(got.Hash)
	scribble(got.CodeHash)

	consumed, _, err := consumeAt(t, s, want.Hash, store.PurposeVerifyEmail, base)
	if err != nil {
		t.Fatalf("ConsumeSecret: %v", err)
	}
	checkEqual(t, "consumed secret", consumed, want)
}

// testAliasApplyArgs: changing the records Apply receives changes nothing;
// only the update it returns does.
func testAliasApplyArgs(t *testing.T, s store.Store) {
	mustCreateUser(t, s, newUser(1))
	sec := newSecret(userID(1), store.PurposeVerifyEmail, "1")
	mustPutSecret(t, s, sec)
	_, _, err := s.ConsumeSecret(t.Context(), store.Consume{
		Hash: sec.Hash, Purposes: []store.Purpose{sec.Purpose}, Now: base,
		Apply: func(sec *store.Secret, u *store.User) (*store.UserUpdate, error) {
			scribbleUser(u)
			scribble(sec.Hash)
			scribble(sec.CodeHash)
			return nil, errProbe
		},
	})
	wantErr(t, "ConsumeSecret", err, errProbe)
	checkEqual(t, "stored user", mustUser(t, s, userID(1)), newUser(1))
	got, err := s.ReserveCodeAttempt(t.Context(), userID(1), store.PurposeVerifyEmail, base, 5)
	if err != nil {
		t.Fatalf("ReserveCodeAttempt: %v", err)
	}
	want := newSecret(userID(1), store.PurposeVerifyEmail, "1")
	want.Attempts = 1
	checkEqual(t, "stored secret", got, want)
}
