// Command vulncheck runs govulncheck over this module against a
// vulnerability database built offline, and decides what fails CI.
//
// CI cannot reach the public vulnerability database, but it can reach the
// Go module proxy, and the golang.org/x/vulndb module carries every report
// of that database as an OSV file (data/osv/GO-YYYY-NNNN.json). vulncheck
// downloads that module at a pinned version (go mod download), lays its
// OSV files out as a database in the v1 layout that govulncheck reads from
// a file:// URL, runs govulncheck (go run at a pinned version) with
// -format json over the packages given, and reads its findings:
//
//   - a dependency whose vulnerable code our code calls fails the run
//     (exit status 1), with the trace and the version that fixes it;
//   - a dependency that is vulnerable in code our code does not call is
//     printed but does not fail: govulncheck's own exit status makes the
//     same distinction, and such a report asks for an upgrade, not a stop;
//   - a standard-library (or toolchain) finding is printed with the Go
//     version that fixes it and does not fail: the fix is a newer Go on
//     the machine that builds, which this repository does not pin.
//
// Usage (from the module root, as .ci/run does):
//
//	go run ./internal/tools/vulncheck -vulndb v0.0.0-… -govulncheck v1.9.0 ./...
//
// It is a tool of this repository's CI; nothing in the library imports it.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

const vulndbModule = "golang.org/x/vulndb"

func main() {
	vulndbVersion := flag.String("vulndb", "", "version of the "+vulndbModule+" module to build the database from (required)")
	scannerVersion := flag.String("govulncheck", "", "version of golang.org/x/vuln to run govulncheck from (required)")
	dbDir := flag.String("db", "", "directory to build the database in and keep (default: a temporary directory, removed afterwards)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: vulncheck -vulndb VERSION -govulncheck VERSION [-db DIR] [packages]\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *vulndbVersion == "" || *scannerVersion == "" {
		flag.Usage()
		os.Exit(2)
	}
	patterns := flag.Args()
	if len(patterns) == 0 {
		patterns = []string{"./..."}
	}
	failed, err := run(context.Background(), os.Stdout, *vulndbVersion, *scannerVersion, *dbDir, patterns)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vulncheck:", err)
		os.Exit(2)
	}
	if failed {
		os.Exit(1)
	}
}

// run builds the database, runs govulncheck and reports to w. It returns
// true when a finding fails the run.
func run(ctx context.Context, w io.Writer, vulndbVersion, scannerVersion, dbDir string, patterns []string) (bool, error) {
	mod, err := download(ctx, vulndbModule+"@"+vulndbVersion)
	if err != nil {
		return false, err
	}
	if dbDir == "" {
		tmp, err := os.MkdirTemp("", "gatehouse-vulndb-")
		if err != nil {
			return false, err
		}
		defer os.RemoveAll(tmp)
		dbDir = tmp
	}
	dbDir, err = filepath.Abs(dbDir)
	if err != nil {
		return false, err
	}
	n, err := buildDB(filepath.Join(mod.Dir, "data", "osv"), dbDir, mod.Time)
	if err != nil {
		return false, err
	}
	fmt.Fprintf(w, "vulncheck: %d reports from %s@%s (%s), govulncheck %s\n",
		n, vulndbModule, vulndbVersion, mod.Time.Format(time.DateOnly), scannerVersion)

	args := append([]string{"run", "golang.org/x/vuln/cmd/govulncheck@" + scannerVersion,
		"-db", "file://" + filepath.ToSlash(dbDir), "-format", "json"}, patterns...)
	cmd := exec.CommandContext(ctx, "go", args...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return false, fmt.Errorf("govulncheck: %w", err)
	}
	rep, err := readFindings(&out)
	if err != nil {
		return false, fmt.Errorf("reading govulncheck's output: %w", err)
	}
	rep.write(w)
	return rep.fails(), nil
}

// module is what go mod download -json says of a module version.
type module struct {
	Dir  string
	Time time.Time // the version's commit time, from its .info file
}

// download fetches a module version into the module cache through the
// go command (and so through GOPROXY) and returns its directory and time.
func download(ctx context.Context, modVersion string) (module, error) {
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", modVersion)
	cmd.Stderr = os.Stderr
	b, err := cmd.Output()
	var out struct {
		Dir, Info, Error string
	}
	if jerr := json.Unmarshal(b, &out); jerr != nil && err == nil {
		err = jerr
	}
	if out.Error != "" {
		return module{}, fmt.Errorf("go mod download %s: %s", modVersion, out.Error)
	}
	if err != nil {
		return module{}, fmt.Errorf("go mod download %s: %w", modVersion, err)
	}
	info, err := os.ReadFile(out.Info)
	if err != nil {
		return module{}, fmt.Errorf("go mod download %s: %w", modVersion, err)
	}
	var meta struct{ Time time.Time }
	if err := json.Unmarshal(info, &meta); err != nil {
		return module{}, fmt.Errorf("go mod download %s: %s: %w", modVersion, out.Info, err)
	}
	return module{Dir: out.Dir, Time: meta.Time.UTC()}, nil
}

// errNoReports is returned by buildDB for a directory without OSV files,
// which would otherwise give an empty database and a run that finds nothing.
var errNoReports = errors.New("no OSV reports")

// buildDB lays the OSV files of osvDir (GO-YYYY-NNNN.json each) out in dir
// as a vulnerability database in the v1 layout that govulncheck reads from
// a file:// URL:
//
//	index/db.json       {"modified": …}
//	index/modules.json  [{"path": …, "vulns": [{"id": …, "modified": …}]}]
//	index/vulns.json    [{"id": …, "modified": …, "aliases": […]}]
//	ID/GO-YYYY-NNNN.json the OSV entry, byte for byte
//
// The modules index leaves out each vulnerability's optional "fixed"
// version: it only lets a client skip entries it would otherwise read, and
// without it govulncheck reads every entry of each module it meets and
// checks the version against the entry's own ranges, so nothing is missed.
// The reports in x/vulndb carry no modification times (those are set when
// the public database is deployed), so modified is the latest of theirs
// and notBefore, the module version's commit time.
//
// It returns how many entries it wrote.
func buildDB(osvDir, dir string, notBefore time.Time) (int, error) {
	files, err := filepath.Glob(filepath.Join(osvDir, "*.json"))
	if err != nil {
		return 0, err
	}
	if len(files) == 0 {
		return 0, fmt.Errorf("%s: %w", osvDir, errNoReports)
	}
	for _, sub := range []string{"index", "ID"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return 0, err
		}
	}
	type moduleVuln struct {
		ID       string    `json:"id"`
		Modified time.Time `json:"modified"`
	}
	type vuln struct {
		ID       string    `json:"id"`
		Modified time.Time `json:"modified"`
		Aliases  []string  `json:"aliases,omitempty"`
	}
	modified := notBefore.UTC()
	byModule := map[string][]moduleVuln{}
	vulns := make([]vuln, 0, len(files))
	for _, f := range files { // Glob sorts, so the indexes come out sorted by ID
		b, err := os.ReadFile(f)
		if err != nil {
			return 0, err
		}
		var e struct {
			ID       string    `json:"id"`
			Modified time.Time `json:"modified"`
			Aliases  []string  `json:"aliases"`
			Affected []struct {
				Package struct {
					Name string `json:"name"`
				} `json:"package"`
			} `json:"affected"`
		}
		if err := json.Unmarshal(b, &e); err != nil {
			return 0, fmt.Errorf("%s: %w", f, err)
		}
		if e.ID == "" || filepath.Base(f) != e.ID+".json" {
			return 0, fmt.Errorf("%s: holds entry %q; an entry's file must be named <id>.json", f, e.ID)
		}
		if e.Modified.After(modified) {
			modified = e.Modified.UTC()
		}
		seen := map[string]bool{}
		for _, a := range e.Affected {
			if a.Package.Name == "" || seen[a.Package.Name] {
				continue
			}
			seen[a.Package.Name] = true
			byModule[a.Package.Name] = append(byModule[a.Package.Name], moduleVuln{ID: e.ID, Modified: e.Modified})
		}
		vulns = append(vulns, vuln{ID: e.ID, Modified: e.Modified, Aliases: e.Aliases})
		if err := os.WriteFile(filepath.Join(dir, "ID", e.ID+".json"), b, 0o644); err != nil {
			return 0, err
		}
	}
	type moduleEntry struct {
		Path  string       `json:"path"`
		Vulns []moduleVuln `json:"vulns"`
	}
	modules := make([]moduleEntry, 0, len(byModule))
	for _, p := range slices.Sorted(maps.Keys(byModule)) {
		modules = append(modules, moduleEntry{Path: p, Vulns: byModule[p]})
	}
	type dbMeta struct {
		Modified time.Time `json:"modified"`
	}
	for name, v := range map[string]any{
		"db.json":      dbMeta{Modified: modified},
		"modules.json": modules,
		"vulns.json":   vulns,
	} {
		b, err := json.Marshal(v)
		if err != nil {
			return 0, err
		}
		if err := os.WriteFile(filepath.Join(dir, "index", name), b, 0o644); err != nil {
			return 0, err
		}
	}
	return len(vulns), nil
}

// Levels of a finding, as govulncheck's JSON tells them apart by the first
// frame of its trace: a module only, a package, or a called function.
const (
	levelRequired = iota + 1 // a required module is vulnerable
	levelImported            // an imported package is vulnerable
	levelCalled              // our code reaches the vulnerable symbol
)

// A finding is what govulncheck found of one report in one module, at the
// deepest level it reached.
type finding struct {
	id, module, version, fixed string
	pkg                        string // the vulnerable package, when known
	level                      int
	trace                      []string // vulnerable symbol first, our code last
}

func (f *finding) stdlib() bool { return f.module == "stdlib" || f.module == "toolchain" }

type report struct {
	goVersion string
	summaries map[string]string // report ID → summary
	aliases   map[string][]string
	findings  []*finding
}

// readFindings reads govulncheck's -format json stream: a sequence of
// JSON objects, each holding one of config, progress, SBOM, osv or
// finding.
func readFindings(r io.Reader) (*report, error) {
	rep := &report{summaries: map[string]string{}, aliases: map[string][]string{}}
	byKey := map[[2]string]*finding{}
	dec := json.NewDecoder(r)
	for {
		var msg struct {
			Config *struct {
				GoVersion string `json:"go_version"`
			}
			OSV *struct {
				ID      string
				Summary string
				Aliases []string
			}
			Finding *struct {
				OSV          string
				FixedVersion string `json:"fixed_version"`
				Trace        []frame
			}
		}
		if err := dec.Decode(&msg); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, err
		}
		switch {
		case msg.Config != nil:
			rep.goVersion = msg.Config.GoVersion
		case msg.OSV != nil:
			rep.summaries[msg.OSV.ID] = msg.OSV.Summary
			rep.aliases[msg.OSV.ID] = msg.OSV.Aliases
		case msg.Finding != nil:
			fm := msg.Finding
			if len(fm.Trace) == 0 {
				return nil, fmt.Errorf("finding %s has no trace", fm.OSV)
			}
			top := fm.Trace[0]
			level := levelRequired
			switch {
			case top.Function != "":
				level = levelCalled
			case top.Package != "":
				level = levelImported
			}
			key := [2]string{fm.OSV, top.Module}
			f := byKey[key]
			if f == nil {
				f = &finding{id: fm.OSV, module: top.Module, version: top.Version}
				byKey[key] = f
				rep.findings = append(rep.findings, f)
			}
			if fm.FixedVersion != "" {
				f.fixed = fm.FixedVersion
			}
			if level > f.level {
				f.level = level
				f.pkg = top.Package
				f.trace = f.trace[:0]
				for _, fr := range fm.Trace {
					f.trace = append(f.trace, fr.String())
				}
			}
		}
	}
	return rep, nil
}

// A frame is one step of a finding's trace in govulncheck's JSON.
type frame struct {
	Module, Version, Package, Function, Receiver string
	Position                                     *struct {
		Filename string
		Line     int
	}
}

// String renders the frame as package.Receiver.Function (file:line).
func (fr frame) String() string {
	s := fr.Package
	switch {
	case fr.Function != "" && fr.Receiver != "":
		s += "." + fr.Receiver + "." + fr.Function
	case fr.Function != "":
		s += "." + fr.Function
	}
	if fr.Position != nil && fr.Position.Line > 0 {
		s += fmt.Sprintf(" (%s:%d)", fr.Position.Filename, fr.Position.Line)
	}
	return s
}

// fails reports whether a dependency's vulnerable code is called.
func (r *report) fails() bool {
	for _, f := range r.findings {
		if !f.stdlib() && f.level == levelCalled {
			return true
		}
	}
	return false
}

func (r *report) write(w io.Writer) {
	groups := []struct {
		title string
		match func(*finding) bool
		full  bool // print the whole trace of a called symbol
	}{
		{"FAIL: dependencies whose vulnerable code is called", func(f *finding) bool { return !f.stdlib() && f.level == levelCalled }, true},
		{"note: dependencies vulnerable in code that is not called (upgrade when you can; does not fail)", func(f *finding) bool { return !f.stdlib() && f.level < levelCalled }, false},
		{"note: standard library, fixed by a newer Go (does not fail; this run used " + r.goVersion + ")", (*finding).stdlib, false},
	}
	for _, g := range groups {
		var fs []*finding
		for _, f := range r.findings {
			if g.match(f) {
				fs = append(fs, f)
			}
		}
		if len(fs) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s:\n", g.title)
		for _, f := range fs {
			what, fixed := f.module+"@"+f.version, "no fixed version yet"
			if f.stdlib() {
				what = "Go " + f.module + " (package not imported)"
				if f.pkg != "" {
					what = f.pkg
				}
			}
			switch {
			case f.fixed != "" && f.stdlib():
				fixed = "fixed in go" + strings.TrimPrefix(f.fixed, "v")
			case f.fixed != "":
				fixed = "fixed in " + f.fixed
			}
			id := f.id
			if a := r.aliases[f.id]; len(a) > 0 {
				id += " (" + strings.Join(a, ", ") + ")"
			}
			fmt.Fprintf(w, "  %s: %s, %s: %s\n", id, what, fixed, r.summaries[f.id])
			switch {
			case f.level != levelCalled:
			case g.full:
				for _, fr := range f.trace {
					fmt.Fprintf(w, "      %s\n", fr)
				}
			default:
				fmt.Fprintf(w, "      %s, called from %s\n", f.trace[0], f.trace[len(f.trace)-1])
			}
		}
	}
	var called, other, std int
	for _, f := range r.findings {
		switch {
		case f.stdlib():
			std++
		case f.level == levelCalled:
			called++
		default:
			other++
		}
	}
	fmt.Fprintf(w, "\nvulncheck: %d called in dependencies, %d not called in dependencies, %d in the standard library\n", called, other, std)
}
