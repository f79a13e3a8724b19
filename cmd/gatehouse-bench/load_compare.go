package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-go/gatehouse/auth/password"
)

func init() {
	// Hidden from the list of modes by its summary only: -compare starts it
	// as its baseline, a child process of its own.
	register("baseline-server", "(internal) the plain net/http server that load -compare measures against", runBaselineServer)
}

// baselineBody is what the plain server answers: about the size of a
// GET /v2/user answer.
const baselineBody = `{"results":{"id":"0b9b8c3e-1d4f-4c1e-9a59-2f3f0d1a6c11","email":"load@example.com","is_active":true,"is_superuser":false,"is_verified":true,"name":"Load","bio":null,"profile_picture":null,"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z","mfa_enabled":false}}`

// runBaselineServer serves baselineBody on a loopback port until killed,
// printing "listening on http://ADDR" like examples/server.
func runBaselineServer(args []string) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Printf("listening on http://%s\n", ln.Addr())
	srv := &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Set("Content-Type", "application/json")
			h.Set("Cache-Control", "no-store")
			io.WriteString(w, baselineBody)
		}),
	}
	return srv.Serve(ln)
}

// ceiling is what the bare argon2id hasher (defaults) does in this
// process.
type ceiling struct {
	one    time.Duration // the median time of one check alone
	perSec float64       // checks per second, GOMAXPROCS of them in parallel
	// perCPU is checks per CPU-second this process used meanwhile: on a
	// machine shared with other work, the rate per second follows the
	// share of the cores the process gets, the rate per CPU-second much
	// less.
	perCPU float64
}

// hasherCeiling measures the bare argon2id hasher with the defaults, in
// this process: the median time of one check, and the checks per second
// (and per CPU-second) of GOMAXPROCS checks in parallel for d, which is the
// ceiling of logins per second when hashing is the bound (argon2id's own
// threads, 4 by default, mean that one check alone already uses more than
// one core).
func hasherCeiling(d time.Duration) (ceiling, error) {
	h, err := password.NewArgon2id(password.Argon2Params{})
	if err != nil {
		return ceiling{}, err
	}
	const pw = "load-ceiling-correct-horse"
	hash, err := h.Hash(pw)
	if err != nil {
		return ceiling{}, err
	}
	var times []time.Duration
	for range 5 {
		t := time.Now()
		if err := h.Compare(hash, pw); err != nil {
			return ceiling{}, err
		}
		times = append(times, time.Since(t))
	}
	slices.Sort(times)
	c := ceiling{one: times[len(times)/2]}

	n := runtime.GOMAXPROCS(0)
	var mu sync.Mutex
	count := 0
	cpu0, cpuErr := cpuTime("self")
	start := time.Now()
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Since(start) < d {
				h.Compare(hash, pw)
				mu.Lock()
				count++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	c.perSec = float64(count) / time.Since(start).Seconds()
	if cpu1, err := cpuTime("self"); cpuErr == nil && err == nil && cpu1 > cpu0 {
		c.perCPU = float64(count) / (cpu1 - cpu0).Seconds()
	}
	return c, nil
}

// mean is the mean of two measurements, taken before and after a phase.
func (c ceiling) mean(d ceiling) ceiling {
	return ceiling{one: (c.one + d.one) / 2, perSec: (c.perSec + d.perSec) / 2, perCPU: (c.perCPU + d.perCPU) / 2}
}

// perCPUText describes n logins in cpu of the server's CPU time beside the
// bare hasher's checks per CPU-second, and returns their ratio (0 when
// either is unknown).
func perCPUText(n int, cpu time.Duration, c ceiling) (string, float64) {
	if cpu <= 0 || c.perCPU <= 0 {
		return "per CPU-second: not measured (no /proc)", 0
	}
	r := float64(n) / cpu.Seconds()
	return fmt.Sprintf("per CPU-second: %.2f logins per server CPU-second = %.1f%% of the bare hasher's %.2f checks per CPU-second", r, 100*r/c.perCPU, c.perCPU), r / c.perCPU
}

// phase runs op from clients goroutines until d has passed, recording into
// a fresh recorder, and reports. The requests in flight at the end are
// not cancelled but finish: a refresh cut off after the server rotated the
// token would leave its client with a used token, whose reuse revokes the
// session.
func phase(ctx context.Context, clients int, d time.Duration, op func(ctx context.Context, i int, bud *budget, rec *recorder) error) LoadReport {
	rec := newRecorder()
	start := time.Now()
	bud := &budget{until: start.Add(d)}
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if err := op(ctx, i, bud, rec); errors.Is(err, errBudget) {
					return
				}
			}
		}()
	}
	wg.Wait()
	return rec.report(time.Since(start))
}

// account is a registered account with a session.
type account struct {
	c      *apiClient
	email  string
	pass   string
	tokens tokenPair
}

// newAccounts registers n accounts, each from an address of its own
// (first from the address numbered ipBase), and logs each in, with
// workers requests at a time.
func newAccounts(ctx context.Context, base string, hc *http.Client, n, ipBase, workers int) ([]*account, error) {
	run := newRunID()
	accts := make([]*account, n)
	rec := newRecorder()
	errs := make(chan error, n)
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			a := &account{
				c:     &apiClient{base: base, http: hc, rec: rec, bud: &budget{}, ip: clientIP(int64(ipBase + i))},
				email: fmt.Sprintf("load-%s-%d@example.com", run, i),
				pass:  "load-pass-" + run + "-correct-horse",
			}
			if _, status, err := a.c.call(ctx, "register", "POST", "/v2/register", "application/json",
				jsonBody(map[string]string{"email": a.email, "password": a.pass}), "", 200, 0); err != nil || status != 200 {
				errs <- fmt.Errorf("registering %s: status %d, %v", a.email, status, err)
				return
			}
			if err := a.login(ctx, "login"); err != nil {
				errs <- err
				return
			}
			accts[i] = a
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	return accts, nil
}

// login logs a in, recording the request under endpoint, and keeps its
// tokens. A non-200 answer is returned as an error after it is recorded.
func (a *account) login(ctx context.Context, endpoint string) error {
	body := url.Values{"username": {a.email}, "password": {a.pass}}.Encode()
	b, status, err := a.c.call(ctx, endpoint, "POST", "/v2/login", "application/x-www-form-urlencoded", []byte(body), "", 200, 0)
	if err != nil {
		return err
	}
	if status != 200 {
		return &statusError{status}
	}
	p, err := parseTokens(b)
	if err != nil {
		return err
	}
	a.tokens = p
	return nil
}

type statusError struct{ status int }

func (e *statusError) Error() string { return "status " + strconv.Itoa(e.status) }

// refresh rotates a's refresh token.
func (a *account) refresh(ctx context.Context) error {
	b, status, err := a.c.call(ctx, "refresh", "POST", "/v2/refresh_access_token", "application/json",
		jsonBody(map[string]string{"refresh_token": a.tokens.Refresh}), "", 200, 0)
	if err != nil {
		return err
	}
	if status != 200 {
		return a.login(ctx, "login")
	}
	p, err := parseTokens(b)
	if err != nil {
		return err
	}
	a.tokens = p
	return nil
}

// runCompare measures GET /v2/user and refresh beside the plain server,
// in interleaved rounds, and login beside the bare hasher.
func runCompare(ctx context.Context, o loadOptions, srv *child, out io.Writer) ([]loadFigure, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	plain, err := startChild(ctx, self, []string{"baseline-server"}, nil, "", false)
	if err != nil {
		return nil, fmt.Errorf("baseline server: %w", err)
	}
	defer plain.stop()
	tr := newTransport(o.clients)
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 60 * time.Second}
	accts, err := newAccounts(ctx, o.url, hc, o.clients, 100, o.clients)
	if err != nil {
		return nil, err
	}
	for _, a := range accts {
		a.c.bud = &budget{}
	}
	loginFor := o.loginDuration
	if loginFor <= 0 {
		loginFor = o.duration
	}
	plainClient := &apiClient{base: plain.URL, http: hc, bud: &budget{}}
	fmt.Fprintf(out, "%d keep-alive clients over loopback; examples/server%s at %s, plain net/http server (pid %d) at %s; %d rounds of %v per phase, then login for %v\n",
		o.clients, serverFlagsText(srv, o.serverFlags), o.url, plain.PID(), plain.URL, o.rounds, o.duration, loginFor)

	var plainRates, userRates, refreshRates []float64
	var lastUser, lastRefresh LoadReport
	for r := range o.rounds {
		last := r == o.rounds-1
		p := phase(ctx, o.clients, o.duration, func(ctx context.Context, i int, bud *budget, rec *recorder) error {
			c := *plainClient
			c.rec, c.bud = rec, bud
			_, _, err := c.call(ctx, "plain", "GET", "/", "", nil, "", 200, 0)
			return err
		})
		stopProf := phaseProfile(ctx, srv, o.profile, "get_user", last, o.duration)
		u := phase(ctx, o.clients, o.duration, func(ctx context.Context, i int, bud *budget, rec *recorder) error {
			a := accts[i]
			a.c.rec, a.c.bud = rec, bud
			_, _, err := a.c.call(ctx, "get_user", "GET", "/v2/user", "", nil, a.tokens.Access, 200, 0)
			return err
		})
		stopProf()
		stopProf = phaseProfile(ctx, srv, o.profile, "refresh", last, o.duration)
		f := phase(ctx, o.clients, o.duration, func(ctx context.Context, i int, bud *budget, rec *recorder) error {
			a := accts[i]
			a.c.rec, a.c.bud = rec, bud
			return a.refresh(ctx)
		})
		stopProf()
		for _, rep := range []LoadReport{p, u, f} {
			if rep.Errors > 0 {
				return nil, fmt.Errorf("round %d: %d errors: %s", r+1, rep.Errors, countsText(rep.errorsByStatus()))
			}
		}
		pe, _ := p.endpoint("plain")
		ue, _ := u.endpoint("get_user")
		fe, _ := f.endpoint("refresh")
		plainRates, userRates, refreshRates = append(plainRates, pe.PerSec), append(userRates, ue.PerSec), append(refreshRates, fe.PerSec)
		lastUser, lastRefresh = u, f
		fmt.Fprintf(out, "round %d: plain %.0f/s, GET /v2/user %.0f/s (%.1f%%), refresh %.0f/s (%.1f%%)\n",
			r+1, pe.PerSec, ue.PerSec, 100*ue.PerSec/pe.PerSec, fe.PerSec, 100*fe.PerSec/pe.PerSec)
	}

	ceil1, err := hasherCeiling(3 * time.Second)
	if err != nil {
		return nil, err
	}
	stopProf := phaseProfile(ctx, srv, o.profile, "login", true, loginFor)
	cpu0, cpuErr := serverCPU(srv)
	l := phase(ctx, o.clients, loginFor, func(ctx context.Context, i int, bud *budget, rec *recorder) error {
		a := accts[i]
		a.c.rec, a.c.bud = rec, bud
		err := a.login(ctx, "login")
		var se *statusError
		if errors.As(err, &se) {
			return nil
		}
		return err
	})
	cpu1, cpuErr1 := serverCPU(srv)
	stopProf()
	ceil2, err := hasherCeiling(3 * time.Second)
	if err != nil {
		return nil, err
	}
	le, _ := l.endpoint("login")
	// A 503 is the server refusing a login that found no hash slot before
	// its deadline (a machine busy with other work): counted, not a failure
	// of the run. Anything else is.
	if busy := le.Errors["503"]; l.Errors > busy {
		return nil, fmt.Errorf("login phase: %d errors: %s", l.Errors, countsText(l.errorsByStatus()))
	} else if busy > 0 {
		fmt.Fprintf(out, "login phase: %d logins refused with 503 (no hash slot before the request deadline)\n", busy)
	}
	c := ceil1.mean(ceil2)
	ceiling, one := c.perSec, c.one
	naive := float64(runtime.GOMAXPROCS(0)) / one.Seconds()
	var cpuLine string
	var cpuRatio float64
	if cpuErr == nil && cpuErr1 == nil {
		cpuLine, cpuRatio = perCPUText(le.OK, cpu1-cpu0, c)
	}

	mp, mu, mf := median(plainRates), median(userRates), median(refreshRates)
	fmt.Fprintf(out, "\nmedians of %d rounds:\n", o.rounds)
	fmt.Fprintf(out, "  plain net/http        %8.0f req/s\n", mp)
	fmt.Fprintf(out, "  GET /v2/user          %8.0f req/s  %5.1f%% of plain (p50 %s, p99 %s in the last round)\n", mu, 100*mu/mp, ms(endpointOf(lastUser, "get_user").P50), ms(endpointOf(lastUser, "get_user").P99))
	fmt.Fprintf(out, "  refresh (recording on)%8.0f req/s  %5.1f%% of plain (p50 %s, p99 %s in the last round)\n", mf, 100*mf/mp, ms(endpointOf(lastRefresh, "refresh").P50), ms(endpointOf(lastRefresh, "refresh").P99))
	fmt.Fprintf(out, "  login                 %8.1f req/s  %5.1f%% of the hasher ceiling %.1f/s (%d parallel checks; one check %s, GOMAXPROCS/one = %.1f/s)\n",
		le.PerSec, 100*le.PerSec/ceiling, ceiling, runtime.GOMAXPROCS(0), ms(one), naive)
	if cpuLine != "" {
		fmt.Fprintf(out, "  login %s\n", cpuLine)
	}
	figs := []loadFigure{
		{Name: "socket_plain", Store: "none", Value: mp, Unit: "req/s"},
		{Name: "socket_get_user", Store: "sqlite", Value: mu, Unit: "req/s", Baseline: "socket_plain", BaselineValue: mp, Ratio: mu / mp},
		{Name: "socket_refresh", Store: "sqlite", Value: mf, Unit: "req/s", Baseline: "socket_plain", BaselineValue: mp, Ratio: mf / mp},
		{Name: "socket_login", Store: "sqlite", Value: le.PerSec, Unit: "req/s", Baseline: "argon2id_parallel_checks", BaselineValue: ceiling, Ratio: le.PerSec / ceiling},
	}
	if cpuRatio > 0 {
		figs = append(figs, loadFigure{Name: "socket_login_per_cpu", Store: "sqlite", Value: cpuRatio * c.perCPU, Unit: "req/cpu-s", Baseline: "argon2id_checks_per_cpu", BaselineValue: c.perCPU, Ratio: cpuRatio})
	}
	return figs, nil
}

// serverFlagsText names the -server-flags that a server the tool started
// runs with, for the figures' heading ("" for none, or a server of -url).
func serverFlagsText(srv *child, flags string) string {
	if srv == nil || strings.TrimSpace(flags) == "" {
		return ""
	}
	return " (-server-flags " + strconv.Quote(strings.Join(strings.Fields(flags), " ")) + ")"
}

// serverCPU is the CPU time srv has used so far; an error without a
// started server or /proc.
func serverCPU(srv *child) (time.Duration, error) {
	if srv == nil {
		return 0, errors.New("no started server")
	}
	return cpuTime(strconv.Itoa(srv.PID()))
}

// phaseProfile, when on and path is set, profiles srv for the phase named
// name (d long) into path.name; the returned func waits for the profile.
func phaseProfile(ctx context.Context, srv *child, path, name string, on bool, d time.Duration) func() {
	if !on || path == "" {
		return func() {}
	}
	return startProfile(ctx, srv, path+"."+name, d)
}

func endpointOf(r LoadReport, name string) EndpointReport {
	e, _ := r.endpoint(name)
	return e
}

// median returns the median of v (the mean of the middle two for an even
// count, 0 for none), leaving v as it is.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
