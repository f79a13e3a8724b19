package sqlstore

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// Stand-ins for the drivers' error types, which this package must
// recognise without importing them.
type (
	pgError     struct{ code string }
	sqliteError struct{ code int }
	// MySQLError has the shape of go-sql-driver/mysql's.
	MySQLError struct {
		Number   uint16
		SQLState [5]byte
		Message  string
	}
)

// Stand-ins for the shapes of the other SQLite drivers' errors:
// mattn/go-sqlite3's Error is a struct value with Code and ExtendedCode
// fields; ncruces/go-sqlite3's *Error has an ExtendedCode method whose
// result is a type of its own. (Their bare integer code types are
// recognised by package path, which only the drivers' own tests, in
// internal/sqlitetest, can exercise.)
type (
	mattnErrNo    int
	mattnErrNoExt int
	mattnError    struct {
		Code         mattnErrNo
		ExtendedCode mattnErrNoExt
		err          string
	}
	ncrucesCode  uint16
	ncrucesError struct{ code ncrucesCode }
	// embedsNilPointer promotes a Code field through an embedded pointer,
	// which sqliteCode must not follow when it is nil.
	embedsNilPointer struct {
		*mattnError
		ExtendedCode int
	}
)

func (e mattnError) Error() string                { return e.err }
func (e *ncrucesError) Error() string             { return fmt.Sprint("ncruces ", e.code) }
func (e *ncrucesError) ExtendedCode() ncrucesCode { return e.code }
func (e embedsNilPointer) Error() string          { return "embeds" }

func (e *pgError) Error() string     { return "pg " + e.code }
func (e *pgError) SQLState() string  { return e.code }
func (e *sqliteError) Error() string { return fmt.Sprint("sqlite ", e.code) }
func (e *sqliteError) Code() int     { return e.code }
func (e *MySQLError) Error() string  { return fmt.Sprint("mysql ", e.Number) }

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want errClass
	}{
		{"Nil", nil, errOther},
		{"Plain", errors.New("boom"), errOther},
		{"PostgresUnique", &pgError{"23505"}, errUnique},
		{"PostgresForeignKey", &pgError{"23503"}, errForeign},
		{"PostgresDeadlock", &pgError{"40P01"}, errRetryable},
		{"PostgresSerialization", &pgError{"40001"}, errRetryable},
		{"PostgresOther", &pgError{"42P01"}, errOther},
		{"SQLiteUnique", &sqliteError{2067}, errUnique},
		{"SQLitePrimaryKey", &sqliteError{1555}, errUnique},
		{"SQLiteForeignKey", &sqliteError{787}, errForeign},
		{"SQLiteBusy", &sqliteError{5}, errRetryable},
		{"SQLiteBusySnapshot", &sqliteError{517}, errRetryable},
		{"SQLiteLocked", &sqliteError{6}, errRetryable},
		{"SQLiteNotNull", &sqliteError{1299}, errOther},
		{"MySQLDuplicate", &MySQLError{Number: 1062}, errUnique},
		{"MySQLDuplicateKeyName", &MySQLError{Number: 1586}, errUnique},
		{"MySQLNoReferencedRow", &MySQLError{Number: 1452}, errForeign},
		{"MySQLDeadlock", &MySQLError{Number: 1213}, errRetryable},
		{"MySQLOther", &MySQLError{Number: 1146}, errOther},
		{"MattnUnique", mattnError{Code: 19, ExtendedCode: 2067}, errUnique},
		{"MattnPrimaryKey", mattnError{Code: 19, ExtendedCode: 1555}, errUnique},
		{"MattnForeignKey", mattnError{Code: 19, ExtendedCode: 787}, errForeign},
		{"MattnBusy", mattnError{Code: 5, ExtendedCode: 5}, errRetryable},
		{"MattnBusyNoExtended", mattnError{Code: 5}, errRetryable},
		{"MattnLocked", mattnError{Code: 6, ExtendedCode: 262}, errRetryable},
		{"MattnNotNull", mattnError{Code: 19, ExtendedCode: 1299}, errOther},
		{"MattnPointer", &mattnError{Code: 19, ExtendedCode: 2067}, errUnique},
		{"NcrucesUnique", &ncrucesError{2067}, errUnique},
		{"NcrucesForeignKey", &ncrucesError{787}, errForeign},
		{"NcrucesBusySnapshot", &ncrucesError{517}, errRetryable},
		{"NcrucesOther", &ncrucesError{1}, errOther},
		{"NilPointer", (*ncrucesError)(nil), errOther},
		{"EmbeddedNilPointer", embedsNilPointer{ExtendedCode: 2067}, errOther},
		{"Joined", errors.Join(errors.New("rollback"), fmt.Errorf("insert: %w", mattnError{Code: 19, ExtendedCode: 2067})), errUnique},
		{"WrappedNcruces", fmt.Errorf("insert: %w", &ncrucesError{5}), errRetryable},
		{"Wrapped", fmt.Errorf("insert: %w", &pgError{"23505"}), errUnique},
		{"WrappedMySQL", fmt.Errorf("insert: %w", &MySQLError{Number: 1062}), errUnique},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := classify(tc.err); got != tc.want {
				t.Errorf("classify(%v) = %d, want %d", tc.err, got, tc.want)
			}
		})
	}
}

func TestRebind(t *testing.T) {
	const q = "SELECT a FROM t WHERE b = ? AND c IN (?, ?)"
	tests := []struct {
		d    Dialect
		want string
	}{
		{SQLite, q},
		{MySQL, q},
		{Postgres, "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)"},
	}
	for _, tc := range tests {
		t.Run(tc.d.String(), func(t *testing.T) {
			if got := tc.d.rebind(q); got != tc.want {
				t.Errorf("rebind = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestQueriesHaveNoMarkers: every query is fully rewritten for its dialect.
func TestQueriesHaveNoMarkers(t *testing.T) {
	for _, d := range []Dialect{SQLite, Postgres, MySQL} {
		for i, q := range queries(d) {
			_, special := dialectTemplates[d][qid(i)]
			missing := templates[i] == "" && !special
			switch {
			case qid(i) >= qLockUserCommitOff && qid(i) <= qRotateLockJoinCommitOff:
				// The versions of commitOffQID: PostgreSQL's only.
				missing = d != Postgres
			case qid(i) >= qRowsBatch:
				// AppendRuns' multi-row INSERTs: PostgreSQL takes a
				// batch as arrays instead.
				missing = d == Postgres
			case qid(i) >= qCounterBatch:
				off := i - int(qCounterBatch)
				k, n := batchKind(off/preparedBatch), off%preparedBatch+1
				if batchQID(k, n) != qid(i) {
					t.Fatalf("batchQID(%d, %d) = %d, want %d", k, n, batchQID(k, n), i)
				}
				missing = batchTemplate(d, k, n) == ""
			}
			if (q == "") != missing {
				t.Errorf("%v: query %d is %q", d, i, q)
			}
			if strings.ContainsAny(q, "{}") {
				t.Errorf("%v: query %d keeps a marker: %s", d, i, q)
			}
			if d == Postgres && strings.Contains(q, "?") {
				t.Errorf("postgres: query %d keeps a ? placeholder: %s", i, q)
			}
		}
	}
}

func TestStatements(t *testing.T) {
	body := "-- a comment;\nCREATE TABLE a (\n\tx INT -- not the end;\n);\n\n-- between\nINSERT INTO a VALUES (1);\n-- trailing comment\n"
	got := statements(body)
	want := []string{"-- a comment;\nCREATE TABLE a (\n\tx INT -- not the end;\n);", "-- between\nINSERT INTO a VALUES (1);"}
	if !slices.Equal(got, want) {
		t.Errorf("statements = %q, want %q", got, want)
	}
}

// TestTimeCol: every representation a driver may hand back scans to the
// same UTC instant; NULL is the zero time.
func TestTimeCol(t *testing.T) {
	want := time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)
	elsewhere := time.FixedZone("X", 3*3600)
	tests := []struct {
		name string
		d    Dialect
		v    any
		want time.Time
	}{
		{"SQLiteMicros", SQLite, want.UnixMicro(), want},
		{"PostgresTime", Postgres, want.In(elsewhere), want},
		{"MySQLParseTimeUTC", MySQL, want, want},
		// parseTime=true&loc=Local: the UTC wall clock read in another zone.
		{"MySQLParseTimeOtherLoc", MySQL, time.Date(2026, 1, 2, 3, 4, 5, 123456000, elsewhere), want},
		{"MySQLBytes", MySQL, []byte("2026-01-02 03:04:05.123456"), want},
		{"MySQLString", MySQL, "2026-01-02 03:04:05.123456", want},
		{"Null", Postgres, nil, time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := time.Now()
			if err := (timeCol{tc.d, &got}).Scan(tc.v); err != nil {
				t.Fatalf("Scan: %v", err)
			}
			if !got.Equal(tc.want) || got.Location() != time.UTC {
				t.Errorf("Scan(%v) = %v, want %v in UTC", tc.v, got, tc.want)
			}
		})
	}
	var got time.Time
	if err := (timeCol{MySQL, &got}).Scan(3.5); err == nil {
		t.Error("Scan(float64) succeeded, want an error")
	}
}

// TestInstant: times are stored in UTC, truncated to microseconds; zero is
// NULL where a column allows it.
func TestInstant(t *testing.T) {
	in := time.Date(2026, 1, 2, 8, 4, 5, 123456789, time.FixedZone("X", 5*3600))
	if got, want := SQLite.instant(in), in.UnixMicro(); got != want {
		t.Errorf("SQLite.instant = %v, want %v", got, want)
	}
	if got, want := MySQL.instant(in), "2026-01-02 03:04:05.123456"; got != want {
		t.Errorf("MySQL.instant = %v, want %v", got, want)
	}
	if got := Postgres.instant(in).(time.Time); !got.Equal(in.Truncate(time.Microsecond)) || got.Location() != time.UTC {
		t.Errorf("Postgres.instant = %v", got)
	}
	for _, d := range []Dialect{SQLite, Postgres, MySQL} {
		if got := d.nullable(time.Time{}); got != nil {
			t.Errorf("%v.nullable(zero) = %v, want nil", d, got)
		}
	}
}

func TestJitter(t *testing.T) {
	const limit = 4 * time.Millisecond
	seen := make(map[time.Duration]bool)
	for range 1000 {
		d := jitter(limit)
		if d < 0 || d >= limit {
			t.Fatalf("jitter(%v) = %v, out of [0, %v)", limit, d, limit)
		}
		seen[d] = true
	}
	if len(seen) < 100 {
		t.Errorf("1000 jitters gave only %d distinct values", len(seen))
	}
}
