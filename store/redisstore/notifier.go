package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-go/gatehouse/store/internal/relisten"
)

// DefaultChannel is the pub/sub channel of a [Notifier] when
// NotifierConfig.Channel is empty.
const DefaultChannel = "gatehouse:sessions"

// NotifierConfig configures [NewNotifier]. The zero value is ready to use.
type NotifierConfig struct {
	// Channel is the pub/sub channel. Default [DefaultChannel].
	Channel string
	// PingInterval is how long the subscriber waits for a message before
	// it checks the connection with a PING. Default 5 seconds.
	PingInterval time.Duration
	// PingTimeout bounds the wait for that PING's answer and for the
	// subscription's confirmation. Default 2 seconds.
	PingTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait before a resubscription,
	// doubled after each failure. Defaults 100 ms and 5 s.
	MinBackoff, MaxBackoff time.Duration
	// Logger receives connection failures. Default: discard.
	Logger *slog.Logger
}

// Notifier carries the auth Manager's session-cache invalidations between
// instances over Redis pub/sub: it is an auth.Invalidator
// (Config.SessionCache.Invalidator), for deployments that keep their
// counters in Redis already. Build one with [NewNotifier]; it is safe for
// concurrent use.
//
// Listen reports the subscription healthy once Redis has confirmed it, and
// unhealthy as soon as the connection fails or a PING sent after
// PingInterval without a message goes unanswered for PingTimeout; it then
// subscribes afresh on a new connection. Redis pub/sub keeps no backlog:
// what is published while a subscriber is away is lost to it, which is
// why the Manager reads the store while the subscription is down and
// empties its cache when it is back.
type Notifier struct {
	rdb redis.UniversalClient
	cfg NotifierConfig
}

// NewNotifier returns a Notifier over rdb, the application's own client;
// the Notifier never closes it. NewNotifier does no I/O.
func NewNotifier(rdb redis.UniversalClient, cfg NotifierConfig) (*Notifier, error) {
	if rdb == nil {
		return nil, errors.New("redisstore: the client is nil")
	}
	if cfg.Channel == "" {
		cfg.Channel = DefaultChannel
	}
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = 5 * time.Second
	}
	if cfg.PingTimeout <= 0 {
		cfg.PingTimeout = 2 * time.Second
	}
	b := relisten.Backoff{Min: cfg.MinBackoff, Max: cfg.MaxBackoff}
	b.Fill()
	cfg.MinBackoff, cfg.MaxBackoff = b.Min, b.Max
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Notifier{rdb: rdb, cfg: cfg}, nil
}

// Publish sends keys on the channel as one JSON array.
func (n *Notifier) Publish(ctx context.Context, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	if err := n.rdb.Publish(ctx, n.cfg.Channel, relisten.Encode(keys)).Err(); err != nil {
		return fmt.Errorf("redisstore: publish: %w", err)
	}
	return nil
}

// Listen is the auth.Invalidator subscription: it subscribes to the
// channel, hands every message's keys to deliver, reports health, and
// subscribes again with backoff until ctx ends. A message that is not a
// JSON array of strings is delivered as ["*"] (everything is stale).
func (n *Notifier) Listen(ctx context.Context, deliver func(keys []string), healthy func(up bool)) error {
	return relisten.Run(ctx, relisten.Backoff{Min: n.cfg.MinBackoff, Max: n.cfg.MaxBackoff}, n.cfg.Logger, "redisstore: subscription lost",
		func(ctx context.Context) (bool, error) { return n.session(ctx, deliver, healthy) })
}

// session runs one subscription until it fails. Any error ends it: the
// PubSub's own silent reconnection would hide a gap in the messages.
func (n *Notifier) session(ctx context.Context, deliver func([]string), healthy func(bool)) (wasUp bool, err error) {
	ps := n.rdb.Subscribe(ctx)
	defer ps.Close()
	// A read in progress does not watch ctx: closing the PubSub ends it.
	defer context.AfterFunc(ctx, func() { ps.Close() })()
	if err := ps.Subscribe(ctx, n.cfg.Channel); err != nil {
		return false, err
	}
	msg, err := ps.ReceiveTimeout(ctx, n.cfg.PingTimeout)
	if err != nil {
		return false, err
	}
	if s, ok := msg.(*redis.Subscription); !ok || s.Kind != "subscribe" {
		return false, fmt.Errorf("redisstore: unexpected %T while subscribing", msg)
	}
	healthy(true)
	defer healthy(false)
	pinged := false
	for {
		wait := n.cfg.PingInterval
		if pinged {
			wait = n.cfg.PingTimeout
		}
		msg, err := ps.ReceiveTimeout(ctx, wait)
		if err != nil {
			if ctx.Err() != nil {
				return true, ctx.Err()
			}
			var ne net.Error
			if !pinged && errors.As(err, &ne) && ne.Timeout() {
				if err := ps.Ping(ctx); err != nil {
					return true, err
				}
				pinged = true
				continue
			}
			return true, err
		}
		pinged = false
		switch m := msg.(type) {
		case *redis.Message:
			deliver(relisten.Decode(m.Payload))
		case *redis.Pong:
		default:
			// A (re)subscription we did not ask for: messages may have
			// been missed.
			return true, fmt.Errorf("redisstore: unexpected %T", msg)
		}
	}
}
