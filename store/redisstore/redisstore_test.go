package redisstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-go/gatehouse/internal/skipnote"
	"github.com/gatehouse-go/gatehouse/internal/testdb"
	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/redisstore"
	"github.com/gatehouse-go/gatehouse/store/storetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	skipnote.Report("store/redisstore")
	os.Exit(code)
}

// client returns a client of the test server, or skips (fails under
// CI=true) when it cannot be reached.
func client(tb testing.TB) *redis.Client {
	tb.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: testdb.RedisAddr(), PoolSize: 16})
	tb.Cleanup(func() { rdb.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		testdb.Unreachable(tb, "Redis", testdb.RedisEnv, err)
	}
	return rdb
}

// fresh returns a Store under a prefix of its own, whose keys a clean-up
// deletes.
func fresh(tb testing.TB, rdb *redis.Client) (*redisstore.Store, string) {
	tb.Helper()
	b := make([]byte, 8)
	rand.Read(b)
	prefix := "gatehouse-test:" + hex.EncodeToString(b) + ":"
	s, err := redisstore.New(rdb, redisstore.Config{Prefix: prefix})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
		if err := iter.Err(); err != nil {
			tb.Errorf("cleaning up %s*: %v", prefix, err)
		}
	})
	return s, prefix
}

// TestConformance runs the storetest counter cases (Counters and
// CounterBatch) against Redis.
func TestConformance(t *testing.T) {
	rdb := client(t)
	storetest.RunCounters(t, func(t *testing.T) store.Counters {
		s, _ := fresh(t, rdb)
		return s
	})
}

// TestRedisExpiry: Redis forgets a counter by itself, some time after it
// is dead (its ExpiresAt plus a margin, by Redis's clock), so no
// housekeeping is needed; a deleted or dead counter leaves no key.
func TestRedisExpiry(t *testing.T) {
	rdb := client(t)
	s, prefix := fresh(t, rdb)
	ctx := context.Background()
	now := time.Now()
	if _, err := s.IncrementCounter(ctx, "fixed", now, time.Hour, false); err != nil {
		t.Fatal(err)
	}
	// A later hit of a fixed window does not extend the key's life.
	if _, err := s.IncrementCounter(ctx, "fixed", now.Add(30*time.Minute), time.Hour, false); err != nil {
		t.Fatal(err)
	}
	ttl, err := rdb.PTTL(ctx, prefix+"fixed").Result()
	if err != nil {
		t.Fatal(err)
	}
	if ttl <= 30*time.Minute || ttl > 32*time.Minute {
		t.Fatalf("PTTL of a fixed-window counter 30 minutes into its hour = %v, want just over 30m (plus the margin)", ttl)
	}
	if _, err := s.IncrementCounter(ctx, "sliding", now, 10*time.Second, true); err != nil {
		t.Fatal(err)
	}
	if ttl, err := rdb.PTTL(ctx, prefix+"sliding").Result(); err != nil || ttl <= 10*time.Second || ttl > 2*time.Minute {
		t.Fatalf("PTTL of a sliding counter = %v, %v", ttl, err)
	}
	if err := s.DeleteCounter(ctx, "sliding"); err != nil {
		t.Fatal(err)
	}
	if n, err := rdb.Exists(ctx, prefix+"sliding").Result(); err != nil || n != 0 {
		t.Fatalf("the deleted counter's key exists: %d, %v", n, err)
	}
	// A batch that leaves a counter dead deletes its key.
	err = s.UpdateCounters(ctx, []string{"fixed"}, now, func(cs []store.Counter) error {
		cs[0] = store.Counter{}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := rdb.Exists(ctx, prefix+"fixed").Result(); err != nil || n != 0 {
		t.Fatalf("the zeroed counter's key exists: %d, %v", n, err)
	}
}

// TestPrefixesIndependent: two stores with different prefixes on one
// server share nothing.
func TestPrefixesIndependent(t *testing.T) {
	rdb := client(t)
	a, _ := fresh(t, rdb)
	b, _ := fresh(t, rdb)
	ctx := context.Background()
	now := time.Now()
	for range 3 {
		if _, err := a.IncrementCounter(ctx, "k", now, time.Hour, false); err != nil {
			t.Fatal(err)
		}
	}
	if c, err := b.GetCounter(ctx, "k", now); err != nil || c.Count != 0 {
		t.Fatalf("the other prefix sees %+v, %v", c, err)
	}
}

// TestBadData: a key of another type under the prefix is an error, never
// a counter.
func TestBadData(t *testing.T) {
	rdb := client(t)
	s, prefix := fresh(t, rdb)
	ctx := context.Background()
	if err := rdb.Set(ctx, prefix+"str", "x", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.IncrementCounter(ctx, "str", time.Now(), time.Hour, false); err == nil {
		t.Error("IncrementCounter over a string key succeeded")
	}
	if _, err := s.GetCounter(ctx, "str", time.Now()); err == nil {
		t.Error("GetCounter of a string key succeeded")
	}
	if err := rdb.HSet(ctx, prefix+"half", "c", "x", "s", "1", "l", "1", "e", "1").Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetCounter(ctx, "half", time.Now()); err == nil {
		t.Error("GetCounter of a hash with a non-integer count succeeded")
	}
}

// TestNew refuses a nil client.
func TestNew(t *testing.T) {
	if s, err := redisstore.New(nil, redisstore.Config{}); err == nil || s != nil {
		t.Fatalf("New(nil) = %v, %v", s, err)
	}
}

// TestCanceled: a cancelled context is an error that says so.
func TestCanceled(t *testing.T) {
	rdb := client(t)
	s, _ := fresh(t, rdb)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.IncrementCounter(ctx, "k", time.Now(), time.Hour, false)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("IncrementCounter with a cancelled context: %v", err)
	}
	err = s.UpdateCounters(ctx, []string{"k"}, time.Now(), func([]store.Counter) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("UpdateCounters with a cancelled context: %v", err)
	}
}
