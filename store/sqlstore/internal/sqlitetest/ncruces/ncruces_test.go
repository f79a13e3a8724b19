package ncruces_test

import (
	"database/sql"
	"testing"

	"github.com/ncruces/go-sqlite3"
	"github.com/ncruces/go-sqlite3/driver"

	"github.com/gatehouse-go/gatehouse/store/sqlstore/internal/sqlitetest"
)

// dsnSettings are the settings the sqlstore package documentation
// recommends for this driver, whose _pragma parameters are modernc's. (It
// sets a busy timeout of a minute by itself only when the DSN has no
// _pragma at all, and starts transactions IMMEDIATE by default.)
const dsnSettings = "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"

var drv = sqlitetest.Driver{
	Open: func(path string) (*sql.DB, error) { return sql.Open("sqlite3", "file:"+path+dsnSettings) },
	OpenMemory: func() (*sql.DB, error) {
		return sql.Open("sqlite3", "file::memory:?_pragma=foreign_keys(1)")
	},
	OpenHooked: func(path string, onRollback func()) (*sql.DB, error) {
		return driver.Open("file:"+path+"?_pragma=busy_timeout(0)&_txlock=deferred", func(c *sqlite3.Conn) error {
			c.RollbackHook(onRollback)
			return nil
		})
	},
}

// TestDriver runs the conformance suite and the driver checks on
// github.com/ncruces/go-sqlite3.
func TestDriver(t *testing.T) {
	sqlitetest.Run(t, drv)
}
