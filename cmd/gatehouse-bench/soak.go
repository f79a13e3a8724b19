package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"time"
)

func init() {
	register("soak", "starts examples/server, drives the load mix, samples its RSS and goroutines every second", runSoak)
}

// soakSample is one second's reading of the server.
type soakSample struct {
	At         time.Duration `json:"at_ns"`
	RSS        int64         `json:"rss_bytes"`
	Goroutines int           `json:"goroutines"`
}

// flatness compares the median of the samples in the last 10 s with the
// median of those in seconds 10–20 of the run. The median, not the mean:
// a sample that lands on a burst of requests in flight (each a goroutine,
// and argon2id's 64 MiB) says nothing about a leak, while a leak moves the
// median. ok is false when the run is too short to have both windows
// (30 s at least).
func flatness(samples []soakSample, elapsed time.Duration, value func(soakSample) float64) (early, late float64, ok bool) {
	if elapsed < 30*time.Second {
		return 0, 0, false
	}
	var e, l []float64
	for _, s := range samples {
		switch {
		case s.At >= 10*time.Second && s.At < 20*time.Second:
			e = append(e, value(s))
		case s.At >= elapsed-10*time.Second:
			l = append(l, value(s))
		}
	}
	if len(e) == 0 || len(l) == 0 {
		return 0, 0, false
	}
	return median(e), median(l), true
}

func runSoak(args []string) error {
	var o loadOptions
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	fs.IntVar(&o.clients, "clients", 8, "concurrent keep-alive clients")
	fs.DurationVar(&o.duration, "duration", 60*time.Second, "how long to run (at least 30s for the flatness verdict)")
	fs.StringVar(&o.serverBin, "server-bin", "", "examples/server binary to start (default: go build it)")
	fs.BoolVar(&o.json, "json", false, "print the figures as one JSON array on the last line")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	out := os.Stdout
	ctx := context.Background()
	s, cleanup, err := spawnGatehouse(ctx, o.serverBin, nil, nil, os.Stderr)
	if err != nil {
		return err
	}
	defer cleanup()

	type result struct {
		rep LoadReport
		err error
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		rep, err := runMix(ctx, mixConfig{
			URL: s.child.URL, Clients: o.clients, Duration: o.duration,
			AdminEmail: s.adminEmail, AdminPassword: s.adminPassword,
		})
		done <- result{rep, err}
	}()
	samples, res := sampleUntil(ctx, s.child, start, done)
	if res.err != nil {
		return res.err
	}
	elapsed := res.rep.Elapsed
	fmt.Fprintf(out, "soak: %d clients for %v against examples/server (SQLite, recording on), pid %d\n", o.clients, o.duration, s.child.PID())
	res.rep.print(out)
	fmt.Fprintln(out, "\nsecond  RSS MiB  goroutines")
	for _, x := range samples {
		fmt.Fprintf(out, "%6.0f  %7.1f  %10d\n", x.At.Seconds(), float64(x.RSS)/(1<<20), x.Goroutines)
	}
	figs := res.rep.figures("soak", "sqlite")
	verdict := true
	for _, m := range []struct {
		name string
		unit string
		f    func(soakSample) float64
	}{
		{"rss", "MiB", func(x soakSample) float64 { return float64(x.RSS) / (1 << 20) }},
		{"goroutines", "goroutines", func(x soakSample) float64 { return float64(x.Goroutines) }},
	} {
		early, late, ok := flatness(samples, elapsed, m.f)
		if !ok {
			fmt.Fprintf(out, "%s: the run is too short to judge flatness (needs 30s)\n", m.name)
			verdict = false
			continue
		}
		ratio := late / early
		flat := ratio >= 0.9 && ratio <= 1.1
		verdict = verdict && flat
		fmt.Fprintf(out, "%s: median of seconds 10–20 %.1f, of the last 10 s %.1f: %+.1f%% (%s)\n", m.name, early, late, 100*(ratio-1), map[bool]string{true: "flat", false: "NOT flat"}[flat])
		figs = append(figs, loadFigure{Name: "soak_" + m.name + "_last10s", Store: "sqlite", Value: late, Unit: m.unit, Baseline: "soak_" + m.name + "_10s_to_20s", BaselineValue: early, Ratio: ratio})
	}
	if res.rep.Errors > 0 {
		verdict = false
		fmt.Fprintf(out, "errors other than intended 4xx: %d (%s)\n", res.rep.Errors, countsText(res.rep.errorsByStatus()))
	}
	fmt.Fprintf(out, "verdict: %s\n", map[bool]string{true: "PASS (0 errors, RSS and goroutines flat)", false: "FAIL"}[verdict])
	if o.json {
		if err := writeFigures(out, figs); err != nil {
			return err
		}
	}
	if !verdict {
		return errors.New("the soak failed its targets (see above)")
	}
	return nil
}

// sampleUntil reads the server's RSS and goroutines every second until
// the run reports on done.
func sampleUntil[T any](ctx context.Context, c *child, start time.Time, done <-chan T) ([]soakSample, T) {
	hc := &http.Client{Timeout: 5 * time.Second}
	var samples []soakSample
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case r := <-done:
			return samples, r
		case <-t.C:
			x := soakSample{At: time.Since(start)}
			var err error
			if x.RSS, err = rssBytes(c.PID()); err != nil {
				fmt.Fprintln(os.Stderr, "rss:", err)
				continue
			}
			if x.Goroutines, err = goroutines(ctx, hc, c.DebugURL); err != nil {
				fmt.Fprintln(os.Stderr, "goroutines:", err)
				continue
			}
			samples = append(samples, x)
		}
	}
}
