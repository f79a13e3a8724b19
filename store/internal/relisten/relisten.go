// Package relisten is what the session-cache invalidators (package
// sqlstore/pgnotify, redisstore's Notifier) share: the reconnect loop with
// backoff, and the payload of keys.
package relisten

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"
)

// Backoff bounds the wait before a reconnection; zero fields take the
// defaults 100 ms and 5 s.
type Backoff struct{ Min, Max time.Duration }

// Fill sets the defaults.
func (b *Backoff) Fill() {
	if b.Min <= 0 {
		b.Min = 100 * time.Millisecond
	}
	if b.Max < b.Min {
		b.Max = max(5*time.Second, b.Min)
	}
}

// Run calls session until ctx ends, waiting between failures from b.Min,
// doubled after each failure up to b.Max (back to b.Min after a session
// that was up), and logs each failure. It returns context.Cause(ctx).
func Run(ctx context.Context, b Backoff, log *slog.Logger, msg string, session func(context.Context) (wasUp bool, err error)) error {
	wait := b.Min
	for {
		wasUp, err := session(ctx)
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		if wasUp {
			wait = b.Min
		}
		log.ErrorContext(ctx, msg, "error", err.Error(), "retry_in", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return context.Cause(ctx)
		case <-t.C:
		}
		wait = min(2*wait, b.Max)
	}
}

// Encode is keys as a payload: a JSON array of strings.
func Encode(keys []string) string {
	b, _ := json.Marshal(keys)
	return string(b)
}

// Decode reads a payload of Encode. Anything else is ["*"]: everything is
// stale, since a message that cannot be read may have named anything.
func Decode(payload string) []string {
	var keys []string
	if err := json.Unmarshal([]byte(payload), &keys); err != nil {
		return []string{"*"}
	}
	return keys
}
