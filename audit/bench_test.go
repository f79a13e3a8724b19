package audit_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/audit"
	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/internal/testhash"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/memstore"
)

// BenchmarkLoginRecording compares a whole login with and without its
// AUTH run on memstore, with the default hasher and with a trivial one
// (the Manager's own overhead). Compare with
//
//	benchstat -col /runs
func BenchmarkLoginRecording(b *testing.B) {
	for _, h := range []struct {
		name   string
		hasher func() auth.Hasher
	}{
		{"argon2id", func() auth.Hasher { return nil }},
		{"nohash", func() auth.Hasher { return testhash.Fast{} }},
	} {
		for _, runs := range []string{"off", "on"} {
			b.Run(fmt.Sprintf("hasher=%s/runs=%s", h.name, runs), func(b *testing.B) {
				st := memstore.New()
				cfg := auth.Config{Store: st, Mailer: mail.Discard{}, Tokens: auth.TokenConfig{SigningKey: testKey}, Password: auth.PasswordConfig{Hasher: h.hasher()}}
				if runs == "on" {
					rec, err := audit.New(audit.Config{Runs: st})
					if err != nil {
						b.Fatal(err)
					}
					cfg.Audit = rec
				}
				m, err := auth.New(cfg)
				if err != nil {
					b.Fatal(err)
				}
				ctx := auth.ContextWithClient(context.Background(), auth.Client{IP: netip.MustParseAddr("192.0.2.7"), UserAgent: "bench/1.0"})
				if _, err := m.Register(ctx, auth.Registration{Email: "bench@example.com", Password: goodPassword}); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				for b.Loop() {
					if _, err := m.Login(ctx, "bench@example.com", goodPassword); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkBasicStatistics1M is basic_statistics over a population of
// 1,000,000 entries on memstore (125,000 runs of 8 entries), for reference
// against the SQL stores.
func BenchmarkBasicStatistics1M(b *testing.B) {
	const runs, perRun = 125_000, 8
	s := memstore.New()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range runs {
		t := t0.Add(time.Duration(i) * time.Second)
		r := &store.Run{ID: strconv.Itoa(i), Type: "RETRIEVAL", Time: t, Entries: make([]store.Entry, perRun)}
		for j := range r.Entries {
			x := float64(rng.IntN(5000)) / 1000 // latencies in ms steps up to 5 s
			r.Entries[j] = store.Entry{Key: "search_latency", Value: strconv.FormatFloat(x, 'f', -1, 64), Number: x, Numeric: true, Time: t}
		}
		if err := s.AppendRun(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
	m, err := auth.New(auth.Config{Store: s, Mailer: mail.Discard{}, Tokens: auth.TokenConfig{SigningKey: testKey}, Password: auth.PasswordConfig{Hasher: testhash.Fast{}}})
	if err != nil {
		b.Fatal(err)
	}
	reader, err := audit.NewReader(m, s)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := m.EnsureSuperuser(ctx, "root@example.com", goodPassword); err != nil {
		b.Fatal(err)
	}
	res, err := m.Login(ctx, "root@example.com", goodPassword)
	if err != nil {
		b.Fatal(err)
	}
	admin, err := m.Authenticate(ctx, res.Tokens.AccessToken)
	if err != nil {
		b.Fatal(err)
	}
	q := audit.AnalyticsQuery{
		Populations: map[string]audit.Population{"search_latencies": {Key: "search_latency"}},
		Analyses:    map[string][]string{"search_latencies": {"basic_statistics", "search_latency"}},
		LogLimit:    -1,
	}
	for b.Loop() {
		out, err := reader.Analytics(ctx, admin, q)
		if err != nil {
			b.Fatal(err)
		}
		if out.Analyses["search_latencies"].(*audit.BasicStatistics).Mean == nil {
			b.Fatal("no mean")
		}
	}
}
