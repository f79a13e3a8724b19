package sqlstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"net/netip"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-go/gatehouse/audit"
	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/internal/testdb"
	"github.com/gatehouse-go/gatehouse/internal/testhash"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/store/sqlstore"
)

// The benchmarks below measure whole Manager operations over a SQL store,
// one after another, with the fast test hasher and no audit log, so that
// what they measure is the store's work. On PostgreSQL they also report
// queries/op: the statements sent to the server, BEGIN and COMMIT
// included, each a round trip. Compare runs with benchstat. PostgreSQL is
// skipped when unreachable (and fails under CI=true).

// benchDB is a database of the Manager benchmarks: a fresh, migrated one
// of its dialect, and the queries it has run, when it counts them.
type benchDB struct {
	name    string
	dialect sqlstore.Dialect
	open    func(b *testing.B) (*sql.DB, *atomic.Int64)
}

var benchDBs = []benchDB{
	{"SQLiteFile", sqlstore.SQLite, func(b *testing.B) (*sql.DB, *atomic.Int64) { return openSQLiteFile(b), nil }},
	{"Postgres", sqlstore.Postgres, func(b *testing.B) (*sql.DB, *atomic.Int64) { return tracedPostgres(b, false) }},
	// Each commit waits for the server to flush its WAL to disk, which
	// dominates, and varies with the disk and its other users; with
	// synchronous_commit off for the benchmark's sessions, what remains is
	// the round trips and the server's work.
	{"PostgresAsyncCommit", sqlstore.Postgres, func(b *testing.B) (*sql.DB, *atomic.Int64) { return tracedPostgres(b, true) }},
}

// tracedPostgres returns a fresh, migrated PostgreSQL database whose
// queries are counted.
func tracedPostgres(b *testing.B, asyncCommit bool) (*sql.DB, *atomic.Int64) {
	n := new(atomic.Int64)
	db := testdb.EmptyPostgres(b, func(c *pgx.ConnConfig) {
		c.Tracer = queryCounter{n}
		if asyncCommit {
			c.RuntimeParams["synchronous_commit"] = "off"
		}
	})
	migrate(b, db, sqlstore.Postgres)
	return db, n
}

// queryCounter is a pgx tracer that counts the queries sent.
type queryCounter struct{ n *atomic.Int64 }

func (q queryCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	q.n.Add(1)
	return ctx
}

func (queryCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

const (
	benchEmail    = "bench@example.com"
	benchPassword = "correct horse battery staple"
)

// benchLoginManager returns a Manager over a fresh database, without an
// audit log, with one registered user; and a context that carries a client
// IP, as an HTTP login has; and the query count, or nil.
func benchLoginManager(b *testing.B, bdb benchDB) (*auth.Manager, context.Context, *atomic.Int64) {
	b.Helper()
	db, queries := bdb.open(b)
	s := newStore(b, db, bdb.dialect)
	key := make([]byte, 32)
	rand.Read(key)
	m, err := auth.New(auth.Config{
		Store:    s,
		Mailer:   mail.Discard{},
		Tokens:   auth.TokenConfig{SigningKey: key},
		Password: auth.PasswordConfig{Hasher: testhash.Fast{}, LegacyHashers: []auth.Hasher{}},
	})
	if err != nil {
		b.Fatalf("auth.New: %v", err)
	}
	b.Cleanup(func() {
		if err := m.Flush(context.Background()); err != nil {
			b.Errorf("Flush: %v", err)
		}
	})
	if _, err := m.Register(b.Context(), auth.Registration{Email: benchEmail, Password: benchPassword}); err != nil {
		b.Fatalf("Register: %v", err)
	}
	ctx := auth.ContextWithClient(b.Context(), auth.Client{IP: netip.MustParseAddr("192.0.2.1"), UserAgent: "bench/1.0"})
	return m, ctx, queries
}

// reportQueries reports queries/op, counting from before.
func reportQueries(b *testing.B, queries *atomic.Int64, before int64) {
	if queries != nil {
		b.ReportMetric(float64(queries.Load()-before)/float64(b.N), "queries/op")
	}
}

// BenchmarkManagerLogin is a successful password login from a known client
// IP: the throttle checks, the user lookup, clearing the account's
// failures and the new session.
func BenchmarkManagerLogin(b *testing.B) {
	for _, bdb := range benchDBs {
		b.Run(bdb.name, func(b *testing.B) {
			m, ctx, queries := benchLoginManager(b, bdb)
			m.Flush(ctx) // the registration's mail
			var before int64
			if queries != nil {
				before = queries.Load()
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Login(ctx, benchEmail, benchPassword); err != nil {
					b.Fatal(err)
				}
			}
			reportQueries(b, queries, before)
		})
	}
}

// BenchmarkManagerRefresh is one refresh-token rotation after a login,
// the chain continuing from one iteration to the next.
func BenchmarkManagerRefresh(b *testing.B) {
	for _, bdb := range benchDBs {
		b.Run(bdb.name, func(b *testing.B) {
			m, ctx, queries := benchLoginManager(b, bdb)
			res, err := m.Login(ctx, benchEmail, benchPassword)
			if err != nil {
				b.Fatal(err)
			}
			m.Flush(ctx)
			token := res.Tokens.RefreshToken
			var before int64
			if queries != nil {
				before = queries.Load()
			}
			b.ReportAllocs()
			for b.Loop() {
				pair, err := m.Refresh(ctx, token)
				if err != nil {
					b.Fatal(err)
				}
				token = pair.RefreshToken
			}
			reportQueries(b, queries, before)
		})
	}
}

// BenchmarkManagerRefreshParallel is BenchmarkManagerRefresh from eight
// concurrent clients (SetParallelism(4) on two cores; each client its own
// session and refresh chain), with the audit log off, and on: an
// audit.Recorder as Config.Audit that records every refresh, one run per
// store transaction (recording=one-by-one, MaxBatch 1) or by group commit
// (recording=on, the defaults; recording=on-nowait with MaxWait < 0).
// Compare with benchstat -col /recording: the ratio of on to off is the
// cost of the audit log; one-by-one is how every run was recorded before
// group commit.
func BenchmarkManagerRefreshParallel(b *testing.B) {
	modes := []struct {
		name     string
		maxBatch int // -1: no audit log
		maxWait  time.Duration
	}{{"off", -1, 0}, {"one-by-one", 1, 0}, {"on", 0, 0}, {"on-nowait", 0, -1}}
	for _, bdb := range benchDBs[:2] { // SQLiteFile, Postgres
		for _, mode := range modes {
			b.Run(bdb.name+"/recording="+mode.name, func(b *testing.B) {
				m, queries := benchRecordingManager(b, bdb, mode.maxBatch, mode.maxWait)
				// One session per client, logged in beforehand (from
				// IPs of their own, below the login limits); a client
				// takes a chain from the pool and puts it back, so that
				// chains continue across the benchmark's rounds.
				const parallelism = 4
				clients := parallelism * runtime.GOMAXPROCS(0)
				pool := make(chan string, clients)
				ctx := auth.ContextWithClient(b.Context(), auth.Client{IP: netip.MustParseAddr("192.0.2.1"), UserAgent: "bench/1.0"})
				for i := range clients {
					ctx := auth.ContextWithClient(b.Context(), auth.Client{IP: netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)}), UserAgent: "bench/1.0"})
					res, err := m.Login(ctx, benchEmail, benchPassword)
					if err != nil {
						b.Fatal(err)
					}
					pool <- res.Tokens.RefreshToken
				}
				var before int64
				if queries != nil {
					before = queries.Load()
				}
				b.SetParallelism(parallelism)
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					token := <-pool
					defer func() { pool <- token }()
					for pb.Next() {
						pair, err := m.Refresh(ctx, token)
						if err != nil {
							b.Error(err)
							return
						}
						token = pair.RefreshToken
					}
				})
				reportQueries(b, queries, before)
			})
		}
	}
}

// benchRecordingManager is a Manager over a fresh database with one
// registered user and, unless maxBatch is -1, an audit.Recorder with that
// MaxBatch (0: the default) as its audit log, closed when b ends.
func benchRecordingManager(b *testing.B, bdb benchDB, maxBatch int, maxWait time.Duration) (*auth.Manager, *atomic.Int64) {
	b.Helper()
	db, queries := bdb.open(b)
	// database/sql keeps 2 idle connections by default and closes the
	// rest, so eight clients that pause together (waiting for a batch)
	// would reopen connections, and lose their statement caches, all the
	// time. Keep the pool's 8 connections open, as a server would.
	db.SetMaxIdleConns(8)
	s := newStore(b, db, bdb.dialect)
	key := make([]byte, 32)
	rand.Read(key)
	cfg := auth.Config{
		Store:    s,
		Mailer:   mail.Discard{},
		Tokens:   auth.TokenConfig{SigningKey: key},
		Password: auth.PasswordConfig{Hasher: testhash.Fast{}, LegacyHashers: []auth.Hasher{}},
	}
	if maxBatch >= 0 {
		rec, err := audit.New(audit.Config{Runs: s, MaxBatch: maxBatch, MaxWait: maxWait})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() {
			if err := rec.Close(context.Background()); err != nil {
				b.Errorf("Close: %v", err)
			}
		})
		cfg.Audit = rec
	}
	m, err := auth.New(cfg)
	if err != nil {
		b.Fatalf("auth.New: %v", err)
	}
	b.Cleanup(func() {
		if err := m.Flush(context.Background()); err != nil {
			b.Errorf("Flush: %v", err)
		}
	})
	if _, err := m.Register(b.Context(), auth.Registration{Email: benchEmail, Password: benchPassword}); err != nil {
		b.Fatalf("Register: %v", err)
	}
	m.Flush(b.Context())
	return m, queries
}
