package memstore

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

var _ store.RunBatch = (*Store)(nil)

// runLog holds the runs of a Store, under a lock of its own so that
// recording runs never waits for account operations or the reverse. The
// zero value is empty and ready to use.
type runLog struct {
	mu sync.RWMutex

	// runs is every run in append order. Runs are only ever deleted from
	// the front, so runs[i].seq == runs[0].seq + i.
	runs   []*runRec
	byID   map[string]*runRec
	byType map[string][]*runRec  // append order
	byUser map[string][]*runRec  // append order; runs with a user only
	byKey  map[string][]entryRef // append order of runs, then entries
	next   int64                 // seq of the next run
}

// runRec is a stored run. Its fields never change after AppendRun.
type runRec struct {
	seq int64
	r   store.Run
}

// entryRef points at entry i of a run.
type entryRef struct {
	run *runRec
	i   int
}

func (l *runLog) init() {
	if l.byID != nil {
		return
	}
	l.byID = make(map[string]*runRec)
	l.byType = make(map[string][]*runRec)
	l.byUser = make(map[string][]*runRec)
	l.byKey = make(map[string][]entryRef)
}

// AppendRun stores a copy of r. It returns [store.ErrConflict] when a run
// with r.ID exists.
func (s *Store) AppendRun(ctx context.Context, r *store.Run) error {
	return s.appendRuns(ctx, "append run", []*store.Run{r})
}

// AppendRuns stores copies of rs, in order, as one step: all of them or,
// when one is invalid or its ID is taken (by a stored run or another run
// of rs: [store.ErrConflict]), none. See [store.RunBatch].
func (s *Store) AppendRuns(ctx context.Context, rs []*store.Run) error {
	return s.appendRuns(ctx, "append runs", rs)
}

func (s *Store) appendRuns(ctx context.Context, op string, rs []*store.Run) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	recs := make([]*runRec, len(rs))
	for i, r := range rs {
		if r == nil {
			return fmt.Errorf("memstore: %s: run %d is nil", op, i)
		}
		if r.ID == "" || r.Type == "" {
			return fmt.Errorf("memstore: %s: empty ID or Type", op)
		}
		rec := &runRec{r: runIn(r)}
		for _, e := range rec.r.Entries {
			if e.Numeric && (math.IsNaN(e.Number) || math.IsInf(e.Number, 0)) {
				return fmt.Errorf("memstore: %s: entry %q: number is not finite", op, e.Key)
			}
		}
		recs[i] = rec
	}
	l := &s.runs
	l.mu.Lock()
	defer l.mu.Unlock()
	l.init()
	if len(recs) > 1 {
		seen := make(map[string]bool, len(recs))
		for _, rec := range recs {
			if seen[rec.r.ID] {
				return fmt.Errorf("memstore: %s: %w", op, store.ErrConflict)
			}
			seen[rec.r.ID] = true
		}
	}
	for _, rec := range recs {
		if _, ok := l.byID[rec.r.ID]; ok {
			return fmt.Errorf("memstore: %s: %w", op, store.ErrConflict)
		}
	}
	for _, rec := range recs {
		rec.seq = l.next
		l.next++
		l.runs = append(l.runs, rec)
		l.byID[rec.r.ID] = rec
		l.byType[rec.r.Type] = append(l.byType[rec.r.Type], rec)
		if rec.r.UserID != "" {
			l.byUser[rec.r.UserID] = append(l.byUser[rec.r.UserID], rec)
		}
		for i, e := range rec.r.Entries {
			l.byKey[e.Key] = append(l.byKey[e.Key], entryRef{rec, i})
		}
	}
	return nil
}

// ListRuns returns a page of the runs q selects, newest first. With an
// empty filter, or one that is exactly one type or exactly one user, the
// cost of a page does not depend on Offset.
func (s *Store) ListRuns(ctx context.Context, q store.RunQuery) (*store.RunPage, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	limit := q.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	offset := max(q.Offset, 0)
	l := &s.runs
	l.mu.RLock()
	defer l.mu.RUnlock()

	cands, exact := l.candidates(&q.RunFilter)
	end := len(cands) // the page ends (in append order) before cands[end]
	if q.Before != "" {
		cursor, ok := l.byID[q.Before]
		if !ok {
			return nil, fmt.Errorf("memstore: list runs: cursor: %w", store.ErrNotFound)
		}
		end = searchSeq(cands, cursor.seq)
	}
	page := &store.RunPage{Runs: []store.Run{}}
	if exact {
		page.Total = len(cands)
		for i := end - 1 - offset; i >= 0 && len(page.Runs) < limit; i-- {
			page.Runs = append(page.Runs, runOut(&cands[i].r))
		}
		return page, nil
	}
	for i := len(cands) - 1; i >= 0; i-- {
		rec := cands[i]
		if !matchRun(&rec.r, &q.RunFilter) {
			continue
		}
		page.Total++
		if i >= end || len(page.Runs) == limit {
			continue
		}
		if offset > 0 {
			offset--
			continue
		}
		page.Runs = append(page.Runs, runOut(&rec.r))
	}
	return page, nil
}

// candidates returns, in append order, a list of runs that holds every
// run f selects, and reports whether it holds exactly those.
func (l *runLog) candidates(f *store.RunFilter) ([]*runRec, bool) {
	rest := f.Since.IsZero() && f.Until.IsZero() && len(f.Has) == 0
	switch {
	case len(f.UserIDs) == 1 && f.UserIDs[0] != "":
		return l.byUser[f.UserIDs[0]], rest && len(f.Types) == 0
	case len(f.Types) == 1:
		return l.byType[f.Types[0]], rest && len(f.UserIDs) == 0
	default:
		return l.runs, rest && len(f.Types) == 0 && len(f.UserIDs) == 0
	}
}

// searchSeq returns the index of the first run in recs (in append order)
// whose seq is at least seq.
func searchSeq(recs []*runRec, seq int64) int {
	i, _ := slices.BinarySearchFunc(recs, seq, func(r *runRec, seq int64) int { return cmp.Compare(r.seq, seq) })
	return i
}

// matchRun reports whether f selects r.
func matchRun(r *store.Run, f *store.RunFilter) bool {
	if len(f.Types) > 0 && !slices.Contains(f.Types, r.Type) {
		return false
	}
	if len(f.UserIDs) > 0 && !slices.Contains(f.UserIDs, r.UserID) {
		return false
	}
	if !f.Since.IsZero() && r.Time.Before(f.Since) {
		return false
	}
	if !f.Until.IsZero() && !r.Time.Before(f.Until) {
		return false
	}
	for k, v := range f.Has {
		if !slices.ContainsFunc(r.Entries, func(e store.Entry) bool { return e.Key == k && e.Value == v }) {
			return false
		}
	}
	return true
}

// AggregateEntries computes what a asks for over the entries whose key is
// a.Key in the runs a selects, under one read lock (one snapshot).
func (s *Store) AggregateEntries(ctx context.Context, a store.Aggregation) (*store.Aggregate, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	l := &s.runs
	l.mu.RLock()
	defer l.mu.RUnlock()

	refs := l.byKey[a.Key]
	var (
		entries int
		nums    []float64
		values  map[string]int
		latest  []entryRef
	)
	if a.TopValues > 0 {
		values = make(map[string]int)
	}
	// Walk newest first so that Latest fills as it goes.
	for j := len(refs) - 1; j >= 0; j-- {
		ref := refs[j]
		if !matchRun(&ref.run.r, &a.RunFilter) {
			continue
		}
		e := &ref.run.r.Entries[ref.i]
		entries++
		if e.Numeric {
			nums = append(nums, e.Number)
		}
		if values != nil {
			values[e.Value]++
		}
		if len(latest) < a.Latest {
			latest = append(latest, ref)
		}
	}

	out := &store.Aggregate{}
	if a.Summary {
		out.Summary = summarize(entries, nums)
	}
	if len(a.Quantiles) > 0 || a.TopNumbers > 0 {
		slices.Sort(nums)
	}
	if len(nums) > 0 {
		for _, q := range a.Quantiles {
			lo, hi := store.QuantileRanks(q, len(nums))
			out.Quantiles = append(out.Quantiles, store.Quantile{Lower: nums[lo], Upper: nums[hi]})
		}
	}
	if a.TopNumbers > 0 {
		out.TopNumbers = topNumbers(nums, a.TopNumbers)
	}
	if values != nil {
		out.TopValues = topValues(values, a.TopValues)
	}
	if len(a.Edges) > 0 {
		out.Histogram = make([]int, len(a.Edges)+1)
		for _, x := range nums {
			// The bin is the number of edges not above x.
			out.Histogram[sort.Search(len(a.Edges), func(i int) bool { return a.Edges[i] > x })]++
		}
	}
	if len(latest) > 0 {
		// latest is newest run first but, within a run, last entry first.
		slices.SortStableFunc(latest, func(x, y entryRef) int {
			if c := cmp.Compare(y.run.seq, x.run.seq); c != 0 {
				return c
			}
			return cmp.Compare(x.i, y.i)
		})
		out.Latest = make([]store.LoggedEntry, len(latest))
		for i, ref := range latest {
			r := &ref.run.r
			out.Latest[i] = store.LoggedEntry{RunID: r.ID, RunType: r.Type, UserID: r.UserID, Entry: r.Entries[ref.i]}
		}
	}
	return out, nil
}

// summarize describes the population: sums in two passes, so that
// SumSquares does not cancel.
func summarize(entries int, nums []float64) store.Summary {
	sum := store.Summary{Entries: entries, Numbers: len(nums)}
	if len(nums) == 0 {
		return sum
	}
	sum.Min, sum.Max = nums[0], nums[0]
	for _, x := range nums {
		sum.Sum += x
		sum.Min = min(sum.Min, x)
		sum.Max = max(sum.Max, x)
	}
	mean := sum.Sum / float64(len(nums))
	for _, x := range nums {
		d := x - mean
		sum.SumSquares += d * d
	}
	return sum
}

// topNumbers returns the n most frequent values of the sorted nums.
func topNumbers(nums []float64, n int) []store.NumberCount {
	var counts []store.NumberCount
	for i := 0; i < len(nums); {
		j := i + 1
		for j < len(nums) && nums[j] == nums[i] {
			j++
		}
		counts = append(counts, store.NumberCount{Number: nums[i], Count: j - i})
		i = j
	}
	slices.SortStableFunc(counts, func(x, y store.NumberCount) int { return cmp.Compare(y.Count, x.Count) })
	return counts[:min(n, len(counts))]
}

// topValues returns the n most frequent values of the counts.
func topValues(values map[string]int, n int) []store.ValueCount {
	counts := make([]store.ValueCount, 0, len(values))
	for v, c := range values {
		counts = append(counts, store.ValueCount{Value: v, Count: c})
	}
	slices.SortFunc(counts, func(x, y store.ValueCount) int {
		if c := cmp.Compare(y.Count, x.Count); c != 0 {
			return c
		}
		return cmp.Compare(x.Value, y.Value)
	})
	return counts[:min(n, len(counts))]
}

// CountRunsByUser counts, per user, the runs f selects.
func (s *Store) CountRunsByUser(ctx context.Context, f store.RunFilter) (map[string]int, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	l := &s.runs
	l.mu.RLock()
	defer l.mu.RUnlock()
	counts := make(map[string]int)
	count := func(recs []*runRec) {
		for _, rec := range recs {
			if rec.r.UserID != "" && matchRun(&rec.r, &f) {
				counts[rec.r.UserID]++
			}
		}
	}
	if len(f.UserIDs) == 0 {
		count(l.runs)
		return counts, nil
	}
	seen := make(map[string]bool, len(f.UserIDs))
	for _, u := range f.UserIDs {
		if !seen[u] {
			seen[u] = true
			count(l.byUser[u])
		}
	}
	return counts, nil
}

// DeleteRunsBefore deletes runs from the front of the log while their Time
// is before before.
func (s *Store) DeleteRunsBefore(ctx context.Context, before time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	l := &s.runs
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for n < len(l.runs) && l.runs[n].r.Time.Before(before) {
		n++
	}
	if n == 0 {
		return 0, nil
	}
	cut := l.next // the first seq that stays
	if n < len(l.runs) {
		cut = l.runs[n].seq
	}
	types, users, keys := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, rec := range l.runs[:n] {
		delete(l.byID, rec.r.ID)
		types[rec.r.Type] = true
		if rec.r.UserID != "" {
			users[rec.r.UserID] = true
		}
		for _, e := range rec.r.Entries {
			keys[e.Key] = true
		}
	}
	clear(l.runs[:n])
	l.runs = dropFront(l.runs, n)
	trimIndex(l.byType, types, cut)
	trimIndex(l.byUser, users, cut)
	for k := range keys {
		refs := l.byKey[k]
		i, _ := slices.BinarySearchFunc(refs, cut, func(r entryRef, seq int64) int { return cmp.Compare(r.run.seq, seq) })
		clear(refs[:i])
		if refs = dropFront(refs, i); len(refs) == 0 {
			delete(l.byKey, k)
		} else {
			l.byKey[k] = refs
		}
	}
	return n, nil
}

// trimIndex trims the runs of each of keys in index with trimRuns, and
// deletes the keys left with none.
func trimIndex(index map[string][]*runRec, keys map[string]bool, cut int64) {
	for k := range keys {
		index[k] = trimRuns(index[k], cut)
		if len(index[k]) == 0 {
			delete(index, k)
		}
	}
}

// trimRuns drops the runs whose seq is below cut from the front of recs.
func trimRuns(recs []*runRec, cut int64) []*runRec {
	i := searchSeq(recs, cut)
	clear(recs[:i])
	return dropFront(recs, i)
}

// dropFront returns s without its first n elements, copying the rest to a
// new array when that frees more than it keeps, so that deleting from the
// front costs amortized constant time per element and memory is released.
func dropFront[T any](s []T, n int) []T {
	rest := s[n:]
	switch {
	case len(rest) == 0:
		return nil
	case n > len(rest):
		return slices.Clone(rest)
	}
	return rest
}

// runIn copies r for storage, times in UTC.
func runIn(r *store.Run) store.Run {
	c := *r
	c.Time = c.Time.UTC()
	c.Entries = slices.Clone(r.Entries)
	for i := range c.Entries {
		c.Entries[i].Time = c.Entries[i].Time.UTC()
	}
	return c
}

// runOut copies a stored run for a caller.
func runOut(r *store.Run) store.Run {
	c := *r
	c.Entries = slices.Clone(r.Entries)
	if c.Entries == nil {
		c.Entries = []store.Entry{}
	}
	return c
}
