// Package skipnote lets a test binary say, once per backend, that tests
// were skipped because a server or tool was missing, where `go test ./...`
// shows it: in package-list mode go test prints only "ok" for a passing
// package and hides everything the tests wrote, so a skipped backend would
// otherwise pass unseen.
//
// A test that cannot run calls [Unavailable] (or, when it decides on its
// own how to skip, [Skipped]); the package's TestMain calls [Report] after
// m.Run. Report writes one line per backend to the terminal
// (/dev/tty, when there is one: a person running the tests sees it even
// though go test hides the output) and to stdout (seen with -v). Under
// CI=true the tests fail instead of skipping, so there is nothing to
// report.
//
// The package is internal and used only by tests.
package skipnote

import (
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"testing"
)

var (
	mu      sync.Mutex
	skipped = map[string]*entry{}
)

type entry struct {
	how   string
	count int
}

// Skipped records that a test was skipped because backend was missing;
// how says how to enable it (for example "start PostgreSQL or set
// AUTH_TEST_POSTGRES_DSN").
func Skipped(backend, how string) {
	mu.Lock()
	defer mu.Unlock()
	e := skipped[backend]
	if e == nil {
		e = &entry{how: how}
		skipped[backend] = e
	}
	e.count++
}

// Report writes one line per skipped backend, in the order of their names,
// to the terminal and to stdout, and returns the lines it wrote.
func Report(pkg string) []string {
	lines := lines(pkg)
	if len(lines) == 0 {
		return nil
	}
	var out io.Writer = os.Stdout
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		defer tty.Close()
		out = io.MultiWriter(os.Stdout, tty)
	}
	for _, l := range lines {
		fmt.Fprintln(out, l)
	}
	return lines
}

func lines(pkg string) []string {
	mu.Lock()
	defer mu.Unlock()
	names := make([]string, 0, len(skipped))
	for name := range skipped {
		names = append(names, name)
	}
	slices.Sort(names)
	var out []string
	for _, name := range names {
		e := skipped[name]
		out = append(out, fmt.Sprintf("%s: %d tests skipped: %s is unavailable; to run them, %s (CI=true makes them required)", pkg, e.count, name, e.how))
	}
	return out
}

// reset forgets every record, for the package's own tests.
func reset() {
	mu.Lock()
	defer mu.Unlock()
	clear(skipped)
}

// Unavailable is what a test does when backend is missing (why says what
// went wrong, how how to enable it): under CI=true, where every backend is
// required, it fails tb; otherwise it records the skip for [Report] and
// skips tb.
func Unavailable(tb testing.TB, backend, how string, why error) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatalf("%s is unavailable (%s): %v; CI=true requires it", backend, how, why)
	}
	Skipped(backend, how)
	tb.Skipf("%s is unavailable (to run this, %s): %v", backend, how, why)
}
