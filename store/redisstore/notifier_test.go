package redisstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-go/gatehouse/internal/sessioncachetest"
	"github.com/gatehouse-go/gatehouse/internal/testdb"
	"github.com/gatehouse-go/gatehouse/store/memstore"
	"github.com/gatehouse-go/gatehouse/store/redisstore"
)

// TestNotifierInstances: three Managers sharing one store, each with its
// own Redis client and Notifier (internal/sessioncachetest): 1,000
// logouts on A measured to refusal on B and C, and a killed subscriber
// connection falls back to exact reads.
func TestNotifierInstances(t *testing.T) {
	admin := client(t)
	b := make([]byte, 8)
	rand.Read(b)
	tag := hex.EncodeToString(b)
	channel := "gatehouse-test:" + tag + ":sessions"
	users := memstore.New()
	var inst [3]sessioncachetest.Instance
	for i := range inst {
		name := fmt.Sprintf("gh-test-%s-%d", tag, i)
		rdb := redis.NewClient(&redis.Options{Addr: testdb.RedisAddr(), ClientName: name})
		t.Cleanup(func() { rdb.Close() })
		n, err := redisstore.NewNotifier(rdb, redisstore.NotifierConfig{Channel: channel, MinBackoff: 300 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		inst[i] = sessioncachetest.Instance{Store: users, Invalidator: n, Kill: func(tb testing.TB) { killSubscriber(tb, admin, name) }}
	}
	sessioncachetest.Run(t, "Redis pub/sub", inst, 1000)
}

// killSubscriber kills the pub/sub connection of the client named name.
func killSubscriber(tb testing.TB, rdb *redis.Client, name string) {
	tb.Helper()
	ctx := context.Background()
	list, err := rdb.Do(ctx, "CLIENT", "LIST", "TYPE", "pubsub").Text()
	if err != nil {
		tb.Fatal(err)
	}
	for line := range strings.Lines(list) {
		if !strings.Contains(line, " name="+name+" ") {
			continue
		}
		id, _, _ := strings.Cut(strings.TrimPrefix(line, "id="), " ")
		if err := rdb.Do(ctx, "CLIENT", "KILL", "ID", id).Err(); err != nil {
			tb.Fatal(err)
		}
		return
	}
	tb.Fatalf("no pub/sub connection named %s", name)
}

func TestNotifierRefusesNil(t *testing.T) {
	if _, err := redisstore.NewNotifier(nil, redisstore.NotifierConfig{}); err == nil {
		t.Fatal("NewNotifier(nil) succeeded")
	}
}

// TestNotifierMalformedPayload: a message that is not ours flushes
// everything rather than being ignored.
func TestNotifierMalformedPayload(t *testing.T) {
	rdb := client(t)
	b := make([]byte, 8)
	rand.Read(b)
	channel := "gatehouse-test:" + hex.EncodeToString(b)
	n, err := redisstore.NewNotifier(rdb, redisstore.NotifierConfig{Channel: channel})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan []string, 4)
	up := make(chan bool, 4)
	done := make(chan error, 1)
	go func() {
		done <- n.Listen(ctx, func(k []string) { got <- k }, func(u bool) { up <- u })
	}()
	if !<-up {
		t.Fatal("first health report was down")
	}
	if err := rdb.Publish(ctx, channel, "not json").Err(); err != nil {
		t.Fatal(err)
	}
	if err := n.Publish(ctx, []string{"s:1", "u:2"}); err != nil {
		t.Fatal(err)
	}
	if k := <-got; len(k) != 1 || k[0] != "*" {
		t.Fatalf("malformed payload delivered as %q, want [*]", k)
	}
	if k := <-got; len(k) != 2 || k[0] != "s:1" || k[1] != "u:2" {
		t.Fatalf("delivered %q", k)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Listen: %v", err)
	}
	if <-up {
		t.Fatal("no down report when Listen ended")
	}
}
