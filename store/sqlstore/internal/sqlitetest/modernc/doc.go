// Package modernc runs the SQLite driver checks of package sqlitetest with
// the pure-Go driver modernc.org/sqlite. It holds only tests; the store
// conformance suite on this driver already runs in package sqlstore.
package modernc
