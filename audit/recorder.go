package audit

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/store"
)

// RunTypeAuth is the type of the runs a Recorder stores for the events it
// receives (the Manager's, and the Reader's own). Applications cannot record runs of this type.
const RunTypeAuth = "AUTH"

// Limits on what [Recorder.RecordRun] accepts.
const (
	MaxRunTypeBytes   = 64
	MaxRunKeyBytes    = 128
	MaxRunValueBytes  = 4096
	MaxRunEntries     = 256
	DefaultRetention  = 90 * 24 * time.Hour
	defaultActivityBy = 24 * time.Hour
)

// The events the [Recorder] reports about its own reads, beside the
// Manager's (see auth.EventType).
const (
	EventLogs      auth.EventType = "logs"
	EventAnalytics auth.EventType = "analytics"
)

// Config configures a [Recorder]. The zero value of every optional field
// means its documented default.
type Config struct {
	// Runs stores the log. Required; memstore and sqlstore implement
	// store.Runs, so an application usually passes its Store.
	Runs store.Runs

	// Retention is how old a run gets before [Recorder.Purge] deletes it.
	// Default 90 days; at least 1 hour; negative keeps runs forever.
	Retention time.Duration

	// Now is the clock. Default time.Now. Give the Manager's, so that
	// events and runs agree.
	Now func() time.Time

	// Rand is the source of run IDs. Default crypto/rand.Reader.
	Rand io.Reader

	// Logger receives recording failures and the reads' events. Default:
	// discard.
	Logger *slog.Logger

	// MaxBatch is the most runs that concurrent recordings commit
	// together, in one store transaction, when Runs implements
	// store.RunBatch (group commit; see [Recorder]). Default
	// [DefaultMaxBatch] (256); 1 turns group commit off, so that every
	// run is appended on its own; at most 4096.
	MaxBatch int

	// MaxWait is the longest the first recording of a batch waits for
	// others to join it before the batch is written, when the previous
	// batch had more than one run (under concurrency, that is; a lone
	// recording never waits). It waits only while others keep joining:
	// it yields to them, and writes the batch as soon as a yield brought
	// no new recording, or the batch is full. Default
	// [DefaultMaxWait] (1 ms); negative means never wait (batches then hold
	// the recordings that arrived while the previous batch was being
	// written); at most 100 ms.
	MaxWait time.Duration
}

// Recorder is the audit log: it stores every event of an auth.Manager it is
// wired to (auth.Config.Audit) as a run of type [RunTypeAuth], records the
// application's own runs ([Recorder.RecordRun], [Recorder.RecordLatency]),
// and answers superusers' reads ([Reader.Logs], [Reader.Analytics],
// [Reader.UserActivity]). It is the one place where audit writes happen.
// A Recorder is safe for concurrent use and starts no goroutine.
//
// Every recording returns only once its run is stored, as durably as the
// store makes a run, or has failed: an acknowledged recording is never
// lost, not even by a crash right after. When the store implements
// store.RunBatch, concurrent recordings commit together (group commit):
// the first caller to find no batch under way leads one, waits up to
// Config.MaxWait for others to join (only under concurrency), and writes
// up to Config.MaxBatch runs in one store call, its own first, while the
// others wait for their outcome; then it passes the lead to the first
// caller still waiting. No goroutine does this on the callers' behalf. A
// batch that fails fails every recording in it, each with the store's
// error, and no other. Recordings are stored in the order they were
// made, and a caller's ctx ending does not cut its wait short: it always
// learns its run's outcome, after at most MaxWait and the time the store
// takes to write one batch (and the batches queued before it). Before
// shutting down, call [Recorder.Close], or [Recorder.Flush].
type Recorder struct {
	cfg  Config
	runs store.Runs
	log  *slog.Logger
	c    *committer
}

var (
	_ auth.EventSink   = (*Recorder)(nil)
	_ auth.Purger      = (*Recorder)(nil) // auth's Manager.Housekeep purges it
	_ auth.Flusher     = (*Recorder)(nil) // auth's Manager.Flush waits for it
	_ auth.DurableSink = (*Recorder)(nil) // lets the Manager defer commits (store.CommitDeferral)
)

// New checks cfg and returns a Recorder. It does no I/O.
func New(cfg Config) (*Recorder, error) {
	if cfg.Runs == nil {
		return nil, &auth.ValidationError{Field: "audit.Config.Runs", Reason: "is required"}
	}
	if cfg.Retention == 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.Retention > 0 && cfg.Retention < time.Hour {
		return nil, &auth.ValidationError{Field: "audit.Config.Retention", Reason: "must be at least 1h0m0s, or negative to keep runs forever"}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case cfg.MaxBatch == 0:
		cfg.MaxBatch = DefaultMaxBatch
	case cfg.MaxBatch < 0 || cfg.MaxBatch > maxMaxBatch:
		return nil, &auth.ValidationError{Field: "audit.Config.MaxBatch", Reason: fmt.Sprintf("must be between 1 and %d, or 0 for the default", maxMaxBatch)}
	}
	switch {
	case cfg.MaxWait == 0:
		cfg.MaxWait = DefaultMaxWait
	case cfg.MaxWait > maxMaxWait:
		return nil, &auth.ValidationError{Field: "audit.Config.MaxWait", Reason: fmt.Sprintf("must be at most %s", maxMaxWait)}
	}
	return &Recorder{cfg: cfg, runs: cfg.Runs, log: cfg.Logger, c: newCommitter(cfg.Runs, cfg.MaxBatch, cfg.MaxWait)}, nil
}

// Flush waits until every recording begun before it has its outcome
// (stored, or failed and reported to its caller or logged), or until ctx
// is done, and then returns ctx's error. Recordings may go on meanwhile;
// those begun after Flush are not waited for.
func (r *Recorder) Flush(ctx context.Context) error {
	return r.c.flush(ctx, false)
}

// Close refuses every recording from now on ([Recorder.RecordRun] returns
// [ErrClosed]; RecordEvent and RecordLatency log it) and waits, as [Recorder.Flush]
// does, for those already begun. Reads and [Recorder.Purge] still work.
// Closing twice is not an error.
func (r *Recorder) Close(ctx context.Context) error {
	return r.c.flush(ctx, true)
}

// now is the clock in UTC, truncated to the microsecond like the Manager's,
// so that every time stored round-trips exactly through any store.
func (r *Recorder) now() time.Time {
	return r.cfg.Now().UTC().Truncate(time.Microsecond)
}

// Now reads the Recorder's clock (Config.Now).
func (r *Recorder) Now() time.Time { return r.cfg.Now() }

// newID returns a new run ID: a UUID of version 7, whose first bits are
// the time, so that the unique index on run IDs grows at its end, as the
// log does, instead of taking each new ID on a random page (one more page
// to write per run in a large log).
func (r *Recorder) newID() (string, error) {
	id, err := uuid.NewV7FromReader(r.cfg.Rand)
	if err != nil {
		return "", fmt.Errorf("audit: reading randomness: %w", err)
	}
	return id.String(), nil
}

// RecordEvent stores e as a run of type [RunTypeAuth] (SECURITY.md #62),
// synchronously. Its entries are event, outcome, reason (internal, never
// for clients), actor_id, session (e.SessionTag, a salted hash, never the
// session ID), ip, user_agent and, for logins, login_latency in seconds.
// Nothing secret is in an Event, so nothing secret reaches a run (#63). A
// failure is logged and never fails the operation. It returns once the
// run is stored or has failed (see [Recorder] for group commit).
func (r *Recorder) RecordEvent(ctx context.Context, e auth.Event) {
	_ = r.RecordEventDurably(ctx, e) // logged there
}

// RecordEventDurably is [Recorder.RecordEvent], returning nil once the
// run is stored and otherwise the error it also logs. With it, the
// Recorder is an auth.DurableSink: a Manager whose Store is the Recorder's
// Runs (sqlstore on PostgreSQL) lets the writes of its logins, refreshes
// and logouts commit without waiting for the disk, made durable by this
// append (see auth.DurableSink, store.CommitDeferral).
func (r *Recorder) RecordEventDurably(ctx context.Context, e auth.Event) error {
	id, err := r.newID()
	if err != nil {
		r.log.ErrorContext(ctx, "gatehouse: recording an event failed", "event", string(e.Type), "error", err.Error())
		return err
	}
	t := e.Time
	if t.IsZero() {
		t = r.now()
	}
	entries := make([]store.Entry, 0, 8)
	add := func(k, v string) {
		if v != "" {
			entries = append(entries, store.Entry{Key: k, Value: cleanValue(v), Time: t})
		}
	}
	add("event", string(e.Type))
	add("outcome", string(e.Outcome))
	add("reason", e.Reason)
	add("actor_id", e.ActorID)
	add("session", e.SessionTag)
	if e.Client.IP.IsValid() {
		add("ip", e.Client.IP.String())
	}
	add("user_agent", e.Client.UserAgent)
	if e.Type == auth.EventLogin {
		s := e.Latency.Seconds()
		entries = append(entries, store.Entry{Key: "login_latency", Value: formatNumber(s), Number: s, Numeric: true, Time: t})
	}
	run := &store.Run{ID: id, Type: RunTypeAuth, UserID: e.UserID, Time: t, Entries: entries}
	if err := r.c.append(ctx, run); err != nil {
		r.log.ErrorContext(ctx, "gatehouse: recording an event failed", "event", string(e.Type), "error", err.Error())
		return err
	}
	return nil
}

// EventStore returns Config.Runs, where the Recorder appends (for
// auth.DurableSink).
func (r *Recorder) EventStore() store.Runs { return r.runs }

// cleanValue makes s safe to store and show: valid UTF-8, at most
// MaxRunValueBytes. Control characters stay (they are data, escaped by
// whoever renders them: JSON, slog).
func cleanValue(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) > MaxRunValueBytes {
		s = strings.ToValidUTF8(s[:MaxRunValueBytes], "")
	}
	return s
}

// RunEntry is a key and a value for [Recorder.RecordRun]. Build one with
// [Entry].
type RunEntry struct {
	Key   string
	Value any
}

// Entry returns a [RunEntry].
func Entry(key string, value any) RunEntry { return RunEntry{Key: key, Value: value} }

// RecordRun stores a run of runType with the given entries, all at the
// current time, for the user in ctx (see [auth.IdentityFromContext]) if any, and
// returns its ID. Superusers read runs with [Reader.Logs] and
// [Reader.Analytics]; R2R's example of a run is a search with an entry
// search_latency.
//
// Values are shown as strings, rendered this way: a string as it is; a
// time.Duration as seconds; a time.Time in RFC 3339 (UTC); anything else as
// JSON (numbers, booleans, null, objects, arrays). A value is numeric, and
// counts in statistics, when it is a Go number, a duration, or a string
// that strconv.ParseFloat accepts once trimmed of spaces (as R2R's
// float(value) does); numbers must be finite.
//
// The call is synchronous: the run is stored when RecordRun returns nil,
// and a cancelled ctx does not stop it (see [Recorder] for group commit:
// the run may be written together with concurrent ones).
//
// Errors: a *[auth.ValidationError] for a runType or key that is empty, too
// long or not printable UTF-8, for runType [RunTypeAuth], for more than
// MaxRunEntries entries, for a value that is not finite, cannot be
// rendered or renders longer than MaxRunValueBytes; other errors come
// from the store (the batch's error, when the run was written with
// others), or [ErrClosed] after [Recorder.Close].
func (r *Recorder) RecordRun(ctx context.Context, runType string, entries ...RunEntry) (string, error) {
	if err := checkName("runType", runType, MaxRunTypeBytes); err != nil {
		return "", err
	}
	if runType == RunTypeAuth {
		return "", &auth.ValidationError{Field: "runType", Reason: "AUTH runs are recorded by the Manager only"}
	}
	if len(entries) > MaxRunEntries {
		return "", &auth.ValidationError{Field: "entries", Reason: fmt.Sprintf("more than %d entries", MaxRunEntries)}
	}
	now := r.now()
	run := &store.Run{Type: runType, Time: now, Entries: make([]store.Entry, len(entries))}
	for i, e := range entries {
		if err := checkName("entries.key", e.Key, MaxRunKeyBytes); err != nil {
			return "", err
		}
		en, err := renderValue(e.Value)
		if err != nil {
			return "", &auth.ValidationError{Field: "entries." + e.Key, Reason: err.Error()}
		}
		en.Key, en.Time = e.Key, now
		run.Entries[i] = en
	}
	if u, ok := auth.UserFromContext(ctx); ok {
		run.UserID = u.ID
	}
	id, err := r.newID()
	if err != nil {
		return "", err
	}
	run.ID = id
	if err := r.c.append(ctx, run); err != nil {
		return "", fmt.Errorf("audit: record run: %w", err)
	}
	return id, nil
}

// checkName validates a run type or entry key: 1 to max bytes of UTF-8
// without control or other invisible characters.
func checkName(field, s string, max int) error {
	switch {
	case s == "":
		return &auth.ValidationError{Field: field, Reason: "is empty"}
	case len(s) > max:
		return &auth.ValidationError{Field: field, Reason: fmt.Sprintf("is longer than %d bytes", max)}
	case !utf8.ValidString(s):
		return &auth.ValidationError{Field: field, Reason: "is not valid UTF-8"}
	case strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
		return &auth.ValidationError{Field: field, Reason: "has control or invisible characters"}
	}
	return nil
}

// renderValue turns a RecordRun value into an entry's Value and number.
func renderValue(v any) (store.Entry, error) {
	var e store.Entry
	switch x := v.(type) {
	case string:
		e.Value = x
		if f, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			e.Number, e.Numeric = f, true
		}
	case time.Duration:
		e.Number, e.Numeric = x.Seconds(), true
		e.Value = formatNumber(e.Number)
	case time.Time:
		e.Value = x.UTC().Format(time.RFC3339Nano)
	case json.Number:
		return renderValue(string(x))
	default:
		f, numeric := asFloat(v)
		if numeric && (math.IsInf(f, 0) || math.IsNaN(f)) {
			return e, errors.New("is not a finite number")
		}
		b, err := json.Marshal(v)
		if err != nil {
			return e, errors.New("cannot be rendered as JSON")
		}
		e.Value, e.Number, e.Numeric = string(b), f, numeric
	}
	if len(e.Value) > MaxRunValueBytes {
		return e, fmt.Errorf("is longer than %d bytes", MaxRunValueBytes)
	}
	e.Value = strings.ToValidUTF8(e.Value, "\uFFFD")
	return e, nil
}

// asFloat converts Go's numeric types.
func asFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int8:
		return float64(x), true
	case int16:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint:
		return float64(x), true
	case uint8:
		return float64(x), true
	case uint16:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint64:
		return float64(x), true
	}
	return 0, false
}

// formatNumber renders a finite float as JSON does.
func formatNumber(f float64) string {
	b, _ := json.Marshal(f)
	return string(b)
}

// Purge deletes runs older than Config.Retention and returns how many it
// deleted. Applications schedule it (for example hourly, as the example
// shows, or through auth's Manager.Housekeep, which calls it when the
// Recorder is Config.Audit); the Recorder starts no goroutines.
// With a negative Retention it does nothing. Runs go oldest first, in the
// order they were recorded (see store.Runs.DeleteRunsBefore).
func (r *Recorder) Purge(ctx context.Context) (int, error) {
	if r.cfg.Retention < 0 {
		return 0, nil
	}
	n, err := r.runs.DeleteRunsBefore(ctx, r.now().Add(-r.cfg.Retention))
	if err != nil {
		return n, fmt.Errorf("audit: purge runs: %w", err)
	}
	if n > 0 {
		r.log.LogAttrs(ctx, slog.LevelInfo, "gatehouse: purged old runs", slog.Int("runs", n))
	}
	return n, nil
}

// Reader answers superusers' reads of the audit log: every read is
// authorized by the Manager (auth.Manager.AuthorizeSuperuser) and reported
// through it as an event of its own ([EventLogs], [EventAnalytics]) whose
// Latency is the time the read took, by the Manager's clock. It is safe
// for concurrent use.
type Reader struct {
	m    *auth.Manager
	runs store.Runs
}

// NewReader returns the Reader of the runs in runs (the store a
// [Recorder] writes to) for Manager m. Either being nil is a
// *auth.ValidationError.
func NewReader(m *auth.Manager, runs store.Runs) (*Reader, error) {
	if m == nil {
		return nil, &auth.ValidationError{Field: "m", Reason: "is required"}
	}
	if runs == nil {
		return nil, &auth.ValidationError{Field: "runs", Reason: "is required"}
	}
	return &Reader{m: m, runs: runs}, nil
}

// report reports a superuser's read that began at start, with the time it
// took as the event's Latency (measured with the Manager's clock).
func (r *Reader) report(ctx context.Context, id *auth.Identity, t auth.EventType, start time.Time) {
	r.m.Report(ctx, auth.Event{Type: t, Outcome: auth.OutcomeSuccess, UserID: id.User.ID, SessionID: sessionID(id), Latency: r.m.Now().Sub(start)})
}

func sessionID(id *auth.Identity) string {
	if id == nil || id.Session == nil {
		return ""
	}
	return id.Session.ID
}

// LogsQuery selects a page of [Reader.Logs].
type LogsQuery struct {
	// RunTypes keeps runs of these types (R2R's run_type_filter); empty
	// means every type.
	RunTypes []string
	// UserID keeps the runs about this user.
	UserID string
	// Since and Until keep runs recorded in [Since, Until); zero means
	// unbounded.
	Since, Until time.Time
	// Before, a run ID from an earlier page, starts the page after that
	// run (stable keyset paging: runs recorded meanwhile do not shift it).
	// Offset skips runs from there.
	Before string
	Offset int
	// Limit is the page size: ≤ 0 means 100; more than auth.MaxPageSize is
	// clamped to it.
	Limit int
}

// Logs returns a page of recorded runs for a superuser: newest first, each
// with its entries oldest first, and the number of runs the filter
// selects. Offsets count from the newest run at the time of the call, so
// runs recorded between two calls (this call's own event among them) shift
// later pages; use Before for stable paging.
//
// Errors: [auth.ErrUnauthenticated]; [auth.ErrForbidden] for a non-superuser;
// [auth.ErrNotFound] when Before names a run that no longer
// exists; a *[auth.ValidationError] for a negative Offset.
func (r *Reader) Logs(ctx context.Context, id *auth.Identity, q LogsQuery) (*store.RunPage, error) {
	start := r.m.Now()
	if err := r.m.AuthorizeSuperuser(ctx, id); err != nil {
		return nil, err
	}
	if q.Offset < 0 {
		return nil, &auth.ValidationError{Field: "offset", Reason: "must not be negative"}
	}
	if q.Limit <= 0 {
		q.Limit = auth.DefaultPageSize
	}
	f := store.RunFilter{Types: q.RunTypes, Since: q.Since, Until: q.Until}
	if q.UserID != "" {
		f.UserIDs = []string{q.UserID}
	}
	page, err := r.runs.ListRuns(ctx, store.RunQuery{RunFilter: f, Before: q.Before, Offset: q.Offset, Limit: min(q.Limit, auth.MaxPageSize)})
	if errors.Is(err, store.ErrNotFound) {
		return nil, auth.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("audit: logs: %w", err)
	}
	r.report(ctx, id, EventLogs, start)
	return page, nil
}

// ActivityQuery selects the users of [Reader.UserActivity].
type ActivityQuery struct {
	// UserIDs are the users to describe, typically one page of
	// [auth.Manager.UsersOverview]; at most auth.MaxPageSize.
	UserIDs []string
	// Since starts the window the figures count; zero means 24 hours ago.
	Since time.Time
}

// Activity is what the audit log says about a user, beside the session
// count and last login of [store.UserSummary].
type Activity struct {
	// FailedLogins counts logins with the user's email that failed (a
	// wrong password, an unverified or disabled account) since the
	// window's start.
	FailedLogins int
}

// UserActivity returns, for a superuser, the activity of each of q's
// users since q.Since, keyed by user ID; every requested ID has an entry
// (zero for unknown users). It costs one grouped query over those users'
// runs, never a scan of the log.
//
// Errors: [auth.ErrUnauthenticated]; [auth.ErrForbidden] for a non-superuser;
// a *[auth.ValidationError] for more than auth.MaxPageSize IDs.
func (r *Reader) UserActivity(ctx context.Context, id *auth.Identity, q ActivityQuery) (map[string]Activity, error) {
	if err := r.m.AuthorizeSuperuser(ctx, id); err != nil {
		return nil, err
	}
	if len(q.UserIDs) > auth.MaxPageSize {
		return nil, &auth.ValidationError{Field: "user_ids", Reason: fmt.Sprintf("more than %d", auth.MaxPageSize)}
	}
	out := make(map[string]Activity, len(q.UserIDs))
	if len(q.UserIDs) == 0 {
		return out, nil
	}
	if q.Since.IsZero() {
		q.Since = r.m.Now().UTC().Add(-defaultActivityBy)
	}
	counts, err := r.runs.CountRunsByUser(ctx, store.RunFilter{
		Types:   []string{RunTypeAuth},
		UserIDs: q.UserIDs,
		Since:   q.Since,
		Has:     map[string]string{"event": string(auth.EventLogin), "outcome": string(auth.OutcomeFailure)},
	})
	if err != nil {
		return nil, fmt.Errorf("audit: user activity: %w", err)
	}
	for _, u := range q.UserIDs {
		out[u] = Activity{FailedLogins: counts[u]}
	}
	return out, nil
}
