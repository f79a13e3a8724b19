// Package archcheck keeps docs/architecture.md true: its import rules are
// read from the document and checked against the packages' real imports.
package archcheck

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/gatehouse-go/gatehouse"

// drivers are import-path prefixes no library package may depend on.
var drivers = []string{
	"modernc.org/sqlite",
	"github.com/jackc/pgx",
	"github.com/go-sql-driver/mysql",
	"github.com/mattn/go-sqlite3",
	"github.com/ncruces/go-sqlite3",
	"github.com/lib/pq",
	"github.com/redis/go-redis",
}

// optIn names the opt-in subpackages that exist to adapt one driver, with
// the driver each may depend on. An application imports one only by
// choice, and since every other library package is checked against every
// driver, nothing else may import it either (it would pull the driver in).
var optIn = map[string]string{
	"store/redisstore":        "github.com/redis/go-redis",
	"store/sqlstore/pgnotify": "github.com/jackc/pgx",
}

// testSupport names the packages that exist only for the module's tests,
// benchmarks and tools: they may use the drivers, and no library package
// may import them (TestTestSupportStaysOut).
var testSupport = []string{"internal/testdb"}

type pkg struct {
	path    string // relative to the module, "" for the root
	imports []string
	deps    []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-f", "{{.ImportPath}}|{{join .Imports \",\"}}|{{join .Deps \",\"}}", module+"/...")
	cmd.Dir = moduleRoot(t)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	for line := range strings.Lines(string(out)) {
		parts := strings.Split(strings.TrimSpace(line), "|")
		if len(parts) != 3 {
			t.Fatalf("go list: unexpected line %q", line)
		}
		split := func(s string) []string {
			if s == "" {
				return nil
			}
			return strings.Split(s, ",")
		}
		pkgs = append(pkgs, pkg{path: rel(parts[0]), imports: split(parts[1]), deps: split(parts[2])})
	}
	return pkgs
}

func rel(importPath string) string {
	if importPath == module {
		return ""
	}
	return strings.TrimPrefix(importPath, module+"/")
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		t.Fatalf("module root not found from %s: %v", dir, err)
	}
	return dir
}

// rules reads the table between the archcheck markers of
// docs/architecture.md: package → allowed imports of ours, nil for "any".
func rules(t *testing.T) map[string][]string {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join(moduleRoot(t), "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := bytes.Cut(doc, []byte("<!-- archcheck:begin -->"))
	table, _, ok2 := bytes.Cut(rest, []byte("<!-- archcheck:end -->"))
	if !ok || !ok2 {
		t.Fatal("docs/architecture.md: archcheck markers not found")
	}
	r := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(table))
	for sc.Scan() {
		cells := strings.Split(strings.Trim(strings.TrimSpace(sc.Text()), "|"), "|")
		if len(cells) != 2 {
			continue
		}
		name := strings.Trim(strings.TrimSpace(cells[0]), "`")
		if name == "package" || strings.HasPrefix(name, "---") {
			continue
		}
		allowed := strings.TrimSpace(cells[1])
		switch allowed {
		case "any":
			r[name] = nil
			continue
		case "—":
			r[name] = []string{}
			continue
		}
		list := []string{}
		for a := range strings.SplitSeq(allowed, ",") {
			list = append(list, strings.Trim(strings.TrimSpace(a), "`"))
		}
		r[name] = list
	}
	if len(r) == 0 {
		t.Fatal("docs/architecture.md: the archcheck table is empty")
	}
	return r
}

func ours(importPath string) (string, bool) {
	if importPath == module || strings.HasPrefix(importPath, module+"/") {
		return rel(importPath), true
	}
	return "", false
}

// TestImportGraph checks every package of the module against its row of
// the table in docs/architecture.md.
func TestImportGraph(t *testing.T) {
	r := rules(t)
	pkgs := listPackages(t)
	seen := map[string]bool{}
	for _, p := range pkgs {
		seen[p.path] = true
		allowed, ok := r[p.path]
		if !ok {
			t.Errorf("%s has no row in docs/architecture.md's import table", p.path)
			continue
		}
		if allowed == nil {
			continue
		}
		for _, imp := range p.imports {
			if o, isOurs := ours(imp); isOurs && !slices.Contains(allowed, o) {
				t.Errorf("%s imports %s, which docs/architecture.md does not allow (allowed: %v)", p.path, o, allowed)
			}
		}
	}
	for name := range r {
		if !seen[name] {
			t.Errorf("docs/architecture.md lists %s, which is not a package of the module", name)
		}
	}
}

// program reports whether the package at path (relative to the module) is
// a program: an example, or a tool under cmd/. Programs are the top of the
// graph and may import anything, drivers included.
func program(path string) bool {
	return strings.HasPrefix(path, "examples/") || strings.HasPrefix(path, "cmd/")
}

// TestNothingImportsTheTop checks that no package but a program imports
// httpapi, authtest or a program (they are the top of the graph; authtest,
// the test kit, is for tests only).
func TestNothingImportsTheTop(t *testing.T) {
	for _, p := range listPackages(t) {
		if program(p.path) {
			continue
		}
		for _, imp := range p.imports {
			o, isOurs := ours(imp)
			if isOurs && (o == "httpapi" || o == "authtest" || program(o)) {
				t.Errorf("%s imports %s", p.path, o)
			}
		}
	}
}

// TestNoDriverInLibraries checks that no library package (programs and
// tests aside) depends, even indirectly, on a database driver, except an
// opt-in subpackage on its own driver (optIn).
func TestNoDriverInLibraries(t *testing.T) {
	for _, p := range listPackages(t) {
		if program(p.path) || slices.Contains(testSupport, p.path) {
			continue
		}
		for _, d := range p.deps {
			for _, drv := range drivers {
				if optIn[p.path] == drv {
					continue
				}
				if d == drv || strings.HasPrefix(d, drv+"/") {
					t.Errorf("%s depends on the driver %s", p.path, d)
				}
			}
		}
	}
}

// TestTestSupportStaysOut checks that only examples, commands and other
// test-support packages import a test-support package (tests are not
// listed by go list, so they may).
func TestTestSupportStaysOut(t *testing.T) {
	for _, p := range listPackages(t) {
		if strings.HasPrefix(p.path, "examples/") || strings.HasPrefix(p.path, "cmd/") || slices.Contains(testSupport, p.path) {
			continue
		}
		for _, imp := range p.imports {
			if o, isOurs := ours(imp); isOurs && slices.Contains(testSupport, o) {
				t.Errorf("%s imports the test-support package %s", p.path, o)
			}
		}
	}
}

// TestNoCompiledBinaries: the repository tracks sources, not programs.
// Compiled binaries (go build in the root leaves one named after the
// package) have been committed by mistake three times; this fails on any
// tracked file that is an ELF, Mach-O or PE executable.
func TestNoCompiledBinaries(t *testing.T) {
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git is not installed: cannot list the tracked files")
	}
	cmd := exec.Command(git, "ls-files", "-z")
	cmd.Dir = moduleRoot(t)
	out, err := cmd.Output()
	if err != nil {
		t.Skipf("not a git checkout (%v): cannot list the tracked files", err)
	}
	magics := [][]byte{
		[]byte("\x7fELF"),
		{0xcf, 0xfa, 0xed, 0xfe}, {0xce, 0xfa, 0xed, 0xfe}, // Mach-O 64 and 32
		[]byte("MZ"),
	}
	for _, name := range bytes.Split(bytes.TrimRight(out, "\x00"), []byte{0}) {
		f, err := os.Open(filepath.Join(cmd.Dir, string(name)))
		if err != nil {
			continue // deleted in the work tree
		}
		head := make([]byte, 4)
		n, _ := f.Read(head)
		f.Close()
		for _, m := range magics {
			if n >= len(m) && bytes.Equal(head[:len(m)], m) {
				t.Errorf("%s is a compiled binary: git rm --cached it and add it to .gitignore", name)
			}
		}
	}
}
