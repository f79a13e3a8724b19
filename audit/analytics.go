package audit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/store"
)

// The analyses [Reader.Analytics] knows. The first three are R2R's; the
// others are ours.
const (
	AnalysisBasicStatistics = "basic_statistics"
	AnalysisPercentile      = "percentile"
	AnalysisBarChart        = "bar_chart"
	AnalysisHistogram       = "histogram"
	AnalysisCounts          = "counts"
	AnalysisMode            = "mode"
)

// Limits of an analytics request.
const (
	MaxPopulations    = 32
	MaxWhere          = 8
	MaxHistogramEdges = 100
	// MaxLabels caps the distinct values a bar chart or counts analysis
	// lists (the most frequent ones); MaxModes the modes of a mode
	// analysis.
	MaxLabels = 1000
	MaxModes  = 100
)

// ErrInvalidAnalysis: an analytics request names a population that no
// filter defines, an unknown analysis, or bad arguments. The error is a
// *[auth.ValidationError] saying which.
var ErrInvalidAnalysis = errors.New("audit: invalid analytics request")

// Population defines a population for [Reader.Analytics]: every entry
// whose key is Key, in the runs the query selects that also have, for each
// pair of Where, an entry with that key and exactly that value. R2R's
// filter_criteria {name: key} is {name: {Key: key}}; Where is ours, for
// example Key "outcome" with Where {"event": "login"} for login outcomes.
type Population struct {
	Key   string
	Where map[string]string
}

// AnalyticsQuery asks [Reader.Analytics] for figures about populations of
// entries.
type AnalyticsQuery struct {
	// Populations names the populations (R2R's filter_criteria).
	Populations map[string]Population
	// Analyses is R2R's analysis_types: for a population, the analysis
	// and its arguments. Every population named here must be defined in
	// Populations. The analyses, with key the population's Key (which may
	// be left out where nothing follows it):
	//
	//	["basic_statistics", key]      Mean, Median, Mode, Standard Deviation, Variance
	//	["percentile", key, "p"]       the value at the p-th percentile, 0 ≤ p ≤ 100
	//	["bar_chart", key]             how many entries have each value
	//	["histogram", key, "e1", ...]  counts of numeric values between the edges
	//	["counts", key]                count and rate of each value (e.g. outcome)
	//	["mode", key]                  every most frequent numeric value
	Analyses map[string][]string
	// RunTypes, UserID, Since and Until narrow every population to the
	// runs of these types, about this user, recorded in [Since, Until).
	// R2R had no such filters (and looked at its 100 newest runs only).
	RunTypes     []string
	UserID       string
	Since, Until time.Time
	// LogLimit caps the entries of each population listed in
	// [AnalyticsResult.FilteredLogs], newest first: 0 means 100, more than
	// auth.MaxPageSize is clamped to it, and a negative value lists none.
	LogLimit int
}

// AnalyticsResult is what [Reader.Analytics] returns.
type AnalyticsResult struct {
	// Analyses holds, for each population named in the query's Analyses,
	// the result (R2R's analytics_data).
	Analyses map[string]AnalysisResult
	// FilteredLogs holds, for each population, its newest entries.
	FilteredLogs map[string][]store.LoggedEntry
}

// AnalysisResult is the result of one analysis: a *[BasicStatistics],
// *[Percentile], *[BarChart], *[Histogram], *[Counts] or *[Modes]. They
// encode to R2R's JSON.
type AnalysisResult interface {
	analysisResult()
}

// BasicStatistics describes the numeric values of a population as R2R
// does: sample statistics rounded to 3 decimals; Mode is nil when every
// value is distinct, and everything is nil when there are no values. A
// single value is its own mean, median and mode, with deviation 0. Ties
// for the mode go to the smallest value (R2R took whichever its storage
// returned first).
type BasicStatistics struct {
	Mean              *float64 `json:"Mean"`
	Median            *float64 `json:"Median"`
	Mode              *float64 `json:"Mode"`
	StandardDeviation *float64 `json:"Standard Deviation"`
	Variance          *float64 `json:"Variance"`
}

// Percentile is the value at index ⌊p/100·(n−1)⌋ of the n sorted numeric
// values (computed in float64 as R2R does), rounded to 3 decimals; Value
// is nil when there are none.
type Percentile struct {
	Percentile float64  `json:"percentile"`
	Value      *float64 `json:"value"`
}

// BarChart counts the entries with each value, most frequent first (ties
// by value), at most MaxLabels values. As in R2R, each value has its own
// dataset, labelled with the key, holding its one count.
type BarChart struct {
	Labels   []string          `json:"labels"`
	Datasets []BarChartDataset `json:"datasets"`
}

// BarChartDataset is one dataset of a [BarChart].
type BarChartDataset struct {
	Label string `json:"label"`
	Data  []int  `json:"data"`
}

// Histogram counts the numeric values in the bins the edges delimit:
// Counts[0] those below Edges[0], Counts[i] those in [Edges[i-1],
// Edges[i]), and the last those not below the last edge.
type Histogram struct {
	Edges  []float64 `json:"edges"`
	Counts []int     `json:"counts"`
}

// Counts counts the entries with each value, at most MaxLabels values
// (the most frequent), and each one's share of Total, the number of
// entries. For a population of login outcomes, Rates["failure"] is the
// login failure rate.
type Counts struct {
	Total  int                `json:"total"`
	Counts map[string]int     `json:"counts"`
	Rates  map[string]float64 `json:"rates"`
}

// Modes lists the most frequent numeric values in ascending order, rounded
// to 3 decimals, at most MaxModes, and how often each occurs. Modes is
// empty when there are no values or all of several are distinct.
type Modes struct {
	Modes []float64 `json:"modes"`
	Count int       `json:"count"`
}

func (*BasicStatistics) analysisResult() {}
func (*Percentile) analysisResult()      {}
func (*BarChart) analysisResult()        {}
func (*Histogram) analysisResult()       {}
func (*Counts) analysisResult()          {}
func (*Modes) analysisResult()           {}

// analysisSpec is a parsed analysis.
type analysisSpec struct {
	name  string
	p     float64   // percentile
	edges []float64 // histogram
}

// Analytics computes figures about populations of recorded entries for a
// superuser, with R2R's semantics for R2R's analyses (see
// [AnalyticsQuery]). Statistics are computed by the store over every entry
// the query selects.
//
// Errors: [auth.ErrUnauthenticated]; [auth.ErrForbidden] for a non-superuser;
// a *[auth.ValidationError] matching [ErrInvalidAnalysis] for
// a population in Analyses that Populations does not define, an unknown
// analysis, wrong arguments, or more than MaxPopulations populations;
// other errors come from the store.
func (r *Reader) Analytics(ctx context.Context, id *auth.Identity, q AnalyticsQuery) (*AnalyticsResult, error) {
	start := r.m.Now()
	if err := r.m.AuthorizeSuperuser(ctx, id); err != nil {
		return nil, err
	}
	specs, err := checkAnalytics(&q)
	if err != nil {
		return nil, err
	}
	logLimit := q.LogLimit
	switch {
	case logLimit == 0:
		logLimit = auth.DefaultPageSize
	case logLimit < 0:
		logLimit = 0
	}
	logLimit = min(logLimit, auth.MaxPageSize)
	base := store.RunFilter{Types: q.RunTypes, Since: q.Since, Until: q.Until}
	if q.UserID != "" {
		base.UserIDs = []string{q.UserID}
	}

	res := &AnalyticsResult{
		Analyses:     make(map[string]AnalysisResult, len(specs)),
		FilteredLogs: make(map[string][]store.LoggedEntry, len(q.Populations)),
	}
	names := make([]string, 0, len(q.Populations))
	for name := range q.Populations {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		pop := q.Populations[name]
		a := store.Aggregation{Key: pop.Key, RunFilter: base, Latest: logLimit}
		a.Has = pop.Where
		spec, analysed := specs[name]
		if analysed {
			spec.request(&a)
		}
		agg, err := r.runs.AggregateEntries(ctx, a)
		if err != nil {
			return nil, fmt.Errorf("audit: analytics: %w", err)
		}
		res.FilteredLogs[name] = append([]store.LoggedEntry{}, agg.Latest...)
		if analysed {
			res.Analyses[name] = spec.result(pop.Key, agg)
		}
	}
	r.report(ctx, id, EventAnalytics, start)
	return res, nil
}

func invalidAnalysis(field, reason string) error {
	return &auth.ValidationError{Field: field, Reason: reason, Err: ErrInvalidAnalysis}
}

// checkAnalytics validates q and parses its analyses.
func checkAnalytics(q *AnalyticsQuery) (map[string]analysisSpec, error) {
	if len(q.Populations) > MaxPopulations {
		return nil, invalidAnalysis("filter_criteria", fmt.Sprintf("more than %d populations", MaxPopulations))
	}
	for name, pop := range q.Populations {
		field := "filter_criteria." + name
		if err := checkName(field, pop.Key, MaxRunKeyBytes); err != nil {
			return nil, invalidAnalysis(field, "the key "+err.(*auth.ValidationError).Reason)
		}
		if len(pop.Where) > MaxWhere {
			return nil, invalidAnalysis(field, fmt.Sprintf("more than %d conditions", MaxWhere))
		}
		for k := range pop.Where {
			if err := checkName(field, k, MaxRunKeyBytes); err != nil {
				return nil, invalidAnalysis(field, "a condition's key "+err.(*auth.ValidationError).Reason)
			}
		}
	}
	specs := make(map[string]analysisSpec, len(q.Analyses))
	for name, args := range q.Analyses {
		pop, ok := q.Populations[name]
		if !ok {
			return nil, invalidAnalysis("analysis_types."+name, fmt.Sprintf("population %q is not defined by any filter", name))
		}
		spec, err := parseAnalysis("analysis_types."+name, pop.Key, args)
		if err != nil {
			return nil, err
		}
		specs[name] = spec
	}
	return specs, nil
}

// parseAnalysis parses [analysis, key, args...] for a population of key.
func parseAnalysis(field, key string, args []string) (analysisSpec, error) {
	if len(args) == 0 {
		return analysisSpec{}, invalidAnalysis(field, "no analysis given")
	}
	spec := analysisSpec{name: args[0]}
	if len(args) > 1 && args[1] != key {
		return spec, invalidAnalysis(field, fmt.Sprintf("the analysis is of key %q but the population is of key %q", args[1], key))
	}
	rest := args[min(len(args), 2):]
	switch spec.name {
	case AnalysisBasicStatistics, AnalysisBarChart, AnalysisCounts, AnalysisMode:
		if len(rest) > 0 {
			return spec, invalidAnalysis(field, spec.name+" takes only the key")
		}
	case AnalysisPercentile:
		if len(rest) != 1 {
			return spec, invalidAnalysis(field, `percentile takes the key and a percentile, e.g. ["percentile", "latency", "95"]`)
		}
		p, err := strconv.ParseFloat(strings.TrimSpace(rest[0]), 64)
		if err != nil || !(p >= 0 && p <= 100) {
			return spec, invalidAnalysis(field, "the percentile must be a number from 0 to 100")
		}
		spec.p = p
	case AnalysisHistogram:
		if len(rest) == 0 || len(rest) > MaxHistogramEdges {
			return spec, invalidAnalysis(field, fmt.Sprintf("histogram takes the key and 1 to %d edges", MaxHistogramEdges))
		}
		for i, s := range rest {
			e, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil || math.IsInf(e, 0) || math.IsNaN(e) || (i > 0 && e <= spec.edges[i-1]) {
				return spec, invalidAnalysis(field, "histogram edges must be finite numbers in increasing order")
			}
			spec.edges = append(spec.edges, e)
		}
	default:
		return spec, invalidAnalysis(field, fmt.Sprintf("unknown analysis %q", spec.name))
	}
	return spec, nil
}

// request adds to a what the analysis needs.
func (s *analysisSpec) request(a *store.Aggregation) {
	switch s.name {
	case AnalysisBasicStatistics:
		a.Summary, a.Quantiles, a.TopNumbers = true, []float64{0.5}, 1
	case AnalysisPercentile:
		a.Quantiles = []float64{s.p / 100}
	case AnalysisBarChart:
		a.TopValues = MaxLabels
	case AnalysisHistogram:
		a.Edges = s.edges
	case AnalysisCounts:
		a.Summary, a.TopValues = true, MaxLabels
	case AnalysisMode:
		a.Summary, a.TopNumbers = true, MaxModes
	}
}

// result turns the store's figures into the analysis's answer.
func (s *analysisSpec) result(key string, agg *store.Aggregate) AnalysisResult {
	switch s.name {
	case AnalysisBasicStatistics:
		return basicStatistics(agg)
	case AnalysisPercentile:
		r := &Percentile{Percentile: s.p}
		if len(agg.Quantiles) > 0 {
			r.Value = round3(agg.Quantiles[0].Lower)
		}
		return r
	case AnalysisBarChart:
		r := &BarChart{Labels: []string{}, Datasets: []BarChartDataset{}}
		for _, vc := range agg.TopValues {
			r.Labels = append(r.Labels, vc.Value)
			r.Datasets = append(r.Datasets, BarChartDataset{Label: key, Data: []int{vc.Count}})
		}
		return r
	case AnalysisHistogram:
		return &Histogram{Edges: slices.Clone(s.edges), Counts: slices.Clone(agg.Histogram)}
	case AnalysisCounts:
		r := &Counts{Total: agg.Summary.Entries, Counts: map[string]int{}, Rates: map[string]float64{}}
		for _, vc := range agg.TopValues {
			r.Counts[vc.Value] = vc.Count
			r.Rates[vc.Value] = float64(vc.Count) / float64(r.Total)
		}
		return r
	default: // AnalysisMode
		r := &Modes{Modes: []float64{}}
		top := agg.TopNumbers
		if len(top) == 0 || (top[0].Count == 1 && agg.Summary.Numbers > 1) {
			return r
		}
		r.Count = top[0].Count
		for _, nc := range top {
			if nc.Count == r.Count {
				r.Modes = append(r.Modes, *round3(nc.Number))
			}
		}
		return r
	}
}

// basicStatistics computes R2R's basic statistics from the store's
// figures.
func basicStatistics(agg *store.Aggregate) *BasicStatistics {
	n := agg.Summary.Numbers
	if n == 0 || len(agg.Quantiles) == 0 {
		return &BasicStatistics{}
	}
	if n == 1 {
		v := agg.Summary.Sum
		return &BasicStatistics{Mean: round3(v), Median: round3(v), Mode: round3(v), StandardDeviation: ptrTo(0.0), Variance: ptrTo(0.0)}
	}
	variance := agg.Summary.SumSquares / float64(n-1)
	s := &BasicStatistics{
		Mean:              round3(agg.Summary.Sum / float64(n)),
		Median:            round3(agg.Quantiles[0].Lower/2 + agg.Quantiles[0].Upper/2), // no overflow near ±MaxFloat64
		StandardDeviation: round3(math.Sqrt(variance)),
		Variance:          round3(variance),
	}
	if len(agg.TopNumbers) > 0 && agg.TopNumbers[0].Count > 1 {
		s.Mode = round3(agg.TopNumbers[0].Number)
	}
	return s
}

// round3 rounds x to 3 decimals as Python's round(x, 3) does: correctly,
// ties to even on the exact binary value. A statistic that overflowed
// (values near ±MaxFloat64) has no answer: nil.
func round3(x float64) *float64 {
	if math.IsInf(x, 0) || math.IsNaN(x) {
		return nil
	}
	r, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'f', 3, 64), 64)
	return &r
}

func ptrTo[T any](v T) *T { return &v }
