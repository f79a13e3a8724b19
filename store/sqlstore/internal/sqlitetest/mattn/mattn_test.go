package mattn_test

import (
	"database/sql"
	"errors"
	"testing"

	"github.com/mattn/go-sqlite3"

	"github.com/gatehouse-go/gatehouse/internal/skipnote"
	"github.com/gatehouse-go/gatehouse/store/sqlstore/internal/sqlitetest"
)

// dsnSettings are the settings the sqlstore package documentation
// recommends for this driver, which takes them as parameters of its own
// (it ignores modernc's _pragma).
const dsnSettings = "?_busy_timeout=10000&_journal_mode=WAL&_foreign_keys=1&_synchronous=NORMAL&_txlock=immediate"

var drv = sqlitetest.Driver{
	Open: func(path string) (*sql.DB, error) { return sql.Open("sqlite3", "file:"+path+dsnSettings) },
	OpenMemory: func() (*sql.DB, error) {
		return sql.Open("sqlite3", ":memory:?_foreign_keys=1")
	},
	OpenHooked: func(path string, onRollback func()) (*sql.DB, error) {
		d := &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
			c.RegisterRollbackHook(onRollback)
			return nil
		}}
		return sqlitetest.OpenDB(d, "file:"+path+"?_busy_timeout=0&_txlock=deferred"), nil
	},
}

// TestDriver runs the conformance suite and the driver checks on
// github.com/mattn/go-sqlite3, the driver of the report that a duplicate
// registration answered 500 (its UNIQUE constraint error was not
// recognised) and that a busy database was not retried.
func TestDriver(t *testing.T) {
	if !cgo {
		skipnote.Unavailable(t, "cgo", "build with CGO_ENABLED=1 and a C compiler (gcc) on the PATH",
			errors.New("github.com/mattn/go-sqlite3 needs cgo"))
	}
	sqlitetest.Run(t, drv)
}
