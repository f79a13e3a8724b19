package tokencache_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/auth/internal/tokencache"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestGetPutExpiry(t *testing.T) {
	c := tokencache.New[string](4)
	k := tokencache.KeyOf("token")
	if _, ok := c.Get(k, t0); ok {
		t.Fatal("hit on an empty cache")
	}
	c.Put(k, "claims", t0.Add(time.Minute))
	if v, ok := c.Get(k, t0.Add(time.Minute-time.Nanosecond)); !ok || v != "claims" {
		t.Fatalf("before expiry: %q %v", v, ok)
	}
	if _, ok := c.Get(k, t0.Add(time.Minute)); ok {
		t.Fatal("hit at the expiry instant")
	}
	if c.Len() != 0 {
		t.Fatalf("expired entry kept: len %d", c.Len())
	}
	if tokencache.KeyOf("token") == tokencache.KeyOf("token ") {
		t.Fatal("keys of different tokens collide")
	}
}

func TestEvictsLeastRecentlyUsed(t *testing.T) {
	c := tokencache.New[int](2)
	a, b, d := tokencache.KeyOf("a"), tokencache.KeyOf("b"), tokencache.KeyOf("d")
	exp := t0.Add(time.Hour)
	c.Put(a, 1, exp)
	c.Put(b, 2, exp)
	c.Get(a, t0) // a is now the most recent
	c.Put(d, 3, exp)
	if _, ok := c.Get(b, t0); ok {
		t.Fatal("the least recently used entry survived")
	}
	if v, ok := c.Get(a, t0); !ok || v != 1 {
		t.Fatalf("a: %d %v", v, ok)
	}
	if v, ok := c.Get(d, t0); !ok || v != 3 {
		t.Fatalf("d: %d %v", v, ok)
	}
	c.Put(d, 4, exp) // replacing does not evict
	if c.Len() != 2 || c.Max() != 2 {
		t.Fatalf("len %d max %d", c.Len(), c.Max())
	}
	if v, _ := c.Get(d, t0); v != 4 {
		t.Fatalf("replaced value %d", v)
	}
}

func TestConcurrentUse(t *testing.T) {
	c := tokencache.New[int](64)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				k := tokencache.KeyOf(fmt.Sprint(g, i%100))
				c.Put(k, i, t0.Add(time.Hour))
				c.Get(k, t0)
			}
		})
	}
	wg.Wait()
	if c.Len() > 64 {
		t.Fatalf("len %d over the bound", c.Len())
	}
}
