package main_test

import (
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-go/gatehouse/internal/skipnote"
)

// readmeWalkthrough returns the shell block of the README that follows the
// readme-walkthrough marker.
func readmeWalkthrough(t *testing.T) string {
	t.Helper()
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "<!-- readme-walkthrough -->\n```sh\n")
	block, _, ok2 := strings.Cut(rest, "\n```")
	if !ok || !ok2 {
		t.Fatal("README.md: the readme-walkthrough block is missing")
	}
	return block
}

// TestReadmeWalkthrough runs the README's curl walk-through, as written,
// against the example server, and checks what each step printed.
func TestReadmeWalkthrough(t *testing.T) {
	t.Parallel()
	needTools(t, "bash", "curl", "jq")
	dir := t.TempDir()
	s := start(t, buildServer(t), nil, "-db", filepath.Join(dir, "db"), "-maildir", filepath.Join(dir, "mail"))
	script := "set -euo pipefail\n" + readmeWalkthrough(t) + `
echo
echo "ACCESS=${#ACCESS_TOKEN} REFRESH=${#REFRESH_TOKEN}"
`
	cmd := exec.Command("bash", "-c", script)
	cmd.Env = append(os.Environ(), "API="+s.url+"/v2")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the walk-through failed: %v\n%s", err, out)
	}
	got := string(out)
	for _, want := range []string{
		`"email":"ada@example.com"`,           // register, then GET /user
		`"message":"Logged out successfully"`, // logout with the refreshed token
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the walk-through printed no %s:\n%s", want, got)
		}
	}
	if strings.Count(got, `"email":"ada@example.com"`) < 2 {
		t.Errorf("GET /user did not answer the user:\n%s", got)
	}
	if strings.Contains(got, "ACCESS=4 ") || strings.Contains(got, "ACCESS=0 ") || strings.Contains(got, "REFRESH=4\n") {
		t.Errorf("a token came out empty or null:\n%s", got)
	}
	if strings.Contains(got, `"error_type"`) {
		t.Errorf("a step answered an error:\n%s", got)
	}
}

// readmeBlock returns the shell block of the README that follows marker.
func readmeBlock(t *testing.T, marker string) string {
	t.Helper()
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "<!-- "+marker+" -->\n```sh\n")
	block, _, ok2 := strings.Cut(rest, "\n```")
	if !ok || !ok2 {
		t.Fatalf("README.md: the %s block is missing", marker)
	}
	return block
}

// needTools skips t, or fails it under CI=true, without the tools.
func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			skipnote.Unavailable(t, tool, "install it (the README's blocks need it)", err)
		}
	}
}

// TestReadmeRecovery runs the README's lost-admin-password block, as
// written, in the server's directory, and uses the link it prints.
func TestReadmeRecovery(t *testing.T) {
	t.Parallel()
	needTools(t, "bash", "curl", "grep", "tr")
	dir := t.TempDir()
	s := start(t, buildServer(t), nil, "-db", filepath.Join(dir, "gatehouse.db"), "-maildir", filepath.Join(dir, "gatehouse-mail"))
	cmd := exec.Command("bash", "-c", "set -euo pipefail\n"+readmeBlock(t, "readme-recovery"))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "API="+s.url+"/v2")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the recovery block failed: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	link := lines[len(lines)-1]
	if !strings.HasPrefix(link, s.url+"/reset-password?token=") || len(tokenOf(t, link)) != 43 {
		t.Fatalf("the block printed %q", out)
	}
	const pw = "the admin's recovered passphrase"
	wantPage(t, s.submit(t, s.open(t, link), url.Values{"new_password": {pw}, "confirm_password": {pw}}), 200, "Your password is changed")
	s.login(t, "admin@example.com", pw)
}

// TestReadmeFlagTable: every flag of -h is in the README's flag table.
func TestReadmeFlagTable(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(readme), "## The example server\n")
	section, _, _ = strings.Cut(section, "\n## ")
	var table []string
	for _, line := range strings.Split(section, "\n") {
		if strings.HasPrefix(line, "| `-") {
			cell, _, _ := strings.Cut(line[2:], " |")
			for _, f := range strings.Split(cell, ", ") {
				table = append(table, strings.Trim(f, "`"))
			}
		}
	}
	e := runToExit(t, buildServer(t), nil, "-h")
	flags := regexp.MustCompile(`(?m)^  (-[a-z0-9-]+)`).FindAllStringSubmatch(e.stdout+e.stderr, -1)
	if len(flags) < 10 {
		t.Fatalf("-h lists %d flags:\n%s", len(flags), e.stdout+e.stderr)
	}
	for _, f := range flags {
		if !slices.Contains(table, f[1]) {
			t.Errorf("the README's flag table lacks %s (it has %v)", f[1], table)
		}
	}
}
