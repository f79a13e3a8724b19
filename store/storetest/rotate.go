package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

func rotateTests() []test {
	return []test{
		{name: "Success", run: testRotateSuccess},
		{name: "IdleCapped", run: testRotateIdleCapped},
		{name: "ClientFields", sub: rotateClientTests()},
		{name: "ReuseRevokes", run: testRotateReuseRevokes},
		{name: "Chain", sub: []test{
			{name: "ReplayR0", run: func(t *testing.T, s store.Store) { testRotateChain(t, s, 0) }},
			{name: "ReplayR1", run: func(t *testing.T, s store.Store) { testRotateChain(t, s, 1) }},
			{name: "ReplayR2", run: func(t *testing.T, s store.Store) { testRotateChain(t, s, 2) }},
		}},
		{name: "Grace", sub: []test{
			{name: "Within", run: testRotateGraceWithin},
			{name: "Outside", run: testRotateGraceOutside},
			{name: "OfThatRotation", run: testRotateGraceOfThatRotation},
		}},
		{name: "UnknownHash", run: testRotateUnknown},
		{name: "Expired", sub: rotateExpiryTests()},
		{name: "AbsoluteLimit", run: testRotateAbsoluteLimit},
		{name: "Concurrent", run: testRotateConcurrent},
		{name: "ConcurrentGrace", run: testRotateConcurrentGrace},
	}
}

// rotationFixture creates user 1 with session 1 (refresh(1, 0) current) and
// a second session 2 that must never be affected.
func rotationFixture(tb testing.TB, s store.Store) {
	tb.Helper()
	mustCreateUser(tb, s, newUser(1))
	mustCreateSession(tb, s, newSession(1, userID(1), base), refresh(1, 0))
	mustCreateSession(tb, s, newSession(2, userID(1), base), refresh(2, 0))
}

// checkBystander verifies that session 2 of rotationFixture is untouched.
func checkBystander(tb testing.TB, s store.Store) {
	tb.Helper()
	checkEqual(tb, "the user's other session", mustSession(tb, s, sessionID(2)), newSession(2, userID(1), base))
}

// SECURITY.md #36: the presented token is replaced; the new one works.
func testRotateSuccess(t *testing.T, s store.Store) {
	rotationFixture(t, s)
	now := at(time.Hour).In(elsewhere)
	sess, u, err := s.RotateRefreshToken(t.Context(), store.Rotation{
		Old: refresh(1, 0), New: refresh(1, 1), Now: now, IdleExpiresAt: now.Add(idleLife),
		IP: "198.51.100.7", UserAgent: "storetest/2.0",
	})
	if err != nil {
		t.Fatalf("RotateRefreshToken: %v", err)
	}
	want := newSession(1, userID(1), base)
	want.LastUsedAt = at(time.Hour)
	want.IdleExpiresAt = at(time.Hour + idleLife)
	want.IP, want.UserAgent = "198.51.100.7", "storetest/2.0"
	checkEqual(t, "returned session", sess, want)
	wantUser := newUser(1)
	wantUser.LastLoginAt = base
	checkEqual(t, "returned user", u, wantUser)
	checkEqual(t, "stored session", mustSession(t, s, sessionID(1)), want)
	checkBystander(t, s)
	// The new token is current.
	rotate(t, s, 1, 1, at(2*time.Hour))
}

// testRotateIdleCapped: the new idle deadline never passes ExpiresAt.
func testRotateIdleCapped(t *testing.T, s store.Store) {
	rotationFixture(t, s)
	now := at(6 * 24 * time.Hour)
	sess, _, err := s.RotateRefreshToken(t.Context(), store.Rotation{
		Old: refresh(1, 0), New: refresh(1, 1), Now: now, IdleExpiresAt: at(absoluteLife + time.Hour),
	})
	if err != nil {
		t.Fatalf("RotateRefreshToken: %v", err)
	}
	want := at(absoluteLife)
	if !sess.IdleExpiresAt.Equal(want) {
		t.Errorf("returned IdleExpiresAt = %v, want ExpiresAt %v", sess.IdleExpiresAt, want)
	}
	if got := mustSession(t, s, sessionID(1)).IdleExpiresAt; !got.Equal(want) {
		t.Errorf("stored IdleExpiresAt = %v, want ExpiresAt %v", got, want)
	}
}

// rotateClientTests: IP and UserAgent are replaced only when given.
func rotateClientTests() []test {
	cases := []struct {
		name, ip, ua   string
		wantIP, wantUA string
	}{
		{"Neither", "", "", "192.0.2.1", "storetest/1.0"},
		{"IPOnly", "203.0.113.9", "", "203.0.113.9", "storetest/1.0"},
		{"UserAgentOnly", "", "curl/8", "192.0.2.1", "curl/8"},
	}
	var tests []test
	for _, tc := range cases {
		tests = append(tests, test{name: tc.name, run: func(t *testing.T, s store.Store) {
			rotationFixture(t, s)
			sess, _, err := s.RotateRefreshToken(t.Context(), store.Rotation{
				Old: refresh(1, 0), New: refresh(1, 1), Now: at(time.Hour), IdleExpiresAt: at(2 * time.Hour),
				IP: tc.ip, UserAgent: tc.ua,
			})
			if err != nil {
				t.Fatalf("RotateRefreshToken: %v", err)
			}
			for _, got := range []*store.Session{sess, mustSession(t, s, sessionID(1))} {
				if got.IP != tc.wantIP || got.UserAgent != tc.wantUA {
					t.Errorf("IP, UserAgent = %q, %q; want %q, %q", got.IP, got.UserAgent, tc.wantIP, tc.wantUA)
				}
			}
		}})
	}
	return tests
}

// checkRevokedByReuse verifies that err reports a reuse that revoked
// session 1, and that the session and all its tokens are gone.
func checkRevokedByReuse(tb testing.TB, s store.Store, err error, newest []byte) {
	tb.Helper()
	if !errors.Is(err, store.ErrTokenReused) {
		tb.Fatalf("err = %v, want ErrTokenReused", err)
	}
	re, ok := reuseError(err)
	if !ok {
		tb.Fatalf("err = %v, not a *store.ReuseError", err)
	}
	if re.SessionID != sessionID(1) || re.UserID != userID(1) || !re.Revoked {
		tb.Errorf("ReuseError = %+v, want SessionID %s, UserID %s, Revoked true", *re, sessionID(1), userID(1))
	}
	if sessionExists(tb, s, sessionID(1)) {
		tb.Error("the session survived the reuse")
	}
	_, _, err = s.RotateRefreshToken(tb.Context(), store.Rotation{Old: newest, New: digest("after reuse"), Now: at(5 * time.Hour), IdleExpiresAt: at(6 * time.Hour)})
	wantErr(tb, "rotating the newest token after reuse", err, store.ErrNotFound)
	checkBystander(tb, s)
}

// SECURITY.md #37: reuse of a rotated token revokes the whole family.
func testRotateReuseRevokes(t *testing.T, s store.Store) {
	rotationFixture(t, s)
	rotate(t, s, 1, 0, at(time.Hour))
	_, _, err := s.RotateRefreshToken(t.Context(), store.Rotation{
		Old: refresh(1, 0), New: digest("replay"), Now: at(time.Hour + time.Second), IdleExpiresAt: at(2 * time.Hour),
	})
	checkRevokedByReuse(t, s, err, refresh(1, 1))
	// The replayed token is now unknown, not reused.
	_, _, err = s.RotateRefreshToken(t.Context(), store.Rotation{Old: refresh(1, 0), New: digest("replay 2"), Now: at(5 * time.Hour), IdleExpiresAt: at(6 * time.Hour)})
	wantErr(t, "replaying again", err, store.ErrNotFound)
	if _, ok := reuseError(err); ok {
		t.Error("the second replay was reported as reuse again")
	}
}

// testRotateChain: R0→R1→R2→R3, then replaying an old generation kills R3.
//
// SECURITY.md #37.
func testRotateChain(t *testing.T, s store.Store, replay int) {
	rotationFixture(t, s)
	for gen := range 3 {
		rotate(t, s, 1, gen, at(time.Duration(gen+1)*time.Hour))
	}
	_, _, err := s.RotateRefreshToken(t.Context(), store.Rotation{
		Old: refresh(1, replay), New: digest("replay"), Now: at(4 * time.Hour), IdleExpiresAt: at(5 * time.Hour),
	})
	checkRevokedByReuse(t, s, err, refresh(1, 3))
}

// testRotateGraceWithin: inside the grace window a retry fails without
// revoking, and the newest token keeps working.
//
// SECURITY.md #38: an optional grace window covers benign races.
func testRotateGraceWithin(t *testing.T, s store.Store) {
	rotationFixture(t, s)
	rotate(t, s, 1, 0, at(time.Hour))
	before := mustSession(t, s, sessionID(1))
	sess, u, err := s.RotateRefreshToken(t.Context(), store.Rotation{
		Old: refresh(1, 0), New: digest("retry"), Now: at(time.Hour + 5*time.Second), IdleExpiresAt: at(3 * time.Hour),
		ReuseGrace: 10 * time.Second, IP: "203.0.113.50",
	})
	if sess != nil || u != nil {
		t.Errorf("a retry within the grace window returned a session or user")
	}
	if !errors.Is(err, store.ErrTokenReused) {
		t.Fatalf("err = %v, want ErrTokenReused", err)
	}
	re, ok := reuseError(err)
	if !ok {
		t.Fatalf("err = %v, not a *store.ReuseError", err)
	}
	if re.SessionID != sessionID(1) || re.UserID != userID(1) || re.Revoked {
		t.Errorf("ReuseError = %+v, want SessionID %s, UserID %s, Revoked false", *re, sessionID(1), userID(1))
	}
	checkEqual(t, "session after the retry", mustSession(t, s, sessionID(1)), before)
	// The retry's New was not stored: it is unknown.
	_, _, err = s.RotateRefreshToken(t.Context(), store.Rotation{Old: digest("retry"), New: digest("x"), Now: at(time.Hour + 6*time.Second), IdleExpiresAt: at(3 * time.Hour)})
	wantErr(t, "rotating the retry's new token", err, store.ErrNotFound)
	rotate(t, s, 1, 1, at(time.Hour+7*time.Second))
	checkBystander(t, s)
}

// testRotateGraceOutside: past the grace window a replay revokes.
func testRotateGraceOutside(t *testing.T, s store.Store) {
	rotationFixture(t, s)
	rotate(t, s, 1, 0, at(time.Hour))
	_, _, err := s.RotateRefreshToken(t.Context(), store.Rotation{
		Old: refresh(1, 0), New: digest("late"), Now: at(time.Hour + 20*time.Second), IdleExpiresAt: at(3 * time.Hour),
		ReuseGrace: 10 * time.Second,
	})
	checkRevokedByReuse(t, s, err, refresh(1, 1))
}

// testRotateGraceOfThatRotation: the window runs from the rotation that
// retired the presented token, not from the latest one.
func testRotateGraceOfThatRotation(t *testing.T, s store.Store) {
	rotationFixture(t, s)
	rotate(t, s, 1, 0, at(time.Hour))             // retires R0
	rotate(t, s, 1, 1, at(time.Hour+time.Minute)) // retires R1
	_, _, err := s.RotateRefreshToken(t.Context(), store.Rotation{
		Old: refresh(1, 0), New: digest("late"), Now: at(time.Hour + time.Minute + time.Second), IdleExpiresAt: at(3 * time.Hour),
		ReuseGrace: 10 * time.Second,
	})
	checkRevokedByReuse(t, s, err, refresh(1, 2))
}

func testRotateUnknown(t *testing.T, s store.Store) {
	rotationFixture(t, s)
	_, _, err := s.RotateRefreshToken(t.Context(), store.Rotation{
		Old: digest("never issued"), New: digest("x"), Now: at(time.Hour), IdleExpiresAt: at(2 * time.Hour),
	})
	wantErr(t, "RotateRefreshToken(unknown)", err, store.ErrNotFound)
	if _, ok := reuseError(err); ok {
		t.Error("an unknown token was reported as reused")
	}
	checkEqual(t, "session", mustSession(t, s, sessionID(1)), newSession(1, userID(1), base))
}

// rotateExpiryTests: a session is usable strictly before its idle deadline.
//
// SECURITY.md #39: idle lifetime.
func rotateExpiryTests() []test {
	cases := []struct {
		name string
		now  time.Time
		want error
	}{
		{"JustBeforeIdle", at(idleLife - time.Microsecond), nil},
		{"AtIdle", at(idleLife), store.ErrNotFound},
		{"AfterIdle", at(idleLife + time.Hour), store.ErrNotFound},
	}
	var tests []test
	for _, tc := range cases {
		tests = append(tests, test{name: tc.name, run: func(t *testing.T, s store.Store) {
			rotationFixture(t, s)
			_, _, err := s.RotateRefreshToken(t.Context(), store.Rotation{
				Old: refresh(1, 0), New: refresh(1, 1), Now: tc.now, IdleExpiresAt: tc.now.Add(idleLife),
			})
			wantErr(t, fmt.Sprintf("RotateRefreshToken at %v", tc.now), err, tc.want)
			if tc.want != nil {
				if _, ok := reuseError(err); ok {
					t.Error("an expired session's token was reported as reused")
				}
				checkEqual(t, "session after a refused rotation", mustSession(t, s, sessionID(1)), newSession(1, userID(1), base))
			}
		}})
	}
	return tests
}

// testRotateAbsoluteLimit: a chain refreshed continuously still dies at
// ExpiresAt, exactly.
//
// SECURITY.md #39: absolute lifetime.
func testRotateAbsoluteLimit(t *testing.T, s store.Store) {
	rotationFixture(t, s)
	gen := 0
	for now := at(6 * 24 * time.Hour); now.Before(at(absoluteLife)); now = now.Add(6 * 24 * time.Hour) {
		rotate(t, s, 1, gen, now)
		gen++
	}
	rotate(t, s, 1, gen, at(absoluteLife-time.Microsecond))
	gen++
	_, _, err := s.RotateRefreshToken(t.Context(), store.Rotation{
		Old: refresh(1, gen), New: refresh(1, gen+1), Now: at(absoluteLife), IdleExpiresAt: at(absoluteLife + idleLife),
	})
	wantErr(t, "RotateRefreshToken at ExpiresAt", err, store.ErrNotFound)
}

// testRotateConcurrent: of 50 concurrent rotations of one token exactly one
// wins; without a grace window the others see reuse or, once the session
// is revoked, an unknown token.
//
// SECURITY.md #38: concurrent refresh has a single winner.
func testRotateConcurrent(t *testing.T, s store.Store) {
	const n = 50
	rotationFixture(t, s)
	now := at(time.Hour)
	errs := concurrently(n, func(i int) error {
		_, _, err := s.RotateRefreshToken(t.Context(), store.Rotation{
			Old: refresh(1, 0), New: digest(fmt.Sprint("racer ", i)), Now: now, IdleExpiresAt: now.Add(idleLife),
		})
		return err
	})
	ok, matched, other := tally(errs, store.ErrTokenReused, store.ErrNotFound)
	if ok != 1 || len(other) > 0 {
		t.Fatalf("%d concurrent rotations: %d succeeded, %d reused, %d not found, other errors %v; want exactly 1 success",
			n, ok, matched[0], matched[1], other)
	}
	if matched[0] == 0 {
		t.Error("no loser was reported as a reuse")
	}
	checkBystander(t, s)
}

// testRotateConcurrentGrace: with a grace window the losers are reported
// without revoking, and the winner's token works afterwards.
func testRotateConcurrentGrace(t *testing.T, s store.Store) {
	const n = 50
	rotationFixture(t, s)
	now := at(time.Hour)
	errs := concurrently(n, func(i int) error {
		_, _, err := s.RotateRefreshToken(t.Context(), store.Rotation{
			Old: refresh(1, 0), New: digest(fmt.Sprint("racer ", i)), Now: now, IdleExpiresAt: now.Add(idleLife),
			ReuseGrace: time.Minute,
		})
		return err
	})
	winner := -1
	for i, err := range errs {
		switch re, isReuse := reuseError(err); {
		case err == nil:
			if winner >= 0 {
				t.Fatalf("rotations %d and %d both succeeded", winner, i)
			}
			winner = i
		case !isReuse:
			t.Errorf("rotation %d: err = %v, want a *store.ReuseError", i, err)
		case re.Revoked:
			t.Errorf("rotation %d: the session was revoked within the grace window", i)
		}
	}
	if winner < 0 {
		t.Fatal("no rotation succeeded")
	}
	_, _, err := s.RotateRefreshToken(t.Context(), store.Rotation{
		Old: digest(fmt.Sprint("racer ", winner)), New: digest("next"), Now: now.Add(time.Second), IdleExpiresAt: now.Add(idleLife),
	})
	wantErr(t, "rotating the winner's token", err, nil)
}
