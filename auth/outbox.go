package auth

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/gatehouse-go/gatehouse/mail"
)

const (
	// maxPendingTasks bounds the background work (deliveries and deferred
	// request handling) a Manager holds at once.
	maxPendingTasks = 10000
	// maxConcurrentDeliveries bounds the Mailer calls in flight.
	maxConcurrentDeliveries = 16
	// deliveryTimeout bounds one delivery attempt.
	deliveryTimeout = 30 * time.Second
)

// outbox runs the Manager's background work: mail deliveries with retries,
// and the parts of requests whose answer must not depend on them (a reset
// request answers the same whether or not the account exists). Goroutines
// are started per task, never at construction, and [Manager.Flush] waits for
// all of them.
type outbox struct {
	m     *Manager
	slots chan struct{}

	mu      sync.Mutex
	pending int
	idle    chan struct{} // closed while pending == 0
}

func (o *outbox) init(m *Manager) {
	o.m = m
	o.slots = make(chan struct{}, maxConcurrentDeliveries)
	o.idle = make(chan struct{})
	close(o.idle)
}

// background runs f in its own goroutine with a context that keeps ctx's
// values but not its cancellation. It reports false, after logging, when
// too much work is already pending.
func (o *outbox) background(ctx context.Context, what string, f func(ctx context.Context)) bool {
	o.mu.Lock()
	if o.pending >= maxPendingTasks {
		o.mu.Unlock()
		o.m.log.LogAttrs(ctx, slog.LevelError, "gatehouse: background queue full, task refused", slog.String("task", what))
		return false
	}
	if o.pending == 0 {
		o.idle = make(chan struct{})
	}
	o.pending++
	o.mu.Unlock()

	go func() {
		defer o.done()
		f(context.WithoutCancel(ctx))
	}()
	return true
}

func (o *outbox) done() {
	o.mu.Lock()
	o.pending--
	if o.pending == 0 {
		close(o.idle)
	}
	o.mu.Unlock()
}

// mail renders d and delivers it in the background. userID is only for the
// log.
func (o *outbox) mail(ctx context.Context, userID string, d mail.Data) {
	d.AppName = o.m.cfg.ServiceName
	msg, err := o.m.cfg.Templates.Render(ctx, d)
	if err != nil {
		o.m.log.LogAttrs(ctx, slog.LevelError, "gatehouse: rendering mail failed",
			slog.String("kind", string(d.Kind)), slog.String("user_id", userID), slog.String("error", err.Error()))
		return
	}
	if msg.Kind == "" {
		msg.Kind = d.Kind
	}
	if msg.From == (mail.Address{}) {
		msg.From = o.m.cfg.MailFrom
	}
	msg.To = []mail.Address{d.To}
	o.background(ctx, "mail "+string(d.Kind), func(ctx context.Context) {
		o.deliver(ctx, userID, msg)
	})
}

// deliver tries msg up to MailAttempts times with exponential backoff.
func (o *outbox) deliver(ctx context.Context, userID string, msg mail.Message) {
	delay := o.m.cfg.MailRetryDelay
	var err error
	for attempt := 1; attempt <= o.m.cfg.MailAttempts; attempt++ {
		if attempt > 1 {
			time.Sleep(delay)
			delay *= 2
		}
		o.slots <- struct{}{}
		actx, cancel := context.WithTimeout(ctx, deliveryTimeout)
		err = o.m.cfg.Mailer.Send(actx, msg)
		cancel()
		<-o.slots
		if err == nil {
			return
		}
		o.m.log.LogAttrs(ctx, slog.LevelWarn, "gatehouse: mail delivery failed",
			slog.String("kind", string(msg.Kind)), slog.String("user_id", userID),
			slog.Int("attempt", attempt), slog.String("error", err.Error()))
	}
	o.m.log.LogAttrs(ctx, slog.LevelError, "gatehouse: mail undelivered, giving up",
		slog.String("kind", string(msg.Kind)), slog.String("user_id", userID),
		slog.Int("attempts", o.m.cfg.MailAttempts))
}

// Flush waits until all mail queued so far has been delivered (or given up
// on) and all deferred request work has finished, or until ctx ends. Call it
// during a graceful shutdown; work still pending when ctx ends is logged at
// error level, never silently dropped. The Manager stays usable.
func (m *Manager) Flush(ctx context.Context) error {
	m.outbox.mu.Lock()
	idle := m.outbox.idle
	m.outbox.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		m.outbox.mu.Lock()
		n := m.outbox.pending
		m.outbox.mu.Unlock()
		m.log.LogAttrs(ctx, slog.LevelError, "gatehouse: flush ended with work pending", slog.Int("pending", n))
		return context.Cause(ctx)
	}
}
