// Package storetest is the conformance suite of the Gatehouse store
// contract. Every [store.Store] implementation, this module's and third
// parties' alike, proves itself by passing it.
//
// [Run] runs one named subtest per clause of the contract in package store:
// not-found and conflict rules, the last-superuser guard, the cascade of
// DeleteUser, the side effects of [store.UserUpdate], keyset and offset
// paging, refresh-token rotation and reuse detection, one-time secrets,
// short-code attempts, expiry driven by the injected clock, freedom from
// aliasing, and the single-winner rules under concurrency. A subtest's name
// says which clause it checks, e.g. Users/LastSuperuser/Delete/OnlyActive or
// Sessions/Rotate/Chain/ReplayR0.
//
// # Usage
//
// Call Run from a test of the store's package with a function that returns a
// fresh, empty store. Run calls it once per leaf subtest (a few hundred
// times), so it should be cheap; register clean-ups with t.Cleanup. A SQL store, for
// instance, creates a new schema or database for each call:
//
//	func TestConformance(t *testing.T) {
//		db := openTestDB(t) // the store's own helper
//		storetest.Run(t, func(t *testing.T) store.Store {
//			schema := freshSchema(t, db) // dropped by a t.Cleanup
//			s, err := mystore.New(db, schema)
//			if err != nil {
//				t.Fatal(err)
//			}
//			return s
//		})
//	}
//
// Subtests run one after another, never in parallel with each other, so
// newStore need not be safe for concurrent use; some subtests call the store
// itself from many goroutines at once. Run it with -race.
//
// # What the suite assumes
//
//   - Errors are checked with [errors.Is] and [errors.As] only, so stores may
//     wrap the sentinels of package store with context.
//   - Times given to the store are fixed instants (no time.Now), truncated to
//     microseconds, some in a location other than UTC. The suite expects them
//     back [time.Time.Equal] to what it stored and with Location() ==
//     [time.UTC].
//   - IDs are canonical lowercase UUID strings, so stores with UUID-typed
//     columns can run the suite. Emails are lowercase ASCII; the ordering
//     tests use addresses such as user001@example.com, whose byte order
//     agrees with the usual database collations. Stores must compare emails
//     exactly (no case folding, no trailing-space padding).
//   - [store.Expirer], [store.Counters], [store.CounterBatch],
//     [store.Runs], [store.RunBatch], [store.SecondFactors] and
//     [store.Identities] are
//     optional: their subtests call t.Skip for stores that do not
//     implement them. The CounterBatch subtests use DeleteExpired,
//     when the store has it, to check that a batch leaves no rows behind
//     for keys it left at zero. The Runs
//     subtests check sums and sums of squares within a relative 1e-9, and
//     everything else exactly; run IDs are UUIDs and run types and keys
//     short ASCII words.
//   - DeleteExpired's count is the number of sessions, secrets and counters
//     it deleted; refresh tokens that went with their sessions are not
//     counted.
package storetest
