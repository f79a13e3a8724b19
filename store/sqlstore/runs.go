package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

// The runs' queries depend on the filter, so they are built per call
// (with placeholders only; no value is ever spliced in) and rebound then.

// runCols are the columns of a run row, aliased r.
const runCols = "r.seq, r.id, r.run_type, r.user_id, r.at"

// entryCols are the columns of an entry row, aliased e.
const entryCols = "e.entry_key, e.entry_value, e.number, e.is_numeric, e.at"

// rawExec and rawQuery run a query built for this call, inside the
// transaction or on the pool.
func (q querier) rawExec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	query = q.s.d.rebind(query)
	if q.tx != nil {
		q.turnOff(ctx, -1)
		return q.tx.ExecContext(ctx, query, args...)
	}
	return q.s.db.ExecContext(ctx, query, args...)
}

func (q querier) rawQuery(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	query = q.s.d.rebind(query)
	if q.tx != nil {
		q.turnOff(ctx, -1)
		return q.tx.QueryContext(ctx, query, args...)
	}
	return q.s.db.QueryContext(ctx, query, args...)
}

func (q querier) rawRow(ctx context.Context, query string, args ...any) *sql.Row {
	query = q.s.d.rebind(query)
	if q.tx != nil {
		q.turnOff(ctx, -1)
		return q.tx.QueryRowContext(ctx, query, args...)
	}
	return q.s.db.QueryRowContext(ctx, query, args...)
}

// AppendRun stores r and its entries in one transaction. Its place in the
// log (and among the runs of its type) is handed out under a lock on the
// log's sequence rows, so places are gapless and follow commit order. It
// returns [store.ErrConflict] when a run with r.ID exists.
func (s *Store) AppendRun(ctx context.Context, r *store.Run) error {
	ctx = store.DurableCommits(ctx)
	run := *r
	run.Entries = slices.Clone(r.Entries)
	err := s.write(ctx, func(q querier) error {
		seq, typeSeq, err := s.nextRunSeqs(ctx, q, run.Type)
		if err != nil {
			return err
		}
		runArgs := []any{seq, run.ID, run.Type, typeSeq, run.UserID, s.d.instant(run.Time)}
		if s.d == Postgres && len(run.Entries) > 0 && len(run.Entries) <= 100 {
			// One statement for the run and its entries.
			query, args := s.insertEntries(seq, run.Entries, 0)
			_, err := q.rawExec(ctx, "WITH run AS ("+templates[qRunInsert]+") "+query, append(runArgs, args...)...)
			return conflict(err)
		}
		if _, err := q.exec(ctx, qRunInsert, runArgs...); err != nil {
			return conflict(err)
		}
		const perStmt = 100
		for lo := 0; lo < len(run.Entries); lo += perStmt {
			query, args := s.insertEntries(seq, run.Entries[lo:min(lo+perStmt, len(run.Entries))], lo)
			if _, err := q.rawExec(ctx, query, args...); err != nil {
				return err
			}
		}
		return nil
	})
	return wrap("append run", err)
}

// insertEntries returns the INSERT of entries, the first of which has
// index first in its run.
func (s *Store) insertEntries(seq int64, entries []store.Entry, first int) (string, []any) {
	var sb strings.Builder
	sb.WriteString(s.d.rowsInsert("INSERT INTO gatehouse_run_entries (run_seq, idx, entry_key, entry_value, number, is_numeric, at) VALUES "))
	args := make([]any, 0, 7*len(entries))
	for i := range entries {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString("(?, ?, ?, ?, ?, ?, ?)")
		e := &entries[i]
		args = append(args, seq, first+i, e.Key, e.Value, e.Number, e.Numeric, s.d.nullable(e.Time))
	}
	return sb.String(), args
}

// nextRunSeqs hands out the next place in the log and the next among the
// runs of typ, locking both sequence rows (the log's first) until the
// transaction ends. It costs two statements: with RETURNING on PostgreSQL
// and SQLite, with LAST_INSERT_ID(expr) on MySQL.
func (s *Store) nextRunSeqs(ctx context.Context, q querier, typ string) (seq, typeSeq int64, err error) {
	if s.d == MySQL {
		res, err := q.exec(ctx, qRunSeq)
		if err == nil {
			seq, err = res.LastInsertId()
		}
		if err != nil {
			return 0, 0, err
		}
		res, err = q.exec(ctx, qRunTypeSeq, typ)
		if err == nil {
			typeSeq, err = res.LastInsertId()
		}
		return seq, typeSeq, err
	}
	if err := q.row(ctx, qRunSeq).Scan(&seq); err != nil {
		return 0, 0, err
	}
	err = q.row(ctx, qRunTypeSeq, typ).Scan(&typeSeq)
	return seq, typeSeq, err
}

// runWhere returns the conditions of f on runs aliased r, each starting
// with " AND ", and their arguments.
func (s *Store) runWhere(f store.RunFilter) (string, []any) {
	var sb strings.Builder
	var args []any
	in := func(col string, vals []string) {
		sb.WriteString(" AND " + col + " IN (" + inList(len(vals)) + ")")
		for _, v := range vals {
			args = append(args, v)
		}
	}
	if len(f.Types) > 0 {
		in("r.run_type", f.Types)
	}
	if len(f.UserIDs) > 0 {
		in("r.user_id", f.UserIDs)
	}
	if !f.Since.IsZero() {
		sb.WriteString(" AND r.at >= ?")
		args = append(args, s.d.instant(f.Since))
	}
	if !f.Until.IsZero() {
		sb.WriteString(" AND r.at < ?")
		args = append(args, s.d.instant(f.Until))
	}
	for _, k := range slices.Sorted(maps.Keys(f.Has)) {
		sb.WriteString(" AND EXISTS (SELECT 1 FROM gatehouse_run_entries h WHERE h.run_seq = r.seq AND h.entry_key = ? AND h.entry_value = ?)")
		args = append(args, k, f.Has[k])
	}
	return sb.String(), args
}

// ListRuns returns a page of the runs q selects, newest first, as
// [store.Runs] describes. Without a filter, or with exactly one type and
// nothing else, the page is found by arithmetic on the gapless sequence
// numbers, so a deep Offset costs no more than the first page.
func (s *Store) ListRuns(ctx context.Context, rq store.RunQuery) (*store.RunPage, error) {
	page, err := s.listRuns(ctx, rq)
	return page, wrap("list runs", err)
}

func (s *Store) listRuns(ctx context.Context, rq store.RunQuery) (*store.RunPage, error) {
	q, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	limit := rq.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	offset := int64(max(rq.Offset, 0))
	var (
		hasBefore     bool
		beforeSeq     int64
		beforeType    string
		beforeTypeSeq int64
	)
	if rq.Before != "" {
		err := q.rawRow(ctx, "SELECT seq, run_type, type_seq FROM gatehouse_runs WHERE id = ?", rq.Before).Scan(&beforeSeq, &beforeType, &beforeTypeSeq)
		if err != nil {
			return nil, notFound(err)
		}
		hasBefore = true
	}
	f := rq.RunFilter
	types := slices.Compact(slices.Sorted(slices.Values(f.Types)))
	plain := len(f.UserIDs) == 0 && f.Since.IsZero() && f.Until.IsZero() && len(f.Has) == 0
	page := &store.RunPage{Runs: []store.Run{}}
	var rows *sql.Rows
	switch {
	case plain && len(types) == 0:
		var lo, hi sql.NullInt64
		if err := q.rawRow(ctx, "SELECT (SELECT MIN(seq) FROM gatehouse_runs), (SELECT MAX(seq) FROM gatehouse_runs)").Scan(&lo, &hi); err != nil {
			return nil, err
		}
		if !lo.Valid {
			return page, nil
		}
		page.Total = int(hi.Int64 - lo.Int64 + 1)
		top := hi.Int64
		if hasBefore {
			top = beforeSeq - 1
		}
		rows, err = q.rawQuery(ctx, "SELECT "+runCols+" FROM gatehouse_runs r WHERE r.seq <= ? ORDER BY r.seq DESC LIMIT ?", top-offset, limit)
	case plain && len(types) == 1:
		t := types[0]
		var lo, hi sql.NullInt64
		if err := q.rawRow(ctx, "SELECT (SELECT MIN(type_seq) FROM gatehouse_runs WHERE run_type = ?), (SELECT MAX(type_seq) FROM gatehouse_runs WHERE run_type = ?)", t, t).Scan(&lo, &hi); err != nil {
			return nil, err
		}
		if !lo.Valid {
			return page, nil
		}
		page.Total = int(hi.Int64 - lo.Int64 + 1)
		top := hi.Int64
		if hasBefore {
			if beforeType == t {
				top = beforeTypeSeq - 1
			} else {
				var prev sql.NullInt64
				if err := q.rawRow(ctx, "SELECT MAX(type_seq) FROM gatehouse_runs WHERE run_type = ? AND seq < ?", t, beforeSeq).Scan(&prev); err != nil {
					return nil, err
				}
				if !prev.Valid {
					return page, nil
				}
				top = prev.Int64
			}
		}
		rows, err = q.rawQuery(ctx, "SELECT "+runCols+" FROM gatehouse_runs r WHERE r.run_type = ? AND r.type_seq <= ? ORDER BY r.type_seq DESC LIMIT ?", t, top-offset, limit)
	default:
		where, args := s.runWhere(f)
		var total int64
		if err := q.rawRow(ctx, "SELECT COUNT(*) FROM gatehouse_runs r WHERE 1 = 1"+where, args...).Scan(&total); err != nil {
			return nil, err
		}
		page.Total = int(total)
		if hasBefore {
			where += " AND r.seq < ?"
			args = append(args, beforeSeq)
		}
		args = append(args, limit, offset)
		rows, err = q.rawQuery(ctx, "SELECT "+runCols+" FROM gatehouse_runs r WHERE 1 = 1"+where+" ORDER BY r.seq DESC LIMIT ? OFFSET ?", args...)
	}
	if err != nil {
		return nil, err
	}
	var seqs []int64
	for rows.Next() {
		var (
			seq int64
			run store.Run
		)
		if err := rows.Scan(&seq, &run.ID, &run.Type, &run.UserID, timeCol{s.d, &run.Time}); err != nil {
			rows.Close()
			return nil, err
		}
		run.Entries = []store.Entry{}
		seqs = append(seqs, seq)
		page.Runs = append(page.Runs, run)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(seqs) == 0 {
		return page, nil
	}
	index := make(map[int64]int, len(seqs))
	args := make([]any, len(seqs))
	for i, seq := range seqs {
		index[seq] = i
		args[i] = seq
	}
	rows, err = q.rawQuery(ctx, "SELECT e.run_seq, "+entryCols+" FROM gatehouse_run_entries e WHERE e.run_seq IN ("+inList(len(seqs))+") ORDER BY e.run_seq, e.idx", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var seq int64
		var e store.Entry
		if err := rows.Scan(append([]any{&seq}, s.entryDest(&e)...)...); err != nil {
			return nil, err
		}
		r := &page.Runs[index[seq]]
		r.Entries = append(r.Entries, e)
	}
	return page, rows.Err()
}

// entryDest returns the scan destinations of entryCols into e.
func (s *Store) entryDest(e *store.Entry) []any {
	return []any{&e.Key, &e.Value, &e.Number, &e.Numeric, timeCol{s.d, &e.Time}}
}

// AggregateEntries computes the figures a asks for in SQL, from one
// consistent snapshot (a read-only transaction), as [store.Runs] describes.
// SumSquares is computed without the cancellation of Σx²−(Σx)²/n: on
// PostgreSQL as n·VAR_POP, in the pass that counts and sums; elsewhere in
// a second pass, the sum of squared deviations from the mean.
func (s *Store) AggregateEntries(ctx context.Context, a store.Aggregation) (*store.Aggregate, error) {
	agg, err := s.aggregate(ctx, a)
	return agg, wrap("aggregate entries", err)
}

func (s *Store) aggregate(ctx context.Context, a store.Aggregation) (*store.Aggregate, error) {
	if err := s.prepare(ctx); err != nil {
		return nil, err
	}
	opts := &sql.TxOptions{ReadOnly: true}
	if s.d != SQLite {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := s.db.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	q := querier{s: s, tx: tx}
	if s.d == Postgres {
		// pgx prepares these statements and PostgreSQL would switch to a
		// generic plan after five runs, one blind to how much of the log
		// the filter keeps (a nested loop of index lookups over half a
		// million entries for a day's window). Plan each with its values.
		if _, err := tx.ExecContext(ctx, "SET LOCAL plan_cache_mode = force_custom_plan"); err != nil {
			return nil, err
		}
	}

	where, fargs := s.runWhere(a.RunFilter)
	seqCond := " IN (SELECT r.seq FROM gatehouse_runs r WHERE 1 = 1" + where + ")"
	if lo, hi, ok, err := s.windowSeqs(ctx, q, a.RunFilter, where, fargs); err != nil {
		return nil, err
	} else if ok {
		// A time window only, whose runs are one range of the log: test
		// each entry's run_seq against the range, in the index itself.
		seqCond, fargs = " BETWEEN ? AND ?", []any{lo, hi}
	}
	args := append([]any{a.Key}, fargs...)
	// The population's entries. The figures need nothing of a run but its
	// selection, so they read an index alone (the one on (entry_key,
	// run_seq) or, for numbers, the one on (entry_key, is_numeric, number,
	// run_seq)) and, with a run filter, test each entry's run against the
	// selected runs.
	selected := func(seqCol string) string {
		if where == "" {
			return " WHERE e.entry_key = ?"
		}
		return " WHERE e.entry_key = ? AND " + seqCol + seqCond
	}
	population := func(seqCol string) string { return " FROM gatehouse_run_entries e" + selected(seqCol) }
	pop := population("e.run_seq")
	numeric := pop + " AND e.is_numeric = TRUE"
	out := &store.Aggregate{}

	var (
		entries, numbers        int64
		sum, lo, hi, squaredDev sql.NullFloat64
	)
	needNumbers := a.Summary || len(a.Quantiles) > 0 || a.TopNumbers > 0
	switch {
	case s.d == Postgres && needNumbers:
		// One pass over the population for every count and sum. The sum
		// of squared deviations is n·VAR_POP, which PostgreSQL (12 and
		// later) computes in the same pass by updating it at each value
		// (Youngs–Cramer), as exact as the mean-then-deviations of the
		// other dialects and a pass cheaper.
		squares := "NULL"
		if a.Summary {
			squares = "COUNT(*) FILTER (WHERE e.is_numeric) * VAR_POP(e.number) FILTER (WHERE e.is_numeric)"
		}
		if err := q.rawRow(ctx, "SELECT COUNT(*), COUNT(*) FILTER (WHERE e.is_numeric),"+
			" SUM(e.number) FILTER (WHERE e.is_numeric), MIN(e.number) FILTER (WHERE e.is_numeric), MAX(e.number) FILTER (WHERE e.is_numeric), "+
			squares+pop, args...).Scan(&entries, &numbers, &sum, &lo, &hi, &squaredDev); err != nil {
			return nil, err
		}
	default:
		// Two counts, each over an index that covers it: the numeric
		// entries are all that the index on numbers holds. Only the
		// summary, the quantiles and the top numbers need the second.
		if err := q.rawRow(ctx, "SELECT COUNT(*)"+pop, args...).Scan(&entries); err != nil {
			return nil, err
		}
		if needNumbers {
			if err := q.rawRow(ctx, "SELECT COUNT(*), SUM(e.number), MIN(e.number), MAX(e.number)"+numeric, args...).Scan(&numbers, &sum, &lo, &hi); err != nil {
				return nil, err
			}
		}
		if a.Summary && numbers > 0 {
			mean := sum.Float64 / float64(numbers)
			if err := q.rawRow(ctx, "SELECT SUM((e.number - ?) * (e.number - ?))"+numeric, append([]any{mean, mean}, args...)...).Scan(&squaredDev); err != nil {
				return nil, err
			}
		}
	}
	if a.Summary {
		out.Summary = store.Summary{Entries: int(entries), Numbers: int(numbers), Sum: sum.Float64, Min: lo.Float64, Max: hi.Float64, SumSquares: squaredDev.Float64}
	}
	// The figures that walk the numbers in order (quantiles, the mode)
	// either walk the index, testing each entry's run, or look the
	// selected entries up by run and sort them. PostgreSQL and MySQL weigh
	// the two; SQLite's planner, without histograms, sorts even when the
	// filter keeps most of the population, which costs seconds at a
	// million entries. So on SQLite the walk is forced (the unary + keeps
	// the run_seq index out) when the selection is at least a tenth of
	// the key's numbers, which is about where sorting starts to cost more.
	ordered := numeric
	if s.d == SQLite && where != "" && numbers > 0 && (len(a.Quantiles) > 0 || a.TopNumbers > 0) {
		var all int64
		if err := q.rawRow(ctx, "SELECT COUNT(*) FROM gatehouse_run_entries e WHERE e.entry_key = ? AND e.is_numeric = TRUE", a.Key).Scan(&all); err != nil {
			return nil, err
		}
		if numbers*10 >= all {
			ordered = population("+e.run_seq") + " AND e.is_numeric = TRUE"
		}
	}
	if len(a.Quantiles) > 0 && numbers > 0 {
		for _, qt := range a.Quantiles {
			r0, r1 := store.QuantileRanks(qt, int(numbers))
			rows, err := q.rawQuery(ctx, "SELECT e.number"+ordered+" ORDER BY e.number LIMIT ? OFFSET ?", append(args, r1-r0+1, r0)...)
			vals, err := scanAll(rows, err, func(rows *sql.Rows, x *float64) error { return rows.Scan(x) })
			if err != nil {
				return nil, err
			}
			if len(vals) != r1-r0+1 {
				return nil, fmt.Errorf("quantile %v: %d values at ranks %d-%d", qt, len(vals), r0, r1)
			}
			out.Quantiles = append(out.Quantiles, store.Quantile{Lower: vals[0], Upper: vals[len(vals)-1]})
		}
	}
	if a.TopNumbers > 0 && numbers > 0 {
		rows, err := q.rawQuery(ctx, "SELECT e.number, COUNT(*) AS c"+ordered+" GROUP BY e.number ORDER BY c DESC, e.number ASC LIMIT ?", append(args, a.TopNumbers)...)
		out.TopNumbers, err = scanAll(rows, err, func(rows *sql.Rows, nc *store.NumberCount) error {
			return rows.Scan(&nc.Number, &nc.Count)
		})
		if err != nil {
			return nil, err
		}
	}
	if a.TopValues > 0 && entries > 0 {
		rows, err := q.rawQuery(ctx, "SELECT e.entry_value, COUNT(*) AS c"+pop+" GROUP BY e.entry_value ORDER BY c DESC, e.entry_value ASC LIMIT ?", append(args, a.TopValues)...)
		out.TopValues, err = scanAll(rows, err, func(rows *sql.Rows, vc *store.ValueCount) error {
			return rows.Scan(&vc.Value, &vc.Count)
		})
		if err != nil {
			return nil, err
		}
	}
	if len(a.Edges) > 0 {
		var sb strings.Builder
		var hargs []any
		bin := func(cond string, edges ...float64) {
			if sb.Len() > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString("COALESCE(SUM(CASE WHEN " + cond + " THEN 1 ELSE 0 END), 0)")
			for _, e := range edges {
				hargs = append(hargs, e)
			}
		}
		bin("e.number < ?", a.Edges[0])
		for i := 1; i < len(a.Edges); i++ {
			bin("e.number >= ? AND e.number < ?", a.Edges[i-1], a.Edges[i])
		}
		bin("e.number >= ?", a.Edges[len(a.Edges)-1])
		counts := make([]int64, len(a.Edges)+1)
		dest := make([]any, len(counts))
		for i := range counts {
			dest[i] = &counts[i]
		}
		if err := q.rawRow(ctx, "SELECT "+sb.String()+numeric, append(hargs, args...)...).Scan(dest...); err != nil {
			return nil, err
		}
		out.Histogram = make([]int, len(counts))
		for i, c := range counts {
			out.Histogram[i] = int(c)
		}
	}
	if a.Latest > 0 && entries > 0 {
		rows, err := q.rawQuery(ctx, "SELECT r.id, r.run_type, r.user_id, e.run_seq, e.idx, "+entryCols+
			" FROM gatehouse_run_entries e JOIN gatehouse_runs r ON r.seq = e.run_seq"+selected("e.run_seq")+
			" ORDER BY e.run_seq DESC, e.idx DESC LIMIT ?", append(args, a.Latest)...)
		type ranked struct {
			seq int64
			idx int
			le  store.LoggedEntry
		}
		latest, err := scanAll(rows, err, func(rows *sql.Rows, r *ranked) error {
			return rows.Scan(append([]any{&r.le.RunID, &r.le.RunType, &r.le.UserID, &r.seq, &r.idx}, s.entryDest(&r.le.Entry)...)...)
		})
		if err != nil {
			return nil, err
		}
		// Newest run first; within a run, the run's own order.
		slices.SortFunc(latest, func(x, y ranked) int {
			if c := cmp.Compare(y.seq, x.seq); c != 0 {
				return c
			}
			return cmp.Compare(x.idx, y.idx)
		})
		for _, r := range latest {
			out.Latest = append(out.Latest, r.le)
		}
	}
	return out, tx.Commit()
}

// windowSeqs translates a filter that is only a time window (Since,
// Until, or both; where and args are its conditions) into the range of
// seqs lo..hi of its runs, when they are one: the log's seqs are gapless,
// so when the n runs in the window have seqs spanning exactly n places,
// every run in that span is in the window. Runs are appended in about
// time order, so a window is one range unless runs were recorded with
// clocks out of step; then ok is false and the caller selects runs by
// time. An empty window is the empty range 1..0.
func (s *Store) windowSeqs(ctx context.Context, q querier, f store.RunFilter, where string, args []any) (lo, hi int64, ok bool, err error) {
	if len(f.Types) > 0 || len(f.UserIDs) > 0 || len(f.Has) > 0 || f.Since.IsZero() && f.Until.IsZero() {
		return 0, 0, false, nil
	}
	var n int64
	var min, max sql.NullInt64
	if err := q.rawRow(ctx, "SELECT COUNT(*), MIN(r.seq), MAX(r.seq) FROM gatehouse_runs r WHERE 1 = 1"+where, args...).Scan(&n, &min, &max); err != nil {
		return 0, 0, false, err
	}
	if n == 0 {
		return 1, 0, true, nil
	}
	if max.Int64-min.Int64+1 != n {
		return 0, 0, false, nil
	}
	return min.Int64, max.Int64, true, nil
}

// scanAll reads every row of a query's result (rows and err, as the query
// returned them) with scan, and closes rows. The result is nil when there
// are no rows.
func scanAll[T any](rows *sql.Rows, err error, scan func(*sql.Rows, *T) error) ([]T, error) {
	if err != nil {
		return nil, err
	}
	var out []T
	for rows.Next() {
		var x T
		if err := scan(rows, &x); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, x)
	}
	return out, closeRows(rows)
}

// closeRows closes rows and returns the first error of the iteration or
// the close.
func closeRows(rows *sql.Rows) error {
	err := rows.Err()
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	return err
}

// CountRunsByUser counts, per user, the runs f selects, as [store.Runs]
// describes, with one GROUP BY.
func (s *Store) CountRunsByUser(ctx context.Context, f store.RunFilter) (map[string]int, error) {
	counts, err := s.countRunsByUser(ctx, f)
	return counts, wrap("count runs by user", err)
}

func (s *Store) countRunsByUser(ctx context.Context, f store.RunFilter) (map[string]int, error) {
	q, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	where, args := s.runWhere(f)
	rows, err := q.rawQuery(ctx, "SELECT r.user_id, COUNT(*) FROM gatehouse_runs r WHERE r.user_id <> ''"+where+" GROUP BY r.user_id", args...)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int)
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			rows.Close()
			return nil, err
		}
		out[id] = n
	}
	return out, closeRows(rows)
}

// DeleteRunsBefore deletes runs from the front of the log while their Time
// is before before, as [store.Runs] describes, in one transaction. It walks
// the oldest runs in batches, so it costs what it deletes.
func (s *Store) DeleteRunsBefore(ctx context.Context, before time.Time) (int, error) {
	before = before.UTC().Truncate(time.Microsecond)
	var n int
	err := s.write(ctx, func(q querier) error {
		n = 0
		// Lock the log's sequence, so appends and other purges wait.
		if _, err := q.rawExec(ctx, "UPDATE gatehouse_run_seqs SET last = last WHERE run_type = ''"); err != nil {
			return err
		}
		const batch = 500
		cut, after := int64(-1), int64(-1)
		for done := false; !done; {
			rows, err := q.rawQuery(ctx, "SELECT seq, at FROM gatehouse_runs WHERE seq > ? ORDER BY seq LIMIT ?", after, batch)
			if err != nil {
				return err
			}
			got := 0
			for rows.Next() {
				var seq int64
				var at time.Time
				if err := rows.Scan(&seq, timeCol{s.d, &at}); err != nil {
					rows.Close()
					return err
				}
				got++
				after = seq
				if done {
					continue
				}
				if !at.Before(before) {
					done = true
					continue
				}
				cut = seq
				n++
			}
			if err := closeRows(rows); err != nil {
				return err
			}
			if got < batch {
				done = true
			}
		}
		if n == 0 {
			return nil
		}
		if _, err := q.rawExec(ctx, "DELETE FROM gatehouse_run_entries WHERE run_seq <= ?", cut); err != nil {
			return err
		}
		_, err := q.rawExec(ctx, "DELETE FROM gatehouse_runs WHERE seq <= ?", cut)
		return err
	})
	if err != nil {
		return 0, wrap("delete runs before", err)
	}
	return n, nil
}
