package auth

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestHashSlotRefusesWaitersTooNearTheirDeadline (SECURITY.md #12): a
// caller that waited for a hash slot and gets one with less time left than
// a slot is held on average is refused with ErrBusy and the slot passes on;
// a caller with time enough, or one that finds a slot free however near its
// deadline, gets it.
func TestHashSlotRefusesWaitersTooNearTheirDeadline(t *testing.T) {
	m := &Manager{hashSlots: make(chan struct{}, 1)}
	release, err := m.acquireHashSlot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	release()
	release() // a second call gives back nothing
	if len(m.hashSlots) != 0 || m.slotHeld.Load() <= 0 {
		t.Fatalf("after one release: %d slots taken, average held %v; want 0 and a positive average", len(m.hashSlots), time.Duration(m.slotHeld.Load()))
	}

	m.slotHeld.Store(int64(time.Hour))
	// Free slot, deadline nearer than the average: taken.
	near, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	release, err = m.acquireHashSlot(near)
	if err != nil {
		t.Fatalf("a free slot was refused: %v", err)
	}
	// Each release below moves the average by 1/8 of the (short) time
	// held: it stays far above a minute and far below two hours.
	for _, c := range []struct {
		name    string
		timeout time.Duration
		wantErr bool
	}{
		{"too near", time.Minute, true},
		{"time enough", 2 * time.Hour, false},
	} {
		m.slotHeld.Store(int64(time.Hour))
		ctx, cancel := context.WithTimeout(t.Context(), c.timeout)
		got := make(chan error, 1)
		go func() {
			r, err := m.acquireHashSlot(ctx)
			if err == nil {
				r()
			}
			got <- err
		}()
		waitForWaiter(t)
		release()
		err := <-got
		cancel()
		if c.wantErr != (err != nil) || (err != nil && !errors.Is(err, ErrBusy)) {
			t.Errorf("%s: %v; want refused with ErrBusy: %v", c.name, err, c.wantErr)
		}
		if len(m.hashSlots) != 0 {
			t.Fatalf("%s: the slot was not passed on", c.name)
		}
		if release, err = m.acquireHashSlot(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	release()
}

// waitForWaiter returns once a goroutine is blocked in acquireHashSlot.
func waitForWaiter(t *testing.T) {
	t.Helper()
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		for _, g := range strings.Split(string(buf[:n]), "\n\n") {
			if strings.Contains(g, "[select") && strings.Contains(g, "acquireHashSlot") {
				return
			}
		}
		runtime.Gosched()
	}
}
