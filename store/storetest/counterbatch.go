package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

func counterBatchTests() []test {
	return []test{
		{name: "Read", run: testBatchRead},
		{name: "MissingKeysAreZero", run: testBatchMissing},
		{name: "Write", run: testBatchWrite},
		{name: "Expiry", run: testBatchExpiry},
		{name: "ErrorChangesNothing", run: testBatchError},
		{name: "DuplicateKey", run: testBatchDuplicate},
		{name: "NoKeys", run: testBatchNoKeys},
		{name: "ManyKeys", run: testBatchMany},
		{name: "Concurrent/LimitOfFive", run: testBatchLimit},
		{name: "Concurrent/OverlappingKeys", run: testBatchOverlap},
		{name: "Concurrent/WithIncrement", run: testBatchWithIncrement},
	}
}

// counterBatch returns s as a store.Counters and a store.CounterBatch, or
// skips the test.
func counterBatch(tb testing.TB, s store.Store) (store.Counters, store.CounterBatch) {
	tb.Helper()
	c := counters(tb, s)
	b, ok := s.(store.CounterBatch)
	if !ok {
		tb.Skipf("%T does not implement store.CounterBatch", s)
	}
	return c, b
}

// errLimit is what the fns of the concurrency tests return to refuse.
var errLimit = errors.New("storetest: over the limit")

// batchRead returns what UpdateCounters shows fn for keys at now, changing
// nothing (fn returns errProbe).
func batchRead(t *testing.T, b store.CounterBatch, keys []string, now time.Time) []store.Counter {
	t.Helper()
	var got []store.Counter
	err := b.UpdateCounters(t.Context(), keys, now, func(cs []store.Counter) error {
		if len(cs) != len(keys) {
			return fmt.Errorf("fn got %d counters for %d keys", len(cs), len(keys))
		}
		got = slices.Clone(cs)
		return errProbe
	})
	if !errors.Is(err, errProbe) {
		t.Fatalf("UpdateCounters(%q) = %v, want fn's error", keys, err)
	}
	return got
}

// storedCounters purges every counter with DeleteExpired at the far future
// and returns how many it found: every counter the store kept, dead rows
// included. It is -1 for a store without store.Expirer. Call it last.
func storedCounters(t *testing.T, s store.Store) int {
	t.Helper()
	e, ok := s.(store.Expirer)
	if !ok {
		return -1
	}
	n, err := e.DeleteExpired(t.Context(), at(100*365*24*time.Hour))
	if err != nil {
		t.Fatalf("DeleteExpired: %v", err)
	}
	return n
}

// testBatchRead: fn sees every counter as GetCounter would, cs[i] for
// keys[i] in the caller's (unsorted) order.
func testBatchRead(t *testing.T, s store.Store) {
	c, b := counterBatch(t, s)
	mustIncrement(t, c, "b", at(0), time.Hour, false)
	mustIncrement(t, c, "c", at(0), time.Hour, true)
	mustIncrement(t, c, "c", at(time.Minute), time.Hour, true)
	mustIncrement(t, c, "a", at(0), time.Hour, false)
	mustIncrement(t, c, "a", at(0), time.Hour, false)
	mustIncrement(t, c, "a", at(0), time.Hour, false)
	keys := []string{"c", "a", "b"}
	got := batchRead(t, b, keys, at(2*time.Minute))
	for i, k := range keys {
		want := mustGetCounter(t, c, k, at(2*time.Minute))
		wantCounter(t, "cs["+k+"]", got[i], want.Count, want.Start, want.Last, want.ExpiresAt)
	}
	if got[0].Count != 2 || got[1].Count != 3 || got[2].Count != 1 {
		t.Fatalf("counts %d %d %d for keys %q, want 2 3 1", got[0].Count, got[1].Count, got[2].Count, keys)
	}
}

// testBatchMissing: keys without a counter appear as zero counters; a call
// that leaves them zero creates nothing.
func testBatchMissing(t *testing.T, s store.Store) {
	c, b := counterBatch(t, s)
	mustIncrement(t, c, "kept", at(0), time.Hour, false)
	keys := []string{"missing-1", "kept", "missing-2"}
	got := batchRead(t, b, keys, at(time.Second))
	wantCounter(t, "missing-1", got[0], 0, time.Time{}, time.Time{}, time.Time{})
	wantCounter(t, "kept", got[1], 1, at(0), at(0), at(time.Hour))
	wantCounter(t, "missing-2", got[2], 0, time.Time{}, time.Time{}, time.Time{})
	// A successful call that writes only the existing counter.
	if err := b.UpdateCounters(t.Context(), keys, at(time.Second), func(cs []store.Counter) error {
		cs[1] = cs[1].Next(at(time.Second), time.Hour, false)
		return nil
	}); err != nil {
		t.Fatalf("UpdateCounters: %v", err)
	}
	for _, k := range []string{"missing-1", "missing-2"} {
		wantCounter(t, k+" afterwards", mustGetCounter(t, c, k, at(time.Second)), 0, time.Time{}, time.Time{}, time.Time{})
	}
	if n := storedCounters(t, s); n != -1 && n != 1 {
		t.Fatalf("the store keeps %d counters, want 1: keys left at zero must not be stored", n)
	}
}

// testBatchWrite: what fn leaves is stored, in UTC; a counter fn zeroes is
// forgotten; one it leaves alone is unchanged.
func testBatchWrite(t *testing.T, s store.Store) {
	c, b := counterBatch(t, s)
	mustIncrement(t, c, "hit", at(0), time.Hour, true)
	mustIncrement(t, c, "forget", at(0), time.Hour, false)
	mustIncrement(t, c, "alone", at(0), time.Hour, false)
	now := at(10 * time.Minute).In(elsewhere)
	keys := []string{"forget", "new", "hit", "alone", "set"}
	err := b.UpdateCounters(t.Context(), keys, now, func(cs []store.Counter) error {
		cs[0] = store.Counter{}
		cs[1] = cs[1].Next(now, time.Hour, false)
		cs[2] = cs[2].Next(now, time.Hour, true)
		cs[4] = store.Counter{Count: 7, Start: at(-time.Minute).In(elsewhere), Last: now, ExpiresAt: at(time.Hour).In(elsewhere)}
		return nil
	})
	if err != nil {
		t.Fatalf("UpdateCounters: %v", err)
	}
	read := func(k string) store.Counter { return mustGetCounter(t, c, k, at(10*time.Minute)) }
	wantCounter(t, "forget", read("forget"), 0, time.Time{}, time.Time{}, time.Time{})
	wantCounter(t, "new", read("new"), 1, at(10*time.Minute), at(10*time.Minute), at(70*time.Minute))
	wantCounter(t, "hit", read("hit"), 2, at(0), at(10*time.Minute), at(70*time.Minute))
	wantCounter(t, "alone", read("alone"), 1, at(0), at(0), at(time.Hour))
	wantCounter(t, "set", read("set"), 7, at(-time.Minute), at(10*time.Minute), at(time.Hour))
	// The stored state is the one the other methods continue from.
	got := mustIncrement(t, c, "set", at(20*time.Minute), time.Hour, false)
	wantCounter(t, "set after a hit", got, 8, at(-time.Minute), at(20*time.Minute), at(59*time.Minute))
	got = mustIncrement(t, c, "forget", at(20*time.Minute), time.Hour, false)
	wantCounter(t, "forget after a hit", got, 1, at(20*time.Minute), at(20*time.Minute), at(80*time.Minute))
	// A counter fn leaves dead (already expired at now) is forgotten too.
	err = b.UpdateCounters(t.Context(), []string{"hit"}, at(30*time.Minute), func(cs []store.Counter) error {
		cs[0].ExpiresAt = at(30 * time.Minute)
		return nil
	})
	if err != nil {
		t.Fatalf("UpdateCounters: %v", err)
	}
	wantCounter(t, "hit, left expired", mustGetCounter(t, c, "hit", at(time.Minute)), 0, time.Time{}, time.Time{}, time.Time{})
}

// testBatchExpiry: a counter whose window has passed reads as zero and
// starts a new life when fn counts a hit; one just before its end is live.
func testBatchExpiry(t *testing.T, s store.Store) {
	c, b := counterBatch(t, s)
	mustIncrement(t, c, "fixed", at(0), time.Hour, false)
	mustIncrement(t, c, "fixed", at(30*time.Minute), time.Hour, false)
	mustIncrement(t, c, "sliding", at(0), time.Hour, true)
	mustIncrement(t, c, "sliding", at(30*time.Minute), time.Hour, true)
	keys := []string{"fixed", "sliding"}

	got := batchRead(t, b, keys, at(time.Hour-time.Microsecond))
	wantCounter(t, "fixed just before its end", got[0], 2, at(0), at(30*time.Minute), at(time.Hour))
	wantCounter(t, "sliding", got[1], 2, at(0), at(30*time.Minute), at(90*time.Minute))

	got = batchRead(t, b, keys, at(time.Hour))
	wantCounter(t, "fixed at its end", got[0], 0, time.Time{}, time.Time{}, time.Time{})
	wantCounter(t, "sliding, pushed by its last hit", got[1], 2, at(0), at(30*time.Minute), at(90*time.Minute))

	got = batchRead(t, b, keys, at(90*time.Minute))
	wantCounter(t, "sliding at its end", got[1], 0, time.Time{}, time.Time{}, time.Time{})

	err := b.UpdateCounters(t.Context(), keys, at(2*time.Hour), func(cs []store.Counter) error {
		cs[0] = cs[0].Next(at(2*time.Hour), time.Hour, false)
		cs[1] = cs[1].Next(at(2*time.Hour), time.Hour, true)
		return nil
	})
	if err != nil {
		t.Fatalf("UpdateCounters: %v", err)
	}
	wantCounter(t, "fixed, new life", mustGetCounter(t, c, "fixed", at(2*time.Hour)), 1, at(2*time.Hour), at(2*time.Hour), at(3*time.Hour))
	wantCounter(t, "sliding, new life", mustGetCounter(t, c, "sliding", at(2*time.Hour)), 1, at(2*time.Hour), at(2*time.Hour), at(3*time.Hour))
}

// testBatchError: when fn fails, UpdateCounters returns its error and
// nothing changes, whatever fn did to cs.
func testBatchError(t *testing.T, s store.Store) {
	c, b := counterBatch(t, s)
	mustIncrement(t, c, "a", at(0), time.Hour, false)
	mustIncrement(t, c, "a", at(0), time.Hour, false)
	mustIncrement(t, c, "b", at(0), time.Hour, true)
	wantA, wantB := mustGetCounter(t, c, "a", at(time.Second)), mustGetCounter(t, c, "b", at(time.Second))
	calls := 0
	err := b.UpdateCounters(t.Context(), []string{"b", "missing", "a"}, at(time.Second), func(cs []store.Counter) error {
		calls++
		cs[0] = store.Counter{}
		cs[1] = cs[1].Next(at(time.Second), time.Hour, false)
		cs[2] = cs[2].Next(at(time.Second), time.Hour, false)
		return errLimit
	})
	if !errors.Is(err, errLimit) {
		t.Fatalf("UpdateCounters = %v, want fn's error", err)
	}
	if calls == 0 {
		t.Fatal("fn was not called")
	}
	gotA, gotB := mustGetCounter(t, c, "a", at(time.Second)), mustGetCounter(t, c, "b", at(time.Second))
	wantCounter(t, "a", gotA, wantA.Count, wantA.Start, wantA.Last, wantA.ExpiresAt)
	wantCounter(t, "b", gotB, wantB.Count, wantB.Start, wantB.Last, wantB.ExpiresAt)
	wantCounter(t, "missing", mustGetCounter(t, c, "missing", at(time.Second)), 0, time.Time{}, time.Time{}, time.Time{})
	if n := storedCounters(t, s); n != -1 && n != 2 {
		t.Fatalf("the store keeps %d counters, want the 2 it had", n)
	}
}

// testBatchDuplicate: a key given twice is an error; fn is not called and
// nothing changes.
func testBatchDuplicate(t *testing.T, s store.Store) {
	c, b := counterBatch(t, s)
	mustIncrement(t, c, "a", at(0), time.Hour, false)
	called := false
	err := b.UpdateCounters(t.Context(), []string{"a", "b", "a"}, at(0), func(cs []store.Counter) error {
		called = true
		for i := range cs {
			cs[i] = cs[i].Next(at(0), time.Hour, false)
		}
		return nil
	})
	if err == nil {
		t.Fatal("UpdateCounters with a duplicate key succeeded")
	}
	if called {
		t.Fatal("fn was called despite the duplicate key")
	}
	if got := mustGetCounter(t, c, "a", at(0)); got.Count != 1 {
		t.Fatalf("a: count %d, want 1 (unchanged)", got.Count)
	}
	if got := mustGetCounter(t, c, "b", at(0)); got.Count != 0 {
		t.Fatalf("b: count %d, want 0 (never stored)", got.Count)
	}
}

// testBatchNoKeys: with no keys fn still runs, on an empty slice, and its
// error is returned.
func testBatchNoKeys(t *testing.T, s store.Store) {
	_, b := counterBatch(t, s)
	calls := 0
	err := b.UpdateCounters(t.Context(), nil, at(0), func(cs []store.Counter) error {
		calls++
		if len(cs) != 0 {
			return fmt.Errorf("fn got %d counters for no keys", len(cs))
		}
		return errLimit
	})
	if !errors.Is(err, errLimit) || calls == 0 {
		t.Fatalf("UpdateCounters(nil) = %v after %d calls of fn, want fn's error", err, calls)
	}
	if err := b.UpdateCounters(t.Context(), []string{}, at(0), func([]store.Counter) error { return nil }); err != nil {
		t.Fatalf("UpdateCounters(no keys) = %v", err)
	}
}

// testBatchMany: a batch larger than any small fixed size still works.
func testBatchMany(t *testing.T, s store.Store) {
	c, b := counterBatch(t, s)
	var keys []string
	for i := range 9 {
		keys = append(keys, fmt.Sprintf("key-%d", (i*5)%9)) // not in sorted order
	}
	mustIncrement(t, c, keys[3], at(0), time.Hour, false)
	for round := range 2 {
		err := b.UpdateCounters(t.Context(), keys, at(time.Minute), func(cs []store.Counter) error {
			for i := range cs {
				if i%2 == 0 || round == 0 {
					cs[i] = cs[i].Next(at(time.Minute), time.Hour, false)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("UpdateCounters on %d keys: %v", len(keys), err)
		}
	}
	for i, k := range keys {
		want := 1
		if i%2 == 0 {
			want++
		}
		if i == 3 {
			want++
		}
		if got := mustGetCounter(t, c, k, at(time.Minute)); got.Count != want {
			t.Errorf("%s: count %d, want %d", k, got.Count, want)
		}
	}
}

// testBatchLimit: SECURITY.md #71, 50 concurrent "count a hit if below 5"
// calls on the same two keys: exactly 5 win, the others get fn's refusal,
// and both counters end at 5. Half the calls name the keys in the other
// order.
func testBatchLimit(t *testing.T, s store.Store) {
	c, b := counterBatch(t, s)
	const n, limit = 50, 5
	var wins, refusals int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range n {
		keys := []string{"limit:a", "limit:b"}
		if g%2 == 1 {
			keys = []string{"limit:b", "limit:a"}
		}
		wg.Go(func() {
			err := b.UpdateCounters(context.Background(), keys, at(0), func(cs []store.Counter) error {
				if cs[0].Count != cs[1].Count {
					return fmt.Errorf("counters differ: %d and %d", cs[0].Count, cs[1].Count)
				}
				if cs[0].Count >= limit {
					return errLimit
				}
				cs[0] = cs[0].Next(at(0), time.Hour, false)
				cs[1] = cs[1].Next(at(0), time.Hour, false)
				return nil
			})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, errLimit):
				refusals++
			default:
				t.Errorf("UpdateCounters: %v", err)
			}
		})
	}
	wg.Wait()
	if wins != limit || refusals != n-limit {
		t.Fatalf("%d calls won and %d were refused, want %d and %d", wins, refusals, limit, n-limit)
	}
	for _, k := range []string{"limit:a", "limit:b"} {
		if got := mustGetCounter(t, c, k, at(0)); got.Count != limit {
			t.Fatalf("%s: count %d, want %d", k, got.Count, limit)
		}
	}
}

// testBatchOverlap: concurrent calls on overlapping key sets, named in
// every order, neither deadlock nor lose a hit.
func testBatchOverlap(t *testing.T, s store.Store) {
	c, b := counterBatch(t, s)
	sets := [][]string{
		{"k1", "k2", "k3"}, {"k3", "k2", "k1"}, {"k2", "k3"}, {"k3", "k1"}, {"k2", "k1", "k3"}, {"k1"},
	}
	const rounds = 8
	want := map[string]int{}
	var wg sync.WaitGroup
	for range rounds {
		for _, keys := range sets {
			for _, k := range keys {
				want[k]++
			}
			wg.Go(func() {
				err := b.UpdateCounters(context.Background(), keys, at(0), func(cs []store.Counter) error {
					for i := range cs {
						cs[i] = cs[i].Next(at(0), time.Hour, true)
					}
					return nil
				})
				if err != nil {
					t.Errorf("UpdateCounters(%q): %v", keys, err)
				}
			})
		}
	}
	wg.Wait()
	for k, n := range want {
		if got := mustGetCounter(t, c, k, at(0)); got.Count != n {
			t.Errorf("%s: count %d, want %d", k, got.Count, n)
		}
	}
}

// testBatchWithIncrement: UpdateCounters and IncrementCounter on one key,
// concurrently, lose no hit.
func testBatchWithIncrement(t *testing.T, s store.Store) {
	c, b := counterBatch(t, s)
	const n = 25
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if _, err := c.IncrementCounter(context.Background(), counterKey, at(0), time.Hour, false); err != nil {
				t.Errorf("IncrementCounter: %v", err)
			}
		})
		wg.Go(func() {
			err := b.UpdateCounters(context.Background(), []string{counterKey}, at(0), func(cs []store.Counter) error {
				cs[0] = cs[0].Next(at(0), time.Hour, false)
				return nil
			})
			if err != nil {
				t.Errorf("UpdateCounters: %v", err)
			}
		})
	}
	wg.Wait()
	if got := mustGetCounter(t, c, counterKey, at(0)); got.Count != 2*n {
		t.Fatalf("count %d after %d hits of each kind, want %d", got.Count, n, 2*n)
	}
}
