package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-go/gatehouse/store"
)

// DefaultPrefix is the key prefix when Config.Prefix is empty.
const DefaultPrefix = "gatehouse:counter:"

// gcMargin is how long Redis keeps a counter past its ExpiresAt, measured
// by Redis's own clock from the last write. The counter is already dead
// then (the store judges liveness by the caller's now, never by Redis's
// clock); the margin only keeps a live counter from being dropped early by
// clocks that disagree.
const gcMargin = time.Minute

// maxAttempts bounds the optimistic transactions of UpdateCounters that
// lose a race to a concurrent write of the same keys.
const maxAttempts = 1000

// Config configures [New]. The zero value is ready to use.
type Config struct {
	// Prefix is put before every counter key. Default [DefaultPrefix].
	// With Redis Cluster, give it a hash tag, such as
	// "{gatehouse}:counter:", so that every counter lives in one slot:
	// UpdateCounters reads and writes several keys in one transaction,
	// which Cluster allows only within a slot.
	Prefix string
}

// Store keeps counters in Redis. It implements [store.Counters] and
// [store.CounterBatch]; build one with [New]. A Store is safe for
// concurrent use, as the client is.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
}

var (
	_ store.Counters     = (*Store)(nil)
	_ store.CounterBatch = (*Store)(nil)
)

// New returns a Store over rdb, the application's own client (a
// *redis.Client, *redis.ClusterClient or failover client); the Store never
// closes it. New does no I/O.
func New(rdb redis.UniversalClient, cfg Config) (*Store, error) {
	if rdb == nil {
		return nil, errors.New("redisstore: the client is nil")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	return &Store{rdb: rdb, prefix: cfg.Prefix}, nil
}

// A counter is a hash of four integers: c, the count, and s, l and e, its
// Start, Last and ExpiresAt in Unix microseconds (Lua's numbers are
// doubles, exact to 2^53, which microseconds stay below until the year
// 2255; nanoseconds would not).

// incrementScript is [store.Counter.Next] in Lua, so that the read and the
// write are one atomic step. KEYS[1] is the counter; ARGV are now and ttl
// in microseconds, "1" for a sliding window, and the margin in
// milliseconds.
var incrementScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local v = redis.call('HMGET', KEYS[1], 'c', 's', 'e')
local c, s, e = tonumber(v[1]), tonumber(v[2]), tonumber(v[3])
if not c or not s or not e or c <= 0 or now >= e then
  c = 0
  s = now
end
c = c + 1
if ARGV[3] == '1' then e = now + ttl else e = s + ttl end
if e > now then
  redis.call('HSET', KEYS[1], 'c', c, 's', s, 'l', now, 'e', e)
  redis.call('PEXPIRE', KEYS[1], math.ceil((e - now) / 1000) + tonumber(ARGV[4]))
else
  redis.call('DEL', KEYS[1])
end
return {c, s, now, e}
`)

// IncrementCounter implements [store.Counters] with one Lua script. Times
// are kept to the microsecond.
func (s *Store) IncrementCounter(ctx context.Context, key string, now time.Time, ttl time.Duration, sliding bool) (store.Counter, error) {
	sl := "0"
	if sliding {
		sl = "1"
	}
	res, err := incrementScript.Run(ctx, s.rdb, []string{s.prefix + key},
		now.UnixMicro(), ttl.Microseconds(), sl, gcMargin.Milliseconds()).Int64Slice()
	if err != nil {
		return store.Counter{}, fmt.Errorf("redisstore: increment counter: %w", err)
	}
	if len(res) != 4 {
		return store.Counter{}, fmt.Errorf("redisstore: increment counter: the script returned %d values", len(res))
	}
	return store.Counter{
		Count:     int(res[0]),
		Start:     time.UnixMicro(res[1]).UTC(),
		Last:      time.UnixMicro(res[2]).UTC(),
		ExpiresAt: time.UnixMicro(res[3]).UTC(),
	}, nil
}

// GetCounter implements [store.Counters].
func (s *Store) GetCounter(ctx context.Context, key string, now time.Time) (store.Counter, error) {
	v, err := s.rdb.HMGet(ctx, s.prefix+key, "c", "s", "l", "e").Result()
	if err != nil {
		return store.Counter{}, fmt.Errorf("redisstore: get counter: %w", err)
	}
	c, err := decode(v)
	if err != nil {
		return store.Counter{}, fmt.Errorf("redisstore: get counter: %w", err)
	}
	if !c.Live(now) {
		return store.Counter{}, nil
	}
	return c, nil
}

// DeleteCounter implements [store.Counters].
func (s *Store) DeleteCounter(ctx context.Context, key string) error {
	if err := s.rdb.Del(ctx, s.prefix+key).Err(); err != nil {
		return fmt.Errorf("redisstore: delete counter: %w", err)
	}
	return nil
}

// UpdateCounters implements [store.CounterBatch] with an optimistic
// transaction: it WATCHes the keys, reads them, calls fn and writes what fn
// changed in MULTI/EXEC, which Redis refuses when any of the keys, present
// or missing, was written in between; the whole step then runs again (fn
// included). Calls on the same keys therefore run as if one after the
// other, created keys included. fn cannot run inside Redis (it is Go), so
// this is not a Lua script. After many lost races in a row it gives up
// with an error.
func (s *Store) UpdateCounters(ctx context.Context, keys []string, now time.Time, fn func(cs []store.Counter) error) error {
	full := make([]string, len(keys))
	seen := make(map[string]bool, len(keys))
	for i, k := range keys {
		if seen[k] {
			return fmt.Errorf("redisstore: update counters: key %q given twice", k)
		}
		seen[k] = true
		full[i] = s.prefix + k
	}
	if len(keys) == 0 {
		return fn([]store.Counter{})
	}
	var fnErr error
	txf := func(tx *redis.Tx) error {
		fnErr = nil
		read := make([]*redis.SliceCmd, len(full))
		if _, err := tx.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, k := range full {
				read[i] = p.HMGet(ctx, k, "c", "s", "l", "e")
			}
			return nil
		}); err != nil {
			return err
		}
		before := make([]store.Counter, len(full))
		for i, r := range read {
			c, err := decode(r.Val())
			if err != nil {
				return err
			}
			if c.Live(now) {
				before[i] = c
			}
		}
		cs := append([]store.Counter(nil), before...)
		if fnErr = fn(cs); fnErr != nil {
			return fnErr
		}
		_, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			for i, c := range cs {
				if same(c, before[i]) {
					continue
				}
				if !c.Live(now) {
					p.Del(ctx, full[i])
					continue
				}
				p.HSet(ctx, full[i], "c", c.Count, "s", c.Start.UnixMicro(), "l", c.Last.UnixMicro(), "e", c.ExpiresAt.UnixMicro())
				p.PExpire(ctx, full[i], c.ExpiresAt.Sub(now).Round(time.Millisecond)+time.Millisecond+gcMargin)
			}
			return nil
		})
		return err
	}
	for range maxAttempts {
		err := s.rdb.Watch(ctx, txf, full...)
		switch {
		case fnErr != nil:
			return fnErr
		case errors.Is(err, redis.TxFailedErr):
			continue
		case err != nil:
			return fmt.Errorf("redisstore: update counters: %w", err)
		}
		return nil
	}
	return fmt.Errorf("redisstore: update counters: lost the race to concurrent writers %d times", maxAttempts)
}

// same reports whether a and b are the same counter, to the microsecond
// the store keeps, wherever their times are located.
func same(a, b store.Counter) bool {
	return a.Count == b.Count && a.Start.UnixMicro() == b.Start.UnixMicro() &&
		a.Last.UnixMicro() == b.Last.UnixMicro() && a.ExpiresAt.UnixMicro() == b.ExpiresAt.UnixMicro()
}

// decode reads the HMGET of c, s, l and e: the zero Counter when the key
// does not exist.
func decode(v []any) (store.Counter, error) {
	if len(v) != 4 || v[0] == nil {
		return store.Counter{}, nil
	}
	var n [4]int64
	for i, x := range v {
		str, ok := x.(string)
		if !ok {
			return store.Counter{}, errors.New("a counter field is missing")
		}
		var err error
		if n[i], err = strconv.ParseInt(str, 10, 64); err != nil {
			return store.Counter{}, fmt.Errorf("a counter field is not an integer: %w", err)
		}
	}
	return store.Counter{
		Count:     int(n[0]),
		Start:     time.UnixMicro(n[1]).UTC(),
		Last:      time.UnixMicro(n[2]).UTC(),
		ExpiresAt: time.UnixMicro(n[3]).UTC(),
	}, nil
}
