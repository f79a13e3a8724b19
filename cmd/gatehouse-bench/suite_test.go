package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/auth/password"
	"github.com/gatehouse-go/gatehouse/store"
)

// runSuiteArgs runs the suite with args and returns its stdout and stderr.
func runSuiteArgs(t *testing.T, args ...string) (string, string) {
	t.Helper()
	var out, progress bytes.Buffer
	if err := suite(context.Background(), args, &out, &progress); err != nil {
		t.Fatalf("suite %q: %v\nstderr:\n%s", args, err, progress.String())
	}
	return out.String(), progress.String()
}

// lastLineFigures decodes the last line of out as the JSON array of
// figures, checking that each object has exactly the documented keys.
func lastLineFigures(t *testing.T, out string) []Figure {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	last := lines[len(lines)-1]
	var raw []map[string]json.RawMessage
	if err := json.Unmarshal([]byte(last), &raw); err != nil {
		t.Fatalf("last line is not a JSON array of objects: %v\n%s", err, last)
	}
	want := []string{"baseline", "baseline_value", "name", "ratio", "store", "unit", "value"}
	for i, obj := range raw {
		var keys []string
		for k := range obj {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if !slices.Equal(keys, want) {
			t.Errorf("figure %d has keys %v, want exactly %v", i, keys, want)
		}
	}
	var figures []Figure
	dec := json.NewDecoder(strings.NewReader(last))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&figures); err != nil {
		t.Fatal(err)
	}
	return figures
}

// TestSuiteTiny runs the whole suite on memstore, a few milliseconds per
// measurement with the cheapest argon2id the library accepts, and checks
// the table, the progress and the JSON: every figure the issue names, for
// the store, with positive rates and ratio = value ÷ baseline_value.
func TestSuiteTiny(t *testing.T) {
	out, progress := runSuiteArgs(t, "-stores", "memstore", "-time", "3ms", "-rounds", "1",
		"-clients", "4", "-argon2", "m=12288,t=3,p=1", "-json")
	figures := lastLineFigures(t, out)

	// The figures of issue 17 and their baselines, spelled out here so
	// that renaming one in the tool breaks this test.
	want := map[string][]string{
		"authenticate":                  {"jwt_parse"},
		"authenticate_uncached":         {"jwt_parse"},
		"login":                         {"argon2id_verify"},
		"http_get_user":                 {"plain_handler"},
		"http_refresh":                  {"plain_handler"},
		"http_login":                    {"argon2id_verify"},
		"store_user_by_id":              {"map_lookup"},
		"store_session_lookup":          {"map_lookup"},
		"store_refresh_rotation":        {"map_lookup"},
		"refresh_recording_on_over_off": {"refresh_recording_off"},
	}
	seen := map[string]bool{}
	for _, f := range figures {
		if f.Store != "memstore" {
			t.Errorf("%s: store %q, want memstore", f.Name, f.Store)
		}
		base, ok := want[f.Name]
		if !ok {
			t.Errorf("unexpected figure %q", f.Name)
			continue
		}
		if seen[f.Name] {
			t.Errorf("figure %q twice", f.Name)
		}
		seen[f.Name] = true
		if f.Baseline != base[0] {
			t.Errorf("%s: baseline %q, want %q", f.Name, f.Baseline, base[0])
		}
		if f.Unit != "op/s" {
			t.Errorf("%s: unit %q", f.Name, f.Unit)
		}
		if !(f.Value > 0) || !(f.BaselineValue > 0) || math.IsInf(f.Value, 0) || math.IsInf(f.BaselineValue, 0) {
			t.Errorf("%s: value %v, baseline_value %v: want positive rates", f.Name, f.Value, f.BaselineValue)
		}
		if r := f.Value / f.BaselineValue; math.Abs(f.Ratio-r) > 1e-9*r {
			t.Errorf("%s: ratio %v, want value/baseline_value = %v", f.Name, f.Ratio, r)
		}
		// The table shows it too.
		if !strings.Contains(out, "memstore  "+f.Name+" ") {
			t.Errorf("the table has no row for %s:\n%s", f.Name, out)
		}
		if !strings.Contains(progress, "memstore: ") || !strings.Contains(progress, f.Name+" vs "+f.Baseline) {
			t.Errorf("no progress line for %s:\n%s", f.Name, progress)
		}
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("figure %q missing", name)
		}
	}
}

// A database server that does not answer is skipped, and said so; the run
// still succeeds, with an empty JSON array.
func TestSuiteUnreachable(t *testing.T) {
	out, progress := runSuiteArgs(t, "-stores", "postgres,mysql", "-json",
		"-postgres", "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2",
		"-mysql", "nobody@tcp(127.0.0.1:1)/none?timeout=2s")
	if got := lastLineFigures(t, out); len(got) != 0 {
		t.Errorf("figures of unreachable stores: %+v", got)
	}
	for _, name := range []string{"postgres", "mysql"} {
		if !strings.Contains(out, "\n"+name+": skipped: unreachable") {
			t.Errorf("the table does not say %s was skipped:\n%s", name, out)
		}
		if !strings.Contains(progress, name+": skipped: unreachable") {
			t.Errorf("no progress line for skipping %s:\n%s", name, progress)
		}
	}
}

func TestSuiteFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-stores", "memstore,oracle"},
		{"-argon2", "m=65536,x=3"},
		{"-argon2", "m=65536,t=0"},
		{"-time", "-1s"},
		{"-rounds", "-1"},
		{"-clients", "0"},
		{"-nosuchflag"},
		{"extra"},
	} {
		if o, err := parseSuiteFlags(args, io.Discard); err == nil {
			t.Errorf("parseSuiteFlags(%q) = %+v, no error", args, o)
		}
	}
	// Fields left out of -argon2 take the library's defaults.
	o, err := parseSuiteFlags([]string{"-argon2", "t=2,m=19456"}, io.Discard)
	if err != nil || o.argon2 != (password.Argon2Params{MemoryKiB: 19456, Time: 2}) {
		t.Errorf("-argon2 t=2,m=19456: %+v, %v", o, err)
	}
	// Parameters below the ASVS floor are refused before anything runs.
	var out bytes.Buffer
	err = suite(context.Background(), []string{"-stores", "memstore", "-argon2", "m=1024,t=1,p=1"}, &out, io.Discard)
	var ce *password.ConfigError
	if !errors.As(err, &ce) || out.Len() != 0 {
		t.Errorf("suite -argon2 m=1024,t=1,p=1 = %v, printed %q; want a *password.ConfigError and nothing", err, out.String())
	}
}

func TestArgon2ParamsRoundTrip(t *testing.T) {
	for _, p := range []password.Argon2Params{{Time: 3, MemoryKiB: 65536, Threads: 4}, {Time: 1, MemoryKiB: 47104, Threads: 1}} {
		s := formatArgon2Params(p)
		got, err := parseArgon2Params(s)
		if err != nil || got != p {
			t.Errorf("parseArgon2Params(%q) = %+v, %v; want %+v", s, got, err, p)
		}
	}
	for _, bad := range []string{"", "m=", "m=-1", "m=1,m=2", "p=256", "t=1;m=2"} {
		if _, err := parseArgon2Params(bad); err == nil {
			t.Errorf("parseArgon2Params(%q): no error", bad)
		}
	}
}

// TestSQLiteAuditFile: the store sqlite-audit-file keeps the audit log in
// a second SQLite file: a run appended to its Runs is not in the main
// store's log. Its only figure is refresh_recording_on_over_off.
func TestSQLiteAuditFile(t *testing.T) {
	ctx := t.Context()
	b, err := openBackend(ctx, "sqlite-audit-file", &suiteOptions{clients: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := b.close(); err != nil {
			t.Errorf("close: %v", err)
		}
	}()
	run := &store.Run{ID: "c0000000-0000-4000-8000-000000000001", Type: "refresh", Time: time.Unix(1e9, 0)}
	if err := b.runs.AppendRun(ctx, run); err != nil {
		t.Fatalf("AppendRun: %v", err)
	}
	mainRuns, ok := b.st.(store.Runs)
	if !ok {
		t.Fatal("the main store keeps no audit log")
	}
	for _, c := range []struct {
		name string
		runs store.Runs
		want int
	}{{"audit file", b.runs, 1}, {"main file", mainRuns, 0}} {
		page, err := c.runs.ListRuns(ctx, store.RunQuery{})
		if err != nil {
			t.Fatalf("%s: ListRuns: %v", c.name, err)
		}
		if page.Total != c.want {
			t.Errorf("%s: %d runs, want %d", c.name, page.Total, c.want)
		}
	}

	out, _ := runSuiteArgs(t, "-stores", "sqlite-audit-file", "-time", "3ms", "-rounds", "1",
		"-clients", "2", "-argon2", "m=12288,t=3,p=1", "-json")
	figures := lastLineFigures(t, out)
	if len(figures) != 1 || figures[0].Name != "refresh_recording_on_over_off" || figures[0].Store != "sqlite-audit-file" ||
		figures[0].Baseline != "refresh_recording_off" || !(figures[0].Ratio > 0) {
		t.Errorf("figures of sqlite-audit-file: %+v, want refresh_recording_on_over_off alone", figures)
	}
}
