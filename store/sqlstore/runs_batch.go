package sqlstore

import (
	"context"
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
	runs := make([]store.Run, len(rs))
	for i, r := range rs {
		if r == nil {
			return wrap("append runs", fmt.Errorf("run %d is nil", i))
		}
		runs[i] = *r
		runs[i].Entries = slices.Clone(r.Entries)
	}
	err := s.write(ctx, func(q querier) error { return s.insertRuns(ctx, q, runs) })
	return wrap("append runs", err)
}

// insertRuns is AppendRuns inside its transaction.
func (s *Store) insertRuns(ctx context.Context, q querier, runs []store.Run) error {
	n := int64(len(runs))
	last, err := s.reserveRunSeqs(ctx, q, "", n)
	if err != nil {
		return err
	}
	first := last - n + 1

	// The types in order of first appearance, and how many runs each has.
	var types []string
	count := make(map[string]int64)
	for i := range runs {
		if count[runs[i].Type] == 0 {
			types = append(types, runs[i].Type)
		}
		count[runs[i].Type]++
	}
	next := make(map[string]int64, len(types))
	for _, typ := range types {
		last, err := s.reserveRunSeqs(ctx, q, typ, count[typ])
		if err != nil {
			return err
		}
		next[typ] = last - count[typ] + 1
	}

	if s.d == Postgres {
		return s.insertRunsArrays(ctx, q, runs, first, next)
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

// pgBatchInsert inserts a batch's runs and entries on PostgreSQL in one
// statement whose text is the same for every batch size: its rows come as
// one array per column. So the server parses and plans it once per
// connection (the driver prepares and caches it), where a VALUES list
// would be a new statement, prepared anew, for nearly every batch.
const pgBatchInsert = "WITH runs AS (INSERT INTO gatehouse_runs (seq, id, run_type, type_seq, user_id, at) " +
	"SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::timestamptz[])) " +
	"INSERT INTO gatehouse_run_entries (run_seq, idx, entry_key, entry_value, number, is_numeric, at) " +
	"SELECT * FROM unnest($7::bigint[], $8::integer[], $9::text[], $10::text[], $11::double precision[], $12::boolean[], $13::timestamptz[])"

// insertRunsArrays is the INSERT of insertRuns on PostgreSQL: runs get the
// seqs from first on, and next[type] onwards among their type.
func (s *Store) insertRunsArrays(ctx context.Context, q querier, runs []store.Run, first int64, next map[string]int64) error {
	n := len(runs)
	seqs, ids, types, typeSeqs, users, ats := make([]int64, n), make([]string, n), make([]string, n), make([]int64, n), make([]string, n), make([]time.Time, n)
	var (
		eSeqs        []int64
		eIdx         []int32
		eKeys, eVals []string
		eNums        []float64
		eNumeric     []bool
		eAts         []*time.Time
	)
	for i := range runs {
		r := &runs[i]
		seq := first + int64(i)
		seqs[i], ids[i], types[i], typeSeqs[i], users[i], ats[i] = seq, r.ID, r.Type, next[r.Type], r.UserID, r.Time.UTC().Truncate(time.Microsecond)
		next[r.Type]++
		for j := range r.Entries {
			e := &r.Entries[j]
			eSeqs, eIdx, eKeys, eVals, eNums, eNumeric = append(eSeqs, seq), append(eIdx, int32(j)), append(eKeys, e.Key), append(eVals, e.Value), append(eNums, e.Number), append(eNumeric, e.Numeric)
			var at *time.Time
			if !e.Time.IsZero() {
				t := e.Time.UTC().Truncate(time.Microsecond)
				at = &t
			}
			eAts = append(eAts, at)
		}
	}
	if eSeqs == nil { // empty arrays, not NULL ones
		eSeqs, eIdx, eKeys, eVals, eNums, eNumeric, eAts = []int64{}, []int32{}, []string{}, []string{}, []float64{}, []bool{}, []*time.Time{}
	}
	_, err := q.rawExec(ctx, pgBatchInsert, seqs, ids, types, typeSeqs, users, ats, eSeqs, eIdx, eKeys, eVals, eNums, eNumeric, eAts)
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
