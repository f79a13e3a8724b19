// Package sessioncachetest is the multi-instance test of the auth
// Manager's session cache, shared by the invalidators (package
// sqlstore/pgnotify, package redisstore): three Managers ("instances") on
// one database, each with its own store handle and its own invalidator,
// measure the time from a logout on A to its refusal on B and C and prove
// that a lost listen connection falls back to exact reads.
package sessioncachetest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/internal/testhash"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/store"
)

// Instance is one instance's store handle and invalidator.
type Instance struct {
	Store       store.Store
	Invalidator auth.Invalidator
	// Kill ends the instance's listen connection from the server's side
	// (pg_terminate_backend, CLIENT KILL).
	Kill func(tb testing.TB)
}

// probe wraps an Invalidator to watch its health and count deliveries.
type probe struct {
	auth.Invalidator
	up        atomic.Bool
	changes   chan bool
	delivered sync.Map // key → struct{}
}

func (p *probe) Listen(ctx context.Context, deliver func([]string), healthy func(bool)) error {
	return p.Invalidator.Listen(ctx, func(keys []string) {
		deliver(keys)
		for _, k := range keys {
			p.delivered.Store(k, struct{}{})
		}
	}, func(up bool) {
		healthy(up)
		p.up.Store(up)
		select {
		case p.changes <- up:
		default:
		}
	})
}

func (p *probe) got(key string) bool { _, ok := p.delivered.Load(key); return ok }

// waitHealth waits until p reports up (or down).
func (p *probe) waitHealth(tb testing.TB, up bool) {
	tb.Helper()
	deadline := time.After(10 * time.Second)
	for p.up.Load() != up {
		select {
		case <-p.changes:
		case <-deadline:
			tb.Fatalf("the invalidator never reported healthy=%v", up)
		}
	}
}

type node struct {
	m     *auth.Manager
	probe *probe
}

// Run runs the test over three instances and logs the latency figures
// under name; trials is the number of logouts measured.
func Run(t *testing.T, name string, inst [3]Instance, trials int) {
	key := make([]byte, 32)
	rand.Read(key)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	nodes := make([]node, 3)
	for i, in := range inst {
		p := &probe{Invalidator: in.Invalidator, changes: make(chan bool, 16)}
		m, err := auth.New(auth.Config{
			Store:        in.Store,
			Mailer:       mail.Discard{},
			Tokens:       auth.TokenConfig{SigningKey: key},
			Password:     auth.PasswordConfig{Hasher: testhash.Fast{}, LegacyHashers: []auth.Hasher{}},
			Limits:       auth.Limits{Disabled: true},
			SessionCache: auth.SessionCacheConfig{Invalidator: p},
		})
		if err != nil {
			t.Fatal(err)
		}
		nodes[i] = node{m: m, probe: p}
		wg.Go(func() {
			if err := m.ListenInvalidations(ctx); !errors.Is(err, context.Canceled) {
				t.Errorf("instance %d: ListenInvalidations: %v", i, err)
			}
		})
	}
	for _, n := range nodes {
		n.probe.waitHealth(t, true)
	}
	a, b, c := nodes[0], nodes[1], nodes[2]
	const email, pass = "trials@example.com", "correct horse battery staple"
	if _, err := a.m.Register(ctx, auth.Registration{Email: email, Password: pass}); err != nil {
		t.Fatal(err)
	}

	t.Run("logout on A is refused on B and C", func(t *testing.T) {
		latB := make([]time.Duration, 0, trials)
		latC := make([]time.Duration, 0, trials)
		for i := range trials {
			res, err := a.m.Login(ctx, email, pass)
			if err != nil {
				t.Fatal(err)
			}
			tok := res.Tokens.AccessToken
			for _, n := range []node{b, c} { // cache it on B and C
				for range 2 {
					if _, err := n.m.Authenticate(ctx, tok); err != nil {
						t.Fatalf("trial %d: Authenticate before logout: %v", i, err)
					}
				}
			}
			id, err := a.m.Authenticate(ctx, tok)
			if err != nil {
				t.Fatal(err)
			}
			sk := "s:" + res.Session.ID
			start := time.Now()
			if err := a.m.Logout(ctx, id); err != nil {
				t.Fatal(err)
			}
			var pw sync.WaitGroup
			for _, target := range []struct {
				n   node
				lat *[]time.Duration
			}{{b, &latB}, {c, &latC}} {
				pw.Go(func() {
					for {
						received := target.n.probe.got(sk)
						_, err := target.n.m.Authenticate(ctx, tok)
						if err != nil {
							if !errors.Is(err, auth.ErrTokenInvalid) {
								t.Errorf("trial %d: %v", i, err)
							}
							*target.lat = append(*target.lat, time.Since(start))
							return
						}
						if received {
							t.Errorf("trial %d: accepted after its invalidation was delivered", i)
							return
						}
						if time.Since(start) > 10*time.Second {
							t.Errorf("trial %d: still accepted 10 s after the logout", i)
							return
						}
						time.Sleep(50 * time.Microsecond)
					}
				})
			}
			pw.Wait()
			if t.Failed() {
				return
			}
		}
		t.Logf("%s: logout on A → refusal, %d trials: B p50 %v p99 %v max %v; C p50 %v p99 %v max %v",
			name, trials, pct(latB, 50), pct(latB, 99), pct(latB, 100), pct(latC, 50), pct(latC, 99), pct(latC, 100))
	})

	t.Run("lost listen connection falls back to exact reads", func(t *testing.T) {
		res, err := a.m.Login(ctx, email, pass)
		if err != nil {
			t.Fatal(err)
		}
		tok := res.Tokens.AccessToken
		for range 2 {
			if _, err := b.m.Authenticate(ctx, tok); err != nil {
				t.Fatal(err)
			}
		}
		inst[1].Kill(t)
		b.probe.waitHealth(t, false)
		id, err := a.m.Authenticate(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.m.Logout(ctx, id); err != nil {
			t.Fatal(err)
		}
		// B missed the notification (its listener was down): it must
		// read the store, now and after it reconnects.
		if _, err := b.m.Authenticate(ctx, tok); !errors.Is(err, auth.ErrTokenInvalid) {
			t.Fatalf("B accepted a session logged out while its listener was down: %v", err)
		}
		b.probe.waitHealth(t, true)
		if _, err := b.m.Authenticate(ctx, tok); !errors.Is(err, auth.ErrTokenInvalid) {
			t.Fatalf("B accepted it after reconnecting: %v", err)
		}
		// And the cache works again after the reconnect.
		res, err = a.m.Login(ctx, email, pass)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if _, err := b.m.Authenticate(ctx, res.Tokens.AccessToken); err != nil {
				t.Fatal(err)
			}
		}
		id, _ = a.m.Authenticate(ctx, res.Tokens.AccessToken)
		if err := a.m.Logout(ctx, id); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			if _, err := b.m.Authenticate(ctx, res.Tokens.AccessToken); err != nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("B never refused after the reconnect")
			}
			time.Sleep(time.Millisecond)
		}
	})
}

// pct is the p-th percentile of d (100 is the maximum).
func pct(d []time.Duration, p int) string {
	if len(d) == 0 {
		return "-"
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	i = min(max(i-1, 0), len(s)-1)
	return fmt.Sprint(s[i].Round(time.Microsecond))
}
