package storetest_test

import (
	"testing"

	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/memstore"
	"github.com/gatehouse-go/gatehouse/store/storetest"
)

// TestRunCounters runs the counter-only suite on memstore, which passes
// the full suite, so that RunCounters is known to run the cases (and the
// DeleteExpired ones for a store with store.Expirer).
func TestRunCounters(t *testing.T) {
	storetest.RunCounters(t, func(t *testing.T) store.Counters { return memstore.New() })
}
