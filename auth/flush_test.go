package auth_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/gatehouse-go/gatehouse/auth"
)

// flushingSink is an audit sink that records in the background, like
// audit.Recorder with group commit.
type flushingSink struct {
	flushes atomic.Int64
	err     error
}

func (s *flushingSink) RecordEvent(context.Context, auth.Event) {}

func (s *flushingSink) Flush(context.Context) error {
	s.flushes.Add(1)
	return s.err
}

// TestFlushWaitsForTheAuditSink: Manager.Flush, the one call a shutdown
// needs, also drains an audit sink that is a Flusher, and reports its
// failure.
func TestFlushWaitsForTheAuditSink(t *testing.T) {
	boom := errors.New("audit store down")
	sink := &flushingSink{err: boom}
	e := newEnv(t, func(c *auth.Config) { c.Audit = sink })
	err := e.m.Flush(context.Background())
	if !errors.Is(err, boom) {
		t.Errorf("Flush = %v, want the sink's error", err)
	}
	if sink.flushes.Load() != 1 {
		t.Errorf("the sink was flushed %d times, want 1", sink.flushes.Load())
	}
	sink.err = nil // newEnv's cleanup flushes again
}
