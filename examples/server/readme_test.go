package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
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
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is required under CI=true: %v", tool, err)
			}
			t.Skipf("%s is not installed; the README walk-through needs it", tool)
		}
	}
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
