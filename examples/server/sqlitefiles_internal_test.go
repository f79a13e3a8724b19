package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLockSQLite: the lock beside a SQLite file is shared by any number of
// servers without the cache, exclusive for one with it, whatever name the
// file is reached by, and free again once its holder closes it.
func TestLockSQLite(t *testing.T) {
	if !fileLocks {
		t.Skip("no flock(2) on this platform: the cache on a SQLite file needs -redis, and no lock is taken")
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "gh.db")
	target := dbTarget{kind: dbSQLite, path: db, shown: db}
	lock := func(t *testing.T, d dbTarget, exclusive bool) *os.File {
		t.Helper()
		f, err := lockSQLite(d, exclusive)
		if err != nil {
			t.Fatalf("lockSQLite(exclusive %v): %v", exclusive, err)
		}
		return f
	}
	refused := func(t *testing.T, d dbTarget, exclusive bool, want ...string) {
		t.Helper()
		f, err := lockSQLite(d, exclusive)
		if !errors.Is(err, errFileInUse) {
			if f != nil {
				f.Close()
			}
			t.Fatalf("lockSQLite(exclusive %v) = %v, want errFileInUse", exclusive, err)
		}
		for _, w := range append(want, db+lockSuffix) {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q lacks %q", err, w)
			}
		}
	}

	t.Run("shared by servers without the cache", func(t *testing.T) {
		a, b := lock(t, target, false), lock(t, target, false)
		refused(t, target, true, "-session-cache with the SQLite file "+db, "another process holds", "stop the other server")
		a.Close()
		refused(t, target, true) // b still holds it
		b.Close()
		lock(t, target, true).Close()
	})
	t.Run("exclusive for a server with the cache", func(t *testing.T) {
		a := lock(t, target, true)
		refused(t, target, false, "an examples/server with -session-cache and no -redis holds", "must be the file's only server")
		refused(t, target, true)
		a.Close()
		lock(t, target, false).Close()
	})
	t.Run("by another name", func(t *testing.T) {
		link := filepath.Join(t.TempDir(), "link.db")
		if err := os.Symlink(db, link); err != nil {
			t.Skip("no symbolic links here:", err)
		}
		a := lock(t, target, true)
		defer a.Close()
		refused(t, dbTarget{kind: dbSQLite, path: link, shown: link}, false)
	})
	fi, err := os.Stat(db + lockSuffix)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the lock file: %v, mode %v; want 0600", err, fi.Mode())
	}
	if fi, err := os.Stat(db); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the database file, created for its lock: %v, mode %v; want 0600", err, fi.Mode())
	}
}

// TestAuditFile: -audit-db is a SQLite file beside a SQLite -db, and
// nothing else; each refusal says what to do instead.
func TestAuditFile(t *testing.T) {
	const (
		lite = "data/gatehouse.db"
		pg   = "postgres://gh:pw@db.example.com/app"
		my   = "mysql://gh:pw@tcp(db.example.com:3306)/app"
	)
	for _, c := range []struct {
		name string
		o    options
		want string
	}{
		{"none", options{db: lite}, ""},
		{"none on postgres", options{db: pg}, ""},
		{"beside sqlite", options{db: lite, auditDB: "data/audit.db"}, "data/audit.db"},
		{"beside sqlite, -store sql", options{store: storeSQL, db: lite, auditDB: "/var/lib/gh/audit.db"}, "/var/lib/gh/audit.db"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := auditFile(c.o)
			if err != nil || got != c.want {
				t.Errorf("auditFile = %q, %v; want %q", got, err, c.want)
			}
		})
	}
	for _, c := range []struct {
		name string
		o    options
		want []string
	}{
		{"memory", options{store: storeMemory, auditDB: "audit.db"}, []string{"-audit-db with -store memory", "drop -audit-db"}},
		{"postgres", options{db: pg, auditDB: "audit.db"}, []string{"-audit-db with -db postgres://gh:xxxxx@db.example.com/app", "every instance shares"}},
		{"mysql", options{db: my, auditDB: "audit.db"}, []string{"-audit-db with -db mysql://gh:xxxxx@", "every instance shares"}},
		{"a URL", options{db: lite, auditDB: "postgres://gh:pw@db.example.com/audit"}, []string{"-audit-db postgres://gh:xxxxx@db.example.com/audit", "give a file path"}},
		{"-db itself", options{db: lite, auditDB: "data/../data/gatehouse.db"}, []string{"is -db itself", "another file"}},
	} {
		t.Run("refuses "+c.name, func(t *testing.T) {
			_, err := auditFile(c.o)
			if !errors.Is(err, errAuditDB) {
				t.Fatalf("auditFile = %v, want errAuditDB", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), ":pw@") {
				t.Errorf("%q shows the password", err)
			}
			// openBackend refuses before it opens anything.
			if _, err := openBackend(t.Context(), c.o); !errors.Is(err, errAuditDB) {
				t.Errorf("openBackend: %v, want the refusal", err)
			}
		})
	}
}

// TestOpenSQLiteOddNames: a -db path with the characters a file: URI gives
// a meaning to ('%', '?', '#') opens that very file, with the settings of
// openSQLite; such a path opened "gh" (the part before '#' or '?'), and
// without WAL or foreign keys after a '?'.
func TestOpenSQLiteOddNames(t *testing.T) {
	for _, name := range []string{"gh#1.db", "gh?mode=ro.db", "gh%41.db", "gh %23.db"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			db, err := openSQLite(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec("CREATE TABLE t (x)"); err != nil {
				t.Fatal(err)
			}
			var mode string
			var fk int
			if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
				t.Fatal(err)
			}
			if err := db.QueryRow("PRAGMA foreign_keys").Scan(&fk); err != nil {
				t.Fatal(err)
			}
			if mode != "wal" || fk != 1 {
				t.Errorf("journal_mode %q, foreign_keys %d; want wal, 1", mode, fk)
			}
			ents, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range ents {
				if !strings.HasPrefix(e.Name(), name) {
					t.Errorf("file %q in the folder: the database was opened under another name than %q", e.Name(), name)
				}
			}
		})
	}
}
