// Package sqlstore implements the Gatehouse store contract over
// database/sql, for SQLite, PostgreSQL and MySQL or MariaDB.
//
// A [Store] implements [store.Store], [store.Expirer], [store.Counters]
// and [store.CounterBatch] (the auth Manager's throttling counters, shared
// by every process using the database) and [store.Runs] with [store.RunBatch] (the audit log) over a *sql.DB that you
// open with the driver of your choice. The package never calls
// [sql.Open] and imports no driver: your program blank-imports one. It
// passes the conformance suite of package storetest on all three
// databases, and on SQLite with each of the three drivers it supports.
//
// # Quick start
//
//	db, err := sql.Open("sqlite", "file:gatehouse.db?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate")
//	if err != nil { … }
//	if err := sqlstore.Migrate(ctx, db, sqlstore.SQLite); err != nil { … }
//	s, err := sqlstore.New(db, sqlstore.SQLite)
//	if err != nil { … }
//	m, err := auth.New(auth.Config{Store: s, …})
//
// [Migrate] creates or upgrades the schema and is safe to call at every
// start; [New] does no I/O and never migrates.
//
// # Dialects
//
// SQLite, through one of three drivers, whose errors the store recognises
// ([New] and [Migrate] refuse any other on SQLite, with an error wrapping
// [ErrUnsupportedDriver]). Each spells the DSN settings differently (see
// the next section); the ones below are the recommended settings, checked
// by the store's tests on every connection of the pool.
//
// modernc.org/sqlite, pure Go (SQLite translated from C), no cgo:
//
//	import _ "modernc.org/sqlite"
//
//	db, err := sql.Open("sqlite", "file:gatehouse.db?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate")
//
// github.com/mattn/go-sqlite3, SQLite's C source through cgo: building
// needs CGO_ENABLED=1 and a C compiler (gcc and the C library headers;
// Debian's gcc and libc6-dev), and the first build compiles SQLite, about
// 35 s of CPU, kept in the build cache afterwards. Built without cgo, the
// driver only returns an error. Its settings are parameters of its own,
// and it ignores modernc's _pragma without a word:
//
//	import _ "github.com/mattn/go-sqlite3"
//
//	db, err := sql.Open("sqlite3", "file:gatehouse.db?_busy_timeout=10000&_journal_mode=WAL&_foreign_keys=1&_synchronous=NORMAL&_txlock=immediate")
//
// github.com/ncruces/go-sqlite3, SQLite compiled to WebAssembly and
// translated to Go, no cgo. Import its database/sql driver package; with
// the version the store is tested with (v0.37) nothing else, as the
// SQLite binary is built in and its embed package is deprecated (older
// versions also needed a blank import of
// github.com/ncruces/go-sqlite3/embed). Its _pragma parameters are
// modernc's, and it reads parameters only from a DSN that starts with
// "file:":
//
//	import _ "github.com/ncruces/go-sqlite3/driver"
//
//	db, err := sql.Open("sqlite3", "file:gatehouse.db?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate")
//
// mattn's and ncruces's drivers both register the name "sqlite3", so a
// program can import only one of them. With any of the three:
//
//	err = sqlstore.Migrate(ctx, db, sqlstore.SQLite)
//	s, err := sqlstore.New(db, sqlstore.SQLite)
//
// The store tells the drivers apart by the package that defines the type
// of db.Driver(), not by the name the driver is registered under, so a
// driver registered under another name, or a *sql.DB from [sql.OpenDB]
// with a driver.Connector whose Driver method returns the driver's own
// (as modernc's and ncruces's connectors, or a tracing connector that
// wraps one, do), is accepted. A driver wrapped by instrumentation that
// reports a type of its own is refused: the store could not know that its
// errors are the wrapped driver's.
//
// PostgreSQL, through pgx's database/sql driver:
//
//	import _ "github.com/jackc/pgx/v5/stdlib"
//
//	db, err := sql.Open("pgx", "postgres://gatehouse@db.example.com:5432/app?sslmode=verify-full")
//	err = sqlstore.Migrate(ctx, db, sqlstore.Postgres)
//	s, err := sqlstore.New(db, sqlstore.Postgres)
//
// The tables are created in the first schema of the connection's
// search_path; add search_path=myschema to the DSN to keep them apart.
//
// MySQL 8 or MariaDB 10.5 and later, through go-sql-driver/mysql:
//
//	import _ "github.com/go-sql-driver/mysql"
//
//	db, err := sql.Open("mysql", "gatehouse:secret@tcp(db.example.com:3306)/app?parseTime=true")
//	err = sqlstore.Migrate(ctx, db, sqlstore.MySQL)
//	s, err := sqlstore.New(db, sqlstore.MySQL)
//
// Neither parseTime nor loc matter to the store (it writes and reads UTC
// itself), and multiStatements is not needed. Transactions run at READ
// COMMITTED.
//
// # SQLite settings that matter
//
// SQLite allows one writer at a time. Set these in the DSN; each applies
// to every connection of the pool. They are written here as modernc's and
// ncruces's _pragma parameters (applied in the order given), with mattn's
// parameter after them:
//
//   - busy_timeout(10000), first (mattn: _busy_timeout=10000): a writer
//     that finds the database locked waits up to 10 s instead of failing
//     at once with "database is locked". It must come before journal_mode:
//     switching a new database to WAL takes a lock, and connections
//     opening together would otherwise fail on it without waiting. Without
//     it modernc waits not at all, mattn 5 s, and ncruces a minute, but
//     only when the DSN has no _pragma at all.
//   - journal_mode(WAL) (mattn: _journal_mode=WAL): readers never wait for
//     the writer, nor it for them.
//   - _txlock=immediate (the same on all three; ncruces's default):
//     transactions start with BEGIN IMMEDIATE, so they queue for the write
//     lock up front (the store also takes it with its first statement, and
//     runs a transaction again if it still finds the database busy).
//   - foreign_keys(1) (mattn: _foreign_keys=1): enforce the schema's
//     foreign keys. The store deletes dependent rows itself, so it stays
//     correct without them, but they guard against other writers.
//   - synchronous(NORMAL) (mattn: _synchronous=NORMAL, also its default):
//     with WAL, commits no longer wait for fsync; a power loss may lose the
//     last transactions but never corrupts the database. Leave it out to
//     keep FULL durability at some cost in write throughput.
//   - mmap_size(1073741824): memory-mapped reads, which keep lookups fast
//     as the database grows beyond SQLite's page cache. mattn has no
//     parameter for it: run PRAGMA mmap_size from its ConnectHook.
//
// Times are stored as INTEGER columns, so none of the drivers' own time
// handling (DATETIME parsing, mattn's _loc, ncruces's _timefmt) is
// involved and those settings do not matter to the store.
//
// For a throwaway in-memory database (tests), use ":memory:" (ncruces:
// "file::memory:", so that it reads the parameters) with foreign keys on,
// for example ":memory:?_pragma=foreign_keys(1)", and
// db.SetMaxOpenConns(1): every connection to :memory: is a database of
// its own.
//
// # Design
//
// Every operation that changes more than one row runs in one transaction
// with a deferred rollback: creating a session and setting LastLoginAt,
// rotating a refresh token, consuming a secret with the update its Apply
// returns, updating a user with its side effects, and deleting a user with
// all their sessions, tokens and secrets. The atomic rules of the contract
// hold under concurrency: PostgreSQL and MySQL lock the rows involved
// (SELECT … FOR UPDATE) before deciding, SQLite takes the database's write
// lock first, short-code attempts are counted by a conditional UPDATE, and
// unique indexes settle races on emails and hashes. Operations that may
// demote or remove an active superuser first lock every active superuser,
// so two superusers demoting each other at once cannot both succeed.
// Transactions lock rows in one order (active superusers, a user, the
// user's sessions, their refresh tokens, the user's secrets), and a
// refresh token only changes under its session's lock, so the store's own
// transactions do not deadlock each other. Should the database still report
// a deadlock or a busy database, the transaction is run again a few times;
// ConsumeSecret's Apply may then be called more than once, as the contract
// allows. On SQLite, the write transactions of one Store also queue on a
// channel in the Store, which wakes the next writer at once, where SQLite's
// busy handler would poll with sleeps.
//
// Unique violations become [store.ErrConflict], and busy databases and
// deadlocks are retried, without importing a driver: the store recognises
// pgx's errors by their SQLState method, go-sql-driver's MySQLError by its
// Number field, and the extended result codes of the SQLite drivers by
// modernc's Code method, the Code and ExtendedCode fields of mattn's
// Error, and the ExtendedCode method (or the bare code type) of
// ncruces's, reading the latter two by reflection.
//
// Times are stored in UTC with microsecond precision (timestamptz,
// DATETIME(6), or INTEGER Unix microseconds on SQLite); a zero time is
// stored as NULL where a column allows it. Times passed in are truncated
// to microseconds, and expiry is always compared against the time the
// caller passes, never the database's clock.
//
// ListUsers pages along the unique email index, whose binary collation
// ("C" on PostgreSQL, VARBINARY on MySQL) orders addresses byte by byte.
// Without an IDs filter, its Total is read from a counter row that the
// transactions creating and deleting users keep exact, so neither costs
// more at a million users than at ten thousand (see BenchmarkScale).
// Start deep pages with UserQuery.After: an Offset still skips rows one by
// one.
//
// A Store prepares its statements on first use (database/sql then
// prepares each once per connection of the pool); [Store.Close] releases
// them. A refresh-token rotation costs four round trips on PostgreSQL
// (BEGIN, one locking SELECT, one UPDATE with the insert in a CTE, COMMIT)
// and a few more elsewhere. Size the pool for the database, for example
// db.SetMaxOpenConns(4 * runtime.NumCPU()) on PostgreSQL and MySQL, and
// mind the server's connection limit when several processes share it.
//
// Runs are numbered in append order, overall and per type, without gaps
// (they are only ever deleted from the front, by [Store.DeleteRunsBefore]),
// so ListRuns finds a page deep in the log, unfiltered or of one type, by
// arithmetic rather than by skipping rows. AggregateEntries computes its
// figures in SQL inside one read-only transaction; the sum of squared
// deviations is kept exact where Σx²−(Σx)²/n would cancel: a second pass
// (the mean, then the deviations) on SQLite and MySQL, n·VAR_POP in the
// pass that counts and sums on PostgreSQL. An index on (entry_key,
// is_numeric, number, run_seq) holds a key's numbers in order, so a median
// or a mode is a walk along it, not a sort: over a million entries of one
// key, R2R's basic_statistics takes 0.5–0.6 s on SQLite and 0.35 s on
// PostgreSQL (BenchmarkRunsScale); a run filter (a time window, a user)
// adds a test of each entry's run. Each AppendRun takes the lock on
// the log's sequence row, so appends are serialized: one short
// transaction per event. AppendRuns (the audit Recorder's group commit)
// writes a whole batch in one transaction: on SQLite one statement
// reserves its places in the log and among the runs of its type, and its
// runs and entries go into WITHOUT ROWID tables (migration 13) with
// INSERT OR ROLLBACK, which need no statement journal.
//
// # The audit log in a SQLite file of its own
//
// SQLite has one write lock per database file, and a Store serializes its
// writers on it. With the audit log in the same file, each batch of the
// audit Recorder holds that lock for its transaction (a quarter of a
// millisecond of CPU, and some 40 µs more per run, on a 2-core machine),
// and logins, refreshes and logouts wait behind it. Where the audit log is on, the
// server is busy and SQLite is the database, give the log a file of its
// own: a second *sql.DB with the same settings, migrated, and a second
// Store over it, given to the Recorder and to the audit Reader:
//
//	auditDB, err := sql.Open("sqlite", "file:audit.db?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate")
//	if err := sqlstore.Migrate(ctx, auditDB, sqlstore.SQLite); err != nil { … }
//	runs, err := sqlstore.New(auditDB, sqlstore.SQLite)
//	rec, err := audit.New(audit.Config{Runs: runs})
//	m, err := auth.New(auth.Config{Store: s, Audit: rec, …})
//	reader, err := audit.NewReader(m, runs) // logs and analytics read the Recorder's Runs
//
// The two files then take their write locks independently; this helps
// where the write lock, not the CPU, is what limits the server (before
// migration 13, on 2 cores, gatehouse-bench's refresh_recording_on_over_off
// went from about 0.5 to about 0.6 with it; with the lean schema of
// migration 13 both setups measure about 0.6 there, see BENCHMARKS.md; its
// store sqlite-audit-file measures this one). The price: a backup is two
// files, each copied with its own VACUUM INTO or .backup, which are
// consistent each in itself, not with each other (an event committed after
// the main file's copy may be in the audit file's). On SQLite an event
// commits after its operation in either setup.
// The audit tables of the main file stay, empty; the Recorder's Purge
// applies to the audit file. On PostgreSQL and MySQL keep one database:
// their writers do not share a lock, and on PostgreSQL the Recorder on
// the Manager's own Store saves a WAL flush per operation
// ([store.CommitDeferral]).
//
// # Expired rows
//
// Sessions, the refresh tokens rotated away within them (kept to detect
// reuse), one-time secrets and throttling counters stay in the tables after
// they expire, until
// [Store.DeleteExpired] purges them. Nothing runs in the background: call it
// on a schedule of your own, for example hourly from a ticker (see the
// example) or from a cron job. Runs are purged by the audit
// Recorder's Purge, which calls [Store.DeleteRunsBefore].
//
// # Security notes
//
//   - The store holds only what the auth Manager gives it: password hashes
//     (PHC or bcrypt strings) and SHA-256 hashes of refresh tokens, reset
//     and verification tokens and short codes, never the secrets
//     themselves. A dump of the tables cannot be replayed as tokens.
//   - Emails are compared exactly, byte by byte: the Manager stores them
//     normalized (auth.NormalizeEmail), and the unique index then makes one
//     account per normalized address, even under concurrent registrations.
//   - Every query uses placeholders; no value is ever spliced into SQL.
//   - Errors wrap the driver's error, which may quote values (MySQL's
//     duplicate-entry message quotes the email). Log them, but never send
//     them to clients.
//
// # Related packages
//
//   - [github.com/gatehouse-go/gatehouse/store]: the contract and records.
//   - [github.com/gatehouse-go/gatehouse/store/memstore]: the in-memory
//     store, for tests and demos.
//   - [github.com/gatehouse-go/gatehouse/store/storetest]: the conformance
//     suite this package passes.
//   - [github.com/gatehouse-go/gatehouse/auth]: the Manager that uses it.
package sqlstore
