package auth

import (
	"container/list"
	"context"
	"crypto/sha256"
	"sync"
	"time"
)

// Bounds of Config.VerifiedTokenCacheSize.
const (
	// DefaultVerifiedTokenCacheSize is the cache size with the built-in
	// JWT: about 1.4 MB when full.
	DefaultVerifiedTokenCacheSize = 4096
	// MaxVerifiedTokenCacheSize is the largest size accepted.
	MaxVerifiedTokenCacheSize = 1 << 20
)

// tokenCache remembers the claims of access tokens the TokenIssuer has
// verified, keyed by the SHA-256 of the exact token, so that a token
// presented again skips the signature check and the decoding until its
// expiry (Config.VerifiedTokenCacheSize). Only tokens that verified are
// ever stored, so garbage tokens cannot fill it. It is a bounded LRU, safe
// for concurrent use. It caches no session or user state: Authenticate
// reads those from the store on every call.
type tokenCache struct {
	mu    sync.Mutex
	max   int
	items map[[sha256.Size]byte]*list.Element
	order list.List // of *tokenEntry, most recently used first
}

type tokenEntry struct {
	key    [sha256.Size]byte
	claims Claims
}

func newTokenCache(max int) *tokenCache {
	return &tokenCache{max: max, items: make(map[[sha256.Size]byte]*list.Element)}
}

// get returns a copy of the claims stored under key while now is before
// their expiry; an expired entry is dropped.
func (c *tokenCache) get(key [sha256.Size]byte, now time.Time) (*Claims, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return nil, false
	}
	e := el.Value.(*tokenEntry)
	if !now.Before(e.claims.ExpiresAt) {
		c.order.Remove(el)
		delete(c.items, key)
		return nil, false
	}
	c.order.MoveToFront(el)
	claims := e.claims
	return &claims, true
}

// put stores a copy of claims under key, evicting the least recently used
// entry when full.
func (c *tokenCache) put(key [sha256.Size]byte, claims *Claims) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		el.Value.(*tokenEntry).claims = *claims
		c.order.MoveToFront(el)
		return
	}
	if c.order.Len() >= c.max {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.items, oldest.Value.(*tokenEntry).key)
	}
	c.items[key] = c.order.PushFront(&tokenEntry{key: key, claims: *claims})
}

// verifyAccessToken checks an access token with the TokenIssuer, or, when
// the verified-token cache is on, takes the claims it verified earlier for
// the same token bytes, as long as they have not expired. An expired token
// always goes to the TokenIssuer, which reports it as such.
func (m *Manager) verifyAccessToken(ctx context.Context, token string) (*Claims, error) {
	if m.tokenCache == nil {
		return m.tokens.Verify(ctx, token)
	}
	key := sha256.Sum256([]byte(token))
	if c, ok := m.tokenCache.get(key, m.cfg.Now()); ok {
		return c, nil
	}
	c, err := m.tokens.Verify(ctx, token)
	if err != nil {
		return nil, err
	}
	m.tokenCache.put(key, c)
	return c, nil
}
