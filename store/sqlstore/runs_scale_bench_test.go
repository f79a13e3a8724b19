package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/audit"
	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/sqlstore"
)

// The audit log BenchmarkRunsScale loads: 125,000 RETRIEVAL runs of eight
// search_latency entries each (1,000,000 entries of one key), and after
// every fifth of them an AUTH run of four entries (25,000 runs, 100,000
// entries): 150,000 runs and 1,100,000 entries in all.
const (
	scaleSearchRuns  = 125_000
	scaleSearchEntry = 8
	scaleAuthEvery   = 5
	scaleRuns        = scaleSearchRuns + scaleSearchRuns/scaleAuthEvery
)

// scaleRun returns the i-th run of the log BenchmarkRunsScale loads, with
// its place among the runs of its type.
func scaleRun(i int, rng *rand.Rand) (r *store.Run, typeSeq int) {
	at := benchBase.Add(time.Duration(i) * time.Second)
	r = &store.Run{ID: fmt.Sprintf("d0000000-0000-4000-8000-%012d", i), UserID: benchUser(i % 1000).ID, Time: at}
	// Runs come in blocks of scaleAuthEvery RETRIEVAL runs and one AUTH run.
	block, pos := i/(scaleAuthEvery+1), i%(scaleAuthEvery+1)
	if pos == scaleAuthEvery {
		r.Type = "AUTH"
		r.Entries = []store.Entry{
			{Key: "event", Value: "login", Time: at}, {Key: "outcome", Value: "success", Time: at},
			{Key: "ip", Value: "192.0.2.1", Time: at}, {Key: "login_latency", Value: "0.1", Number: 0.1, Numeric: true, Time: at},
		}
		return r, block + 1
	}
	r.Type = "RETRIEVAL"
	r.Entries = make([]store.Entry, scaleSearchEntry)
	for j := range r.Entries {
		x := float64(rng.IntN(5000)) / 1000 // latencies in 1 ms steps below 5 s
		r.Entries[j] = store.Entry{Key: "search_latency", Value: strconv.FormatFloat(x, 'f', -1, 64), Number: x, Numeric: true, Time: at}
	}
	return r, block*scaleAuthEvery + pos + 1
}

// loadRuns inserts the log scaleRun describes with multi-row INSERTs (what
// AppendRun would write, a hundred times faster), sets the sequence rows
// as AppendRun would have left them and settles the database.
func loadRuns(ctx context.Context, db *sql.DB, d sqlstore.Dialect) error {
	const runsPerStmt, stmtsPerTx = 500, 10
	rng := rand.New(rand.NewPCG(1, 2))
	for first := 0; first < scaleRuns; first += runsPerStmt * stmtsPerTx {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		for lo := first; lo < min(scaleRuns, first+runsPerStmt*stmtsPerTx); lo += runsPerStmt {
			hi := min(scaleRuns, lo+runsPerStmt)
			var runs, entries []any
			for i := lo; i < hi; i++ {
				r, typeSeq := scaleRun(i, rng)
				seq := i + 1
				runs = append(runs, seq, r.ID, r.Type, typeSeq, r.UserID, instant(d, r.Time))
				for k, e := range r.Entries {
					entries = append(entries, seq, k, e.Key, e.Value, e.Number, e.Numeric, instant(d, e.Time))
				}
			}
			if _, err := tx.ExecContext(ctx, "INSERT INTO gatehouse_runs (seq, id, run_type, type_seq, user_id, at) VALUES "+
				valuesList(d, len(runs)/6, 6), runs...); err != nil {
				tx.Rollback()
				return err
			}
			if _, err := tx.ExecContext(ctx, "INSERT INTO gatehouse_run_entries (run_seq, idx, entry_key, entry_value, number, is_numeric, at) VALUES "+
				valuesList(d, len(entries)/7, 7), entries...); err != nil {
				tx.Rollback()
				return err
			}
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	if _, err := db.ExecContext(ctx, "DELETE FROM gatehouse_run_seqs"); err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO gatehouse_run_seqs (run_type, last) VALUES "+valuesList(d, 3, 2),
		"", scaleRuns, "RETRIEVAL", scaleSearchRuns, "AUTH", scaleSearchRuns/scaleAuthEvery); err != nil {
		return err
	}
	return settle(ctx, db, d)
}

// BenchmarkRunsScale measures the superuser's audit-log reads through the
// Manager over a log of 1,100,000 entries (see scaleRun) on SQLite and
// PostgreSQL:
//
//   - Analytics/basic_statistics: R2R's basic_statistics (mean, median,
//     mode, standard deviation, variance) over the 1,000,000 search_latency
//     entries, with the default 100 filtered logs. The target is under a
//     second. window=day restricts it to the runs of the last day, which
//     the statistics reach through a join with the runs.
//
//   - Logs: a page of 100 runs at the front, the middle and the end of the
//     log, unfiltered and filtered by one type. The target is the deep
//     pages costing about what the first does: compare with
//
//     benchstat -col /page
//
// It loads the log once per run (a minute or two) and only when
// GATEHOUSE_BENCH_LARGE=1; run it with -timeout 60m.
func BenchmarkRunsScale(b *testing.B) {
	if os.Getenv(largeEnv) != "1" {
		b.Skipf("set %s=1 to load 1,100,000 audit-log entries and run this benchmark", largeEnv)
	}
	for _, d := range []sqlstore.Dialect{sqlstore.SQLite, sqlstore.Postgres} {
		b.Run(d.String(), func(b *testing.B) {
			db := large.open(b, d, "runs", func(ctx context.Context, db *sql.DB) error { return loadRuns(ctx, db, d) })
			s, err := sqlstore.New(db, d)
			if err != nil {
				b.Fatal(err)
			}
			m, _ := newManager(b, s)
			reader, err := audit.NewReader(m, s)
			if err != nil {
				b.Fatal(err)
			}
			ctx := b.Context()
			admin := scaleSuperuser(b, m)
			for _, w := range []struct {
				name  string
				since time.Time
			}{
				{"all", time.Time{}},
				// The last day of the log's 41⅔ hours: 58% of the entries,
				// selected through their runs (a join, not the index alone).
				{"day", benchBase.Add(scaleRuns*time.Second - 24*time.Hour)},
			} {
				b.Run("Analytics/basic_statistics/window="+w.name, func(b *testing.B) {
					q := audit.AnalyticsQuery{
						Populations: map[string]audit.Population{"search_latencies": {Key: "search_latency"}},
						Analyses:    map[string][]string{"search_latencies": {audit.AnalysisBasicStatistics, "search_latency"}},
						Since:       w.since,
					}
					for b.Loop() {
						out, err := reader.Analytics(ctx, admin, q)
						if err != nil {
							b.Fatal(err)
						}
						if st := out.Analyses["search_latencies"].(*audit.BasicStatistics); st.Mean == nil || *st.Mean < 2.4 || *st.Mean > 2.6 {
							b.Fatalf("basic_statistics = %+v; want a mean near 2.5", st)
						}
						if n := len(out.FilteredLogs["search_latencies"]); n != auth.DefaultPageSize {
							b.Fatalf("%d filtered logs; want %d", n, auth.DefaultPageSize)
						}
					}
				})
			}
			for _, f := range []struct {
				name  string
				types []string
			}{{"all", nil}, {"RETRIEVAL", []string{"RETRIEVAL"}}} {
				const limit = 100
				// The superuser's own AUTH runs (its creation, its logins)
				// come on top of the loaded ones.
				first, err := reader.Logs(ctx, admin, audit.LogsQuery{RunTypes: f.types, Limit: 1})
				if err != nil {
					b.Fatal(err)
				}
				if first.Total < scaleRuns && f.types == nil || first.Total != scaleSearchRuns && f.types != nil {
					b.Fatalf("%s: Total %d runs; the loaded log has %d, of which %d RETRIEVAL", f.name, first.Total, scaleRuns, scaleSearchRuns)
				}
				total := first.Total
				for _, p := range []struct {
					name   string
					offset int
				}{{"first", 0}, {"middle", total / 2}, {"last", total - limit}} {
					b.Run(fmt.Sprintf("Logs/type=%s/page=%s", f.name, p.name), func(b *testing.B) {
						for b.Loop() {
							page, err := reader.Logs(ctx, admin, audit.LogsQuery{RunTypes: f.types, Offset: p.offset, Limit: limit})
							if err != nil {
								b.Fatal(err)
							}
							if len(page.Runs) != limit || page.Total < total {
								b.Fatalf("page of %d runs, Total %d; want %d, at least %d", len(page.Runs), page.Total, limit, total)
							}
						}
					})
				}
			}
		})
	}
}

// scaleSuperuser returns the identity of a superuser of m.
func scaleSuperuser(b *testing.B, m *auth.Manager) *auth.Identity {
	b.Helper()
	ctx := b.Context()
	const email, password = "root@example.com", "correct horse battery staple"
	if _, err := m.EnsureSuperuser(ctx, email, password); err != nil {
		b.Fatal(err)
	}
	res, err := m.Login(ctx, email, password)
	if err != nil {
		b.Fatal(err)
	}
	id, err := m.Authenticate(ctx, res.Tokens.AccessToken)
	if err != nil {
		b.Fatal(err)
	}
	return id
}
