package sqlstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"net/netip"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-go/gatehouse/auth"
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
	db := emptyPostgresWith(b, func(c *pgx.ConnConfig) {
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
