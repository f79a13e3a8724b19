package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-go/gatehouse/store"
)

// RunTypeAuth is the type of the runs the Manager records for its own
// events. Applications cannot record runs of this type.
const RunTypeAuth = "AUTH"

// Limits on what [Manager.RecordRun] accepts.
const (
	MaxRunTypeBytes   = 64
	MaxRunKeyBytes    = 128
	MaxRunValueBytes  = 4096
	MaxRunEntries     = 256
	DefaultRetention  = 90 * 24 * time.Hour
	defaultActivityBy = 24 * time.Hour
)

// ErrRunsDisabled: the Manager keeps no runs (Config.DisableRuns), so
// there are no logs or analytics to read and nothing to record into.
var ErrRunsDisabled = errors.New("auth: runs are not recorded")

// fillRuns resolves Config.Runs: the Store when it implements store.Runs.
// Without one, New refuses to run unless DisableRuns says so, so that an
// audit log is never lost by accident.
func (c *Config) fillRuns() error {
	if c.RunRetention == 0 {
		c.RunRetention = DefaultRetention
	}
	if c.RunRetention > 0 && c.RunRetention < time.Hour {
		return cfgErr("RunRetention", "must be at least 1h0m0s, or negative to keep runs forever")
	}
	if c.DisableRuns {
		c.Runs = nil
		return nil
	}
	if c.Runs == nil {
		runs, ok := c.Store.(store.Runs)
		if !ok {
			return cfgErr("Runs", "is required: the store does not implement store.Runs (set Runs, or DisableRuns)")
		}
		c.Runs = runs
	}
	return nil
}

// recordEvent stores e as a run of type [RunTypeAuth] (SECURITY.md #62).
// Its entries are event, outcome, reason (internal, never for clients),
// actor_id, session (a salted hash of the session ID, never the ID),
// ip, user_agent and, for logins, login_latency in seconds. Nothing secret
// is in an Event, so nothing secret reaches a run (#63). A failure is
// logged and never fails the operation.
func (m *Manager) recordEvent(ctx context.Context, e *Event) {
	if m.cfg.Runs == nil {
		return
	}
	id, err := m.newID()
	if err != nil {
		m.log.ErrorContext(ctx, "gatehouse: recording an event failed", "event", string(e.Type), "error", err.Error())
		return
	}
	t := e.Time
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
	if e.SessionID != "" {
		add("session", m.sessionTag(e.SessionID))
	}
	add("ip", clientIP(e.Client))
	add("user_agent", e.Client.UserAgent)
	if e.Type == EventLogin {
		s := e.Latency.Seconds()
		entries = append(entries, store.Entry{Key: "login_latency", Value: formatNumber(s), Number: s, Numeric: true, Time: t})
	}
	r := &store.Run{ID: id, Type: RunTypeAuth, UserID: e.UserID, Time: t, Entries: entries}
	if err := m.cfg.Runs.AppendRun(context.WithoutCancel(ctx), r); err != nil {
		m.log.ErrorContext(ctx, "gatehouse: recording an event failed", "event", string(e.Type), "error", err.Error())
	}
}

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

// RunEntry is a key and a value for [Manager.RecordRun]. Build one with
// [Entry].
type RunEntry struct {
	Key   string
	Value any
}

// Entry returns a [RunEntry].
func Entry(key string, value any) RunEntry { return RunEntry{Key: key, Value: value} }

// RecordRun stores a run of runType with the given entries, all at the
// current time, for the user in ctx (see [IdentityFromContext]) if any, and
// returns its ID. Superusers read runs with [Manager.Logs] and
// [Manager.Analytics]; R2R's example of a run is a search with an entry
// search_latency.
//
// Values are shown as strings, rendered this way: a string as it is; a
// time.Duration as seconds; a time.Time in RFC 3339 (UTC); anything else as
// JSON (numbers, booleans, null, objects, arrays). A value is numeric, and
// counts in statistics, when it is a Go number, a duration, or a string
// that strconv.ParseFloat accepts once trimmed of spaces (as R2R's
// float(value) does); numbers must be finite.
//
// The call is synchronous: the run is stored when RecordRun returns, and
// a cancelled ctx does not stop it.
//
// Errors: a *[ValidationError] for a runType or key that is empty, too
// long or not printable UTF-8, for runType [RunTypeAuth], for more than
// MaxRunEntries entries, for a value that is not finite, cannot be
// rendered or renders longer than MaxRunValueBytes; [ErrRunsDisabled];
// other errors come from the store.
func (m *Manager) RecordRun(ctx context.Context, runType string, entries ...RunEntry) (string, error) {
	if m.cfg.Runs == nil {
		return "", ErrRunsDisabled
	}
	if err := checkName("runType", runType, MaxRunTypeBytes); err != nil {
		return "", err
	}
	if runType == RunTypeAuth {
		return "", &ValidationError{Field: "runType", Reason: "AUTH runs are recorded by the Manager only"}
	}
	if len(entries) > MaxRunEntries {
		return "", &ValidationError{Field: "entries", Reason: fmt.Sprintf("more than %d entries", MaxRunEntries)}
	}
	now := m.now()
	r := &store.Run{Type: runType, Time: now, Entries: make([]store.Entry, len(entries))}
	for i, e := range entries {
		if err := checkName("entries.key", e.Key, MaxRunKeyBytes); err != nil {
			return "", err
		}
		en, err := renderValue(e.Value)
		if err != nil {
			return "", &ValidationError{Field: "entries." + e.Key, Reason: err.Error()}
		}
		en.Key, en.Time = e.Key, now
		r.Entries[i] = en
	}
	if u, ok := UserFromContext(ctx); ok {
		r.UserID = u.ID
	}
	id, err := m.newID()
	if err != nil {
		return "", err
	}
	r.ID = id
	if err := m.cfg.Runs.AppendRun(context.WithoutCancel(ctx), r); err != nil {
		return "", fmt.Errorf("auth: record run: %w", err)
	}
	return id, nil
}

// checkName validates a run type or entry key: 1 to max bytes of UTF-8
// without control or other invisible characters.
func checkName(field, s string, max int) error {
	switch {
	case s == "":
		return &ValidationError{Field: field, Reason: "is empty"}
	case len(s) > max:
		return &ValidationError{Field: field, Reason: fmt.Sprintf("is longer than %d bytes", max)}
	case !utf8.ValidString(s):
		return &ValidationError{Field: field, Reason: "is not valid UTF-8"}
	case strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
		return &ValidationError{Field: field, Reason: "has control or invisible characters"}
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

// Now reads the Manager's clock (Config.Now), for callers that time
// operations the way the Manager does, such as middleware that records
// latencies.
func (m *Manager) Now() time.Time { return m.cfg.Now() }

// PurgeRuns deletes runs older than Config.RunRetention and returns how
// many it deleted. Applications schedule it (for example hourly, as the
// example shows); the Manager starts no goroutines. With DisableRuns or a
// negative RunRetention it does nothing. Runs go oldest first, in the
// order they were recorded (see store.Runs.DeleteRunsBefore).
func (m *Manager) PurgeRuns(ctx context.Context) (int, error) {
	if m.cfg.Runs == nil || m.cfg.RunRetention < 0 {
		return 0, nil
	}
	n, err := m.cfg.Runs.DeleteRunsBefore(ctx, m.now().Add(-m.cfg.RunRetention))
	if err != nil {
		return n, fmt.Errorf("auth: purge runs: %w", err)
	}
	if n > 0 {
		m.log.LogAttrs(ctx, slog.LevelInfo, "gatehouse: purged old runs", slog.Int("runs", n))
	}
	return n, nil
}

// LogsQuery selects a page of [Manager.Logs].
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
	// Limit is the page size: ≤ 0 means 100; more than MaxPageSize is
	// clamped to it.
	Limit int
}

// Logs returns a page of recorded runs for a superuser: newest first, each
// with its entries oldest first, and the number of runs the filter
// selects. Offsets count from the newest run at the time of the call, so
// runs recorded between two calls (this call's own event among them) shift
// later pages; use Before for stable paging.
//
// Errors: [ErrUnauthenticated]; [ErrForbidden] for a non-superuser;
// [ErrRunsDisabled]; [ErrNotFound] when Before names a run that no longer
// exists; a *[ValidationError] for a negative Offset.
func (m *Manager) Logs(ctx context.Context, id *Identity, q LogsQuery) (*store.RunPage, error) {
	if err := m.AuthorizeSuperuser(ctx, id); err != nil {
		return nil, err
	}
	if m.cfg.Runs == nil {
		return nil, ErrRunsDisabled
	}
	if q.Offset < 0 {
		return nil, &ValidationError{Field: "offset", Reason: "must not be negative"}
	}
	if q.Limit <= 0 {
		q.Limit = DefaultPageSize
	}
	f := store.RunFilter{Types: q.RunTypes, Since: q.Since, Until: q.Until}
	if q.UserID != "" {
		f.UserIDs = []string{q.UserID}
	}
	page, err := m.cfg.Runs.ListRuns(ctx, store.RunQuery{RunFilter: f, Before: q.Before, Offset: q.Offset, Limit: min(q.Limit, MaxPageSize)})
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("auth: logs: %w", err)
	}
	m.emit(ctx, Event{Type: EventLogs, Outcome: OutcomeSuccess, UserID: id.User.ID, SessionID: sessionID(id)}, m.cfg.Now())
	return page, nil
}

// ActivityQuery selects the users of [Manager.UserActivity].
type ActivityQuery struct {
	// UserIDs are the users to describe, typically one page of
	// [Manager.UsersOverview]; at most MaxPageSize.
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
// Errors: [ErrUnauthenticated]; [ErrForbidden] for a non-superuser;
// [ErrRunsDisabled]; a *[ValidationError] for more than MaxPageSize IDs.
func (m *Manager) UserActivity(ctx context.Context, id *Identity, q ActivityQuery) (map[string]Activity, error) {
	if err := m.AuthorizeSuperuser(ctx, id); err != nil {
		return nil, err
	}
	if m.cfg.Runs == nil {
		return nil, ErrRunsDisabled
	}
	if len(q.UserIDs) > MaxPageSize {
		return nil, &ValidationError{Field: "user_ids", Reason: fmt.Sprintf("more than %d", MaxPageSize)}
	}
	out := make(map[string]Activity, len(q.UserIDs))
	if len(q.UserIDs) == 0 {
		return out, nil
	}
	if q.Since.IsZero() {
		q.Since = m.now().Add(-defaultActivityBy)
	}
	counts, err := m.cfg.Runs.CountRunsByUser(ctx, store.RunFilter{
		Types:   []string{RunTypeAuth},
		UserIDs: q.UserIDs,
		Since:   q.Since,
		Has:     map[string]string{"event": string(EventLogin), "outcome": string(OutcomeFailure)},
	})
	if err != nil {
		return nil, fmt.Errorf("auth: user activity: %w", err)
	}
	for _, u := range q.UserIDs {
		out[u] = Activity{FailedLogins: counts[u]}
	}
	return out, nil
}
