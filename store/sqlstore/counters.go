package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
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
	_, err := s.writeOne(ctx, qCounterDelete, key)
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

// sameCounter reports whether a and b are the same state.
func sameCounter(a, b store.Counter) bool {
	return a.Count == b.Count && a.Start.Equal(b.Start) && a.Last.Equal(b.Last) && a.ExpiresAt.Equal(b.ExpiresAt)
}

// errCounterRace means that UpdateCounters found a counter missing and
// could not create it because a concurrent transaction had meanwhile: the
// transaction runs again (classify calls it retryable).
var errCounterRace = errors.New("sqlstore: a counter was created concurrently")

// UpdateCounters calls fn with the counters named keys and stores what it
// leaves, in one transaction, as [store.CounterBatch] describes.
//
// One SELECT reads the counters that exist and locks them in key order
// (FOR UPDATE on PostgreSQL and MySQL; on SQLite the transaction holds the
// database's write lock from its first statement). After fn, at most one
// INSERT creates the counters that did not exist, one upsert updates the
// changed ones and one DELETE forgets those fn left dead. When the INSERT
// finds that a concurrent transaction created one of its counters first,
// the transaction runs again, fn included, as it does after a deadlock.
func (s *Store) UpdateCounters(ctx context.Context, keys []string, now time.Time, fn func(cs []store.Counter) error) error {
	if err := distinct(keys); err != nil {
		return wrap("update counters", err)
	}
	now = now.UTC().Truncate(time.Microsecond)
	if len(keys) == 0 {
		return fn([]store.Counter{})
	}
	// sorted is keys in lock order; index maps a key to its place in keys.
	sorted := slices.Sorted(slices.Values(keys))
	index := make(map[string]int, len(keys))
	for i, k := range keys {
		index[k] = i
	}
	var fnErr error
	err := s.write(ctx, func(q querier) error {
		fnErr = nil
		read, exists, err := s.lockCounters(ctx, q, sorted, index, now)
		if err != nil {
			return err
		}
		cs := slices.Clone(read)
		if fnErr = fn(cs); fnErr != nil {
			return fnErr
		}
		var insert, update, drop []any
		nInsert, nUpdate := 0, 0
		for _, k := range sorted {
			i := index[k]
			next := storedCounter(cs[i])
			row := func(args []any) []any {
				return append(args, k, next.Count, s.d.instant(next.Start), s.d.instant(next.Last), s.d.instant(next.ExpiresAt))
			}
			switch {
			case !next.Live(now):
				if exists[i] {
					drop = append(drop, k)
				}
			case !exists[i]:
				insert, nInsert = row(insert), nInsert+1
			case !sameCounter(next, read[i]):
				update, nUpdate = row(update), nUpdate+1
			}
		}
		if nInsert > 0 {
			if _, err := s.batchExec(ctx, q, batchInsert, nInsert, insert); err != nil {
				if classify(err) == errUnique {
					return errCounterRace
				}
				return err
			}
		}
		if nUpdate > 0 {
			if _, err := s.batchExec(ctx, q, batchUpdate, nUpdate, update); err != nil {
				return err
			}
		}
		if len(drop) > 0 {
			if _, err := s.batchExec(ctx, q, batchDelete, len(drop), drop); err != nil {
				return err
			}
		}
		return nil
	})
	if fnErr != nil && errors.Is(err, fnErr) {
		return fnErr // unwrapped, as the contract says
	}
	return wrap("update counters", err)
}

// lockCounters reads and locks the counters named sorted (keys in sorted
// order) that exist, and returns them in the order of keys (index maps a
// key to its place): each as it stands at now (zero when dead or missing),
// and whether its row exists.
func (s *Store) lockCounters(ctx context.Context, q querier, sorted []string, index map[string]int, now time.Time) ([]store.Counter, []bool, error) {
	args := make([]any, len(sorted))
	for j, k := range sorted {
		args[j] = k
	}
	rows, err := s.batchQuery(ctx, q, batchLock, len(sorted), args)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	read := make([]store.Counter, len(sorted))
	exists := make([]bool, len(sorted))
	for rows.Next() {
		var name string
		var c store.Counter
		if err := rows.Scan(append([]any{&name}, s.counterDest(&c)...)...); err != nil {
			return nil, nil, err
		}
		i, ok := index[name]
		if !ok {
			return nil, nil, fmt.Errorf("counter %q not asked for", name)
		}
		exists[i] = true
		if c.Live(now) {
			read[i] = c
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	return read, exists, rows.Close()
}

// batchExec runs the statement of kind k for n keys: prepared when n is
// small enough, built for this call otherwise.
func (s *Store) batchExec(ctx context.Context, q querier, k batchKind, n int, args []any) (sql.Result, error) {
	if n <= preparedBatch {
		return q.exec(ctx, batchQID(k, n), args...)
	}
	return q.rawExec(ctx, strings.NewReplacer("{lock}", s.d.forUpdate()).Replace(batchTemplate(s.d, k, n)), args...)
}

// batchQuery is batchExec for a statement that returns rows.
func (s *Store) batchQuery(ctx context.Context, q querier, k batchKind, n int, args []any) (*sql.Rows, error) {
	if n <= preparedBatch {
		return q.query(ctx, batchQID(k, n), args...)
	}
	return q.rawQuery(ctx, strings.NewReplacer("{lock}", s.d.forUpdate()).Replace(batchTemplate(s.d, k, n)), args...)
}

// distinct returns an error when a key appears twice.
func distinct(keys []string) error {
	for i, k := range keys {
		if slices.Contains(keys[:i], k) {
			return fmt.Errorf("key %q given twice", k)
		}
	}
	return nil
}
