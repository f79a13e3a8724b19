package skipnote

import (
	"strings"
	"testing"
)

func TestReport(t *testing.T) {
	reset()
	defer reset()
	if got := Report("pkg"); got != nil {
		t.Fatalf("nothing skipped, but Report wrote %q", got)
	}
	Skipped("PostgreSQL", "start it or set AUTH_TEST_POSTGRES_DSN")
	Skipped("PostgreSQL", "start it or set AUTH_TEST_POSTGRES_DSN")
	Skipped("MariaDB", "start it or set AUTH_TEST_MYSQL_DSN")
	got := Report("store/sqlstore")
	if len(got) != 2 {
		t.Fatalf("Report wrote %d lines, want one per backend: %q", len(got), got)
	}
	if !strings.Contains(got[0], "1 tests skipped: MariaDB") || !strings.Contains(got[0], "AUTH_TEST_MYSQL_DSN") {
		t.Errorf("line 1 = %q", got[0])
	}
	if !strings.Contains(got[1], "2 tests skipped: PostgreSQL") || !strings.HasPrefix(got[1], "store/sqlstore: ") {
		t.Errorf("line 2 = %q", got[1])
	}
}
