// Package tokencache is the verified-token cache of package auth: a bounded
// LRU of values keyed by the SHA-256 of a token, each with its own expiry.
package tokencache

import (
	"container/list"
	"crypto/sha256"
	"sync"
	"time"
)

// Key is the SHA-256 of the exact token bytes.
type Key = [sha256.Size]byte

// KeyOf returns the cache key of token.
func KeyOf(token string) Key { return sha256.Sum256([]byte(token)) }

// Cache remembers values until their expiry, evicting the least recently
// used entry when full. It is safe for concurrent use. Values are copied in
// and out, so V should be a plain value type.
type Cache[V any] struct {
	mu    sync.Mutex
	max   int
	items map[Key]*list.Element
	order list.List // of *entry[V], most recently used first
}

type entry[V any] struct {
	key       Key
	v         V
	expiresAt time.Time
}

// New returns a cache holding at most max entries; max must be positive.
func New[V any](max int) *Cache[V] {
	return &Cache[V]{max: max, items: make(map[Key]*list.Element)}
}

// Max is the capacity the cache was built with.
func (c *Cache[V]) Max() int { return c.max }

// Len is the number of entries held, expired ones included until they are
// looked up or evicted.
func (c *Cache[V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

// Get returns the value stored under key while now is before its expiry;
// an expired entry is dropped.
func (c *Cache[V]) Get(key Key, now time.Time) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var zero V
	el, ok := c.items[key]
	if !ok {
		return zero, false
	}
	e := el.Value.(*entry[V])
	if !now.Before(e.expiresAt) {
		c.order.Remove(el)
		delete(c.items, key)
		return zero, false
	}
	c.order.MoveToFront(el)
	return e.v, true
}

// Put stores v under key until expiresAt, evicting the least recently used
// entry when full.
func (c *Cache[V]) Put(key Key, v V, expiresAt time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		e := el.Value.(*entry[V])
		e.v, e.expiresAt = v, expiresAt
		c.order.MoveToFront(el)
		return
	}
	if c.order.Len() >= c.max {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.items, oldest.Value.(*entry[V]).key)
	}
	c.items[key] = c.order.PushFront(&entry[V]{key: key, v: v, expiresAt: expiresAt})
}
