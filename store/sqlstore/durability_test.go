package sqlstore_test

import (
	"context"
	"database/sql"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-go/gatehouse/internal/testdb"
	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/memstore"
	"github.com/gatehouse-go/gatehouse/store/sqlstore"
)

// TestCommitDeferral: on PostgreSQL, a write transaction under
// store.DeferCommits commits with synchronous_commit off, and every other
// one (no mark, or the mark taken off) durably;
// SyncsWith is true only for a Store on the same *sql.DB of PostgreSQL;
// Sync succeeds. On SQLite nothing is deferred.
func TestCommitDeferral(t *testing.T) {
	ctx := context.Background()
	t.Run("Postgres", func(t *testing.T) {
		db := pgDB(t)
		s, other := newStore(t, db, sqlstore.Postgres), newStore(t, db, sqlstore.Postgres)
		for _, c := range []struct {
			name string
			ctx  context.Context
			want string
		}{
			{"unmarked", ctx, "on"},
			{"deferred", store.DeferCommits(ctx), "off"},
			{"mark taken off", store.DurableCommits(store.DeferCommits(ctx)), "on"},
		} {
			got, err := s.CommitSetting(c.ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("%s: synchronous_commit %q in a write transaction, want %q", c.name, got, c.want)
			}
		}
		// The setting is the transaction's own: the pool's connections
		// keep the server's.
		for range 4 {
			if got, _ := s.CommitSetting(ctx); got != "on" {
				t.Fatalf("an unmarked write after deferred ones: synchronous_commit %q", got)
			}
		}
		if !s.SyncsWith(s) || !s.SyncsWith(other) {
			t.Error("SyncsWith is false for a Store on the same database")
		}
		if s.SyncsWith(newStore(t, pgDB(t), sqlstore.Postgres)) || s.SyncsWith(memstore.New()) {
			t.Error("SyncsWith is true for a store elsewhere")
		}
		if err := s.Sync(ctx); err != nil {
			t.Errorf("Sync: %v", err)
		}
	})
	t.Run("SQLite", func(t *testing.T) {
		s := newStore(t, openSQLiteFile(t), sqlstore.SQLite)
		if s.SyncsWith(s) {
			t.Error("SyncsWith is true on SQLite, which has no deferred commits")
		}
		if err := s.Sync(ctx); err != nil {
			t.Errorf("Sync: %v", err)
		}
	})
}

// TestCommitDeferralInFirstStatement: under store.DeferCommits on
// PostgreSQL, the first statement of CreateSession's, RevokeSession's and
// RotateRefreshToken's transactions (the writes of Login, Refresh and
// Logout) turns synchronous_commit off itself, even when it finds no row:
// the transaction sends no SET LOCAL of its own (BEGIN, the statement,
// the read, COMMIT: 4 round trips), and its later statements see the
// setting off. Without the mark, they see it on.
func TestCommitDeferralInFirstStatement(t *testing.T) {
	ctx := context.Background()
	queries := new(atomic.Int64)
	db := testdb.EmptyPostgres(t, func(c *pgx.ConnConfig) { c.Tracer = queryCounter{queries} })
	migrate(t, db, sqlstore.Postgres)
	s := newStore(t, db, sqlstore.Postgres)
	if _, err := s.CommitSetting(ctx); err != nil { // prepares the statements
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		ctx     context.Context
		want    string
		queries int64
	}{
		{"deferred", store.DeferCommits(ctx), "off", 3 * 4},
		{"unmarked", ctx, "on", 3 * 4},
	} {
		before := queries.Load()
		got, err := s.CommitSettingsAfterFirst(c.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n := queries.Load() - before; n != c.queries {
			t.Errorf("%s: %d round trips for 3 transactions of 2 statements, want %d", c.name, n, c.queries)
		}
		for _, op := range []string{"CreateSession", "RevokeSession", "RotateRefreshToken"} {
			if got[op] != c.want {
				t.Errorf("%s: after %s's first statement, synchronous_commit %q, want %q", c.name, op, got[op], c.want)
			}
		}
	}
}

// pgDB returns a migrated PostgreSQL database of its own.
func pgDB(tb testing.TB) *sql.DB {
	tb.Helper()
	db := emptyPostgres(tb)
	migrate(tb, db, sqlstore.Postgres)
	return db
}
