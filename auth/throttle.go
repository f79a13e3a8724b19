package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
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

// ipBucket names what a per-IP limit counts ip against: an IPv4 address
// (IPv4-mapped IPv6 ones included) as it is, an IPv6 address by its /64
// network. A /64 is the smallest network a subscriber or a host is given
// (RFC 6177, RFC 7421): whoever has one can send from any of its 2^64
// addresses, and per address would get as many buckets (SECURITY.md #21).
func ipBucket(ip netip.Addr) string {
	ip = ip.Unmap()
	if ip.Is4() {
		return ip.String()
	}
	p, err := ip.WithZone("").Prefix(64)
	if err != nil { // unreachable: 64 bits of an IPv6 address
		return ip.String()
	}
	return p.String()
}

// loginIPKeys returns the login-failure counters of ip's bucket, per
// minute and per hour.
func loginIPKeys(ip netip.Addr) (minute, hour string) {
	b := ipBucket(ip)
	return counterKey("ip-login-m", b), counterKey("ip-login-h", b)
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
	// prev is the account's counter as the gate found it, before the
	// attempt was reserved.
	prev store.Counter
}

// openPasswordGate checks the per-IP and per-account limits before a
// password check for email, and reserves the attempt: it counts as a
// failure until [passwordGate.succeeded] clears it, so that a burst of
// parallel guesses cannot get past the limit (SECURITY.md #19, #71).
//
// With a limiter that has [store.CounterBatch], the checks and the
// reservation are one atomic store call; otherwise they take one call per
// counter.
func (m *Manager) openPasswordGate(ctx context.Context, email string, perIP bool) (*passwordGate, error) {
	return m.openGate(ctx, counterKey("pw", email), perIP)
}

// openFactorGate is openPasswordGate for a second-factor answer: the same
// limits on the account's own counter of wrong codes, which a right
// password does not clear (SECURITY.md #79).
func (m *Manager) openFactorGate(ctx context.Context, userID string) (*passwordGate, error) {
	return m.openGate(ctx, counterKey("mfa", userID), true)
}

// openGate opens a gate on the account counter named key.
func (m *Manager) openGate(ctx context.Context, key string, perIP bool) (*passwordGate, error) {
	g := &passwordGate{m: m, key: key, now: m.now()}
	if m.limiter == nil {
		return g, nil
	}
	if ip, ok := clientAddr(ctx); ok && perIP {
		g.ipMinute, g.ipHour = loginIPKeys(ip)
	}
	var err error
	if m.batch != nil {
		err = g.openBatch(ctx)
	} else {
		err = g.openEach(ctx)
	}
	if err != nil {
		return nil, err
	}
	return g, nil
}

// ipWindow is one of the client IP's login-failure limits.
type ipWindow struct {
	key    string
	limit  int
	window time.Duration
}

// ipWindows returns the client IP's failure limits that are on (none when
// the IP is unknown).
func (g *passwordGate) ipWindows() []ipWindow {
	if g.ipMinute == "" {
		return nil
	}
	l := &g.m.cfg.Limits
	var ws []ipWindow
	for _, w := range []ipWindow{
		{g.ipMinute, l.IPLoginFailuresPerMinute, time.Minute},
		{g.ipHour, l.IPLoginFailuresPerHour, time.Hour},
	} {
		if w.limit >= 0 {
			ws = append(ws, w)
		}
	}
	return ws
}

// admit decides on an attempt given the account's failure counter c:
// refused while the account is stopped or waiting out its delay.
func (g *passwordGate) admit(c store.Counter) error {
	l := &g.m.cfg.Limits
	if c.Count >= l.LoginHardStop {
		return throttled(g.now, c.ExpiresAt)
	}
	if wait := l.loginDelay(c.Count); wait > 0 && g.now.Before(c.Last.Add(wait)) {
		return throttled(g.now, c.Last.Add(wait))
	}
	return nil
}

// openBatch is openPasswordGate in one [store.CounterBatch] call: it reads
// the account's counter and the IP's, refuses as the limits say, or counts
// the attempt against the account, atomically.
func (g *passwordGate) openBatch(ctx context.Context) error {
	ws := g.ipWindows()
	keys := make([]string, 0, 1+len(ws))
	for _, w := range ws {
		keys = append(keys, w.key)
	}
	keys = append(keys, g.key)
	err := g.m.batch.UpdateCounters(ctx, keys, g.now, func(cs []store.Counter) error {
		for i, w := range ws {
			if cs[i].Count >= w.limit {
				return throttled(g.now, cs[i].ExpiresAt)
			}
		}
		pw := &cs[len(ws)]
		if err := g.admit(*pw); err != nil {
			return err
		}
		g.prev = *pw
		*pw = pw.Next(g.now, g.m.cfg.Limits.LoginForgetAfter, true)
		return nil
	})
	if err != nil && !errors.Is(err, ErrThrottled) {
		return fmt.Errorf("auth: updating throttle counters: %w", err)
	}
	return err
}

// openEach is openPasswordGate one counter at a time, for limiters without
// [store.CounterBatch].
func (g *passwordGate) openEach(ctx context.Context) error {
	m, l := g.m, &g.m.cfg.Limits
	for _, w := range g.ipWindows() {
		if err := m.checkCounter(ctx, w.key, w.limit, g.now); err != nil {
			return err
		}
	}
	c, err := m.limiter.GetCounter(ctx, g.key, g.now)
	if err != nil {
		return fmt.Errorf("auth: reading a throttle counter: %w", err)
	}
	if err := g.admit(c); err != nil {
		return err
	}
	g.prev = c
	n, err := m.limiter.IncrementCounter(ctx, g.key, g.now, l.LoginForgetAfter, true)
	if err != nil {
		return fmt.Errorf("auth: updating a throttle counter: %w", err)
	}
	if n.Count > c.Count+1 && n.Count-1 >= l.LoginFreeFailures {
		// Other attempts got in between: they count as failures until they
		// finish, and this one has to wait its turn.
		return throttled(g.now, g.now.Add(l.loginDelay(n.Count-1)))
	}
	return nil
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

// abandoned takes back the attempt reserved when the gate opened: the
// password was never checked (the hasher failed; a login that gets no hash
// slot, ErrBusy, is refused before its gate opens), so the attempt is no failure and must not bring the
// account closer to its delays or its hard stop. It needs a
// [store.CounterBatch] (memstore, sqlstore and redisstore have one); with
// a limiter without it the reservation stays, as a failure, and that is
// logged. It runs even when ctx has ended, as it usually has by then.
// Failures are logged.
func (g *passwordGate) abandoned(ctx context.Context) {
	if g.m.limiter == nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	if g.m.batch == nil {
		g.m.log.LogAttrs(ctx, slog.LevelWarn, "gatehouse: a login attempt that was never checked counts as a failure (the limiter has no store.CounterBatch to take it back)")
		return
	}
	err := g.m.batch.UpdateCounters(ctx, []string{g.key}, g.m.now(), func(cs []store.Counter) error {
		c := &cs[0]
		if c.Count == 0 { // cleared by a right password since, or expired
			return nil
		}
		c.Count--
		if c.Last.Equal(g.now) {
			c.Last = g.prev.Last // ours was the latest attempt
		}
		if c.Count == 0 && g.prev.Count == 0 {
			*c = store.Counter{} // there was no counter: forget it again
		}
		return nil
	})
	if err != nil {
		g.m.log.LogAttrs(ctx, slog.LevelError, "gatehouse: taking back a throttle reservation failed", slog.String("error", err.Error()))
	}
}

// failed counts a wrong password against the client's IP (the account's
// failure was counted when the gate opened) and, with a
// [store.CounterBatch], moves the account's last failure to now, when the
// wrong password is known: the delay before the next attempt then runs
// from the end of this one, so that a slow hash (a loaded machine, a
// costly hasher) cannot eat it (SECURITY.md #19). All in one call with a
// CounterBatch, else one per IP window (and the delay runs from when the
// gate opened). Failures are logged.
func (g *passwordGate) failed(ctx context.Context) {
	if g.m.limiter == nil {
		return
	}
	ws := g.ipWindows()
	if g.m.batch == nil {
		for _, w := range ws {
			g.m.hitCounter(ctx, w.key, w.limit, w.window, g.now)
		}
		return
	}
	keys := make([]string, len(ws), len(ws)+1)
	for i, w := range ws {
		keys[i] = w.key
	}
	keys = append(keys, g.key)
	now := g.m.now()
	err := g.m.batch.UpdateCounters(ctx, keys, now, func(cs []store.Counter) error {
		for i, w := range ws {
			cs[i] = cs[i].Next(g.now, w.window, false)
		}
		if pw := &cs[len(ws)]; pw.Count > 0 && pw.Last.Before(now) {
			pw.Last = now
		}
		return nil
	})
	if err != nil {
		g.m.log.LogAttrs(ctx, slog.LevelError, "gatehouse: updating a rate-limit counter failed", slog.String("error", err.Error()))
	}
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
	return counterKey("ip-"+kind, ipBucket(ip)), true
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
