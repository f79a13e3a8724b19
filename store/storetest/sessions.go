package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

func sessionTests() []test {
	return []test{
		{name: "Create", run: testCreateSession},
		{name: "CreateUnknownUser", run: testCreateSessionUnknownUser},
		{name: "CreateConflictID", run: testCreateSessionConflictID},
		{name: "CreateConflictRefresh", run: testCreateSessionConflictRefresh},
		{name: "LastLoginAt", run: testLastLoginAt},
		{name: "SessionUserNotFound", run: testSessionUserNotFound},
		{name: "UserSessions", run: testUserSessions},
		{name: "UserSessionsBoundary", run: testUserSessionsBoundary},
		{name: "UserSessionsUnknownUser", run: testUserSessionsUnknownUser},
		{name: "Revoke", run: testRevokeSession},
		{name: "RevokeOtherUser", run: testRevokeSessionOtherUser},
		{name: "RevokeUnknown", run: testRevokeSessionUnknown},
		{name: "RevokeUser", sub: []test{
			{name: "All", run: func(t *testing.T, s store.Store) { testRevokeUserSessions(t, s, "", 3) }},
			{name: "Except", run: func(t *testing.T, s store.Store) { testRevokeUserSessions(t, s, sessionID(2), 2) }},
			{name: "ExceptForeign", run: func(t *testing.T, s store.Store) { testRevokeUserSessions(t, s, sessionID(9), 3) }},
			{name: "UnknownUser", run: testRevokeUserSessionsUnknown},
		}},
		{name: "Live", sub: liveTests()},
		{name: "Rotate", sub: rotateTests()},
	}
}

// testCreateSession: a session round-trips through SessionUser with its
// user, times in UTC.
func testCreateSession(t *testing.T, s store.Store) {
	mustCreateUser(t, s, fullUser(1))
	in := newSession(1, userID(1), at(time.Hour).In(elsewhere))
	in.AuthenticatedAt = at(2 * time.Hour).In(elsewhere)
	in.LastUsedAt = at(3 * time.Hour).In(elsewhere)
	in.IdleExpiresAt = at(4 * time.Hour).In(elsewhere)
	in.ExpiresAt = at(5 * time.Hour).In(elsewhere)
	in.IP, in.UserAgent = "2001:db8::1", "Mozilla/5.0 (X11; Linux x86_64) ✓"
	want := *in
	if err := s.CreateSession(t.Context(), in, refresh(1, 0)); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	sess, u, err := s.SessionUser(t.Context(), sessionID(1))
	if err != nil {
		t.Fatalf("SessionUser: %v", err)
	}
	checkEqual(t, "session", sess, &want)
	wantUser := fullUser(1)
	wantUser.LastLoginAt = at(time.Hour)
	checkEqual(t, "user", u, wantUser)
}

func testCreateSessionUnknownUser(t *testing.T, s store.Store) {
	mustCreateUser(t, s, newUser(1))
	err := s.CreateSession(t.Context(), newSession(1, unknownID, base), refresh(1, 0))
	wantErr(t, "CreateSession for an unknown user", err, store.ErrNotFound)
	if sessionExists(t, s, sessionID(1)) {
		t.Error("the session was stored")
	}
}

func testCreateSessionConflictID(t *testing.T, s store.Store) {
	mustCreateUser(t, s, newUser(1))
	mustCreateUser(t, s, newUser(2))
	mustCreateSession(t, s, newSession(1, userID(1), base), refresh(1, 0))
	dup := newSession(1, userID(2), at(time.Hour))
	wantErr(t, "CreateSession with a taken ID", s.CreateSession(t.Context(), dup, refresh(2, 0)), store.ErrConflict)
	checkEqual(t, "first session", mustSession(t, s, sessionID(1)), newSession(1, userID(1), base))
	// The refused session's refresh hash was not stored.
	mustCreateSession(t, s, newSession(2, userID(2), at(time.Hour)), refresh(2, 0))
	if got := mustUser(t, s, userID(2)).LastLoginAt; !got.Equal(at(time.Hour)) {
		t.Errorf("LastLoginAt = %v, want %v (from the later, successful session only)", got, at(time.Hour))
	}
}

func testCreateSessionConflictRefresh(t *testing.T, s store.Store) {
	mustCreateUser(t, s, newUser(1))
	mustCreateUser(t, s, newUser(2))
	mustCreateSession(t, s, newSession(1, userID(1), base), refresh(1, 0))
	rotate(t, s, 1, 0, at(time.Minute))
	for _, tc := range []struct {
		name string
		hash []byte
	}{
		{"Current", refresh(1, 1)},
		{"Rotated", refresh(1, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.CreateSession(t.Context(), newSession(2, userID(2), at(time.Hour)), tc.hash)
			wantErr(t, "CreateSession with a refresh hash in use", err, store.ErrConflict)
			if sessionExists(t, s, sessionID(2)) {
				t.Error("the conflicting session was stored")
			}
			if got := mustUser(t, s, userID(2)).LastLoginAt; !got.IsZero() {
				t.Errorf("LastLoginAt = %v after a refused CreateSession, want zero", got)
			}
		})
	}
	// Session 1 still owns its token.
	rotate(t, s, 1, 1, at(2*time.Minute))
}

// testLastLoginAt: each CreateSession sets the user's LastLoginAt to the
// session's CreatedAt and leaves the rest of the user alone.
func testLastLoginAt(t *testing.T, s store.Store) {
	mustCreateUser(t, s, newUser(1))
	for n, created := range []time.Time{at(time.Hour), at(3 * time.Hour).In(elsewhere)} {
		mustCreateSession(t, s, newSession(n+1, userID(1), created), refresh(n+1, 0))
		want := newUser(1)
		want.LastLoginAt = created
		checkEqual(t, "user", mustUser(t, s, userID(1)), want)
	}
}

func testSessionUserNotFound(t *testing.T, s store.Store) {
	mustCreateUser(t, s, newUser(1))
	mustCreateSession(t, s, newSession(1, userID(1), base), refresh(1, 0))
	sess, u, err := s.SessionUser(t.Context(), unknownID)
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SessionUser(unknown) = %v, %v, %v; want ErrNotFound", sess, u, err)
	}
}

// testUserSessions: only the user's sessions live at now, newest first.
func testUserSessions(t *testing.T, s store.Store) {
	mustCreateUser(t, s, newUser(1))
	mustCreateUser(t, s, newUser(2))
	now := at(10 * 24 * time.Hour)
	live1 := newSession(1, userID(1), at(9*24*time.Hour))
	live2 := newSession(2, userID(1), at(9*24*time.Hour+time.Hour).In(elsewhere))
	live3 := newSession(3, userID(1), at(8*24*time.Hour))
	idle := newSession(4, userID(1), at(2*24*time.Hour)) // idle deadline passed on day 9
	absolute := newSession(5, userID(1), at(-25*24*time.Hour))
	absolute.IdleExpiresAt = absolute.ExpiresAt // refreshed to the cap, which is day 5
	theirs := newSession(6, userID(2), at(9*24*time.Hour+2*time.Hour))
	for i, sess := range []*store.Session{live3, idle, live1, absolute, theirs, live2} {
		mustCreateSession(t, s, sess, refresh(i, 0))
	}
	got, err := s.UserSessions(t.Context(), userID(1), now)
	if err != nil {
		t.Fatalf("UserSessions: %v", err)
	}
	checkEqual(t, "UserSessions", got, []store.Session{*live2, *live1, *live3})
}

// testUserSessionsBoundary: a session is live strictly before its deadlines.
func testUserSessionsBoundary(t *testing.T, s store.Store) {
	mustCreateUser(t, s, newUser(1))
	sess := newSession(1, userID(1), base)
	mustCreateSession(t, s, sess, refresh(1, 0))
	for _, tc := range []struct {
		name string
		now  time.Time
		want int
	}{
		{"BeforeIdle", sess.IdleExpiresAt.Add(-time.Microsecond), 1},
		{"AtIdle", sess.IdleExpiresAt, 0},
		{"AfterIdle", sess.IdleExpiresAt.Add(time.Microsecond), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.UserSessions(t.Context(), userID(1), tc.now)
			if err != nil {
				t.Fatalf("UserSessions: %v", err)
			}
			if len(got) != tc.want {
				t.Errorf("UserSessions at %v: %d sessions, want %d", tc.now, len(got), tc.want)
			}
		})
	}
}

func testUserSessionsUnknownUser(t *testing.T, s store.Store) {
	mustCreateUser(t, s, newUser(1))
	mustCreateSession(t, s, newSession(1, userID(1), base), refresh(1, 0))
	got, err := s.UserSessions(t.Context(), unknownID, base)
	if err != nil || len(got) != 0 {
		t.Errorf("UserSessions(unknown) = %v, %v; want no sessions and no error", got, err)
	}
}

// testRevokeSession: the session and its refresh tokens, rotated ones
// included, are deleted; the user's other sessions stay.
//
// SECURITY.md #40: logout revokes the refresh family.
func testRevokeSession(t *testing.T, s store.Store) {
	mustCreateUser(t, s, newUser(1))
	mustCreateSession(t, s, newSession(1, userID(1), base), refresh(1, 0))
	mustCreateSession(t, s, newSession(2, userID(1), base), refresh(2, 0))
	rotate(t, s, 1, 0, at(time.Minute))

	if err := s.RevokeSession(t.Context(), userID(1), sessionID(1)); err != nil {
		t.Fatalf("RevokeSession: %v", err)
	}
	if sessionExists(t, s, sessionID(1)) {
		t.Error("SessionUser finds the revoked session")
	}
	for _, h := range [][]byte{refresh(1, 1), refresh(1, 0)} {
		_, _, err := s.RotateRefreshToken(t.Context(), store.Rotation{Old: h, New: digest("unused"), Now: at(time.Hour), IdleExpiresAt: at(2 * time.Hour)})
		wantErr(t, "rotating a revoked session's token", err, store.ErrNotFound)
	}
	wantErr(t, "RevokeSession again", s.RevokeSession(t.Context(), userID(1), sessionID(1)), store.ErrNotFound)
	if !sessionExists(t, s, sessionID(2)) {
		t.Error("the user's other session was revoked")
	}
	// The refresh tokens were deleted, so their hashes are free.
	mustCreateSession(t, s, newSession(3, userID(1), at(time.Hour)), refresh(1, 0))
	mustCreateSession(t, s, newSession(4, userID(1), at(time.Hour)), refresh(1, 1))
}

// testRevokeSessionOtherUser: a user cannot revoke someone else's session.
//
// SECURITY.md #57: no IDOR.
func testRevokeSessionOtherUser(t *testing.T, s store.Store) {
	mustCreateUser(t, s, newUser(1))
	mustCreateUser(t, s, newUser(2))
	mustCreateSession(t, s, newSession(1, userID(1), base), refresh(1, 0))
	wantErr(t, "RevokeSession of another user's session", s.RevokeSession(t.Context(), userID(2), sessionID(1)), store.ErrNotFound)
	checkEqual(t, "session", mustSession(t, s, sessionID(1)), newSession(1, userID(1), base))
	rotate(t, s, 1, 0, at(time.Minute))
}

func testRevokeSessionUnknown(t *testing.T, s store.Store) {
	mustCreateUser(t, s, newUser(1))
	wantErr(t, "RevokeSession(unknown)", s.RevokeSession(t.Context(), userID(1), unknownID), store.ErrNotFound)
}

// testRevokeUserSessions: user 1 has sessions 1-3, user 2 has session 9.
//
// SECURITY.md #41: logout everywhere.
func testRevokeUserSessions(t *testing.T, s store.Store, except string, want int) {
	mustCreateUser(t, s, newUser(1))
	mustCreateUser(t, s, newUser(2))
	for n := 1; n <= 3; n++ {
		mustCreateSession(t, s, newSession(n, userID(1), base), refresh(n, 0))
	}
	mustCreateSession(t, s, newSession(9, userID(2), base), refresh(9, 0))
	rotate(t, s, 1, 0, at(time.Minute))

	got, err := s.RevokeUserSessions(t.Context(), userID(1), except)
	if err != nil {
		t.Fatalf("RevokeUserSessions: %v", err)
	}
	if got != want {
		t.Errorf("RevokeUserSessions = %d, want %d", got, want)
	}
	for n := 1; n <= 3; n++ {
		kept := sessionID(n) == except
		if exists := sessionExists(t, s, sessionID(n)); exists != kept {
			t.Errorf("session %d exists = %t, want %t", n, exists, kept)
		}
	}
	if except == sessionID(2) {
		checkEqual(t, "kept session", mustSession(t, s, sessionID(2)), newSession(2, userID(1), base))
	}
	checkEqual(t, "other user's session", mustSession(t, s, sessionID(9)), newSession(9, userID(2), base))
	for _, h := range [][]byte{refresh(1, 0), refresh(1, 1)} {
		_, _, err := s.RotateRefreshToken(t.Context(), store.Rotation{Old: h, New: digest("unused"), Now: at(time.Hour), IdleExpiresAt: at(2 * time.Hour)})
		wantErr(t, "rotating a revoked session's token", err, store.ErrNotFound)
	}
	again, err := s.RevokeUserSessions(t.Context(), userID(1), except)
	if err != nil || again != 0 {
		t.Errorf("RevokeUserSessions again = %d, %v; want 0, nil", again, err)
	}
}

func testRevokeUserSessionsUnknown(t *testing.T, s store.Store) {
	mustCreateUser(t, s, newUser(1))
	mustCreateSession(t, s, newSession(1, userID(1), base), refresh(1, 0))
	n, err := s.RevokeUserSessions(t.Context(), unknownID, "")
	if err != nil || n != 0 {
		t.Errorf("RevokeUserSessions(unknown) = %d, %v; want 0, nil", n, err)
	}
	if !sessionExists(t, s, sessionID(1)) {
		t.Error("another user's session was revoked")
	}
}

// liveTests checks the boundaries of [store.Session.Live], which stores use
// for every expiry decision.
func liveTests() []test {
	sess := newSession(1, userID(1), base)
	sess.IdleExpiresAt = at(time.Hour)
	sess.ExpiresAt = at(2 * time.Hour)
	cases := []struct {
		name string
		now  time.Time
		want bool
	}{
		{"BeforeBoth", at(time.Hour - time.Microsecond), true},
		{"AtIdle", at(time.Hour), false},
		{"BetweenDeadlines", at(90 * time.Minute), false},
		{"AtAbsolute", at(2 * time.Hour), false},
		{"AfterBoth", at(3 * time.Hour), false},
		{"OtherLocation", at(time.Hour - time.Microsecond).In(elsewhere), true},
	}
	var tests []test
	for _, tc := range cases {
		tests = append(tests, test{name: tc.name, run: func(t *testing.T, _ store.Store) {
			if got := sess.Live(tc.now); got != tc.want {
				t.Errorf("Live(%v) = %t, want %t", tc.now, got, tc.want)
			}
		}})
	}
	// The absolute deadline alone also ends a session.
	tests = append(tests, test{name: "AbsoluteOnly", run: func(t *testing.T, _ store.Store) {
		s := *sess
		s.IdleExpiresAt = at(3 * time.Hour) // beyond ExpiresAt: not a valid session, but Live must still refuse
		if s.Live(at(2 * time.Hour)) {
			t.Error("Live at ExpiresAt = true, want false")
		}
	}})
	return tests
}
