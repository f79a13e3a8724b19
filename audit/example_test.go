package audit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/gatehouse-go/gatehouse/audit"
	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/store/memstore"
)

// exampleKey stands in for a key loaded from configuration: at least 32
// random bytes.
var exampleKey = testKey

// An application wires a Recorder into its Manager, records runs of its
// own, and a superuser analyses them with R2R's analytics: here the
// latencies of a search.
func ExampleReader_Analytics() {
	ctx := context.Background()
	st := memstore.New()
	now := func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
	rec, err := audit.New(audit.Config{Runs: st, Now: now})
	if err != nil {
		fmt.Println(err)
		return
	}
	m, err := auth.New(auth.Config{Store: st, Mailer: mail.Discard{}, Tokens: auth.TokenConfig{SigningKey: exampleKey}, Now: now, Audit: rec})
	if err != nil {
		fmt.Println(err)
		return
	}
	reader, err := audit.NewReader(m, st)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, d := range []time.Duration{120 * time.Millisecond, 80 * time.Millisecond, 80 * time.Millisecond, 300 * time.Millisecond} {
		rec.RecordRun(ctx, "RETRIEVAL", audit.Entry("search_latency", d), audit.Entry("query", "golang"))
	}

	m.EnsureSuperuser(ctx, "root@example.com", "correct horse battery staple")
	res, _ := m.Login(ctx, "root@example.com", "correct horse battery staple")
	admin, _ := m.Authenticate(ctx, res.Tokens.AccessToken)

	out, err := reader.Analytics(ctx, admin, audit.AnalyticsQuery{
		Populations: map[string]audit.Population{"search_latencies": {Key: "search_latency"}},
		Analyses:    map[string][]string{"search_latencies": {"basic_statistics", "search_latency"}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	b, _ := json.Marshal(out.Analyses["search_latencies"])
	fmt.Println(string(b))

	// A population that no filter defines is an error, not a silent skip.
	_, err = reader.Analytics(ctx, admin, audit.AnalyticsQuery{
		Analyses: map[string][]string{"search_latencies": {"percentile", "search_latency", "95"}},
	})
	fmt.Println(err)
	// Output:
	// {"Mean":0.145,"Median":0.1,"Mode":0.08,"Standard Deviation":0.105,"Variance":0.011}
	// auth: analysis_types.search_latencies: population "search_latencies" is not defined by any filter
}

// Applications purge old runs on a schedule of their own; the Recorder
// starts no goroutines. Config.Retention says how old is old.
func ExampleRecorder_Purge() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rec, err := audit.New(audit.Config{Runs: memstore.New(), Retention: 30 * 24 * time.Hour})
	if err != nil {
		slog.Error("configuring the audit log", "err", err)
		return
	}

	go func() {
		ticker := time.NewTicker(time.Hour)
		defer ticker.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
				if _, err := rec.Purge(ctx); err != nil {
					slog.Error("purging old runs", "err", err)
				}
			}
		}
	}()
	// ... serve requests until shutdown cancels ctx.
}
