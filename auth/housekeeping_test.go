package auth_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/memstore"
)

// purgerSink is an audit sink that can purge, like audit.Recorder.
type purgerSink struct {
	calls atomic.Int64
	n     int
	err   error
}

func (p *purgerSink) RecordEvent(context.Context, auth.Event) {}

func (p *purgerSink) Purge(context.Context) (int, error) {
	p.calls.Add(1)
	return p.n, p.err
}

func TestHousekeepOnce(t *testing.T) {
	ctx := context.Background()
	t.Run("deletes expired sessions and counters from both stores and purges the audit sink", func(t *testing.T) {
		limiter := &expirerSpy{Store: memstore.New()}
		sink := &purgerSink{n: 3}
		e := newEnv(t, func(c *auth.Config) {
			c.Limits.Store = limiter
			c.Audit = sink
		})
		e.register(t, "ada@example.com")
		e.login(t, "ada@example.com")
		if _, err := e.m.Login(ctx, "ada@example.com", "wrong password entirely"); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Fatalf("wrong login: %v", err)
		}
		// Nothing has expired yet: only the audit sink purges.
		h, err := e.m.HousekeepOnce(ctx)
		if err != nil || h.Expired != 0 || h.Audit != 3 {
			t.Fatalf("before expiry: %+v, %v; want 0 expired, 3 audit", h, err)
		}
		e.clock.Advance(auth.DefaultRefreshTokenTTL + time.Hour)
		h, err = e.m.HousekeepOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// The session from the store, the failure counters from the limiter.
		if got := limiter.deleted.Load(); got < 1 {
			t.Errorf("the limiter deleted %d expired counters, want at least 1", got)
		}
		if h.Expired < 1+int(limiter.deleted.Load()) {
			t.Errorf("Expired = %d, want the session plus the limiter's %d counters", h.Expired, limiter.deleted.Load())
		}
		// A second round finds nothing more.
		if h, err := e.m.HousekeepOnce(ctx); err != nil || h.Expired != 0 {
			t.Errorf("second round: %+v, %v", h, err)
		}
	})
	t.Run("a failing part does not stop the others", func(t *testing.T) {
		boom := errors.New("audit store down")
		sink := &purgerSink{err: boom}
		e := newEnv(t, func(c *auth.Config) { c.Audit = sink })
		e.register(t, "bob@example.com")
		e.login(t, "bob@example.com")
		e.clock.Advance(auth.DefaultRefreshTokenTTL + time.Hour)
		h, err := e.m.HousekeepOnce(ctx)
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v, want the sink's error", err)
		}
		if h.Expired < 1 {
			t.Errorf("Expired = %d: the store was not purged because the sink failed", h.Expired)
		}
	})
	t.Run("a store that cannot expire rows is skipped", func(t *testing.T) {
		e := newEnv(t, func(c *auth.Config) {
			c.Store = noExpirer{c.Store}
			c.Limits.Disabled = true
			c.Limits.Store = nil
		})
		if h, err := e.m.HousekeepOnce(ctx); err != nil || h != (auth.Housekeeping{}) {
			t.Errorf("%+v, %v", h, err)
		}
	})
}

// expirerSpy counts what a store's DeleteExpired deletes.
type expirerSpy struct {
	*memstore.Store
	deleted atomic.Int64
}

func (s *expirerSpy) DeleteExpired(ctx context.Context, before time.Time) (int, error) {
	n, err := s.Store.DeleteExpired(ctx, before)
	s.deleted.Add(int64(n))
	return n, err
}

// noExpirer hides a store's DeleteExpired.
type noExpirer struct{ store.Store }

func TestHousekeep(t *testing.T) {
	t.Run("runs at once and stops when its context ends", func(t *testing.T) {
		sink := &purgerSink{}
		e := newEnv(t, func(c *auth.Config) { c.Audit = sink })
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- e.m.Housekeep(ctx, time.Millisecond) }()
		deadline := time.After(10 * time.Second)
		for sink.calls.Load() < 3 {
			select {
			case err := <-done:
				t.Fatalf("Housekeep returned early: %v", err)
			case <-deadline:
				t.Fatalf("Housekeep ran %d rounds in 10 s", sink.calls.Load())
			case <-time.After(time.Millisecond):
			}
		}
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Housekeep after cancel: %v, want nil", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Housekeep did not return after its context ended")
		}
	})
	t.Run("negative interval", func(t *testing.T) {
		e := newEnv(t)
		var ve *auth.ValidationError
		if err := e.m.Housekeep(context.Background(), -time.Second); !errors.As(err, &ve) || ve.Field != "interval" {
			t.Errorf("err = %v, want a ValidationError for interval", err)
		}
	})
}
