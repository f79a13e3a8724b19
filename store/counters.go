package store

import (
	"context"
	"time"
)

// Counter is the state of one named counter, for throttling and rate
// limits.
type Counter struct {
	// Count is the number of hits in the counter's current life; 0 for a
	// counter that does not exist or has expired.
	Count int
	// Start is the time of the first hit of the current life, Last of the
	// latest.
	Start time.Time
	Last  time.Time
	// ExpiresAt is when the counter is forgotten: Start + ttl for a fixed
	// window, Last + ttl for a sliding one.
	ExpiresAt time.Time
}

// Live reports whether c counts at now: it has hits (Count > 0) and now is
// strictly before its ExpiresAt. Stores report a counter that is not live
// as the zero Counter.
func (c Counter) Live(now time.Time) bool {
	return c.Count > 0 && now.Before(c.ExpiresAt)
}

// Next returns c after one more hit at now, under the window policy that
// [Counters.IncrementCounter] describes and every store shares: a counter
// that is not [Counter.Live] at now starts a new life with Count 1 and Start
// now; every hit sets Last to now; ExpiresAt becomes Start + ttl, or Last +
// ttl when sliding is set. Next only computes; it neither reads a clock nor
// converts times to UTC (stores do that).
func (c Counter) Next(now time.Time, ttl time.Duration, sliding bool) Counter {
	if !c.Live(now) {
		c = Counter{Start: now}
	}
	c.Count++
	c.Last = now
	if sliding {
		c.ExpiresAt = now.Add(ttl)
	} else {
		c.ExpiresAt = c.Start.Add(ttl)
	}
	return c
}

// Counters keeps named counters shared by every process using the store, so
// that several instances of an application enforce one set of limits. It
// is optional: stores that implement it can back the auth Manager's
// throttling (memstore and sqlstore do).
//
// Keys are opaque strings of at most 200 bytes. Every method is safe for
// concurrent use; stores never read a clock.
type Counters interface {
	// IncrementCounter adds one hit to the counter named key at now and
	// returns the counter after the hit, atomically: of n concurrent calls
	// on one key, each sees a different Count and the last sees n more than
	// before. A counter that does not exist, or has expired (its ExpiresAt
	// is not after now), starts a new life with Count 1 and Start now. Every
	// hit sets Last to now; ExpiresAt becomes Start + ttl, or Last + ttl
	// when sliding is set. [Counter.Next] computes exactly this.
	IncrementCounter(ctx context.Context, key string, now time.Time, ttl time.Duration, sliding bool) (Counter, error)

	// GetCounter returns the counter named key as it stands at now: the
	// zero Counter, and no error, when it does not exist or has expired
	// (is not [Counter.Live] at now).
	GetCounter(ctx context.Context, key string, now time.Time) (Counter, error)

	// DeleteCounter forgets the counter named key. Deleting a counter that
	// does not exist is not an error.
	DeleteCounter(ctx context.Context, key string) error
}

// CounterBatch is implemented by [Counters] stores that can read several
// counters, let the caller decide, and write the outcome in one atomic
// step: one call instead of one per counter. The auth Manager uses it, when the limiter has
// it, to check and count a login attempt's per-account and per-IP limits
// in a single call; without it, the Manager uses [Counters] one key at a
// time.
type CounterBatch interface {
	// UpdateCounters reads the counters named keys, calls fn with them and
	// stores what fn leaves, atomically.
	//
	// fn receives cs, a fresh slice with one Counter per key, cs[i] for
	// keys[i], each as [Counters.GetCounter] would return it at now: the
	// zero Counter for a key that does not exist or has expired. fn may
	// change the elements of cs (to count a hit, cs[i] = cs[i].Next(...)),
	// and must not keep cs or change its length. When fn returns nil, the
	// store writes every element fn changed: a counter that is
	// [Counter.Live] at now is stored as fn left it (times in UTC), and one
	// that is not (a zero Counter, say) is forgotten, as by
	// [Counters.DeleteCounter]. When fn returns an error, nothing changes
	// and UpdateCounters returns that error as it is, unwrapped.
	//
	// Concurrent calls, and the [Counters] methods, on the same keys run
	// as if one after the other: the counters that exist are locked from
	// the read to the write, and a counter fn creates is checked to be
	// still missing, so of 50 concurrent calls that each count a hit when
	// the count is below 5, exactly 5 count one. A store may leave a key
	// that does not exist unlocked while fn runs (sqlstore does): when a
	// concurrent call creates it first, a call whose fn also creates it
	// runs again, and a call whose fn only read it as zero counts as
	// having run before the one that created it (so two calls that each
	// read as zero a key that the other creates may both succeed). A store that locks keys
	// one by one locks them in sorted (byte) order, whatever the order of
	// keys, so that calls on overlapping key sets cannot deadlock.
	//
	// fn runs while the keys are locked: it must be quick, must not block
	// and must not call the store. A store may call it more than once (when
	// it runs a transaction again after losing a race); only the last
	// call's changes are stored, so fn must derive everything from cs and
	// not accumulate state across calls. With no keys, fn is called with an
	// empty slice and nothing is stored. Keys must be distinct: a key given
	// twice is an error, and then fn is not called and nothing changes.
	UpdateCounters(ctx context.Context, keys []string, now time.Time, fn func(cs []Counter) error) error
}
