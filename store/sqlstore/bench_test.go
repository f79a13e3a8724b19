package sqlstore_test

import (
	"crypto/sha256"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-go/gatehouse/store"
)

// benchBase is the fixed "now" of the benchmarks.
var benchBase = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func benchUser(n int) *store.User {
	return &store.User{
		ID:           fmt.Sprintf("a0000000-0000-4000-8000-%012d", n),
		Email:        fmt.Sprintf("user%07d@example.com", n),
		PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA",
		Name:         fmt.Sprintf("User %d", n),
		IsActive:     true,
		IsVerified:   true,
		CreatedAt:    benchBase,
		UpdatedAt:    benchBase,
	}
}

func benchSession(n int, uid string) *store.Session {
	return &store.Session{
		ID: fmt.Sprintf("b0000000-0000-4000-8000-%012d", n), UserID: uid,
		CreatedAt: benchBase, AuthenticatedAt: benchBase, LastUsedAt: benchBase,
		ExpiresAt: benchBase.Add(30 * 24 * time.Hour), IdleExpiresAt: benchBase.Add(7 * 24 * time.Hour),
		IP: "192.0.2.1", UserAgent: "bench/1.0",
	}
}

// chainHash is generation gen of chain n's refresh token.
func chainHash(n, gen int) []byte {
	h := sha256.Sum256(fmt.Appendf(nil, "refresh %d %d", n, gen))
	return h[:]
}

// BenchmarkRotateRefreshToken measures the throughput of atomic refresh
// token rotation from parallel goroutines, each rotating the token chain of
// its own session (and user), as many clients refreshing at once do. The
// rotations/s metric is the figure to compare with the targets (SQLite
// ≥ 3,000/s, PostgreSQL ≥ 2,000/s on 2 cores).
func BenchmarkRotateRefreshToken(b *testing.B) {
	for _, tdb := range dialects() {
		if tdb.name == "SQLiteMemory" {
			continue
		}
		b.Run(tdb.name, func(b *testing.B) {
			s := newStore(b, tdb.open(b), tdb.dialect)
			ctx := b.Context()
			const chains = 256
			for i := range chains {
				u := benchUser(i)
				if err := s.CreateUser(ctx, u); err != nil {
					b.Fatal(err)
				}
				if err := s.CreateSession(ctx, benchSession(i, u.ID), chainHash(i, 0)); err != nil {
					b.Fatal(err)
				}
			}
			var next atomic.Int64
			b.SetParallelism(4)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				chain := int(next.Add(1) - 1)
				if chain >= chains {
					b.Error("more goroutines than chains")
					return
				}
				gen := 0
				for pb.Next() {
					_, _, err := s.RotateRefreshToken(ctx, store.Rotation{
						Old: chainHash(chain, gen), New: chainHash(chain, gen+1),
						Now: benchBase.Add(time.Second), IdleExpiresAt: benchBase.Add(time.Hour),
					})
					if err != nil {
						b.Errorf("rotate chain %d generation %d: %v", chain, gen, err)
						return
					}
					gen++
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rotations/s")
		})
	}
}

// BenchmarkListRunsOffset pages through the audit log at the front and
// 9,900 runs deep, unfiltered and filtered by one type: the contract asks
// that skipping by Offset cost no more than a page in both cases, which
// the gapless sequence numbers give. Compare offset=0 with offset=9900.
func BenchmarkListRunsOffset(b *testing.B) {
	for _, tdb := range dialects() {
		if tdb.name == "SQLiteMemory" || tdb.name == "MySQL" {
			continue
		}
		b.Run(tdb.name, func(b *testing.B) {
			s := newStore(b, tdb.open(b), tdb.dialect)
			ctx := b.Context()
			const n = 10_000
			var next atomic.Int64
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					for i := next.Add(1) - 1; i < n; i = next.Add(1) - 1 {
						typ := "AUTH"
						if i%2 == 1 {
							typ = "RETRIEVAL"
						}
						r := &store.Run{ID: fmt.Sprintf("c0000000-0000-4000-8000-%012d", i), Type: typ, UserID: benchUser(int(i % 100)).ID,
							Time: benchBase.Add(time.Duration(i) * time.Second), Entries: []store.Entry{{Key: "event", Value: "login", Time: benchBase}}}
						if err := s.AppendRun(ctx, r); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			for _, filter := range []struct {
				name  string
				types []string
			}{{"all", nil}, {"type", []string{"AUTH"}}} {
				for _, offset := range []int{0, 4900, 9900} {
					if filter.types != nil && offset > 4900 {
						continue // the type has 5,000 runs
					}
					b.Run(fmt.Sprintf("filter=%s/offset=%d", filter.name, offset), func(b *testing.B) {
						for b.Loop() {
							page, err := s.ListRuns(ctx, store.RunQuery{RunFilter: store.RunFilter{Types: filter.types}, Offset: offset, Limit: 50})
							if err != nil || len(page.Runs) != 50 {
								b.Fatalf("ListRuns = %v runs, %v", len(page.Runs), err)
							}
						}
					})
				}
			}
		})
	}
}

// BenchmarkAppendRun measures audit-log appends from parallel goroutines
// (the auth Manager appends one run per event), each run with five
// entries.
func BenchmarkAppendRun(b *testing.B) {
	for _, tdb := range dialects() {
		if tdb.name == "SQLiteMemory" {
			continue
		}
		b.Run(tdb.name, func(b *testing.B) {
			s := newStore(b, tdb.open(b), tdb.dialect)
			ctx := b.Context()
			var next atomic.Int64
			b.SetParallelism(4)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := next.Add(1)
					r := &store.Run{ID: fmt.Sprintf("c0000000-0000-4000-8000-%012d", i), Type: "AUTH", UserID: benchUser(int(i % 100)).ID, Time: benchBase,
						Entries: []store.Entry{
							{Key: "event", Value: "login", Time: benchBase}, {Key: "outcome", Value: "success", Time: benchBase},
							{Key: "ip", Value: "192.0.2.1", Time: benchBase}, {Key: "user_agent", Value: "bench/1.0", Time: benchBase},
							{Key: "login_latency", Value: "0.01", Number: 0.01, Numeric: true, Time: benchBase},
						}}
					if err := s.AppendRun(ctx, r); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "runs/s")
		})
	}
}

// BenchmarkAppendRuns measures group-committed audit-log batches from one
// goroutine: AppendRuns of batch runs like the Recorder's refresh events
// (UUIDv7 IDs, five entries each), so that ns/op is one batch's transaction and
// ns/run its share per run. cpu-ns/op is the process's CPU time (user and
// system) per batch, which the machine's other load moves less than the
// elapsed time.
func BenchmarkAppendRuns(b *testing.B) {
	for _, tdb := range dialects() {
		if tdb.name == "SQLiteMemory" {
			continue
		}
		for _, batch := range []int{1, 8} {
			b.Run(fmt.Sprintf("%s/batch=%d", tdb.name, batch), func(b *testing.B) {
				s := newStore(b, tdb.open(b), tdb.dialect)
				ctx := b.Context()
				runs := make([]*store.Run, batch)
				cpu0 := cpuTime(b)
				for i := 0; b.Loop(); i++ {
					for j := range runs {
						runs[j] = &store.Run{ID: uuid.Must(uuid.NewV7()).String(), Type: "AUTH", UserID: benchUser((i*batch + j) % 100).ID, Time: benchBase,
							Entries: []store.Entry{
								{Key: "event", Value: "refresh", Time: benchBase}, {Key: "outcome", Value: "success", Time: benchBase},
								{Key: "session", Value: "3f2a9c", Time: benchBase}, {Key: "ip", Value: "192.0.2.1", Time: benchBase},
								{Key: "user_agent", Value: "bench/1.0", Time: benchBase},
							}}
					}
					if err := s.AppendRuns(ctx, runs); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64((cpuTime(b)-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/run")
			})
		}
	}
}

// cpuTime is the CPU time, user and system, that the process has used.
func cpuTime(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
