// Package sqlitetest runs package sqlstore against one database/sql driver
// for SQLite: the store conformance suite on a file database, and the
// checks that depend on the driver's errors and settings (the recommended
// DSN takes effect, an in-memory database works, a duplicate registration
// through the auth Manager is ErrEmailTaken, a busy database is retried,
// concurrent migrations succeed).
//
// It imports no driver. Each supported driver has a test-only package
// below this one (modernc, mattn, ncruces) that imports its driver and
// calls [Run] or some of its checks: github.com/mattn/go-sqlite3 and
// github.com/ncruces/go-sqlite3/driver both register themselves as
// "sqlite3", so they cannot share a test binary.
package sqlitetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/internal/testhash"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/sqlstore"
	"github.com/gatehouse-go/gatehouse/store/storetest"
)

// Driver tells Run how to open databases with one driver.
type Driver struct {
	// Open opens a file database at path with the settings the package
	// documentation of sqlstore recommends for this driver (WAL, a busy
	// timeout, foreign keys, immediate transactions).
	Open func(path string) (*sql.DB, error)
	// OpenMemory opens an in-memory database with foreign keys enforced.
	// Run limits its pool to one connection.
	OpenMemory func() (*sql.DB, error)
	// OpenHooked opens the file database at path with deferred
	// transactions and no busy timeout, so that a write that finds the
	// database locked fails at once with SQLITE_BUSY, and calls onRollback
	// (on the goroutine of the rollback) after every transaction that a
	// connection of the pool rolls back.
	OpenHooked func(path string, onRollback func()) (*sql.DB, error)
}

// Run runs every check against drv, each as a subtest.
func Run(t *testing.T, drv Driver) {
	t.Run("Conformance", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store { return newStore(t, openFile(t, drv)) })
	})
	t.Run("Settings", func(t *testing.T) { Settings(t, drv) })
	t.Run("Memory", func(t *testing.T) { Memory(t, drv) })
	t.Run("RegisterTwice", func(t *testing.T) { RegisterTwice(t, drv) })
	t.Run("BusyRetried", func(t *testing.T) { BusyRetried(t, drv) })
	t.Run("MigrateConcurrent", func(t *testing.T) { MigrateConcurrent(t, drv) })
}

// Settings: the DSN that the sqlstore documentation recommends for the
// driver (drv.Open) takes effect on every connection of the pool: a busy
// timeout of 10 s, WAL, foreign keys and synchronous=NORMAL. Each driver
// spells these differently, and one ignores another's spelling without a
// word.
func Settings(t *testing.T, drv Driver) {
	ctx := t.Context()
	db := openFile(t, drv)
	// Two connections at once, so that the check covers more than the
	// first one the pool opened.
	for i := range 2 {
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		for _, p := range []struct{ pragma, want string }{
			{"busy_timeout", "10000"},
			{"journal_mode", "wal"},
			{"foreign_keys", "1"},
			{"synchronous", "1"}, // NORMAL
		} {
			var got string
			if err := conn.QueryRowContext(ctx, "PRAGMA "+p.pragma).Scan(&got); err != nil {
				t.Fatalf("connection %d: PRAGMA %s: %v", i, p.pragma, err)
			}
			if got != p.want {
				t.Errorf("connection %d: PRAGMA %s = %s, want %s", i, p.pragma, got, p.want)
			}
		}
	}
}

// Memory: the store works on an in-memory database of the driver (as
// tests use it, one connection, with the DSN the sqlstore documentation
// gives, which turns foreign keys on), and a duplicate email is a
// conflict there too. The conformance suite runs on a file database only: the
// store's statements are the same, and the suite costs several seconds a
// driver (a minute under the race detector).
func Memory(t *testing.T, drv Driver) {
	ctx := t.Context()
	db := openMemory(t, drv)
	var fk int
	if err := db.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Errorf("PRAGMA foreign_keys = %d (%v), want 1", fk, err)
	}
	s := newStore(t, db)
	u := &store.User{ID: "d0000000-0000-4000-8000-000000000001", Email: "mem@example.com", IsActive: true, CreatedAt: time.Unix(1e9, 0)}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	dup := *u
	dup.ID = "d0000000-0000-4000-8000-000000000002"
	if err := s.CreateUser(ctx, &dup); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateUser with a taken email: err = %v, want store.ErrConflict", err)
	}
	got, err := s.UserByEmail(ctx, u.Email)
	if err != nil || got.ID != u.ID || !got.CreatedAt.Equal(u.CreatedAt) {
		t.Errorf("UserByEmail = %+v, %v; want the first user", got, err)
	}
}

// RegisterTwice registers one email twice through an auth.Manager over a
// file database and expects auth.ErrEmailTaken the second time, also for
// the address in other capitals: the driver's unique-constraint error is
// recognised as store.ErrConflict, not passed on as an internal error.
func RegisterTwice(t *testing.T, drv Driver) {
	ctx := t.Context()
	m := newManager(t, newStore(t, openFile(t, drv)))
	const password = "correct horse battery staple"
	if _, err := m.Register(ctx, auth.Registration{Email: "ada@example.com", Password: password}); err != nil {
		t.Fatalf("first Register: %v", err)
	}
	for _, email := range []string{"ada@example.com", "ADA@Example.com"} {
		if _, err := m.Register(ctx, auth.Registration{Email: email, Password: password}); !errors.Is(err, auth.ErrEmailTaken) {
			t.Errorf("Register(%q) again: err = %v, want auth.ErrEmailTaken", email, err)
		}
	}
	if _, err := m.Login(ctx, "ada@example.com", password); err != nil {
		t.Errorf("Login after the refused registrations: %v", err)
	}
}

// BusyRetried: a write that finds the database locked by another
// connection fails with SQLITE_BUSY (no busy timeout here), and the store
// runs its transaction again rather than returning the error. The lock is
// released while the first attempt rolls back, from inside the driver's
// rollback hook, so the retry finds the database free: no timing involved.
func BusyRetried(t *testing.T, drv Driver) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	db, err := drv.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	migrate(t, db)

	// Another connection holds the write lock.
	holder, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	if _, err := holder.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatalf("taking the write lock: %v", err)
	}

	var (
		once     sync.Once
		failed   = make(chan struct{}) // the first attempt is rolling back
		released = make(chan struct{}) // the lock is free again
	)
	hooked, err := drv.OpenHooked(path, func() {
		once.Do(func() {
			close(failed)
			<-released
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hooked.Close() })
	s := newStore(t, hooked)

	u := &store.User{ID: "b0000000-0000-4000-8000-000000000001", Email: "busy@example.com", IsActive: true, CreatedAt: time.Unix(1e9, 0)}
	done := make(chan error, 1)
	go func() { done <- s.CreateUser(ctx, u) }()
	select {
	case <-failed:
	case err := <-done:
		t.Fatalf("CreateUser returned (err = %v) while another connection held the write lock, without a rolled-back attempt", err)
	}
	if _, err := holder.ExecContext(ctx, "COMMIT"); err != nil {
		t.Fatalf("releasing the write lock: %v", err)
	}
	close(released)
	if err := <-done; err != nil {
		t.Fatalf("CreateUser after a busy attempt: %v, want the store to retry and succeed", err)
	}
	got, err := s.UserByEmail(ctx, u.Email)
	if err != nil || got.ID != u.ID {
		t.Errorf("UserByEmail = %v, %v; want the user created on retry", got, err)
	}
}

// MigrateConcurrent: processes starting together each call Migrate on a
// new file database (here four handles, each with a pool of its own);
// every call succeeds, a busy database being waited for or retried.
func MigrateConcurrent(t *testing.T, drv Driver) {
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	const n = 4
	dbs := make([]*sql.DB, n)
	for i := range dbs {
		db, err := drv.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		dbs[i] = db
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, db := range dbs {
		wg.Go(func() { errs[i] = sqlstore.Migrate(t.Context(), db, sqlstore.SQLite) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Migrate %d: %v", i, err)
		}
	}
	s := newStore(t, dbs[0])
	if err := s.CreateUser(t.Context(), &store.User{ID: "c0000000-0000-4000-8000-000000000001", Email: "m@example.com"}); err != nil {
		t.Errorf("CreateUser after the migrations: %v", err)
	}
}

// openFile returns a migrated file database in a temporary directory.
func openFile(tb testing.TB, drv Driver) *sql.DB {
	tb.Helper()
	db, err := drv.Open(filepath.Join(tb.TempDir(), "gatehouse.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	migrate(tb, db)
	return db
}

// openMemory returns a migrated in-memory database: every connection to
// :memory: is a database of its own, so the pool holds one.
func openMemory(tb testing.TB, drv Driver) *sql.DB {
	tb.Helper()
	db, err := drv.OpenMemory()
	if err != nil {
		tb.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	tb.Cleanup(func() { db.Close() })
	migrate(tb, db)
	return db
}

// migrate runs Migrate twice, proving it idempotent.
func migrate(tb testing.TB, db *sql.DB) {
	tb.Helper()
	for i := range 2 {
		if err := sqlstore.Migrate(context.Background(), db, sqlstore.SQLite); err != nil {
			tb.Fatalf("Migrate (run %d): %v", i+1, err)
		}
	}
}

func newStore(tb testing.TB, db *sql.DB) *sqlstore.Store {
	tb.Helper()
	s, err := sqlstore.New(db, sqlstore.SQLite)
	if err != nil {
		tb.Fatalf("sqlstore.New: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// newManager returns a Manager over s with the fast test hasher.
func newManager(tb testing.TB, s store.Store) *auth.Manager {
	tb.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		tb.Fatal(err)
	}
	m, err := auth.New(auth.Config{
		Store:    s,
		Mailer:   mail.NewCapture(),
		Tokens:   auth.TokenConfig{SigningKey: key},
		Password: auth.PasswordConfig{Hasher: testhash.Fast{}, LegacyHashers: []auth.Hasher{}},
	})
	if err != nil {
		tb.Fatalf("auth.New: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := m.Flush(ctx); err != nil {
			tb.Errorf("Flush: %v", err)
		}
	})
	return m
}

// OpenDB returns a *sql.DB whose connections drv opens with dsn, for
// drivers that offer no connector of their own: db.Driver() is drv, as
// with sql.Open, but nothing is registered globally.
func OpenDB(drv driver.Driver, dsn string) *sql.DB {
	return sql.OpenDB(connector{drv, dsn})
}

type connector struct {
	drv driver.Driver
	dsn string
}

func (c connector) Connect(ctx context.Context) (driver.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return c.drv.Open(c.dsn)
}

func (c connector) Driver() driver.Driver { return c.drv }
