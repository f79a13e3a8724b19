package storetest

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

// Run runs the conformance suite against the store that newStore returns.
// It calls newStore once at the start of every leaf subtest and expects a
// fresh, empty store each time; see the package documentation for an
// example.
//
// SECURITY.md #76: the in-memory and SQL stores pass this one suite.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Helper()
	r := runner{newStore: newStore}
	r.run(t, []test{
		{name: "Users", sub: userTests()},
		{name: "ListUsers", sub: listTests()},
		{name: "Sessions", sub: sessionTests()},
		{name: "Secrets", sub: secretTests()},
		{name: "NoAliasing", sub: aliasTests()},
		{name: "Expirer", sub: expirerTests()},
		{name: "Counters", sub: counterTests()},
		{name: "CounterBatch", sub: counterBatchTests()},
		{name: "Runs", sub: runTests()},
		{name: "Factors", sub: factorTests()},
		{name: "RecoveryCodes", sub: recoveryCodeTests()},
		{name: "Challenges", sub: challengeTests()},
		{name: "Identities", sub: identityTests()},
		{name: "FederationFlows", sub: flowTests()},
		{name: "EmailLogins", sub: emailLoginTests()},
		{name: "RunBatch", sub: runBatchTests()},
	})
}

// A test is a named subtest: either a leaf that runs against a fresh store
// or a group of subtests.
type test struct {
	name string
	run  func(t *testing.T, s store.Store)
	sub  []test
}

type runner struct {
	newStore func(t *testing.T) store.Store
}

func (r runner) run(t *testing.T, tests []test) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.sub != nil {
				r.run(t, tc.sub)
				return
			}
			tc.run(t, fresh(t, r.newStore))
		})
	}
}

func fresh(t *testing.T, newStore func(t *testing.T) store.Store) store.Store {
	t.Helper()
	s := newStore(t)
	if s == nil {
		t.Fatal("storetest: newStore returned nil")
	}
	return s
}

// Fixed instants: the suite never reads the clock.
var (
	base = time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)
	// elsewhere is the non-UTC location of some times given to the store.
	elsewhere = time.FixedZone("UTC+05:30", 5*60*60+30*60)
)

// Session lifetimes used by the fixtures.
const (
	idleLife     = 7 * 24 * time.Hour
	absoluteLife = 30 * 24 * time.Hour
)

// at returns base+d.
func at(d time.Duration) time.Time { return base.Add(d) }

func userID(n int) string    { return fmt.Sprintf("a0000000-0000-4000-8000-%012d", n) }
func sessionID(n int) string { return fmt.Sprintf("b0000000-0000-4000-8000-%012d", n) }
func email(n int) string     { return fmt.Sprintf("user%03d@example.com", n) }

// unknownID is a well-formed ID that no fixture uses.
const unknownID = "f0000000-0000-4000-8000-000000000000"

// digest returns the SHA-256 of label, standing in for a token hash.
func digest(label string) []byte {
	h := sha256.Sum256([]byte(label))
	return h[:]
}

// refresh returns the hash of generation gen of session n's refresh token.
func refresh(n, gen int) []byte { return digest(fmt.Sprintf("refresh %d %d", n, gen)) }

func ptr[T any](v T) *T { return &v }

// newUser returns an active, verified, ordinary user numbered n.
func newUser(n int) *store.User {
	return &store.User{
		ID:           userID(n),
		Email:        email(n),
		PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$c3RvcmV0ZXN0$aGFzaA",
		Name:         fmt.Sprintf("User %d", n),
		IsActive:     true,
		IsVerified:   true,
		CreatedAt:    base,
		UpdatedAt:    base,
	}
}

// superuser returns newUser(n) made an active superuser.
func superuser(n int) *store.User {
	u := newUser(n)
	u.IsSuperuser = true
	return u
}

// fullUser returns a user with every field set, times in another location.
func fullUser(n int) *store.User {
	return &store.User{
		ID:                    userID(n),
		Email:                 email(n),
		PendingEmail:          fmt.Sprintf("pending%03d@example.com", n),
		PasswordHash:          "$2a$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
		Name:                  "Ada Lovelace",
		Bio:                   "Notes on the engine.\nÜnïcödé ✓",
		ProfilePicture:        "https://example.com/pictures/ada.png",
		IsSuperuser:           true,
		IsActive:              true,
		IsVerified:            true,
		CreatedAt:             at(-48 * time.Hour).In(elsewhere),
		UpdatedAt:             at(-24 * time.Hour).In(elsewhere),
		LastLoginAt:           at(-time.Hour).In(elsewhere),
		TokensValidAfter:      at(-2 * time.Hour).In(elsewhere),
		PendingEmailExpiresAt: at(23 * time.Hour).In(elsewhere),
	}
}

// newSession returns session n of user uid, created at created, with the
// fixture lifetimes.
func newSession(n int, uid string, created time.Time) *store.Session {
	return &store.Session{
		ID:              sessionID(n),
		UserID:          uid,
		CreatedAt:       created,
		AuthenticatedAt: created,
		LastUsedAt:      created,
		ExpiresAt:       created.Add(absoluteLife),
		IdleExpiresAt:   created.Add(idleLife),
		IP:              "192.0.2.1",
		UserAgent:       "storetest/1.0",
	}
}

// newSecret returns a secret of user uid for purpose p, valid for an hour
// from base with a code valid for ten minutes. label makes its hashes.
func newSecret(uid string, p store.Purpose, label string) *store.Secret {
	return &store.Secret{
		Hash:          digest("secret " + label),
		CodeHash:      digest("code " + label),
		Purpose:       p,
		UserID:        uid,
		Email:         "inbox-" + label + "@example.com",
		CreatedAt:     base,
		ExpiresAt:     at(time.Hour),
		CodeExpiresAt: at(10 * time.Minute),
	}
}

func mustCreateUser(tb testing.TB, s store.Store, u *store.User) {
	tb.Helper()
	if err := s.CreateUser(tb.Context(), u); err != nil {
		tb.Fatalf("setup: CreateUser(%s): %v", u.Email, err)
	}
}

func mustCreateSession(tb testing.TB, s store.Store, sess *store.Session, refreshHash []byte) {
	tb.Helper()
	if err := s.CreateSession(tb.Context(), sess, refreshHash); err != nil {
		tb.Fatalf("setup: CreateSession(%s): %v", sess.ID, err)
	}
}

func mustPutSecret(tb testing.TB, s store.Store, sec *store.Secret) {
	tb.Helper()
	if err := s.PutSecret(tb.Context(), sec); err != nil {
		tb.Fatalf("setup: PutSecret(%s): %v", sec.Purpose, err)
	}
}

func mustUser(tb testing.TB, s store.Store, id string) *store.User {
	tb.Helper()
	u, err := s.UserByID(tb.Context(), id)
	if err != nil {
		tb.Fatalf("UserByID(%s): %v", id, err)
	}
	return u
}

func mustSession(tb testing.TB, s store.Store, id string) *store.Session {
	tb.Helper()
	sess, _, err := s.SessionUser(tb.Context(), id)
	if err != nil {
		tb.Fatalf("SessionUser(%s): %v", id, err)
	}
	return sess
}

// rotate rotates session n's refresh token from generation gen to gen+1 at
// now, with the fixture idle lifetime and no grace.
func rotate(tb testing.TB, s store.Store, n, gen int, now time.Time) {
	tb.Helper()
	_, _, err := s.RotateRefreshToken(tb.Context(), store.Rotation{
		Old: refresh(n, gen), New: refresh(n, gen+1), Now: now, IdleExpiresAt: now.Add(idleLife),
	})
	if err != nil {
		tb.Fatalf("setup: rotate session %d from generation %d: %v", n, gen, err)
	}
}

// userExists reports whether UserByID finds the user.
func userExists(tb testing.TB, s store.Store, id string) bool {
	tb.Helper()
	_, err := s.UserByID(tb.Context(), id)
	return found(tb, "UserByID", err)
}

// sessionExists reports whether SessionUser finds the session.
func sessionExists(tb testing.TB, s store.Store, id string) bool {
	tb.Helper()
	_, _, err := s.SessionUser(tb.Context(), id)
	return found(tb, "SessionUser", err)
}

// errProbe is returned by the Apply of secretExists to leave a secret in
// place.
var errProbe = errors.New("storetest: probe")

// secretExists reports whether a secret with that hash and purpose is
// stored and usable at base, without consuming it: the probe's Apply fails,
// which leaves the secret in place.
func secretExists(tb testing.TB, s store.Store, hash []byte, p store.Purpose) bool {
	tb.Helper()
	return secretExistsAt(tb, s, hash, p, base)
}

// secretExistsAt is secretExists at now.
func secretExistsAt(tb testing.TB, s store.Store, hash []byte, p store.Purpose, now time.Time) bool {
	tb.Helper()
	_, _, err := s.ConsumeSecret(tb.Context(), store.Consume{
		Hash: hash, Purposes: []store.Purpose{p}, Now: now,
		Apply: func(*store.Secret, *store.User) (*store.UserUpdate, error) { return nil, errProbe },
	})
	if errors.Is(err, errProbe) {
		return true
	}
	return found(tb, "ConsumeSecret probe", err)
}

// found maps nil to true and ErrNotFound to false, and fails on any other
// error.
func found(tb testing.TB, op string, err error) bool {
	tb.Helper()
	switch {
	case err == nil:
		return true
	case errors.Is(err, store.ErrNotFound):
		return false
	default:
		tb.Fatalf("%s: unexpected error %v", op, err)
		return false
	}
}

// wantErr reports an error unless err matches want (nil meaning success).
func wantErr(tb testing.TB, op string, err, want error) bool {
	tb.Helper()
	if want == nil {
		if err != nil {
			tb.Errorf("%s: err = %v, want success", op, err)
			return false
		}
		return true
	}
	if !errors.Is(err, want) {
		tb.Errorf("%s: err = %v, want %v", op, err, want)
		return false
	}
	return true
}

// reuseError returns err as a *store.ReuseError.
func reuseError(err error) (*store.ReuseError, bool) {
	var re *store.ReuseError
	ok := errors.As(err, &re)
	return re, ok
}

// checkEqual reports every field where got differs from want. Times must be
// Equal and in UTC; byte slices are compared by content (nil equals empty).
func checkEqual(tb testing.TB, what string, got, want any) {
	tb.Helper()
	for _, d := range diff(reflect.ValueOf(got), reflect.ValueOf(want), "") {
		tb.Errorf("%s: %s", what, d)
	}
}

var (
	timeType  = reflect.TypeFor[time.Time]()
	bytesType = reflect.TypeFor[[]byte]()
)

func diff(got, want reflect.Value, path string) []string {
	got, gotNil := deref(got)
	want, wantNil := deref(want)
	if gotNil || wantNil {
		if gotNil != wantNil {
			return []string{fmt.Sprintf("%s: got nil = %t, want nil = %t", name(path), gotNil, wantNil)}
		}
		return nil
	}
	switch {
	case got.Type() == timeType:
		g, w := got.Interface().(time.Time), want.Interface().(time.Time)
		var out []string
		if !g.Equal(w) {
			out = append(out, fmt.Sprintf("%s = %v, want %v", name(path), g, w))
		}
		if g.Location() != time.UTC {
			out = append(out, fmt.Sprintf("%s location = %v, want UTC", name(path), g.Location()))
		}
		return out
	case got.Type() == bytesType:
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			return []string{fmt.Sprintf("%s = %x, want %x", name(path), got.Bytes(), want.Bytes())}
		}
		return nil
	case got.Kind() == reflect.Struct:
		var out []string
		for i := range got.NumField() {
			f := got.Type().Field(i)
			out = append(out, diff(got.Field(i), want.Field(i), path+"."+f.Name)...)
		}
		return out
	case got.Kind() == reflect.Slice:
		if got.Len() != want.Len() {
			return []string{fmt.Sprintf("%s: len = %d, want %d", name(path), got.Len(), want.Len())}
		}
		var out []string
		for i := range got.Len() {
			out = append(out, diff(got.Index(i), want.Index(i), fmt.Sprintf("%s[%d]", path, i))...)
		}
		return out
	default:
		if !reflect.DeepEqual(got.Interface(), want.Interface()) {
			return []string{fmt.Sprintf("%s = %#v, want %#v", name(path), got.Interface(), want.Interface())}
		}
		return nil
	}
}

// deref follows a pointer and reports whether it was nil.
func deref(v reflect.Value) (reflect.Value, bool) {
	if v.Kind() != reflect.Pointer {
		return v, false
	}
	if v.IsNil() {
		return v, true
	}
	return v.Elem(), false
}

func name(path string) string {
	if path == "" {
		return "value"
	}
	return path[1:]
}

// concurrently calls f(0) … f(n-1) from n goroutines released together and
// returns their errors by index.
func concurrently(n int, f func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = f(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// tally counts the nil errors and those matching each target; other holds
// the rest.
func tally(errs []error, targets ...error) (ok int, matched []int, other []error) {
	matched = make([]int, len(targets))
next:
	for _, err := range errs {
		if err == nil {
			ok++
			continue
		}
		for i, target := range targets {
			if errors.Is(err, target) {
				matched[i]++
				continue next
			}
		}
		other = append(other, err)
	}
	return ok, matched, other
}
