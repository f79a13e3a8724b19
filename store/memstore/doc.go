// Package memstore is an in-memory implementation of the Gatehouse store
// contract, for tests, examples and demos.
//
// A [Store] implements [store.Store] and [store.Expirer]. It keeps every
// record in maps guarded by one [sync.RWMutex]: lookups share a read lock,
// changes take the write lock, so every multi-step operation of the contract
// (consuming a secret, rotating a refresh token, deleting a user with
// everything that belongs to them) is atomic. Records are copied on the way
// in and on the way out, byte slices included, and times are stored in UTC.
//
// # Quick start
//
//	s := memstore.New()
//	err := s.CreateUser(ctx, &store.User{ID: id, Email: "ada@example.com", IsActive: true})
//
// Pass s wherever a [store.Store] is expected (auth.Config.Store). A Store
// starts no goroutines and never reads a clock; to purge expired sessions and
// secrets, call [Store.DeleteExpired] on a schedule of your own (see the
// example).
//
// # Security notes
//
//   - Everything lives in the memory of one process: it is lost on restart
//     and not shared between processes, so a Store cannot back a server that
//     runs more than one instance. Use sqlstore in production.
//   - The store holds only what callers give it: password hashes and SHA-256
//     hashes of tokens and codes, never the secrets themselves.
//   - Refresh tokens that were rotated away are kept, so that their reuse can
//     be detected, until their session is revoked or purged by
//     [Store.DeleteExpired]. Memory grows with logins and refreshes until
//     then.
//
// # Related packages
//
//   - [github.com/gatehouse-go/gatehouse/store]: the contract and records.
//   - [github.com/gatehouse-go/gatehouse/store/sqlstore]: the database/sql
//     implementation for production.
//   - [github.com/gatehouse-go/gatehouse/store/storetest]: the conformance
//     suite this package passes.
package memstore
