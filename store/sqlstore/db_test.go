package sqlstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/internal/skipnote"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/gatehouse-go/gatehouse/store/sqlstore"
)

// The servers the PostgreSQL and MySQL tests use, and their local defaults.
const (
	postgresEnv        = "AUTH_TEST_POSTGRES_DSN"
	mysqlEnv           = "AUTH_TEST_MYSQL_DSN"
	defaultPostgresDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	defaultMySQLDSN    = "root@tcp(127.0.0.1:3306)/test?parseTime=true"
)

// sqliteDSN is the DSN the package documentation recommends for a file
// database: WAL, a busy timeout, foreign keys, synchronous=NORMAL, memory
// mapped reads and BEGIN IMMEDIATE transactions.
func sqliteDSN(path string) string {
	return "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
		"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_pragma=mmap_size(1073741824)&_txlock=immediate"
}

// testDB makes fresh databases of one dialect.
type testDB struct {
	name    string
	dialect sqlstore.Dialect
	// empty returns a new database with no tables, removed by a
	// t.Cleanup.
	empty func(tb testing.TB) *sql.DB
}

// open returns a new database, migrated (twice, to prove Migrate
// idempotent) and without rows.
func (tdb testDB) open(tb testing.TB) *sql.DB {
	tb.Helper()
	db := tdb.empty(tb)
	migrate(tb, db, tdb.dialect)
	return db
}

// dialects returns the databases to test against. PostgreSQL and MySQL are
// probed lazily by their open functions, which skip (or, under CI=true,
// fail) when the server cannot be reached.
func dialects() []testDB {
	return []testDB{
		{"SQLiteFile", sqlstore.SQLite, emptySQLiteFile},
		{"SQLiteMemory", sqlstore.SQLite, emptySQLiteMemory},
		{"Postgres", sqlstore.Postgres, emptyPostgres},
		{"MySQL", sqlstore.MySQL, emptyMySQL},
	}
}

// unreachable skips the test, or fails it under CI=true, where every
// database is required.
func unreachable(tb testing.TB, what, env string, err error) {
	tb.Helper()
	skipnote.Unavailable(tb, what, "start it or set "+env+" to its DSN", err)
}

func randomName(tb testing.TB) string {
	tb.Helper()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return "gh_" + hex.EncodeToString(b)
}

// migrate runs Migrate twice, proving it idempotent.
func migrate(tb testing.TB, db *sql.DB, d sqlstore.Dialect) {
	tb.Helper()
	for i := range 2 {
		if err := sqlstore.Migrate(context.Background(), db, d); err != nil {
			tb.Fatalf("Migrate (run %d): %v", i+1, err)
		}
	}
}

// openSQLiteFile returns a migrated SQLite file database.
func openSQLiteFile(tb testing.TB) *sql.DB {
	tb.Helper()
	db := emptySQLiteFile(tb)
	migrate(tb, db, sqlstore.SQLite)
	return db
}

func emptySQLiteFile(tb testing.TB) *sql.DB {
	tb.Helper()
	db, err := sql.Open("sqlite", sqliteDSN(filepath.Join(tb.TempDir(), "gatehouse.db")))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// emptySQLiteMemory opens an in-memory database. Every connection to
// :memory: is a database of its own, so the pool holds one connection.
func emptySQLiteMemory(tb testing.TB) *sql.DB {
	tb.Helper()
	db, err := sql.Open("sqlite", ":memory:?_pragma=foreign_keys(1)")
	if err != nil {
		tb.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	tb.Cleanup(func() { db.Close() })
	return db
}

// emptyPostgres creates a schema of its own, selected through search_path,
// and drops it in a clean-up.
func emptyPostgres(tb testing.TB) *sql.DB {
	tb.Helper()
	return emptyPostgresWith(tb, nil)
}

// emptyPostgresWith is emptyPostgres with edit, when not nil, applied to
// the configuration of the returned pool's connections.
func emptyPostgresWith(tb testing.TB, edit func(*pgx.ConnConfig)) *sql.DB {
	tb.Helper()
	dsn := os.Getenv(postgresEnv)
	if dsn == "" {
		dsn = defaultPostgresDSN
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		tb.Fatalf("%s: %v", postgresEnv, err)
	}
	admin := stdlib.OpenDB(*cfg)
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		unreachable(tb, "PostgreSQL", postgresEnv, err)
	}
	schema := randomName(tb)
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		admin := stdlib.OpenDB(*cfg)
		defer admin.Close()
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			tb.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	scoped := cfg.Copy()
	scoped.RuntimeParams["search_path"] = schema
	if edit != nil {
		edit(scoped)
	}
	db := stdlib.OpenDB(*scoped)
	db.SetMaxOpenConns(8)
	tb.Cleanup(func() { db.Close() }) // runs before the schema is dropped
	return db
}

// emptyMySQL creates a database of its own and drops it in a clean-up.
func emptyMySQL(tb testing.TB) *sql.DB {
	tb.Helper()
	dsn := os.Getenv(mysqlEnv)
	if dsn == "" {
		dsn = defaultMySQLDSN
	}
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		tb.Fatalf("%s: %v", mysqlEnv, err)
	}
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	admin := sql.OpenDB(connector)
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		unreachable(tb, "MySQL", mysqlEnv, err)
	}
	name := randomName(tb)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		admin := sql.OpenDB(connector)
		defer admin.Close()
		if _, err := admin.Exec("DROP DATABASE " + name); err != nil {
			tb.Errorf("dropping database %s: %v", name, err)
		}
	})
	scoped := cfg.Clone()
	scoped.DBName = name
	c, err := mysql.NewConnector(scoped)
	if err != nil {
		tb.Fatal(err)
	}
	db := sql.OpenDB(c)
	db.SetMaxOpenConns(8)
	tb.Cleanup(func() { db.Close() })
	return db
}

// newStore returns a Store over db.
func newStore(tb testing.TB, db *sql.DB, d sqlstore.Dialect) *sqlstore.Store {
	tb.Helper()
	s, err := sqlstore.New(db, d)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}
