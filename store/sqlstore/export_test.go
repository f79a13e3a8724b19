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
