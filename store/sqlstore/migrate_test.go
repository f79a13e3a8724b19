package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/sqlstore"
)

// versions returns the rows of the version table.
func versions(tb testing.TB, db *sql.DB) []string {
	tb.Helper()
	rows, err := db.Query("SELECT version, name FROM gatehouse_schema_migrations ORDER BY version")
	if err != nil {
		tb.Fatalf("reading the version table: %v", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v int
		var name string
		if err := rows.Scan(&v, &name); err != nil {
			tb.Fatal(err)
		}
		out = append(out, name)
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// migrationNames lists the .sql files of the dialect's exported FS.
func migrationNames(tb testing.TB, d sqlstore.Dialect) []string {
	tb.Helper()
	names, err := fs.Glob(sqlstore.Migrations(d), "*.sql")
	if err != nil {
		tb.Fatal(err)
	}
	return names
}

// TestMigrate: on an empty database Migrate creates the schema and records
// every version once; running it again changes nothing; a Store works on
// the result.
func TestMigrate(t *testing.T) {
	for _, tdb := range dialects() {
		t.Run(tdb.name, func(t *testing.T) {
			db := tdb.empty(t)
			want := migrationNames(t, tdb.dialect)
			for run := 1; run <= 3; run++ {
				if err := sqlstore.Migrate(t.Context(), db, tdb.dialect); err != nil {
					t.Fatalf("Migrate run %d: %v", run, err)
				}
				if got := versions(t, db); !slices.Equal(got, want) {
					t.Fatalf("after run %d the version table holds %q, want %q", run, got, want)
				}
			}
			s := newStore(t, db, tdb.dialect)
			u := &store.User{ID: "a0000000-0000-4000-8000-000000000001", Email: "ada@example.com", CreatedAt: time.Unix(1e9, 0)}
			if err := s.CreateUser(t.Context(), u); err != nil {
				t.Fatalf("CreateUser after Migrate: %v", err)
			}
		})
	}
}

// TestMigrateConcurrent: several processes starting at once may all call
// Migrate; each succeeds and the migrations are applied once.
func TestMigrateConcurrent(t *testing.T) {
	for _, tdb := range dialects() {
		if tdb.name == "SQLiteMemory" {
			continue // one connection: calls cannot overlap
		}
		t.Run(tdb.name, func(t *testing.T) {
			db := tdb.empty(t)
			const n = 4
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() { errs[i] = sqlstore.Migrate(t.Context(), db, tdb.dialect) })
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("Migrate %d: %v", i, err)
				}
			}
			if got, want := versions(t, db), migrationNames(t, tdb.dialect); !slices.Equal(got, want) {
				t.Errorf("version table holds %q, want %q", got, want)
			}
		})
	}
}

// TestMigrateRepeatableOnMySQL: MySQL commits after each DDL statement, so a
// Migrate that fails between a file's statements and recording its version
// leaves them applied; the files are written so that the next Migrate
// applies them again without error. Here every version after the first is
// forgotten and Migrate runs again.
func TestMigrateRepeatableOnMySQL(t *testing.T) {
	db := emptyMySQL(t)
	migrate(t, db, sqlstore.MySQL)
	if _, err := db.Exec("DELETE FROM gatehouse_schema_migrations WHERE version > 1"); err != nil {
		t.Fatal(err)
	}
	if err := sqlstore.Migrate(t.Context(), db, sqlstore.MySQL); err != nil {
		t.Fatalf("Migrate over applied but unrecorded files: %v", err)
	}
	if got, want := versions(t, db), migrationNames(t, sqlstore.MySQL); !slices.Equal(got, want) {
		t.Errorf("version table holds %q, want %q", got, want)
	}
	var n int
	err := db.QueryRow("SELECT COUNT(DISTINCT index_name) FROM information_schema.statistics" +
		" WHERE table_schema = DATABASE() AND table_name = 'gatehouse_run_entries' AND index_name = 'gatehouse_run_entries_number'").Scan(&n)
	if err != nil || n != 1 {
		t.Errorf("index gatehouse_run_entries_number: %d found (%v), want 1", n, err)
	}
}

// TestMigrations: each dialect exports its files, starting with
// 0001_init.sql, for users of other migration tools.
func TestMigrations(t *testing.T) {
	for _, d := range []sqlstore.Dialect{sqlstore.SQLite, sqlstore.Postgres, sqlstore.MySQL} {
		t.Run(d.String(), func(t *testing.T) {
			names := migrationNames(t, d)
			if len(names) == 0 || names[0] != "0001_init.sql" {
				t.Fatalf("Migrations(%v) lists %q, want 0001_init.sql first", d, names)
			}
			body, err := fs.ReadFile(sqlstore.Migrations(d), "0001_init.sql")
			if err != nil {
				t.Fatal(err)
			}
			for _, table := range []string{"gatehouse_users", "gatehouse_sessions", "gatehouse_refresh_tokens", "gatehouse_secrets", "gatehouse_user_count"} {
				if !strings.Contains(string(body), "CREATE TABLE "+table) && !strings.Contains(string(body), "CREATE TABLE IF NOT EXISTS "+table) {
					t.Errorf("0001_init.sql does not create %s", table)
				}
			}
		})
	}
	if sqlstore.Migrations(sqlstore.Dialect(0)) != nil {
		t.Error("Migrations(Dialect(0)) != nil")
	}
}

// TestInvalidArguments: New and Migrate refuse a nil *sql.DB and an unknown
// dialect, without touching the database.
func TestInvalidArguments(t *testing.T) {
	db := emptySQLiteMemory(t)
	tests := []struct {
		name string
		call func() error
	}{
		{"NewNilDB", func() error { _, err := sqlstore.New(nil, sqlstore.SQLite); return err }},
		{"NewZeroDialect", func() error { _, err := sqlstore.New(db, 0); return err }},
		{"NewUnknownDialect", func() error { _, err := sqlstore.New(db, 42); return err }},
		{"MigrateNilDB", func() error { return sqlstore.Migrate(context.Background(), nil, sqlstore.SQLite) }},
		{"MigrateUnknownDialect", func() error { return sqlstore.Migrate(context.Background(), db, 42) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); err == nil {
				t.Error("err = nil, want an error")
			}
		})
	}
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM sqlite_master").Scan(&n); err != nil || n != 0 {
		t.Errorf("the database has %d objects (%v), want none", n, err)
	}
}

// TestNotMigrated: a Store over a database without the schema fails with an
// error that points at Migrate, and works once Migrate has run.
func TestNotMigrated(t *testing.T) {
	db := emptySQLiteFile(t)
	s := newStore(t, db, sqlstore.SQLite)
	_, err := s.UserByID(t.Context(), "x")
	if err == nil || errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), "Migrate") {
		t.Fatalf("UserByID before Migrate: err = %v, want an error naming Migrate", err)
	}
	migrate(t, db, sqlstore.SQLite)
	if _, err := s.UserByID(t.Context(), "x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UserByID after Migrate: err = %v, want ErrNotFound", err)
	}
}

// TestDialectString names each dialect after its migrations directory.
func TestDialectString(t *testing.T) {
	for d, want := range map[sqlstore.Dialect]string{
		sqlstore.SQLite: "sqlite", sqlstore.Postgres: "postgres", sqlstore.MySQL: "mysql", 0: "Dialect(0)",
	} {
		if got := d.String(); got != want {
			t.Errorf("Dialect(%d).String() = %q, want %q", int(d), got, want)
		}
	}
}

// TestMigratePendingEmailExpiry: migration 5 gives each pending email change
// of a version-4 database the expiry of its confirmation secret, and clears
// a pending address whose confirmation is gone (it can never be
// confirmed), leaving every other user alone.
func TestMigratePendingEmailExpiry(t *testing.T) {
	for _, tdb := range dialects() {
		t.Run(tdb.name, func(t *testing.T) {
			db := tdb.empty(t)
			ctx := t.Context()
			if err := sqlstore.MigrateTo(ctx, db, tdb.dialect, 4); err != nil {
				t.Fatalf("migrating to version 4: %v", err)
			}
			s := newStore(t, db, tdb.dialect)
			created := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			expires := created.Add(24 * time.Hour)
			users := []struct {
				id, pending string
				secret      string // the email of a change_email secret, "" for none
			}{
				{"a0000000-0000-4000-8000-000000000001", "new1@example.com", "new1@example.com"}, // pending, confirmable
				{"a0000000-0000-4000-8000-000000000002", "new2@example.com", ""},                 // pending, link gone
				{"a0000000-0000-4000-8000-000000000003", "new3@example.com", "old3@example.com"}, // a secret for another address
				{"a0000000-0000-4000-8000-000000000004", "", ""},                                 // nothing pending
			}
			for i, u := range users {
				// Inserted by hand: the version-4 table has no expiry column
				// for the Store to write.
				_, err := db.ExecContext(ctx, rebind(tdb.dialect, "INSERT INTO gatehouse_users (id, email, pending_email, password_hash, name, bio, profile_picture) VALUES (?, ?, ?, '', '', '', '')"),
					u.id, fmt.Sprintf("user%d@example.com", i+1), u.pending)
				if err != nil {
					t.Fatalf("inserting user %d: %v", i+1, err)
				}
				if u.secret != "" {
					_, err := db.ExecContext(ctx, rebind(tdb.dialect, "INSERT INTO gatehouse_secrets (hash, user_id, purpose, email, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)"),
						[]byte(fmt.Sprintf("hash-%d", i+1)), u.id, "change_email", u.secret, instant(tdb.dialect, created), instant(tdb.dialect, expires))
					if err != nil {
						t.Fatalf("inserting secret %d: %v", i+1, err)
					}
				}
			}
			if err := sqlstore.Migrate(ctx, db, tdb.dialect); err != nil {
				t.Fatalf("Migrate: %v", err)
			}
			want := []struct {
				pending string
				expires time.Time
			}{{"new1@example.com", expires}, {"", time.Time{}}, {"", time.Time{}}, {"", time.Time{}}}
			for i, u := range users {
				got, err := s.UserByID(ctx, u.id)
				if err != nil {
					t.Fatalf("user %d: %v", i+1, err)
				}
				if got.PendingEmail != want[i].pending || !got.PendingEmailExpiresAt.Equal(want[i].expires) {
					t.Errorf("user %d: PendingEmail %q expiring %v, want %q expiring %v",
						i+1, got.PendingEmail, got.PendingEmailExpiresAt, want[i].pending, want[i].expires)
				}
			}
		})
	}
}

// rebind writes a query with ? placeholders for d.
func rebind(d sqlstore.Dialect, q string) string {
	if d != sqlstore.Postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// TestMigrateHasFactors: migration 7 sets store.User.HasFactors for the
// users of a version-6 database that have a confirmed factor, and for no
// one else (a pending factor does not count).
func TestMigrateHasFactors(t *testing.T) {
	for _, tdb := range dialects() {
		t.Run(tdb.name, func(t *testing.T) {
			db := tdb.empty(t)
			ctx := t.Context()
			if err := sqlstore.MigrateTo(ctx, db, tdb.dialect, 6); err != nil {
				t.Fatalf("migrating to version 6: %v", err)
			}
			s := newStore(t, db, tdb.dialect)
			created := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			users := []struct {
				id       string
				factors  []bool // confirmed or pending, one per factor
				wantFlag bool
			}{
				{"a0000000-0000-4000-8000-000000000001", []bool{true}, true},
				{"a0000000-0000-4000-8000-000000000002", []bool{false}, false},
				{"a0000000-0000-4000-8000-000000000003", []bool{false, true}, true},
				{"a0000000-0000-4000-8000-000000000004", nil, false},
			}
			for i, u := range users {
				// Inserted by hand: the version-6 table has no has_factors
				// column for the Store to read.
				_, err := db.ExecContext(ctx, rebind(tdb.dialect, "INSERT INTO gatehouse_users (id, email, pending_email, password_hash, name, bio, profile_picture) VALUES (?, ?, '', '', '', '', '')"),
					u.id, fmt.Sprintf("user%d@example.com", i+1))
				if err != nil {
					t.Fatalf("inserting user %d: %v", i+1, err)
				}
				for j, confirmed := range u.factors {
					var confirmedAt any
					if confirmed {
						confirmedAt = instant(tdb.dialect, created)
					}
					_, err := db.ExecContext(ctx, rebind(tdb.dialect, "INSERT INTO gatehouse_factors (id, user_id, type, name, secret, created_at, confirmed_at) VALUES (?, ?, 'totp', '', ?, ?, ?)"),
						fmt.Sprintf("f-%d-%d", i+1, j), u.id, []byte("sealed"), instant(tdb.dialect, created), confirmedAt)
					if err != nil {
						t.Fatalf("inserting factor %d of user %d: %v", j, i+1, err)
					}
				}
			}
			if err := sqlstore.Migrate(ctx, db, tdb.dialect); err != nil {
				t.Fatalf("Migrate: %v", err)
			}
			for i, u := range users {
				got, err := s.UserByID(ctx, u.id)
				if err != nil {
					t.Fatalf("user %d: %v", i+1, err)
				}
				if got.HasFactors != u.wantFlag {
					t.Errorf("user %d (factors confirmed: %v): HasFactors = %t, want %t", i+1, u.factors, got.HasFactors, u.wantFlag)
				}
			}
		})
	}
}

// TestMigrateLeanRuns: migration 13 keeps the runs and entries of a
// version-12 audit log, drops the entries' foreign key (on SQLite by
// rebuilding both tables WITHOUT ROWID, with their indexes), and
// DeleteRunsBefore still deletes the entries of the runs it deletes, now
// that no cascade does.
func TestMigrateLeanRuns(t *testing.T) {
	for _, tdb := range dialects() {
		t.Run(tdb.name, func(t *testing.T) {
			db := tdb.empty(t)
			ctx := t.Context()
			if err := sqlstore.MigrateTo(ctx, db, tdb.dialect, 12); err != nil {
				t.Fatalf("migrating to version 12: %v", err)
			}
			s := newStore(t, db, tdb.dialect)
			t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			var want []store.Run
			for i := range 3 {
				want = append(want, store.Run{
					ID: fmt.Sprintf("b0000000-0000-4000-8000-00000000000%d", i+1), Type: "refresh", UserID: "u1",
					Time: t0.Add(time.Duration(i) * time.Minute),
					Entries: []store.Entry{
						{Key: "outcome", Value: "ok"},
						{Key: "ms", Value: fmt.Sprint(i + 1), Number: float64(i + 1), Numeric: true},
						{Key: "at", Value: "then", Time: t0.Add(time.Second)},
					},
				})
			}
			batch := []*store.Run{&want[0], &want[1]}
			if err := s.AppendRuns(ctx, batch); err != nil {
				t.Fatalf("AppendRuns: %v", err)
			}
			if err := s.AppendRun(ctx, &want[2]); err != nil {
				t.Fatalf("AppendRun: %v", err)
			}
			if err := sqlstore.Migrate(ctx, db, tdb.dialect); err != nil {
				t.Fatalf("Migrate: %v", err)
			}

			page, err := s.ListRuns(ctx, store.RunQuery{})
			if err != nil {
				t.Fatalf("ListRuns: %v", err)
			}
			if len(page.Runs) != len(want) {
				t.Fatalf("ListRuns after Migrate: %d runs, want %d", len(page.Runs), len(want))
			}
			for i, got := range page.Runs {
				w := want[len(want)-1-i]
				if got.ID != w.ID || len(got.Entries) != len(w.Entries) {
					t.Fatalf("run %d: %s with %d entries, want %s with %d", i, got.ID, len(got.Entries), w.ID, len(w.Entries))
				}
				for j, e := range got.Entries {
					we := w.Entries[j]
					if e.Key != we.Key || e.Value != we.Value || e.Number != we.Number || e.Numeric != we.Numeric || !e.Time.Equal(we.Time) {
						t.Errorf("run %s entry %d: %+v, want %+v", got.ID, j, e, we)
					}
				}
			}
			agg, err := s.AggregateEntries(ctx, store.Aggregation{Key: "ms", Summary: true})
			if err != nil {
				t.Fatalf("AggregateEntries: %v", err)
			}
			if agg.Summary.Numbers != 3 || agg.Summary.Sum != 6 {
				t.Errorf("AggregateEntries(ms) after Migrate: %+v, want 3 numbers summing to 6", agg.Summary)
			}

			// The runs appended after the migration are stored as well.
			if err := s.AppendRuns(ctx, []*store.Run{{ID: "b0000000-0000-4000-8000-000000000009", Type: "refresh", Time: t0.Add(time.Hour),
				Entries: []store.Entry{{Key: "ms", Value: "10", Number: 10, Numeric: true}}}}); err != nil {
				t.Fatalf("AppendRuns after Migrate: %v", err)
			}

			// DeleteRunsBefore deletes the entries of the runs it deletes:
			// the entries alone, as AggregateEntries without a filter reads
			// them, count only the run left.
			if n, err := s.DeleteRunsBefore(ctx, t0.Add(30*time.Minute)); err != nil || n != 3 {
				t.Fatalf("DeleteRunsBefore: %d, %v; want 3", n, err)
			}
			agg, err = s.AggregateEntries(ctx, store.Aggregation{Key: "ms", Summary: true})
			if err != nil {
				t.Fatalf("AggregateEntries: %v", err)
			}
			if agg.Summary.Numbers != 1 || agg.Summary.Sum != 10 {
				t.Errorf("AggregateEntries(ms) after DeleteRunsBefore: %+v, want the one number 10", agg.Summary)
			}
			var orphans int
			if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM gatehouse_run_entries e WHERE NOT EXISTS (SELECT 1 FROM gatehouse_runs r WHERE r.seq = e.run_seq)").Scan(&orphans); err != nil || orphans != 0 {
				t.Errorf("entries without their run after DeleteRunsBefore: %d (%v), want 0", orphans, err)
			}

			// No foreign key is left: an entry of a run that does not exist
			// is accepted (foreign keys are on in the tests' SQLite DSNs).
			_, err = db.ExecContext(ctx, rebind(tdb.dialect, "INSERT INTO gatehouse_run_entries (run_seq, idx, entry_key, entry_value, number, is_numeric, at) VALUES (?, 0, 'k', 'v', 0, ?, NULL)"),
				int64(1e9), false)
			if err != nil {
				t.Errorf("inserting an entry without its run: %v; want no foreign key", err)
			}
			switch tdb.dialect {
			case sqlstore.SQLite:
				for _, table := range []string{"gatehouse_runs", "gatehouse_run_entries"} {
					var sqlText string
					if err := db.QueryRowContext(ctx, "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?", table).Scan(&sqlText); err != nil {
						t.Fatal(err)
					}
					if !strings.Contains(sqlText, "WITHOUT ROWID") {
						t.Errorf("%s is %q, want WITHOUT ROWID", table, sqlText)
					}
				}
				var indexes int
				if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM sqlite_schema WHERE type = 'index' AND name LIKE 'gatehouse_run%' AND sql IS NOT NULL").Scan(&indexes); err != nil || indexes != 7 {
					t.Errorf("indexes of the audit log: %d (%v), want the 7 of version 12", indexes, err)
				}
			case sqlstore.Postgres:
				var n int
				if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'gatehouse_runs' AND indexname = 'gatehouse_runs_at'").Scan(&n); err != nil || n != 0 {
					t.Errorf("index gatehouse_runs_at: %d found (%v), want it dropped", n, err)
				}
			}
		})
	}
}
