// Package store defines the records Gatehouse keeps and the contract every
// storage backend fulfils.
//
// The contract follows the database/sql/driver model: small role interfaces
// ([Users], [UserLister], [Sessions], [RefreshTokens], [Secrets]) that
// together form [Store], the one value an auth.Manager needs. Implementations
// live elsewhere and import only this package:
//
//   - [github.com/gatehouse-go/gatehouse/store/memstore]: in memory, for tests
//     and demos.
//   - [github.com/gatehouse-go/gatehouse/store/sqlstore]: database/sql
//     (SQLite, PostgreSQL, MySQL/MariaDB).
//   - [github.com/gatehouse-go/gatehouse/store/storetest]: the conformance
//     suite; every implementation, including third-party ones, runs it.
//
// # The contract in brief
//
// Atomicity is part of the contract, not left to callers: a user's email is
// unique; a one-time secret is consumed exactly once; a refresh token rotates
// with exactly one winner and a rotated token presented again is reported
// ([ErrTokenReused]) and revokes its session; a user is deleted together with
// everything that belongs to them; the last active superuser cannot be
// removed. Errors are the sentinels in this package, possibly wrapped: test
// them with [errors.Is].
//
// Optional capabilities are separate interfaces that their users detect
// once, at construction. The auth Manager looks for [Expirer], which purges
// dead rows (Manager.Housekeep calls it), [Counters], which keeps the
// throttling counters, and [CounterBatch], which reads, decides on and
// writes several of them in one atomic call, so that a login's throttle
// check is one store call, and [SecondFactors] ([Factors], [RecoveryCodes]
// and [Challenges]), which keeps second factors, recovery-code hashes and
// half-finished logins, and [Identities], which keeps federated identities
// (issuer and subject) and started federated logins, and [EmailLogins],
// which keeps passwordless email logins (a link and a short code). Package audit looks for [Runs], which keeps the
// audit log and the application's runs that superusers page through and
// analyse, and [RunBatch], which appends several runs in one atomic call,
// so that concurrent recordings commit together. auth also looks for
// [CommitDeferral]: a store whose writes can commit without waiting for
// the disk, made durable by the next durable append of the audit log to
// the same database (PostgreSQL's asynchronous commit).
//
// The record logic every store shares is here too, so that stores cannot
// drift apart: [UserUpdate.Apply] computes a user after an update, and
// [Counter.Next] and [Counter.Live] are the counters' window policy.
//
// Stores never read a clock: every time that matters arrives as an argument,
// so tests drive expiry with a fake clock. Times keep at least microsecond
// precision and come back in UTC. Only hashes of secrets are stored (refresh
// tokens, verification and reset tokens, short codes).
//
// Records are copied on the way in and on the way out: a caller may keep and
// change what a store returns without affecting the store, and may reuse
// what it passed in.
package store
