package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

// loginDelay is the wait imposed after failures failed attempts.
func (l *Limits) loginDelay(failures int) time.Duration {
	if failures < l.LoginFreeFailures {
		return 0
	}
	shift := failures - l.LoginFreeFailures
	if shift >= 30 {
		return l.LoginMaxDelay
	}
	return min(time.Second<<shift, l.LoginMaxDelay)
}

// throttled builds the error for a wait until until.
func throttled(now, until time.Time) error {
	wait := until.Sub(now)
	if wait < time.Second {
		wait = time.Second
	}
	return &ThrottledError{RetryAfter: wait}
}

// counterKey names a counter without putting personal data in the store:
// identifiers are hashed.
func counterKey(kind, id string) string {
	sum := sha256.Sum256([]byte(id))
	return kind + ":" + hex.EncodeToString(sum[:16])
}

// clientAddr returns the request's client IP, if known.
func clientAddr(ctx context.Context) (netip.Addr, bool) {
	c, ok := ClientFromContext(ctx)
	if !ok || !c.IP.IsValid() {
		return netip.Addr{}, false
	}
	return c.IP, true
}

// passwordGate throttles password checks for one account. Call
// [Manager.openPasswordGate] before the check, then done once with the
// outcome.
type passwordGate struct {
	m   *Manager
	key string
	// ipMinute and ipHour are the client IP's failure counters, empty when
	// the IP is unknown or not limited.
	ipMinute, ipHour string
	now              time.Time
}

// openPasswordGate checks the per-IP and per-account limits before a
// password check for email, and reserves the attempt: it counts as a
// failure until [passwordGate.succeeded] clears it, so that a burst of
// parallel guesses cannot get past the limit (SECURITY.md #19, #71).
func (m *Manager) openPasswordGate(ctx context.Context, email string, perIP bool) (*passwordGate, error) {
	g := &passwordGate{m: m, key: counterKey("pw", email), now: m.now()}
	if m.limiter == nil {
		return g, nil
	}
	l := &m.cfg.Limits
	if ip, ok := clientAddr(ctx); ok && perIP {
		g.ipMinute, g.ipHour = counterKey("ip-login-m", ip.String()), counterKey("ip-login-h", ip.String())
		if err := m.checkCounter(ctx, g.ipMinute, l.IPLoginFailuresPerMinute, g.now); err != nil {
			return nil, err
		}
		if err := m.checkCounter(ctx, g.ipHour, l.IPLoginFailuresPerHour, g.now); err != nil {
			return nil, err
		}
	}
	c, err := m.limiter.GetCounter(ctx, g.key, g.now)
	if err != nil {
		return nil, fmt.Errorf("auth: reading a throttle counter: %w", err)
	}
	if c.Count >= l.LoginHardStop {
		return nil, throttled(g.now, c.ExpiresAt)
	}
	if wait := l.loginDelay(c.Count); wait > 0 && g.now.Before(c.Last.Add(wait)) {
		return nil, throttled(g.now, c.Last.Add(wait))
	}
	n, err := m.limiter.IncrementCounter(ctx, g.key, g.now, l.LoginForgetAfter, true)
	if err != nil {
		return nil, fmt.Errorf("auth: updating a throttle counter: %w", err)
	}
	if n.Count > c.Count+1 && n.Count-1 >= l.LoginFreeFailures {
		// Other attempts got in between: they count as failures until they
		// finish, and this one has to wait its turn.
		return nil, throttled(g.now, g.now.Add(l.loginDelay(n.Count-1)))
	}
	return g, nil
}

// succeeded clears the account's failures: the password was right.
func (g *passwordGate) succeeded(ctx context.Context) {
	if g.m.limiter == nil {
		return
	}
	if err := g.m.limiter.DeleteCounter(ctx, g.key); err != nil {
		g.m.log.LogAttrs(ctx, slog.LevelError, "gatehouse: clearing a throttle counter failed", slog.String("error", err.Error()))
	}
}

// failed counts a wrong password against the client's IP (the account's
// failure was counted when the gate opened).
func (g *passwordGate) failed(ctx context.Context) {
	if g.m.limiter == nil || g.ipMinute == "" {
		return
	}
	l := &g.m.cfg.Limits
	g.m.hitCounter(ctx, g.ipMinute, l.IPLoginFailuresPerMinute, time.Minute, g.now)
	g.m.hitCounter(ctx, g.ipHour, l.IPLoginFailuresPerHour, time.Hour, g.now)
}

// checkCounter refuses when the counter named key has reached limit (a
// negative limit is off).
func (m *Manager) checkCounter(ctx context.Context, key string, limit int, now time.Time) error {
	if limit < 0 {
		return nil
	}
	c, err := m.limiter.GetCounter(ctx, key, now)
	if err != nil {
		return fmt.Errorf("auth: reading a rate-limit counter: %w", err)
	}
	if c.Count >= limit {
		return throttled(now, c.ExpiresAt)
	}
	return nil
}

// hitCounter counts one event in a fixed window; failures are logged.
func (m *Manager) hitCounter(ctx context.Context, key string, limit int, window time.Duration, now time.Time) {
	if limit < 0 {
		return
	}
	if _, err := m.limiter.IncrementCounter(ctx, key, now, window, false); err != nil {
		m.log.LogAttrs(ctx, slog.LevelError, "gatehouse: updating a rate-limit counter failed", slog.String("error", err.Error()))
	}
}

// limitIP counts one request of a kind from the client's IP in an hourly
// window and refuses it when over limit. Requests without a known IP are
// not limited here (they never share a bucket).
func (m *Manager) limitIP(ctx context.Context, kind string, limit int) error {
	key, ok := m.ipCounter(ctx, kind, limit)
	if !ok {
		return nil
	}
	now := m.now()
	c, err := m.limiter.IncrementCounter(ctx, key, now, time.Hour, false)
	if err != nil {
		return fmt.Errorf("auth: updating a rate-limit counter: %w", err)
	}
	if c.Count > limit {
		return throttled(now, c.ExpiresAt)
	}
	return nil
}

// checkIP refuses a request of a kind when the client's IP has already used
// up its hourly limit, without counting it.
func (m *Manager) checkIP(ctx context.Context, kind string, limit int) error {
	key, ok := m.ipCounter(ctx, kind, limit)
	if !ok {
		return nil
	}
	return m.checkCounter(ctx, key, limit, m.now())
}

// hitIP counts one request of a kind from the client's IP.
func (m *Manager) hitIP(ctx context.Context, kind string, limit int) {
	if key, ok := m.ipCounter(ctx, kind, limit); ok {
		m.hitCounter(ctx, key, limit, time.Hour, m.now())
	}
}

// ipCounter returns the hourly counter of a kind of request from the
// client's IP, or false when there is none: throttling off, the limit off
// (negative) or the IP unknown.
func (m *Manager) ipCounter(ctx context.Context, kind string, limit int) (string, bool) {
	if m.limiter == nil || limit < 0 {
		return "", false
	}
	ip, ok := clientAddr(ctx)
	if !ok {
		return "", false
	}
	return counterKey("ip-"+kind, ip.String()), true
}

// mayMail counts a message of a purpose to a user and reports whether it
// is within the per-account limits (SECURITY.md #22). A failing limiter
// allows the mail: limits must not stop legitimate mail when they break.
func (m *Manager) mayMail(ctx context.Context, now time.Time, userID string, purpose store.Purpose) bool {
	if m.limiter == nil {
		return true
	}
	l := &m.cfg.Limits
	for _, w := range []struct {
		name   string
		limit  int
		window time.Duration
	}{{"m", l.MailPerMinute, time.Minute}, {"h", l.MailPerHour, time.Hour}} {
		if w.limit < 0 {
			continue
		}
		c, err := m.limiter.IncrementCounter(ctx, counterKey("mail-"+string(purpose)+"-"+w.name, userID), now, w.window, false)
		if err != nil {
			m.log.LogAttrs(ctx, slog.LevelError, "gatehouse: updating a mail counter failed", slog.String("error", err.Error()))
			continue
		}
		if c.Count > w.limit {
			return false
		}
	}
	return true
}

// clearPasswordFailures forgets an account's failures (after a password
// reset: a throttled account can log in at once, SECURITY.md #20).
func (m *Manager) clearPasswordFailures(ctx context.Context, email string) {
	if m.limiter == nil {
		return
	}
	if err := m.limiter.DeleteCounter(ctx, counterKey("pw", email)); err != nil {
		m.log.LogAttrs(ctx, slog.LevelError, "gatehouse: clearing a throttle counter failed", slog.String("error", err.Error()))
	}
}
