package sqlstore

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Dialect names the SQL database behind a *sql.DB: [SQLite], [Postgres] or
// [MySQL]. It decides the placeholder style, the row-locking clauses, how
// times are stored and how driver errors are recognised. The zero Dialect
// is invalid.
type Dialect int

// The supported dialects.
const (
	// SQLite is SQLite 3.35 or later, through the driver
	// modernc.org/sqlite (pure Go), github.com/mattn/go-sqlite3 (cgo) or
	// github.com/ncruces/go-sqlite3/driver (no cgo); [New] and [Migrate]
	// refuse any other. Times are stored as INTEGER Unix microseconds.
	SQLite Dialect = iota + 1
	// Postgres is PostgreSQL 12 or later, for example through
	// github.com/jackc/pgx/v5/stdlib. Times are stored as timestamptz.
	Postgres
	// MySQL is MySQL 8 or MariaDB 10.5 or later, for example through
	// github.com/go-sql-driver/mysql. Times are stored as DATETIME(6) in
	// UTC.
	MySQL
)

// String returns the dialect's name: "sqlite", "postgres" or "mysql", which
// is also the name of its directory of migrations.
func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case Postgres:
		return "postgres"
	case MySQL:
		return "mysql"
	}
	return "Dialect(" + strconv.Itoa(int(d)) + ")"
}

func (d Dialect) valid() bool { return d == SQLite || d == Postgres || d == MySQL }

// errDialect is returned for a Dialect that is none of the constants.
func errDialect(d Dialect) error { return fmt.Errorf("sqlstore: unknown dialect %v", d) }

// rebind turns the ? placeholders of q into the dialect's style. The
// queries of this package never contain a literal question mark.
func (d Dialect) rebind(q string) string {
	if d != Postgres {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// forUpdate is the clause that write-locks the rows a SELECT returns.
// SQLite locks the whole database for a write transaction instead (see
// qWriteLock).
func (d Dialect) forUpdate() string {
	if d == SQLite {
		return ""
	}
	return " FOR UPDATE"
}

// mysqlTimeLayout is how times are sent to and read from DATETIME(6)
// columns.
const mysqlTimeLayout = "2006-01-02 15:04:05.000000"

// instant returns the value to store for t, which must be set: Unix
// microseconds on SQLite, a UTC time on PostgreSQL, a UTC DATETIME literal
// on MySQL (a string, so that the driver's loc setting cannot shift it).
// Times are truncated to microseconds on every dialect.
func (d Dialect) instant(t time.Time) any {
	t = t.UTC().Truncate(time.Microsecond)
	switch d {
	case SQLite:
		return t.UnixMicro()
	case MySQL:
		return t.Format(mysqlTimeLayout)
	}
	return t
}

// nullable is instant for a time that may be zero, which is stored as
// NULL.
func (d Dialect) nullable(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return d.instant(t)
}

// timeCol scans a time column written by instant or nullable into t, in
// UTC; NULL scans as the zero time.
type timeCol struct {
	d Dialect
	t *time.Time
}

func (c timeCol) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*c.t = time.Time{}
	case int64:
		*c.t = time.UnixMicro(v).UTC()
	case time.Time:
		if c.d == MySQL {
			// The driver (parseTime=true) read the stored UTC wall clock
			// in its own location: keep the wall clock, take UTC.
			y, mo, day := v.Date()
			h, mi, s := v.Clock()
			*c.t = time.Date(y, mo, day, h, mi, s, v.Nanosecond(), time.UTC)
		} else {
			*c.t = v.UTC()
		}
	case []byte:
		return c.parse(string(v))
	case string:
		return c.parse(v)
	default:
		return fmt.Errorf("sqlstore: cannot scan %T into a time", v)
	}
	return nil
}

func (c timeCol) parse(s string) error {
	t, err := time.ParseInLocation("2006-01-02 15:04:05.999999", s, time.UTC)
	if err != nil {
		return fmt.Errorf("sqlstore: scanning a time: %w", err)
	}
	*c.t = t
	return nil
}

// Driver error classification. The package imports no driver, so it
// recognises their errors by shape:
//
//   - pgx's *pgconn.PgError has a SQLState() string method;
//   - go-sql-driver/mysql's *MySQLError has a Number uint16 field, read by
//     reflection (it has no method to call);
//   - SQLite's extended result code comes, depending on the driver, from
//     modernc.org/sqlite's Code() int method, from the ExtendedCode field
//     of github.com/mattn/go-sqlite3's Error struct, or from the
//     ExtendedCode() method of github.com/ncruces/go-sqlite3's *Error (or
//     the bare code it sometimes returns instead), all read by reflection
//     but modernc's (see sqliteCode).
//
// Which SQLite driver a *sql.DB uses is checked once, by [New] and
// [Migrate] (see checkDriver), so that a driver whose errors would not be
// recognised is refused up front rather than turning a duplicate email into
// an unexplained failure later.
type sqlStater interface{ SQLState() string }

// errClass is what a driver error means to the store.
type errClass int

const (
	errOther     errClass = iota
	errUnique             // a unique or primary-key constraint was violated
	errForeign            // a foreign-key constraint was violated
	errRetryable          // a deadlock, serialization failure or busy database: run the transaction again
)

// classify tells what err, a driver error possibly wrapped, means.
func classify(err error) errClass {
	if err == nil {
		return errOther
	}
	if errors.Is(err, errCounterRace) {
		return errRetryable
	}
	var ss sqlStater
	if errors.As(err, &ss) {
		switch ss.SQLState() {
		case "23505":
			return errUnique
		case "23503":
			return errForeign
		case "40001", "40P01":
			return errRetryable
		}
		return errOther
	}
	if code, ok := sqliteCode(err); ok {
		switch code {
		case 2067, 1555: // SQLITE_CONSTRAINT_UNIQUE, SQLITE_CONSTRAINT_PRIMARYKEY
			return errUnique
		case 787: // SQLITE_CONSTRAINT_FOREIGNKEY
			return errForeign
		}
		switch code & 0xff {
		case 5, 6: // SQLITE_BUSY, SQLITE_LOCKED and their extended codes
			return errRetryable
		}
		return errOther
	}
	if n, ok := mysqlNumber(err); ok {
		switch n {
		case 1062, 1586: // ER_DUP_ENTRY, ER_DUP_ENTRY_WITH_KEY_NAME
			return errUnique
		case 1451, 1452: // ER_ROW_IS_REFERENCED_2, ER_NO_REFERENCED_ROW_2
			return errForeign
		case 1213: // ER_LOCK_DEADLOCK
			return errRetryable
		}
	}
	return errOther
}

// chain calls f on err and on every error it wraps, depth first, through
// both forms of Unwrap, until f returns true.
func chain(err error, f func(error) bool) bool {
	for err != nil {
		if f(err) {
			return true
		}
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if chain(e, f) {
					return true
				}
			}
			return false
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		default:
			return false
		}
	}
	return false
}

// sqliteCode finds a SQLite result code in err's chain, the extended one
// where the driver gives it. It recognises, in each error of the chain:
//
//   - a Code() int method: modernc.org/sqlite's *Error, whose Code is the
//     extended code;
//   - an ExtendedCode() method without arguments returning an integer of
//     any type: github.com/ncruces/go-sqlite3's *Error and ErrorCode,
//     called by reflection because the result's type belongs to the
//     driver;
//   - a value of an integer type defined in github.com/ncruces/go-sqlite3
//     or github.com/mattn/go-sqlite3, which is the code itself: ncruces's
//     driver returns a bare ExtendedErrorCode for SQLITE_BUSY, and mattn
//     has ErrNo and ErrNoExtended;
//   - a struct, or a pointer to one, with integer fields Code and
//     ExtendedCode: github.com/mattn/go-sqlite3's Error, a value type with
//     no method other than Error; ExtendedCode is used, or Code when the
//     extended code is not set.
func sqliteCode(err error) (code int, ok bool) {
	chain(err, func(e error) bool {
		code, ok = sqliteCodeOf(e)
		return ok
	})
	return code, ok
}

// sqliteCodeOf is sqliteCode for e alone, not the errors it wraps.
func sqliteCodeOf(e error) (int, bool) {
	if c, ok := e.(interface{ Code() int }); ok {
		return c.Code(), true
	}
	v := reflect.ValueOf(e)
	if v.Kind() == reflect.Pointer && v.IsNil() {
		return 0, false
	}
	if m := v.MethodByName("ExtendedCode"); m.IsValid() {
		if t := m.Type(); t.NumIn() == 0 && t.NumOut() == 1 && isInteger(t.Out(0).Kind()) {
			return integer(m.Call(nil)[0]), true
		}
	}
	if t := v.Type(); isInteger(t.Kind()) && (t.PkgPath() == ncrucesErrors || t.PkgPath() == mattnDriver) {
		return integer(v), true
	}
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if v.Kind() == reflect.Struct {
		primary, extended := directField(v, "Code"), directField(v, "ExtendedCode")
		if primary.IsValid() && extended.IsValid() && isInteger(primary.Kind()) && isInteger(extended.Kind()) {
			if code := integer(extended); code != 0 {
				return code, true
			}
			return integer(primary), true
		}
	}
	return 0, false
}

func isInteger(k reflect.Kind) bool {
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}

// integer returns the value of v, of an integer kind, as an int.
func integer(v reflect.Value) int {
	if v.CanInt() {
		return int(v.Int())
	}
	return int(v.Uint())
}

// directField returns the field of struct value v with that name, declared
// by v's type itself (not promoted from an embedded struct, which may sit
// behind a nil pointer), or the zero Value.
func directField(v reflect.Value, name string) reflect.Value {
	f, ok := v.Type().FieldByName(name)
	if !ok || len(f.Index) != 1 {
		return reflect.Value{}
	}
	return v.Field(f.Index[0])
}

// mysqlNumber finds a MySQL server error in err's chain: a struct (or
// pointer to one) named MySQLError with an unsigned Number field.
func mysqlNumber(err error) (n uint16, ok bool) {
	chain(err, func(e error) bool {
		v := reflect.ValueOf(e)
		if v.Kind() == reflect.Pointer && !v.IsNil() {
			v = v.Elem()
		}
		if v.Kind() == reflect.Struct && v.Type().Name() == "MySQLError" {
			if f := directField(v, "Number"); f.IsValid() && f.Kind() == reflect.Uint16 {
				n, ok = uint16(f.Uint()), true
				return true
			}
		}
		return false
	})
	return n, ok
}
