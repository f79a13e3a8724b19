package pgnotify_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/gatehouse-go/gatehouse/internal/sessioncachetest"
	"github.com/gatehouse-go/gatehouse/internal/skipnote"
	"github.com/gatehouse-go/gatehouse/internal/testdb"
	"github.com/gatehouse-go/gatehouse/store/sqlstore"
	"github.com/gatehouse-go/gatehouse/store/sqlstore/pgnotify"
)

func TestMain(m *testing.M) {
	code := m.Run()
	skipnote.Report("store/sqlstore/pgnotify")
	os.Exit(code)
}

// TestInstances: three Managers on one PostgreSQL database, each with its
// own store handle and Notifier, as three processes would be
// (internal/sessioncachetest): 1,000 logouts on A measured to refusal on B
// and C, and a terminated listen backend falls back to exact reads.
func TestInstances(t *testing.T) {
	dsn := testdb.PostgresSchema(t)
	base, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	channel := "gh_test_" + testdb.Name(t)
	var inst [3]sessioncachetest.Instance
	for i := range inst {
		db := stdlib.OpenDB(*base.Copy())
		t.Cleanup(func() { db.Close() })
		if i == 0 {
			if err := sqlstore.Migrate(context.Background(), db, sqlstore.Postgres); err != nil {
				t.Fatal(err)
			}
		}
		st, err := sqlstore.New(db, sqlstore.Postgres)
		if err != nil {
			t.Fatal(err)
		}
		listen := base.Copy()
		app := fmt.Sprintf("%s_listen_%d", channel, i)
		listen.RuntimeParams["application_name"] = app
		n, err := pgnotify.New(db, listen, pgnotify.Config{Channel: channel, MinBackoff: 300 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		inst[i] = sessioncachetest.Instance{Store: st, Invalidator: n, Kill: func(tb testing.TB) { terminate(tb, db, app) }}
	}
	sessioncachetest.Run(t, "PostgreSQL LISTEN/NOTIFY", inst, 1000)
}

// terminate ends the backend of the listen connection named app.
func terminate(tb testing.TB, db *sql.DB, app string) {
	tb.Helper()
	var n int
	err := db.QueryRow("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1", app).Scan(&n)
	if err != nil || n != 1 {
		tb.Fatalf("terminating %s: %d backends, %v", app, n, err)
	}
}

func TestNewRefusesNil(t *testing.T) {
	cfg, _ := pgx.ParseConfig("postgres://localhost/x")
	if _, err := pgnotify.New(nil, cfg, pgnotify.Config{}); err == nil {
		t.Fatal("New(nil db) succeeded")
	}
	if _, err := pgnotify.New(&sql.DB{}, nil, pgnotify.Config{}); err == nil {
		t.Fatal("New(nil config) succeeded")
	}
}
