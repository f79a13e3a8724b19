package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

func runBatchTests() []test {
	return []test{
		{name: "One", run: testBatchOne},
		{name: "Thousand", run: testBatchThousand},
		{name: "Empty", run: testBatchEmpty},
		{name: "AwkwardValues", run: testBatchAwkwardValues},
		{name: "NoAliasing", run: testBatchNoAliasing},
		{name: "DuplicateInBatch", run: testBatchDuplicateInBatch},
		{name: "DuplicateOfStored", run: testBatchDuplicateOfStored},
		{name: "NilRun", run: testBatchNilRun},
		{name: "MixedWithAppendRun", run: testBatchMixed},
		{name: "Concurrent", run: testBatchConcurrent},
	}
}

// runBatch returns s as a store.Runs and a store.RunBatch, or skips the
// test.
func runBatch(tb testing.TB, s store.Store) (store.Runs, store.RunBatch) {
	tb.Helper()
	rs := runsOf(tb, s)
	b, ok := s.(store.RunBatch)
	if !ok {
		tb.Skipf("%T does not implement store.RunBatch", s)
	}
	return rs, b
}

func mustAppendRuns(tb testing.TB, b store.RunBatch, runs []*store.Run) {
	tb.Helper()
	if err := b.AppendRuns(tb.Context(), runs); err != nil {
		tb.Fatalf("AppendRuns(%d runs): %v", len(runs), err)
	}
}

// allRuns lists every stored run, newest first, and checks Total.
func allRuns(tb testing.TB, rs store.Runs, want int) []store.Run {
	tb.Helper()
	page := mustList(tb, rs, store.RunQuery{Limit: want + 10})
	if page.Total != want || len(page.Runs) != want {
		tb.Fatalf("stored: %d runs listed of %d, want %d", len(page.Runs), page.Total, want)
	}
	return page.Runs
}

// batchRun returns run n of a batch: type A or B by n's parity, with a
// number of entries that depends on n (none for every fifth).
func batchRun(n int) *store.Run {
	t := at(time.Duration(n) * time.Second).In(elsewhere)
	r := &store.Run{ID: runID(n), Type: []string{"A", "B"}[n%2], UserID: userID(n % 7), Time: t}
	for j := range n % 5 * 2 {
		r.Entries = append(r.Entries, num("v", float64(n), t.Add(time.Duration(j)*time.Microsecond)))
	}
	if n%5 != 0 {
		r.Entries = append(r.Entries, text("event", fmt.Sprintf("e%d", n), t))
	}
	return r
}

// testBatchOne: a batch of one run stores it as AppendRun would.
func testBatchOne(t *testing.T, s store.Store) {
	rs, b := runBatch(t, s)
	r := fullRun(1)
	mustAppendRuns(t, b, []*store.Run{r})
	checkEqual(t, "listed run", allRuns(t, rs, 1)[0], utcRun(*r))
}

// testBatchThousand: a batch of 1,000 runs with 4,800 entries (more than
// one statement's worth of placeholders in every SQL dialect) lands whole,
// in order, with every run's place among its type right.
func testBatchThousand(t *testing.T, s store.Store) {
	rs, b := runBatch(t, s)
	const n = 1000
	batch := make([]*store.Run, n)
	var entries, sum int
	for i := range batch {
		batch[i] = batchRun(i)
		for _, e := range batch[i].Entries {
			if e.Numeric {
				entries++
				sum += int(e.Number)
			}
		}
	}
	mustAppendRuns(t, b, batch)
	got := allRuns(t, rs, n)
	for i, r := range got {
		checkEqual(t, fmt.Sprintf("run %d newest", i), r, utcRun(*batch[n-1-i]))
	}
	agg := mustAggregate(t, rs, store.Aggregation{Key: "v", Summary: true})
	if agg.Summary.Numbers != entries || agg.Summary.Sum != float64(sum) {
		t.Errorf("summary = %+v, want %d numbers summing to %d", agg.Summary, entries, sum)
	}
	// Paging by Offset within one type uses its places among that type.
	for _, typ := range []string{"A", "B"} {
		page := mustList(t, rs, store.RunQuery{RunFilter: store.RunFilter{Types: []string{typ}}, Offset: 100, Limit: 3})
		first := n - 1 - 200 // the 101st newest of the type
		if typ == "A" {
			first--
		}
		want := []string{runID(first), runID(first - 2), runID(first - 4)}
		if page.Total != n/2 || !slices.Equal(runIDs(page.Runs), want) {
			t.Errorf("type %s, offset 100: %v of %d, want %v of %d", typ, runIDs(page.Runs), page.Total, want, n/2)
		}
	}
}

// testBatchAwkwardValues: a batch stores texts that array and list
// syntaxes give a meaning to (quotes, backslashes, braces, commas, NULL,
// spaces, empty), in user IDs, keys and values, and entries without a
// time, with their run's time, and with one of their own, as given.
func testBatchAwkwardValues(t *testing.T, s store.Store) {
	rs, b := runBatch(t, s)
	awkward := []string{`"`, `\`, `\"`, `{}`, `{a,b}`, `,`, `NULL`, `null`, ` padded `, ``, `"NULL"`, `a\b"c{d}e,f`, "tab\there", "Ünïcödé ✓"}
	base := at(time.Hour).In(elsewhere)
	batch := make([]*store.Run, len(awkward))
	for i, v := range awkward {
		t0 := base.Add(time.Duration(i) * time.Second)
		batch[i] = &store.Run{ID: runID(i + 1), Type: "AUTH", UserID: v, Time: t0, Entries: []store.Entry{
			text("value", v, t0),
			text("k "+v, "own time", t0.Add(time.Duration(i+1)*time.Microsecond)),
			text("untimed", v, time.Time{}),
			num("n", float64(i), t0),
		}}
	}
	mustAppendRuns(t, b, batch)
	got := allRuns(t, rs, len(batch))
	for i, r := range got {
		checkEqual(t, fmt.Sprintf("run %d newest", i), r, utcRun(*batch[len(batch)-1-i]))
	}
}

// testBatchEmpty: no runs, no error, nothing stored.
func testBatchEmpty(t *testing.T, s store.Store) {
	rs, b := runBatch(t, s)
	mustAppendRuns(t, b, nil)
	mustAppendRuns(t, b, []*store.Run{})
	allRuns(t, rs, 0)
}

// testBatchNoAliasing: changing the runs after AppendRuns changes nothing
// stored.
func testBatchNoAliasing(t *testing.T, s store.Store) {
	rs, b := runBatch(t, s)
	r := fullRun(1)
	want := utcRun(*r)
	batch := []*store.Run{r}
	mustAppendRuns(t, b, batch)
	r.Type, r.Entries[0].Value = "CHANGED", "changed"
	batch[0] = fullRun(2)
	checkEqual(t, "after changing the input", allRuns(t, rs, 1)[0], want)
}

// checkNoneStored checks that a refused batch left only the runs before
// it, none of its entries, and no hole in the log: the next append goes
// right after the last stored run.
func checkNoneStored(t *testing.T, rs store.Runs, stored []*store.Run) {
	t.Helper()
	got := allRuns(t, rs, len(stored))
	for i, r := range got {
		checkEqual(t, fmt.Sprintf("run %d newest", i), r, utcRun(*stored[len(stored)-1-i]))
	}
	if agg := mustAggregate(t, rs, store.Aggregation{Key: "batch_only", Summary: true}); agg.Summary.Entries != 0 {
		t.Errorf("%d entries of the refused batch are visible", agg.Summary.Entries)
	}
	after := &store.Run{ID: runID(999), Type: "A", Time: base}
	mustAppend(t, rs, after)
	for _, types := range [][]string{nil, {"A"}} {
		var want []string // newest first
		for _, r := range append(slices.Clone(stored), after) {
			if types == nil || r.Type == types[0] {
				want = append([]string{r.ID}, want...)
			}
		}
		for o, id := range want {
			q := store.RunQuery{RunFilter: store.RunFilter{Types: types}, Offset: o, Limit: 1}
			if got := runIDs(mustList(t, rs, q).Runs); !slices.Equal(got, []string{id}) {
				t.Errorf("after the refused batch, ListRuns(offset %d, types %v) = %v, want [%s]", o, types, got, id)
			}
		}
	}
}

func batchOnly(n int) *store.Run {
	return &store.Run{ID: runID(n), Type: "A", Time: at(time.Hour), Entries: []store.Entry{num("batch_only", 1, at(time.Hour))}}
}

// testBatchDuplicateInBatch: two runs of one batch with the same ID fail
// the whole batch with ErrConflict, and none of it is stored.
func testBatchDuplicateInBatch(t *testing.T, s store.Store) {
	rs, b := runBatch(t, s)
	stored := []*store.Run{{ID: runID(1), Type: "A", Time: base}}
	mustAppend(t, rs, stored[0])
	err := b.AppendRuns(t.Context(), []*store.Run{batchOnly(2), batchOnly(3), batchOnly(2)})
	wantErr(t, "AppendRuns(duplicate in batch)", err, store.ErrConflict)
	checkNoneStored(t, rs, stored)
}

// testBatchDuplicateOfStored: a run of a batch with a stored run's ID
// fails the whole batch with ErrConflict; the runs before and after it in
// the batch are not stored either.
func testBatchDuplicateOfStored(t *testing.T, s store.Store) {
	rs, b := runBatch(t, s)
	stored := []*store.Run{{ID: runID(1), Type: "A", Time: base}, {ID: runID(2), Type: "B", Time: base}}
	mustAppend(t, rs, stored[0])
	mustAppend(t, rs, stored[1])
	dup := batchOnly(1)
	err := b.AppendRuns(t.Context(), []*store.Run{batchOnly(3), dup, batchOnly(4)})
	wantErr(t, "AppendRuns(ID of a stored run)", err, store.ErrConflict)
	checkNoneStored(t, rs, stored)
}

// testBatchNilRun: a nil run is an error, and nothing is stored.
func testBatchNilRun(t *testing.T, s store.Store) {
	rs, b := runBatch(t, s)
	if err := b.AppendRuns(t.Context(), []*store.Run{batchOnly(1), nil}); err == nil {
		t.Error("AppendRuns with a nil run succeeded")
	}
	checkNoneStored(t, rs, nil)
}

// testBatchMixed: batches and single appends share one append order.
func testBatchMixed(t *testing.T, s store.Store) {
	rs, b := runBatch(t, s)
	var all []*store.Run
	for i := range 4 {
		single := batchRun(10 * i)
		mustAppend(t, rs, single)
		batch := []*store.Run{batchRun(10*i + 1), batchRun(10*i + 2), batchRun(10*i + 3)}
		mustAppendRuns(t, b, batch)
		all = append(append(all, single), batch...)
	}
	got := allRuns(t, rs, len(all))
	for i, r := range got {
		checkEqual(t, fmt.Sprintf("run %d newest", i), r, utcRun(*all[len(all)-1-i]))
	}
}

// testBatchConcurrent: 50 appenders, each appending batches of its own
// runs one after the other, store every run exactly once, each
// appender's in the order it appended them.
func testBatchConcurrent(t *testing.T, s store.Store) {
	rs, b := runBatch(t, s)
	const appenders, batches, size = 50, 4, 5
	errs := concurrently(appenders, func(i int) error {
		for j := range batches {
			batch := make([]*store.Run, size)
			for k := range batch {
				n := (i*batches+j)*size + k
				batch[k] = &store.Run{ID: runID(n), Type: "T", UserID: userID(i), Time: base, Entries: []store.Entry{num("n", float64(n), base)}}
			}
			if err := b.AppendRuns(t.Context(), batch); err != nil {
				return err
			}
		}
		return nil
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("appender %d: %v", i, err)
		}
	}
	const n = appenders * batches * size
	got := allRuns(t, rs, n)
	seen := make(map[string]bool, n)
	last := make(map[string]int) // per appender, the last run number met, oldest first
	for i := len(got) - 1; i >= 0; i-- {
		r := got[i]
		if seen[r.ID] {
			t.Fatalf("run %s stored twice", r.ID)
		}
		seen[r.ID] = true
		if len(r.Entries) != 1 {
			t.Fatalf("run %s has %d entries, want 1", r.ID, len(r.Entries))
		}
		num := int(r.Entries[0].Number)
		if r.ID != runID(num) {
			t.Fatalf("run %s carries the entry of run %d", r.ID, num)
		}
		if prev, ok := last[r.UserID]; ok && num <= prev {
			t.Errorf("appender %s: run %d stored after run %d", r.UserID, num, prev)
		}
		last[r.UserID] = num
	}
	if len(last) != appenders {
		t.Errorf("runs of %d appenders stored, want %d", len(last), appenders)
	}
}
