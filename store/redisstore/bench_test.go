package redisstore_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/internal/testdb"
	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/sqlstore"
)

// postgresCounters returns sqlstore's counters on PostgreSQL in a schema of
// their own, dropped by a clean-up, or skips (fails under CI=true).
func postgresCounters(tb testing.TB) store.Counters {
	tb.Helper()
	db := testdb.EmptyPostgres(tb, nil)
	db.SetMaxOpenConns(16)
	ctx := context.Background()
	if err := sqlstore.Migrate(ctx, db, sqlstore.Postgres); err != nil {
		tb.Fatal(err)
	}
	s, err := sqlstore.New(db, sqlstore.Postgres)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// counterStores are the stores compared: PostgreSQL (sqlstore, the
// baseline) and Redis.
func counterStores(b *testing.B) []struct {
	name string
	new  func(b *testing.B) store.Counters
} {
	return []struct {
		name string
		new  func(b *testing.B) store.Counters
	}{
		{"postgres", func(b *testing.B) store.Counters { return postgresCounters(b) }},
		{"redis", func(b *testing.B) store.Counters { s, _ := fresh(b, client(b)); return s }},
	}
}

// benchKeys spreads the hits over as many counters as a busy site's failed
// logins would (one per account).
const benchKeys = 1000

// BenchmarkIncrementCounter: one failed login's per-account hit, from 8
// concurrent callers. Compare redis against postgres of the same run with
// benchstat.
func BenchmarkIncrementCounter(b *testing.B) {
	for _, cs := range counterStores(b) {
		b.Run("store="+cs.name, func(b *testing.B) {
			c := cs.new(b)
			now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			var n atomic.Int64
			b.SetParallelism(4) // 4 × GOMAXPROCS callers
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					k := "login:account:" + strconv.FormatInt(n.Add(1)%benchKeys, 10)
					if _, err := c.IncrementCounter(context.Background(), k, now, 12*time.Hour, true); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkUpdateCounters: a login's check-and-count of its per-account and
// per-IP counters in one CounterBatch call, from concurrent callers.
func BenchmarkUpdateCounters(b *testing.B) {
	for _, cs := range counterStores(b) {
		b.Run("store="+cs.name, func(b *testing.B) {
			batch, ok := cs.new(b).(store.CounterBatch)
			if !ok {
				b.Skip("no store.CounterBatch")
			}
			now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			var n atomic.Int64
			b.SetParallelism(4)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					keys := []string{"login:account:" + strconv.FormatInt(i%benchKeys, 10), "login:ip:" + strconv.FormatInt(i%(benchKeys/10), 10)}
					err := batch.UpdateCounters(context.Background(), keys, now, func(cs []store.Counter) error {
						for j := range cs {
							if cs[j].Count < 1<<30 {
								cs[j] = cs[j].Next(now, time.Hour, false)
							}
						}
						return nil
					})
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
