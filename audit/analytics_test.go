package audit_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/audit"
	"github.com/gatehouse-go/gatehouse/auth"
)

// analyticsEnv is a Manager with a superuser.
func analyticsEnv(t *testing.T) (*env, *auth.Identity) {
	t.Helper()
	e := newEnv(t)
	admin, _ := e.superuser(t, "root@example.com")
	return e, admin
}

// record records one run of runType per value, each with the entry
// key=value, one second apart.
func record(t *testing.T, e *env, ctx context.Context, runType, key string, values ...any) {
	t.Helper()
	for _, v := range values {
		e.clock.Advance(time.Second)
		if _, err := e.rec.RecordRun(ctx, runType, audit.Entry(key, v)); err != nil {
			t.Fatalf("RecordRun(%v): %v", v, err)
		}
	}
}

// analyse runs one analysis over the population of key and returns its
// result as JSON.
func analyse(t *testing.T, e *env, admin *auth.Identity, key string, analysis ...string) string {
	t.Helper()
	res, err := e.reader.Analytics(t.Context(), admin, audit.AnalyticsQuery{
		Populations: map[string]audit.Population{"pop": {Key: key}},
		Analyses:    map[string][]string{"pop": analysis},
	})
	if err != nil {
		t.Fatalf("Analytics(%v): %v", analysis, err)
	}
	b, err := json.Marshal(res.Analyses["pop"])
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestBasicStatistics checks R2R's basic_statistics against answers worked
// out by hand (and by Python's statistics module).
func TestBasicStatistics(t *testing.T) {
	const null = `{"Mean":null,"Median":null,"Mode":null,"Standard Deviation":null,"Variance":null}`
	cases := []struct {
		name   string
		values []any
		want   string
	}{
		{"NoValues", nil, null},
		{"OnlyText", []any{"fast", "slow"}, null},
		// One value is its own mean, median and mode, with no deviation.
		{"SingleValue", []any{3.14159}, `{"Mean":3.142,"Median":3.142,"Mode":3.142,"Standard Deviation":0,"Variance":0}`},
		// Sample statistics: Σ(x−5)² = 32 over n−1 = 7 gives 4.571
		// (the population variance would be 4, its deviation 2).
		{"Sample", []any{5, 2, 9, 4, 7, 4, 5, 4}, `{"Mean":5,"Median":4.5,"Mode":4,"Standard Deviation":2.138,"Variance":4.571}`},
		{"AllDistinct", []any{4, 1, 3, 2}, `{"Mean":2.5,"Median":2.5,"Mode":null,"Standard Deviation":1.291,"Variance":1.667}`},
		{"TwoValues", []any{1, 2}, `{"Mean":1.5,"Median":1.5,"Mode":null,"Standard Deviation":0.707,"Variance":0.5}`},
		// Ties for the mode go to the smallest value.
		{"ModeTie", []any{2, 3, 1, 2, 1}, `{"Mean":1.8,"Median":2,"Mode":1,"Standard Deviation":0.837,"Variance":0.7}`},
		{"TextIgnored", []any{"n/a", 1, "3", "fast"}, `{"Mean":2,"Median":2,"Mode":null,"Standard Deviation":1.414,"Variance":2}`},
		{"AllEqual", []any{7, 7, 7}, `{"Mean":7,"Median":7,"Mode":7,"Standard Deviation":0,"Variance":0}`},
		// Rounding is Python's: 0.0625 → 0.062 (ties to even).
		{"Rounding", []any{0.0625}, `{"Mean":0.062,"Median":0.062,"Mode":0.062,"Standard Deviation":0,"Variance":0}`},
		{"Negative", []any{-1.5, -0.5}, `{"Mean":-1,"Median":-1,"Mode":null,"Standard Deviation":0.707,"Variance":0.5}`},
		// Large values with a small spread keep their variance.
		{"LargeValues", []any{1e9 + 4, 1e9 + 7, 1e9 + 13, 1e9 + 16}, `{"Mean":1000000010,"Median":1000000010,"Mode":null,"Standard Deviation":5.477,"Variance":30}`},
		// Near ±MaxFloat64 the mean and median still exist (the sum is kept
		// exactly); the variance overflows and has no answer (null), never
		// an infinity JSON cannot carry.
		{"NearMaxFloat", []any{1.7e308, 1.7e308, -1.7e308}, `{"Mean":5.666666666666667e+307,"Median":1.7e+308,"Mode":1.7e+308,"Standard Deviation":null,"Variance":null}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, admin := analyticsEnv(t)
			record(t, e, t.Context(), "APP", "latency", tc.values...)
			record(t, e, t.Context(), "APP", "other", 1000, 2000) // another population
			if got := analyse(t, e, admin, "latency", "basic_statistics", "latency"); got != tc.want {
				t.Errorf("basic_statistics = %s\nwant               %s", got, tc.want)
			}
		})
	}
	t.Run("KeyMayBeLeftOut", func(t *testing.T) {
		e, admin := analyticsEnv(t)
		record(t, e, t.Context(), "APP", "latency", 1, 3)
		if got := analyse(t, e, admin, "latency", "basic_statistics"); !strings.HasPrefix(got, `{"Mean":2,`) {
			t.Errorf("basic_statistics = %s", got)
		}
	})
}

// TestPercentile: the value at index ⌊p/100·(n−1)⌋ of the sorted values,
// computed in float64 as R2R does.
func TestPercentile(t *testing.T) {
	hundred := make([]any, 101)
	for i := range hundred {
		hundred[i] = 100 - i // recorded out of order
	}
	cases := []struct {
		name   string
		values []any
		p      string
		want   string
	}{
		{"Zero", hundred, "0", `{"percentile":0,"value":0}`},
		{"Median", hundred, "50", `{"percentile":50,"value":50}`},
		{"Hundred", hundred, "100", `{"percentile":100,"value":100}`},
		{"NinetyFive", hundred, "95", `{"percentile":95,"value":95}`},
		// 29/100·100 is 28.999999999999996 in float64: R2R answers 28.
		{"FloatLikeR2R", hundred, "29", `{"percentile":29,"value":28}`},
		{"Fractional", hundred, "99.5", `{"percentile":99.5,"value":99}`},
		{"LowerOfTwo", []any{4, 1, 3, 2}, "50", `{"percentile":50,"value":2}`},
		{"TopOfFour", []any{4, 1, 3, 2}, "100", `{"percentile":100,"value":4}`},
		{"Single", []any{0.12345}, "0", `{"percentile":0,"value":0.123}`},
		{"NoValues", []any{"n/a"}, "50", `{"percentile":50,"value":null}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, admin := analyticsEnv(t)
			record(t, e, t.Context(), "APP", "latency", tc.values...)
			if got := analyse(t, e, admin, "latency", "percentile", "latency", tc.p); got != tc.want {
				t.Errorf("percentile = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestBarChartHistogramCountsModes(t *testing.T) {
	cases := []struct {
		name     string
		values   []any
		analysis []string
		want     string
	}{
		// R2R's shape: one dataset per label, labelled with the key.
		{"BarChart", []any{"success", "failure", "success", "success", "error"}, []string{"bar_chart", "k"},
			`{"labels":["success","error","failure"],"datasets":[{"label":"k","data":[3]},{"label":"k","data":[1]},{"label":"k","data":[1]}]}`},
		{"BarChartEmpty", nil, []string{"bar_chart"}, `{"labels":[],"datasets":[]}`},
		{"Histogram", []any{0.05, 0.1, 0.3, 0.5, 0.7, 2, "n/a"}, []string{"histogram", "k", "0.1", "0.5", "1"},
			`{"edges":[0.1,0.5,1],"counts":[1,2,2,1]}`},
		{"HistogramEmpty", nil, []string{"histogram", "k", "1"}, `{"edges":[1],"counts":[0,0]}`},
		{"Counts", []any{"success", "failure", "success", "success"}, []string{"counts"},
			`{"total":4,"counts":{"failure":1,"success":3},"rates":{"failure":0.25,"success":0.75}}`},
		{"CountsEmpty", nil, []string{"counts", "k"}, `{"total":0,"counts":{},"rates":{}}`},
		{"ModesTie", []any{3, 1, 2, 1, 2}, []string{"mode"}, `{"modes":[1,2],"count":2}`},
		{"ModesDistinct", []any{3, 1, 2}, []string{"mode"}, `{"modes":[],"count":0}`},
		{"ModesSingle", []any{0.5}, []string{"mode"}, `{"modes":[0.5],"count":1}`},
		{"ModesEmpty", nil, []string{"mode"}, `{"modes":[],"count":0}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, admin := analyticsEnv(t)
			record(t, e, t.Context(), "APP", "k", tc.values...)
			if got := analyse(t, e, admin, "k", tc.analysis...); got != tc.want {
				t.Errorf("%s = %s\nwant %s", tc.analysis[0], got, tc.want)
			}
		})
	}
}

// TestLoginFailureRate: the counts of login outcomes, with a Where that
// keeps login runs only, give the login failure rate.
func TestLoginFailureRate(t *testing.T) {
	e, admin := analyticsEnv(t) // one successful login so far
	e.register(t, "ada@example.com")
	e.login(t, "ada@example.com")
	e.login(t, "ada@example.com")
	e.m.Login(t.Context(), "ada@example.com", "wrong password!")
	e.m.Login(t.Context(), "nobody@example.com", "wrong password!")
	e.m.Refresh(t.Context(), strings.Repeat("A", 43)) // a failure, not a login
	res, err := e.reader.Analytics(t.Context(), admin, audit.AnalyticsQuery{
		Populations: map[string]audit.Population{"logins": {Key: "outcome", Where: map[string]string{"event": "login"}}},
		Analyses:    map[string][]string{"logins": {"counts", "outcome"}},
		RunTypes:    []string{audit.RunTypeAuth},
	})
	if err != nil {
		t.Fatal(err)
	}
	c, ok := res.Analyses["logins"].(*audit.Counts)
	if !ok {
		t.Fatalf("result is %T", res.Analyses["logins"])
	}
	if c.Total != 5 || c.Counts["failure"] != 2 || c.Counts["success"] != 3 || c.Rates["failure"] != 0.4 {
		t.Errorf("counts = %+v, want 2 failures of 5 (rate 0.4)", c)
	}
}

// TestAnalyticsFilters: the time window, user and run-type filters narrow
// every population.
func TestAnalyticsFilters(t *testing.T) {
	e, admin := analyticsEnv(t)
	ada := e.register(t, "ada@example.com")
	asAda := auth.ContextWithUser(t.Context(), ada)
	start := e.clock.Now()
	record(t, e, asAda, "RETRIEVAL", "latency", 1, 2)       // start+1s, +2s
	record(t, e, t.Context(), "RETRIEVAL", "latency", 3, 4) // +3s, +4s
	record(t, e, asAda, "OTHER", "latency", 100)            // +5s
	mean := func(q audit.AnalyticsQuery) string {
		t.Helper()
		q.Populations = map[string]audit.Population{"l": {Key: "latency"}}
		q.Analyses = map[string][]string{"l": {"basic_statistics"}}
		res, err := e.reader.Analytics(t.Context(), admin, q)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(res.Analyses["l"].(*audit.BasicStatistics).Mean)
		return string(b)
	}
	cases := []struct {
		name string
		q    audit.AnalyticsQuery
		want string
	}{
		{"None", audit.AnalyticsQuery{}, "22"},
		{"RunType", audit.AnalyticsQuery{RunTypes: []string{"RETRIEVAL"}}, "2.5"},
		{"User", audit.AnalyticsQuery{UserID: ada.ID}, "34.333"},
		{"UserAndType", audit.AnalyticsQuery{UserID: ada.ID, RunTypes: []string{"RETRIEVAL"}}, "1.5"},
		{"Window", audit.AnalyticsQuery{Since: start.Add(2 * time.Second), Until: start.Add(4 * time.Second)}, "2.5"},
		{"SinceOnly", audit.AnalyticsQuery{Since: start.Add(4 * time.Second)}, "52"},
		{"EmptyWindow", audit.AnalyticsQuery{Until: start}, "null"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := mean(tc.q); got != tc.want {
				t.Errorf("Mean = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestFilteredLogs(t *testing.T) {
	e, admin := analyticsEnv(t)
	values := make([]any, 150)
	for i := range values {
		values[i] = i
	}
	record(t, e, t.Context(), "APP", "k", values...)
	logs := func(limit int) []int {
		t.Helper()
		res, err := e.reader.Analytics(t.Context(), admin, audit.AnalyticsQuery{
			Populations: map[string]audit.Population{"p": {Key: "k"}, "none": {Key: "missing"}},
			LogLimit:    limit,
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Analyses) != 0 {
			t.Errorf("analyses without asking: %v", res.Analyses)
		}
		if none, ok := res.FilteredLogs["none"]; !ok || none == nil || len(none) != 0 {
			t.Errorf("empty population's logs = %#v, want an empty list", none)
		}
		var out []int
		for _, en := range res.FilteredLogs["p"] {
			if en.Key != "k" || en.RunType != "APP" {
				t.Errorf("entry %+v", en)
			}
			out = append(out, int(en.Number))
		}
		return out
	}
	if got := logs(0); len(got) != 100 || got[0] != 149 || got[99] != 50 {
		t.Errorf("default: %d entries from %v", len(got), got[:min(len(got), 1)])
	}
	if got := logs(3); len(got) != 3 || got[0] != 149 || got[2] != 147 {
		t.Errorf("limit 3: %v", got)
	}
	if got := logs(-1); len(got) != 0 {
		t.Errorf("negative limit: %d entries", len(got))
	}
	if got := logs(1_000_000); len(got) != 150 {
		t.Errorf("clamped limit: %d entries", len(got))
	}
}

// TestAnalyticsErrors: mistakes are named, never skipped silently.
func TestAnalyticsErrors(t *testing.T) {
	pops := map[string]audit.Population{"lat": {Key: "latency"}}
	many := map[string]audit.Population{}
	for i := range audit.MaxPopulations + 1 {
		many[string(rune('a'+i%26))+strings.Repeat("x", i)] = audit.Population{Key: "k"}
	}
	cases := []struct {
		name     string
		q        audit.AnalyticsQuery
		field    string
		mentions string
	}{
		{"UndefinedPopulation", audit.AnalyticsQuery{Populations: pops, Analyses: map[string][]string{"search_latencies": {"basic_statistics"}}},
			"analysis_types.search_latencies", `"search_latencies"`},
		{"UnknownAnalysis", audit.AnalyticsQuery{Populations: pops, Analyses: map[string][]string{"lat": {"median"}}}, "analysis_types.lat", `"median"`},
		{"NoAnalysis", audit.AnalyticsQuery{Populations: pops, Analyses: map[string][]string{"lat": {}}}, "analysis_types.lat", "no analysis"},
		{"OtherKey", audit.AnalyticsQuery{Populations: pops, Analyses: map[string][]string{"lat": {"basic_statistics", "search_latency"}}},
			"analysis_types.lat", `"search_latency"`},
		{"ExtraArgument", audit.AnalyticsQuery{Populations: pops, Analyses: map[string][]string{"lat": {"bar_chart", "latency", "x"}}}, "analysis_types.lat", "only the key"},
		{"PercentileMissing", audit.AnalyticsQuery{Populations: pops, Analyses: map[string][]string{"lat": {"percentile", "latency"}}}, "analysis_types.lat", "percentile"},
		{"PercentileNotANumber", audit.AnalyticsQuery{Populations: pops, Analyses: map[string][]string{"lat": {"percentile", "latency", "high"}}}, "analysis_types.lat", "0 to 100"},
		{"PercentileAbove100", audit.AnalyticsQuery{Populations: pops, Analyses: map[string][]string{"lat": {"percentile", "latency", "101"}}}, "analysis_types.lat", "0 to 100"},
		{"PercentileNegative", audit.AnalyticsQuery{Populations: pops, Analyses: map[string][]string{"lat": {"percentile", "latency", "-1"}}}, "analysis_types.lat", "0 to 100"},
		{"PercentileNaN", audit.AnalyticsQuery{Populations: pops, Analyses: map[string][]string{"lat": {"percentile", "latency", "NaN"}}}, "analysis_types.lat", "0 to 100"},
		{"HistogramNoEdges", audit.AnalyticsQuery{Populations: pops, Analyses: map[string][]string{"lat": {"histogram", "latency"}}}, "analysis_types.lat", "edges"},
		{"HistogramUnsorted", audit.AnalyticsQuery{Populations: pops, Analyses: map[string][]string{"lat": {"histogram", "latency", "1", "1"}}}, "analysis_types.lat", "increasing"},
		{"HistogramInfinite", audit.AnalyticsQuery{Populations: pops, Analyses: map[string][]string{"lat": {"histogram", "latency", "Inf"}}}, "analysis_types.lat", "finite"},
		{"EmptyKey", audit.AnalyticsQuery{Populations: map[string]audit.Population{"p": {}}}, "filter_criteria.p", "empty"},
		{"TooManyWhere", audit.AnalyticsQuery{Populations: map[string]audit.Population{"p": {Key: "k", Where: map[string]string{
			"a": "", "b": "", "c": "", "d": "", "e": "", "f": "", "g": "", "h": "", "i": ""}}}}, "filter_criteria.p", "conditions"},
		{"TooManyPopulations", audit.AnalyticsQuery{Populations: many}, "filter_criteria", "populations"},
	}
	e, admin := analyticsEnv(t)
	record(t, e, t.Context(), "APP", "latency", 1)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.reader.Analytics(t.Context(), admin, tc.q)
			var ve *auth.ValidationError
			if !errors.Is(err, audit.ErrInvalidAnalysis) || !errors.As(err, &ve) || ve.Field != tc.field || !strings.Contains(err.Error(), tc.mentions) {
				t.Fatalf("Analytics = %v; want ErrInvalidAnalysis on %s mentioning %s", err, tc.field, tc.mentions)
			}
		})
	}
	t.Run("Refusals", func(t *testing.T) {
		_, err := e.reader.Analytics(t.Context(), nil, audit.AnalyticsQuery{})
		wantErr(t, "Analytics(nil)", err, auth.ErrUnauthenticated)
		ada := e.register(t, "ada@example.com")
		_, err = e.reader.Analytics(t.Context(), &auth.Identity{User: ada}, audit.AnalyticsQuery{})
		wantErr(t, "Analytics(user)", err, auth.ErrForbidden)
	})
}
