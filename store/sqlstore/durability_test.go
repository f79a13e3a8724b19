package sqlstore_test

import (
	"context"
	"database/sql"
	"testing"

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

// pgDB returns a migrated PostgreSQL database of its own.
func pgDB(tb testing.TB) *sql.DB {
	tb.Helper()
	db := emptyPostgres(tb)
	migrate(tb, db, sqlstore.Postgres)
	return db
}
