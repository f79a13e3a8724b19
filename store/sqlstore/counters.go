package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

// IncrementCounter adds one hit to the counter named key at now and returns
// the counter after the hit, as [store.Counters] describes. The counter's
// row is created if missing and then locked, so concurrent hits on one key
// are counted one after the other and never lost.
func (s *Store) IncrementCounter(ctx context.Context, key string, now time.Time, ttl time.Duration, sliding bool) (store.Counter, error) {
	now = now.UTC().Truncate(time.Microsecond)
	at := s.d.instant(now)
	var out store.Counter
	err := s.write(ctx, func(q querier) error {
		// A new row starts expired (count 0, expiring now), so the hit
		// below begins its first life.
		if _, err := q.exec(ctx, qCounterEnsure, key, at, at, at); err != nil {
			return err
		}
		var c store.Counter
		if err := q.row(ctx, qCounterLock, key).Scan(s.counterDest(&c)...); err != nil {
			return err
		}
		out = storedCounter(c.Next(now, ttl, sliding))
		_, err := q.exec(ctx, qCounterUpdate, out.Count, s.d.instant(out.Start), s.d.instant(out.Last), s.d.instant(out.ExpiresAt), key)
		return err
	})
	if err != nil {
		return store.Counter{}, wrap("increment counter", err)
	}
	return out, nil
}

// GetCounter returns the counter named key as it stands at now: the zero
// Counter when it does not exist or has expired.
func (s *Store) GetCounter(ctx context.Context, key string, now time.Time) (store.Counter, error) {
	q, err := s.read(ctx)
	if err != nil {
		return store.Counter{}, wrap("get counter", err)
	}
	var c store.Counter
	err = q.row(ctx, qCounterGet, key).Scan(s.counterDest(&c)...)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return store.Counter{}, nil
	case err != nil:
		return store.Counter{}, wrap("get counter", err)
	case !c.Live(now):
		return store.Counter{}, nil
	}
	return c, nil
}

// DeleteCounter forgets the counter named key; deleting one that does not
// exist is not an error.
func (s *Store) DeleteCounter(ctx context.Context, key string) error {
	err := s.write(ctx, func(q querier) error {
		_, err := q.exec(ctx, qCounterDelete, key)
		return err
	})
	return wrap("delete counter", err)
}

// counterDest returns the scan destinations of a counter row into c.
func (s *Store) counterDest(c *store.Counter) []any {
	return []any{&c.Count, timeCol{s.d, &c.Start}, timeCol{s.d, &c.Last}, timeCol{s.d, &c.ExpiresAt}}
}

// storedCounter returns c as the database keeps it: times in UTC, to the
// microsecond.
func storedCounter(c store.Counter) store.Counter {
	c.Start = c.Start.UTC().Truncate(time.Microsecond)
	c.Last = c.Last.UTC().Truncate(time.Microsecond)
	c.ExpiresAt = c.ExpiresAt.UTC().Truncate(time.Microsecond)
	return c
}
