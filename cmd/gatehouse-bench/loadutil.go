package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// loadFigure is one figure of the -json output, in the shape of the
// suite's: a value, the baseline it is compared with (measured in the same
// run; empty when there is none) and their ratio.
type loadFigure struct {
	Name          string  `json:"name"`
	Store         string  `json:"store"`
	Value         float64 `json:"value"`
	Unit          string  `json:"unit"`
	Baseline      string  `json:"baseline"`
	BaselineValue float64 `json:"baseline_value"`
	Ratio         float64 `json:"ratio"`
}

// writeFigures prints figs as one JSON array on one line, the last line of
// the output.
func writeFigures(w io.Writer, figs []loadFigure) error {
	if figs == nil {
		figs = []loadFigure{}
	}
	b, err := json.Marshal(figs)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// errBudget ends a client's loop: the run's -requests are spent or its
// time is up.
var errBudget = errors.New("budget spent")

// budget bounds a run by time (the context) and by a number of requests.
type budget struct {
	max   int64     // 0: no bound
	until time.Time // zero: no bound but the context's
	used  atomic.Int64
}

// take claims one request, or reports that none is left.
func (b *budget) take(ctx context.Context) error {
	if ctx.Err() != nil || (!b.until.IsZero() && time.Now().After(b.until)) {
		return errBudget
	}
	if b.max > 0 && b.used.Add(1) > b.max {
		return errBudget
	}
	return nil
}

// outcome is how a response is counted.
type outcome int

const (
	outcomeOK       outcome = iota // the expected success
	outcomeIntended                // the expected 4xx of a deliberate mistake
	outcomeError                   // anything else
)

// endpointStats are the counts and latencies of one endpoint.
type endpointStats struct {
	latencies []time.Duration // of every answered request
	ok        int
	intended  map[int]int // status → count
	errors    map[string]int
}

// recorder collects the outcome of every request of a run. It is safe for
// concurrent use.
type recorder struct {
	mu        sync.Mutex
	endpoints map[string]*endpointStats
}

func newRecorder() *recorder {
	return &recorder{endpoints: map[string]*endpointStats{}}
}

// add records one request to endpoint: its outcome, the status (0 for a
// transport error) and the time to the end of its body.
func (r *recorder) add(endpoint string, o outcome, status int, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.endpoints[endpoint]
	if e == nil {
		e = &endpointStats{intended: map[int]int{}, errors: map[string]int{}}
		r.endpoints[endpoint] = e
	}
	if status != 0 {
		e.latencies = append(e.latencies, d)
	}
	switch o {
	case outcomeOK:
		e.ok++
	case outcomeIntended:
		e.intended[status]++
	default:
		key := "transport"
		if status != 0 {
			key = strconv.Itoa(status)
		}
		e.errors[key]++
	}
}

// max is the longest latency recorded for endpoint, 0 for none.
func (r *recorder) max(endpoint string) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	var m time.Duration
	if e := r.endpoints[endpoint]; e != nil {
		for _, d := range e.latencies {
			m = max(m, d)
		}
	}
	return m
}

// EndpointReport is the summary of one endpoint in a load report.
type EndpointReport struct {
	Name     string         `json:"name"`
	Requests int            `json:"requests"`
	OK       int            `json:"ok"`
	Intended map[int]int    `json:"intended_4xx"`
	Errors   map[string]int `json:"errors"`
	PerSec   float64        `json:"per_second"`
	P50      time.Duration  `json:"p50_ns"`
	P99      time.Duration  `json:"p99_ns"`
	P999     time.Duration  `json:"p999_ns"`
}

// LoadReport is the summary of a run.
type LoadReport struct {
	Elapsed   time.Duration    `json:"elapsed_ns"`
	Requests  int              `json:"requests"`
	OK        int              `json:"ok"`
	Intended  int              `json:"intended_4xx"`
	Errors    int              `json:"errors"`
	PerSec    float64          `json:"per_second"`
	Endpoints []EndpointReport `json:"endpoints"`
}

// report summarizes what r recorded over elapsed.
func (r *recorder) report(elapsed time.Duration) LoadReport {
	r.mu.Lock()
	defer r.mu.Unlock()
	rep := LoadReport{Elapsed: elapsed}
	names := make([]string, 0, len(r.endpoints))
	for n := range r.endpoints {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		e := r.endpoints[n]
		er := EndpointReport{Name: n, OK: e.ok, Intended: map[int]int{}, Errors: map[string]int{}}
		er.Requests = e.ok
		for s, c := range e.intended {
			er.Intended[s] = c
			er.Requests += c
		}
		for s, c := range e.errors {
			er.Errors[s] = c
			er.Requests += c
		}
		lat := slices.Clone(e.latencies)
		slices.Sort(lat)
		er.P50, er.P99, er.P999 = quantile(lat, 0.50), quantile(lat, 0.99), quantile(lat, 0.999)
		if elapsed > 0 {
			er.PerSec = float64(er.Requests) / elapsed.Seconds()
		}
		rep.Requests += er.Requests
		rep.OK += er.OK
		for _, c := range er.Intended {
			rep.Intended += c
		}
		for _, c := range er.Errors {
			rep.Errors += c
		}
		rep.Endpoints = append(rep.Endpoints, er)
	}
	if elapsed > 0 {
		rep.PerSec = float64(rep.Requests) / elapsed.Seconds()
	}
	return rep
}

// quantile is the q-quantile of sorted (nearest rank), 0 when empty.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// endpoint returns the report of the endpoint named name, if any.
func (r LoadReport) endpoint(name string) (EndpointReport, bool) {
	for _, e := range r.Endpoints {
		if e.Name == name {
			return e, true
		}
	}
	return EndpointReport{}, false
}

// print writes the report as a table.
func (r LoadReport) print(w io.Writer) {
	fmt.Fprintf(w, "%d requests in %v: %.0f/s; %d ok, %d intended 4xx, %d errors\n",
		r.Requests, r.Elapsed.Round(time.Millisecond), r.PerSec, r.OK, r.Intended, r.Errors)
	fmt.Fprintf(w, "%-26s %8s %9s %9s %9s %9s  %s\n", "endpoint", "requests", "per s", "p50", "p99", "p99.9", "intended 4xx / errors by status")
	for _, e := range r.Endpoints {
		fmt.Fprintf(w, "%-26s %8d %9.1f %9s %9s %9s  %s / %s\n", e.Name, e.Requests, e.PerSec,
			ms(e.P50), ms(e.P99), ms(e.P999), countsText(e.Intended), countsText(e.Errors))
	}
}

// ms formats d in milliseconds.
func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64) + "ms"
}

// countsText formats a map of counts as "401:3 503:1", or "-" when empty.
func countsText[K comparable](m map[K]int) string {
	if len(m) == 0 {
		return "-"
	}
	parts := make([]string, 0, len(m))
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%v:%d", k, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// figures turns the report into -json figures named prefix_…, without
// baselines.
func (r LoadReport) figures(prefix, storeName string) []loadFigure {
	figs := []loadFigure{
		{Name: prefix + "_requests_per_second", Store: storeName, Value: r.PerSec, Unit: "req/s"},
		{Name: prefix + "_errors", Store: storeName, Value: float64(r.Errors), Unit: "requests"},
		{Name: prefix + "_intended_4xx", Store: storeName, Value: float64(r.Intended), Unit: "requests"},
	}
	for _, e := range r.Endpoints {
		n := prefix + "_" + e.Name
		figs = append(figs,
			loadFigure{Name: n + "_per_second", Store: storeName, Value: e.PerSec, Unit: "req/s"},
			loadFigure{Name: n + "_p50", Store: storeName, Value: msf(e.P50), Unit: "ms"},
			loadFigure{Name: n + "_p99", Store: storeName, Value: msf(e.P99), Unit: "ms"},
			loadFigure{Name: n + "_p999", Store: storeName, Value: msf(e.P999), Unit: "ms"},
		)
	}
	return figs
}

func msf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// newTransport returns a keep-alive transport for n concurrent clients of
// one host.
func newTransport(n int) *http.Transport {
	return &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        n + 16,
		MaxIdleConnsPerHost: n + 16,
		IdleConnTimeout:     90 * time.Second,
	}
}

// apiClient is one simulated client of the /v2 API: its own address (sent
// as X-Forwarded-For, believed by a server that trusts the loopback proxy)
// over a shared keep-alive transport.
type apiClient struct {
	base string // e.g. http://127.0.0.1:7272
	http *http.Client
	rec  *recorder
	bud  *budget
	ip   string // X-Forwarded-For; "" sends none
}

// call sends one request and records it under endpoint. want is the
// expected status; intended, when nonzero, a 4xx that the request
// provokes on purpose. It returns the response body and status; err is
// errBudget when the run is over, or the transport's error.
func (c *apiClient) call(ctx context.Context, endpoint, method, path, ctype string, body []byte, token string, want, intended int) ([]byte, int, error) {
	if err := c.bud.take(ctx); err != nil {
		return nil, 0, err
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, 0, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if c.ip != "" {
		req.Header.Set("X-Forwarded-For", c.ip)
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, 0, errBudget // cut off by the end of the run: not counted
		}
		c.rec.add(endpoint, outcomeError, 0, time.Since(start))
		return nil, 0, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(start)
	if err != nil {
		if ctx.Err() != nil {
			return nil, 0, errBudget
		}
		c.rec.add(endpoint, outcomeError, 0, d)
		return nil, 0, err
	}
	switch {
	case resp.StatusCode == want:
		c.rec.add(endpoint, outcomeOK, resp.StatusCode, d)
	case intended != 0 && resp.StatusCode == intended:
		c.rec.add(endpoint, outcomeIntended, resp.StatusCode, d)
	default:
		c.rec.add(endpoint, outcomeError, resp.StatusCode, d)
	}
	return b, resp.StatusCode, nil
}

// tokenPair is the results of a login or a refresh.
type tokenPair struct {
	Access  string
	Refresh string
}

// parseTokens reads {"results": {"access_token": {"token"}, "refresh_token": {"token"}}}.
func parseTokens(b []byte) (tokenPair, error) {
	var v struct {
		Results struct {
			AccessToken  struct{ Token string } `json:"access_token"`
			RefreshToken struct{ Token string } `json:"refresh_token"`
		} `json:"results"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return tokenPair{}, err
	}
	if v.Results.AccessToken.Token == "" || v.Results.RefreshToken.Token == "" {
		return tokenPair{}, errors.New("the answer holds no token pair")
	}
	return tokenPair{v.Results.AccessToken.Token, v.Results.RefreshToken.Token}, nil
}

// jsonBody marshals v, which cannot fail for the maps and strings used
// here.
func jsonBody(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// clientIP returns the n-th simulated client address, in 10.0.0.0/8.
func clientIP(n int64) string {
	n = n%(1<<24-2) + 1
	return fmt.Sprintf("10.%d.%d.%d", n>>16&0xff, n>>8&0xff, n&0xff)
}
