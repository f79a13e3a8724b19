package sqlstore

import (
	"context"

	"github.com/gatehouse-go/gatehouse/store"
)

var _ store.CommitDeferral = (*Store)(nil)

// SyncsWith reports whether runs is a Store of PostgreSQL on the same
// *sql.DB as s: then a durable append to runs makes s's earlier commits
// durable (see [store.CommitDeferral]). On SQLite and MySQL it reports
// false, and s commits every write durably whatever the context says:
// SQLite's commits in WAL mode with synchronous=NORMAL do not wait for the
// disk anyway, and MySQL has no setting per transaction.
func (s *Store) SyncsWith(runs store.Runs) bool {
	o, ok := runs.(*Store)
	return ok && s.d == Postgres && o.db == s.db
}

// Sync makes every commit of s before the call durable: on PostgreSQL it
// commits a write of its own durably (a commit that wrote nothing would not
// wait for the log); elsewhere it does nothing.
func (s *Store) Sync(ctx context.Context) error {
	if s.d != Postgres {
		return nil
	}
	err := s.write(store.DurableCommits(ctx), func(q querier) error {
		_, err := q.rawExec(ctx, "UPDATE gatehouse_run_seqs SET last = last WHERE run_type = ''")
		return err
	})
	return wrap("sync", err)
}

// deferred reports whether the write transactions s runs under ctx commit
// asynchronously ([store.DeferCommits], on PostgreSQL).
func (s *Store) deferred(ctx context.Context) bool {
	return s.d == Postgres && store.CommitsDeferred(ctx)
}
