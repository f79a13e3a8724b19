package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/internal/skipnote"
	"github.com/gatehouse-go/gatehouse/internal/testdb"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/sqlstore"
)

// largeEnv switches on BenchmarkScale and BenchmarkRunsScale, which load a
// million users or a million audit-log entries.
const largeEnv = "GATEHOUSE_BENCH_LARGE"

// TestMain removes the databases the large benchmarks loaded, kept for
// the whole run so that -count does not load them again.
func TestMain(m *testing.M) {
	code := m.Run()
	large.cleanup()
	skipnote.Report("store/sqlstore")
	os.Exit(code)
}

// largeDBs caches loaded databases by dialect and size.
type largeDBs struct {
	mu       sync.Mutex
	dbs      map[string]*sql.DB
	cleanups []func()
}

var large largeDBs

func (l *largeDBs) cleanup() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.cleanups) - 1; i >= 0; i-- {
		l.cleanups[i]()
	}
	l.cleanups = nil
}

// get returns a migrated database of dialect d holding n users, loading it
// on first use.
func (l *largeDBs) get(b *testing.B, d sqlstore.Dialect, n int) *sql.DB {
	b.Helper()
	return l.open(b, d, "users="+strconv.Itoa(n), func(ctx context.Context, db *sql.DB) error {
		return load(ctx, db, d, n)
	})
}

// keepSchemaEnv names a PostgreSQL schema prefix that the large benchmarks
// load once and keep, so that later runs (after a change) reuse the data:
// GATEHOUSE_BENCH_KEEP_SCHEMA=gc_scale keeps gc_scale_runs. Drop it by
// hand when done.
const keepSchemaEnv = "GATEHOUSE_BENCH_KEEP_SCHEMA"

// fill loads db with fill, logging the time it took.
func (l *largeDBs) fill(b *testing.B, d sqlstore.Dialect, name string, db *sql.DB, fill func(context.Context, *sql.DB) error) {
	start := time.Now()
	if err := fill(context.Background(), db); err != nil {
		b.Fatalf("loading %s: %v", name, err)
	}
	b.Logf("loaded %s into %v in %v", name, d, time.Since(start).Round(time.Second))
}

// open returns the migrated database of dialect d that fill loaded, calling
// fill on first use of name.
func (l *largeDBs) open(b *testing.B, d sqlstore.Dialect, name string, fill func(context.Context, *sql.DB) error) *sql.DB {
	b.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	key := d.String() + "/" + name
	if db, ok := l.dbs[key]; ok {
		return db
	}
	var db *sql.DB
	switch d {
	case sqlstore.SQLite:
		dir, err := os.MkdirTemp("", "gatehouse-bench-")
		if err != nil {
			b.Fatal(err)
		}
		l.cleanups = append(l.cleanups, func() { os.RemoveAll(dir) })
		if db, err = sql.Open("sqlite", sqliteDSN(filepath.Join(dir, "large.db"))); err != nil {
			b.Fatal(err)
		}
	case sqlstore.Postgres:
		cfg, err := pgx.ParseConfig(testdb.PostgresDSN())
		if err != nil {
			b.Fatal(err)
		}
		admin := stdlib.OpenDB(*cfg)
		if err := admin.Ping(); err != nil {
			admin.Close()
			unreachable(b, "PostgreSQL", postgresEnv, err)
		}
		schema := randomName(b)
		if keep := os.Getenv(keepSchemaEnv); keep != "" {
			// A kept schema, loaded by an earlier run and reused.
			schema = keep + "_" + strings.NewReplacer("=", "_", ",", "_").Replace(name)
			if _, err := admin.Exec("CREATE SCHEMA IF NOT EXISTS " + schema); err != nil {
				b.Fatal(err)
			}
			l.cleanups = append(l.cleanups, func() { admin.Close() })
		} else {
			if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
				b.Fatal(err)
			}
			l.cleanups = append(l.cleanups, func() {
				admin.Exec("DROP SCHEMA " + schema + " CASCADE")
				admin.Close()
			})
		}
		scoped := cfg.Copy()
		scoped.RuntimeParams["search_path"] = schema
		db = stdlib.OpenDB(*scoped)
	default:
		b.Fatalf("no large database for %v", d)
	}
	l.cleanups = append(l.cleanups, func() { db.Close() })
	if err := sqlstore.Migrate(context.Background(), db, d); err != nil {
		b.Fatal(err)
	}
	if d == sqlstore.Postgres && os.Getenv(keepSchemaEnv) != "" {
		// The kept schema remembers that it was loaded.
		var loaded bool
		if _, err := db.Exec("CREATE TABLE IF NOT EXISTS bench_loaded (name text PRIMARY KEY)"); err != nil {
			b.Fatal(err)
		}
		if err := db.QueryRow("SELECT EXISTS (SELECT 1 FROM bench_loaded WHERE name = $1)", name).Scan(&loaded); err != nil {
			b.Fatal(err)
		}
		if !loaded {
			l.fill(b, d, name, db, fill)
			if _, err := db.Exec("INSERT INTO bench_loaded (name) VALUES ($1)", name); err != nil {
				b.Fatal(err)
			}
		}
	} else {
		l.fill(b, d, name, db, fill)
	}
	if l.dbs == nil {
		l.dbs = make(map[string]*sql.DB)
	}
	l.dbs[key] = db
	return db
}

// load inserts users 0…n-1 (benchUser) in batches, each batch of
// transactions committing 10,000 rows, gives every tenth user two sessions,
// sets the user counter and settles the database.
func load(ctx context.Context, db *sql.DB, d sqlstore.Dialect, n int) error {
	const rowsPerStmt, stmtsPerTx = 500, 20
	ts := func(t time.Time) any { return instant(d, t) }
	placeholders := func(rows, cols int) string { return valuesList(d, rows, cols) }
	const userCols = "id, email, pending_email, password_hash, name, bio, profile_picture, is_superuser, is_active, is_verified, created_at, updated_at"
	const sessionCols = "id, user_id, created_at, authenticated_at, last_used_at, expires_at, idle_expires_at, ip, user_agent"
	for first := 0; first < n; first += rowsPerStmt * stmtsPerTx {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		for lo := first; lo < min(n, first+rowsPerStmt*stmtsPerTx); lo += rowsPerStmt {
			hi := min(n, lo+rowsPerStmt)
			var users, sessions []any
			for i := lo; i < hi; i++ {
				u := benchUser(i)
				users = append(users, u.ID, u.Email, "", u.PasswordHash, u.Name, "", "", false, true, true, ts(u.CreatedAt), ts(u.UpdatedAt))
				if i%10 == 0 {
					for k := range 2 {
						s := benchSession(2*i+k, u.ID)
						sessions = append(sessions, s.ID, s.UserID, ts(s.CreatedAt), ts(s.AuthenticatedAt), ts(s.LastUsedAt), ts(s.ExpiresAt), ts(s.IdleExpiresAt), s.IP, s.UserAgent)
					}
				}
			}
			if _, err := tx.ExecContext(ctx, "INSERT INTO gatehouse_users ("+userCols+") VALUES "+placeholders(hi-lo, 12), users...); err != nil {
				tx.Rollback()
				return err
			}
			if len(sessions) > 0 {
				if _, err := tx.ExecContext(ctx, "INSERT INTO gatehouse_sessions ("+sessionCols+") VALUES "+placeholders(len(sessions)/9, 9), sessions...); err != nil {
					tx.Rollback()
					return err
				}
			}
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	if _, err := db.ExecContext(ctx, "UPDATE gatehouse_user_count SET n = "+strconv.Itoa(n)+" WHERE id = 1"); err != nil {
		return err
	}
	return settle(ctx, db, d)
}

// settle leaves a freshly loaded database as a long-running one would be:
// the planner's statistics refreshed and, on PostgreSQL, the table vacuumed
// (so that autovacuum does not start on the new rows in the middle of a
// measurement, and index-only scans find the visibility map set).
func settle(ctx context.Context, db *sql.DB, d sqlstore.Dialect) error {
	stmt := "ANALYZE"
	if d == sqlstore.Postgres {
		stmt = "VACUUM ANALYZE"
	}
	_, err := db.ExecContext(ctx, stmt)
	return err
}

// instant is t as the dialect's schema stores an instant.
func instant(d sqlstore.Dialect, t time.Time) any {
	if d == sqlstore.SQLite {
		return t.UnixMicro()
	}
	return t
}

// valuesList returns the placeholders of a multi-row VALUES list.
func valuesList(d sqlstore.Dialect, rows, cols int) string {
	var sb strings.Builder
	p := 0
	for r := range rows {
		if r > 0 {
			sb.WriteString(", ")
		}
		sb.WriteByte('(')
		for c := range cols {
			if c > 0 {
				sb.WriteString(", ")
			}
			p++
			if d == sqlstore.Postgres {
				sb.WriteString("$" + strconv.Itoa(p))
			} else {
				sb.WriteByte('?')
			}
		}
		sb.WriteByte(')')
	}
	return sb.String()
}

// BenchmarkScale compares the Manager's lookups at 10,000 and 1,000,000
// users: by email, by ID, and a users-overview page near the end of the
// list (keyset After, with Total and session counts). The target is at
// most 1.5× the cost at 1,000,000 users; compare the users=10000 and
// users=1000000 lines with benchstat. It loads the databases once per run
// (minutes for a million users) and only when GATEHOUSE_BENCH_LARGE=1.
func BenchmarkScale(b *testing.B) {
	if os.Getenv(largeEnv) != "1" {
		b.Skipf("set %s=1 to load 1,000,000 users and run this benchmark", largeEnv)
	}
	for _, d := range []sqlstore.Dialect{sqlstore.SQLite, sqlstore.Postgres} {
		b.Run(d.String(), func(b *testing.B) {
			for _, n := range []int{10_000, 1_000_000} {
				b.Run(fmt.Sprintf("users=%d", n), func(b *testing.B) {
					s, err := sqlstore.New(large.get(b, d, n), d)
					if err != nil {
						b.Fatal(err)
					}
					benchLookups(b, s, n)
				})
			}
		})
	}
}

func benchLookups(b *testing.B, s *sqlstore.Store, n int) {
	ctx := b.Context()
	rng := rand.New(rand.NewPCG(1, 2))
	b.Run("UserByEmail", func(b *testing.B) {
		for b.Loop() {
			i := rng.IntN(n)
			u, err := s.UserByEmail(ctx, benchUser(i).Email)
			if err != nil || u.ID != benchUser(i).ID {
				b.Fatalf("UserByEmail(%d) = %v, %v", i, u, err)
			}
		}
	})
	b.Run("UserByID", func(b *testing.B) {
		for b.Loop() {
			i := rng.IntN(n)
			if _, err := s.UserByID(ctx, benchUser(i).ID); err != nil {
				b.Fatalf("UserByID(%d): %v", i, err)
			}
		}
	})
	b.Run("ListUsersDeep", func(b *testing.B) {
		// The page that starts 150 users before the end: keyset After
		// taken from the previous page, as a client paging through does.
		after := benchUser(n - 151).Email
		for b.Loop() {
			page, err := s.ListUsers(ctx, store.UserQuery{After: after, Limit: 100})
			if err != nil {
				b.Fatal(err)
			}
			if len(page.Users) != 100 || page.Total != n {
				b.Fatalf("page of %d users, Total %d; want 100, %d", len(page.Users), page.Total, n)
			}
		}
	})
}
