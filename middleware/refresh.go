package middleware

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"time"

	"github.com/gatehouse-go/gatehouse/auth"
)

// refreshTimeout bounds a shared refresh, which runs on after the request
// that started it has gone (see refresher.do).
const refreshTimeout = 30 * time.Second

// refresher coalesces the refreshes of one refresh token within a process:
// a browser that loads a page and its fetches at once sends the same
// expired cookie several times, and only one of those requests may rotate
// the token — a second rotation would look like a replay and revoke the
// session. The first request refreshes; the others, and any that arrive
// within RefreshMemory after it succeeded, get its new tokens.
//
// Entries are keyed by the SHA-256 of the refresh token; only successes are
// remembered past the call, so tokens that fail cost no memory. Expired
// entries are swept when new ones are added, at most once per
// RefreshMemory: no goroutine is started.
var errRefreshAborted = errors.New("middleware: a shared refresh was aborted")

type refresher struct {
	mu    sync.Mutex
	calls map[[sha256.Size]byte]*refreshCall
	swept time.Time
}

type refreshCall struct {
	done chan struct{} // closed when pair and err are set
	pair *auth.TokenPair
	err  error
	// until is when a successful result stops being handed out; zero
	// while the call runs. Guarded by refresher.mu.
	until time.Time
}

// do refreshes token with m, or returns the result of a refresh of the
// same token that is running or finished within RefreshMemory. The refresh
// runs to its end even when ctx is canceled (the rotation must not be lost
// half-way: the browser would then present a spent token), bounded by
// refreshTimeout; a waiter whose ctx ends stops waiting.
func (f *refresher) do(ctx context.Context, m *auth.Manager, token string) (*auth.TokenPair, error) {
	key := sha256.Sum256([]byte(token))
	now := m.Now()
	f.mu.Lock()
	if c, ok := f.calls[key]; ok && (c.until.IsZero() || now.Before(c.until)) {
		f.mu.Unlock()
		select {
		case <-c.done:
			return c.pair, c.err
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
	if f.calls == nil {
		f.calls = make(map[[sha256.Size]byte]*refreshCall)
	}
	f.sweepLocked(now)
	c := &refreshCall{done: make(chan struct{})}
	f.calls[key] = c
	f.mu.Unlock()

	defer func() {
		f.mu.Lock()
		if c.err == nil && c.pair == nil {
			c.err = errRefreshAborted // Refresh panicked
		}
		if c.err == nil {
			c.until = m.Now().Add(RefreshMemory)
		} else if f.calls[key] == c {
			delete(f.calls, key)
		}
		close(c.done)
		f.mu.Unlock()
	}()
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshTimeout)
	defer cancel()
	c.pair, c.err = m.Refresh(rctx, token)
	return c.pair, c.err
}

// sweepLocked drops remembered results whose time is up.
func (f *refresher) sweepLocked(now time.Time) {
	if now.Sub(f.swept) < RefreshMemory {
		return
	}
	f.swept = now
	for k, c := range f.calls {
		if !c.until.IsZero() && !now.Before(c.until) {
			delete(f.calls, k)
		}
	}
}
