package sqlstore_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/gatehouse-go/gatehouse/internal/testdb"
	"github.com/gatehouse-go/gatehouse/store/sqlstore"
)

// The servers the PostgreSQL and MySQL tests use (package internal/testdb).
const (
	postgresEnv = testdb.PostgresEnv
	mysqlEnv    = testdb.MySQLEnv
)

// sqliteDSN is the DSN the package documentation recommends for a file
// database: WAL, a busy timeout, foreign keys, synchronous=NORMAL, memory
// mapped reads and BEGIN IMMEDIATE transactions. The path is escaped for
// the file: URI ('%', '?' and '#', which t.TempDir keeps from a test's
// name, would otherwise open another file).
func sqliteDSN(path string) string {
	path = strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
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
	testdb.Unreachable(tb, what, env, err)
}

func randomName(tb testing.TB) string { return testdb.Name(tb) }

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
	return testdb.EmptyPostgres(tb, nil)
}

// emptyMySQL creates a database of its own and drops it in a clean-up.
func emptyMySQL(tb testing.TB) *sql.DB {
	tb.Helper()
	return testdb.EmptyMySQL(tb)
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
