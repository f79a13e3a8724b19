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
	// when sliding is set.
	IncrementCounter(ctx context.Context, key string, now time.Time, ttl time.Duration, sliding bool) (Counter, error)

	// GetCounter returns the counter named key as it stands at now: the
	// zero Counter, and no error, when it does not exist or has expired.
	GetCounter(ctx context.Context, key string, now time.Time) (Counter, error)

	// DeleteCounter forgets the counter named key. Deleting a counter that
	// does not exist is not an error.
	DeleteCounter(ctx context.Context, key string) error
}
