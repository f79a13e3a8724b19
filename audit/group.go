package audit

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

// Defaults of [Config.MaxBatch] and [Config.MaxWait], and their limits.
//
// How they were chosen: 256 runs of an event's 6–8 entries are about 2,000
// entry rows, 14,000 placeholders, which one SQL statement takes in every
// dialect (SQLite's limit is 32766), and a batch that large is written in
// a few milliseconds, so that no caller waits long behind a full one.
// Batches fill up mostly by themselves, with the recordings that arrive
// while the previous batch is being written; the leader waits for more
// only while yielding brings more, so the wait rarely reaches its bound.
// 1 ms is about the time of one batch write, so it bounds what waiting
// can add to a recording's latency by that, and a lone recording never
// waits.
const (
	DefaultMaxBatch = 256
	DefaultMaxWait  = time.Millisecond
	maxMaxBatch     = 4096
	maxMaxWait      = 100 * time.Millisecond
)

// ErrClosed is the error of a recording attempted after [Recorder.Close].
var ErrClosed = errors.New("audit: recorder closed")

// errStorePanicked is the error of the other runs of a batch whose store
// call panicked (the leader's own call panics on).
var errStorePanicked = errors.New("audit: the store panicked while appending the batch")

// pending is one run on its way to the store.
type pending struct {
	run *store.Run
	err error
	// done is closed once err is the outcome.
	done chan struct{}
	// lead tells a waiting caller that it is to write the next batch.
	lead chan struct{}
}

// committer appends runs to a store, by group commit when the store has
// store.RunBatch (batch non-nil), one by one otherwise. It starts no
// goroutine: the callers do the work. With group commit, a caller that
// finds no batch under way leads one: it waits for company while company
// keeps coming, up to wait (only when the previous batch had some), takes up to max queued runs, its own
// first, writes them with one AppendRuns (even a batch of one), hands each caller its outcome and
// passes the lead to the first caller still queued, if any. The others wait
// for their outcome or for the lead. Batches are written one at a time, in
// the order their runs were queued.
type committer struct {
	runs  store.Runs
	batch store.RunBatch // nil: one by one
	max   int
	wait  time.Duration

	mu       sync.Mutex
	closed   bool
	queue    []*pending // queued, not yet taken by a leader
	leading  bool       // a caller leads: waits for company or writes
	company  bool       // the last batch had more than one run
	last     *pending   // the last run queued (group commit)
	inflight map[*pending]struct{}
}

func newCommitter(runs store.Runs, maxBatch int, wait time.Duration) *committer {
	c := &committer{runs: runs, max: maxBatch, wait: wait, inflight: make(map[*pending]struct{})}
	if b, ok := runs.(store.RunBatch); ok && maxBatch > 1 {
		c.batch = b
	}
	return c
}

// append stores run and returns the store's error, once the run is
// durable or known to have failed, whatever becomes of ctx meanwhile; the
// write runs with ctx's values but without its cancellation.
func (c *committer) append(ctx context.Context, run *store.Run) error {
	ctx = context.WithoutCancel(ctx)
	p := &pending{run: run, done: make(chan struct{})}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	if c.batch == nil {
		c.inflight[p] = struct{}{}
		c.mu.Unlock()
		p.err = c.runs.AppendRun(ctx, run)
		c.mu.Lock()
		delete(c.inflight, p)
		c.mu.Unlock()
		close(p.done)
		return p.err
	}
	p.lead = make(chan struct{}, 1)
	c.queue = append(c.queue, p)
	c.last = p
	lead := !c.leading
	if lead {
		c.leading = true
	}
	c.mu.Unlock()
	if !lead {
		select {
		case <-p.done:
			return p.err
		case <-p.lead:
		}
	}
	c.lead(ctx)
	<-p.done // closed by lead: the leader is the first of its batch
	return p.err
}

// lead writes one batch, starting with the first queued run, and passes
// the lead on.
func (c *committer) lead(ctx context.Context) {
	c.mu.Lock()
	if c.wait > 0 && c.company && len(c.queue) < c.max {
		// Wait for company only while it keeps coming: yield, and go on
		// yielding while each yield brought more runs, up to c.wait. A
		// fixed wait would hold every batch for c.wait even when all the
		// callers that could join are already queued (8 clients, say).
		deadline := time.Now().Add(c.wait)
		for {
			queued := len(c.queue)
			c.mu.Unlock()
			runtime.Gosched()
			c.mu.Lock()
			if len(c.queue) == queued || len(c.queue) >= c.max || !time.Now().Before(deadline) {
				break
			}
		}
	}
	n := min(len(c.queue), c.max)
	batch := make([]*pending, n)
	copy(batch, c.queue)
	c.queue = append(c.queue[:0:0], c.queue[n:]...)
	c.company = n > 1
	c.mu.Unlock()

	delivered := false
	defer func() {
		if !delivered { // the store panicked: fail the batch, pass the lead on
			for _, p := range batch {
				p.err = errStorePanicked
				close(p.done)
			}
			c.passLead()
		}
	}()
	// A batch of one goes through AppendRuns too: a store may write a
	// batch in fewer round trips than a run (sqlstore on PostgreSQL: one
	// statement instead of a transaction of four).
	runs := make([]*store.Run, n)
	for i, p := range batch {
		runs[i] = p.run
	}
	err := c.batch.AppendRuns(ctx, runs)
	delivered = true
	for _, p := range batch {
		p.err = err
		close(p.done)
	}
	c.passLead()
}

// passLead hands the lead to the first queued caller, or ends it.
func (c *committer) passLead() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.queue) == 0 {
		c.leading = false
		return
	}
	c.queue[0].lead <- struct{}{}
}

// flush waits until every append begun before it has its outcome, or ctx
// is done. With close set, appends after it fail with ErrClosed.
func (c *committer) flush(ctx context.Context, close bool) error {
	c.mu.Lock()
	if close {
		c.closed = true
	}
	wait := make([]*pending, 0, len(c.inflight)+1)
	for p := range c.inflight {
		wait = append(wait, p)
	}
	if c.last != nil {
		wait = append(wait, c.last) // batches go in queue order
	}
	c.mu.Unlock()
	for _, p := range wait {
		select {
		case <-p.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
