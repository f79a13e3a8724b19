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

// sameCounter reports whether a and b are the same state.
func sameCounter(a, b store.Counter) bool {
	return a.Count == b.Count && a.Start.Equal(b.Start) && a.Last.Equal(b.Last) && a.ExpiresAt.Equal(b.ExpiresAt)
}

// UpdateCounters calls fn with the counters named keys and stores what it
// leaves, in one transaction, as [store.CounterBatch] describes.
//
// The transaction locks every key's row, in sorted order, before fn runs:
// on PostgreSQL one upsert creates the missing rows (dead, so they read as
// zero) and returns all of them locked; on MySQL an upsert creates and
// locks them and a SELECT ... FOR UPDATE reads them; on SQLite the
// transaction holds the database's write lock from its first statement,
// and a SELECT reads the rows that exist. Afterwards at most two
// statements write: one upsert of the counters fn changed and one DELETE
// of those it left dead (including rows created only to be locked). A
// transaction that loses a deadlock is retried, calling fn again.
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
		var put []store.Counter
		var putKeys, drop []string
		for _, k := range sorted {
			i := index[k]
			next := storedCounter(cs[i])
			switch {
			case !next.Live(now):
				if exists[i] {
					drop = append(drop, k)
				}
			case !sameCounter(next, read[i]):
				putKeys, put = append(putKeys, k), append(put, next)
			}
		}
		if len(put) > 0 {
			args := make([]any, 0, 5*len(put))
			for j, c := range put {
				args = append(args, putKeys[j], c.Count, s.d.instant(c.Start), s.d.instant(c.Last), s.d.instant(c.ExpiresAt))
			}
			if _, err := s.batchExec(ctx, q, batchUpsert, len(put), args); err != nil {
				return err
			}
		}
		if len(drop) > 0 {
			args := make([]any, len(drop))
			for j, k := range drop {
				args[j] = k
			}
			if _, err := s.batchExec(ctx, q, batchDelete, len(drop), args); err != nil {
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
// order) and returns them in the order of keys (index maps a key to its
// place): each as it stands at now (zero when dead or missing), and
// whether its row exists.
func (s *Store) lockCounters(ctx context.Context, q querier, sorted []string, index map[string]int, now time.Time) ([]store.Counter, []bool, error) {
	n := len(sorted)
	if s.d == MySQL {
		at := s.d.instant(now)
		args := make([]any, 0, 4*n)
		for _, k := range sorted {
			args = append(args, k, at, at, at)
		}
		if _, err := s.batchExec(ctx, q, batchEnsure, n, args); err != nil {
			return nil, nil, err
		}
	}
	var args []any
	if s.d == Postgres {
		at := s.d.instant(now)
		args = make([]any, 0, 4*n)
		for _, k := range sorted {
			args = append(args, k, at, at, at)
		}
	} else {
		args = make([]any, n)
		for j, k := range sorted {
			args[j] = k
		}
	}
	rows, err := s.batchQuery(ctx, q, batchLock, n, args)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	read := make([]store.Counter, n)
	exists := make([]bool, n)
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
