// Package ncruces runs the store conformance suite and the SQLite driver
// checks of package sqlitetest with github.com/ncruces/go-sqlite3/driver,
// SQLite compiled to WebAssembly and translated to Go (no cgo). It holds
// only tests.
package ncruces
