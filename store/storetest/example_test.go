package storetest_test

import (
	"testing"

	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/memstore"
	"github.com/gatehouse-go/gatehouse/store/storetest"
)

// conformance is the whole test a third-party store adds to its own
// package, named TestConformance there so that go test runs it. Here
// memstore stands in for the third-party store.
func conformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		// A fresh, empty store for every subtest. A SQL store would create
		// a schema here and drop it in a t.Cleanup.
		return memstore.New()
	})
}

// A store proves that it fulfils the contract of package store by passing
// the suite: one call to Run, from a test of its own package, with a
// function that returns a fresh, empty store (conformance above). Each
// clause of the contract is a subtest, so a failure names the clause, e.g.
// TestConformance/CounterBatch/Concurrent/LimitOfFive; optional interfaces
// the store lacks are skipped. The example needs a test's *testing.T, so it
// is compiled, not run; TestExampleRun runs it.
func ExampleRun() {
	// With the test above in the store's package:
	//
	//	go test -race -run TestConformance ./mystore
}
