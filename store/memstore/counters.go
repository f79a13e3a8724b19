package memstore

import (
	"context"
	"sync"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

var _ store.Counters = (*Store)(nil)

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
