package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // the SQLite driver, pure Go

	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/memstore"
	"github.com/gatehouse-go/gatehouse/store/sqlstore"
)

// The servers the suite uses when reachable: the variables and defaults of
// the store tests (store/sqlstore), so that one setting serves both.
const (
	postgresEnv        = "AUTH_TEST_POSTGRES_DSN"
	mysqlEnv           = "AUTH_TEST_MYSQL_DSN"
	defaultPostgresDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	defaultMySQLDSN    = "root@tcp(127.0.0.1:3306)/test?parseTime=true"
)

// The stores the suite knows, in the order it runs them. sqlite-audit-file
// is sqlite with the audit log in a SQLite file of its own (a second
// *sql.DB and sqlstore.Store as audit.Config.Runs), measured only for
// refresh_recording_on_over_off: the other figures do not touch the audit
// log, so they would be sqlite's again.
var storeNames = []string{"memstore", "sqlite", "sqlite-audit-file", "postgres", "mysql"}

// errUnreachable marks a database server that did not answer: its store
// is skipped, not a failure of the run.
var errUnreachable = errors.New("unreachable")

// backend is one store under test, with the baseline of its point
// lookups.
type backend struct {
	name string
	st   store.Store
	runs store.Runs
	// lookupName and lookup are the baseline of the store calls: a bare
	// lookup of a user's email by ID (a map's, or one SELECT on the
	// store's own table).
	lookupName string
	lookup     func(ctx context.Context, id string) error
	// add makes lookup able to find u (the map baseline keeps its own
	// copy; the SQL ones read the store's table).
	add   func(u *store.User)
	close func() error
	// recordingOnly limits the store to refresh_recording_on_over_off.
	recordingOnly bool
}

// openBackend opens the named store, fresh and empty. An unreachable
// database server gives an error matching errUnreachable.
func openBackend(ctx context.Context, name string, o *suiteOptions) (*backend, error) {
	switch name {
	case "memstore":
		return openMemstore(), nil
	case "sqlite":
		return openSQLite(ctx, o.clients)
	case "sqlite-audit-file":
		return openSQLiteAuditFile(ctx, o.clients)
	case "postgres":
		return openPostgres(ctx, o.postgresDSN, o.clients)
	case "mysql":
		return openMySQL(ctx, o.mysqlDSN, o.clients)
	}
	return nil, fmt.Errorf("unknown store %q", name)
}

// errNoEmail is a baseline lookup's answer for a row without an email. The
// check reads the result, so the work of fetching it cannot be dropped.
var errNoEmail = errors.New("baseline lookup: the user has no email")

func openMemstore() *backend {
	// The baseline is what a map-backed store cannot do without: a lookup
	// under a read lock, copying the record out.
	var mu sync.RWMutex
	users := map[string]*store.User{}
	st := memstore.New()
	return &backend{
		name: "memstore", st: st, runs: st,
		lookupName: "map_lookup",
		lookup: func(_ context.Context, id string) error {
			mu.RLock()
			u, ok := users[id]
			var c store.User
			if ok {
				c = *u
			}
			mu.RUnlock()
			if !ok {
				return store.ErrNotFound
			}
			if c.Email == "" {
				return errNoEmail
			}
			return nil
		},
		add: func(u *store.User) {
			mu.Lock()
			defer mu.Unlock()
			c := *u
			users[u.ID] = &c
		},
		close: func() error { return nil },
	}
}

// sqlBackend makes a backend of a migrated database.
func sqlBackend(ctx context.Context, name string, db *sql.DB, d sqlstore.Dialect, cleanup func() error) (*backend, error) {
	fail := func(err error) (*backend, error) {
		return nil, errors.Join(err, cleanup())
	}
	if err := sqlstore.Migrate(ctx, db, d); err != nil {
		return fail(fmt.Errorf("migrating: %w", err))
	}
	st, err := sqlstore.New(db, d)
	if err != nil {
		return fail(err)
	}
	q := "SELECT email FROM gatehouse_users WHERE id = ?"
	if d == sqlstore.Postgres {
		q = "SELECT email FROM gatehouse_users WHERE id = $1"
	}
	stmt, err := db.PrepareContext(ctx, q)
	if err != nil {
		return fail(errors.Join(err, st.Close()))
	}
	return &backend{
		name: name, st: st, runs: st,
		lookupName: "sql_point_lookup",
		lookup: func(ctx context.Context, id string) error {
			var email string
			if err := stmt.QueryRowContext(ctx, id).Scan(&email); err != nil {
				return err
			}
			if email == "" {
				return errNoEmail
			}
			return nil
		},
		add: func(*store.User) {},
		close: func() error {
			return errors.Join(stmt.Close(), st.Close(), cleanup())
		},
	}, nil
}

// openSQLite opens a database file in a new temporary directory, with the
// settings package sqlstore recommends, and keeps clients connections of
// the pool open, as a busy server does.
func openSQLite(ctx context.Context, clients int) (*backend, error) {
	dir, db, err := tempSQLite(clients)
	if err != nil {
		return nil, err
	}
	return sqlBackend(ctx, "sqlite", db, sqlstore.SQLite, func() error {
		return errors.Join(db.Close(), os.RemoveAll(dir))
	})
}

// openSQLiteAuditFile is openSQLite with the audit log in a second file of
// the directory, audit.db, migrated and used through a Store of its own:
// its appends take that file's write lock, not the one of the sessions and
// refresh tokens.
func openSQLiteAuditFile(ctx context.Context, clients int) (*backend, error) {
	dir, db, err := tempSQLite(clients)
	if err != nil {
		return nil, err
	}
	auditDB, err := sqliteFile(dir, "audit.db", clients)
	if err != nil {
		return nil, errors.Join(err, db.Close(), os.RemoveAll(dir))
	}
	fail := func(err error) (*backend, error) {
		return nil, errors.Join(err, auditDB.Close(), db.Close(), os.RemoveAll(dir))
	}
	if err := sqlstore.Migrate(ctx, auditDB, sqlstore.SQLite); err != nil {
		return fail(fmt.Errorf("migrating audit.db: %w", err))
	}
	runs, err := sqlstore.New(auditDB, sqlstore.SQLite)
	if err != nil {
		return fail(err)
	}
	b, err := sqlBackend(ctx, "sqlite-audit-file", db, sqlstore.SQLite, func() error {
		return errors.Join(runs.Close(), auditDB.Close(), db.Close(), os.RemoveAll(dir))
	})
	if err != nil {
		return nil, err
	}
	b.runs, b.recordingOnly = runs, true
	return b, nil
}

// tempSQLite opens gatehouse.db in a new temporary directory (sqliteFile),
// which the caller removes with the database's close.
func tempSQLite(clients int) (dir string, db *sql.DB, err error) {
	dir, err = os.MkdirTemp("", "gatehouse-bench-")
	if err != nil {
		return "", nil, err
	}
	db, err = sqliteFile(dir, "gatehouse.db", clients)
	if err != nil {
		return "", nil, errors.Join(err, os.RemoveAll(dir))
	}
	return dir, db, nil
}

// sqliteFile opens the database file name in dir with the settings package
// sqlstore recommends, keeping clients connections of the pool open, as a
// busy server does.
func sqliteFile(dir, name string, clients int) (*sql.DB, error) {
	dsn := "file:" + filepath.Join(dir, name) +
		"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)" +
		"&_pragma=synchronous(NORMAL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxIdleConns(clients + 2)
	return db, nil
}

// benchName is a fresh name for the schema or database of one run.
func benchName() string {
	b := make([]byte, 6)
	rand.Read(b)
	return "gatehouse_bench_" + hex.EncodeToString(b)
}

// openPostgres creates a schema of its own on the server of dsn, used
// through search_path, and drops it on close.
func openPostgres(ctx context.Context, dsn string, clients int) (*backend, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("-postgres: %w", err)
	}
	admin := stdlib.OpenDB(*cfg)
	defer admin.Close()
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := admin.PingContext(pctx); err != nil {
		return nil, fmt.Errorf("%w: %v", errUnreachable, err)
	}
	schema := benchName()
	if _, err := admin.ExecContext(pctx, "CREATE SCHEMA "+schema); err != nil {
		return nil, err
	}
	scoped := cfg.Copy()
	scoped.RuntimeParams["search_path"] = schema
	db := stdlib.OpenDB(*scoped)
	db.SetMaxIdleConns(clients + 2)
	return sqlBackend(ctx, "postgres", db, sqlstore.Postgres, func() error {
		err := db.Close()
		admin := stdlib.OpenDB(*cfg)
		defer admin.Close()
		_, dropErr := admin.Exec("DROP SCHEMA " + schema + " CASCADE")
		return errors.Join(err, dropErr)
	})
}

// openMySQL creates a database of its own on the server of dsn and drops
// it on close.
func openMySQL(ctx context.Context, dsn string, clients int) (*backend, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("-mysql: %w", err)
	}
	cfg.ParseTime = true
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	admin := sql.OpenDB(connector)
	defer admin.Close()
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := admin.PingContext(pctx); err != nil {
		return nil, fmt.Errorf("%w: %v", errUnreachable, err)
	}
	name := benchName()
	if _, err := admin.ExecContext(pctx, "CREATE DATABASE "+name); err != nil {
		return nil, err
	}
	scoped := cfg.Clone()
	scoped.DBName = name
	c, err := mysql.NewConnector(scoped)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(c)
	db.SetMaxIdleConns(clients + 2)
	return sqlBackend(ctx, "mysql", db, sqlstore.MySQL, func() error {
		err := db.Close()
		admin := sql.OpenDB(connector)
		defer admin.Close()
		_, dropErr := admin.Exec("DROP DATABASE " + name)
		return errors.Join(err, dropErr)
	})
}
