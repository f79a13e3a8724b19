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
	for i, r := range rs {
		if r == nil {
			return wrap("append runs", fmt.Errorf("run %d is nil", i))
		}
	}
	if s.d == Postgres {
		// One statement, atomic by itself: on the pool, outside a
		// transaction (one round trip instead of five). Its arguments
		// are copies of rs, made afresh for each attempt, so rs is not
		// copied first.
		if err := s.prepare(ctx); err != nil {
			return wrap("append runs", err)
		}
		err := retry(ctx, func() error { return s.insertRunsArrays(ctx, querier{s: s}, rs) })
		return wrap("append runs", err)
	}
	runs := make([]store.Run, len(rs))
	for i, r := range rs {
		runs[i] = *r
		runs[i].Entries = slices.Clone(r.Entries)
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
// type rows' upsert joins its result, so it cannot run before it: the lock
// order of AppendRun), then inserts the runs, numbered in array order, and
// their entries, which name their run by its index in the arrays.
//
// The client does the counting (insertRunsArrays): the batch's size ($1),
// its distinct types with their counts ($2, $3), and for each run the
// index of its type in those arrays and its rank among the batch's runs
// of that type ($5, $6), so that the server only adds them to the
// sequences it reserves, without sorting, grouping or joining the runs
// with the entries. An entry takes its run's time from the runs' array
// ($8) unless it has one of its own ($15, $16). The text columns ($4, $7,
// $11, $12) come as array literals (pgTextArray).
const pgBatchInsert = `WITH log AS (
	UPDATE gatehouse_run_seqs SET last = last + $1 WHERE run_type = '' RETURNING last - $1 AS base
), per_type AS (
	INSERT INTO gatehouse_run_seqs (run_type, last)
	SELECT c.run_type, c.n FROM unnest($2::text[], $3::bigint[]) AS c(run_type, n) CROSS JOIN log
	ON CONFLICT (run_type) DO UPDATE SET last = gatehouse_run_seqs.last + EXCLUDED.last
	RETURNING run_type, last
), runs AS (
	INSERT INTO gatehouse_runs (seq, id, run_type, type_seq, user_id, at)
	SELECT log.base + r.ord, r.id, t.run_type, t.last - ($3::bigint[])[r.type_ord] + r.type_rank, r.user_id, r.at
	FROM unnest($4::text[], $5::integer[], $6::bigint[], $7::text[], $8::timestamptz[]) WITH ORDINALITY AS r(id, type_ord, type_rank, user_id, at, ord)
	CROSS JOIN log JOIN per_type t ON t.run_type = ($2::text[])[r.type_ord]
)
INSERT INTO gatehouse_run_entries (run_seq, idx, entry_key, entry_value, number, is_numeric, at)
SELECT log.base + e.run_ord, e.idx, e.entry_key, e.entry_value, e.number, e.is_numeric,
	CASE WHEN e.own_at THEN e.at ELSE ($8::timestamptz[])[e.run_ord] END
FROM unnest($9::integer[], $10::integer[], $11::text[], $12::text[], $13::double precision[], $14::boolean[], $15::boolean[], $16::timestamptz[])
	AS e(run_ord, idx, entry_key, entry_value, number, is_numeric, own_at, at)
CROSS JOIN log`

// insertRunsArrays is AppendRuns on PostgreSQL: pgBatchInsert over runs.
// Its arguments are built with few allocations, whatever the batch's
// size: the driver boxes each element of an array argument, so the text
// columns go as one literal each, and the entries' times, nearly always
// their run's, as NULLs.
func (s *Store) insertRunsArrays(ctx context.Context, q querier, runs []*store.Run) error {
	n := len(runs)
	var (
		typeNames  []string
		typeCounts []int64
		typeOrd    = make([]int32, n)
		typeRank   = make([]int64, n)
		ats        = make([]time.Time, n)
		ids, users pgTextArray
		entries    int
		idBytes    int
		userBytes  int
	)
	for i := range runs {
		r := runs[i]
		k := slices.Index(typeNames, r.Type) // a batch has few types
		if k < 0 {
			k = len(typeNames)
			typeNames, typeCounts = append(typeNames, r.Type), append(typeCounts, 0)
		}
		typeCounts[k]++
		typeOrd[i], typeRank[i] = int32(k+1), typeCounts[k]
		ats[i] = r.Time.UTC().Truncate(time.Microsecond)
		entries += len(r.Entries)
		idBytes += len(r.ID)
		userBytes += len(r.UserID)
	}
	ids.grow(n, idBytes)
	users.grow(n, userBytes)
	var keyBytes, valueBytes int
	for i := range runs {
		ids.add(runs[i].ID)
		users.add(runs[i].UserID)
		for j := range runs[i].Entries {
			keyBytes += len(runs[i].Entries[j].Key)
			valueBytes += len(runs[i].Entries[j].Value)
		}
	}
	var (
		eRuns    = make([]int32, 0, entries)
		eIdx     = make([]int32, 0, entries)
		eNums    = make([]float64, 0, entries)
		eNumeric = make([]bool, 0, entries)
		eOwn     = make([]bool, 0, entries)
		eAts     = make([]*time.Time, 0, entries)
		owned    []time.Time // the entries' own times, when any
		keys     pgTextArray
		values   pgTextArray
	)
	keys.grow(entries, keyBytes)
	values.grow(entries, valueBytes)
	for i := range runs {
		r := runs[i]
		for j := range r.Entries {
			e := &r.Entries[j]
			eRuns, eIdx = append(eRuns, int32(i+1)), append(eIdx, int32(j))
			keys.add(e.Key)
			values.add(e.Value)
			eNums, eNumeric = append(eNums, e.Number), append(eNumeric, e.Numeric)
			at := e.Time.UTC().Truncate(time.Microsecond)
			own := !at.Equal(ats[i]) // a zero time is its own: NULL
			var atp *time.Time
			if own && !e.Time.IsZero() {
				if owned == nil {
					owned = make([]time.Time, 0, entries)
				}
				owned = append(owned, at)
				atp = &owned[len(owned)-1]
			}
			eOwn, eAts = append(eOwn, own), append(eAts, atp)
		}
	}
	_, err := q.rawExec(ctx, pgBatchInsert, int64(n), typeNames, typeCounts, ids.String(), typeOrd, typeRank, users.String(), ats,
		eRuns, eIdx, keys.String(), values.String(), eNums, eNumeric, eOwn, eAts)
	return conflict(err)
}

// pgTextArray builds the text form of a PostgreSQL text[] (an array
// literal, which the server parses as it would the binary form): each
// element double-quoted, with backslashes before the quotes and
// backslashes in it, so that no element is ever read as NULL.
type pgTextArray struct{ b strings.Builder }

// grow makes room for n elements of size bytes in all.
func (a *pgTextArray) grow(n, size int) { a.b.Grow(size + 3*n + 2) }

func (a *pgTextArray) add(s string) {
	if a.b.Len() == 0 {
		a.b.WriteByte('{')
	} else {
		a.b.WriteByte(',')
	}
	a.b.WriteByte('"')
	for {
		i := strings.IndexAny(s, `"\`)
		if i < 0 {
			break
		}
		a.b.WriteString(s[:i])
		a.b.WriteByte('\\')
		a.b.WriteByte(s[i])
		s = s[i+1:]
	}
	a.b.WriteString(s)
	a.b.WriteByte('"')
}

// String returns the literal.
func (a *pgTextArray) String() string {
	if a.b.Len() == 0 {
		return "{}"
	}
	a.b.WriteByte('}')
	return a.b.String()
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
