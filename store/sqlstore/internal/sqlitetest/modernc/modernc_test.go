package modernc_test

import (
	"database/sql"
	"testing"

	"modernc.org/sqlite"

	"github.com/gatehouse-go/gatehouse/store/sqlstore/internal/sqlitetest"
)

// dsnSettings are the settings the sqlstore package documentation
// recommends for this driver.
const dsnSettings = "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"

var drv = sqlitetest.Driver{
	Open: func(path string) (*sql.DB, error) { return sql.Open("sqlite", "file:"+path+dsnSettings) },
	OpenMemory: func() (*sql.DB, error) {
		return sql.Open("sqlite", ":memory:?_pragma=foreign_keys(1)")
	},
	OpenHooked: func(path string, onRollback func()) (*sql.DB, error) {
		d := &sqlite.Driver{}
		d.RegisterConnectionHook(func(c sqlite.ExecQuerierContext, _ string) error {
			c.(sqlite.HookRegisterer).RegisterRollbackHook(onRollback)
			return nil
		})
		return sqlitetest.OpenDB(d, "file:"+path+"?_pragma=busy_timeout(0)&_txlock=deferred"), nil
	},
}

// TestDriver runs the checks that depend on the driver and on the DSN
// that the documentation recommends for it; package sqlstore's own tests
// run the conformance suite and the rest on this driver.
func TestDriver(t *testing.T) {
	t.Run("Settings", func(t *testing.T) { sqlitetest.Settings(t, drv) })
	t.Run("Memory", func(t *testing.T) { sqlitetest.Memory(t, drv) })
	t.Run("RegisterTwice", func(t *testing.T) { sqlitetest.RegisterTwice(t, drv) })
	t.Run("BusyRetried", func(t *testing.T) { sqlitetest.BusyRetried(t, drv) })
}
