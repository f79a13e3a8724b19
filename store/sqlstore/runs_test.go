package sqlstore_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

// TestAppendRunsConflictRollsBack: a batch with a taken ID stores nothing,
// not even its places in the log (on SQLite its INSERT OR ROLLBACK ends the
// transaction itself), and the connection it ran on serves the next batch,
// whose runs take the next places without a gap. The pool has one
// connection, so both batches run on the same.
func TestAppendRunsConflictRollsBack(t *testing.T) {
	for _, tdb := range dialects() {
		t.Run(tdb.name, func(t *testing.T) {
			db := tdb.open(t)
			db.SetMaxOpenConns(1)
			s := newStore(t, db, tdb.dialect)
			ctx := t.Context()
			t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			run := func(n int) *store.Run {
				return &store.Run{ID: fmt.Sprintf("d0000000-0000-4000-8000-%012d", n), Type: "AUTH", Time: t0,
					Entries: []store.Entry{{Key: "event", Value: "refresh"}, {Key: "outcome", Value: "success"}}}
			}
			if err := s.AppendRuns(ctx, []*store.Run{run(1)}); err != nil {
				t.Fatalf("AppendRuns: %v", err)
			}
			// Big enough for the multi-row statements of several sizes.
			var batch []*store.Run
			for i := 2; i < 40; i++ {
				batch = append(batch, run(i))
			}
			if err := s.AppendRuns(ctx, append(batch, run(1))); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("AppendRuns with a taken ID: %v, want store.ErrConflict", err)
			}
			if err := s.AppendRuns(ctx, batch); err != nil {
				t.Fatalf("AppendRuns after the conflict: %v", err)
			}
			page, err := s.ListRuns(ctx, store.RunQuery{Limit: 100})
			if err != nil {
				t.Fatalf("ListRuns: %v", err)
			}
			// Total comes from the first and last seqs: a place of the
			// failed batch kept would show as a run too many.
			if page.Total != 39 || len(page.Runs) != 39 {
				t.Fatalf("ListRuns: total %d, %d runs; want 39", page.Total, len(page.Runs))
			}
			typed, err := s.ListRuns(ctx, store.RunQuery{Limit: 1, RunFilter: store.RunFilter{Types: []string{"AUTH"}}})
			if err != nil || typed.Total != 39 {
				t.Fatalf("ListRuns of type AUTH: total %d (%v), want 39", typed.Total, err)
			}
			for i, r := range page.Runs {
				if len(r.Entries) != 2 {
					t.Errorf("run %d (%s): %d entries, want 2", i, r.ID, len(r.Entries))
				}
			}
		})
	}
}
