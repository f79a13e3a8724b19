package sqlstore_test

import (
	"testing"

	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/storetest"
)

// TestConformance runs the store contract's suite on every dialect, each
// leaf subtest on a fresh database (SQLite) or a fresh schema or database
// of its own (PostgreSQL, MySQL), migrated twice.
//
// SECURITY.md #76: the SQL store passes the shared contract suite.
func TestConformance(t *testing.T) {
	for _, tdb := range dialects() {
		t.Run(tdb.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) store.Store {
				return newStore(t, tdb.open(t), tdb.dialect)
			})
		})
	}
}
