// Package mattn runs the store conformance suite and the SQLite driver
// checks of package sqlitetest with the cgo driver
// github.com/mattn/go-sqlite3. It holds only tests, which need cgo (a C
// compiler and CGO_ENABLED=1): without it they are skipped, except under
// CI=true, where they fail.
//
// The driver compiles SQLite's amalgamation with the C compiler, which
// takes about a minute the first time; the build cache keeps it after
// that.
package mattn
