package audit_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-go/gatehouse/audit"
	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/internal/testhash"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/memstore"
)

// runsOldestFirst returns every run of type runType (all types when
// empty), oldest first.
func runsOldestFirst(t testing.TB, e *env, runType string) []store.Run {
	t.Helper()
	return runsIn(t, e.store, runType)
}

// runsIn is runsOldestFirst on any store.
func runsIn(t testing.TB, rs store.Runs, runType string) []store.Run {
	t.Helper()
	q := store.RunQuery{Limit: 1000}
	if runType != "" {
		q.Types = []string{runType}
	}
	page, err := rs.ListRuns(context.Background(), q)
	if err != nil {
		t.Fatalf("ListRuns: %v", err)
	}
	runs := page.Runs
	slices.Reverse(runs)
	return runs
}

// entries returns a run's entries by key, failing on a repeated key.
func entries(t testing.TB, r store.Run) map[string]store.Entry {
	t.Helper()
	m := make(map[string]store.Entry, len(r.Entries))
	for _, en := range r.Entries {
		if _, dup := m[en.Key]; dup {
			t.Errorf("run %s has key %q twice", r.ID, en.Key)
		}
		m[en.Key] = en
	}
	return m
}

var sessionTagRE = regexp.MustCompile(`^[0-9a-f]{16}$`)

// TestEveryEventBecomesARun walks the whole lifecycle and checks that each
// event the Manager reports is stored as one AUTH run carrying its fields
// (SECURITY.md #62), and that no secret, password hash or raw session ID
// appears in any run (#63).
func TestEveryEventBecomesARun(t *testing.T) {
	e := newEnv(t, requireVerification)
	ctx := auth.ContextWithClient(t.Context(), auth.Client{IP: mustAddr("198.51.100.4"), UserAgent: "ua/1"})
	const pw, pw2, pw3 = "sentinel-password-Q7xZ", "sentinel-password-second-K3", "sentinel-password-third-M9"
	secrets := []string{pw, pw2, pw3}
	var sessions []string
	step := func(f func() error) {
		t.Helper()
		_ = f() // failures are part of the walk
		e.flush(t)
	}
	login := func(email, password string) *auth.LoginResult {
		t.Helper()
		res, err := e.m.Login(ctx, email, password)
		e.flush(t)
		if err != nil {
			t.Fatalf("Login(%s): %v", email, err)
		}
		secrets = append(secrets, res.Tokens.AccessToken, res.Tokens.RefreshToken)
		sessions = append(sessions, res.Session.ID)
		return res
	}

	step(func() error {
		_, err := e.m.Register(ctx, auth.Registration{Email: "ada@example.com", Password: pw})
		return err
	})
	verify := e.lastMailTo(t, "ada@example.com", mail.KindVerifyEmail)
	secrets = append(secrets, tokenIn(t, verify), codeIn(t, verify))
	step(func() error { _, err := e.m.Login(ctx, "ada@example.com", pw+"-wrong"); return err })
	step(func() error { _, err := e.m.Login(ctx, "nobody@example.com", pw); return err })
	step(func() error { _, err := e.m.Login(ctx, "ada@example.com", pw); return err }) // not verified
	step(func() error {
		_, err := e.m.VerifyEmail(ctx, auth.Verification{Email: "ada@example.com", Code: wrongCode(codeIn(t, verify))})
		return err
	})
	step(func() error {
		_, err := e.m.VerifyEmail(ctx, auth.Verification{Email: "ada@example.com", Code: codeIn(t, verify)})
		return err
	})
	res := login("ada@example.com", pw)
	var pair *auth.TokenPair
	step(func() (err error) { pair, err = e.m.Refresh(ctx, res.Tokens.RefreshToken); return err })
	secrets = append(secrets, pair.AccessToken, pair.RefreshToken)
	step(func() error { _, err := e.m.Refresh(ctx, res.Tokens.RefreshToken); return err })
	id := e.identity(t, login("ada@example.com", pw).Tokens.AccessToken)
	step(func() error { return e.m.ChangePassword(ctx, id, pw, pw2) })
	step(func() error { _, err := e.m.UpdateProfile(ctx, id, auth.ProfileUpdate{Name: ptr("Ada")}); return err })
	step(func() error {
		_, err := e.m.UpdateProfile(ctx, id, auth.ProfileUpdate{Email: ptr("ada2@example.com"), CurrentPassword: pw2})
		return err
	})
	change := tokenIn(t, e.lastMailTo(t, "ada2@example.com", mail.KindChangeEmail))
	secrets = append(secrets, change)
	step(func() error { _, err := e.m.VerifyEmail(ctx, auth.Verification{Code: change}); return err })
	step(func() error { return e.m.RequestPasswordReset(ctx, "ada2@example.com") })
	step(func() error { return e.m.RequestPasswordReset(ctx, "nobody@example.com") })
	reset := tokenIn(t, e.lastMailTo(t, "ada2@example.com", mail.KindResetPassword))
	secrets = append(secrets, reset)
	step(func() error { return e.m.ResetPassword(ctx, reset, pw3) })
	id = e.identity(t, login("ada2@example.com", pw3).Tokens.AccessToken)
	step(func() error { _, err := e.m.UsersOverview(ctx, id, auth.UsersQuery{}); return err })
	step(func() error { _, err := e.reader.Logs(ctx, id, audit.LogsQuery{}); return err })
	step(func() error { return e.m.Logout(ctx, id) })

	step(func() error { _, err := e.m.EnsureSuperuser(ctx, "root@example.com", pw); return err })
	admin := e.identity(t, login("root@example.com", pw).Tokens.AccessToken)
	bob := e.register(t, "bob@example.com")
	step(func() error { return e.m.DeleteUser(ctx, admin, bob.ID, "") })
	step(func() error { _, err := e.reader.Logs(ctx, admin, audit.LogsQuery{}); return err })
	step(func() error {
		_, err := e.reader.Analytics(ctx, admin, audit.AnalyticsQuery{Populations: map[string]audit.Population{"o": {Key: "outcome"}}})
		return err
	})
	id = e.identity(t, login("ada2@example.com", pw3).Tokens.AccessToken)
	step(func() error { _, err := e.m.LogoutEverywhere(ctx, id); return err })
	id = e.identity(t, login("ada2@example.com", pw3).Tokens.AccessToken)
	ada, err := e.store.UserByID(t.Context(), id.User.ID)
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, ada.PasswordHash)
	step(func() error { return e.m.DeleteUser(ctx, id, "", pw3) })

	events := e.events.all()
	runs := runsOldestFirst(t, e, audit.RunTypeAuth)
	if len(runs) != len(events) {
		t.Fatalf("%d AUTH runs for %d events", len(runs), len(events))
	}
	types := map[auth.EventType]bool{}
	for i, ev := range events {
		r, en := runs[i], entries(t, runs[i])
		types[ev.Type] = true
		what := fmt.Sprintf("run %d (%s %s)", i, ev.Type, ev.Outcome)
		if r.UserID != ev.UserID || !r.Time.Equal(ev.Time) || r.Time.Location() != time.UTC {
			t.Errorf("%s: user %q time %v; want %q %v in UTC", what, r.UserID, r.Time, ev.UserID, ev.Time)
		}
		want := map[string]string{
			"event": string(ev.Type), "outcome": string(ev.Outcome), "reason": ev.Reason,
			"actor_id": ev.ActorID, "ip": "", "user_agent": ev.Client.UserAgent,
		}
		if ev.Client.IP.IsValid() {
			want["ip"] = ev.Client.IP.String()
		}
		if ev.Client.UserAgent == "" && r.UserID != bob.ID {
			t.Errorf("%s: no client; only bob's registration is made without one", what)
		}
		for k, v := range want {
			if en[k].Value != v {
				t.Errorf("%s: %s = %q, want %q", what, k, en[k].Value, v)
			}
		}
		tag, hasTag := en["session"]
		if hasTag != (ev.SessionID != "") || (hasTag && !sessionTagRE.MatchString(tag.Value)) {
			t.Errorf("%s: session entry %q for session %q", what, tag.Value, ev.SessionID)
		}
		lat, hasLatency := en["login_latency"]
		if hasLatency != (ev.Type == auth.EventLogin) || (hasLatency && !lat.Numeric) {
			t.Errorf("%s: login_latency %+v", what, lat)
		}
	}
	for _, want := range []auth.EventType{
		auth.EventRegister, auth.EventVerificationSent, auth.EventVerifyEmail, auth.EventLogin, auth.EventRefresh,
		auth.EventRefreshReuse, auth.EventPasswordChange, auth.EventProfileUpdate, auth.EventEmailChangeRequested,
		auth.EventEmailChanged, auth.EventResetRequested, auth.EventResetCompleted, auth.EventForbidden,
		auth.EventLogout, auth.EventLogoutEverywhere, auth.EventDeleteUser, auth.EventEnsureSuperuser,
		audit.EventLogs, audit.EventAnalytics,
	} {
		if !types[want] {
			t.Errorf("the walk recorded no %s run", want)
		}
	}
	// The superuser's deletion of bob names both.
	for i, r := range runs {
		if en := entries(t, r); en["event"].Value == string(auth.EventDeleteUser) && r.UserID == bob.ID {
			if en["actor_id"].Value != admin.User.ID {
				t.Errorf("run %d: actor_id %q, want the superuser %s", i, en["actor_id"].Value, admin.User.ID)
			}
		}
	}

	// SECURITY.md #63: no secret, hash or session ID in any run.
	dump, err := json.Marshal(runsOldestFirst(t, e, ""))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range append(secrets, sessions...) {
		if s == "" {
			t.Fatal("empty secret collected")
		}
		if strings.Contains(string(dump), s) {
			t.Errorf("%q appears in a run", s)
		}
	}
}

// TestSessionTagCorrelates: the runs of one session carry the same tag,
// different sessions different tags, and never the session ID.
func TestSessionTagCorrelates(t *testing.T) {
	e := newEnv(t)
	e.register(t, "ada@example.com")
	first, second := e.login(t, "ada@example.com"), e.login(t, "ada@example.com")
	if err := e.m.Logout(t.Context(), e.identity(t, first.Tokens.AccessToken)); err != nil {
		t.Fatal(err)
	}
	tags := map[string][]string{} // event → session tags in order
	for _, r := range runsOldestFirst(t, e, audit.RunTypeAuth) {
		en := entries(t, r)
		if s, ok := en["session"]; ok {
			tags[en["event"].Value] = append(tags[en["event"].Value], s.Value)
		}
	}
	logins, logout := tags["login"], tags["logout"]
	if len(logins) != 2 || len(logout) != 1 {
		t.Fatalf("session tags: %v", tags)
	}
	if logins[0] != logout[0] || logins[0] == logins[1] {
		t.Errorf("login tags %v, logout tag %v: want the first login's tag on the logout only", logins, logout)
	}
	for _, s := range []string{first.Session.ID, second.Session.ID} {
		if slices.Contains(append(logins, logout...), s) {
			t.Errorf("a raw session ID is stored")
		}
	}
}

// clockHasher advances the fake clock on every comparison, so that a login
// takes a known time.
type clockHasher struct {
	testhash.Fast
	clock *clock
	takes time.Duration
}

func (h clockHasher) Compare(hash, pw string) error {
	h.clock.Advance(h.takes)
	return h.Fast.Compare(hash, pw)
}

// TestLoginLatencyIsRecorded: every login run, successful or not, has
// login_latency in seconds as a number.
func TestLoginLatencyIsRecorded(t *testing.T) {
	clk := newClock()
	e2 := newEnv(t, func(c *auth.Config) {
		c.Password.Hasher = clockHasher{clock: clk, takes: 250 * time.Millisecond}
		c.Now = clk.Now
	})
	e2.register(t, "ada@example.com")
	e2.login(t, "ada@example.com")
	e2.m.Login(t.Context(), "ada@example.com", "wrong password here")
	e2.m.Login(t.Context(), "nobody@example.com", goodPassword)
	var n int
	for _, r := range runsOldestFirst(t, e2, audit.RunTypeAuth) {
		en := entries(t, r)
		if en["event"].Value != "login" {
			continue
		}
		n++
		lat := en["login_latency"]
		if !lat.Numeric || lat.Number != 0.25 || lat.Value != "0.25" {
			t.Errorf("login (%s, %s): login_latency = %+v, want 0.25", en["outcome"].Value, en["reason"].Value, lat)
		}
	}
	if n != 3 {
		t.Errorf("%d login runs, want 3", n)
	}
}

// TestRunsResistInjection: a newline in a client-supplied value stays
// inside one entry of one run (SECURITY.md #64).
func TestRunsResistInjection(t *testing.T) {
	e := newEnv(t)
	const ua = "agent/1\nevent=login outcome=success\r\n"
	ctx := auth.ContextWithClient(t.Context(), auth.Client{UserAgent: ua})
	before := len(runsOldestFirst(t, e, ""))
	e.m.Login(ctx, "a@b.c\nmsg=login_success", goodPassword)
	runs := runsOldestFirst(t, e, "")
	if len(runs) != before+1 {
		t.Fatalf("%d runs recorded, want 1", len(runs)-before)
	}
	en := entries(t, runs[len(runs)-1])
	if en["user_agent"].Value != ua || en["event"].Value != "login" || en["outcome"].Value != "failure" {
		t.Errorf("entries = %+v", en)
	}
	if _, err := e.rec.RecordRun(ctx, "APP", audit.Entry("query", "x\ny=1")); err != nil {
		t.Fatal(err)
	}
	runs = runsOldestFirst(t, e, "APP")
	if len(runs) != 1 || len(runs[0].Entries) != 1 || runs[0].Entries[0].Value != "x\ny=1" {
		t.Errorf("APP runs = %+v", runs)
	}
}

// failingRuns is a memstore whose AppendRun and AppendRuns fail.
type failingRuns struct{ *memstore.Store }

func (failingRuns) AppendRun(context.Context, *store.Run) error { return errors.New("disk full") }

func (failingRuns) AppendRuns(context.Context, []*store.Run) error { return errors.New("disk full") }

// TestRecordingFailureDoesNotFailOperations: a store that cannot record
// leaves logins working; the failure is logged.
func TestRecordingFailureDoesNotFailOperations(t *testing.T) {
	e := newEnv(t, func(c *audit.Config) { c.Runs = failingRuns{memstore.New()} })
	e.register(t, "ada@example.com")
	e.login(t, "ada@example.com")
	if !strings.Contains(e.logs.String(), "recording an event failed") {
		t.Errorf("the failure was not logged")
	}
	_, err := e.rec.RecordRun(t.Context(), "APP", audit.Entry("k", 1))
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("RecordRun = %v, want the store's error", err)
	}
}

// TestRecordEventDurably: the Recorder is an auth.DurableSink that reports
// the store's error of a failed recording (for the Manager's Sync of
// deferred commits) and nil once the run is stored, and names its store.
func TestRecordEventDurably(t *testing.T) {
	ctx := t.Context()
	ev := auth.Event{Type: auth.EventLogin, Outcome: auth.OutcomeSuccess, UserID: "u1"}
	failing := failingRuns{memstore.New()}
	rec, err := audit.New(audit.Config{Runs: failing})
	if err != nil {
		t.Fatal(err)
	}
	var sink auth.DurableSink = rec
	if err := sink.RecordEventDurably(ctx, ev); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("RecordEventDurably over a failing store = %v, want its error", err)
	}
	if sink.EventStore() != store.Runs(failing) {
		t.Errorf("EventStore = %v, want Config.Runs", sink.EventStore())
	}
	ms := memstore.New()
	if rec, err = audit.New(audit.Config{Runs: ms}); err != nil {
		t.Fatal(err)
	}
	if err := rec.RecordEventDurably(ctx, ev); err != nil {
		t.Fatalf("RecordEventDurably = %v", err)
	}
	page, err := ms.ListRuns(ctx, store.RunQuery{Limit: 10})
	if err != nil || len(page.Runs) != 1 || page.Runs[0].UserID != "u1" {
		t.Errorf("after RecordEventDurably returned nil: runs %+v, %v", page, err)
	}
}

// TestRunIDsGrow: run IDs are UUIDs of version 7, increasing in append
// order, so that a store's unique index on them grows at its end.
func TestRunIDsGrow(t *testing.T) {
	ctx := t.Context()
	ms := memstore.New()
	rec, err := audit.New(audit.Config{Runs: ms})
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		if err := rec.RecordEventDurably(ctx, auth.Event{Type: auth.EventLogin, Outcome: auth.OutcomeSuccess}); err != nil {
			t.Fatal(err)
		}
	}
	page, err := ms.ListRuns(ctx, store.RunQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var prev string
	for i := len(page.Runs) - 1; i >= 0; i-- { // oldest first
		id := page.Runs[i].ID
		u, err := uuid.Parse(id)
		if err != nil || u.Version() != 7 {
			t.Fatalf("run ID %q: version %v, %v; want a UUID of version 7", id, u.Version(), err)
		}
		if id <= prev {
			t.Errorf("run ID %q appended after %q does not sort after it", id, prev)
		}
		prev = id
	}
}

// plainStore hides memstore's optional interfaces.
type plainStore struct{ store.Store }

// TestConfig: New needs a store.Runs and a sane retention; auth.New needs
// neither the audit log nor a store that implements store.Runs.
func TestConfig(t *testing.T) {
	ms := memstore.New()
	cases := []struct {
		name  string
		cfg   audit.Config
		field string // "" when New must succeed
	}{
		{"NoRuns", audit.Config{}, "audit.Config.Runs"},
		{"RetentionTooShort", audit.Config{Runs: ms, Retention: 30 * time.Minute}, "audit.Config.Retention"},
		{"RetentionForever", audit.Config{Runs: ms, Retention: -1}, ""},
		{"RetentionHour", audit.Config{Runs: ms, Retention: time.Hour}, ""},
		{"MaxBatchNegative", audit.Config{Runs: ms, MaxBatch: -1}, "audit.Config.MaxBatch"},
		{"MaxBatchTooLarge", audit.Config{Runs: ms, MaxBatch: 4097}, "audit.Config.MaxBatch"},
		{"MaxBatchOne", audit.Config{Runs: ms, MaxBatch: 1}, ""},
		{"MaxBatchLargest", audit.Config{Runs: ms, MaxBatch: 4096}, ""},
		{"MaxWaitTooLong", audit.Config{Runs: ms, MaxWait: 101 * time.Millisecond}, "audit.Config.MaxWait"},
		{"MaxWaitNever", audit.Config{Runs: ms, MaxWait: -1}, ""},
		{"MaxWaitLongest", audit.Config{Runs: ms, MaxWait: 100 * time.Millisecond}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := audit.New(tc.cfg)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			var ve *auth.ValidationError
			if !errors.As(err, &ve) || ve.Field != tc.field {
				t.Fatalf("New = %v, want a ValidationError for %s", err, tc.field)
			}
		})
	}
	t.Run("ManagerWithoutAuditLog", func(t *testing.T) {
		m, err := auth.New(auth.Config{
			Store:    plainStore{ms},
			Limits:   auth.Limits{Store: ms},
			Mailer:   mail.Discard{},
			Tokens:   auth.TokenConfig{SigningKey: testKey},
			Password: auth.PasswordConfig{Hasher: testhash.Fast{}},
		})
		if err != nil {
			t.Fatalf("auth.New without runs: %v", err)
		}
		if _, err := m.Register(t.Context(), auth.Registration{Email: "ada@example.com", Password: goodPassword}); err != nil {
			t.Fatal(err)
		}
		if n := len(runsIn(t, ms, "")); n != 0 {
			t.Errorf("%d runs stored without an audit log", n)
		}
	})
	t.Run("NewReader", func(t *testing.T) {
		if _, err := audit.NewReader(nil, ms); err == nil {
			t.Error("NewReader(nil, runs) succeeded")
		}
		m, err := auth.New(auth.Config{Store: ms, Mailer: mail.Discard{}, Tokens: auth.TokenConfig{SigningKey: testKey}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := audit.NewReader(m, nil); err == nil {
			t.Error("NewReader(m, nil) succeeded")
		}
	})
}

type stringer struct{}

func (stringer) String() string { return "stringer" }

func TestRecordRun(t *testing.T) {
	zone := time.FixedZone("X", 3600)
	values := []struct {
		name    string
		value   any
		text    string
		number  float64
		numeric bool
	}{
		{"String", "hello", "hello", 0, false},
		{"NumericString", " 1.5 ", " 1.5 ", 1.5, true},
		{"ExponentString", "2e3", "2e3", 2000, true},
		{"NaNString", "NaN", "NaN", 0, false},
		{"InfinityString", "Infinity", "Infinity", 0, false},
		{"EmptyString", "", "", 0, false},
		{"Int", 3, "3", 3, true},
		{"Int64", int64(-7), "-7", -7, true},
		{"Uint8", uint8(200), "200", 200, true},
		{"Float64", 0.125, "0.125", 0.125, true},
		{"Float32", float32(0.25), "0.25", 0.25, true},
		{"LargeFloat", 1e21, "1e+21", 1e21, true},
		{"Duration", 1500 * time.Millisecond, "1.5", 1.5, true},
		{"JSONNumber", json.Number("2.5"), "2.5", 2.5, true},
		{"Bool", true, "true", 0, false},
		{"Nil", nil, "null", 0, false},
		{"Map", map[string]int{"a": 1}, `{"a":1}`, 0, false},
		{"Slice", []int{1, 2}, "[1,2]", 0, false},
		{"Time", time.Date(2026, 1, 2, 4, 4, 5, 600, zone), "2026-01-02T03:04:05.0000006Z", 0, false},
		{"Struct", struct{ A string }{"x"}, `{"A":"x"}`, 0, false},
		{"Stringer", stringer{}, "{}", 0, false},
		{"InvalidUTF8", "a\xffb", "a\uFFFDb", 0, false},
	}
	for _, tc := range values {
		t.Run("Value/"+tc.name, func(t *testing.T) {
			e := newEnv(t)
			if _, err := e.rec.RecordRun(t.Context(), "APP", audit.Entry("k", tc.value)); err != nil {
				t.Fatalf("RecordRun: %v", err)
			}
			runs := runsOldestFirst(t, e, "APP")
			if len(runs) != 1 || len(runs[0].Entries) != 1 {
				t.Fatalf("runs = %+v", runs)
			}
			got := runs[0].Entries[0]
			if got.Value != tc.text || got.Numeric != tc.numeric || got.Number != tc.number {
				t.Errorf("entry = %q numeric %v %v; want %q numeric %v %v", got.Value, got.Numeric, got.Number, tc.text, tc.numeric, tc.number)
			}
		})
	}

	long := strings.Repeat("x", audit.MaxRunValueBytes+1)
	many := make([]audit.RunEntry, audit.MaxRunEntries+1)
	for i := range many {
		many[i] = audit.Entry(fmt.Sprint("k", i), i)
	}
	refusals := []struct {
		name    string
		runType string
		entries []audit.RunEntry
		field   string
	}{
		{"EmptyType", "", nil, "runType"},
		{"LongType", strings.Repeat("T", audit.MaxRunTypeBytes+1), nil, "runType"},
		{"ControlInType", "A\nB", nil, "runType"},
		{"AuthType", audit.RunTypeAuth, nil, "runType"},
		{"EmptyKey", "APP", []audit.RunEntry{audit.Entry("", 1)}, "entries.key"},
		{"ControlInKey", "APP", []audit.RunEntry{audit.Entry("a\tb", 1)}, "entries.key"},
		{"LongKey", "APP", []audit.RunEntry{audit.Entry(strings.Repeat("k", audit.MaxRunKeyBytes+1), 1)}, "entries.key"},
		{"NaN", "APP", []audit.RunEntry{audit.Entry("k", math.NaN())}, "entries.k"},
		{"Inf", "APP", []audit.RunEntry{audit.Entry("k", math.Inf(-1))}, "entries.k"},
		{"Unrenderable", "APP", []audit.RunEntry{audit.Entry("k", func() {})}, "entries.k"},
		{"LongValue", "APP", []audit.RunEntry{audit.Entry("k", long)}, "entries.k"},
		{"TooMany", "APP", many, "entries"},
	}
	for _, tc := range refusals {
		t.Run("Refused/"+tc.name, func(t *testing.T) {
			e := newEnv(t)
			_, err := e.rec.RecordRun(t.Context(), tc.runType, tc.entries...)
			var ve *auth.ValidationError
			if !errors.As(err, &ve) || ve.Field != tc.field {
				t.Fatalf("RecordRun = %v, want a ValidationError for %s", err, tc.field)
			}
			if n := len(runsOldestFirst(t, e, "")); n != 0 {
				t.Errorf("%d runs stored", n)
			}
		})
	}

	t.Run("RunFields", func(t *testing.T) {
		e := newEnv(t)
		u := e.register(t, "ada@example.com")
		ctx, cancel := context.WithCancel(auth.ContextWithUser(t.Context(), u))
		cancel() // a cancelled request still gets its run recorded
		id, err := e.rec.RecordRun(ctx, "RETRIEVAL", audit.Entry("search_latency", 0.5), audit.Entry("query", "q"))
		if err != nil {
			t.Fatalf("RecordRun: %v", err)
		}
		runs := runsOldestFirst(t, e, "RETRIEVAL")
		if len(runs) != 1 {
			t.Fatalf("%d runs", len(runs))
		}
		r, now := runs[0], e.clock.Now()
		if r.ID != id || r.UserID != u.ID || !r.Time.Equal(now) || len(r.Entries) != 2 ||
			r.Entries[0].Key != "search_latency" || r.Entries[1].Key != "query" || !r.Entries[1].Time.Equal(now) {
			t.Errorf("run = %+v; want ID %s, user %s, time %v, entries in order", r, id, u.ID, now)
		}
		anon, err := e.rec.RecordRun(t.Context(), "RETRIEVAL")
		if err != nil {
			t.Fatal(err)
		}
		if r := runsOldestFirst(t, e, "RETRIEVAL")[1]; r.ID != anon || r.UserID != "" || len(r.Entries) != 0 {
			t.Errorf("anonymous run = %+v", r)
		}
	})
}

func TestLogs(t *testing.T) {
	e := newEnv(t)
	admin, _ := e.superuser(t, "root@example.com")
	ada := e.register(t, "ada@example.com")
	adaID := e.identity(t, e.login(t, "ada@example.com").Tokens.AccessToken)
	for i := range 5 {
		e.clock.Advance(time.Second)
		if _, err := e.rec.RecordRun(auth.ContextWithUser(t.Context(), ada), "RETRIEVAL", audit.Entry("n", i), audit.Entry("m", -i)); err != nil {
			t.Fatal(err)
		}
	}
	// snapshot returns every run newest first, those of RETRIEVAL and
	// those about ada. Each Logs call records a run of its own after
	// reading, so expectations are taken just before each call.
	snapshot := func() (all, retrieval, adas []store.Run) {
		all = runsOldestFirst(t, e, "")
		slices.Reverse(all)
		retrieval = slices.DeleteFunc(slices.Clone(all), func(r store.Run) bool { return r.Type != "RETRIEVAL" })
		adas = slices.DeleteFunc(slices.Clone(all), func(r store.Run) bool { return r.UserID != ada.ID })
		return all, retrieval, adas
	}
	_, retrieval, _ := snapshot()
	cases := []struct {
		name string
		q    audit.LogsQuery
		want func(all, retrieval, adas []store.Run) ([]store.Run, int)
	}{
		{"Default", audit.LogsQuery{}, func(all, _, _ []store.Run) ([]store.Run, int) { return all, len(all) }},
		{"Limit", audit.LogsQuery{Limit: 2}, func(all, _, _ []store.Run) ([]store.Run, int) { return all[:2], len(all) }},
		{"Offset", audit.LogsQuery{Offset: 1, Limit: 2}, func(all, _, _ []store.Run) ([]store.Run, int) { return all[1:3], len(all) }},
		{"RunType", audit.LogsQuery{RunTypes: []string{"RETRIEVAL"}, Offset: 1, Limit: 3}, func(_, r, _ []store.Run) ([]store.Run, int) { return r[1:4], 5 }},
		{"User", audit.LogsQuery{UserID: ada.ID}, func(_, _, a []store.Run) ([]store.Run, int) { return a, len(a) }},
		{"Window", audit.LogsQuery{RunTypes: []string{"RETRIEVAL"}, Since: retrieval[3].Time, Until: retrieval[1].Time},
			func(_, r, _ []store.Run) ([]store.Run, int) { return r[2:4], 2 }},
		{"Before", audit.LogsQuery{Before: retrieval[2].ID, RunTypes: []string{"RETRIEVAL"}}, func(_, r, _ []store.Run) ([]store.Run, int) { return r[3:], 5 }},
		{"Clamped", audit.LogsQuery{Limit: 1_000_000}, func(all, _, _ []store.Run) ([]store.Run, int) { return all, len(all) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want, total := tc.want(snapshot())
			page, err := e.reader.Logs(t.Context(), admin, tc.q)
			if err != nil {
				t.Fatalf("Logs: %v", err)
			}
			if got, w := ids(page.Runs), ids(want); !slices.Equal(got, w) || page.Total != total {
				t.Errorf("runs %v of %d, want %v of %d", got, page.Total, w, total)
			}
			for _, r := range page.Runs {
				if r.Type == "RETRIEVAL" && (len(r.Entries) != 2 || r.Entries[0].Key != "n") {
					t.Errorf("entries not in order: %+v", r.Entries)
				}
			}
		})
	}

	t.Run("Refusals", func(t *testing.T) {
		_, err := e.reader.Logs(t.Context(), nil, audit.LogsQuery{})
		wantErr(t, "Logs(nil)", err, auth.ErrUnauthenticated)
		e.events.reset()
		_, err = e.reader.Logs(t.Context(), adaID, audit.LogsQuery{})
		wantErr(t, "Logs(user)", err, auth.ErrForbidden)
		if len(e.events.ofType(auth.EventForbidden)) != 1 {
			t.Errorf("the refusal was not reported")
		}
		_, err = e.reader.Logs(t.Context(), admin, audit.LogsQuery{Offset: -1})
		var ve *auth.ValidationError
		if !errors.As(err, &ve) || ve.Field != "offset" {
			t.Errorf("Logs(offset -1) = %v", err)
		}
		_, err = e.reader.Logs(t.Context(), admin, audit.LogsQuery{Before: "no-such-run"})
		wantErr(t, "Logs(unknown cursor)", err, auth.ErrNotFound)
	})
}

func ids(runs []store.Run) []string {
	out := make([]string, len(runs))
	for i, r := range runs {
		out[i] = r.ID
	}
	return out
}

func TestUserActivity(t *testing.T) {
	e := newEnv(t, requireVerification)
	admin, _ := e.superuser(t, "root@example.com")
	ada, bob, cy := e.register(t, "ada@example.com"), e.register(t, "bob@example.com"), e.register(t, "cy@example.com")
	fail := func(email string) {
		t.Helper()
		if _, err := e.m.Login(t.Context(), email, "not the password"); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Fatalf("Login(%s) = %v", email, err)
		}
	}
	fail("ada@example.com") // outside the window below
	e.clock.Advance(2 * time.Hour)
	since := e.clock.Now()
	fail("ada@example.com")
	fail("ada@example.com")
	fail("bob@example.com")
	e.m.Login(t.Context(), "cy@example.com", goodPassword) // right password, unverified: a failure too
	fail("nobody@example.com")
	e.m.Refresh(t.Context(), strings.Repeat("A", 43)) // a failure, but not a login

	got, err := e.reader.UserActivity(t.Context(), admin, audit.ActivityQuery{UserIDs: []string{ada.ID, bob.ID, cy.ID, admin.User.ID, "unknown"}, Since: since})
	if err != nil {
		t.Fatalf("UserActivity: %v", err)
	}
	want := map[string]audit.Activity{ada.ID: {FailedLogins: 2}, bob.ID: {FailedLogins: 1}, cy.ID: {FailedLogins: 1}, admin.User.ID: {}, "unknown": {}}
	if !mapsEqual(got, want) {
		t.Errorf("activity = %v, want %v", got, want)
	}
	// The default window is the last 24 hours: all three of ada's.
	got, err = e.reader.UserActivity(t.Context(), admin, audit.ActivityQuery{UserIDs: []string{ada.ID}})
	if err != nil || got[ada.ID].FailedLogins != 3 {
		t.Errorf("default window: %v, %v; want 3 failed logins", got, err)
	}
	_, err = e.reader.UserActivity(t.Context(), &auth.Identity{User: bob}, audit.ActivityQuery{UserIDs: []string{ada.ID}})
	wantErr(t, "UserActivity(non-superuser)", err, auth.ErrForbidden)
	_, err = e.reader.UserActivity(t.Context(), admin, audit.ActivityQuery{UserIDs: make([]string, auth.MaxPageSize+1)})
	var ve *auth.ValidationError
	if !errors.As(err, &ve) {
		t.Errorf("UserActivity(too many) = %v, want a ValidationError", err)
	}
}

func mapsEqual[K comparable, V comparable](a, b map[K]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestPurgeRuns(t *testing.T) {
	record := func(t *testing.T, e *env, n int) {
		t.Helper()
		for range n {
			if _, err := e.rec.RecordRun(t.Context(), "APP"); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Run("DefaultRetention", func(t *testing.T) {
		e := newEnv(t)
		record(t, e, 3)
		e.clock.Advance(audit.DefaultRetention)
		record(t, e, 1)
		if n, err := e.rec.Purge(t.Context()); n != 0 || err != nil {
			t.Fatalf("PurgeRuns at exactly the retention = %d, %v; want 0", n, err)
		}
		e.clock.Advance(time.Microsecond)
		if n, err := e.rec.Purge(t.Context()); n != 3 || err != nil {
			t.Fatalf("PurgeRuns = %d, %v; want 3", n, err)
		}
		if left := runsOldestFirst(t, e, ""); len(left) != 1 {
			t.Errorf("%d runs left, want 1", len(left))
		}
	})
	t.Run("CustomRetention", func(t *testing.T) {
		e := newEnv(t, func(c *audit.Config) { c.Retention = 2 * time.Hour })
		record(t, e, 2)
		e.clock.Advance(3 * time.Hour)
		if n, err := e.rec.Purge(t.Context()); n != 2 || err != nil {
			t.Fatalf("PurgeRuns = %d, %v; want 2", n, err)
		}
	})
	t.Run("Forever", func(t *testing.T) {
		e := newEnv(t, func(c *audit.Config) { c.Retention = -1 })
		record(t, e, 2)
		e.clock.Advance(10 * 365 * 24 * time.Hour)
		if n, err := e.rec.Purge(t.Context()); n != 0 || err != nil {
			t.Fatalf("PurgeRuns = %d, %v; want 0", n, err)
		}
	})
}

// slowRuns is a store.Runs whose reads take time on a fake clock.
type slowRuns struct {
	store.Runs
	clock *clock
	takes time.Duration
}

func (s slowRuns) ListRuns(ctx context.Context, q store.RunQuery) (*store.RunPage, error) {
	s.clock.Advance(s.takes)
	return s.Runs.ListRuns(ctx, q)
}

func (s slowRuns) AggregateEntries(ctx context.Context, a store.Aggregation) (*store.Aggregate, error) {
	s.clock.Advance(s.takes)
	return s.Runs.AggregateEntries(ctx, a)
}

// TestReadsReportTheirLatency: the logs and analytics events of a
// superuser's read carry the time the read took (it used to be 0), in the
// event and in the log line.
func TestReadsReportTheirLatency(t *testing.T) {
	e := newEnv(t)
	admin, _ := e.superuser(t, "root@example.com")
	reader, err := audit.NewReader(e.m, slowRuns{Runs: e.store, clock: e.clock, takes: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	e.events.reset()
	if _, err := reader.Logs(t.Context(), admin, audit.LogsQuery{}); err != nil {
		t.Fatal(err)
	}
	// Two populations: two aggregations of 300 ms each.
	if _, err := reader.Analytics(t.Context(), admin, audit.AnalyticsQuery{Populations: map[string]audit.Population{
		"a": {Key: "event"}, "b": {Key: "outcome"},
	}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		typ  auth.EventType
		want time.Duration
	}{{audit.EventLogs, 300 * time.Millisecond}, {audit.EventAnalytics, 600 * time.Millisecond}} {
		evs := e.events.ofType(tc.typ)
		if len(evs) != 1 || evs[0].Latency != tc.want {
			t.Errorf("%s events %+v, want one with Latency %v", tc.typ, evs, tc.want)
		}
		line := fmt.Sprintf(`"event":%q,"outcome":"success","user_id":%q,"session":`, tc.typ, admin.User.ID)
		found := false
		for _, l := range strings.Split(e.logs.String(), "\n") {
			if strings.Contains(l, line) {
				found = true
				if !strings.Contains(l, fmt.Sprintf(`"latency":%d}`, tc.want.Nanoseconds())) {
					t.Errorf("log line without latency %v: %s", tc.want, l)
				}
			}
		}
		if !found {
			t.Errorf("no log line for %s in\n%s", tc.typ, e.logs)
		}
	}
}
