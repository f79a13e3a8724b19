package memstore

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

var (
	_ store.Counters     = (*Store)(nil)
	_ store.CounterBatch = (*Store)(nil)
)

// counters holds the named counters under their own lock, so that
// throttling never waits for the users' and sessions' lock.
type counters struct {
	mu sync.Mutex
	m  map[string]store.Counter
}

// IncrementCounter adds a hit to the counter named key; see
// [store.Counters].
func (s *Store) IncrementCounter(ctx context.Context, key string, now time.Time, ttl time.Duration, sliding bool) (store.Counter, error) {
	if err := ctx.Err(); err != nil {
		return store.Counter{}, err
	}
	now = now.UTC()
	c := &s.counters
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]store.Counter)
	}
	cur := c.m[key].Next(now, ttl, sliding)
	c.m[key] = cur
	return cur, nil
}

// GetCounter returns the counter named key as it stands at now; see
// [store.Counters].
func (s *Store) GetCounter(ctx context.Context, key string, now time.Time) (store.Counter, error) {
	if err := ctx.Err(); err != nil {
		return store.Counter{}, err
	}
	c := &s.counters
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.get(key, now), nil
}

// get returns the counter named key as it stands at now. c.mu must be held.
func (c *counters) get(key string, now time.Time) store.Counter {
	cur := c.m[key]
	if !cur.Live(now) {
		return store.Counter{}
	}
	return cur
}

// DeleteCounter forgets the counter named key.
func (s *Store) DeleteCounter(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c := &s.counters
	c.mu.Lock()
	delete(c.m, key)
	c.mu.Unlock()
	return nil
}

// UpdateCounters calls fn with the counters named keys and stores what it
// leaves, as [store.CounterBatch] describes. The counters' lock is held
// throughout (one lock for every key, so there is no order to get wrong),
// and fn is called exactly once, on copies.
func (s *Store) UpdateCounters(ctx context.Context, keys []string, now time.Time, fn func(cs []store.Counter) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := distinct(keys); err != nil {
		return fmt.Errorf("memstore: update counters: %w", err)
	}
	c := &s.counters
	c.mu.Lock()
	defer c.mu.Unlock()
	cs := make([]store.Counter, len(keys))
	for i, k := range keys {
		cs[i] = c.get(k, now)
	}
	if err := fn(cs); err != nil {
		return err
	}
	if c.m == nil {
		c.m = make(map[string]store.Counter)
	}
	for i, k := range keys {
		next := cs[i]
		if !next.Live(now) {
			delete(c.m, k)
			continue
		}
		next.Start, next.Last, next.ExpiresAt = next.Start.UTC(), next.Last.UTC(), next.ExpiresAt.UTC()
		c.m[k] = next
	}
	return nil
}

// distinct returns an error when a key appears twice.
func distinct(keys []string) error {
	seen := make(map[string]struct{}, len(keys))
	for _, k := range keys {
		if _, dup := seen[k]; dup {
			return fmt.Errorf("key %q given twice", k)
		}
		seen[k] = struct{}{}
	}
	return nil
}

// deleteExpiredCounters removes the counters expired at before and returns
// how many.
func (s *Store) deleteExpiredCounters(before time.Time) int {
	c := &s.counters
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for k, cur := range c.m {
		if !before.Before(cur.ExpiresAt) {
			delete(c.m, k)
			n++
		}
	}
	return n
}
