package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Two OSV entries in the shape of x/vulndb's data/osv: one affects two
// modules (and one of them twice), one the standard library.
const (
	entryDep = `{
  "schema_version": "1.3.1",
  "id": "GO-2025-0002",
  "modified": "0001-01-01T00:00:00Z",
  "aliases": ["CVE-2025-2", "GHSA-xxxx-yyyy-zzzz"],
  "summary": "a bug in two modules",
  "affected": [
    {"package": {"name": "example.com/b", "ecosystem": "Go"}, "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.2.3"}]}]},
    {"package": {"name": "example.com/a", "ecosystem": "Go"}, "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "0.9.0"}]}]},
    {"package": {"name": "example.com/a", "ecosystem": "Go"}, "ranges": [{"type": "SEMVER", "events": [{"introduced": "1.0.0"}]}]}
  ]
}`
	entryStd = `{
  "schema_version": "1.3.1",
  "id": "GO-2026-0001",
  "modified": "2026-12-01T10:00:00Z",
  "summary": "a bug in net/http",
  "affected": [
    {"package": {"name": "stdlib", "ecosystem": "Go"}, "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.26.9"}]}]}
  ]
}`
)

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func readJSON(t *testing.T, path string, v any) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return b
}

// TestBuildDB: the OSV files become a v1 database: the three indexes and
// each entry byte for byte under ID/, modules sorted with each report once,
// no "fixed" shortcut, and the newest of the entries' and the module's
// times as the database's.
func TestBuildDB(t *testing.T) {
	src := writeFiles(t, map[string]string{
		"GO-2025-0002.json": entryDep,
		"GO-2026-0001.json": entryStd,
		"README.md":         "not a report",
	})
	out := t.TempDir()
	moduleTime := time.Date(2026, 11, 5, 23, 49, 57, 0, time.UTC)
	n, err := buildDB(src, out, moduleTime)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("buildDB wrote %d entries, want 2", n)
	}

	var meta map[string]time.Time
	readJSON(t, filepath.Join(out, "index", "db.json"), &meta)
	if want := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC); len(meta) != 1 || !meta["modified"].Equal(want) {
		t.Errorf("db.json = %v, want only modified = %v (the newest entry)", meta, want)
	}

	var modules []map[string]any
	raw := readJSON(t, filepath.Join(out, "index", "modules.json"), &modules)
	if bytes.Contains(raw, []byte(`"fixed"`)) {
		t.Errorf("modules.json has a fixed version; it must leave the shortcut out: %s", raw)
	}
	var got []string
	for _, m := range modules {
		for _, v := range m["vulns"].([]any) {
			got = append(got, m["path"].(string)+" "+v.(map[string]any)["id"].(string))
		}
	}
	want := []string{"example.com/a GO-2025-0002", "example.com/b GO-2025-0002", "stdlib GO-2026-0001"}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("modules.json lists %q, want %q", got, want)
	}

	var vulns []struct {
		ID      string
		Aliases []string
	}
	readJSON(t, filepath.Join(out, "index", "vulns.json"), &vulns)
	if len(vulns) != 2 || vulns[0].ID != "GO-2025-0002" || len(vulns[0].Aliases) != 2 || vulns[1].ID != "GO-2026-0001" {
		t.Errorf("vulns.json = %+v", vulns)
	}

	for id, body := range map[string]string{"GO-2025-0002": entryDep, "GO-2026-0001": entryStd} {
		b, err := os.ReadFile(filepath.Join(out, "ID", id+".json"))
		if err != nil || string(b) != body {
			t.Errorf("ID/%s.json = %q, %v; want the entry unchanged", id, b, err)
		}
	}

	t.Run("without entries the module's time", func(t *testing.T) {
		src := writeFiles(t, map[string]string{"GO-2025-0002.json": entryDep})
		out := t.TempDir()
		if _, err := buildDB(src, out, moduleTime); err != nil {
			t.Fatal(err)
		}
		var meta map[string]time.Time
		readJSON(t, filepath.Join(out, "index", "db.json"), &meta)
		if !meta["modified"].Equal(moduleTime) {
			t.Errorf("db.json modified = %v, want the module's time %v", meta["modified"], moduleTime)
		}
	})
}

// TestBuildDBRefuses: a directory that would give a wrong or empty
// database is an error, never a database that finds nothing.
func TestBuildDBRefuses(t *testing.T) {
	for name, files := range map[string]map[string]string{
		"no reports":        {"README.md": "x"},
		"misnamed entry":    {"GO-2099-0001.json": entryStd},
		"entry without id":  {"GO-2026-0001.json": `{"summary": "x"}`},
		"entry not JSON":    {"GO-2026-0001.json": `id: GO-2026-0001`},
		"dates not RFC3339": {"GO-2026-0001.json": `{"id": "GO-2026-0001", "modified": "yesterday"}`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := buildDB(writeFiles(t, files), t.TempDir(), time.Time{})
			if err == nil {
				t.Fatal("buildDB succeeded")
			}
			if name == "no reports" && !errors.Is(err, errNoReports) {
				t.Errorf("err = %v, want errNoReports", err)
			}
		})
	}
}

// messages reads the testdata stream (govulncheck -format json over a
// module that calls golang-jwt v5.2.1's vulnerable ParseUnverified, trimmed
// to two reports) and keeps the messages keep accepts.
func messages(t *testing.T, keep func(map[string]any) bool) io.Reader {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "called.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out bytes.Buffer
	dec := json.NewDecoder(f)
	for {
		var m map[string]any
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if keep(m) {
			b, _ := json.MarshalIndent(m, "", "  ")
			out.Write(b)
			out.WriteByte('\n')
		}
	}
	return &out
}

func called(m map[string]any) bool {
	fm, ok := m["finding"].(map[string]any)
	if !ok {
		return false
	}
	top := fm["trace"].([]any)[0].(map[string]any)
	return top["function"] != nil
}

func TestReadFindings(t *testing.T) {
	t.Run("a called dependency fails", func(t *testing.T) {
		rep, err := readFindings(messages(t, func(map[string]any) bool { return true }))
		if err != nil {
			t.Fatal(err)
		}
		if !rep.fails() {
			t.Error("fails() = false for a called vulnerable symbol in a dependency")
		}
		var out strings.Builder
		rep.write(&out)
		for _, want := range []string{
			"FAIL: dependencies whose vulnerable code is called:\n" +
				"  GO-2025-3553 (CVE-2025-30204, GHSA-mh63-6h87-95cp): github.com/golang-jwt/jwt/v5@v5.2.1, fixed in v5.2.2: Excessive memory allocation",
			"      github.com/golang-jwt/jwt/v5.*Parser.ParseUnverified (parser.go:138)\n",
			"      example.com/bad/called.main (called/main.go:10)\n",
			"this run used go1.26.8",
			"GO-2026-6604 (CVE-2026-56857): os, fixed in go1.26.9: Root.Mkdir(All)",
			"vulncheck: 1 called in dependencies, 0 not called in dependencies, 1 in the standard library\n",
		} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("report lacks %q:\n%s", want, out.String())
			}
		}
	})

	t.Run("an uncalled dependency and the standard library do not fail", func(t *testing.T) {
		notCalled := func(m map[string]any) bool { return !called(m) }
		rep, err := readFindings(messages(t, notCalled))
		if err != nil {
			t.Fatal(err)
		}
		if rep.fails() {
			t.Error("fails() = true without a called symbol in a dependency")
		}
		var out strings.Builder
		rep.write(&out)
		if strings.Contains(out.String(), "FAIL") || !strings.Contains(out.String(),
			"not called (upgrade when you can; does not fail):\n  GO-2025-3553 (CVE-2025-30204, GHSA-mh63-6h87-95cp): github.com/golang-jwt/jwt/v5@v5.2.1, fixed in v5.2.2") {
			t.Errorf("report:\n%s", out.String())
		}
	})

	t.Run("a called standard-library symbol does not fail", func(t *testing.T) {
		stream := `{"config": {"go_version": "go1.26.8"}}
{"osv": {"id": "GO-2026-0001", "summary": "a bug in net/http"}}
{"finding": {"osv": "GO-2026-0001", "fixed_version": "v1.26.9", "trace": [
  {"module": "stdlib", "version": "v1.26.8", "package": "net/http", "function": "Error", "position": {"filename": "src/net/http/server.go", "line": 2301}},
  {"module": "github.com/gatehouse-go/gatehouse", "package": "github.com/gatehouse-go/gatehouse/middleware", "function": "WriteError", "position": {"filename": "middleware/middleware.go", "line": 220}}]}}
{"finding": {"osv": "GO-2026-0002", "trace": [{"module": "stdlib", "version": "v1.26.8"}]}}
`
		rep, err := readFindings(strings.NewReader(stream))
		if err != nil {
			t.Fatal(err)
		}
		if rep.fails() {
			t.Error("fails() = true for the standard library")
		}
		var out strings.Builder
		rep.write(&out)
		for _, want := range []string{
			"  GO-2026-0001: net/http, fixed in go1.26.9: a bug in net/http\n" +
				"      net/http.Error (src/net/http/server.go:2301), called from github.com/gatehouse-go/gatehouse/middleware.WriteError (middleware/middleware.go:220)\n",
			"  GO-2026-0002: Go stdlib (package not imported), no fixed version yet: \n",
		} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("report lacks %q:\n%s", want, out.String())
			}
		}
	})

	t.Run("malformed streams are errors", func(t *testing.T) {
		for _, stream := range []string{`{"finding": {"osv": "GO-1", "trace": []}}`, `{"config": `} {
			if _, err := readFindings(strings.NewReader(stream)); err == nil {
				t.Errorf("readFindings(%q) succeeded", stream)
			}
		}
	})
}
