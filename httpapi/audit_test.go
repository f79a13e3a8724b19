package httpapi_test

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/audit"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/middleware"
)

// searchLatencies are the latencies, in order, of the searches an
// application's handler makes in the audit tests: its handler advances the
// fake clock by them, so RecordLatency records exactly these.
var searchLatencies = []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 200 * time.Millisecond, 500 * time.Millisecond}

// searchRoutes adds an application's search endpoint, GET /search, timed by
// the audit Recorder's RecordLatency as R2R's RETRIEVAL runs with search_latency.
func searchRoutes(e *env, mux *http.ServeMux) {
	g := middleware.New(e.m, middleware.Config{})
	search := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, err := time.ParseDuration(r.URL.Query().Get("took"))
		if err != nil {
			http.Error(w, "bad took", http.StatusBadRequest)
			return
		}
		e.clock.Advance(d)
		w.Write([]byte("[]"))
	})
	mux.Handle("GET /search", g.Authenticate(e.rec.RecordLatency("RETRIEVAL", "search_latency")(search)))
}

// search calls the application's search endpoint, which takes d.
func (e *env) search(tb testing.TB, d time.Duration, token string) {
	tb.Helper()
	r, _ := http.NewRequest("GET", e.srv.URL+"/search?took="+d.String(), nil)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := e.srv.Client().Do(r)
	if err != nil {
		tb.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		tb.Fatalf("search: %d", res.StatusCode)
	}
}

// getJSON sends a GET with query parameters and returns the response.
func (e *env) get(tb testing.TB, path string, q url.Values, token string) resp {
	tb.Helper()
	if q != nil {
		path += "?" + q.Encode()
	}
	return e.do(tb, jsonReq("GET", path, "", token))
}

// runsOf decodes a /logs page.
type logsPage struct {
	Results []struct {
		RunID     string  `json:"run_id"`
		RunType   string  `json:"run_type"`
		Timestamp string  `json:"timestamp"`
		UserID    *string `json:"user_id"`
		Entries   []struct {
			Key, Value, Timestamp string
		} `json:"entries"`
	} `json:"results"`
	TotalEntries int `json:"total_entries"`
}

func wantLogs(tb testing.TB, r resp) logsPage {
	tb.Helper()
	rows, _ := wantPage(tb, r)
	for _, row := range rows {
		if keys := slices.Sorted(maps.Keys(row)); !slices.Equal(keys, []string{"entries", "run_id", "run_type", "timestamp", "user_id"}) {
			tb.Fatalf("run keys %v", keys)
		}
		for _, en := range row["entries"].([]any) {
			if keys := slices.Sorted(maps.Keys(en.(map[string]any))); !slices.Equal(keys, []string{"key", "timestamp", "value"}) {
				tb.Fatalf("entry keys %v", keys)
			}
		}
	}
	var p logsPage
	if err := json.Unmarshal(r.body, &p); err != nil {
		tb.Fatal(err)
	}
	return p
}

// TestLogs: GET /logs over real HTTP in the forms R2R's clients send, with
// paging, bounds and filters.
func TestLogs(t *testing.T) {
	e := newEnv(t, options{routes: searchRoutes})
	_, admin := e.superuser(t, "admin@example.com")
	aliceID := e.register(t, "alice@example.com", alicePW)
	alice := e.login(t, "alice@example.com", alicePW)
	start := e.clock.Now()
	for i, d := range searchLatencies {
		e.clock.Advance(time.Minute)
		tok := ""
		if i%2 == 0 {
			tok = alice.access
		}
		e.search(t, d, tok)
	}
	retrieval := func(extra url.Values) url.Values {
		q := url.Values{"run_type_filter": {"RETRIEVAL"}}
		for k, v := range extra {
			q[k] = v
		}
		return q
	}

	t.Run("python SDK: offset, limit, run_type_filter", func(t *testing.T) {
		p := wantLogs(t, e.get(t, "/logs", url.Values{"offset": {"0"}, "limit": {"10"}, "run_type_filter": {"RETRIEVAL"}}, admin.access))
		if p.TotalEntries != 4 || len(p.Results) != 4 {
			t.Fatalf("total %d, %d runs", p.TotalEntries, len(p.Results))
		}
		// Newest first: the searches took 0.5, 0.2, 0.2, 0.1 s in reverse.
		for i, run := range p.Results {
			want := []string{"0.5", "0.2", "0.2", "0.1"}[i]
			if run.RunType != "RETRIEVAL" || len(run.Entries) != 1 || run.Entries[0].Key != "search_latency" || run.Entries[0].Value != want {
				t.Fatalf("run %d = %+v, want search_latency %s", i, run, want)
			}
			if (run.UserID != nil) != (i%2 == 1) || run.UserID != nil && *run.UserID != aliceID {
				t.Fatalf("run %d user %v", i, run.UserID)
			}
			ts, err := time.Parse(time.RFC3339, run.Timestamp)
			if err != nil || i > 0 && !ts.Before(mustTime(t, p.Results[i-1].Timestamp)) {
				t.Fatalf("run %d timestamp %q not newest first", i, run.Timestamp)
			}
		}
	})

	t.Run("r2r-js and older python: run_type_filter, max_runs", func(t *testing.T) {
		p := wantLogs(t, e.get(t, "/logs", url.Values{"run_type_filter": {"RETRIEVAL"}, "max_runs": {"2"}}, admin.access))
		if p.TotalEntries != 4 || len(p.Results) != 2 || p.Results[0].Entries[0].Value != "0.5" {
			t.Fatalf("page %+v", p)
		}
	})

	t.Run("every run type, with R2R's empty filter", func(t *testing.T) {
		p := wantLogs(t, e.get(t, "/logs", url.Values{"run_type_filter": {""}, "offset": {"0"}, "limit": {"100"}}, admin.access))
		types := map[string]int{}
		for _, run := range p.Results {
			types[run.RunType]++
		}
		if types["RETRIEVAL"] != 4 || types["AUTH"] < 3 || p.TotalEntries != len(p.Results) {
			t.Fatalf("types %v, total %d", types, p.TotalEntries)
		}
	})

	t.Run("auth runs carry the event and entries oldest first", func(t *testing.T) {
		p := wantLogs(t, e.get(t, "/logs", url.Values{"run_type_filter": {"AUTH"}, "user_id": {aliceID}}, admin.access))
		var login bool
		for _, run := range p.Results {
			if run.UserID == nil || *run.UserID != aliceID {
				t.Fatalf("user filter let through %+v", run)
			}
			if len(run.Entries) == 0 || run.Entries[0].Key != "event" {
				t.Fatalf("first entry of %+v is not the event", run)
			}
			if run.Entries[0].Value == "login" {
				login = true
			}
		}
		if !login {
			t.Fatalf("no login run for alice: %+v", p.Results)
		}
	})

	t.Run("paging", func(t *testing.T) {
		all := wantLogs(t, e.get(t, "/logs", retrieval(nil), admin.access))
		p := wantLogs(t, e.get(t, "/logs", retrieval(url.Values{"offset": {"1"}, "limit": {"2"}}), admin.access))
		if p.TotalEntries != 4 || len(p.Results) != 2 || p.Results[0].RunID != all.Results[1].RunID || p.Results[1].RunID != all.Results[2].RunID {
			t.Fatalf("offset 1 limit 2: %+v", p)
		}
		p = wantLogs(t, e.get(t, "/logs", retrieval(url.Values{"before": {all.Results[1].RunID}, "limit": {"5"}}), admin.access))
		if len(p.Results) != 2 || p.Results[0].RunID != all.Results[2].RunID {
			t.Fatalf("before cursor: %+v", p)
		}
		p = wantLogs(t, e.get(t, "/logs", retrieval(url.Values{"offset": {"4"}}), admin.access))
		if len(p.Results) != 0 || p.TotalEntries != 4 {
			t.Fatalf("past the end: %+v", p)
		}
		if !strings.Contains(string(e.get(t, "/logs", retrieval(url.Values{"offset": {"9"}}), admin.access).body), `"results":[]`) {
			t.Fatal("an empty page is not []")
		}
	})

	t.Run("time window", func(t *testing.T) {
		since := start.Add(90 * time.Second).Format(time.RFC3339)  // after the first search
		until := start.Add(210 * time.Second).Format(time.RFC3339) // before the fourth
		p := wantLogs(t, e.get(t, "/logs", retrieval(url.Values{"since": {since}, "until": {until}}), admin.access))
		if p.TotalEntries != 2 || p.Results[0].Entries[0].Value != "0.2" || p.Results[1].Entries[0].Value != "0.2" {
			t.Fatalf("window: %+v", p)
		}
	})

	bad := []struct {
		name string
		q    url.Values
	}{
		{"limit 0", url.Values{"limit": {"0"}}},
		{"limit 1001", url.Values{"limit": {"1001"}}},
		{"max_runs 0", url.Values{"max_runs": {"0"}}},
		{"max_runs 1001", url.Values{"max_runs": {"1001"}}},
		{"limit and max_runs disagree", url.Values{"limit": {"2"}, "max_runs": {"3"}}},
		{"negative offset", url.Values{"offset": {"-1"}}},
		{"offset twice", url.Values{"offset": {"1", "2"}}},
		{"bad user_id", url.Values{"user_id": {"alice"}}},
		{"bad since", url.Values{"since": {"yesterday"}}},
		{"until before since", url.Values{"since": {"2026-03-02T00:00:00Z"}, "until": {"2026-03-01T00:00:00Z"}}},
		{"unknown cursor", url.Values{"before": {"5f0c8a52-3c57-4d4b-9c51-2b1f6a1e0b7d"}}},
		{"long run type", url.Values{"run_type_filter": {strings.Repeat("X", 65)}}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, e.get(t, "/logs", tt.q, admin.access), 422, "invalid_request")
		})
	}
	t.Run("limit and max_runs that agree", func(t *testing.T) {
		p := wantLogs(t, e.get(t, "/logs", retrieval(url.Values{"limit": {"3"}, "max_runs": {"3"}}), admin.access))
		if len(p.Results) != 3 {
			t.Fatalf("%d runs", len(p.Results))
		}
	})
}

func mustTime(tb testing.TB, s string) time.Time {
	tb.Helper()
	ts, err := time.Parse(time.RFC3339, s)
	if err != nil {
		tb.Fatal(err)
	}
	return ts
}

// analytics sends GET /analytics with the JSON query parameters encoded as
// R2R's clients encode them (json.dumps / JSON.stringify, then URL
// encoding).
func (e *env) analytics(tb testing.TB, filterCriteria, analysisTypes string, extra url.Values, token string) resp {
	tb.Helper()
	q := url.Values{}
	if filterCriteria != "" {
		q.Set("filter_criteria", filterCriteria)
	}
	if analysisTypes != "" {
		q.Set("analysis_types", analysisTypes)
	}
	for k, v := range extra {
		q[k] = v
	}
	return e.get(tb, "/analytics", q, token)
}

// analyticsData returns the raw JSON of analytics_data[name] and the
// results.
func analyticsData(tb testing.TB, r resp, name string) (string, map[string]any) {
	tb.Helper()
	res := wantOK(tb, r)
	if keys := slices.Sorted(maps.Keys(res)); !slices.Equal(keys, []string{"analytics_data", "filtered_logs"}) {
		tb.Fatalf("results keys %v", keys)
	}
	var raw struct {
		Results struct {
			AnalyticsData map[string]json.RawMessage `json:"analytics_data"`
		} `json:"results"`
	}
	if err := json.Unmarshal(r.body, &raw); err != nil {
		tb.Fatal(err)
	}
	return string(raw.Results.AnalyticsData[name]), res
}

// TestAnalytics: GET /analytics over real HTTP with known answers, R2R's
// request forms and ours, and its refusals.
func TestAnalytics(t *testing.T) {
	e := newEnv(t, options{routes: searchRoutes})
	_, admin := e.superuser(t, "admin@example.com")
	aliceID := e.register(t, "alice@example.com", alicePW)
	alice := e.login(t, "alice@example.com", alicePW)
	wantError(t, e.do(t, formLogin("alice@example.com", "not the password")), 401, "invalid_credentials")
	wantError(t, e.do(t, formLogin("nobody@example.com", "not the password")), 401, "invalid_credentials")
	start := e.clock.Now()
	for i, d := range searchLatencies { // 0.1, 0.2, 0.2, 0.5 s; alice made the 2nd and 4th
		e.clock.Advance(time.Minute)
		tok := ""
		if i%2 == 1 {
			tok = alice.access
		}
		e.search(t, d, tok)
	}

	t.Run("R2R's example: basic_statistics of search latencies", func(t *testing.T) {
		got, res := analyticsData(t, e.analytics(t, `{"search_latencies": "search_latency"}`, `{"search_latencies": ["basic_statistics", "search_latency"]}`, nil, admin.access), "search_latencies")
		// Mean 0.25, median 0.2, mode 0.2, sample variance 0.09/3.
		if want := `{"Mean":0.25,"Median":0.2,"Mode":0.2,"Standard Deviation":0.173,"Variance":0.03}`; got != want {
			t.Fatalf("basic_statistics = %s, want %s", got, want)
		}
		logs := res["filtered_logs"].(map[string]any)["search_latencies"].([]any)
		if len(logs) != 4 {
			t.Fatalf("filtered_logs has %d entries", len(logs))
		}
		for _, l := range logs {
			en := l.(map[string]any)
			if keys := slices.Sorted(maps.Keys(en)); !slices.Equal(keys, []string{"key", "run_id", "run_type", "timestamp", "user_id", "value"}) || en["key"] != "search_latency" || en["run_type"] != "RETRIEVAL" {
				t.Fatalf("filtered entry %v", en)
			}
		}
	})

	known := []struct {
		name, filter, analysis, want string
		extra                        url.Values
	}{
		{"percentile 90 (index 2 of 4)", `{"p":"search_latency"}`, `{"p":["percentile","search_latency","90"]}`, `{"percentile":90,"value":0.2}`, nil},
		{"percentile as a number", `{"p":"search_latency"}`, `{"p":["percentile","search_latency",100]}`, `{"percentile":100,"value":0.5}`, nil},
		{"percentile 0", `{"p":"search_latency"}`, `{"p":["percentile","search_latency","0"]}`, `{"percentile":0,"value":0.1}`, nil},
		{"bar_chart, most frequent first", `{"p":"search_latency"}`, `{"p":["bar_chart","search_latency"]}`,
			`{"labels":["0.2","0.1","0.5"],"datasets":[{"label":"search_latency","data":[2]},{"label":"search_latency","data":[1]},{"label":"search_latency","data":[1]}]}`, nil},
		{"histogram", `{"p":"search_latency"}`, `{"p":["histogram","search_latency","0.15","0.3"]}`, `{"edges":[0.15,0.3],"counts":[1,2,1]}`, nil},
		{"mode", `{"p":"search_latency"}`, `{"p":["mode","search_latency"]}`, `{"modes":[0.2],"count":2}`, nil},
		{"login outcomes with a where", `{"logins":{"key":"outcome","where":{"event":"login"}}}`, `{"logins":["counts","outcome"]}`,
			`{"total":4,"counts":{"failure":2,"success":2},"rates":{"failure":0.5,"success":0.5}}`, nil},
		{"wrapped as r2r-js's FilterCriteria and AnalysisTypes", `{"filters":{"p":"search_latency"}}`, `{"analysis_types":{"p":["basic_statistics","search_latency"]}}`,
			`{"Mean":0.25,"Median":0.2,"Mode":0.2,"Standard Deviation":0.173,"Variance":0.03}`, nil},
		{"key left out", `{"p":"search_latency"}`, `{"p":["basic_statistics"]}`,
			`{"Mean":0.25,"Median":0.2,"Mode":0.2,"Standard Deviation":0.173,"Variance":0.03}`, nil},
		{"a user's searches", `{"p":"search_latency"}`, `{"p":["basic_statistics","search_latency"]}`,
			`{"Mean":0.35,"Median":0.35,"Mode":null,"Standard Deviation":0.212,"Variance":0.045}`, url.Values{"user_id": {aliceID}}},
		{"a time window: the middle two", `{"p":"search_latency"}`, `{"p":["basic_statistics","search_latency"]}`,
			`{"Mean":0.2,"Median":0.2,"Mode":0.2,"Standard Deviation":0,"Variance":0}`,
			url.Values{"since": {start.Add(90 * time.Second).Format(time.RFC3339)}, "until": {start.Add(210 * time.Second).Format(time.RFC3339)}}},
		{"one value", `{"p":"search_latency"}`, `{"p":["basic_statistics","search_latency"]}`,
			`{"Mean":0.5,"Median":0.5,"Mode":0.5,"Standard Deviation":0,"Variance":0}`,
			url.Values{"since": {start.Add(210 * time.Second).Format(time.RFC3339)}}},
		{"no values", `{"p":"search_latency"}`, `{"p":["basic_statistics","search_latency"]}`,
			`{"Mean":null,"Median":null,"Mode":null,"Standard Deviation":null,"Variance":null}`, url.Values{"run_type_filter": {"AUTH"}}},
	}
	for _, tt := range known {
		t.Run(tt.name, func(t *testing.T) {
			name := "p"
			if strings.Contains(tt.filter, "logins") {
				name = "logins"
			}
			got, _ := analyticsData(t, e.analytics(t, tt.filter, tt.analysis, tt.extra, admin.access), name)
			if got != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
		})
	}

	t.Run("nothing analysed: analytics_data is null, as in R2R", func(t *testing.T) {
		r := e.analytics(t, `{"p":"search_latency"}`, "", url.Values{"log_limit": {"2"}}, admin.access)
		_, res := analyticsData(t, r, "p")
		if res["analytics_data"] != nil || len(res["filtered_logs"].(map[string]any)["p"].([]any)) != 2 {
			t.Fatalf("results %v", res)
		}
		_, res = analyticsData(t, e.analytics(t, "", "", nil, admin.access), "p")
		if res["analytics_data"] != nil || len(res["filtered_logs"].(map[string]any)) != 0 {
			t.Fatalf("empty query: %v", res)
		}
	})

	t.Run("undefined population is 400 naming it", func(t *testing.T) {
		r := e.analytics(t, `{"search_latencies":"search_latency"}`, `{"search_latencys":["basic_statistics","search_latency"]}`, nil, admin.access)
		wantError(t, r, 400, "invalid_request")
		if msg := r.json(t)["message"].(string); !strings.Contains(msg, "search_latencys") {
			t.Fatalf("message %q does not name the population", msg)
		}
	})
	t.Run("unknown analysis is 400 naming it", func(t *testing.T) {
		r := e.analytics(t, `{"p":"search_latency"}`, `{"p":["average","search_latency"]}`, nil, admin.access)
		wantError(t, r, 400, "invalid_request")
		if msg := r.json(t)["message"].(string); !strings.Contains(msg, "average") {
			t.Fatalf("message %q does not name the analysis", msg)
		}
	})
	for _, tt := range []struct{ name, filter, analysis string }{
		{"bad percentile", `{"p":"x"}`, `{"p":["percentile","x","101"]}`},
		{"analysis of another key", `{"p":"x"}`, `{"p":["basic_statistics","y"]}`},
		{"empty analysis", `{"p":"x"}`, `{"p":[]}`},
		{"empty key", `{"p":""}`, ``},
	} {
		t.Run(tt.name+" is 400", func(t *testing.T) {
			wantError(t, e.analytics(t, tt.filter, tt.analysis, nil, admin.access), 400, "invalid_request")
		})
	}
	for _, tt := range []struct{ name, filter, analysis string }{
		{"invalid JSON in filter_criteria", `{"p":`, ``},
		{"invalid JSON in analysis_types", `{"p":"x"}`, `{"p":["basic_statistics"`},
		{"filter_criteria not an object", `["x"]`, ``},
		{"population given twice", `{"p":"x","p":"y"}`, ``},
		{"population a number", `{"p":7}`, ``},
		{"population object with an unknown field", `{"p":{"key":"x","when":"now"}}`, ``},
		{"population object without key", `{"p":{"where":{"a":"b"}}}`, ``},
		{"where with a number", `{"p":{"key":"x","where":{"a":1}}}`, ``},
		{"analysis not a list", `{"p":"x"}`, `{"p":"basic_statistics"}`},
		{"analysis with an object", `{"p":"x"}`, `{"p":["basic_statistics",{}]}`},
		{"lone surrogate", `{"\ud800":"x"}`, ``},
		{"trailing data", `{"p":"x"} {}`, ``},
		{"empty population name", `{"":"x"}`, ``},
	} {
		t.Run(tt.name+" is 422", func(t *testing.T) {
			wantError(t, e.analytics(t, tt.filter, tt.analysis, nil, admin.access), 422, "invalid_request")
		})
	}
	t.Run("parameter given twice is 422", func(t *testing.T) {
		wantError(t, e.get(t, "/analytics", url.Values{"filter_criteria": {`{}`, `{}`}}, admin.access), 422, "invalid_request")
	})
	t.Run("log_limit out of range is 422", func(t *testing.T) {
		wantError(t, e.analytics(t, "", "", url.Values{"log_limit": {"1001"}}, admin.access), 422, "invalid_request")
	})
}

// TestRunsDisabled: without audit runs, /logs and /analytics answer 404
// as R2R did without a logging provider, and users_overview rows carry
// null activity figures.
func TestRunsDisabled(t *testing.T) {
	e := newEnv(t, options{disableRuns: true})
	_, admin := e.superuser(t, "admin@example.com")
	for _, path := range []string{"/logs", "/analytics"} {
		r := e.do(t, jsonReq("GET", path, "", admin.access))
		wantError(t, r, 404, "not_found")
		if msg := r.json(t)["message"]; msg != "Logging provider not found" {
			t.Errorf("%s: message %q", path, msg)
		}
	}
	rows, _ := wantPage(t, e.do(t, jsonReq("GET", "/users_overview", "", admin.access)))
	if len(rows) != 1 || rows[0]["failed_logins_24h"] != nil {
		t.Fatalf("rows %v", rows)
	}
}

// TestAuditNoSecrets: SECURITY.md #61 and #63. After every flow that
// handles a secret (register with a mailed code and link, login, refresh,
// wrong passwords, reset request and reset), the bodies of /logs and
// /analytics hold no password, token, code, hash or raw session id.
func TestAuditNoSecrets(t *testing.T) {
	e := newEnv(t, options{verify: true, routes: searchRoutes})
	_, admin := e.superuser(t, "admin@example.com")
	aliceID := e.verified(t, "alice@example.com", alicePW)
	alice := e.login(t, "alice@example.com", alicePW)
	refreshed := wantTokens(t, e.do(t, jsonReq("POST", "/refresh_access_token", quote(alice.refresh), "")))
	wantError(t, e.do(t, formLogin("alice@example.com", bobPW)), 401, "invalid_credentials")
	wantMessage(t, e.do(t, jsonReq("POST", "/request_password_reset", quote("alice@example.com"), "")), "If the email exists, a reset link has been sent")
	token := mailToken(t, e.mailTo(t, "alice@example.com", mail.KindResetPassword, 1))
	wantMessage(t, e.do(t, jsonReq("POST", "/reset_password", `{"reset_token":`+quote(token)+`,"new_password":`+quote(resetPW)+`}`, "")), "Password reset successfully")
	again := e.login(t, "alice@example.com", resetPW)
	e.search(t, 300*time.Millisecond, again.access)
	sessionID := e.identity(t, again.access).Session.ID

	e.mu.Lock()
	e.bodies = nil // only the audit answers below are scanned
	e.mu.Unlock()
	wantLogs(t, e.get(t, "/logs", url.Values{"limit": {"1000"}}, admin.access))
	wantLogs(t, e.get(t, "/logs", url.Values{"user_id": {aliceID}}, admin.access))
	for _, key := range []string{"event", "outcome", "reason", "ip", "user_agent", "session", "search_latency", "login_latency"} {
		wantOK(t, e.analytics(t, `{"p":`+quote(key)+`}`, `{"p":["bar_chart",`+quote(key)+`]}`, url.Values{"log_limit": {"1000"}}, admin.access))
	}
	if err := e.m.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	secrets := []string{alicePW, bobPW, resetPW, adminPW, alice.access, alice.refresh, refreshed.access, refreshed.refresh,
		again.access, again.refresh, token, sessionID, e.storedUser(t, aliceID).PasswordHash}
	for _, m := range e.mail.Messages() {
		if s := codeRE.FindStringSubmatch(m.Text); s != nil {
			secrets = append(secrets, s[1])
		}
		if s := tokenRE.FindStringSubmatch(m.Text); s != nil {
			secrets = append(secrets, s[1])
		}
	}
	scanBodies(t, e, secrets)
}

// TestAnalyticsOverflow: statistics of values near the float64 limit that
// overflow (the mean and variance of 1.7e308, 1.7e308, -1.7e308) are null,
// never a 500 for want of a JSON infinity.
func TestAnalyticsOverflow(t *testing.T) {
	e := newEnv(t, options{})
	_, admin := e.superuser(t, "admin@example.com")
	for _, v := range []float64{1.7e308, 1.7e308, -1.7e308} {
		if _, err := e.rec.RecordRun(context.Background(), "X", audit.Entry("v", v)); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := analyticsData(t, e.analytics(t, `{"p":"v"}`, `{"p":["basic_statistics","v"]}`, nil, admin.access), "p")
	var stats map[string]*float64
	if err := json.Unmarshal([]byte(got), &stats); err != nil {
		t.Fatal(err)
	}
	// The sum of squares overflows: no variance, no deviation.
	if len(stats) != 5 || stats["Mode"] == nil || *stats["Mode"] != 1.7e308 || stats["Variance"] != nil || stats["Standard Deviation"] != nil {
		t.Fatalf("basic_statistics = %s", got)
	}
	got, _ = analyticsData(t, e.analytics(t, `{"p":"v"}`, `{"p":["percentile","v","0"]}`, nil, admin.access), "p")
	if got != `{"percentile":0,"value":-1.7e+308}` {
		t.Fatalf("percentile = %s", got)
	}
}

// TestReadLatencyLogged: the latency logged for a superuser's GET /logs and
// GET /analytics is the time the read took (it was always 0): here a store
// whose every read of runs takes 250 ms of the fake clock.
func TestReadLatencyLogged(t *testing.T) {
	e := newEnv(t, options{})
	_, admin := e.superuser(t, "admin@example.com")
	e.store.readRuns = func() { e.clock.Advance(250 * time.Millisecond) }
	for _, r := range []resp{
		e.get(t, "/logs", nil, admin.access),
		e.get(t, "/analytics", url.Values{"filter_criteria": {`{"a":"event","b":"outcome"}`}, "analysis_types": {`{}`}}, admin.access),
	} {
		if r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
	}
	for event, want := range map[string]string{"logs": "latency=250ms", "analytics": "latency=500ms"} {
		var line string
		for _, l := range strings.Split(e.logText(), "\n") {
			if strings.Contains(l, "event="+event+" ") {
				line = l
			}
		}
		if !strings.Contains(line, want) {
			t.Errorf("%s: log line %q, want %s", event, line, want)
		}
	}
}
