// Package pgnotify carries the auth Manager's session-cache invalidations
// between instances over PostgreSQL LISTEN/NOTIFY: a [Notifier] is an
// auth.Invalidator (Config.SessionCache.Invalidator).
//
// It is an opt-in subpackage: only an application that imports it builds
// pgx (github.com/jackc/pgx/v5), which it uses for the dedicated LISTEN
// connection (pgx's WaitForNotification). Publishing goes through the
// application's own *sql.DB, with any PostgreSQL driver.
//
// # Quick start
//
//	n, err := pgnotify.New(db, connConfig, pgnotify.Config{})
//	m, err := auth.New(auth.Config{
//		Store:        sqlStore,
//		SessionCache: auth.SessionCacheConfig{Invalidator: n},
//		...
//	})
//	go m.ListenInvalidations(ctx) // until the server stops
//
// Every instance given the same database (and Config.Channel) sees the
// others' invalidations.
//
// # Health
//
// Listen reports the subscription healthy once its LISTEN has succeeded,
// and unhealthy as soon as the connection fails (a closed connection, a
// terminated backend) or a liveness ping, sent after Config.PingInterval
// without a notification, gets no answer within Config.PingTimeout. The
// Manager then reads the store on every Authenticate until the
// subscription is back, and empties its cache before using it again.
// Between a silent loss of the connection and its detection (at most
// PingInterval + PingTimeout) a cached entry may still be used: that is
// the bound on staleness when the network, not the server, fails.
package pgnotify

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-go/gatehouse/store/internal/relisten"
)

// DefaultChannel is the NOTIFY channel when Config.Channel is empty.
const DefaultChannel = "gatehouse_sessions"

// maxPayload keeps a NOTIFY payload under PostgreSQL's 8000-byte limit.
const maxPayload = 7900

// Config configures [New]. The zero value is ready to use.
type Config struct {
	// Channel is the NOTIFY channel. Default [DefaultChannel].
	Channel string
	// PingInterval is how long the listener waits for a notification
	// before it checks the connection with a ping. Default 5 seconds.
	PingInterval time.Duration
	// PingTimeout bounds that ping (and the LISTEN). Default 2 seconds.
	PingTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait before a reconnection,
	// doubled after each failure. Defaults 100 ms and 5 s.
	MinBackoff, MaxBackoff time.Duration
	// Logger receives connection failures. Default: discard.
	Logger *slog.Logger
}

// Notifier publishes with NOTIFY and listens with LISTEN. It is safe for
// concurrent use; build it with [New].
type Notifier struct {
	db     *sql.DB
	listen *pgx.ConnConfig
	cfg    Config
}

// New returns a Notifier that publishes through db and listens on
// connections of its own made from listen (which it copies). New does no
// I/O.
func New(db *sql.DB, listen *pgx.ConnConfig, cfg Config) (*Notifier, error) {
	if db == nil {
		return nil, errors.New("pgnotify: db is nil")
	}
	if listen == nil {
		return nil, errors.New("pgnotify: the listen connection's config is nil")
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
	return &Notifier{db: db, listen: listen.Copy(), cfg: cfg}, nil
}

// Publish sends keys on the channel, as JSON arrays of at most 7,900
// bytes each (one NOTIFY per array).
func (n *Notifier) Publish(ctx context.Context, keys []string) error {
	for _, payload := range payloads(keys) {
		if _, err := n.db.ExecContext(ctx, "SELECT pg_notify($1, $2)", n.cfg.Channel, payload); err != nil {
			return fmt.Errorf("pgnotify: notify: %w", err)
		}
	}
	return nil
}

// payloads splits keys into JSON arrays that each fit a NOTIFY.
func payloads(keys []string) []string {
	var out []string
	var batch []string
	size := 2
	for _, k := range keys {
		b, _ := json.Marshal(k) // its length in the array
		if len(batch) > 0 && size+len(b)+1 > maxPayload {
			out = append(out, relisten.Encode(batch))
			batch, size = nil, 2
		}
		batch = append(batch, k)
		size += len(b) + 1
	}
	if len(batch) > 0 {
		out = append(out, relisten.Encode(batch))
	}
	return out
}

// Listen is the auth.Invalidator subscription: it LISTENs on a dedicated
// connection, hands every notification's keys to deliver, reports health,
// and reconnects with backoff until ctx ends. A payload that is not a JSON
// array of strings is delivered as ["*"] (everything is stale).
func (n *Notifier) Listen(ctx context.Context, deliver func(keys []string), healthy func(up bool)) error {
	return relisten.Run(ctx, relisten.Backoff{Min: n.cfg.MinBackoff, Max: n.cfg.MaxBackoff}, n.cfg.Logger, "pgnotify: listen connection lost",
		func(ctx context.Context) (bool, error) { return n.session(ctx, deliver, healthy) })
}

// session runs one connection's LISTEN until it fails.
func (n *Notifier) session(ctx context.Context, deliver func([]string), healthy func(bool)) (wasUp bool, err error) {
	cctx, cancel := context.WithTimeout(ctx, n.cfg.PingTimeout)
	conn, err := pgx.ConnectConfig(cctx, n.listen)
	if err != nil {
		cancel()
		return false, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(cctx, "LISTEN "+pgx.Identifier{n.cfg.Channel}.Sanitize())
	cancel()
	if err != nil {
		return false, err
	}
	healthy(true)
	defer healthy(false)
	for {
		wctx, cancel := context.WithTimeout(ctx, n.cfg.PingInterval)
		note, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			deliver(relisten.Decode(note.Payload))
			continue
		case ctx.Err() != nil:
			return true, ctx.Err()
		case errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed():
			pctx, cancel := context.WithTimeout(ctx, n.cfg.PingTimeout)
			err = conn.Ping(pctx)
			cancel()
			if err == nil {
				continue
			}
		}
		return true, err
	}
}
