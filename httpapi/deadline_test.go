package httpapi_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// withDeadline gives a request's context a deadline d, as a server
// middleware would.
func withDeadline(d time.Duration) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), d)
			defer cancel()
			h.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// deadlineHeader marks the requests that limit applies to, so that the
// tests' setup requests never race the short deadline.
const deadlineHeader = "X-Test-Deadline"

// only applies limit to the requests carrying deadlineHeader.
func only(limit func(http.Handler) http.Handler) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		limited := limit(h)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get(deadlineHeader) == "" {
				h.ServeHTTP(w, r)
				return
			}
			limited.ServeHTTP(w, r)
		})
	}
}

// TestDeadlineBlockingStore: SECURITY.md #75. A store that hangs until its
// context is done does not hang the API: when the request's deadline
// passes, the handler answers 503 unavailable with Retry-After (or the
// timeout handler answers for it), before the store is ever released; and
// TestMain's goleak finds no goroutine left behind. Nothing here measures
// time: the proof that the deadline ended each request is that the store's
// release channel is only closed when the test ends.
func TestDeadlineBlockingStore(t *testing.T) {
	const deadline = 50 * time.Millisecond
	tests := []struct {
		name  string
		wrap  func(http.Handler) http.Handler
		block func(s *flakyStore) *atomic.Bool
		req   func(user, admin tokens) req
		typed bool // the API's own JSON answer (not the timeout handler's)
	}{
		{"login, lookup hangs, context deadline", withDeadline(deadline),
			func(s *flakyStore) *atomic.Bool { return &s.blockLookup },
			func(user, admin tokens) req { return formLogin("alice@example.com", alicePW) }, true},
		{"bearer route, session check hangs, context deadline", withDeadline(deadline),
			func(s *flakyStore) *atomic.Bool { return &s.blockSession },
			func(user, admin tokens) req { return jsonReq("GET", "/user", "", user.access) }, true},
		{"logs, run listing hangs, context deadline", withDeadline(deadline),
			func(s *flakyStore) *atomic.Bool { return &s.blockRuns },
			func(user, admin tokens) req { return jsonReq("GET", "/logs", "", admin.access) }, true},
		{"login, lookup hangs, http.TimeoutHandler", func(h http.Handler) http.Handler { return http.TimeoutHandler(h, deadline, "") },
			func(s *flakyStore) *atomic.Bool { return &s.blockLookup },
			func(user, admin tokens) req { return formLogin("alice@example.com", alicePW) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, options{wrap: only(tt.wrap)})
			e.register(t, "alice@example.com", alicePW)
			user := e.login(t, "alice@example.com", alicePW)
			_, admin := e.superuser(t, "admin@example.com")
			tt.block(e.store).Store(true)

			q := tt.req(user, admin)
			q.header = http.Header{deadlineHeader: {"1"}}
			r := e.do(t, q)
			if r.status != http.StatusServiceUnavailable {
				t.Fatalf("status %d, want 503: %s", r.status, r.body)
			}
			if tt.typed {
				wantError(t, r, 503, "unavailable")
				if r.header.Get("Retry-After") != "1" {
					t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
				}
			}
			if e.store.blocked.Load() == 0 {
				t.Fatal("the request never reached the hanging store")
			}
			select {
			case <-e.store.release:
				t.Fatal("the store was released before the answer")
			default:
			}
			tt.block(e.store).Store(false)
		})
	}
}
