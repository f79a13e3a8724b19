package auth

import (
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

func cacheRecord(sid, uid string, now time.Time) (*store.Session, *store.User) {
	return &store.Session{ID: sid, UserID: uid, ExpiresAt: now.Add(time.Hour), IdleExpiresAt: now.Add(time.Hour)},
		&store.User{ID: uid, IsActive: true}
}

// TestSessionCacheReadRacesInvalidation: a store read that began before an
// invalidation (of any key) or a health change is not stored, so a
// notification that arrives during the read is never undone.
func TestSessionCacheReadRacesInvalidation(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		during func(c *sessionCache)
	}{
		{"session key", func(c *sessionCache) { c.invalidate([]string{sessionKey("s1")}) }},
		{"user key", func(c *sessionCache) { c.invalidate([]string{userKey("u1")}) }},
		{"another key", func(c *sessionCache) { c.invalidate([]string{sessionKey("other")}) }},
		{"reconnect", func(c *sessionCache) { c.setHealthy(false); c.setHealthy(true) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newSessionCache(10, time.Minute)
			c.setHealthy(true)
			seq := c.begin()
			tc.during(c)
			s, u := cacheRecord("s1", "u1", now)
			c.put(seq, s, u, now)
			if _, _, ok := c.get("s1", now); ok {
				t.Fatal("a read that raced an invalidation was cached")
			}
			c.put(c.begin(), s, u, now)
			if _, _, ok := c.get("s1", now); !ok {
				t.Fatal("a read after the invalidation was not cached")
			}
		})
	}
}

// TestSessionCacheBounds: the cache holds at most Size entries (least
// recently used out), never past the session's idle deadline, and a user
// key drops all of that user's sessions; an unknown key drops everything.
func TestSessionCacheBounds(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	c := newSessionCache(3, time.Minute)
	c.setHealthy(true)
	for i := range 4 {
		s, u := cacheRecord(fmt.Sprint("s", i), "u", now)
		c.put(c.begin(), s, u, now)
	}
	if c.order.Len() != 3 {
		t.Fatalf("%d entries, want 3", c.order.Len())
	}
	if _, _, ok := c.get("s0", now); ok {
		t.Fatal("the least recently used entry was kept")
	}
	c.invalidate([]string{userKey("u")})
	if c.order.Len() != 0 || len(c.byUser) != 0 {
		t.Fatalf("a user key left %d entries", c.order.Len())
	}
	s, u := cacheRecord("idle", "u", now)
	s.IdleExpiresAt = now.Add(time.Second)
	c.put(c.begin(), s, u, now)
	if _, _, ok := c.get("idle", now.Add(time.Second)); ok {
		t.Fatal("an entry was used at its session's idle deadline")
	}
	s, u = cacheRecord("x", "v", now)
	c.put(c.begin(), s, u, now)
	c.invalidate([]string{"future:kind"})
	if c.order.Len() != 0 {
		t.Fatal("an unknown key did not empty the cache")
	}
}
