// Package redisstore keeps the auth Manager's throttling counters in Redis
// (github.com/redis/go-redis/v9), for deployments where the database
// should not take a write for every failed login. It implements
// [store.Counters] and [store.CounterBatch] only; users, sessions and the
// rest stay in the main store (package sqlstore, say).
//
// Its [Notifier] carries the auth Manager's session-cache invalidations
// between instances over Redis pub/sub (an auth.Invalidator for
// Config.SessionCache), for deployments that keep their counters in Redis
// already; see "Session cache" in the README.
//
// It is an opt-in subpackage: only an application that imports it builds
// go-redis, and no other package of the module imports it.
//
// # Quick start
//
//	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
//	counters, err := redisstore.New(rdb, redisstore.Config{})
//	m, err := auth.New(auth.Config{
//		Store:  sqlStore,
//		Limits: auth.Limits{Store: counters},
//		...
//	})
//
// Every instance given the same Redis (and Config.Prefix) enforces one set
// of limits, as with counters in a shared database.
//
// # How counters are kept
//
// A counter is a Redis hash under Config.Prefix + key holding its count
// and its Start, Last and ExpiresAt to the microsecond. The window policy
// is [store.Counter.Next]'s, judged by the now the caller passes (the
// store never reads a clock): IncrementCounter runs it as one Lua script,
// and UpdateCounters as an optimistic WATCH/MULTI/EXEC transaction that
// runs again when a concurrent write touches its keys (fn is Go, so it
// cannot run inside Redis). Redis forgets a counter by itself a minute
// after its ExpiresAt (a PEXPIRE set on every write), so there is no
// DeleteExpired and no housekeeping to schedule.
//
// The package's tests run the counter cases of package storetest
// ([storetest.RunCounters]) against the Redis at 127.0.0.1:6379, or
// AUTH_TEST_REDIS_ADDR.
//
// # Security and operations
//
//   - Counter keys hold no secret: the Manager keys them on a hash of the
//     email or on the client address.
//   - Redis is then part of the login path: when it cannot be reached,
//     throttled operations fail with the client's error (an internal
//     error, 500 over HTTP) rather than run unthrottled.
//   - Persistence: a Redis restart without persistence forgets the counts,
//     which lets an attacker start afresh; run it with AOF or RDB
//     snapshots if that matters, and protect it with a password or ACL and
//     TLS like any service on the login path.
//   - Redis Cluster: give Config.Prefix a hash tag ("{gatehouse}:counter:")
//     so that a batch's keys share a slot.
//
// See also package store for the contract, and packages memstore and
// sqlstore for the other counter stores.
package redisstore
