package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// workload is what one measurement runs: op, called over and over by
// workers goroutines (1 for a serial figure), each passing its own index.
type workload struct {
	workers int
	op      func(ctx context.Context, worker int) error
}

// serial is a workload of one goroutine calling op.
func serial(op func(ctx context.Context) error) workload {
	return workload{workers: 1, op: func(ctx context.Context, _ int) error { return op(ctx) }}
}

// rate runs w for about d and returns the operations per second it
// completed. Every worker completes at least one operation, so a
// measurement shorter than one operation still gives a figure; the time
// counted runs until the last worker's last operation ends. The first
// error of an operation stops the measurement and is returned.
func rate(ctx context.Context, w workload, d time.Duration) (float64, error) {
	var stop atomic.Bool
	timer := time.AfterFunc(d, func() { stop.Store(true) })
	defer timer.Stop()
	counts := make([]int64, w.workers)
	errs := make([]error, w.workers)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range w.workers {
		wg.Go(func() {
			for {
				if err := w.op(ctx, i); err != nil {
					errs[i] = err
					stop.Store(true)
					return
				}
				counts[i]++
				if stop.Load() {
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	for _, err := range errs {
		if err != nil {
			return 0, err
		}
	}
	var n int64
	for _, c := range counts {
		n += c
	}
	return float64(n) / elapsed.Seconds(), nil
}

// pair measures value and baseline in the same run: a warm-up of each,
// then rounds measurements of each for d, alternating which goes first,
// and returns the median rate of each.
func pair(ctx context.Context, value, baseline workload, d, warm time.Duration, rounds int) (v, b float64, err error) {
	for _, w := range []workload{baseline, value} {
		if _, err := rate(ctx, w, warm); err != nil {
			return 0, 0, err
		}
	}
	vs := make([]float64, 0, rounds)
	bs := make([]float64, 0, rounds)
	for r := range rounds {
		order := []*workload{&baseline, &value}
		if r%2 == 1 {
			order[0], order[1] = order[1], order[0]
		}
		for _, w := range order {
			if err := ctx.Err(); err != nil {
				return 0, 0, err
			}
			x, err := rate(ctx, *w, d)
			if err != nil {
				if w == &baseline {
					return 0, 0, fmt.Errorf("baseline: %w", err)
				}
				return 0, 0, err
			}
			if w == &baseline {
				bs = append(bs, x)
			} else {
				vs = append(vs, x)
			}
		}
	}
	return median(vs), median(bs), nil
}
