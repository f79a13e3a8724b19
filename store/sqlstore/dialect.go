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
	// SQLite is SQLite 3.35 or later, for example through the pure-Go
	// driver modernc.org/sqlite. Times are stored as INTEGER Unix
	// microseconds.
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
//   - modernc.org/sqlite's *sqlite.Error has a Code() int method giving the
//     extended result code;
//   - go-sql-driver/mysql's *MySQLError has a Number uint16 field, read by
//     reflection (it has no method to call).
type (
	sqlStater interface{ SQLState() string }
	coder     interface{ Code() int }
)

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
	var c coder
	if errors.As(err, &c) {
		code := c.Code()
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

// mysqlNumber finds a MySQL server error in err's chain: a struct (or
// pointer to one) named MySQLError with an unsigned Number field.
func mysqlNumber(err error) (uint16, bool) {
	for err != nil {
		v := reflect.ValueOf(err)
		if v.Kind() == reflect.Pointer && !v.IsNil() {
			v = v.Elem()
		}
		if v.Kind() == reflect.Struct && v.Type().Name() == "MySQLError" {
			if f := v.FieldByName("Number"); f.IsValid() && f.Kind() == reflect.Uint16 {
				return uint16(f.Uint()), true
			}
		}
		err = errors.Unwrap(err)
	}
	return 0, false
}
