package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

func counterTests() []test {
	return []test{
		{name: "New", run: testCounterNew},
		{name: "FixedWindow", run: testCounterFixed},
		{name: "Sliding", run: testCounterSliding},
		{name: "ExpiredRestarts", run: testCounterExpired},
		{name: "Get", run: testCounterGet},
		{name: "Delete", run: testCounterDelete},
		{name: "KeysIndependent", run: testCounterKeys},
		{name: "Concurrent", run: testCounterConcurrent},
		{name: "DeleteExpired", run: testCounterDeleteExpired},
	}
}

// counters returns s as a store.Counters, or skips the test.
func counters(tb testing.TB, s store.Store) store.Counters {
	tb.Helper()
	c, ok := s.(store.Counters)
	if !ok {
		tb.Skipf("%T does not implement store.Counters", s)
	}
	return c
}

const counterKey = "login:account:8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4"

func mustIncrement(t *testing.T, c store.Counters, key string, now time.Time, ttl time.Duration, sliding bool) store.Counter {
	t.Helper()
	got, err := c.IncrementCounter(context.Background(), key, now, ttl, sliding)
	if err != nil {
		t.Fatalf("IncrementCounter(%q): %v", key, err)
	}
	return got
}

func mustGetCounter(t *testing.T, c store.Counters, key string, now time.Time) store.Counter {
	t.Helper()
	got, err := c.GetCounter(context.Background(), key, now)
	if err != nil {
		t.Fatalf("GetCounter(%q): %v", key, err)
	}
	return got
}

func wantCounter(t *testing.T, what string, got store.Counter, count int, start, last, expires time.Time) {
	t.Helper()
	if got.Count != count || !got.Start.Equal(start) || !got.Last.Equal(last) || !got.ExpiresAt.Equal(expires) {
		t.Fatalf("%s: got %+v, want Count %d Start %v Last %v ExpiresAt %v", what, got, count, start, last, expires)
	}
	for _, ts := range []time.Time{got.Start, got.Last, got.ExpiresAt} {
		if count > 0 && ts.Location() != time.UTC {
			t.Fatalf("%s: time %v is not in UTC", what, ts)
		}
	}
}

// testCounterNew: the first hit starts a life at now.
func testCounterNew(t *testing.T, s store.Store) {
	c := counters(t, s)
	got := mustIncrement(t, c, counterKey, at(0).In(elsewhere), time.Hour, false)
	wantCounter(t, "first hit", got, 1, at(0), at(0), at(time.Hour))
}

// testCounterFixed: later hits keep Start and ExpiresAt of a fixed window.
func testCounterFixed(t *testing.T, s store.Store) {
	c := counters(t, s)
	mustIncrement(t, c, counterKey, at(0), time.Hour, false)
	got := mustIncrement(t, c, counterKey, at(10*time.Minute), time.Hour, false)
	wantCounter(t, "second hit", got, 2, at(0), at(10*time.Minute), at(time.Hour))
	got = mustIncrement(t, c, counterKey, at(time.Hour-time.Microsecond), time.Hour, false)
	wantCounter(t, "hit just before the end", got, 3, at(0), at(time.Hour-time.Microsecond), at(time.Hour))
}

// testCounterSliding: every hit pushes a sliding counter's expiry.
func testCounterSliding(t *testing.T, s store.Store) {
	c := counters(t, s)
	mustIncrement(t, c, counterKey, at(0), time.Hour, true)
	got := mustIncrement(t, c, counterKey, at(50*time.Minute), time.Hour, true)
	wantCounter(t, "second hit", got, 2, at(0), at(50*time.Minute), at(110*time.Minute))
	got = mustIncrement(t, c, counterKey, at(100*time.Minute), time.Hour, true)
	wantCounter(t, "third hit, past the first hour", got, 3, at(0), at(100*time.Minute), at(160*time.Minute))
}

// testCounterExpired: a hit at or after ExpiresAt starts a new life.
func testCounterExpired(t *testing.T, s store.Store) {
	c := counters(t, s)
	mustIncrement(t, c, counterKey, at(0), time.Hour, false)
	mustIncrement(t, c, counterKey, at(time.Minute), time.Hour, false)
	got := mustIncrement(t, c, counterKey, at(time.Hour), time.Hour, false)
	wantCounter(t, "hit at ExpiresAt", got, 1, at(time.Hour), at(time.Hour), at(2*time.Hour))
}

// testCounterGet: absent and expired counters read as zero.
func testCounterGet(t *testing.T, s store.Store) {
	c := counters(t, s)
	wantCounter(t, "absent", mustGetCounter(t, c, counterKey, at(0)), 0, time.Time{}, time.Time{}, time.Time{})
	mustIncrement(t, c, counterKey, at(0), time.Hour, true)
	mustIncrement(t, c, counterKey, at(time.Minute), time.Hour, true)
	wantCounter(t, "live", mustGetCounter(t, c, counterKey, at(2*time.Minute)), 2, at(0), at(time.Minute), at(61*time.Minute))
	wantCounter(t, "at ExpiresAt", mustGetCounter(t, c, counterKey, at(61*time.Minute)), 0, time.Time{}, time.Time{}, time.Time{})
}

// testCounterDelete: a deleted counter is gone; deleting nothing is fine.
func testCounterDelete(t *testing.T, s store.Store) {
	c := counters(t, s)
	ctx := context.Background()
	if err := c.DeleteCounter(ctx, counterKey); err != nil {
		t.Fatalf("DeleteCounter of an absent counter: %v", err)
	}
	mustIncrement(t, c, counterKey, at(0), time.Hour, false)
	mustIncrement(t, c, counterKey, at(0), time.Hour, false)
	if err := c.DeleteCounter(ctx, counterKey); err != nil {
		t.Fatal(err)
	}
	wantCounter(t, "after delete", mustGetCounter(t, c, counterKey, at(time.Second)), 0, time.Time{}, time.Time{}, time.Time{})
	got := mustIncrement(t, c, counterKey, at(time.Second), time.Hour, false)
	wantCounter(t, "hit after delete", got, 1, at(time.Second), at(time.Second), at(time.Hour+time.Second))
}

// testCounterKeys: counters do not share state.
func testCounterKeys(t *testing.T, s store.Store) {
	c := counters(t, s)
	mustIncrement(t, c, "a", at(0), time.Hour, false)
	mustIncrement(t, c, "a", at(0), time.Hour, false)
	got := mustIncrement(t, c, "b", at(0), time.Hour, false)
	wantCounter(t, "other key", got, 1, at(0), at(0), at(time.Hour))
	if err := c.DeleteCounter(context.Background(), "b"); err != nil {
		t.Fatal(err)
	}
	if got := mustGetCounter(t, c, "a", at(0)); got.Count != 2 {
		t.Fatalf("deleting b changed a: %+v", got)
	}
}

// testCounterConcurrent: SECURITY.md #71, counters never lose updates: 100
// concurrent hits each see a different count and leave exactly 100.
func testCounterConcurrent(t *testing.T, s store.Store) {
	c := counters(t, s)
	const n = 100
	seen := make([]bool, n+1)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := c.IncrementCounter(context.Background(), counterKey, at(0), time.Hour, true)
			if err != nil {
				t.Errorf("IncrementCounter: %v", err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if got.Count < 1 || got.Count > n || seen[got.Count] {
				t.Errorf("count %d seen twice or out of range", got.Count)
				return
			}
			seen[got.Count] = true
		}()
	}
	wg.Wait()
	if got := mustGetCounter(t, c, counterKey, at(0)); got.Count != n {
		t.Fatalf("after %d concurrent hits the count is %d", n, got.Count)
	}
}

// testCounterDeleteExpired: DeleteExpired purges expired counters only.
func testCounterDeleteExpired(t *testing.T, s store.Store) {
	c := counters(t, s)
	e := expirer(t, s)
	mustIncrement(t, c, "old", at(0), time.Hour, false)
	mustIncrement(t, c, "young", at(30*time.Minute), time.Hour, false)
	n, err := e.DeleteExpired(context.Background(), at(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("DeleteExpired deleted %d rows, want 1 (the expired counter)", n)
	}
	if got := mustGetCounter(t, c, "young", at(time.Hour)); got.Count != 1 {
		t.Fatalf("the live counter after DeleteExpired: %+v", got)
	}
}
