package memstore_test

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/memstore"
)

// TestRunsCanceledContext: every Runs method reports a context that is
// already done and changes nothing.
func TestRunsCanceledContext(t *testing.T) {
	s := memstore.New()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := s.AppendRun(t.Context(), &store.Run{ID: "r1", Type: "T", Time: now}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	calls := []struct {
		name string
		call func() error
	}{
		{"AppendRun", func() error { return s.AppendRun(ctx, &store.Run{ID: "r2", Type: "T", Time: now}) }},
		{"ListRuns", func() error { _, err := s.ListRuns(ctx, store.RunQuery{}); return err }},
		{"AggregateEntries", func() error { _, err := s.AggregateEntries(ctx, store.Aggregation{Key: "k"}); return err }},
		{"CountRunsByUser", func() error { _, err := s.CountRunsByUser(ctx, store.RunFilter{}); return err }},
		{"DeleteRunsBefore", func() error { _, err := s.DeleteRunsBefore(ctx, now.Add(time.Hour)); return err }},
	}
	for _, tc := range calls {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); !errors.Is(err, context.Canceled) {
				t.Errorf("err = %v, want context.Canceled", err)
			}
		})
	}
	page, err := s.ListRuns(t.Context(), store.RunQuery{})
	if err != nil || page.Total != 1 || page.Runs[0].ID != "r1" {
		t.Fatalf("ListRuns = %+v, %v; want r1 alone", page, err)
	}
}

// TestAppendRunRefusesBadRuns: memstore refuses what the contract says
// callers never send, rather than storing it.
func TestAppendRunRefusesBadRuns(t *testing.T) {
	s := memstore.New()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for name, r := range map[string]*store.Run{
		"NoID":   {Type: "T", Time: now},
		"NoType": {ID: "r", Time: now},
		"NaN":    {ID: "r", Type: "T", Time: now, Entries: []store.Entry{{Key: "k", Numeric: true, Number: math.NaN()}}},
		"Inf":    {ID: "r", Type: "T", Time: now, Entries: []store.Entry{{Key: "k", Numeric: true, Number: math.Inf(1)}}},
	} {
		t.Run(name, func(t *testing.T) {
			if err := s.AppendRun(t.Context(), r); err == nil {
				t.Fatal("AppendRun accepted it")
			}
		})
	}
	if page, _ := s.ListRuns(t.Context(), store.RunQuery{}); page.Total != 0 {
		t.Errorf("%d runs stored", page.Total)
	}
}
