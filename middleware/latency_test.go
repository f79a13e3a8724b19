package middleware_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/store"
)

// TestRecordLatencyR2RExample runs R2R's analytics example end to end: an
// app wraps its search handler, clients search over HTTP, and a superuser
// asks for the basic statistics of search_latency.
func TestRecordLatencyR2RExample(t *testing.T) {
	f := newFixture(t)
	g := middleware.New(f.m, middleware.Config{})
	// The search takes as long as the query says, on the fake clock.
	search := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, err := time.ParseDuration(r.URL.Query().Get("takes"))
		if err != nil {
			http.Error(w, "bad takes", http.StatusBadRequest)
			return
		}
		now := f.now.Load().Add(d)
		f.now.Store(&now)
		w.Write([]byte("results"))
	})
	mux := http.NewServeMux()
	mux.Handle("GET /search", g.Authenticate(g.RecordLatency("RETRIEVAL", "search_latency")(search)))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for i, takes := range []string{"100ms", "200ms", "200ms", "500ms"} {
		req, _ := http.NewRequest("GET", srv.URL+"/search?takes="+takes, nil)
		if i == 0 {
			req.Header.Set("Authorization", "Bearer "+f.user)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("search %d: status %d", i, resp.StatusCode)
		}
	}

	admin, err := f.m.Authenticate(t.Context(), f.admin)
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.m.Analytics(t.Context(), admin, auth.AnalyticsQuery{
		Populations: map[string]auth.Population{"search_latencies": {Key: "search_latency"}},
		Analyses:    map[string][]string{"search_latencies": {"basic_statistics", "search_latency"}},
	})
	if err != nil {
		t.Fatalf("Analytics: %v", err)
	}
	got, err := json.Marshal(res.Analyses["search_latencies"])
	if err != nil {
		t.Fatal(err)
	}
	// 0.1 0.2 0.2 0.5: mean 0.25, median 0.2, mode 0.2, sample variance
	// 0.09/3 = 0.03, deviation 0.1732.
	const want = `{"Mean":0.25,"Median":0.2,"Mode":0.2,"Standard Deviation":0.173,"Variance":0.03}`
	if string(got) != want {
		t.Errorf("basic_statistics = %s, want %s", got, want)
	}
	logs := res.FilteredLogs["search_latencies"]
	if len(logs) != 4 {
		t.Fatalf("filtered_logs has %d entries, want 4", len(logs))
	}
	// Newest first; only the first search was authenticated.
	if logs[0].Value != "0.5" || logs[0].RunType != "RETRIEVAL" || logs[0].UserID != "" {
		t.Errorf("newest entry = %+v", logs[0])
	}
	user, err := f.m.Authenticate(t.Context(), f.user)
	if err != nil {
		t.Fatal(err)
	}
	if logs[3].Value != "0.1" || logs[3].UserID != user.User.ID {
		t.Errorf("oldest entry = %+v, want 0.1 by %s", logs[3], user.User.ID)
	}
}

// TestRecordLatencyFailureIsLogged: a run that cannot be recorded leaves
// the response alone and reaches the logger.
func TestRecordLatencyFailureIsLogged(t *testing.T) {
	f := newFixture(t)
	var logs bytes.Buffer
	g := middleware.New(f.m, middleware.Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	h := g.RecordLatency("AUTH", "latency")(echo) // AUTH runs are the Manager's own
	if w := do(t, h, nil); w.Code != http.StatusOK || w.Body.String() != "hello anonymous" {
		t.Fatalf("response %d %q", w.Code, w.Body.String())
	}
	if !strings.Contains(logs.String(), "recording a latency failed") {
		t.Errorf("nothing logged: %q", logs.String())
	}
	agg, err := f.store.AggregateEntries(t.Context(), store.Aggregation{Key: "latency", Summary: true})
	if err != nil || agg.Summary.Entries != 0 {
		t.Errorf("AggregateEntries = %+v, %v; want no latency recorded", agg, err)
	}
}
