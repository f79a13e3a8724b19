package sqlstore

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"reflect"
)

// ErrUnsupportedDriver is returned by [New] and [Migrate] for a *sql.DB
// whose driver the store cannot work with for the dialect: on [SQLite],
// one whose errors it would not recognise (a duplicate email would then be
// an internal error instead of [store.ErrConflict], and a busy database
// would not be retried). The error that wraps it names the supported
// drivers and the one found.
var ErrUnsupportedDriver = errors.New("unsupported database/sql driver")

// The import paths of the packages that define the SQLite drivers' types,
// as reported by db.Driver(), whose errors the store recognises; and of
// the package of ncruces's error types (mattn's are in its driver's
// package).
const (
	moderncDriver = "modernc.org/sqlite"
	mattnDriver   = "github.com/mattn/go-sqlite3"
	ncrucesDriver = "github.com/ncruces/go-sqlite3/driver"
	ncrucesErrors = "github.com/ncruces/go-sqlite3"
)

// checkDriver returns an error wrapping [ErrUnsupportedDriver] unless the
// store recognises the errors of db's driver for dialect d. It does no I/O.
//
// On SQLite the driver is told by the import path of the package that
// defines its type (db.Driver(), which for a database opened through a
// driver.Connector is the connector's Driver()): a stable fact of each
// driver, unlike the name it is registered under, which users may change
// (both mattn's and ncruces's drivers register as "sqlite3"). A driver
// wrapped by instrumentation that reports its own type is refused: the
// store cannot know that its errors are the wrapped driver's.
//
// PostgreSQL and MySQL are not checked: their errors are recognised by
// the SQLSTATE method and the MySQLError type of the drivers in use (see
// classify).
func checkDriver(db *sql.DB, d Dialect) error {
	if d != SQLite {
		return nil
	}
	switch pkg := driverPackage(db.Driver()); pkg {
	case moderncDriver, mattnDriver, ncrucesDriver:
		return nil
	default:
		return fmt.Errorf("sqlstore: %w %T (package %q) for SQLite: use modernc.org/sqlite, github.com/mattn/go-sqlite3 or github.com/ncruces/go-sqlite3/driver, whose errors the store recognises",
			ErrUnsupportedDriver, db.Driver(), pkg)
	}
}

// driverPackage returns the import path of the package that defines drv's
// type (of the type pointed to, for a pointer).
func driverPackage(drv driver.Driver) string {
	t := reflect.TypeOf(drv)
	if t == nil {
		return ""
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.PkgPath()
}
