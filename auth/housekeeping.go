package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

// Purger is implemented by an [EventSink] that keeps records it can
// expire, such as package audit's Recorder (its Purge applies the audit
// log's retention). [Manager.Housekeep] calls it.
type Purger interface {
	// Purge deletes what has outlived its retention and returns how much.
	Purge(ctx context.Context) (int, error)
}

// Housekeeping reports what one round of [Manager.Housekeep] purged.
type Housekeeping struct {
	// Expired is how many expired sessions, secrets and counters the
	// Store (and Config.Limits.Store, when it is another store) deleted.
	Expired int
	// Audit is how many records the audit sink purged, when
	// Config.Audit is a [Purger].
	Audit int
}

// DefaultHousekeepingInterval is the interval [Manager.Housekeep] uses
// when given zero.
const DefaultHousekeepingInterval = time.Hour

// HousekeepOnce runs one round of housekeeping now: it deletes what nobody
// can use any more — expired sessions with their refresh tokens, secrets
// and throttling counters, from every store of the Manager that is a
// [store.Expirer] — and, when Config.Audit is a [Purger], the audit records
// past their retention. A store that cannot expire rows is skipped. Every
// part runs even when another fails; the error joins their failures.
func (m *Manager) HousekeepOnce(ctx context.Context) (Housekeeping, error) {
	var (
		h    Housekeeping
		errs []error
	)
	now := m.now()
	for _, s := range m.expirers() {
		n, err := s.DeleteExpired(ctx, now)
		h.Expired += n
		if err != nil {
			errs = append(errs, fmt.Errorf("auth: housekeeping: deleting expired rows: %w", err))
		}
	}
	if p, ok := m.cfg.Audit.(Purger); ok {
		n, err := p.Purge(ctx)
		h.Audit = n
		if err != nil {
			errs = append(errs, fmt.Errorf("auth: housekeeping: purging the audit log: %w", err))
		}
	}
	return h, errors.Join(errs...)
}

// expirers lists the Manager's stores that can expire rows, each once.
func (m *Manager) expirers() []store.Expirer {
	var out []store.Expirer
	if e, ok := m.store.(store.Expirer); ok {
		out = append(out, e)
	}
	if m.limiter != nil && !sameValue(m.limiter, m.store) {
		if e, ok := m.limiter.(store.Expirer); ok {
			out = append(out, e)
		}
	}
	return out
}

// Housekeep runs [Manager.HousekeepOnce] at once and then every interval
// (zero means [DefaultHousekeepingInterval]) until ctx ends, and then
// returns nil. It blocks: start it in a goroutine of the application's own,
// and cancel ctx at shutdown —
//
//	ctx, stop := context.WithCancel(context.Background())
//	go m.Housekeep(ctx, time.Hour)
//	defer stop()
//
// Failures are logged to Config.Logger and do not stop the loop, since
// the next round retries. Constructors never start this: nothing runs in
// the background unless the application calls it.
func (m *Manager) Housekeep(ctx context.Context, interval time.Duration) error {
	if interval < 0 {
		return &ValidationError{Field: "interval", Reason: "must not be negative"}
	}
	if interval == 0 {
		interval = DefaultHousekeepingInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		h, err := m.HousekeepOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			m.log.ErrorContext(ctx, "gatehouse: housekeeping failed", "error", err.Error())
		} else {
			m.log.DebugContext(ctx, "gatehouse: housekeeping", "expired", h.Expired, "audit", h.Audit)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// sameValue reports whether a and b are the same comparable value (false
// for values that cannot be compared).
func sameValue(a, b any) (same bool) {
	defer func() {
		if recover() != nil {
			same = false
		}
	}()
	return a == b
}
