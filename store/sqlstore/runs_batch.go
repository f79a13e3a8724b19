package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

var _ store.RunBatch = (*Store)(nil)

// Columns per row of the two tables AppendRuns writes.
const (
	runRowArgs   = 6
	entryRowArgs = 7
)

// AppendRuns stores rs and their entries in one transaction, as
// [store.RunBatch] describes: it reserves the places of all of them in the
// log, and among the runs of each type, with one statement per sequence
// row (the log's first, as AppendRun does, so batches and single appends
// queue on the same lock), then inserts the runs and the entries: on
// PostgreSQL with one statement over column arrays (pgBatchInsert), on
// SQLite and MySQL with prepared multi-row INSERTs of the sizes
// batchRowSizes. Every statement is thus prepared once per connection,
// whatever the batch's size. A run whose ID is taken, by a stored run or
// another of rs, is [store.ErrConflict] and nothing is stored.
func (s *Store) AppendRuns(ctx context.Context, rs []*store.Run) error {
	if len(rs) == 0 {
		return nil
	}
	ctx = store.DurableCommits(ctx)
	runs := make([]store.Run, len(rs))
	for i, r := range rs {
		if r == nil {
			return wrap("append runs", fmt.Errorf("run %d is nil", i))
		}
		runs[i] = *r
		runs[i].Entries = slices.Clone(r.Entries)
	}
	if s.d == Postgres {
		// One statement, atomic by itself: on the pool, outside a
		// transaction (one round trip instead of five).
		if err := s.prepare(ctx); err != nil {
			return wrap("append runs", err)
		}
		err := retry(ctx, func() error { return s.insertRunsArrays(ctx, querier{s: s}, runs) })
		return wrap("append runs", err)
	}
	err := s.write(ctx, func(q querier) error { return s.insertRuns(ctx, q, runs) })
	return wrap("append runs", err)
}

// insertRuns is AppendRuns inside its transaction.
func (s *Store) insertRuns(ctx context.Context, q querier, runs []store.Run) error {
	n := int64(len(runs))
	// The types in order of first appearance, and how many runs each has.
	var types []string
	count := make(map[string]int64)
	for i := range runs {
		if count[runs[i].Type] == 0 {
			types = append(types, runs[i].Type)
		}
		count[runs[i].Type]++
	}
	var first int64
	var next map[string]int64
	if s.d == SQLite {
		var err error
		if first, next, err = s.reserveSQLiteSeqs(ctx, q, n, types, count); err != nil {
			return err
		}
	} else {
		last, err := s.reserveRunSeqs(ctx, q, "", n)
		if err != nil {
			return err
		}
		first = last - n + 1
		next = make(map[string]int64, len(types))
		for _, typ := range types {
			last, err := s.reserveRunSeqs(ctx, q, typ, count[typ])
			if err != nil {
				return err
			}
			next[typ] = last - count[typ] + 1
		}
	}

	runArgs := make([]any, 0, runRowArgs*len(runs))
	var entryArgs []any
	for i := range runs {
		r := &runs[i]
		seq := first + int64(i)
		runArgs = append(runArgs, seq, r.ID, r.Type, next[r.Type], r.UserID, s.d.instant(r.Time))
		next[r.Type]++
		for j := range r.Entries {
			e := &r.Entries[j]
			entryArgs = append(entryArgs, seq, j, e.Key, e.Value, e.Number, e.Numeric, s.d.nullable(e.Time))
		}
	}

	if err := insertRows(ctx, q, rowTableRuns, runRowArgs, runArgs); err != nil {
		return conflict(err)
	}
	return insertRows(ctx, q, rowTableEntries, entryRowArgs, entryArgs)
}

// The multi-row INSERTs of AppendRuns on SQLite and MySQL, without their
// VALUES rows.
const (
	runRowsInsert   = "INSERT INTO gatehouse_runs (seq, id, run_type, type_seq, user_id, at) VALUES "
	entryRowsInsert = "INSERT INTO gatehouse_run_entries (run_seq, idx, entry_key, entry_value, number, is_numeric, at) VALUES "
)

// pgBatchInsert appends a batch on PostgreSQL in one statement, whose
// text is the same for every batch size: the runs and the entries come as
// one array per column, so the server parses and plans it once per
// connection (the driver prepares and caches it), where a VALUES list
// would be a new statement for nearly every batch. It reserves the
// batch's places as insertRuns does, the log's sequence row first (the
// type rows' upsert reads from it, so it cannot run before it: the lock
// order of AppendRun), then inserts the runs, numbered in array order, and
// their entries, which name their run by its index in the arrays.
const pgBatchInsert = `WITH input AS (
	SELECT u.ord, u.id, u.run_type, u.user_id, u.at, row_number() OVER (PARTITION BY u.run_type ORDER BY u.ord) AS type_rank
	FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]) WITH ORDINALITY AS u(id, run_type, user_id, at, ord)
), log AS (
	UPDATE gatehouse_run_seqs SET last = last + (SELECT COUNT(*) FROM input) WHERE run_type = '' RETURNING last
), per_type AS (
	INSERT INTO gatehouse_run_seqs (run_type, last)
	SELECT c.run_type, c.n FROM (SELECT run_type, COUNT(*) AS n FROM input GROUP BY run_type) c CROSS JOIN log
	ON CONFLICT (run_type) DO UPDATE SET last = gatehouse_run_seqs.last + EXCLUDED.last
	RETURNING run_type, last
), numbered AS (
	SELECT i.ord, log.last - (SELECT COUNT(*) FROM input) + i.ord AS seq, i.id, i.run_type,
		t.last - (SELECT COUNT(*) FROM input j WHERE j.run_type = i.run_type) + i.type_rank AS type_seq, i.user_id, i.at
	FROM input i CROSS JOIN log JOIN per_type t ON t.run_type = i.run_type
), runs AS (
	INSERT INTO gatehouse_runs (seq, id, run_type, type_seq, user_id, at)
	SELECT seq, id, run_type, type_seq, user_id, at FROM numbered
)
INSERT INTO gatehouse_run_entries (run_seq, idx, entry_key, entry_value, number, is_numeric, at)
SELECT n.seq, e.idx, e.entry_key, e.entry_value, e.number, e.is_numeric, e.at
FROM unnest($5::bigint[], $6::integer[], $7::text[], $8::text[], $9::double precision[], $10::boolean[], $11::timestamptz[])
	AS e(run_ord, idx, entry_key, entry_value, number, is_numeric, at)
JOIN numbered n ON n.ord = e.run_ord`

// insertRunsArrays is AppendRuns on PostgreSQL: pgBatchInsert over runs.
func (s *Store) insertRunsArrays(ctx context.Context, q querier, runs []store.Run) error {
	n := len(runs)
	ids, types, users, ats := make([]string, n), make([]string, n), make([]string, n), make([]time.Time, n)
	var (
		eRuns        = []int64{}
		eIdx         = []int32{}
		eKeys, eVals = []string{}, []string{}
		eNums        = []float64{}
		eNumeric     = []bool{}
		eAts         = []*time.Time{}
	)
	for i := range runs {
		r := &runs[i]
		ids[i], types[i], users[i], ats[i] = r.ID, r.Type, r.UserID, r.Time.UTC().Truncate(time.Microsecond)
		for j := range r.Entries {
			e := &r.Entries[j]
			eRuns, eIdx, eKeys, eVals = append(eRuns, int64(i+1)), append(eIdx, int32(j)), append(eKeys, e.Key), append(eVals, e.Value)
			eNums, eNumeric = append(eNums, e.Number), append(eNumeric, e.Numeric)
			var at *time.Time
			if !e.Time.IsZero() {
				t := e.Time.UTC().Truncate(time.Microsecond)
				at = &t
			}
			eAts = append(eAts, at)
		}
	}
	_, err := q.rawExec(ctx, pgBatchInsert, ids, types, users, ats, eRuns, eIdx, eKeys, eVals, eNums, eNumeric, eAts)
	return conflict(err)
}

// reserveRunSeqs adds n to the sequence row of typ ("" for the whole log),
// creating it when missing, and returns its new last value: the caller
// owns last-n+1 through last. The row stays locked until the transaction
// ends.
func (s *Store) reserveRunSeqs(ctx context.Context, q querier, typ string, n int64) (last int64, err error) {
	if s.d == MySQL {
		query := "INSERT INTO gatehouse_run_seqs (run_type, last) VALUES (?, LAST_INSERT_ID(?)) ON DUPLICATE KEY UPDATE last = LAST_INSERT_ID(last + ?)"
		args := []any{typ, n, n}
		if typ == "" {
			query, args = "UPDATE gatehouse_run_seqs SET last = LAST_INSERT_ID(last + ?) WHERE run_type = ''", []any{n}
		}
		res, err := q.rawExec(ctx, query, args...)
		if err != nil {
			return 0, err
		}
		return res.LastInsertId()
	}
	query := "INSERT INTO gatehouse_run_seqs (run_type, last) VALUES (?, ?) ON CONFLICT (run_type) DO UPDATE SET last = gatehouse_run_seqs.last + ? RETURNING last"
	args := []any{typ, n, n}
	if typ == "" {
		query, args = "UPDATE gatehouse_run_seqs SET last = last + ? WHERE run_type = '' RETURNING last", []any{n}
	}
	err = q.rawRow(ctx, query, args...).Scan(&last)
	return last, err
}

// The upsert of reserveSQLiteSeqs, without its VALUES rows.
const (
	runSeqsUpsert    = "INSERT INTO gatehouse_run_seqs (run_type, last) VALUES "
	runSeqsReturning = " ON CONFLICT (run_type) DO UPDATE SET last = gatehouse_run_seqs.last + excluded.last RETURNING run_type, last"
)

// reserveSQLiteSeqs is reserveRunSeqs for a whole batch on SQLite, in one
// statement instead of one per sequence row: an upsert of the log's row
// ("", n) and of each type's (typ, count[typ]) that returns every row's
// new last. It returns the first seq of the batch and, per type, the first
// type_seq. (The write lock is the database's, so the order in which the
// rows are updated does not matter.) A batch of one type, the usual one,
// runs a prepared statement.
func (s *Store) reserveSQLiteSeqs(ctx context.Context, q querier, n int64, types []string, count map[string]int64) (first int64, next map[string]int64, err error) {
	args := make([]any, 0, 1+2*len(types))
	args = append(args, n)
	for _, typ := range types {
		args = append(args, typ, count[typ])
	}
	var rows *sql.Rows
	if len(types) == 1 {
		rows, err = q.query(ctx, qRunSeqsOneType, args...)
	} else {
		values := "('', ?)" + strings.Repeat(", (?, ?)", len(types))
		rows, err = q.rawQuery(ctx, runSeqsUpsert+values+runSeqsReturning, args...)
	}
	if err != nil {
		return 0, nil, err
	}
	next = make(map[string]int64, len(types))
	seen := false
	for rows.Next() {
		var typ string
		var last int64
		if err := rows.Scan(&typ, &last); err != nil {
			rows.Close()
			return 0, nil, err
		}
		if typ == "" {
			first, seen = last-n+1, true
		} else {
			next[typ] = last - count[typ] + 1
		}
	}
	if err := closeRows(rows); err != nil {
		return 0, nil, err
	}
	if !seen || len(next) != len(types) {
		return 0, nil, fmt.Errorf("reserving seqs: %d type rows of %d returned, the log's: %t", len(next), len(types), seen)
	}
	return first, next, nil
}

// insertRows inserts args, rows of cols values each, into table with the
// prepared statements of batchRowSizes, each chunk the largest that fits.
func insertRows(ctx context.Context, q querier, table, cols int, args []any) error {
	for i, n := range batchRowSizes {
		for len(args) >= n*cols {
			if _, err := q.exec(ctx, rowsQID(table, i), args[:n*cols]...); err != nil {
				return err
			}
			args = args[n*cols:]
		}
	}
	return nil
}

// valueRows returns rows parenthesized groups of cols placeholders,
// separated by commas.
func valueRows(cols, rows int) string {
	row := "(" + strings.Repeat("?, ", cols-1) + "?)"
	var b strings.Builder
	b.Grow(rows * (len(row) + 2))
	for i := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	return b.String()
}
