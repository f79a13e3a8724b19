package password_test

import (
	"os"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"

	"github.com/gatehouse-go/gatehouse/auth/password"
)

// listEntries reads the embedded list's source file.
func listEntries(tb testing.TB) []string {
	tb.Helper()
	data, err := os.ReadFile("common-passwords.txt")
	if err != nil {
		tb.Fatal(err)
	}
	var entries []string
	for line := range strings.Lines(string(data)) {
		line = strings.TrimSuffix(line, "\n")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		entries = append(entries, line)
	}
	return entries
}

// The list file is well-formed: normalized, lower-case entries without
// surrounding spaces, each once.
func TestBlocklistFile(t *testing.T) {
	entries := listEntries(t)
	if len(entries) < 500 {
		t.Errorf("%d entries, want at least 500", len(entries))
	}
	seen := make(map[string]bool, len(entries))
	for _, e := range entries {
		if e != strings.TrimSpace(e) {
			t.Errorf("entry %q has surrounding spaces", e)
		}
		if want := strings.ToLower(norm.NFKC.String(e)); e != want {
			t.Errorf("entry %q is not normalized (want %q)", e, want)
		}
		if seen[e] {
			t.Errorf("entry %q is listed twice", e)
		}
		seen[e] = true
	}
}

// SECURITY.md #8: every entry is effective: with a year and punctuation
// appended, as people do to reach a minimum length, it is refused.
func TestBlocklistEveryEntryRefused(t *testing.T) {
	var p password.Policy
	for _, e := range listEntries(t) {
		r := []rune(e)
		capitalized := strings.ToUpper(string(r[:1])) + string(r[1:])
		for _, pw := range []string{e + "!2024", capitalized + "123!"} {
			for len([]rune(pw)) < 8 {
				pw += "!"
			}
			if got := checkReason(t, p, pw); got != password.Common {
				t.Errorf("Check(%q) reason = %q, want %q", pw, got, password.Common)
			}
		}
	}
}
