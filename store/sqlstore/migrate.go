package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

//go:embed migrations
var migrationFiles embed.FS

// versionTable records the migrations applied to a database, one row per
// version.
const versionTable = "gatehouse_schema_migrations"

// Migrations returns the dialect's migration files: 0001_init.sql and its
// successors, named <version>_<name>.sql, each a series of statements ending
// in ";" at the end of a line (before any -- comment). [Migrate] applies them; users of another
// migration tool (goose, atlas, golang-migrate …) can copy them instead. It
// returns nil for an unknown dialect.
func Migrations(d Dialect) fs.FS {
	if !d.valid() {
		return nil
	}
	sub, err := fs.Sub(migrationFiles, "migrations/"+d.String())
	if err != nil {
		return nil // unreachable: the directories are embedded
	}
	return sub
}

// migration is one file of Migrations.
type migration struct {
	version int
	name    string
	body    string
}

// migrations lists d's migration files in version order.
func migrations(d Dialect) ([]migration, error) {
	fsys := Migrations(d)
	if fsys == nil {
		return nil, errDialect(d)
	}
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || path.Ext(name) != ".sql" {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("sqlstore: migration file %q: name must start with a positive version and _", name)
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: name, body: string(body)})
	}
	slices.SortFunc(out, func(a, b migration) int { return a.version - b.version })
	return out, nil
}

// statements splits a migration into its statements: each ends with ";" at
// the end of a line, not counting a -- comment. Comment-only chunks are
// dropped.
func statements(body string) []string {
	var out []string
	var cur strings.Builder
	for line := range strings.Lines(body) {
		cur.WriteString(line)
		code, _, _ := strings.Cut(line, "--") // the files have no "--" in literals
		if strings.HasSuffix(strings.TrimSpace(code), ";") {
			if s := strings.TrimSpace(cur.String()); hasCode(s) {
				out = append(out, s)
			}
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); hasCode(s) {
		out = append(out, s)
	}
	return out
}

// hasCode reports whether s has a line that is not a -- comment.
func hasCode(s string) bool {
	for line := range strings.Lines(s) {
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "--") {
			return true
		}
	}
	return false
}

// Migrate brings the database's Gatehouse schema up to date: it applies, in
// order, each file of [Migrations] whose version is not yet recorded in the
// table gatehouse_schema_migrations, and records it. It is idempotent, and
// safe to call at every start of an application and from several processes
// at once: on PostgreSQL an advisory lock, on MySQL a named lock and on
// SQLite the write lock make concurrent calls wait for each other.
//
// On SQLite and PostgreSQL all pending migrations run in one transaction:
// either all apply or none. MySQL commits implicitly after each CREATE
// TABLE, so there the files consist of idempotent statements and a failed
// Migrate can be repeated.
//
// [New] never migrates; call Migrate (or apply the files with your own tool)
// before using a [Store]. Like New, Migrate refuses a SQLite driver whose
// errors the store does not recognise ([ErrUnsupportedDriver]), before it
// touches the database.
func Migrate(ctx context.Context, db *sql.DB, d Dialect) error {
	if db == nil {
		return fmt.Errorf("sqlstore: migrate: nil *sql.DB")
	}
	files, err := migrations(d)
	if err != nil {
		return fmt.Errorf("sqlstore: migrate: %w", err)
	}
	if err := checkDriver(db, d); err != nil {
		return err
	}
	// Processes starting together may find SQLite busy: a connection that
	// read the schema before another created the version table cannot then
	// write, and is told so at once rather than made to wait. Migrate is
	// idempotent, so it runs again.
	if err := retry(ctx, func() error { return migrate(ctx, db, d, files) }); err != nil {
		return fmt.Errorf("sqlstore: migrate: %w", err)
	}
	return nil
}

func migrate(ctx context.Context, db *sql.DB, d Dialect, files []migration) (err error) {
	// One connection throughout, so that MySQL's named lock (held by the
	// session) covers the transaction.
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()

	createVersions := "CREATE TABLE IF NOT EXISTS " + versionTable + " (version INTEGER NOT NULL PRIMARY KEY, name VARCHAR(255) NOT NULL)"
	switch d {
	case MySQL:
		var got sql.NullInt64
		if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK('gatehouse_migrate', 60)").Scan(&got); err != nil {
			return err
		}
		if got.Int64 != 1 {
			return fmt.Errorf("could not take the lock gatehouse_migrate within 60 s")
		}
		defer func() {
			// A fresh context: the lock must go even when ctx is done.
			_, rerr := conn.ExecContext(context.WithoutCancel(ctx), "SELECT RELEASE_LOCK('gatehouse_migrate')")
			if err == nil {
				err = rerr
			}
		}()
		if _, err := conn.ExecContext(ctx, createVersions); err != nil {
			return err
		}
	case SQLite:
		// Outside the transaction, so that the transaction's first
		// statement can take the write lock on it.
		if _, err := conn.ExecContext(ctx, createVersions); err != nil {
			return err
		}
	}

	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	switch d {
	case Postgres:
		// Serialize concurrent Migrate calls; the lock ends with the
		// transaction. The key is arbitrary but fixed.
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(7261017451394850)"); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, createVersions); err != nil {
			return err
		}
	case SQLite:
		if _, err := tx.ExecContext(ctx, "UPDATE "+versionTable+" SET version = version WHERE 0"); err != nil {
			return err
		}
	}

	applied := make(map[int]bool)
	rows, err := tx.QueryContext(ctx, "SELECT version FROM "+versionTable)
	if err != nil {
		return err
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return err
		}
		applied[v] = true
	}
	if err := rows.Close(); err != nil {
		return err
	}

	record := d.rebind("INSERT INTO " + versionTable + " (version, name) VALUES (?, ?)")
	for _, m := range files {
		if applied[m.version] {
			continue
		}
		for _, stmt := range statements(m.body) {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("%s: %w", m.name, err)
			}
		}
		if _, err := tx.ExecContext(ctx, record, m.version, m.name); err != nil {
			return fmt.Errorf("%s: recording the version: %w", m.name, err)
		}
	}
	return tx.Commit()
}
