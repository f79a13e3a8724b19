package sqlstore

import (
	"context"
	"database/sql"
	"slices"

	"github.com/gatehouse-go/gatehouse/store"
)

// ListUsers returns a page of users ordered by Email, byte by byte, as
// [store.UserLister] describes, each with the number of sessions it has
// stored (expired ones count until [Store.DeleteExpired] purges them).
//
// Its cost does not grow with the number of users: the page is read from
// the email index (start deep pages with q.After, keyset style; an Offset
// still skips rows one by one), and without an IDs filter Total is read
// from a counter row kept exact by the transactions that create and delete
// users. With an IDs filter, Total counts those IDs.
func (s *Store) ListUsers(ctx context.Context, q store.UserQuery) (*store.UserPage, error) {
	page, err := s.listUsers(ctx, q)
	return page, wrap("list users", err)
}

func (s *Store) listUsers(ctx context.Context, uq store.UserQuery) (*store.UserPage, error) {
	q, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	limit := uq.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	offset := max(uq.Offset, 0)
	page := &store.UserPage{Users: []store.UserSummary{}}

	if len(uq.IDs) == 0 {
		var total int64
		if err := q.row(ctx, qCount).Scan(&total); err != nil {
			return nil, err
		}
		page.Total = int(total)
		var rows *sql.Rows
		if uq.After == "" {
			rows, err = q.query(ctx, qListPage, limit, offset)
		} else {
			rows, err = q.query(ctx, qListPageAfter, uq.After, limit, offset)
		}
		return s.fillPage(page, rows, err)
	}

	ids := slices.Clone(uq.IDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	args := make([]any, 0, len(ids)+3)
	for _, id := range ids {
		args = append(args, id)
	}
	in := "u.id IN (" + inList(len(ids)) + ")"
	var total int64
	if err := q.rawRow(ctx, "SELECT COUNT(*) FROM gatehouse_users u WHERE "+in, args...).Scan(&total); err != nil {
		return nil, err
	}
	page.Total = int(total)
	where := " WHERE " + in
	if uq.After != "" {
		where += " AND u.email > ?"
		args = append(args, uq.After)
	}
	args = append(args, limit, offset)
	query := "SELECT " + prefixed("u", userCols) + ", " + sessionCountCol +
		" FROM gatehouse_users u" + where + " ORDER BY u.email LIMIT ? OFFSET ?"
	rows, err := q.rawQuery(ctx, query, args...)
	return s.fillPage(page, rows, err)
}

// fillPage reads the rows of a page query (userCols, then the session
// count) into page.
func (s *Store) fillPage(page *store.UserPage, rows *sql.Rows, err error) (*store.UserPage, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var sum store.UserSummary
		var n int64
		if err := rows.Scan(append(s.userDest(&sum.User), &n)...); err != nil {
			return nil, err
		}
		sum.Sessions = int(n)
		page.Users = append(page.Users, sum)
	}
	return page, rows.Err()
}
