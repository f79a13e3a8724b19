package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

// Compile-time checks that *Store fulfils the contract.
var (
	_ store.Store        = (*Store)(nil)
	_ store.Expirer      = (*Store)(nil)
	_ store.Counters     = (*Store)(nil)
	_ store.CounterBatch = (*Store)(nil)
	_ store.Runs         = (*Store)(nil)
)

// defaultLimit is the page size used when [store.UserQuery.Limit] is ≤ 0.
const defaultLimit = 100

// maxAttempts bounds how often a transaction that failed with a deadlock,
// a serialization failure or a busy SQLite database is run again.
const maxAttempts = 8

// Store is a [store.Store], [store.Expirer], [store.Counters],
// [store.CounterBatch], [store.Runs] and [store.SecondFactors] over a *sql.DB. Create one with [New] after [Migrate] has run. It is safe for
// concurrent use.
//
// Every operation that changes more than one row runs in one transaction,
// and every rule of the contract that must hold under concurrency (one
// winner of a refresh-token rotation, single-use secrets, bounded code
// and challenge attempts, a TOTP step accepted once, unique emails, the
// last active superuser) is enforced by the
// database: row locks on PostgreSQL and MySQL, the database write lock on
// SQLite, unique indexes everywhere.
type Store struct {
	db *sql.DB
	d  Dialect
	q  [numQueries]string
	// txOpts are the options of every write transaction.
	txOpts *sql.TxOptions
	// writers, on SQLite, lets one write transaction of this Store run at
	// a time: the others wait here, woken at once, rather than in SQLite's
	// busy handler, which polls with sleeps of a millisecond and more.
	writers chan struct{}

	// The statements are prepared on first use, not by New (which does no
	// I/O).
	prepMu sync.Mutex
	ready  atomic.Bool
	stmts  [numQueries]*sql.Stmt
}

// New returns a Store over db, whose database is of dialect d. The schema
// must exist: run [Migrate] first (New never migrates). New does no I/O and
// starts no goroutines; the statements are prepared on first use.
//
// db stays the caller's: configure its pool (and, for SQLite, the DSN
// settings described in the package documentation) and close it when done,
// after [Store.Close].
//
// On [SQLite], db's driver must be modernc.org/sqlite,
// github.com/mattn/go-sqlite3 or github.com/ncruces/go-sqlite3/driver, the
// drivers whose errors the store recognises (a duplicate email as
// [store.ErrConflict], a busy database as one to retry); New returns an
// error wrapping [ErrUnsupportedDriver] for any other.
func New(db *sql.DB, d Dialect) (*Store, error) {
	if db == nil {
		return nil, errors.New("sqlstore: New: nil *sql.DB")
	}
	if !d.valid() {
		return nil, errDialect(d)
	}
	if err := checkDriver(db, d); err != nil {
		return nil, err
	}
	s := &Store{db: db, d: d, q: queries(d)}
	switch d {
	case SQLite:
		s.writers = make(chan struct{}, 1)
	case MySQL:
		// READ COMMITTED: reads inside a transaction see the latest
		// committed rows, and InnoDB takes no gap locks (which deadlock
		// concurrent inserts under REPEATABLE READ).
		s.txOpts = &sql.TxOptions{Isolation: sql.LevelReadCommitted}
	}
	return s, nil
}

// Close releases the prepared statements. It does not close the *sql.DB,
// which belongs to the caller. The Store must not be used afterwards.
func (s *Store) Close() error {
	s.prepMu.Lock()
	defer s.prepMu.Unlock()
	var errs []error
	for i, st := range s.stmts {
		if st != nil {
			errs = append(errs, st.Close())
			s.stmts[i] = nil
		}
	}
	s.ready.Store(false)
	return errors.Join(errs...)
}

// prepare makes sure every statement is prepared. It must be called outside
// any transaction: with a pool of one connection (SQLite :memory:)
// preparing inside one would wait for itself.
func (s *Store) prepare(ctx context.Context) error {
	if s.ready.Load() {
		return nil
	}
	s.prepMu.Lock()
	defer s.prepMu.Unlock()
	if s.ready.Load() {
		return nil
	}
	for i, q := range s.q {
		if s.stmts[i] != nil || q == "" {
			continue
		}
		st, err := s.db.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("preparing statements (has sqlstore.Migrate run?): %w", err)
		}
		s.stmts[i] = st
	}
	s.ready.Store(true)
	return nil
}

// querier runs the prepared statements, inside a transaction or not.
type querier struct {
	s  *Store
	tx *sql.Tx // nil: directly on the pool
	// off is set in a write transaction that is to commit with
	// synchronous_commit off (see deferred and commitOff).
	off *commitOff
}

// commitOff is how a write transaction whose commit is deferred turns
// synchronous_commit off before its first statement runs: with that
// statement itself, when it has a version that does it (commitOffQID),
// and otherwise with a SET LOCAL of its own just before it (one more
// round trip). Every statement of the transaction thus runs, and its
// COMMIT waits, as if SET LOCAL had followed BEGIN.
type commitOff struct {
	pending bool  // no statement has run yet
	err     error // the SET LOCAL's, which aborted the transaction
}

// turnOff prepares the next statement of the transaction, id (or -1 for
// one built per call), for q.off: it returns the query to run instead of
// id, after sending a SET LOCAL when there is none.
func (q querier) turnOff(ctx context.Context, id qid) qid {
	if q.off == nil || !q.off.pending {
		return id
	}
	q.off.pending = false
	if off, ok := commitOffQID(id); ok && q.s.stmts[off] != nil {
		return off
	}
	if _, err := q.tx.ExecContext(ctx, "SET LOCAL synchronous_commit = off"); err != nil {
		q.off.err = err
	}
	return id
}

func (q querier) stmt(ctx context.Context, id qid) *sql.Stmt {
	id = q.turnOff(ctx, id)
	if q.tx != nil {
		return q.tx.StmtContext(ctx, q.s.stmts[id])
	}
	return q.s.stmts[id]
}

func (q querier) exec(ctx context.Context, id qid, args ...any) (sql.Result, error) {
	return q.stmt(ctx, id).ExecContext(ctx, args...)
}

// execN runs a statement and returns how many rows it affected.
func (q querier) execN(ctx context.Context, id qid, args ...any) (int64, error) {
	res, err := q.exec(ctx, id, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (q querier) query(ctx context.Context, id qid, args ...any) (*sql.Rows, error) {
	return q.stmt(ctx, id).QueryContext(ctx, args...)
}

func (q querier) row(ctx context.Context, id qid, args ...any) *sql.Row {
	return q.stmt(ctx, id).QueryRowContext(ctx, args...)
}

// read returns a querier on the pool, after preparing the statements.
func (s *Store) read(ctx context.Context) (querier, error) {
	if err := s.prepare(ctx); err != nil {
		return querier{}, err
	}
	return querier{s: s}, nil
}

// write runs fn in a transaction and commits it when fn returns nil. When
// the transaction fails with a deadlock, a serialization failure or a busy
// SQLite database, it runs it again (fn must be safe to repeat), up to
// maxAttempts times, after a short random pause.
func (s *Store) write(ctx context.Context, fn func(q querier) error) error {
	if err := s.prepare(ctx); err != nil {
		return err
	}
	return retry(ctx, func() error { return s.tryWrite(ctx, fn) })
}

// writeOne runs one statement that changes rows and returns how many it
// changed. One statement is atomic by itself, so on PostgreSQL and MySQL it
// runs on the pool, outside a transaction (one round trip instead of
// three); on SQLite it runs as a write transaction, so that writers queue
// in the Store (see write). It is retried as write is.
func (s *Store) writeOne(ctx context.Context, id qid, args ...any) (int64, error) {
	var n int64
	if s.writers != nil {
		err := s.write(ctx, func(q querier) error {
			var err error
			n, err = q.execN(ctx, id, args...)
			return err
		})
		return n, err
	}
	if err := s.prepare(ctx); err != nil {
		return 0, err
	}
	err := retry(ctx, func() error {
		var err error
		n, err = querier{s: s}.execN(ctx, id, args...)
		return err
	})
	return n, err
}

// retry runs try until it succeeds, fails with an error that running it
// again cannot cure (see classify), has run maxAttempts times or ctx is
// done, pausing a little longer, at random, after each failure.
func retry(ctx context.Context, try func() error) error {
	for attempt := 1; ; attempt++ {
		err := try()
		if err == nil || attempt == maxAttempts || classify(err) != errRetryable {
			return err
		}
		pause := jitter(time.Duration(attempt) * 2 * time.Millisecond)
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// jitter returns a random duration in [0, limit), so that transactions that
// failed together do not retry in lockstep. (crypto/rand: the repository
// keeps math/rand out of library code.)
func jitter(limit time.Duration) time.Duration {
	var b [8]byte
	rand.Read(b[:])
	return time.Duration(binary.LittleEndian.Uint64(b[:]) % uint64(limit))
}

func (s *Store) tryWrite(ctx context.Context, fn func(q querier) error) error {
	if s.writers != nil {
		select {
		case s.writers <- struct{}{}:
			defer func() { <-s.writers }()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	tx, err := s.db.BeginTx(ctx, s.txOpts)
	if err != nil {
		return err
	}
	defer tx.Rollback() // a no-op after Commit
	q := querier{s: s, tx: tx}
	if s.deferred(ctx) {
		// Commit without waiting for the log (see DeferCommits), as the
		// first statement sets it (see commitOff).
		q.off = &commitOff{pending: true}
	}
	// On SQLite, take the write lock first (see qWriteLock).
	if s.q[qWriteLock] != "" {
		if _, err := q.exec(ctx, qWriteLock); err != nil {
			return err
		}
	}
	err = fn(q)
	if q.off != nil && q.off.err != nil {
		return q.off.err // what the statements' errors then come from
	}
	if err != nil {
		return err
	}
	return tx.Commit()
}

// userDest returns the scan destinations of userCols into u.
func (s *Store) userDest(u *store.User) []any {
	return []any{
		&u.ID, &u.Email, &u.PendingEmail, &u.PasswordHash, &u.Name, &u.Bio, &u.ProfilePicture,
		&u.IsSuperuser, &u.IsActive, &u.IsVerified,
		timeCol{s.d, &u.CreatedAt}, timeCol{s.d, &u.UpdatedAt}, timeCol{s.d, &u.LastLoginAt}, timeCol{s.d, &u.TokensValidAfter},
		timeCol{s.d, &u.PendingEmailExpiresAt}, &u.HasFactors,
	}
}

// userArgs returns u's values in the order of userCols, for CreateUser.
func (s *Store) userArgs(u *store.User) []any {
	return []any{
		u.ID, u.Email, u.PendingEmail, u.PasswordHash, u.Name, u.Bio, u.ProfilePicture,
		u.IsSuperuser, u.IsActive, u.IsVerified,
		s.d.nullable(u.CreatedAt), s.d.nullable(u.UpdatedAt), s.d.nullable(u.LastLoginAt), s.d.nullable(u.TokensValidAfter),
		s.d.nullable(u.PendingEmailExpiresAt), false, // a new user has no factors
	}
}

// sessionDest returns the scan destinations of sessionCols into ss.
func (s *Store) sessionDest(ss *store.Session) []any {
	return []any{
		&ss.ID, &ss.UserID,
		timeCol{s.d, &ss.CreatedAt}, timeCol{s.d, &ss.AuthenticatedAt}, timeCol{s.d, &ss.LastUsedAt},
		timeCol{s.d, &ss.ExpiresAt}, timeCol{s.d, &ss.IdleExpiresAt},
		&ss.IP, &ss.UserAgent,
	}
}

// sessionArgs returns ss's values in the order of sessionCols.
func (s *Store) sessionArgs(ss *store.Session) []any {
	return []any{
		ss.ID, ss.UserID,
		s.d.instant(ss.CreatedAt), s.d.instant(ss.AuthenticatedAt), s.d.instant(ss.LastUsedAt),
		s.d.instant(ss.ExpiresAt), s.d.instant(ss.IdleExpiresAt),
		ss.IP, ss.UserAgent,
	}
}

// secretDest returns the scan destinations of secretCols into sec.
func (s *Store) secretDest(sec *store.Secret) []any {
	return []any{
		&sec.Hash, &sec.CodeHash, (*string)(&sec.Purpose), &sec.UserID, &sec.Email,
		timeCol{s.d, &sec.CreatedAt}, timeCol{s.d, &sec.ExpiresAt}, timeCol{s.d, &sec.CodeExpiresAt},
		&sec.Attempts,
	}
}

// secretArgs returns sec's values in the order of secretCols. An empty
// CodeHash is stored as NULL.
func (s *Store) secretArgs(sec *store.Secret) []any {
	var code any
	if len(sec.CodeHash) > 0 {
		code = sec.CodeHash
	}
	return []any{
		sec.Hash, code, string(sec.Purpose), sec.UserID, sec.Email,
		s.d.nullable(sec.CreatedAt), s.d.instant(sec.ExpiresAt), s.d.nullable(sec.CodeExpiresAt),
		sec.Attempts,
	}
}

// notFound maps sql.ErrNoRows to store.ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}

// conflict maps a unique violation to store.ErrConflict and a foreign-key
// violation to store.ErrNotFound, keeping the driver's error in the chain.
func conflict(err error) error {
	switch classify(err) {
	case errUnique:
		return fmt.Errorf("%w (%w)", store.ErrConflict, err)
	case errForeign:
		return fmt.Errorf("%w (%w)", store.ErrNotFound, err)
	}
	return err
}

// wrap prefixes err with the operation's name.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("sqlstore: %s: %w", op, err)
}
