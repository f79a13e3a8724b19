package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gatehouse-go/gatehouse/auth/password"
)

func init() {
	register("suite", "every figure beside its baseline, measured in the same run (the default)", runSuite)
}

// Figure is one measured figure, as -json prints it. Every figure is a
// rate in operations per second (Unit "op/s"), of the measured operation
// (Value) and of its baseline (BaselineValue) measured in the same run,
// and Ratio is Value ÷ BaselineValue: the fraction of the baseline's speed
// that the measured operation reaches. For refresh_recording_on_over_off,
// Value is refresh with audit recording on and the baseline the same
// refresh with recording off.
type Figure struct {
	Name          string  `json:"name"`
	Store         string  `json:"store"`
	Value         float64 `json:"value"`
	Unit          string  `json:"unit"`
	Baseline      string  `json:"baseline"`
	BaselineValue float64 `json:"baseline_value"`
	Ratio         float64 `json:"ratio"`
}

// profile is how long the suite measures.
type profile struct {
	d      time.Duration // each measurement of a figure, per round
	hashD  time.Duration // the same for figures bound by the password hash
	warm   time.Duration // the warm-up of each side of a figure
	rounds int           // measurements of each side, alternating
}

var (
	fullProfile  = profile{d: time.Second, hashD: 2 * time.Second, warm: 200 * time.Millisecond, rounds: 3}
	quickProfile = profile{d: 150 * time.Millisecond, hashD: 400 * time.Millisecond, warm: 30 * time.Millisecond, rounds: 3}
)

// suiteOptions are the suite's settings, from its flags.
type suiteOptions struct {
	profile
	json        bool
	stores      []string
	postgresDSN string
	mysqlDSN    string
	argon2      password.Argon2Params
	clients     int
}

func runSuite(args []string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return suite(ctx, args, os.Stdout, os.Stderr)
}

// suite parses args, runs the figures of every store, writing a progress
// line per phase to progress, and writes the table (and with -json the
// JSON array, last) to out.
func suite(ctx context.Context, args []string, out, progress io.Writer) error {
	o, err := parseSuiteFlags(args, progress)
	if err != nil {
		return err
	}
	hasher, err := password.NewArgon2id(o.argon2)
	if err != nil {
		return fmt.Errorf("-argon2: %w", err)
	}
	start := time.Now()
	var figures []Figure
	skipped := map[string]string{}
	for _, name := range o.stores {
		fmt.Fprintf(progress, "gatehouse-bench: %s: opening\n", name)
		b, err := openBackend(ctx, name, o)
		if errors.Is(err, errUnreachable) {
			skipped[name] = err.Error()
			fmt.Fprintf(progress, "gatehouse-bench: %s: skipped: %v\n", name, err)
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		fs, err := runStore(ctx, b, o, hasher, progress)
		err = errors.Join(err, b.close())
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		figures = append(figures, fs...)
	}
	fmt.Fprintf(progress, "gatehouse-bench: done in %s\n", time.Since(start).Round(time.Second))
	if err := writeTable(out, o, figures, skipped); err != nil {
		return err
	}
	if o.json {
		if figures == nil {
			figures = []Figure{}
		}
		line, err := json.Marshal(figures)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(out, "%s\n", line); err != nil {
			return err
		}
	}
	return nil
}

func parseSuiteFlags(args []string, output io.Writer) (*suiteOptions, error) {
	fs := flag.NewFlagSet("gatehouse-bench", flag.ContinueOnError)
	fs.SetOutput(output)
	fs.Usage = func() {
		fmt.Fprintf(output, `Usage: gatehouse-bench [flags]

Runs the benchmark suite: each figure (operations per second) beside its
baseline measured in the same run, and their ratio, on every store: memstore,
SQLite (a temporary file), and PostgreSQL and MySQL/MariaDB when their servers
answer (a fresh schema or database each, dropped afterwards; otherwise the
table says "skipped: unreachable"). The store sqlite-audit-file is SQLite
with the audit log in a second file of its own (its own *sql.DB and
sqlstore.Store as audit.Config.Runs); it has only the figure
refresh_recording_on_over_off, the others being sqlite's, whose
refresh_recording_on_over_off keeps the audit log in the same file. Progress
goes to stderr, the table to stdout. The machine's other load moves the
figures: compare ratios.

Flags:
`)
		fs.PrintDefaults()
	}
	var (
		o       = &suiteOptions{profile: fullProfile}
		quick   = fs.Bool("quick", false, "a shorter run (under 3 minutes on 2 cores), noisier figures")
		stores  = fs.String("stores", strings.Join(storeNames, ","), "the stores to run, comma-separated")
		argon   = fs.String("argon2", "", "argon2id parameters of the hasher, as m=KiB,t=passes,p=threads (default: the library's, m=65536,t=3,p=4; see the calibrate mode)")
		d       = fs.Duration("time", 0, "each measurement, per round (default 1s, 2s for hash-bound figures; with -quick 150ms and 400ms)")
		rounds  = fs.Int("rounds", 0, "measurements of each figure and of its baseline, alternating; the median counts (default 3)")
		clients = fs.Int("clients", 8, "concurrent callers of the refresh_recording_on_over_off figures")
	)
	fs.BoolVar(&o.json, "json", false, "also print the figures as one JSON array on the last line")
	fs.StringVar(&o.postgresDSN, "postgres", envOr(postgresEnv, defaultPostgresDSN), "PostgreSQL DSN (default $"+postgresEnv+" or a local server)")
	fs.StringVar(&o.mysqlDSN, "mysql", envOr(mysqlEnv, defaultMySQLDSN), "MySQL/MariaDB DSN (default $"+mysqlEnv+" or a local server)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *quick {
		o.profile = quickProfile
	}
	if *d < 0 || *rounds < 0 || *clients < 1 {
		return nil, errors.New("-time and -rounds must not be negative, and -clients must be at least 1")
	}
	if *d > 0 {
		o.d, o.hashD = *d, *d
		o.warm = min(o.warm, *d)
	}
	if *rounds > 0 {
		o.rounds = *rounds
	}
	o.clients = *clients
	for s := range strings.SplitSeq(*stores, ",") {
		s = strings.TrimSpace(s)
		if !slices.Contains(storeNames, s) {
			return nil, fmt.Errorf("-stores: unknown store %q (known: %s)", s, strings.Join(storeNames, ", "))
		}
		if !slices.Contains(o.stores, s) {
			o.stores = append(o.stores, s)
		}
	}
	if *argon != "" {
		p, err := parseArgon2Params(*argon)
		if err != nil {
			return nil, fmt.Errorf("-argon2: %w", err)
		}
		o.argon2 = p
	}
	return o, nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// parseArgon2Params parses "m=65536,t=3,p=4" (the fields in any order,
// each once), the form the calibrate mode prints.
func parseArgon2Params(s string) (password.Argon2Params, error) {
	var p password.Argon2Params
	seen := map[string]bool{}
	for field := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(field), "=")
		if !ok || seen[k] {
			return p, fmt.Errorf("%q is not m=KiB,t=passes,p=threads", s)
		}
		seen[k] = true
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || n == 0 {
			return p, fmt.Errorf("%s=%q: want a positive number", k, v)
		}
		switch k {
		case "m":
			p.MemoryKiB = uint32(n)
		case "t":
			p.Time = uint32(n)
		case "p":
			if n > 255 {
				return p, fmt.Errorf("p=%d: at most 255", n)
			}
			p.Threads = uint8(n)
		default:
			return p, fmt.Errorf("unknown parameter %q (want m, t and p)", k)
		}
	}
	return p, nil
}

// formatArgon2Params is the inverse of parseArgon2Params.
func formatArgon2Params(p password.Argon2Params) string {
	return fmt.Sprintf("m=%d,t=%d,p=%d", p.MemoryKiB, p.Time, p.Threads)
}

// writeTable writes the figures, store by store, and then a line for
// each skipped store.
func writeTable(out io.Writer, o *suiteOptions, figures []Figure, skipped map[string]string) error {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "store\tfigure\top/s\tbaseline\top/s\tratio\t")
	for _, name := range o.stores {
		for _, f := range figures {
			if f.Store == name {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%.3f\t\n", f.Store, f.Name, formatRate(f.Value), f.Baseline, formatRate(f.BaselineValue), f.Ratio)
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, name := range o.stores {
		if why, ok := skipped[name]; ok {
			if _, err := fmt.Fprintf(out, "%s: skipped: %s\n", name, why); err != nil {
				return err
			}
		}
	}
	return nil
}

// formatRate prints a rate with three significant digits at least.
func formatRate(r float64) string {
	switch {
	case r >= 100:
		return strconv.FormatFloat(r, 'f', 0, 64)
	case r >= 10:
		return strconv.FormatFloat(r, 'f', 1, 64)
	default:
		return strconv.FormatFloat(r, 'f', 2, 64)
	}
}
