// Package outbox runs package auth's background work: mail deliveries with
// retries and back-off, and deferred parts of requests. Goroutines start
// per task, never at construction; Flush waits for them.
package outbox

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
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
	// maxRetryDelay caps the wait between two delivery attempts.
	maxRetryDelay = time.Hour
)

// Sender delivers one message (auth.Mailer).
type Sender interface {
	Send(ctx context.Context, m mail.Message) error
}

// Config is what an Outbox needs.
type Config struct {
	Mailer Sender
	Logger *slog.Logger
	// Attempts is how many times a failed delivery is tried in all (≥ 1);
	// RetryDelay the wait after the first failure, doubled after each.
	Attempts   int
	RetryDelay time.Duration
}

// Outbox runs background work: mail deliveries with retries, and the parts
// of requests whose answer must not depend on them (a reset request answers
// the same whether or not the account exists). Goroutines are started per
// task, never at construction, and [Outbox.Flush] waits for all of them.
// It is safe for concurrent use.
type Outbox struct {
	cfg   Config
	slots chan struct{}

	mu      sync.Mutex
	pending int
	idle    chan struct{} // closed while pending == 0
	// deliveries are the messages queued and not yet delivered or given
	// up on, for Flush to name when its deadline passes.
	deliveries map[*delivery]struct{}
	// abandon is canceled when a Flush ends with work pending: deliveries
	// queued before then stop retrying at once. It is then replaced, so
	// that mail queued later is delivered as usual.
	abandon       context.Context
	cancelAbandon context.CancelFunc
}

// delivery is one message on its way. attempts is guarded by outbox.mu.
type delivery struct {
	kind     mail.Kind
	userID   string
	abandon  context.Context
	attempts int
}

// New returns an idle Outbox. It starts no goroutine.
func New(cfg Config) *Outbox {
	o := &Outbox{cfg: cfg}
	if o.cfg.Logger == nil {
		o.cfg.Logger = slog.New(slog.DiscardHandler)
	}
	o.cfg.Attempts = max(o.cfg.Attempts, 1)
	o.slots = make(chan struct{}, maxConcurrentDeliveries)
	o.idle = make(chan struct{})
	close(o.idle)
	o.deliveries = make(map[*delivery]struct{})
	o.abandon, o.cancelAbandon = context.WithCancel(context.Background())
	return o
}

// Go runs f in its own goroutine with a context that keeps ctx's values but
// not its cancellation. It reports false, after logging, when too much work
// is already pending.
func (o *Outbox) Go(ctx context.Context, what string, f func(ctx context.Context)) bool {
	o.mu.Lock()
	if o.pending >= maxPendingTasks {
		o.mu.Unlock()
		o.cfg.Logger.LogAttrs(ctx, slog.LevelError, "gatehouse: background queue full, task refused", slog.String("task", what))
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

func (o *Outbox) done() {
	o.mu.Lock()
	o.pending--
	if o.pending == 0 {
		close(o.idle)
	}
	o.mu.Unlock()
}

// Deliver sends msg in the background, retrying failures as Config says.
// userID names the recipient's account in the log.
func (o *Outbox) Deliver(ctx context.Context, msg mail.Message, userID string) {
	// Register the delivery before its goroutine starts, so that a Flush
	// giving up in between still names it.
	dl := &delivery{kind: msg.Kind, userID: userID}
	o.mu.Lock()
	dl.abandon = o.abandon
	o.deliveries[dl] = struct{}{}
	o.mu.Unlock()
	ok := o.Go(ctx, "mail "+string(msg.Kind), func(ctx context.Context) {
		defer o.forget(dl)
		o.deliver(ctx, dl, msg)
	})
	if !ok {
		o.forget(dl)
	}
}

func (o *Outbox) forget(dl *delivery) {
	o.mu.Lock()
	delete(o.deliveries, dl)
	o.mu.Unlock()
}

// deliver tries msg up to Config.Attempts times, waiting between
// attempts as retryDelay says. It stops early on a permanent failure
// (mail.ErrPermanent, or a message the mailer calls invalid), and when a
// Flush gives up on it.
func (o *Outbox) deliver(ctx context.Context, dl *delivery, msg mail.Message) {
	log := func(level slog.Level, text string, attrs ...slog.Attr) {
		o.cfg.Logger.LogAttrs(ctx, level, text, append([]slog.Attr{
			slog.String("kind", string(msg.Kind)), slog.String("user_id", dl.userID),
		}, attrs...)...)
	}
	for attempt := 1; ; attempt++ {
		select {
		case o.slots <- struct{}{}:
		case <-dl.abandon.Done():
			// Flush has logged this message as undelivered.
			return
		}
		o.mu.Lock()
		dl.attempts = attempt
		o.mu.Unlock()
		actx, cancel := context.WithTimeout(ctx, deliveryTimeout)
		stop := context.AfterFunc(dl.abandon, cancel)
		err := o.cfg.Mailer.Send(actx, msg)
		stop()
		cancel()
		<-o.slots
		if err == nil {
			if attempt > 1 {
				log(slog.LevelInfo, "gatehouse: mail delivered after retries", slog.Int("attempts", attempt))
			}
			return
		}
		errAttr := slog.String("error", err.Error())
		switch {
		case errors.Is(err, mail.ErrPermanent) || errors.Is(err, mail.ErrInvalidMessage):
			log(slog.LevelError, "gatehouse: mail undeliverable, not retrying", slog.Int("attempt", attempt), errAttr)
			return
		case dl.abandon.Err() != nil:
			return
		case attempt >= o.cfg.Attempts:
			log(slog.LevelWarn, "gatehouse: mail delivery failed", slog.Int("attempt", attempt), errAttr)
			log(slog.LevelError, "gatehouse: mail undelivered, giving up", slog.Int("attempts", attempt))
			return
		}
		wait := retryDelay(o.cfg.RetryDelay, attempt)
		log(slog.LevelWarn, "gatehouse: mail delivery failed", slog.Int("attempt", attempt), errAttr,
			slog.Duration("retry_in", wait))
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-dl.abandon.Done():
			t.Stop()
			return
		}
	}
}

// retryDelay is the wait after the given failed attempt (1, 2, …): base
// doubled for each attempt after the first, capped at maxRetryDelay, less a
// random part of up to half, so that messages that failed together do not
// retry together. The jitter comes from crypto/rand like every random value
// of the package (math/rand is never imported, SECURITY.md #51).
func retryDelay(base time.Duration, attempt int) time.Duration {
	d := base
	for i := 1; i < attempt && d < maxRetryDelay; i++ {
		d *= 2
	}
	d = min(d, maxRetryDelay)
	var b [8]byte
	rand.Read(b[:])
	return d - time.Duration(binary.LittleEndian.Uint64(b[:])%uint64(d/2+1))
}

// Flush waits until all mail queued so far has been delivered (or given up
// on) and all deferred request work has finished, or until ctx ends. Call it
// during a graceful shutdown.
//
// When ctx ends first, nothing is dropped silently: Flush logs, at error
// level, every message still undelivered (by kind and user ID, with the
// attempts made) and the number of tasks pending; those messages then stop
// being retried (a sleeping retry ends at once, an attempt in flight has
// its context canceled), so a process may exit right after Flush returns.
// It returns ctx's cause. The Outbox stays usable: mail queued afterwards
// is delivered as usual.
func (o *Outbox) Flush(ctx context.Context) error {
	o.mu.Lock()
	idle := o.idle
	o.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
	}
	type left struct {
		kind     mail.Kind
		userID   string
		attempts int
	}
	o.mu.Lock()
	n := o.pending
	if n == 0 {
		// Everything finished as ctx ended.
		o.mu.Unlock()
		return nil
	}
	undelivered := make([]left, 0, len(o.deliveries))
	for dl := range o.deliveries {
		undelivered = append(undelivered, left{dl.kind, dl.userID, dl.attempts})
	}
	o.cancelAbandon()
	o.abandon, o.cancelAbandon = context.WithCancel(context.Background())
	o.mu.Unlock()
	for _, l := range undelivered {
		o.cfg.Logger.LogAttrs(ctx, slog.LevelError, "gatehouse: mail undelivered at flush deadline",
			slog.String("kind", string(l.kind)), slog.String("user_id", l.userID), slog.Int("attempts", l.attempts))
	}
	o.cfg.Logger.LogAttrs(ctx, slog.LevelError, "gatehouse: flush ended with work pending", slog.Int("pending", n))
	return context.Cause(ctx)
}
