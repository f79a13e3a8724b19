package password

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/crypto/argon2"
)

// The floor of OWASP ASVS 5.0 appendix C that [NewArgon2id] applies:
// memory of at least asvsMemoryT1 KiB with Time 1, asvsMemoryT2 with Time
// 2, asvsMemoryT3 with Time 3 or more.
const (
	asvsMemoryT1 = 47104
	asvsMemoryT2 = 19456
	asvsMemoryT3 = 12288
)

// calibrateSteps bounds the measurements of each phase of Calibrate.
const calibrateSteps = 8

// Calibrate picks argon2id parameters for this machine: the most memory up
// to maxMemoryKiB, and then the most passes, for which one hash takes at
// most target. It returns the parameters, ready for [NewArgon2id], and how
// long one hash with them took here. maxMemoryKiB of 0 means the default
// 65536 (64 MiB); Threads is always the default, 4.
//
// The result never goes below the OWASP ASVS floor that [NewArgon2id]
// applies (see [Argon2Params]): when even the cheapest parameters the
// floor allows (MemoryKiB 12288 with Time 3) take longer than target, it
// returns those, with the longer time, and no error. Compare the time with
// target to tell.
//
// The search measures real hashes: each measurement hashes twice and keeps
// the faster time (the first hash of a size pays for page faults). It
// starts at maxMemoryKiB, rounded down to whole MiB, with the fewest
// passes the floor allows for that memory. While that is slower than
// target it scales the work (memory × passes) down by target over the time
// measured, keeping as much memory as the floor allows for that work, and
// measures again. Then, with that memory, it raises the passes to as many
// as the time per pass allows, within the caps (Time at most 16,
// Time × MemoryKiB at most 1048576), stepping back one pass while a
// measurement is over target. A run takes a few times target, more on a
// machine too slow for it; the figures vary with the machine's other load,
// so calibrate on an idle machine like the one that will serve, and leave
// headroom for concurrent logins (auth.Config.Password.MaxConcurrentHashes).
//
// Calibrate returns a *[ConfigError] naming "target" when target is not
// positive, and "maxMemoryKiB" when it is below 12288 or above 1048576
// (1 GiB). It checks ctx between measurements and returns ctx.Err() once
// ctx ends, within one measurement.
func Calibrate(ctx context.Context, target time.Duration, maxMemoryKiB uint32) (Argon2Params, time.Duration, error) {
	return calibrate(ctx, target, maxMemoryKiB, timeArgon2id)
}

// timeArgon2id is the time one argon2id hash with p takes, the faster of
// two.
func timeArgon2id(p Argon2Params) time.Duration {
	pw := []byte("calibration password")
	salt := make([]byte, argon2SaltLen)
	var best time.Duration
	for i := range 2 {
		start := time.Now()
		argon2.IDKey(pw, salt, p.Time, p.MemoryKiB, p.Threads, argon2KeyLen)
		if d := time.Since(start); i == 0 || d < best {
			best = d
		}
	}
	return best
}

// calibrate is Calibrate with the measurement injected, so that tests can
// model a machine.
func calibrate(ctx context.Context, target time.Duration, maxMemoryKiB uint32, measure func(Argon2Params) time.Duration) (Argon2Params, time.Duration, error) {
	if target <= 0 {
		return Argon2Params{}, 0, &ConfigError{Field: "target", Reason: "must be positive"}
	}
	if maxMemoryKiB == 0 {
		maxMemoryKiB = defaultArgon2MemoryKiB
	}
	if maxMemoryKiB < asvsMemoryT3 || maxMemoryKiB > maxArgon2MemoryKiB {
		return Argon2Params{}, 0, &ConfigError{
			Field:  "maxMemoryKiB",
			Reason: fmt.Sprintf("must be between %d and %d KiB (or 0 for the default)", asvsMemoryT3, maxArgon2MemoryKiB),
		}
	}
	mem := maxMemoryKiB / 1024 * 1024 // still ≥ asvsMemoryT3, a whole 12 MiB
	p := Argon2Params{Time: fewestPasses(mem), MemoryKiB: mem, Threads: defaultArgon2Threads}

	// Phase 1: the memory, at the fewest passes the floor allows for it.
	var took time.Duration
	for step := 0; ; step++ {
		if err := ctx.Err(); err != nil {
			return Argon2Params{}, 0, err
		}
		took = measure(p)
		if took <= target {
			break
		}
		q, ok := lessWork(p, target, took)
		if !ok || step == calibrateSteps {
			return p, took, nil // the floor, or as close as the steps got
		}
		p = q
	}

	// Phase 2: the passes, with that memory.
	perPass := took / time.Duration(p.Time)
	if perPass <= 0 {
		perPass = 1
	}
	best, bestTook := p, took
	t := min(uint64(target/perPass), maxArgon2Time, maxArgon2Work/uint64(p.MemoryKiB))
	for step := 0; step < calibrateSteps && t > uint64(best.Time); step++ {
		if err := ctx.Err(); err != nil {
			return Argon2Params{}, 0, err
		}
		q := best
		q.Time = uint32(t)
		if d := measure(q); d <= target {
			return q, d, nil
		}
		t--
	}
	return best, bestTook, nil
}

// fewestPasses is the smallest Time the ASVS floor allows with memKiB.
func fewestPasses(memKiB uint32) uint32 {
	switch {
	case memKiB >= asvsMemoryT1:
		return 1
	case memKiB >= asvsMemoryT2:
		return 2
	default:
		return 3
	}
}

// lessWork returns parameters whose work (Time × MemoryKiB) is p's scaled
// by target/took, with as much memory as the floor allows for that work
// (whole MiB, never more than p's), or false when p is already the
// cheapest the floor allows.
func lessWork(p Argon2Params, target, took time.Duration) (Argon2Params, bool) {
	cheapest := Argon2Params{Time: 3, MemoryKiB: asvsMemoryT3, Threads: p.Threads}
	if p.Time*p.MemoryKiB <= cheapest.Time*cheapest.MemoryKiB {
		return p, false
	}
	work := uint64(float64(p.Time) * float64(p.MemoryKiB) * float64(target) / float64(took))
	for t := uint64(1); t <= 3; t++ {
		m := min(uint32(work/t)/1024*1024, p.MemoryKiB)
		if m >= asvsMemoryT3 && fewestPasses(m) <= uint32(t) {
			return Argon2Params{Time: uint32(t), MemoryKiB: m, Threads: p.Threads}, true
		}
	}
	return cheapest, true
}
