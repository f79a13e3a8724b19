package audit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/memstore"
)

// The group commit's tests drive the committer through a store whose
// writes wait for the test's go-ahead, and watch its queue, so that which
// runs share a batch is decided by the test, not by timing.

// gatedRuns is a memstore's store.Runs (without store.RunBatch) whose
// AppendRun reports the run it starts writing and waits for a go-ahead.
type gatedRuns struct {
	store.Runs
	started chan []int    // each write's runs, by their entry n
	proceed chan struct{} // a write goes on when it receives from it
	fail    func(ns []int) error
}

func newGatedRuns() *gatedRuns {
	return &gatedRuns{Runs: memstore.New(), started: make(chan []int, 1000), proceed: make(chan struct{})}
}

func (g *gatedRuns) gate(rs []*store.Run) error {
	ns := make([]int, len(rs))
	for i, r := range rs {
		ns[i] = int(r.Entries[0].Number)
	}
	g.started <- ns
	<-g.proceed
	if g.fail != nil {
		return g.fail(ns)
	}
	return nil
}

func (g *gatedRuns) AppendRun(ctx context.Context, r *store.Run) error {
	if err := g.gate([]*store.Run{r}); err != nil {
		return err
	}
	return g.Runs.AppendRun(ctx, r)
}

// gatedBatch is gatedRuns with store.RunBatch.
type gatedBatch struct{ *gatedRuns }

func (g gatedBatch) AppendRuns(ctx context.Context, rs []*store.Run) error {
	if err := g.gate(rs); err != nil {
		return err
	}
	return g.Runs.(store.RunBatch).AppendRuns(ctx, rs)
}

// nextWrite returns the runs of the next write to start.
func (g *gatedRuns) nextWrite(t *testing.T) []int {
	t.Helper()
	select {
	case ns := <-g.started:
		return ns
	case <-time.After(10 * time.Second):
		t.Fatal("no write started")
		return nil
	}
}

func newGroupRecorder(t *testing.T, runs store.Runs, maxBatch int) *Recorder {
	t.Helper()
	r, err := New(Config{Runs: runs, MaxBatch: maxBatch, MaxWait: -1})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// waitQueued waits until n runs are queued behind the batch under way.
func waitQueued(t *testing.T, r *Recorder, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Microsecond) {
		r.c.mu.Lock()
		got := len(r.c.queue)
		r.c.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d runs queued, want %d", got, n)
		}
	}
}

// result is what a RecordRun returned.
type result struct {
	n   int
	id  string
	err error
}

// recorder records runs numbered n, each from a goroutine of its own, and
// collects what RecordRun returned.
type recorder struct {
	r       *Recorder
	results chan result
}

func (rr recorder) record(ctx context.Context, n int) {
	go func() {
		id, err := rr.r.RecordRun(ctx, "APP", Entry("n", n))
		rr.results <- result{n, id, err}
	}()
}

// recordQueued records runs from..to-1, one after the other in the queue,
// behind a write under way.
func (rr recorder) recordQueued(t *testing.T, from, to int) {
	t.Helper()
	for n := from; n < to; n++ {
		rr.record(t.Context(), n)
		waitQueued(t, rr.r, n-from+1)
	}
}

// none checks that no RecordRun has returned.
func (rr recorder) none(t *testing.T, why string) {
	t.Helper()
	select {
	case res := <-rr.results:
		t.Fatalf("RecordRun %d returned (%v) %s", res.n, res.err, why)
	default:
	}
}

// collect waits for k results, by run number.
func (rr recorder) collect(t *testing.T, k int) map[int]result {
	t.Helper()
	out := make(map[int]result, k)
	for range k {
		select {
		case res := <-rr.results:
			out[res.n] = res
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of %d RecordRuns returned", len(out), k)
		}
	}
	return out
}

// storedNs returns the n of every stored run, oldest first.
func storedNs(t *testing.T, rs store.Runs) []int {
	t.Helper()
	page, err := rs.ListRuns(t.Context(), store.RunQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var ns []int
	for _, r := range slices.Backward(page.Runs) {
		ns = append(ns, int(r.Entries[0].Number))
	}
	return ns
}

func isStored(t *testing.T, rs store.Runs, id string) bool {
	t.Helper()
	_, err := rs.ListRuns(t.Context(), store.RunQuery{Before: id, Limit: 1})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	return err == nil
}

func seq(from, to int) []int {
	var s []int
	for n := from; n < to; n++ {
		s = append(s, n)
	}
	return s
}

// TestGroupCommitCoalesces: the runs recorded while a write is under way
// go to the store together, in the order they were recorded, in one
// AppendRuns; each caller returns only once its own run is stored.
func TestGroupCommitCoalesces(t *testing.T) {
	g := newGatedRuns()
	rr := recorder{newGroupRecorder(t, gatedBatch{g}, 0), make(chan result, 100)}
	rr.record(t.Context(), 0)
	if got := g.nextWrite(t); !slices.Equal(got, []int{0}) {
		t.Fatalf("first write = %v, want [0]: a lone recording goes alone", got)
	}
	rr.recordQueued(t, 1, 10)
	rr.none(t, "before any write finished")
	g.proceed <- struct{}{}
	res := rr.collect(t, 1)[0]
	if res.err != nil || !isStored(t, g.Runs, res.id) {
		t.Fatalf("RecordRun 0 = %v, stored %v", res.err, isStored(t, g.Runs, res.id))
	}
	if got := g.nextWrite(t); !slices.Equal(got, seq(1, 10)) {
		t.Fatalf("second write = %v, want the nine queued runs in order", got)
	}
	rr.none(t, "before their batch was written")
	g.proceed <- struct{}{}
	for n, res := range rr.collect(t, 9) {
		if res.err != nil || !isStored(t, g.Runs, res.id) {
			t.Errorf("RecordRun %d = %v, stored %v", n, res.err, isStored(t, g.Runs, res.id))
		}
	}
	if got := storedNs(t, g.Runs); !slices.Equal(got, seq(0, 10)) {
		t.Errorf("stored %v, want 0 to 9 in order", got)
	}
}

// TestGroupCommitMaxBatch: no batch holds more than MaxBatch runs; the
// rest follow in later batches, in order.
func TestGroupCommitMaxBatch(t *testing.T) {
	g := newGatedRuns()
	rr := recorder{newGroupRecorder(t, gatedBatch{g}, 4), make(chan result, 100)}
	rr.record(t.Context(), 0)
	writes := [][]int{g.nextWrite(t)}
	rr.recordQueued(t, 1, 11)
	close(g.proceed)
	for range 3 {
		writes = append(writes, g.nextWrite(t))
	}
	want := [][]int{{0}, {1, 2, 3, 4}, {5, 6, 7, 8}, {9, 10}}
	for i := range want {
		if !slices.Equal(writes[i], want[i]) {
			t.Errorf("writes = %v, want %v", writes, want)
			break
		}
	}
	for n, res := range rr.collect(t, 11) {
		if res.err != nil {
			t.Errorf("RecordRun %d: %v", n, res.err)
		}
	}
}

var errBoom = errors.New("boom")

// TestGroupCommitFailure: a batch the store refuses fails every run in
// it, each caller getting the store's error, and no other run.
func TestGroupCommitFailure(t *testing.T) {
	g := newGatedRuns()
	g.fail = func(ns []int) error {
		if slices.Contains(ns, 2) {
			return errBoom
		}
		return nil
	}
	rr := recorder{newGroupRecorder(t, gatedBatch{g}, 3), make(chan result, 100)}
	rr.record(t.Context(), 0)
	g.nextWrite(t)
	rr.recordQueued(t, 1, 6)
	close(g.proceed)
	for n, res := range rr.collect(t, 6) {
		wantFail := n >= 1 && n <= 3 // the batch [1 2 3]
		if wantFail != errors.Is(res.err, errBoom) || !wantFail && res.err != nil {
			t.Errorf("RecordRun %d = %v, want failure %v", n, res.err, wantFail)
		}
	}
	if got := storedNs(t, g.Runs); !slices.Equal(got, []int{0, 4, 5}) {
		t.Errorf("stored %v, want [0 4 5]", got)
	}
}

// TestGroupCommitCancelledCaller: a caller whose ctx ends while its run
// waits for a batch still waits for, and gets, its run's outcome.
func TestGroupCommitCancelledCaller(t *testing.T) {
	g := newGatedRuns()
	rr := recorder{newGroupRecorder(t, gatedBatch{g}, 0), make(chan result, 100)}
	rr.record(t.Context(), 0)
	g.nextWrite(t)
	ctx, cancel := context.WithCancel(t.Context())
	rr.record(ctx, 1)
	waitQueued(t, rr.r, 1)
	cancel()
	g.proceed <- struct{}{}
	rr.collect(t, 1)
	g.nextWrite(t)
	rr.none(t, "on its ctx's end, before its batch was written")
	g.proceed <- struct{}{}
	if res := rr.collect(t, 1)[1]; res.err != nil || !isStored(t, g.Runs, res.id) {
		t.Errorf("RecordRun with an ended ctx = %v, stored %v; want stored", res.err, isStored(t, g.Runs, res.id))
	}
}

// TestFlushAndClose: Flush waits for the recordings under way, Close too
// and then refuses new ones.
func TestFlushAndClose(t *testing.T) {
	for _, tc := range []struct {
		name     string
		maxBatch int
		batch    bool
	}{{"GroupCommit", 0, true}, {"RunBatchMissing", 0, false}, {"MaxBatchOne", 1, true}} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGatedRuns()
			var runs store.Runs = g
			if tc.batch {
				runs = gatedBatch{g}
			}
			rr := recorder{newGroupRecorder(t, runs, tc.maxBatch), make(chan result, 100)}
			rr.record(t.Context(), 0)
			g.nextWrite(t)
			rr.record(t.Context(), 1)
			if tc.batch && tc.maxBatch != 1 {
				waitQueued(t, rr.r, 1)
			} else {
				g.nextWrite(t) // one by one: both writes under way at once
			}
			short, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
			defer cancel()
			wantErr := func(what string, err, want error) {
				t.Helper()
				if !errors.Is(err, want) {
					t.Errorf("%s = %v, want %v", what, err, want)
				}
			}
			wantErr("Flush while writing", rr.r.Flush(short), context.DeadlineExceeded)
			flushed := make(chan error, 1)
			go func() { flushed <- rr.r.Close(context.Background()) }()
			close(g.proceed)
			select {
			case err := <-flushed:
				wantErr("Close", err, nil)
			case <-time.After(10 * time.Second):
				t.Fatal("Close did not return")
			}
			// Close returned: both runs are stored, their callers told.
			if got := storedNs(t, g.Runs); len(got) != 2 {
				t.Errorf("stored %v after Close, want both runs", got)
			}
			for n, res := range rr.collect(t, 2) {
				wantErr(fmt.Sprintf("RecordRun %d", n), res.err, nil)
			}
			_, err := rr.r.RecordRun(t.Context(), "APP", Entry("n", 2))
			wantErr("RecordRun after Close", err, ErrClosed)
			wantErr("Flush after Close", rr.r.Flush(t.Context()), nil)
			wantErr("Close again", rr.r.Close(t.Context()), nil)
		})
	}
}

// TestGroupCommitStorePanics: when the store panics on a batch, the
// leader's call panics, the others in the batch fail, and later batches
// are written.
func TestGroupCommitStorePanics(t *testing.T) {
	g := newGatedRuns()
	g.fail = func(ns []int) error {
		if len(ns) > 1 {
			panic("store bug")
		}
		return nil
	}
	r := newGroupRecorder(t, gatedBatch{g}, 2)
	rr := recorder{r, make(chan result, 100)}
	rr.record(t.Context(), 0)
	g.nextWrite(t)
	panicked := make(chan any, 1)
	go func() {
		defer func() { panicked <- recover() }()
		r.RecordRun(t.Context(), "APP", Entry("n", 1))
	}()
	waitQueued(t, r, 1)
	rr.record(t.Context(), 2)
	waitQueued(t, r, 2)
	rr.record(t.Context(), 3)
	waitQueued(t, r, 3)
	close(g.proceed)
	if p := <-panicked; p == nil {
		t.Error("the leader of the panicking batch did not panic")
	}
	res := rr.collect(t, 3)
	if res[0].err != nil || res[3].err != nil {
		t.Errorf("RecordRun 0 = %v, 3 = %v; want both stored", res[0].err, res[3].err)
	}
	if !errors.Is(res[2].err, errStorePanicked) {
		t.Errorf("RecordRun 2 = %v, want errStorePanicked", res[2].err)
	}
}

// TestGroupCommitConcurrent: 50 callers recording 20 runs each, on a real
// store with the default batch and wait: every run stored once, each
// caller's in its order.
func TestGroupCommitConcurrent(t *testing.T) {
	for _, tc := range []struct {
		name string
		runs store.Runs
	}{{"GroupCommit", memstore.New()}, {"RunBatchMissing", struct{ store.Runs }{memstore.New()}}} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := New(Config{Runs: tc.runs})
			if err != nil {
				t.Fatal(err)
			}
			const callers, each = 50, 20
			var wg sync.WaitGroup
			errs := make(chan error, callers*each)
			for c := range callers {
				wg.Go(func() {
					for i := range each {
						if _, err := r.RecordRun(t.Context(), fmt.Sprintf("C%d", c), Entry("n", i)); err != nil {
							errs <- err
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			page, err := tc.runs.ListRuns(t.Context(), store.RunQuery{Limit: 2000})
			if err != nil {
				t.Fatal(err)
			}
			if page.Total != callers*each {
				t.Fatalf("%d runs stored, want %d", page.Total, callers*each)
			}
			next := make(map[string]int)
			for _, run := range slices.Backward(page.Runs) {
				if n := int(run.Entries[0].Number); n != next[run.Type] {
					t.Fatalf("caller %s: run %d stored where %d was due", run.Type, n, next[run.Type])
				}
				next[run.Type]++
			}
		})
	}
}
