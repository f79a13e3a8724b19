package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// runFlood runs o.flood concurrent logins, each client on an account of
// its own and honouring Retry-After, while o.clients clients read
// GET /v2/user; it reports the login rate beside the bare hasher's
// ceiling, the readers' latencies and (with a started server) its peak
// RSS. seeded, when not nil, holds the o.clients+o.flood accounts already
// in the server's database (seedAccounts); only the readers log in before
// the flood. Without it the accounts are registered over HTTP.
func runFlood(ctx context.Context, o loadOptions, srv *child, seeded []*account, out io.Writer) ([]loadFigure, error) {
	tr := newTransport(o.flood + o.clients)
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 120 * time.Second}
	accts := seeded
	if accts == nil {
		fmt.Fprintf(out, "registering %d accounts…\n", o.flood+o.clients)
		var err error
		if accts, err = newAccounts(ctx, o.url, hc, o.flood+o.clients, 1000, 2*runtime.GOMAXPROCS(0)); err != nil {
			return nil, err
		}
	} else {
		if len(accts) != o.clients+o.flood {
			return nil, fmt.Errorf("%d seeded accounts for %d readers and %d logins", len(accts), o.clients, o.flood)
		}
		rec := newRecorder()
		for i, a := range accts {
			a.c = &apiClient{base: o.url, http: hc, rec: rec, bud: &budget{}, ip: clientIP(int64(1000 + i))}
		}
		fmt.Fprintf(out, "%d accounts seeded; logging the %d readers in…\n", len(accts), o.clients)
		if err := loginAll(ctx, accts[:o.clients]); err != nil {
			return nil, err
		}
	}
	readers, flooders := accts[:o.clients], accts[o.clients:]

	ceil1, err := hasherCeiling(3 * time.Second)
	if err != nil {
		return nil, err
	}
	var stopRSS chan struct{}
	var peak <-chan int64
	if srv != nil {
		stopRSS = make(chan struct{})
		peak = rssPeak(srv.PID(), 100*time.Millisecond, stopRSS)
	}
	readRate := "as fast as answered"
	if o.readRate > 0 {
		readRate = fmt.Sprintf("%.0f/s in all", o.readRate)
	}
	fmt.Fprintf(out, "flood: %d concurrent logins and %d readers of GET /v2/user (%s) for %v\n", o.flood, o.clients, readRate, o.duration)
	stopProf := startProfile(ctx, srv, o.profile, o.duration)

	cpu0, cpuErr := serverCPU(srv)
	rec, byStatus := newRecorder(), newRecorder()
	fctx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for i, a := range readers {
		a.c.rec, a.c.bud = rec, &budget{}
		pace := newPacer(start, o.readRate, i, len(readers))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if !pace.wait(fctx) {
					return
				}
				if _, _, err := a.c.call(fctx, "get_user", "GET", "/v2/user", "", nil, a.tokens.Access, 200, 0); errors.Is(err, errBudget) {
					return
				}
			}
		}()
	}
	for _, a := range flooders {
		a.c.rec, a.c.bud = rec, &budget{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				wait, err := a.floodLogin(fctx, byStatus)
				if errors.Is(err, errBudget) {
					return
				}
				if wait > 0 {
					select {
					case <-fctx.Done():
						return
					case <-time.After(wait):
					}
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu1, cpuErr1 := serverCPU(srv)
	stopProf()
	var peakRSS int64
	if stopRSS != nil {
		close(stopRSS)
		peakRSS = <-peak
	}
	ceil2, err := hasherCeiling(3 * time.Second)
	if err != nil {
		return nil, err
	}
	rep := rec.report(elapsed)
	rep.print(out)
	fmt.Fprintf(out, "logins by status (the request deadline is the server's -request-timeout, 10s by default):\n")
	for _, e := range byStatus.report(elapsed).Endpoints {
		fmt.Fprintf(out, "  %-12s %6d  p50 %9s  p99 %9s  max %9s\n", e.Name, e.Requests, ms(e.P50), ms(e.P99), ms(byStatus.max(e.Name)))
	}
	login, user := endpointOf(rep, "login"), endpointOf(rep, "get_user")
	rate := float64(login.OK) / elapsed.Seconds()
	c := ceil1.mean(ceil2)
	ceiling, one := c.perSec, c.one
	fmt.Fprintf(out, "\nlogins: %.1f/s succeeded = %.1f%% of the hasher ceiling %.1f/s (%d parallel checks; one check %s, GOMAXPROCS/one = %.1f/s)\n",
		rate, 100*rate/ceiling, ceiling, runtime.GOMAXPROCS(0), ms(one), float64(runtime.GOMAXPROCS(0))/one.Seconds())
	var cpuRatio float64
	if cpuErr == nil && cpuErr1 == nil {
		var line string
		line, cpuRatio = perCPUText(login.OK, cpu1-cpu0, c)
		fmt.Fprintf(out, "logins %s (the server's CPU includes the readers')\n", line)
	}
	fmt.Fprintf(out, "GET /v2/user meanwhile: p50 %s, p99 %s, p99.9 %s over %d requests\n", ms(user.P50), ms(user.P99), ms(user.P999), user.Requests)
	figs := []loadFigure{
		{Name: "flood_login", Store: "sqlite", Value: rate, Unit: "req/s", Baseline: "argon2id_parallel_checks", BaselineValue: ceiling, Ratio: rate / ceiling},
		{Name: "flood_get_user_p99", Store: "sqlite", Value: msf(user.P99), Unit: "ms"},
		{Name: "flood_login_503", Store: "sqlite", Value: float64(login.Errors["503"]), Unit: "requests"},
	}
	if cpuRatio > 0 {
		figs = append(figs, loadFigure{Name: "flood_login_per_cpu", Store: "sqlite", Value: cpuRatio * c.perCPU, Unit: "req/cpu-s", Baseline: "argon2id_checks_per_cpu", BaselineValue: c.perCPU, Ratio: cpuRatio})
	}
	if srv != nil {
		fmt.Fprintf(out, "server peak RSS: %.1f MiB\n", float64(peakRSS)/(1<<20))
		figs = append(figs, loadFigure{Name: "flood_peak_rss", Store: "sqlite", Value: float64(peakRSS) / (1 << 20), Unit: "MiB"})
	}
	return append(figs, rep.figures("flood", "sqlite")...), nil
}

// floodLogin is one login of the flood; it returns the wait that a 503 or
// 429 asks for in Retry-After. Answered logins are also recorded into
// byStatus by status.
func (a *account) floodLogin(ctx context.Context, byStatus *recorder) (time.Duration, error) {
	if err := a.c.bud.take(ctx); err != nil {
		return 0, err
	}
	body := url.Values{"username": {a.email}, "password": {a.pass}}.Encode()
	req, err := http.NewRequestWithContext(ctx, "POST", a.c.base+"/v2/login", stringsReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", a.c.ip)
	start := time.Now()
	resp, err := a.c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, errBudget
		}
		a.c.rec.add("login", outcomeError, 0, time.Since(start))
		return time.Second, nil
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	d := time.Since(start)
	// Each status also has a row of its own ("login 200", "login 503"):
	// their latencies tell answers in time from answers past the
	// request's deadline.
	if resp.StatusCode == 200 {
		a.c.rec.add("login", outcomeOK, 200, d)
		byStatus.add("login 200", outcomeOK, 200, d)
		return 0, nil
	}
	a.c.rec.add("login", outcomeError, resp.StatusCode, d)
	byStatus.add("login "+strconv.Itoa(resp.StatusCode), outcomeOK, resp.StatusCode, d)
	secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	return time.Duration(max(secs, 1)) * time.Second, nil
}

func stringsReader(s string) io.Reader { return strings.NewReader(s) }

// loginAll logs every account in, all at once, and returns the first
// error.
func loginAll(ctx context.Context, accts []*account) error {
	errs := make(chan error, len(accts))
	var wg sync.WaitGroup
	for _, a := range accts {
		wg.Go(func() {
			if err := a.login(ctx, "login"); err != nil {
				errs <- fmt.Errorf("logging %s in: %w", a.email, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// pacer spaces one reader's requests so that n readers together send rate
// requests per second, reader i offset by i/n of the interval. A request
// that is late (the one before took longer than the interval) is sent at
// once and the schedule starts again from it: no burst to catch up. A
// zero rate never waits.
type pacer struct {
	next     time.Time
	interval time.Duration
}

func newPacer(start time.Time, rate float64, i, n int) *pacer {
	if rate <= 0 {
		return &pacer{}
	}
	interval := time.Duration(float64(n) / rate * float64(time.Second))
	return &pacer{next: start.Add(interval * time.Duration(i) / time.Duration(n)), interval: interval}
}

// wait waits for the next slot; false means ctx ended first.
func (p *pacer) wait(ctx context.Context) bool {
	if p.interval == 0 {
		return ctx.Err() == nil
	}
	d := time.Until(p.next)
	if d <= 0 {
		p.next = time.Now().Add(p.interval)
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	}
	p.next = p.next.Add(p.interval)
	return true
}
