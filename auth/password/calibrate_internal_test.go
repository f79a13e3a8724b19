package password

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// machine models a machine on which one argon2id hash costs perKiBPass
// for each KiB of memory and each pass, and counts the measurements.
type machine struct {
	perKiBPass time.Duration
	calls      int
}

func (m *machine) measure(p Argon2Params) time.Duration {
	m.calls++
	return time.Duration(p.Time) * time.Duration(p.MemoryKiB) * m.perKiBPass
}

func TestCalibrateModel(t *testing.T) {
	tests := []struct {
		name       string
		perKiBPass time.Duration
		target     time.Duration
		maxMemory  uint32
		want       Argon2Params
	}{
		// 65.5 µs a pass over 64 MiB: the passes hit the cap of 16.
		{"fast machine", time.Nanosecond, 500 * time.Millisecond, 0, Argon2Params{Time: 16, MemoryKiB: 65536, Threads: 4}},
		// 65.5 ms a pass: 3 passes (197 ms) fit in 250 ms, 4 do not.
		{"passes", time.Microsecond, 250 * time.Millisecond, 0, Argon2Params{Time: 3, MemoryKiB: 65536, Threads: 4}},
		// One pass over 64 MiB takes 262 ms: the memory shrinks to 61 MiB.
		{"memory shrinks", 4 * time.Microsecond, 250 * time.Millisecond, 0, Argon2Params{Time: 1, MemoryKiB: 62464, Threads: 4}},
		// Too slow even for the floor: the floor itself.
		{"floor", 10 * time.Microsecond, 250 * time.Millisecond, 0, Argon2Params{Time: 3, MemoryKiB: 12288, Threads: 4}},
		// Below 46 MiB the floor wants 2 passes: 1 GiB of budget for 20 MiB.
		{"small memory", time.Microsecond, 250 * time.Millisecond, 20 * 1024, Argon2Params{Time: 12, MemoryKiB: 20480, Threads: 4}},
		// 1 GiB allowed, one pass at most (the Time × MemoryKiB cap).
		{"work cap", time.Nanosecond, time.Second, 1 << 20, Argon2Params{Time: 1, MemoryKiB: 1 << 20, Threads: 4}},
		// Whole MiB only.
		{"rounding", time.Nanosecond, 10 * time.Millisecond, 50000, Argon2Params{Time: 16, MemoryKiB: 48 * 1024, Threads: 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &machine{perKiBPass: tt.perKiBPass}
			got, took, err := calibrate(context.Background(), tt.target, tt.maxMemory, m.measure)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("calibrate = %+v, want %+v", got, tt.want)
			}
			if want := m.measure(got); took != want {
				t.Errorf("took %v, want the model's %v for %+v", took, want, got)
			}
			if _, err := NewArgon2id(got); err != nil {
				t.Errorf("NewArgon2id(%+v): %v", got, err)
			}
			if m.calls > 2*calibrateSteps {
				t.Errorf("%d measurements", m.calls)
			}
		})
	}
}

// TestCalibrateProperties checks, over many modelled machines, targets and
// memory limits, that the result is valid, within the memory limit, within
// target unless at the floor, and that one more pass would not fit.
func TestCalibrateProperties(t *testing.T) {
	floor := Argon2Params{Time: 3, MemoryKiB: asvsMemoryT3, Threads: 4}
	for _, per := range []time.Duration{1, 10, 100, 1000, 3000, 10000} {
		for _, target := range []time.Duration{time.Millisecond, 50 * time.Millisecond, 200 * time.Millisecond, time.Second} {
			for _, maxMem := range []uint32{0, 12288, 19456, 47103, 47104, 100000, 1 << 20} {
				m := &machine{perKiBPass: per}
				got, took, err := calibrate(context.Background(), target, maxMem, m.measure)
				name := fmt.Sprintf("%v/KiB-pass, target %v, max %d KiB", per, target, maxMem)
				if err != nil {
					t.Errorf("%s: %v", name, err)
					continue
				}
				if _, err := NewArgon2id(got); err != nil {
					t.Errorf("%s: %+v refused: %v", name, got, err)
				}
				limit := maxMem
				if limit == 0 {
					limit = defaultArgon2MemoryKiB
				}
				if got.MemoryKiB > limit || got.MemoryKiB%1024 != 0 {
					t.Errorf("%s: MemoryKiB %d", name, got.MemoryKiB)
				}
				if took > target && got != floor {
					t.Errorf("%s: %+v takes %v, over target, and is not the floor", name, got, took)
				}
				more := got
				more.Time++
				if took <= target && more.Time <= maxArgon2Time && uint64(more.Time)*uint64(more.MemoryKiB) <= maxArgon2Work && m.measure(more) <= target {
					t.Errorf("%s: %+v, but %+v fits too", name, got, more)
				}
			}
		}
	}
}

// A machine whose timing is worse than its first measurement promised
// (noise): the passes step back until a measurement fits.
func TestCalibrateStepsBack(t *testing.T) {
	calls := 0
	measure := func(p Argon2Params) time.Duration {
		calls++
		if calls == 1 {
			return 10 * time.Millisecond // t=1, 64 MiB: looks like 10 ms a pass
		}
		return time.Duration(p.Time) * 20 * time.Millisecond // really 20 ms
	}
	got, took, err := calibrate(context.Background(), 100*time.Millisecond, 0, measure)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Argon2Params{Time: 5, MemoryKiB: 65536, Threads: 4}); got != want || took != 100*time.Millisecond {
		t.Errorf("calibrate = %+v, %v; want %+v, 100ms", got, took, want)
	}
}

func TestCalibrateErrors(t *testing.T) {
	never := func(Argon2Params) time.Duration { panic("measured") }
	for _, tt := range []struct {
		name      string
		target    time.Duration
		maxMemory uint32
		field     string
	}{
		{"zero target", 0, 0, "target"},
		{"negative target", -time.Second, 0, "target"},
		{"memory below the floor", time.Second, 12287, "maxMemoryKiB"},
		{"memory over 1 GiB", time.Second, 1<<20 + 1, "maxMemoryKiB"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := calibrate(context.Background(), tt.target, tt.maxMemory, never)
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Field != tt.field {
				t.Errorf("err = %v, want a *ConfigError for %s", err, tt.field)
			}
		})
	}
	t.Run("context ended", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, _, err := calibrate(ctx, time.Second, 0, never); !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	})
	t.Run("context ends during the search", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		measure := func(p Argon2Params) time.Duration { cancel(); return time.Millisecond }
		if _, _, err := calibrate(ctx, time.Second, 0, measure); !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	})
}
