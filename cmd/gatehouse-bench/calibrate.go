package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"time"

	"github.com/gatehouse-go/gatehouse/auth/password"
)

func init() {
	register("calibrate", "argon2id parameters for a target time and memory on this machine", runCalibrate)
}

func runCalibrate(args []string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return calibrate(ctx, args, os.Stdout, os.Stderr)
}

// calibrate runs password.Calibrate with the flags in args and prints the
// parameters it picks, how to use them and how to measure them.
func calibrate(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs := flag.NewFlagSet("gatehouse-bench calibrate", flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.Usage = func() {
		fmt.Fprintf(errOut, `Usage: gatehouse-bench calibrate [flags]

Picks argon2id parameters for this machine with password.Calibrate: the most
memory up to -max-memory, then the most passes, for which one hash takes at
most -target, never below the OWASP ASVS floor. Run it on an idle machine
like the one that will serve: other load makes the hashes slower, and the
parameters cheaper.

Flags:
`)
		fs.PrintDefaults()
	}
	target := fs.Duration("target", 250*time.Millisecond, "the longest one hash may take")
	maxMiB := fs.Uint("max-memory", 64, "the most memory one hash may use, in MiB (12 to 1024)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *maxMiB < 12 || *maxMiB > 1024 {
		return errors.New("-max-memory must be between 12 and 1024 (MiB)")
	}
	fmt.Fprintf(errOut, "gatehouse-bench: calibrating argon2id for %v and at most %d MiB on %d CPUs...\n", *target, *maxMiB, runtime.NumCPU())
	p, took, err := password.Calibrate(ctx, *target, uint32(*maxMiB)*1024)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "argon2id %s: one hash took %v here (target %v)\n", formatArgon2Params(p), took.Round(time.Millisecond), *target)
	if took > *target {
		fmt.Fprintln(out, "This machine is too slow for the target even at the OWASP ASVS floor; these are the floor's parameters.")
	}
	fmt.Fprintf(out, `Use them with:
	h, err := password.NewArgon2id(password.Argon2Params{Time: %d, MemoryKiB: %d, Threads: %d})
	// auth.Config{Password: auth.PasswordConfig{Hasher: h}}
Each hash in flight holds %d MiB; auth.Config.Password.MaxConcurrentHashes bounds how many run at once.
Measure logins with them: go run ./cmd/gatehouse-bench -argon2 %s
`, p.Time, p.MemoryKiB, p.Threads, p.MemoryKiB/1024, formatArgon2Params(p))
	return nil
}
