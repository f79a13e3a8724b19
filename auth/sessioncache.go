package auth

import (
	"container/list"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

// Invalidator carries the session cache's invalidations between the
// instances of an application that share one store (Config.SessionCache).
// Package sqlstore/pgnotify implements it over PostgreSQL LISTEN/NOTIFY
// and package redisstore over Redis pub/sub. Keys are opaque strings of
// the Manager's; an Invalidator carries them unchanged.
//
// An implementation is safe for concurrent use.
type Invalidator interface {
	// Publish delivers keys to every instance listening, this one
	// included or not. The Manager calls it after the store change the
	// keys describe has committed.
	Publish(ctx context.Context, keys []string) error

	// Listen receives what any instance publishes and hands each batch of
	// keys to deliver, in order, until ctx ends; it then returns
	// context.Cause(ctx). It calls healthy(true) each time its
	// subscription starts to work (after the first successful subscribe,
	// and after every reconnect) and healthy(false) as soon as it may
	// have missed a publication (a lost connection, a failed liveness
	// check). Listen reconnects by itself. The callbacks are quick and
	// never called concurrently with each other.
	Listen(ctx context.Context, deliver func(keys []string), healthy func(up bool)) error
}

// LocalInvalidator is the [Invalidator] of a Manager that is the only one
// over its store (a single process): the Manager invalidates its own
// entries at once, so there is nothing to carry, and its subscription is
// always healthy. Never use it when another process can change the same
// store (a second instance, another program on the same SQLite file): its
// changes would not reach this cache for up to SessionCacheConfig.TTL.
type LocalInvalidator struct{}

// Publish does nothing: no other instance listens.
func (LocalInvalidator) Publish(context.Context, []string) error { return nil }

// Listen reports a healthy subscription and waits for ctx to end.
func (LocalInvalidator) Listen(ctx context.Context, _ func([]string), healthy func(bool)) error {
	healthy(true)
	<-ctx.Done()
	return context.Cause(ctx)
}

// SessionCacheConfig configures the session cache (Config.SessionCache):
// with it on, [Manager.Authenticate] takes a session and its user from
// memory instead of reading the store. The zero value means off: every
// Authenticate reads the store (exact reads).
//
// The cache is only used while its Invalidator reports a working
// subscription: until [Manager.ListenInvalidations] has subscribed, and
// from the moment the subscription is lost until it is back, every read is
// exact; on every (re)subscription the cache is emptied first, since
// publications may have been missed in between. Every change the Manager
// makes to a session or a user is published after the store commits it,
// and invalidated in this instance at once. The staleness bound is stated in the README
// ("Session cache") and SECURITY.md, Decision 4.
type SessionCacheConfig struct {
	// Invalidator carries invalidations between instances. Setting it
	// turns the cache on; nil (the default) leaves it off.
	Invalidator Invalidator

	// Size bounds the number of sessions kept (least recently used first
	// out). Default [DefaultSessionCacheSize]; at most
	// [MaxSessionCacheSize].
	Size int

	// TTL caps how long an entry is used after its store read, whatever
	// the notifications say: the bound on staleness should a publication
	// be lost on the sending side. Default [DefaultSessionCacheTTL];
	// allowed 1 second to 10 minutes.
	TTL time.Duration
}

// Bounds and defaults of Config.SessionCache.
const (
	DefaultSessionCacheSize = 10000
	MaxSessionCacheSize     = 1 << 20
	DefaultSessionCacheTTL  = time.Minute
)

// ErrSessionCacheOff is returned by [Manager.ListenInvalidations] when
// Config.SessionCache.Invalidator is not set.
var ErrSessionCacheOff = errors.New("auth: the session cache is off")

func (c *SessionCacheConfig) fill() error {
	if c.Invalidator == nil {
		if c.Size != 0 || c.TTL != 0 {
			return cfgErr("SessionCache.Invalidator", "is required when Size or TTL is set")
		}
		return nil
	}
	switch {
	case c.Size < 0 || c.Size > MaxSessionCacheSize:
		return cfgErr("SessionCache.Size", "must be between 1 and 1048576")
	case c.Size == 0:
		c.Size = DefaultSessionCacheSize
	}
	switch {
	case c.TTL == 0:
		c.TTL = DefaultSessionCacheTTL
	case c.TTL < time.Second || c.TTL > 10*time.Minute:
		return cfgErr("SessionCache.TTL", "must be between 1s and 10m")
	}
	return nil
}

// The keys the Manager publishes: a session, every session of a user, or
// everything.
const (
	keySessionPrefix = "s:"
	keyUserPrefix    = "u:"
	keyAll           = "*"
)

func sessionKey(id string) string { return keySessionPrefix + id }
func userKey(id string) string    { return keyUserPrefix + id }

// sessionCache is the session cache: session ID → the session and its
// user as last read, bounded in size and age, usable only while healthy.
type sessionCache struct {
	mu      sync.Mutex
	healthy bool
	// seq changes with every invalidation and health change; a read of the
	// store is stored only if seq is what it was before the read began, so
	// that a notification that arrives during the read is never undone.
	seq    uint64
	max    int
	ttl    time.Duration
	items  map[string]*list.Element // by session ID, of *cacheEntry
	byUser map[string]map[string]struct{}
	order  list.List // most recently used first
}

type cacheEntry struct {
	s       store.Session
	u       store.User
	expires time.Time
}

func newSessionCache(max int, ttl time.Duration) *sessionCache {
	return &sessionCache{max: max, ttl: ttl, items: map[string]*list.Element{}, byUser: map[string]map[string]struct{}{}}
}

// get returns copies of the cached session id and its user, if the cache
// is healthy and the entry is young enough.
func (c *sessionCache) get(id string, now time.Time) (*store.Session, *store.User, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.healthy {
		return nil, nil, false
	}
	el, ok := c.items[id]
	if !ok {
		return nil, nil, false
	}
	e := el.Value.(*cacheEntry)
	if !now.Before(e.expires) {
		c.remove(el)
		return nil, nil, false
	}
	c.order.MoveToFront(el)
	s, u := e.s, e.u
	return &s, &u, true
}

// begin returns the sequence number to hand to put after a store read.
func (c *sessionCache) begin() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seq
}

// put stores copies of s and u, read from the store after begin returned
// seq, unless anything was invalidated since or the cache is unhealthy.
func (c *sessionCache) put(seq uint64, s *store.Session, u *store.User, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.healthy || seq != c.seq {
		return
	}
	exp := now.Add(c.ttl)
	if s.ExpiresAt.Before(exp) {
		exp = s.ExpiresAt
	}
	if s.IdleExpiresAt.Before(exp) {
		exp = s.IdleExpiresAt
	}
	if el, ok := c.items[s.ID]; ok {
		c.remove(el)
	}
	if c.order.Len() >= c.max {
		c.remove(c.order.Back())
	}
	c.items[s.ID] = c.order.PushFront(&cacheEntry{s: *s, u: *u, expires: exp})
	ids := c.byUser[s.UserID]
	if ids == nil {
		ids = map[string]struct{}{}
		c.byUser[s.UserID] = ids
	}
	ids[s.ID] = struct{}{}
}

func (c *sessionCache) remove(el *list.Element) {
	e := el.Value.(*cacheEntry)
	c.order.Remove(el)
	delete(c.items, e.s.ID)
	if ids := c.byUser[e.s.UserID]; ids != nil {
		delete(ids, e.s.ID)
		if len(ids) == 0 {
			delete(c.byUser, e.s.UserID)
		}
	}
}

func (c *sessionCache) flushLocked() {
	clear(c.items)
	clear(c.byUser)
	c.order.Init()
}

// invalidate drops what keys name. Unknown keys drop everything: they may
// come from a newer version that names things this one does not know.
func (c *sessionCache) invalidate(keys []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	for _, k := range keys {
		switch {
		case len(k) > len(keySessionPrefix) && k[:len(keySessionPrefix)] == keySessionPrefix:
			if el, ok := c.items[k[len(keySessionPrefix):]]; ok {
				c.remove(el)
			}
		case len(k) > len(keyUserPrefix) && k[:len(keyUserPrefix)] == keyUserPrefix:
			for id := range c.byUser[k[len(keyUserPrefix):]] {
				c.remove(c.items[id])
			}
		default:
			c.flushLocked()
			return
		}
	}
}

// setHealthy records the subscription's state; either way the cache
// starts empty.
func (c *sessionCache) setHealthy(up bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	c.flushLocked()
	c.healthy = up
}

// ListenInvalidations runs the session cache's subscription: it calls
// Config.SessionCache.Invalidator's Listen until ctx ends, and returns its
// error (context.Cause(ctx) once ctx ends). Run it in a goroutine of its
// own for as long as the Manager serves; until it has subscribed, and
// whenever the subscription is down, Authenticate reads the store as it
// does without the cache. Run one at a time.
//
// Errors: [ErrSessionCacheOff] when the cache is off.
func (m *Manager) ListenInvalidations(ctx context.Context) error {
	if m.sessions == nil {
		return ErrSessionCacheOff
	}
	defer m.sessions.setHealthy(false)
	return m.cfg.SessionCache.Invalidator.Listen(ctx, m.sessions.invalidate, m.sessions.setHealthy)
}

// publishTimeout bounds one Publish, which runs even when the request's
// context has ended: the change it reports has committed.
const publishTimeout = 5 * time.Second

// changed invalidates keys here at once and publishes them to the other
// instances. Call it after every store write that may change a session or
// a user, once the write has returned, whatever its outcome (an invalidation
// too many costs one store read; one too few would keep a stale entry).
func (m *Manager) changed(ctx context.Context, keys ...string) {
	if m.sessions == nil {
		return
	}
	m.sessions.invalidate(keys)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	if err := m.cfg.SessionCache.Invalidator.Publish(ctx, keys); err != nil {
		// Other instances keep their entries for at most SessionCache.TTL.
		m.log.ErrorContext(ctx, "gatehouse: publishing a session-cache invalidation failed", "keys", len(keys), "error", err.Error())
	}
}

// sessionUser is Authenticate's read of a session and its user: from the
// session cache when it is on, healthy and holds the session, from the
// store otherwise. A session past its idle deadline is always read from
// the store, which may have purged it.
func (m *Manager) sessionUser(ctx context.Context, id string) (*store.Session, *store.User, error) {
	if m.sessions == nil {
		return m.store.SessionUser(ctx, id)
	}
	now := m.cfg.Now()
	if s, u, ok := m.sessions.get(id, now); ok {
		return s, u, nil
	}
	seq := m.sessions.begin()
	s, u, err := m.store.SessionUser(ctx, id)
	if err == nil {
		m.sessions.put(seq, s, u, now)
	}
	return s, u, err
}
