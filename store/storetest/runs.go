package storetest

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

func runTests() []test {
	return []test{
		{name: "Append", sub: []test{
			{name: "RoundTrip", run: testAppendRoundTrip},
			{name: "NoEntries", run: testAppendNoEntries},
			{name: "DuplicateID", run: testAppendDuplicate},
			{name: "NoAliasing", run: testRunsNoAliasing},
			{name: "OrderIsAppendOrder", run: testRunsAppendOrder},
			{name: "Concurrent", run: testAppendConcurrent},
			{name: "ConcurrentDuplicate", run: testAppendConcurrentDuplicate},
		}},
		{name: "List", sub: append(listRunTests(),
			test{name: "DefaultLimit", run: testListRunsDefaultLimit},
			test{name: "UnknownCursor", run: testListRunsUnknownCursor},
		)},
		{name: "Aggregate", sub: aggregateTests()},
		{name: "CountRunsByUser", sub: countByUserTests()},
		{name: "DeleteRunsBefore", sub: []test{
			{name: "FrontOnly", run: testDeleteRunsFrontOnly},
			{name: "Boundary", run: testDeleteRunsBoundary},
			{name: "Empty", run: testDeleteRunsEmpty},
			{name: "EverythingGoes", run: testDeleteRunsEverything},
		}},
	}
}

// runsOf returns s as a store.Runs, or skips the test.
func runsOf(tb testing.TB, s store.Store) store.Runs {
	tb.Helper()
	rs, ok := s.(store.Runs)
	if !ok {
		tb.Skipf("%T does not implement store.Runs", s)
	}
	return rs
}

func runID(n int) string { return fmt.Sprintf("c0000000-0000-4000-8000-%012d", n) }

// num returns a numeric entry.
func num(key string, x float64, t time.Time) store.Entry {
	return store.Entry{Key: key, Value: strconv.FormatFloat(x, 'f', -1, 64), Number: x, Numeric: true, Time: t}
}

// text returns a non-numeric entry.
func text(key, value string, t time.Time) store.Entry {
	return store.Entry{Key: key, Value: value, Time: t}
}

func mustAppend(tb testing.TB, rs store.Runs, r *store.Run) {
	tb.Helper()
	if err := rs.AppendRun(tb.Context(), r); err != nil {
		tb.Fatalf("setup: AppendRun(%s): %v", r.ID, err)
	}
}

func mustList(tb testing.TB, rs store.Runs, q store.RunQuery) *store.RunPage {
	tb.Helper()
	page, err := rs.ListRuns(tb.Context(), q)
	if err != nil {
		tb.Fatalf("ListRuns(%+v): %v", q, err)
	}
	return page
}

func mustAggregate(tb testing.TB, rs store.Runs, a store.Aggregation) *store.Aggregate {
	tb.Helper()
	agg, err := rs.AggregateEntries(tb.Context(), a)
	if err != nil {
		tb.Fatalf("AggregateEntries(%+v): %v", a, err)
	}
	return agg
}

// utcRun returns r as a store should hand it back: times in UTC, entries
// never nil.
func utcRun(r store.Run) store.Run {
	r.Time = r.Time.UTC()
	r.Entries = slices.Clone(r.Entries)
	if r.Entries == nil {
		r.Entries = []store.Entry{}
	}
	for i := range r.Entries {
		r.Entries[i].Time = r.Entries[i].Time.UTC()
	}
	return r
}

// runIDs returns the IDs of runs.
func runIDs(runs []store.Run) []string {
	ids := make([]string, len(runs))
	for i, r := range runs {
		ids[i] = r.ID
	}
	return ids
}

// fullRun returns a run with every field set, times in another location.
func fullRun(n int) *store.Run {
	t := at(time.Duration(n) * time.Minute).In(elsewhere)
	return &store.Run{
		ID:     runID(n),
		Type:   "AUTH",
		UserID: userID(n),
		Time:   t,
		Entries: []store.Entry{
			text("event", "login", t),
			text("outcome", "failure", t),
			text("user_agent", "agent/1.0 \"quoted\"\nÜnïcödé ✓", t.Add(time.Microsecond)),
			num("login_latency", 0.125, t.Add(2*time.Microsecond)),
			num("negative", -3.5e-7, t.Add(2*time.Microsecond)),
			text("looks_numeric", "42", t.Add(3*time.Microsecond)),
		},
	}
}

// testAppendRoundTrip: every field comes back as appended, in UTC, with
// the entries in order.
func testAppendRoundTrip(t *testing.T, s store.Store) {
	rs := runsOf(t, s)
	r := fullRun(1)
	mustAppend(t, rs, r)
	page := mustList(t, rs, store.RunQuery{})
	if page.Total != 1 || len(page.Runs) != 1 {
		t.Fatalf("page = %d runs of %d, want 1 of 1", len(page.Runs), page.Total)
	}
	checkEqual(t, "listed run", page.Runs[0], utcRun(*r))
}

// testAppendNoEntries: a run may have no entries.
func testAppendNoEntries(t *testing.T, s store.Store) {
	rs := runsOf(t, s)
	r := &store.Run{ID: runID(1), Type: "PING", Time: base}
	mustAppend(t, rs, r)
	page := mustList(t, rs, store.RunQuery{})
	if len(page.Runs) != 1 {
		t.Fatalf("got %d runs, want 1", len(page.Runs))
	}
	checkEqual(t, "listed run", page.Runs[0], utcRun(*r))
}

// testAppendDuplicate: a second run with the same ID is refused with
// ErrConflict, and none of it becomes visible.
func testAppendDuplicate(t *testing.T, s store.Store) {
	rs := runsOf(t, s)
	first := fullRun(1)
	mustAppend(t, rs, first)
	dup := &store.Run{ID: first.ID, Type: "OTHER", Time: at(time.Hour), Entries: []store.Entry{num("dup_only", 1, at(time.Hour))}}
	wantErr(t, "AppendRun(duplicate)", rs.AppendRun(t.Context(), dup), store.ErrConflict)
	page := mustList(t, rs, store.RunQuery{})
	if page.Total != 1 || len(page.Runs) != 1 {
		t.Fatalf("page = %d runs of %d, want 1 of 1", len(page.Runs), page.Total)
	}
	checkEqual(t, "first run", page.Runs[0], utcRun(*first))
	agg := mustAggregate(t, rs, store.Aggregation{Key: "dup_only", Summary: true, Latest: 10})
	if agg.Summary.Entries != 0 || len(agg.Latest) != 0 {
		t.Errorf("the refused run's entries are visible: %+v", agg)
	}
}

// testRunsNoAliasing: changing what was appended, or what a read returned,
// changes nothing in the store.
func testRunsNoAliasing(t *testing.T, s store.Store) {
	rs := runsOf(t, s)
	r := fullRun(1)
	want := utcRun(*r)
	mustAppend(t, rs, r)
	r.Type, r.Entries[0].Value, r.Entries[3].Number = "CHANGED", "changed", 99
	r.Entries = append(r.Entries, text("late", "x", base))

	page := mustList(t, rs, store.RunQuery{})
	checkEqual(t, "after changing the input", page.Runs[0], want)
	page.Runs[0].Entries[0].Value = "changed"
	page.Runs[0].Entries = page.Runs[0].Entries[:1]
	checkEqual(t, "after changing a result", mustList(t, rs, store.RunQuery{}).Runs[0], want)

	agg := mustAggregate(t, rs, store.Aggregation{Key: "event", Latest: 1})
	agg.Latest[0].Value = "changed"
	agg = mustAggregate(t, rs, store.Aggregation{Key: "event", Latest: 1})
	if agg.Latest[0].Value != "login" {
		t.Errorf("Latest value = %q after changing a result, want login", agg.Latest[0].Value)
	}
}

// testRunsAppendOrder: runs are listed newest appended first, even when
// their Times disagree.
func testRunsAppendOrder(t *testing.T, s store.Store) {
	rs := runsOf(t, s)
	mustAppend(t, rs, &store.Run{ID: runID(1), Type: "T", Time: at(2 * time.Second)})
	mustAppend(t, rs, &store.Run{ID: runID(2), Type: "T", Time: at(time.Second)})
	mustAppend(t, rs, &store.Run{ID: runID(3), Type: "T", Time: at(3 * time.Second)})
	got := runIDs(mustList(t, rs, store.RunQuery{}).Runs)
	if want := []string{runID(3), runID(2), runID(1)}; !slices.Equal(got, want) {
		t.Errorf("order = %v, want %v", got, want)
	}
}

// testAppendConcurrent: concurrent appends all land.
func testAppendConcurrent(t *testing.T, s store.Store) {
	rs := runsOf(t, s)
	const n = 32
	errs := concurrently(n, func(i int) error {
		return rs.AppendRun(t.Context(), &store.Run{ID: runID(i), Type: "T", UserID: userID(i % 3), Time: at(time.Duration(i) * time.Second),
			Entries: []store.Entry{num("v", float64(i), base)}})
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("append %d: %v", i, err)
		}
	}
	page := mustList(t, rs, store.RunQuery{Limit: 1000})
	if page.Total != n || len(page.Runs) != n {
		t.Fatalf("page = %d runs of %d, want %d", len(page.Runs), page.Total, n)
	}
	agg := mustAggregate(t, rs, store.Aggregation{Key: "v", Summary: true})
	if agg.Summary.Numbers != n || agg.Summary.Sum != n*(n-1)/2 {
		t.Errorf("summary = %+v, want %d numbers summing to %d", agg.Summary, n, n*(n-1)/2)
	}
}

// testAppendConcurrentDuplicate: of many concurrent appends of one ID,
// exactly one succeeds.
func testAppendConcurrentDuplicate(t *testing.T, s store.Store) {
	rs := runsOf(t, s)
	const n = 16
	errs := concurrently(n, func(i int) error {
		return rs.AppendRun(t.Context(), &store.Run{ID: runID(1), Type: "T", Time: base, Entries: []store.Entry{num("v", float64(i), base)}})
	})
	ok, matched, other := tally(errs, store.ErrConflict)
	if ok != 1 || matched[0] != n-1 || len(other) > 0 {
		t.Fatalf("%d successes, %d conflicts, other errors %v; want 1 and %d", ok, matched[0], other, n-1)
	}
	if agg := mustAggregate(t, rs, store.Aggregation{Key: "v", Summary: true}); agg.Summary.Entries != 1 {
		t.Errorf("%d entries stored, want the winner's 1", agg.Summary.Entries)
	}
}

// logFixture appends runs 1-10 (see the table) and returns them as a store
// hands them back, by number.
//
//	n  type       user  minute  entries
//	1  AUTH       u1    1       event=login   outcome=success
//	2  AUTH       u2    2       event=login   outcome=failure
//	3  RETRIEVAL  u1    3       search_latency=0.5
//	4  AUTH       -     4       event=login   outcome=failure
//	5  AUTH       u1    5       event=refresh outcome=success
//	6  RETRIEVAL  u2    6       search_latency=1.5
//	7  AUTH       u1    7       event=login   outcome=failure
//	8  RETRIEVAL  -     8       search_latency=0.25
//	9  AUTH       u2    9       event=logout  outcome=success
//	10 AUTH       u1    10      event=login   outcome=success
func logFixture(tb testing.TB, rs store.Runs) map[int]store.Run {
	tb.Helper()
	type row struct {
		typ, event, outcome string
		user                int
		latency             float64
	}
	rows := []row{
		1: {"AUTH", "login", "success", 1, 0}, 2: {"AUTH", "login", "failure", 2, 0},
		3: {"RETRIEVAL", "", "", 1, 0.5}, 4: {"AUTH", "login", "failure", 0, 0},
		5: {"AUTH", "refresh", "success", 1, 0}, 6: {"RETRIEVAL", "", "", 2, 1.5},
		7: {"AUTH", "login", "failure", 1, 0}, 8: {"RETRIEVAL", "", "", 0, 0.25},
		9: {"AUTH", "logout", "success", 2, 0}, 10: {"AUTH", "login", "success", 1, 0},
	}
	runs := make(map[int]store.Run)
	for n := 1; n < len(rows); n++ {
		w := rows[n]
		tm := at(time.Duration(n) * time.Minute).In(elsewhere)
		r := &store.Run{ID: runID(n), Type: w.typ, Time: tm}
		if w.user != 0 {
			r.UserID = userID(w.user)
		}
		if w.typ == "AUTH" {
			r.Entries = []store.Entry{text("event", w.event, tm), text("outcome", w.outcome, tm)}
		} else {
			r.Entries = []store.Entry{num("search_latency", w.latency, tm)}
		}
		mustAppend(tb, rs, r)
		runs[n] = utcRun(*r)
	}
	return runs
}

func listRunTests() []test {
	u1, u2 := userID(1), userID(2)
	minute := func(n int) time.Time { return at(time.Duration(n) * time.Minute) }
	cases := []struct {
		name  string
		query store.RunQuery
		want  []int // run numbers, newest first
		total int
	}{
		{"All", store.RunQuery{}, []int{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, 10},
		{"Limit", store.RunQuery{Limit: 3}, []int{10, 9, 8}, 10},
		{"Offset", store.RunQuery{Offset: 2, Limit: 3}, []int{8, 7, 6}, 10},
		{"OffsetToEnd", store.RunQuery{Offset: 8}, []int{2, 1}, 10},
		{"PastEnd", store.RunQuery{Offset: 10}, nil, 10},
		{"FarPastEnd", store.RunQuery{Offset: 1000, Limit: 5}, nil, 10},
		{"Type", store.RunQuery{RunFilter: store.RunFilter{Types: []string{"AUTH"}}}, []int{10, 9, 7, 5, 4, 2, 1}, 7},
		{"TypeWithOffset", store.RunQuery{RunFilter: store.RunFilter{Types: []string{"AUTH"}}, Offset: 2, Limit: 2}, []int{7, 5}, 7},
		{"TypePastEnd", store.RunQuery{RunFilter: store.RunFilter{Types: []string{"RETRIEVAL"}}, Offset: 3}, nil, 3},
		{"Types", store.RunQuery{RunFilter: store.RunFilter{Types: []string{"RETRIEVAL", "AUTH"}}, Offset: 1, Limit: 3}, []int{9, 8, 7}, 10},
		{"UnknownType", store.RunQuery{RunFilter: store.RunFilter{Types: []string{"NOPE"}}}, nil, 0},
		{"User", store.RunQuery{RunFilter: store.RunFilter{UserIDs: []string{u1}}}, []int{10, 7, 5, 3, 1}, 5},
		{"UserWithOffset", store.RunQuery{RunFilter: store.RunFilter{UserIDs: []string{u1}}, Offset: 1, Limit: 2}, []int{7, 5}, 5},
		{"Users", store.RunQuery{RunFilter: store.RunFilter{UserIDs: []string{u2, unknownID, u1}}}, []int{10, 9, 7, 6, 5, 3, 2, 1}, 8},
		{"UserAndType", store.RunQuery{RunFilter: store.RunFilter{UserIDs: []string{u1}, Types: []string{"AUTH"}}}, []int{10, 7, 5, 1}, 4},
		{"TimeWindow", store.RunQuery{RunFilter: store.RunFilter{Since: minute(3), Until: minute(7)}}, []int{6, 5, 4, 3}, 4},
		{"SinceOnly", store.RunQuery{RunFilter: store.RunFilter{Since: minute(9).In(elsewhere)}}, []int{10, 9}, 2},
		{"UntilOnly", store.RunQuery{RunFilter: store.RunFilter{Until: minute(2).Add(time.Microsecond)}}, []int{2, 1}, 2},
		{"Has", store.RunQuery{RunFilter: store.RunFilter{Has: map[string]string{"event": "login"}}}, []int{10, 7, 4, 2, 1}, 5},
		{"HasAll", store.RunQuery{RunFilter: store.RunFilter{Has: map[string]string{"event": "login", "outcome": "failure"}}}, []int{7, 4, 2}, 3},
		{"HasAndUser", store.RunQuery{RunFilter: store.RunFilter{UserIDs: []string{u1}, Has: map[string]string{"event": "login"}}, Limit: 2}, []int{10, 7}, 3},
		{"HasNumberAsText", store.RunQuery{RunFilter: store.RunFilter{Has: map[string]string{"search_latency": "0.5"}}}, []int{3}, 1},
		{"Before", store.RunQuery{Before: runID(8)}, []int{7, 6, 5, 4, 3, 2, 1}, 10},
		{"BeforeWithOffset", store.RunQuery{Before: runID(8), Offset: 2, Limit: 2}, []int{5, 4}, 10},
		{"BeforeWithType", store.RunQuery{Before: runID(5), RunFilter: store.RunFilter{Types: []string{"AUTH"}}}, []int{4, 2, 1}, 7},
		{"BeforeNonMember", store.RunQuery{Before: runID(6), RunFilter: store.RunFilter{Types: []string{"AUTH"}}, Limit: 2}, []int{5, 4}, 7},
		{"BeforeWithUser", store.RunQuery{Before: runID(3), RunFilter: store.RunFilter{UserIDs: []string{u1}}}, []int{1}, 5},
		{"BeforeOldest", store.RunQuery{Before: runID(1)}, nil, 10},
	}
	var tests []test
	for _, tc := range cases {
		tests = append(tests, test{name: tc.name, run: func(t *testing.T, s store.Store) {
			rs := runsOf(t, s)
			runs := logFixture(t, rs)
			page := mustList(t, rs, tc.query)
			if page.Total != tc.total {
				t.Errorf("Total = %d, want %d", page.Total, tc.total)
			}
			want := make([]store.Run, len(tc.want))
			for i, n := range tc.want {
				want[i] = runs[n]
			}
			if got, w := runIDs(page.Runs), runIDs(want); !slices.Equal(got, w) {
				t.Fatalf("runs = %v, want %v", got, w)
			}
			checkEqual(t, "page", page.Runs, want)
		}})
	}
	return tests
}

// testListRunsDefaultLimit: a Limit ≤ 0 means 100.
func testListRunsDefaultLimit(t *testing.T, s store.Store) {
	rs := runsOf(t, s)
	for n := range 120 {
		mustAppend(t, rs, &store.Run{ID: runID(n), Type: "T", Time: at(time.Duration(n) * time.Second)})
	}
	for _, limit := range []int{0, -1} {
		page := mustList(t, rs, store.RunQuery{Limit: limit})
		if len(page.Runs) != 100 || page.Total != 120 {
			t.Errorf("Limit %d: %d runs of %d, want 100 of 120", limit, len(page.Runs), page.Total)
		}
		if len(page.Runs) > 0 && page.Runs[0].ID != runID(119) {
			t.Errorf("Limit %d: first run %s, want %s", limit, page.Runs[0].ID, runID(119))
		}
	}
}

// testListRunsUnknownCursor: a Before that names no run is ErrNotFound.
func testListRunsUnknownCursor(t *testing.T, s store.Store) {
	rs := runsOf(t, s)
	logFixture(t, rs)
	_, err := rs.ListRuns(t.Context(), store.RunQuery{Before: unknownID})
	wantErr(t, "ListRuns(unknown cursor)", err, store.ErrNotFound)
}

// statsValues are the "latency" values of the stats fixture, in append
// order: sorted they are 2 4 4 4 5 5 7 9 (mean 5, Σ(x−mean)² = 32).
var (
	statsValues = []float64{5, 2, 9, 4, 7, 4, 5, 4}
	statsModels = []string{"b", "a", "b", "B", "a", "b", "c", "a"}
)

// statsFixture appends runs 0-7 of type RETRIEVAL, one a minute, user 1
// for even numbers and user 2 for odd ones, each with a numeric "latency"
// (statsValues) and a text "model" (statsModels); run 8 (RETRIEVAL, user
// 1) whose latency is "n/a"; and run 9 (AUTH, user 1) with latency 100.
func statsFixture(tb testing.TB, rs store.Runs) {
	tb.Helper()
	for i, v := range statsValues {
		tm := at(time.Duration(i) * time.Minute)
		mustAppend(tb, rs, &store.Run{ID: runID(i), Type: "RETRIEVAL", UserID: userID(i%2 + 1), Time: tm,
			Entries: []store.Entry{num("latency", v, tm), text("model", statsModels[i], tm)}})
	}
	mustAppend(tb, rs, &store.Run{ID: runID(8), Type: "RETRIEVAL", UserID: userID(1), Time: at(8 * time.Minute),
		Entries: []store.Entry{text("latency", "n/a", at(8*time.Minute))}})
	mustAppend(tb, rs, &store.Run{ID: runID(9), Type: "AUTH", UserID: userID(1), Time: at(9 * time.Minute),
		Entries: []store.Entry{num("latency", 100, at(9*time.Minute))}})
}

// retrieval restricts an Aggregation of "latency" to RETRIEVAL runs.
func retrieval(a store.Aggregation) store.Aggregation {
	a.Key = "latency"
	a.Types = []string{"RETRIEVAL"}
	return a
}

func aggregateTests() []test {
	u1 := userID(1)
	cases := []struct {
		name    string
		agg     store.Aggregation
		summary *store.Summary
		check   func(t *testing.T, got *store.Aggregate)
	}{
		{name: "Summary", agg: retrieval(store.Aggregation{Summary: true}),
			summary: &store.Summary{Entries: 9, Numbers: 8, Sum: 40, Min: 2, Max: 9, SumSquares: 32}},
		{name: "SummaryAllTypes", agg: store.Aggregation{Key: "latency", Summary: true},
			summary: &store.Summary{Entries: 10, Numbers: 9, Sum: 140, Min: 2, Max: 100, SumSquares: 10232 - 140.0*140/9}},
		{name: "SummaryNotAsked", agg: retrieval(store.Aggregation{}), summary: &store.Summary{}},
		{name: "FilterUser", agg: retrieval(store.Aggregation{Summary: true, RunFilter: store.RunFilter{UserIDs: []string{u1}}}),
			summary: &store.Summary{Entries: 5, Numbers: 4, Sum: 26, Min: 5, Max: 9, SumSquares: 11}},
		{name: "FilterTimeWindow", agg: retrieval(store.Aggregation{Summary: true, RunFilter: store.RunFilter{Since: at(2 * time.Minute), Until: at(5 * time.Minute)}}),
			summary: &store.Summary{Entries: 3, Numbers: 3, Sum: 20, Min: 4, Max: 9, SumSquares: 146 - 400.0/3}},
		{name: "FilterHas", agg: retrieval(store.Aggregation{Summary: true, RunFilter: store.RunFilter{Has: map[string]string{"model": "a"}}}),
			summary: &store.Summary{Entries: 3, Numbers: 3, Sum: 13, Min: 2, Max: 7, SumSquares: 69 - 169.0/3}},
		{name: "EmptyPopulation", agg: store.Aggregation{Key: "missing", Summary: true, Quantiles: []float64{0.5}, TopNumbers: 3, TopValues: 3, Edges: []float64{1}, Latest: 5},
			summary: &store.Summary{},
			check: func(t *testing.T, got *store.Aggregate) {
				if len(got.Quantiles) != 0 || len(got.TopNumbers) != 0 || len(got.TopValues) != 0 || len(got.Latest) != 0 {
					t.Errorf("empty population: %+v", got)
				}
				if !slices.Equal(got.Histogram, []int{0, 0}) {
					t.Errorf("Histogram = %v, want [0 0]", got.Histogram)
				}
			}},
		{name: "TextOnly", agg: store.Aggregation{Key: "model", Summary: true, Quantiles: []float64{0.5}, TopNumbers: 3},
			summary: &store.Summary{Entries: 8},
			check: func(t *testing.T, got *store.Aggregate) {
				if len(got.Quantiles) != 0 || len(got.TopNumbers) != 0 {
					t.Errorf("quantiles %v, top numbers %v of text values; want none", got.Quantiles, got.TopNumbers)
				}
			}},
		{name: "Quantiles", agg: retrieval(store.Aggregation{Quantiles: []float64{0, 0.5, 1, 0.25, 0.9}}),
			check: func(t *testing.T, got *store.Aggregate) {
				// Sorted: 2 4 4 4 5 5 7 9. 0.5·7 = 3.5 → ranks 3 and 4;
				// 0.25·7 = 1.75 → 1 and 2; 0.9·7 = 6.3 → 6 and 7.
				want := []store.Quantile{quant(2, 2), quant(4, 5), quant(9, 9), quant(4, 4), quant(7, 9)}
				if !slices.Equal(got.Quantiles, want) {
					t.Errorf("Quantiles = %v, want %v", got.Quantiles, want)
				}
			}},
		{name: "TopNumbers", agg: retrieval(store.Aggregation{TopNumbers: 2}),
			check: func(t *testing.T, got *store.Aggregate) {
				if want := []store.NumberCount{numCount(4, 3), numCount(5, 2)}; !slices.Equal(got.TopNumbers, want) {
					t.Errorf("TopNumbers = %v, want %v", got.TopNumbers, want)
				}
			}},
		{name: "TopNumbersTies", agg: retrieval(store.Aggregation{TopNumbers: 10}),
			check: func(t *testing.T, got *store.Aggregate) {
				if want := []store.NumberCount{numCount(4, 3), numCount(5, 2), numCount(2, 1), numCount(7, 1), numCount(9, 1)}; !slices.Equal(got.TopNumbers, want) {
					t.Errorf("TopNumbers = %v, want %v", got.TopNumbers, want)
				}
			}},
		{name: "TopValues", agg: store.Aggregation{Key: "model", TopValues: 10},
			check: func(t *testing.T, got *store.Aggregate) {
				// Ties by byte order: "B" sorts before "c", "a" before "b".
				if want := []store.ValueCount{valCount("a", 3), valCount("b", 3), valCount("B", 1), valCount("c", 1)}; !slices.Equal(got.TopValues, want) {
					t.Errorf("TopValues = %v, want %v", got.TopValues, want)
				}
			}},
		{name: "TopValuesMixed", agg: retrieval(store.Aggregation{TopValues: 3}),
			check: func(t *testing.T, got *store.Aggregate) {
				if want := []store.ValueCount{valCount("4", 3), valCount("5", 2), valCount("2", 1)}; !slices.Equal(got.TopValues, want) {
					t.Errorf("TopValues = %v, want %v", got.TopValues, want)
				}
			}},
		{name: "Histogram", agg: retrieval(store.Aggregation{Edges: []float64{3, 5, 8}}),
			check: func(t *testing.T, got *store.Aggregate) {
				// <3: 2 | [3,5): 4 4 4 | [5,8): 5 5 7 | ≥8: 9.
				if want := []int{1, 3, 3, 1}; !slices.Equal(got.Histogram, want) {
					t.Errorf("Histogram = %v, want %v", got.Histogram, want)
				}
			}},
		{name: "HistogramOneEdge", agg: retrieval(store.Aggregation{Edges: []float64{4}}),
			check: func(t *testing.T, got *store.Aggregate) {
				if want := []int{1, 7}; !slices.Equal(got.Histogram, want) {
					t.Errorf("Histogram = %v, want %v", got.Histogram, want)
				}
			}},
		{name: "Latest", agg: retrieval(store.Aggregation{Latest: 3}),
			check: func(t *testing.T, got *store.Aggregate) {
				want := []store.LoggedEntry{
					{RunID: runID(8), RunType: "RETRIEVAL", UserID: u1, Entry: text("latency", "n/a", at(8*time.Minute))},
					{RunID: runID(7), RunType: "RETRIEVAL", UserID: userID(2), Entry: num("latency", 4, at(7*time.Minute))},
					{RunID: runID(6), RunType: "RETRIEVAL", UserID: u1, Entry: num("latency", 5, at(6*time.Minute))},
				}
				checkEqual(t, "Latest", got.Latest, want)
			}},
	}
	var tests []test
	for _, tc := range cases {
		tests = append(tests, test{name: tc.name, run: func(t *testing.T, s store.Store) {
			rs := runsOf(t, s)
			statsFixture(t, rs)
			got := mustAggregate(t, rs, tc.agg)
			if tc.summary != nil {
				checkSummary(t, got.Summary, *tc.summary)
			}
			if tc.check != nil {
				tc.check(t, got)
			}
		}})
	}
	return append(tests,
		test{name: "SumSquaresAccuracy", run: testSumSquaresAccuracy},
		test{name: "SingleValue", run: testAggregateSingleValue},
		test{name: "QuantileRanksAsR2R", run: testQuantileRanksAsR2R},
		test{name: "FilterShare", run: testAggregateFilterShare},
		test{name: "LatestWithinRun", run: testLatestWithinRun},
		test{name: "NumericFlagDecides", run: testNumericFlagDecides},
		test{name: "TimeWindowOnly", run: testAggregateTimeWindowOnly},
	)
}

// testAggregateTimeWindowOnly: a filter that is only a time window selects
// the runs whose Time is in it, whatever their order in the log (a SQL
// store may translate a window into a range of the log when its runs are
// one). Runs 0…9 have x = their number and Time their number of minutes,
// except that run 5 was recorded with a clock 10 minutes behind.
func testAggregateTimeWindowOnly(t *testing.T, s store.Store) {
	rs := runsOf(t, s)
	for i := range 10 {
		tm := at(time.Duration(i) * time.Minute)
		if i == 5 {
			tm = tm.Add(-10 * time.Minute)
		}
		mustAppend(t, rs, &store.Run{ID: runID(i), Type: []string{"A", "B"}[i%2], Time: tm, Entries: []store.Entry{num("x", float64(i), tm)}})
	}
	for _, c := range []struct {
		name         string
		since, until time.Duration
		want         []float64 // the x selected
	}{
		{"InOrder", 6 * time.Minute, 9 * time.Minute, []float64{6, 7, 8}},
		{"SinceOnly", 7 * time.Minute, 0, []float64{7, 8, 9}},
		{"AcrossTheLateRun", 3 * time.Minute, 8 * time.Minute, []float64{3, 4, 6, 7}},
		{"TheLateRunAlone", -6 * time.Minute, -4 * time.Minute, []float64{5}},
		{"Empty", 20 * time.Minute, 30 * time.Minute, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := store.RunFilter{Since: at(c.since)}
			if c.until != 0 {
				f.Until = at(c.until)
			}
			got := mustAggregate(t, rs, store.Aggregation{Key: "x", Summary: true, Quantiles: []float64{0, 1}, RunFilter: f})
			want := store.Summary{Entries: len(c.want), Numbers: len(c.want)}
			for _, x := range c.want {
				want.Sum += x
			}
			if len(c.want) > 0 {
				want.Min, want.Max = slices.Min(c.want), slices.Max(c.want)
				mean := want.Sum / float64(len(c.want))
				for _, x := range c.want {
					want.SumSquares += (x - mean) * (x - mean)
				}
				if wq := []store.Quantile{quant(want.Min, want.Min), quant(want.Max, want.Max)}; !slices.Equal(got.Quantiles, wq) {
					t.Errorf("Quantiles = %v, want %v", got.Quantiles, wq)
				}
			}
			checkSummary(t, got.Summary, want)
		})
	}
}

// checkSummary compares summaries, the float sums within a relative 1e-9.
func checkSummary(tb testing.TB, got, want store.Summary) {
	tb.Helper()
	if got.Entries != want.Entries || got.Numbers != want.Numbers {
		tb.Errorf("Summary counts = %d entries, %d numbers; want %d, %d", got.Entries, got.Numbers, want.Entries, want.Numbers)
	}
	for _, f := range []struct {
		name      string
		got, want float64
	}{{"Sum", got.Sum, want.Sum}, {"Min", got.Min, want.Min}, {"Max", got.Max, want.Max}, {"SumSquares", got.SumSquares, want.SumSquares}} {
		if !near(f.got, f.want) {
			tb.Errorf("Summary.%s = %v, want %v", f.name, f.got, f.want)
		}
	}
}

func quant(lo, hi float64) store.Quantile         { return store.Quantile{Lower: lo, Upper: hi} }
func numCount(x float64, n int) store.NumberCount { return store.NumberCount{Number: x, Count: n} }
func valCount(v string, n int) store.ValueCount   { return store.ValueCount{Value: v, Count: n} }

func near(got, want float64) bool {
	return math.Abs(got-want) <= 1e-9*math.Max(1, math.Abs(want))
}

// testSumSquaresAccuracy: large values with a small spread, where
// Σx² − (Σx)²/n loses every digit in float64.
func testSumSquaresAccuracy(t *testing.T, s store.Store) {
	rs := runsOf(t, s)
	for i, d := range []float64{4, 7, 13, 16} {
		mustAppend(t, rs, &store.Run{ID: runID(i), Type: "T", Time: base, Entries: []store.Entry{num("x", 1e9+d, base)}})
	}
	got := mustAggregate(t, rs, store.Aggregation{Key: "x", Summary: true}).Summary
	// Mean 1e9+10, deviations −6 −3 3 6.
	if math.Abs(got.SumSquares-90) > 1e-3 {
		t.Errorf("SumSquares = %v, want 90", got.SumSquares)
	}
	if got.Sum != 4e9+40 || got.Min != 1e9+4 || got.Max != 1e9+16 {
		t.Errorf("Summary = %+v", got)
	}
}

// testAggregateSingleValue: one value is every quantile; it deviates by
// nothing.
func testAggregateSingleValue(t *testing.T, s store.Store) {
	rs := runsOf(t, s)
	mustAppend(t, rs, &store.Run{ID: runID(1), Type: "T", Time: base, Entries: []store.Entry{num("x", 42, base)}})
	got := mustAggregate(t, rs, store.Aggregation{Key: "x", Summary: true, Quantiles: []float64{0, 0.5, 1}, TopNumbers: 5})
	checkSummary(t, got.Summary, store.Summary{Entries: 1, Numbers: 1, Sum: 42, Min: 42, Max: 42})
	if want := []store.Quantile{quant(42, 42), quant(42, 42), quant(42, 42)}; !slices.Equal(got.Quantiles, want) {
		t.Errorf("Quantiles = %v, want %v", got.Quantiles, want)
	}
	if want := []store.NumberCount{numCount(42, 1)}; !slices.Equal(got.TopNumbers, want) {
		t.Errorf("TopNumbers = %v, want %v", got.TopNumbers, want)
	}
}

// testQuantileRanksAsR2R: over the 101 values 0…100, q = 0.29 falls
// between ranks 28 and 29, because 0.29·100 is 28.999999999999996 in
// float64 (R2R's percentile 29 answers 28).
func testQuantileRanksAsR2R(t *testing.T, s store.Store) {
	rs := runsOf(t, s)
	for i := 100; i >= 0; i-- {
		mustAppend(t, rs, &store.Run{ID: runID(i), Type: "T", Time: base, Entries: []store.Entry{num("x", float64(i), base)}})
	}
	got := mustAggregate(t, rs, store.Aggregation{Key: "x", Quantiles: []float64{0.29, 0.5, 0.95, 1}}).Quantiles
	if want := []store.Quantile{quant(28, 29), quant(50, 50), quant(95, 95), quant(100, 100)}; !slices.Equal(got, want) {
		t.Errorf("Quantiles = %v, want %v", got, want)
	}
}

// testAggregateFilterShare: the ordered figures (quantiles, the most
// frequent numbers) are the same whether a run filter keeps a small or a
// large share of the key's entries (a SQL store may walk them differently
// in the two cases). Runs 0…199 have x = their number; the first ten are
// of type "A", the rest of type "B".
func testAggregateFilterShare(t *testing.T, s store.Store) {
	rs := runsOf(t, s)
	for i := range 200 {
		typ := "B"
		if i < 10 {
			typ = "A"
		}
		entries := []store.Entry{num("x", float64(i), base)}
		if i%50 == 7 {
			entries = append(entries, num("x", float64(i), base)) // one repeat per 50 runs
		}
		mustAppend(t, rs, &store.Run{ID: runID(i), Type: typ, Time: base.Add(time.Duration(i) * time.Second), Entries: entries})
	}
	for _, tc := range []struct {
		name  string
		f     store.RunFilter
		quant []store.Quantile
		top   []store.NumberCount
	}{
		// 11 values: 0…9 and a second 7.
		{"Small", store.RunFilter{Types: []string{"A"}}, []store.Quantile{quant(0, 0), quant(5, 5), quant(9, 9)}, []store.NumberCount{numCount(7, 2), numCount(0, 1)}},
		// 193 values: 10…199 and second 57, 107 and 157.
		{"Large", store.RunFilter{Types: []string{"B"}}, []store.Quantile{quant(10, 10), quant(105, 105), quant(199, 199)}, []store.NumberCount{numCount(57, 2), numCount(107, 2)}},
		// 105 values, within a time window: 97…199 and second 107 and 157.
		{"Window", store.RunFilter{Since: base.Add(97 * time.Second), Until: base.Add(200 * time.Second)}, []store.Quantile{quant(97, 97), quant(148, 148), quant(199, 199)}, []store.NumberCount{numCount(107, 2), numCount(157, 2)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := mustAggregate(t, rs, store.Aggregation{Key: "x", RunFilter: tc.f, Quantiles: []float64{0, 0.5, 1}, TopNumbers: 2})
			if !slices.Equal(got.Quantiles, tc.quant) {
				t.Errorf("Quantiles = %v, want %v", got.Quantiles, tc.quant)
			}
			if !slices.Equal(got.TopNumbers, tc.top) {
				t.Errorf("TopNumbers = %v, want %v", got.TopNumbers, tc.top)
			}
		})
	}
}

// testLatestWithinRun: the newest entries are the last ones appended;
// within a run they keep the run's order.
func testLatestWithinRun(t *testing.T, s store.Store) {
	rs := runsOf(t, s)
	x := &store.Run{ID: runID(1), Type: "T", Time: base, Entries: []store.Entry{
		num("k", 1, base), text("other", "o", base), num("k", 2, at(time.Second))}}
	y := &store.Run{ID: runID(2), Type: "T", Time: at(time.Minute), Entries: []store.Entry{num("k", 3, at(time.Minute))}}
	mustAppend(t, rs, x)
	mustAppend(t, rs, y)
	entry := func(r *store.Run, i int) store.LoggedEntry {
		return store.LoggedEntry{RunID: r.ID, RunType: r.Type, Entry: r.Entries[i]}
	}
	checkEqual(t, "Latest 10", mustAggregate(t, rs, store.Aggregation{Key: "k", Latest: 10}).Latest,
		[]store.LoggedEntry{entry(y, 0), entry(x, 0), entry(x, 2)})
	checkEqual(t, "Latest 2", mustAggregate(t, rs, store.Aggregation{Key: "k", Latest: 2}).Latest,
		[]store.LoggedEntry{entry(y, 0), entry(x, 2)})
}

// testNumericFlagDecides: the store trusts Entry.Numeric; a value that
// merely looks like a number is text.
func testNumericFlagDecides(t *testing.T, s store.Store) {
	rs := runsOf(t, s)
	mustAppend(t, rs, &store.Run{ID: runID(1), Type: "T", Time: base, Entries: []store.Entry{text("x", "7", base), num("x", 3, base)}})
	got := mustAggregate(t, rs, store.Aggregation{Key: "x", Summary: true, TopValues: 5})
	checkSummary(t, got.Summary, store.Summary{Entries: 2, Numbers: 1, Sum: 3, Min: 3, Max: 3})
	if want := []store.ValueCount{valCount("3", 1), valCount("7", 1)}; !slices.Equal(got.TopValues, want) {
		t.Errorf("TopValues = %v, want %v", got.TopValues, want)
	}
}

func countByUserTests() []test {
	u1, u2, u3 := userID(1), userID(2), userID(3)
	failedLogins := map[string]string{"event": "login", "outcome": "failure"}
	cases := []struct {
		name   string
		filter store.RunFilter
		want   map[string]int
	}{
		{"FailedLogins", store.RunFilter{UserIDs: []string{u1, u2, u3}, Types: []string{"AUTH"}, Has: failedLogins}, map[string]int{u1: 1, u2: 1}},
		{"Logins", store.RunFilter{UserIDs: []string{u1}, Has: map[string]string{"event": "login"}}, map[string]int{u1: 3}},
		{"Since", store.RunFilter{UserIDs: []string{u1, u2}, Types: []string{"AUTH"}, Since: at(6 * time.Minute)}, map[string]int{u1: 2, u2: 1}},
		{"Until", store.RunFilter{UserIDs: []string{u1, u2}, Until: at(3 * time.Minute)}, map[string]int{u1: 1, u2: 1}},
		{"AllUsers", store.RunFilter{Types: []string{"AUTH"}}, map[string]int{u1: 4, u2: 2}},
		{"Duplicated", store.RunFilter{UserIDs: []string{u1, u1}}, map[string]int{u1: 5}},
		{"Nobody", store.RunFilter{UserIDs: []string{u3}}, map[string]int{}},
	}
	var tests []test
	for _, tc := range cases {
		tests = append(tests, test{name: tc.name, run: func(t *testing.T, s store.Store) {
			rs := runsOf(t, s)
			logFixture(t, rs)
			got, err := rs.CountRunsByUser(t.Context(), tc.filter)
			if err != nil {
				t.Fatalf("CountRunsByUser: %v", err)
			}
			if len(got) != len(tc.want) {
				t.Errorf("counts = %v, want %v", got, tc.want)
			}
			for u, n := range tc.want {
				if got[u] != n {
					t.Errorf("counts = %v, want %v", got, tc.want)
					break
				}
			}
		}})
	}
	return tests
}

// testDeleteRunsFrontOnly: only runs at the front of the log go; a run
// older than before behind a newer one waits for a later call.
func testDeleteRunsFrontOnly(t *testing.T, s store.Store) {
	rs := runsOf(t, s)
	// Appended with minutes 1, 2, 0, 5, 3; runs 1-3 are type A, 4-5 type B.
	minutes := []int{1, 2, 0, 5, 3}
	for i, m := range minutes {
		typ := "A"
		if i >= 3 {
			typ = "B"
		}
		tm := at(time.Duration(m) * time.Minute)
		mustAppend(t, rs, &store.Run{ID: runID(i + 1), Type: typ, UserID: userID(1), Time: tm,
			Entries: []store.Entry{num("x", float64(m), tm)}})
	}
	del := func(before time.Time, want int) {
		t.Helper()
		n, err := rs.DeleteRunsBefore(t.Context(), before)
		if err != nil || n != want {
			t.Fatalf("DeleteRunsBefore(%v) = %d, %v; want %d", before, n, err, want)
		}
	}
	del(at(4*time.Minute), 3)
	page := mustList(t, rs, store.RunQuery{})
	if got, want := runIDs(page.Runs), []string{runID(5), runID(4)}; !slices.Equal(got, want) || page.Total != 2 {
		t.Fatalf("after the first purge: runs %v of %d, want %v of 2", got, page.Total, want)
	}
	// Run 5 (minute 3) is old but sits behind run 4 (minute 5).
	del(at(4*time.Minute), 0)
	// Everything that remains is still reachable by offset, type and
	// cursor, and gone runs are gone from every view.
	if p := mustList(t, rs, store.RunQuery{Offset: 1}); !slices.Equal(runIDs(p.Runs), []string{runID(4)}) {
		t.Errorf("offset 1 after purge: %v", runIDs(p.Runs))
	}
	if p := mustList(t, rs, store.RunQuery{RunFilter: store.RunFilter{Types: []string{"A"}}}); len(p.Runs) != 0 || p.Total != 0 {
		t.Errorf("type A after purge: %v of %d, want none", runIDs(p.Runs), p.Total)
	}
	if p := mustList(t, rs, store.RunQuery{RunFilter: store.RunFilter{Types: []string{"B"}}, Offset: 1}); !slices.Equal(runIDs(p.Runs), []string{runID(4)}) || p.Total != 2 {
		t.Errorf("type B offset 1 after purge: %v of %d, want [%s] of 2", runIDs(p.Runs), p.Total, runID(4))
	}
	_, err := rs.ListRuns(t.Context(), store.RunQuery{Before: runID(2)})
	wantErr(t, "ListRuns(cursor on a deleted run)", err, store.ErrNotFound)
	agg := mustAggregate(t, rs, store.Aggregation{Key: "x", Summary: true, Latest: 10})
	checkSummary(t, agg.Summary, store.Summary{Entries: 2, Numbers: 2, Sum: 8, Min: 3, Max: 5, SumSquares: 2})
	if len(agg.Latest) != 2 {
		t.Errorf("Latest has %d entries, want 2", len(agg.Latest))
	}
	counts, err := rs.CountRunsByUser(t.Context(), store.RunFilter{UserIDs: []string{userID(1)}})
	if err != nil || counts[userID(1)] != 2 {
		t.Errorf("CountRunsByUser = %v, %v; want 2", counts, err)
	}
	// A new run goes to the end; the straggler goes once it is in front.
	mustAppend(t, rs, &store.Run{ID: runID(6), Type: "A", Time: at(time.Hour)})
	del(at(6*time.Minute), 2)
	if p := mustList(t, rs, store.RunQuery{}); !slices.Equal(runIDs(p.Runs), []string{runID(6)}) || p.Total != 1 {
		t.Errorf("after the last purge: %v of %d, want [%s]", runIDs(p.Runs), p.Total, runID(6))
	}
}

// testDeleteRunsBoundary: a run whose Time equals before stays.
func testDeleteRunsBoundary(t *testing.T, s store.Store) {
	rs := runsOf(t, s)
	mustAppend(t, rs, &store.Run{ID: runID(1), Type: "T", Time: base.Add(-time.Microsecond)})
	mustAppend(t, rs, &store.Run{ID: runID(2), Type: "T", Time: base})
	n, err := rs.DeleteRunsBefore(t.Context(), base.In(elsewhere))
	if err != nil || n != 1 {
		t.Fatalf("DeleteRunsBefore = %d, %v; want 1", n, err)
	}
	if p := mustList(t, rs, store.RunQuery{}); !slices.Equal(runIDs(p.Runs), []string{runID(2)}) {
		t.Errorf("runs = %v, want [%s]", runIDs(p.Runs), runID(2))
	}
}

// testDeleteRunsEmpty: nothing to delete is not an error.
func testDeleteRunsEmpty(t *testing.T, s store.Store) {
	rs := runsOf(t, s)
	n, err := rs.DeleteRunsBefore(t.Context(), base)
	if err != nil || n != 0 {
		t.Fatalf("DeleteRunsBefore = %d, %v; want 0", n, err)
	}
}

// testDeleteRunsEverything: after deleting every run the store is empty
// and usable; IDs of deleted runs may be used again.
func testDeleteRunsEverything(t *testing.T, s store.Store) {
	rs := runsOf(t, s)
	logFixture(t, rs)
	n, err := rs.DeleteRunsBefore(t.Context(), at(time.Hour))
	if err != nil || n != 10 {
		t.Fatalf("DeleteRunsBefore = %d, %v; want 10", n, err)
	}
	if p := mustList(t, rs, store.RunQuery{}); len(p.Runs) != 0 || p.Total != 0 {
		t.Fatalf("after deleting everything: %v of %d", runIDs(p.Runs), p.Total)
	}
	if agg := mustAggregate(t, rs, store.Aggregation{Key: "event", Summary: true}); agg.Summary.Entries != 0 {
		t.Errorf("entries left: %+v", agg.Summary)
	}
	if err := rs.AppendRun(t.Context(), &store.Run{ID: runID(1), Type: "AUTH", Time: at(2 * time.Hour)}); err != nil {
		t.Fatalf("AppendRun with a deleted run's ID: %v", err)
	}
	if p := mustList(t, rs, store.RunQuery{RunFilter: store.RunFilter{Types: []string{"AUTH"}}}); p.Total != 1 {
		t.Errorf("Total = %d after appending again, want 1", p.Total)
	}
}
