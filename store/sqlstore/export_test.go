package sqlstore

import (
	"context"
	"database/sql"
)

// MigrateTo applies d's migrations up to and including version, as an
// older release would have left the database, for tests of what a later
// migration does to existing rows.
func MigrateTo(ctx context.Context, db *sql.DB, d Dialect, version int) error {
	files, err := migrations(d)
	if err != nil {
		return err
	}
	var upTo []migration
	for _, m := range files {
		if m.version <= version {
			upTo = append(upTo, m)
		}
	}
	return migrate(ctx, db, d, upTo)
}

// CommitSetting returns PostgreSQL's synchronous_commit as a write
// transaction of s sees it under ctx.
func (s *Store) CommitSetting(ctx context.Context) (string, error) {
	var v string
	err := s.write(ctx, func(q querier) error {
		return q.rawRow(ctx, "SELECT current_setting('synchronous_commit')").Scan(&v)
	})
	return v, err
}

// CommitSettingsAfterFirst runs, for each query that opens a write
// transaction whose commit may be deferred (CreateSession's,
// RevokeSession's, RotateRefreshToken's), a write transaction of s under
// ctx that runs it first, matching no row, and then reads PostgreSQL's
// synchronous_commit; it returns what each read, by the method's name.
func (s *Store) CommitSettingsAfterFirst(ctx context.Context) (map[string]string, error) {
	firsts := []struct {
		name string
		id   qid
		args []any
	}{
		{"CreateSession", qLockUser, []any{"no-such-user"}},
		{"RevokeSession", qLockOwnedSession, []any{"no-such-session", "no-such-user"}},
		{"RotateRefreshToken", qRotateLockJoin, []any{[]byte("no-such-token")}},
	}
	got := make(map[string]string, len(firsts))
	for _, f := range firsts {
		var v string
		err := s.write(ctx, func(q querier) error {
			rows, err := q.query(ctx, f.id, f.args...)
			if err != nil {
				return err
			}
			for rows.Next() {
			}
			if err := rows.Close(); err != nil {
				return err
			}
			return q.rawRow(ctx, "SELECT current_setting('synchronous_commit')").Scan(&v)
		})
		if err != nil {
			return nil, err
		}
		got[f.name] = v
	}
	return got, nil
}
