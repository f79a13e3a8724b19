package sqlstore_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gatehouse-go/gatehouse/store/sqlstore"
)

// fakeDriver is a database/sql driver the store does not know, standing
// for any SQLite driver other than the three supported. It counts the
// connections asked of it, and has none to give.
type fakeDriver struct{ opens atomic.Int32 }

func (d *fakeDriver) Open(string) (driver.Conn, error) {
	d.opens.Add(1)
	return nil, errors.New("fakeDriver: no connections")
}

type fakeConnector struct{ d *fakeDriver }

func (c fakeConnector) Connect(context.Context) (driver.Conn, error) { return c.d.Open("") }
func (c fakeConnector) Driver() driver.Driver                        { return c.d }

// TestUnsupportedSQLiteDriver: on SQLite, New and Migrate refuse a *sql.DB
// whose driver's errors the store would not recognise, at once and
// without opening a connection, with an error that names the driver found
// and the supported ones, rather than failing later with an unexplained
// error for a duplicate email or a busy database.
func TestUnsupportedSQLiteDriver(t *testing.T) {
	fake := &fakeDriver{}
	db := sql.OpenDB(fakeConnector{fake})
	t.Cleanup(func() { db.Close() })
	check := func(t *testing.T, err error) {
		t.Helper()
		if !errors.Is(err, sqlstore.ErrUnsupportedDriver) {
			t.Fatalf("err = %v, want ErrUnsupportedDriver", err)
		}
		for _, want := range []string{"*sqlstore_test.fakeDriver", "modernc.org/sqlite", "github.com/mattn/go-sqlite3", "github.com/ncruces/go-sqlite3/driver"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("err = %q, does not name %s", err, want)
			}
		}
	}
	t.Run("New", func(t *testing.T) {
		s, err := sqlstore.New(db, sqlstore.SQLite)
		if s != nil {
			t.Error("New returned a Store")
		}
		check(t, err)
	})
	t.Run("Migrate", func(t *testing.T) {
		check(t, sqlstore.Migrate(t.Context(), db, sqlstore.SQLite))
	})
	if n := fake.opens.Load(); n != 0 {
		t.Errorf("the driver was asked for %d connections, want none", n)
	}
}

// TestSupportedSQLiteDriver: modernc.org/sqlite is accepted, whether the
// *sql.DB comes from sql.Open or from a connector that wraps the driver's
// (db.Driver() is then the connector's Driver()).
func TestSupportedSQLiteDriver(t *testing.T) {
	db := emptySQLiteMemory(t)
	if _, err := sqlstore.New(db, sqlstore.SQLite); err != nil {
		t.Errorf("New over sql.Open(\"sqlite\", …): %v", err)
	}
	wrapped := sql.OpenDB(wrapConnector{db.Driver()})
	t.Cleanup(func() { wrapped.Close() })
	if _, err := sqlstore.New(wrapped, sqlstore.SQLite); err != nil {
		t.Errorf("New over a connector reporting modernc's driver: %v", err)
	}
}

// wrapConnector is a connector of the application's (tracing, say) that
// reports the driver it delegates to.
type wrapConnector struct{ d driver.Driver }

func (c wrapConnector) Connect(context.Context) (driver.Conn, error) {
	return c.d.Open(":memory:")
}
func (c wrapConnector) Driver() driver.Driver { return c.d }
