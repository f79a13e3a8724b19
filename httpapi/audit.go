package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/url"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-go/gatehouse/audit"
	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/store"
)

// Bounds on the query parameters of /logs and /analytics.
const (
	// maxCursorBytes bounds the "before" cursor of /logs (a run ID).
	maxCursorBytes = 128
	// maxPopulationName bounds a population name of /analytics.
	maxPopulationName = 128
)

// logs answers GET /logs for superusers: the recorded runs, newest first,
// each with its entries oldest first, and total_entries.
//
// Query: "run_type_filter" (a run type; repeat it for several; empty means
// every type), "offset" (≥ 0), "limit" (1 to 1000, default 100) with
// "max_runs" accepted as an alias (r2r-js and older Python SDKs send it),
// and, ours, "user_id", "since" and "until" (RFC 3339; runs in [since,
// until)) and "before" (a run ID from an earlier page: the page starts
// after it, so that runs recorded meanwhile do not shift it). Other
// parameters are ignored.
func (a *API) logs(w http.ResponseWriter, r *http.Request) {
	q, err := logsQuery(r.URL.RawQuery)
	if err != nil {
		a.fail(w, r, err, opDefault)
		return
	}
	if a.audit == nil {
		a.fail(w, r, errNoAuditLog, opDefault)
		return
	}
	id, _ := auth.IdentityFromContext(r.Context())
	page, err := a.audit.Logs(r.Context(), id, q)
	if errors.Is(err, auth.ErrNotFound) {
		err = invalidRequest(`Query parameter "before" names no run (it may have been purged)`)
	}
	if err != nil {
		a.fail(w, r, err, opDefault)
		return
	}
	runs := make([]runJSON, 0, len(page.Runs))
	for _, run := range page.Runs {
		runs = append(runs, newRunJSON(run))
	}
	writeJSON(w, http.StatusOK, pageEnvelope[runJSON]{Results: runs, TotalEntries: page.Total})
}

func logsQuery(raw string) (audit.LogsQuery, error) {
	var q audit.LogsQuery
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return q, invalidRequest("Malformed query string")
	}
	if err := commonRunFilter(vals, &q.RunTypes, &q.UserID, &q.Since, &q.Until); err != nil {
		return q, err
	}
	if q.Offset, err = intParam(vals, "offset", 0, 0, math.MaxInt32); err != nil {
		return q, err
	}
	if q.Limit, err = intParam(vals, "limit", 0, 1, auth.MaxPageSize); err != nil {
		return q, err
	}
	maxRuns, err := intParam(vals, "max_runs", 0, 1, auth.MaxPageSize)
	switch {
	case err != nil:
		return q, err
	case maxRuns != 0 && q.Limit != 0 && maxRuns != q.Limit:
		return q, invalidRequest(`Query parameters "limit" and "max_runs" disagree; give one`)
	case maxRuns != 0:
		q.Limit = maxRuns
	case q.Limit == 0:
		q.Limit = auth.DefaultPageSize
	}
	q.Before, err = textParam(vals, "before", maxCursorBytes, "a run ID")
	return q, err
}

// commonRunFilter reads the run filters /logs and /analytics share:
// "run_type_filter" (repeatable; empty values ignored), "user_id", "since"
// and "until".
func commonRunFilter(vals url.Values, types *[]string, userID *string, since, until *time.Time) error {
	for _, t := range vals["run_type_filter"] {
		if t == "" {
			continue
		}
		if len(t) > audit.MaxRunTypeBytes || !utf8.ValidString(t) {
			return invalidRequest(`Query parameter "run_type_filter" must be a run type of at most %d bytes`, audit.MaxRunTypeBytes)
		}
		*types = append(*types, t)
	}
	uid, err := oneParam(vals, "user_id")
	if err != nil {
		return err
	}
	if uid != "" {
		if *userID, err = parseUUID(uid); err != nil {
			return invalidRequest(`Query parameter "user_id" must be a UUID`)
		}
	}
	if *since, err = timeParam(vals, "since"); err != nil {
		return err
	}
	if *until, err = timeParam(vals, "until"); err != nil {
		return err
	}
	if !since.IsZero() && !until.IsZero() && !until.After(*since) {
		return invalidRequest(`Query parameter "until" must be after "since"`)
	}
	return nil
}

// oneParam returns an optional query parameter given at most once ("" when
// absent).
func oneParam(vals url.Values, name string) (string, error) {
	switch vs := vals[name]; len(vs) {
	case 0:
		return "", nil
	case 1:
		return vs[0], nil
	default:
		return "", invalidRequest("Query parameter %q must be given once", name)
	}
}

// textParam reads an optional query parameter of at most maxBytes of valid
// UTF-8; what says what it must be in the error.
func textParam(vals url.Values, name string, maxBytes int, what string) (string, error) {
	v, err := oneParam(vals, name)
	if err != nil {
		return "", err
	}
	if len(v) > maxBytes || !utf8.ValidString(v) {
		return "", invalidRequest("Query parameter %q must be %s", name, what)
	}
	return v, nil
}

// timeParam reads an optional RFC 3339 time.
func timeParam(vals url.Values, name string) (time.Time, error) {
	v, err := oneParam(vals, name)
	if err != nil || v == "" {
		return time.Time{}, err
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, invalidRequest("Query parameter %q must be an RFC 3339 time such as 2026-03-01T12:00:00Z", name)
	}
	return t.UTC(), nil
}

// runJSON is a run of /logs, in R2R's shape.
type runJSON struct {
	RunID     string      `json:"run_id"`
	RunType   string      `json:"run_type"`
	Timestamp string      `json:"timestamp"`
	UserID    *string     `json:"user_id"`
	Entries   []entryJSON `json:"entries"`
}

// entryJSON is an entry of a run.
type entryJSON struct {
	Key       string `json:"key"`
	Value     string `json:"value"`
	Timestamp string `json:"timestamp"`
}

func newRunJSON(run store.Run) runJSON {
	j := runJSON{
		RunID:     run.ID,
		RunType:   run.Type,
		Timestamp: timestamp(run.Time),
		UserID:    nullable(run.UserID),
		Entries:   make([]entryJSON, 0, len(run.Entries)),
	}
	for _, e := range run.Entries {
		j.Entries = append(j.Entries, entryJSON{Key: e.Key, Value: e.Value, Timestamp: timestamp(e.Time)})
	}
	return j
}

// analytics answers GET /analytics for superusers with R2R's semantics.
//
// Query: "filter_criteria", a JSON object {population: key} (each
// population is every entry with that key), also wrapped as {"filters":
// {...}} the way r2r-js's FilterCriteria type is, and, ours, with a
// population given as {"key": key, "where": {entry key: value, ...}} to keep
// only the runs that also have those entries; "analysis_types", a JSON
// object {population: [analysis, key, args...]}, also wrapped as
// {"analysis_types": {...}}; and, ours, "run_type_filter", "user_id",
// "since", "until" (as for /logs) and "log_limit" (0 to 1000, default 100:
// how many of each population's newest entries filtered_logs lists).
func (a *API) analytics(w http.ResponseWriter, r *http.Request) {
	q, err := analyticsQuery(r.URL.RawQuery)
	if err != nil {
		a.fail(w, r, err, opDefault)
		return
	}
	if a.audit == nil {
		a.fail(w, r, errNoAuditLog, opDefault)
		return
	}
	id, _ := auth.IdentityFromContext(r.Context())
	res, err := a.audit.Analytics(r.Context(), id, q)
	if err != nil {
		a.fail(w, r, err, opDefault)
		return
	}
	out := analyticsJSON{FilteredLogs: make(map[string][]loggedEntryJSON, len(res.FilteredLogs))}
	if len(res.Analyses) > 0 {
		// R2R answers null when nothing was analysed.
		out.AnalyticsData = make(map[string]audit.AnalysisResult, len(res.Analyses))
		for name, an := range res.Analyses {
			out.AnalyticsData[name] = finite(an)
		}
	}
	for name, entries := range res.FilteredLogs {
		list := make([]loggedEntryJSON, 0, len(entries))
		for _, e := range entries {
			list = append(list, loggedEntryJSON{
				RunID: e.RunID, RunType: e.RunType, UserID: nullable(e.UserID),
				Key: e.Key, Value: e.Value, Timestamp: timestamp(e.Time),
			})
		}
		out.FilteredLogs[name] = list
	}
	ok(w, out)
}

// finite returns r with every statistic that is not a finite number (the
// mean or variance of values near the float64 limit overflows) as null:
// JSON has no infinities, and an answer that cannot be encoded would be a
// 500.
func finite(r audit.AnalysisResult) audit.AnalysisResult {
	clean := func(p **float64) {
		if *p != nil && (math.IsInf(**p, 0) || math.IsNaN(**p)) {
			*p = nil
		}
	}
	switch v := r.(type) {
	case *audit.BasicStatistics:
		c := *v
		for _, p := range []**float64{&c.Mean, &c.Median, &c.Mode, &c.StandardDeviation, &c.Variance} {
			clean(p)
		}
		return &c
	case *audit.Percentile:
		c := *v
		clean(&c.Value)
		return &c
	}
	return r
}

// analyticsJSON is the answer of /analytics. The analyses encode
// themselves in R2R's shapes (see [audit.AnalysisResult]).
type analyticsJSON struct {
	AnalyticsData map[string]audit.AnalysisResult `json:"analytics_data"`
	FilteredLogs  map[string][]loggedEntryJSON    `json:"filtered_logs"`
}

// loggedEntryJSON is an entry of filtered_logs: R2R's run_id, key, value
// and timestamp, with the run's type and user.
type loggedEntryJSON struct {
	RunID     string  `json:"run_id"`
	RunType   string  `json:"run_type"`
	UserID    *string `json:"user_id"`
	Key       string  `json:"key"`
	Value     string  `json:"value"`
	Timestamp string  `json:"timestamp"`
}

func analyticsQuery(raw string) (audit.AnalyticsQuery, error) {
	var q audit.AnalyticsQuery
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return q, invalidRequest("Malformed query string")
	}
	if err := commonRunFilter(vals, &q.RunTypes, &q.UserID, &q.Since, &q.Until); err != nil {
		return q, err
	}
	logLimit, err := intParam(vals, "log_limit", auth.DefaultPageSize, 0, auth.MaxPageSize)
	if err != nil {
		return q, err
	}
	q.LogLimit = logLimit
	if logLimit == 0 {
		q.LogLimit = -1 // none
	}
	fc, err := oneParam(vals, "filter_criteria")
	if err != nil {
		return q, err
	}
	if q.Populations, err = parseFilterCriteria(fc); err != nil {
		return q, err
	}
	at, err := oneParam(vals, "analysis_types")
	if err != nil {
		return q, err
	}
	if q.Analyses, err = parseAnalysisTypes(at); err != nil {
		return q, err
	}
	return q, nil
}

// member is one member of a JSON object, in order.
type member struct {
	name string
	raw  json.RawMessage
}

// jsonParam parses a query parameter holding one JSON object (absent or
// empty: {}) into its members, refusing duplicates. If the object's only
// member is wrapper and holds an object, that object is parsed instead.
func jsonParam(param, text, wrapper string) ([]member, error) {
	if text == "" {
		return nil, nil
	}
	b := []byte(text)
	// Every string inside must be valid UTF-8 without lone surrogates
	// (encoding/json would replace them silently).
	if !utf8.Valid(b) || badSurrogates(b) {
		return nil, invalidRequest("Query parameter %q must be valid UTF-8 JSON", param)
	}
	ms, err := objectMembers(b, param)
	if err != nil {
		return nil, err
	}
	if len(ms) == 1 && ms[0].name == wrapper && firstByte(ms[0].raw) == '{' {
		return objectMembers(ms[0].raw, param)
	}
	return ms, nil
}

// objectMembers splits one JSON object into its members.
func objectMembers(b []byte, param string) ([]member, error) {
	bad := func() error {
		return invalidRequest("Query parameter %q must be a JSON object", param)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if d, isDelim := tok.(json.Delim); err != nil || !isDelim || d != '{' {
		return nil, bad()
	}
	var ms []member
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, bad()
		}
		name, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, bad()
		}
		if seen[name] {
			return nil, invalidRequest("Query parameter %q names %s twice", param, quoteName(name))
		}
		seen[name] = true
		ms = append(ms, member{name, raw})
	}
	if _, err := dec.Token(); err != nil {
		return nil, bad()
	}
	if err := checkEOF(dec); err != nil {
		return nil, bad()
	}
	return ms, nil
}

// checkPopulationName refuses an empty or overlong population name.
func checkPopulationName(param, name string) error {
	if name == "" || len(name) > maxPopulationName {
		return invalidRequest("Query parameter %q: population names must have 1 to %d bytes", param, maxPopulationName)
	}
	return nil
}

// parseFilterCriteria parses filter_criteria: {population: key} or, ours,
// {population: {"key": key, "where": {key: value}}}.
func parseFilterCriteria(text string) (map[string]audit.Population, error) {
	const param = "filter_criteria"
	ms, err := jsonParam(param, text, "filters")
	if err != nil {
		return nil, err
	}
	pops := make(map[string]audit.Population, len(ms))
	for _, m := range ms {
		if err := checkPopulationName(param, m.name); err != nil {
			return nil, err
		}
		var pop audit.Population
		switch firstByte(m.raw) {
		case '"':
			s, err := jsonString(m.raw)
			if err != nil {
				return nil, invalidRequest("Query parameter %q: population %s must name a key", param, quoteName(m.name))
			}
			pop.Key = s
		case '{':
			if pop, err = parsePopulation(m.name, m.raw); err != nil {
				return nil, err
			}
		default:
			return nil, invalidRequest(`Query parameter %q: population %s must be a key or {"key", "where"}`, param, quoteName(m.name))
		}
		pops[m.name] = pop
	}
	return pops, nil
}

// parsePopulation parses {"key": key, "where": {key: value, ...}}.
func parsePopulation(name string, raw json.RawMessage) (audit.Population, error) {
	var pop audit.Population
	var key optString
	var where json.RawMessage
	err := decodeObject(raw, []field{{"key", kindString, &key}, {"where", kindRaw, &where}})
	if err == nil && !key.set {
		err = invalidRequest(`Query parameter "filter_criteria": population %s needs a "key"`, quoteName(name))
	}
	if err != nil {
		return pop, prefixed("filter_criteria", err)
	}
	pop.Key = key.v
	if len(where) == 0 || string(where) == "null" {
		return pop, nil
	}
	ms, err := objectMembers(where, "filter_criteria")
	if err != nil {
		return pop, err
	}
	pop.Where = make(map[string]string, len(ms))
	for _, m := range ms {
		v, err := jsonString(m.raw)
		if err != nil {
			return pop, invalidRequest(`Query parameter "filter_criteria": the "where" of population %s must map keys to string values`, quoteName(name))
		}
		pop.Where[m.name] = v
	}
	return pop, nil
}

// prefixed names the query parameter in a message about a JSON body.
func prefixed(param string, err error) error {
	var ae *apiError
	if errors.As(err, &ae) {
		return invalidRequest("Query parameter %q: %s", param, ae.Message)
	}
	return err
}

// parseAnalysisTypes parses analysis_types: {population: [analysis, key,
// args...]}. Arguments are strings; a number is taken as its JSON text
// ("95" and 95 alike).
func parseAnalysisTypes(text string) (map[string][]string, error) {
	const param = "analysis_types"
	ms, err := jsonParam(param, text, "analysis_types")
	if err != nil {
		return nil, err
	}
	out := make(map[string][]string, len(ms))
	for _, m := range ms {
		if err := checkPopulationName(param, m.name); err != nil {
			return nil, err
		}
		bad := invalidRequest("Query parameter %q: the analysis of %s must be a list of strings such as [\"basic_statistics\", \"latency\"]", param, quoteName(m.name))
		var items []json.RawMessage
		if firstByte(m.raw) != '[' || json.Unmarshal(m.raw, &items) != nil {
			return nil, bad
		}
		args := make([]string, 0, len(items))
		for _, it := range items {
			switch c := firstByte(it); {
			case c == '"':
				s, err := jsonString(it)
				if err != nil {
					return nil, bad
				}
				args = append(args, s)
			case c == '-' || '0' <= c && c <= '9':
				args = append(args, string(bytes.TrimSpace(it)))
			default:
				return nil, bad
			}
		}
		out[m.name] = args
	}
	return out, nil
}
