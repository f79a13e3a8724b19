package audit_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/audit"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/store"
)

// TestRecordLatencyR2RExample runs R2R's analytics example end to end: an
// app wraps its search handler, clients search over HTTP, and a superuser
// asks for the basic statistics of search_latency.
func TestRecordLatencyR2RExample(t *testing.T) {
	e := newEnv(t)
	e.register(t, "user@example.com")
	user := e.login(t, "user@example.com").Tokens.AccessToken
	admin, _ := e.superuser(t, "root@example.com")
	g := middleware.New(e.m, middleware.Config{})
	// The search takes as long as the query says, on the fake clock.
	search := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, err := time.ParseDuration(r.URL.Query().Get("takes"))
		if err != nil {
			http.Error(w, "bad takes", http.StatusBadRequest)
			return
		}
		e.clock.Advance(d)
		w.Write([]byte("results"))
	})
	mux := http.NewServeMux()
	mux.Handle("GET /search", g.Authenticate(e.rec.RecordLatency("RETRIEVAL", "search_latency")(search)))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for i, takes := range []string{"100ms", "200ms", "200ms", "500ms"} {
		req, _ := http.NewRequest("GET", srv.URL+"/search?takes="+takes, nil)
		if i == 0 {
			req.Header.Set("Authorization", "Bearer "+user)
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

	res, err := e.reader.Analytics(t.Context(), admin, audit.AnalyticsQuery{
		Populations: map[string]audit.Population{"search_latencies": {Key: "search_latency"}},
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
	uid := e.identity(t, user).User.ID
	if logs[3].Value != "0.1" || logs[3].UserID != uid {
		t.Errorf("oldest entry = %+v, want 0.1 by %s", logs[3], uid)
	}
}

// TestRecordLatencyFailureIsLogged: a run that cannot be recorded leaves
// the response alone and reaches the logger.
func TestRecordLatencyFailureIsLogged(t *testing.T) {
	var logs bytes.Buffer
	e := newEnv(t, func(c *audit.Config) { c.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("hello")) })
	h := e.rec.RecordLatency("AUTH", "latency")(hello) // AUTH runs are the Recorder's own
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if w.Code != http.StatusOK || w.Body.String() != "hello" {
		t.Fatalf("response %d %q", w.Code, w.Body.String())
	}
	if !strings.Contains(logs.String(), "recording a latency failed") {
		t.Errorf("nothing logged: %q", logs.String())
	}
	agg, err := e.store.AggregateEntries(t.Context(), store.Aggregation{Key: "latency", Summary: true})
	if err != nil || agg.Summary.Entries != 0 {
		t.Errorf("AggregateEntries = %+v, %v; want no latency recorded", agg, err)
	}
}
