package storetest

import (
	"testing"

	"github.com/gatehouse-go/gatehouse/store"
)

// RunCounters runs the Counters subtests of the suite, and the
// CounterBatch ones when the value implements [store.CounterBatch],
// against a store that keeps counters only (a Redis store, say) and so
// cannot be a [store.Store]. newCounters is called once per leaf subtest
// and must return fresh, empty counters. The subtests that need
// [store.Expirer] (DeleteExpired) run when the value implements it and
// are skipped otherwise.
func RunCounters(t *testing.T, newCounters func(t *testing.T) store.Counters) {
	t.Helper()
	r := runner{newStore: func(t *testing.T) store.Store {
		c := newCounters(t)
		if c == nil {
			return nil
		}
		return countersOnly(c)
	}}
	r.run(t, []test{
		{name: "Counters", sub: counterTests()},
		{name: "CounterBatch", sub: counterBatchTests()},
	})
}

// countersOnly dresses c as a store.Store for the counter subtests, which
// use only the optional interfaces c has. Its Users, Tokens and Sessions
// methods are nil: calling one panics, and no counter subtest does.
func countersOnly(c store.Counters) store.Store {
	b, isBatch := c.(store.CounterBatch)
	e, isExpirer := c.(store.Expirer)
	switch {
	case isBatch && isExpirer:
		return struct {
			store.Store
			store.Counters
			store.CounterBatch
			store.Expirer
		}{Counters: c, CounterBatch: b, Expirer: e}
	case isBatch:
		return struct {
			store.Store
			store.Counters
			store.CounterBatch
		}{Counters: c, CounterBatch: b}
	case isExpirer:
		return struct {
			store.Store
			store.Counters
			store.Expirer
		}{Counters: c, Expirer: e}
	}
	return struct {
		store.Store
		store.Counters
	}{Counters: c}
}
