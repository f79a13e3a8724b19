package main_test

import (
	"database/sql"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// flockPlatforms are where the server locks a SQLite file (flock(2), as
// filelock_unix.go's build constraint lists them); elsewhere -session-cache
// on SQLite needs -redis.
var flockPlatforms = []string{"linux", "darwin", "freebsd", "netbsd", "openbsd", "dragonfly"}

// openFile opens a SQLite file of the server's behind its back, as
// another program would (no lock taken).
func openFile(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// count is the number of rows of table in db.
func count(t *testing.T, db *sql.DB, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		t.Fatalf("counting %s: %v", table, err)
	}
	return n
}

// kill ends the server as a crash would (SIGKILL: no clean-up of its own).
func (s *server) kill(t *testing.T) {
	t.Helper()
	s.cmd.Process.Kill()
	err := <-s.exited
	s.exited <- err // for start's clean-up
}

// TestSessionCacheOnSQLite: -session-cache on a SQLite file without -redis
// keeps its invalidations in the process, which holds the file's lock for
// as long as it runs: a logout and a password change are refused at the
// very next request, while a change that another program makes to the
// file behind the lock is not seen (the limit the README states); a second
// server on the file, with the cache or without, refuses to start, and
// once the first has stopped, or crashed, the file is free again.
func TestSessionCacheOnSQLite(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	if !slices.Contains(flockPlatforms, runtime.GOOS) {
		t.Skip("no flock(2) on " + runtime.GOOS + ": the session cache on a SQLite file needs -redis here")
	}
	t.Parallel()
	bin := buildServer(t)
	dir := t.TempDir()
	db, maildir := filepath.Join(dir, "gh.db"), filepath.Join(dir, "mail")
	args := []string{"-db", db, "-maildir", maildir}
	cached := append([]string{"-session-cache", "1m"}, args...)
	s := start(t, bin, nil, cached...)
	if log := s.stderr.String(); !strings.Contains(log, "session cache on") || !strings.Contains(log, "the SQLite file's lock") {
		t.Fatalf("the server did not log its cache and its invalidations:\n%s", log)
	}
	s.registerUser(t)
	// cache has the session of access read twice, so that it is in memory.
	cache := func(access string) {
		t.Helper()
		for range 2 {
			s.want(t, s.call(t, "GET", "/v2/user", "", "", access), 200)
		}
	}

	t.Run("served from memory", func(t *testing.T) {
		access, _ := s.login(t, userEmail, userPW)
		cache(access)
		// Another program deletes every session: not seen by the cache.
		if _, err := openFile(t, db).Exec("DELETE FROM gatehouse_sessions"); err != nil {
			t.Fatal(err)
		}
		if r := s.call(t, "GET", "/v2/user", "", "", access); r.status != 200 {
			t.Fatalf("GET /v2/user after its session row was deleted behind the server: %d %v; want 200 from the cache", r.status, r.body)
		}
	})
	t.Run("logout", func(t *testing.T) {
		access, refresh := s.login(t, userEmail, userPW)
		cache(access)
		s.want(t, s.call(t, "POST", "/v2/logout", "", "", access), 200)
		s.want(t, s.call(t, "GET", "/v2/user", "", "", access), 401)
		s.want(t, s.call(t, "POST", "/v2/refresh_access_token", "application/json", `"`+refresh+`"`, ""), 401)
	})
	t.Run("password change", func(t *testing.T) {
		mine, _ := s.login(t, userEmail, userPW)
		other, _ := s.login(t, userEmail, userPW)
		cache(other)
		const newPW = "another long passphrase 7"
		s.want(t, s.call(t, "POST", "/v2/change_password", "application/json", `{"current_password":"`+userPW+`","new_password":"`+newPW+`"}`, mine), 200)
		s.want(t, s.call(t, "GET", "/v2/user", "", "", other), 401)
		s.login(t, userEmail, newPW)
	})
	t.Run("a second server refuses to start", func(t *testing.T) {
		for _, c := range []struct {
			name string
			args []string
			want string
		}{
			{"with the cache", cached, "another process holds"},
			{"without the cache", args, "an examples/server with -session-cache and no -redis holds"},
		} {
			e := runToExit(t, bin, nil, append([]string{"-addr", "127.0.0.1:0"}, c.args...)...)
			if e.code == 0 || !strings.Contains(e.stderr, c.want) || !strings.Contains(e.stderr, "gh.db.lock") {
				t.Errorf("%s: exit %d, stderr %q; want a refusal saying %q and naming gh.db.lock", c.name, e.code, e.stderr, c.want)
			}
			if strings.Contains(e.stdout, "listening on") {
				t.Errorf("%s: it listened: %q", c.name, e.stdout)
			}
		}
	})
	// s is still there: the refusals changed nothing.
	s.login(t, userEmail, "another long passphrase 7")
	s.stop(t)

	// Stopped, then crashed: the lock goes with the process.
	s = start(t, bin, nil, args...)
	s.stop(t)
	s = start(t, bin, nil, cached...)
	s.kill(t)
	s = start(t, bin, nil, cached...)
	s.stop(t)
}

// TestSQLiteSharedWithoutCache: without -session-cache, servers share a
// SQLite file as they always did, each reading every session from it.
func TestSQLiteSharedWithoutCache(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	t.Parallel()
	bin := buildServer(t)
	dir := t.TempDir()
	args := []string{"-db", filepath.Join(dir, "gh.db"), "-maildir", filepath.Join(dir, "mail")}
	a := start(t, bin, nil, args...)
	b := start(t, bin, nil, args...)
	a.registerUser(t)
	access, _ := b.login(t, userEmail, userPW)
	a.want(t, a.call(t, "GET", "/v2/user", "", "", access), 200)
	b.want(t, b.call(t, "POST", "/v2/logout", "", "", access), 200)
	a.want(t, a.call(t, "GET", "/v2/user", "", "", access), 401)
	a.stop(t)
	b.stop(t)
}

// TestAuditDB: with -audit-db, the events land in the audit file, none in
// the main file's gatehouse_runs, and /v2/logs shows them; a restart with
// GATEHOUSE_AUDIT_DB instead of the flag finds them there. Invalid
// combinations are refused before the server listens.
func TestAuditDB(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	t.Parallel()
	bin := buildServer(t)
	dir := t.TempDir()
	db, auditDB := filepath.Join(dir, "gh.db"), filepath.Join(dir, "audit.db")
	env := []string{"GATEHOUSE_ADMIN_EMAIL=" + adminEmail, "GATEHOUSE_ADMIN_PASSWORD=" + adminPW}
	args := []string{"-db", db, "-maildir", filepath.Join(dir, "mail")}
	s := start(t, bin, env, append([]string{"-audit-db", auditDB}, args...)...)
	user := s.registerUser(t)
	access, _ := s.login(t, userEmail, userPW)
	s.want(t, s.call(t, "POST", "/v2/logout", "", "", access), 200)
	admin, _ := s.login(t, adminEmail, adminPW)
	logs := func(s *server) string {
		t.Helper()
		r := s.call(t, "GET", "/v2/logs?limit=100", "", "", admin)
		if r.status != 200 {
			t.Fatalf("GET /v2/logs: %d %v", r.status, r.body)
		}
		return jsonText(t, r.body)
	}
	text := logs(s)
	for _, want := range []string{`"value":"register"`, `"value":"login"`, `"value":"logout"`, `"user_id":"` + user["id"].(string) + `"`} {
		if !strings.Contains(text, want) {
			t.Errorf("GET /v2/logs shows no %s: %s", want, text)
		}
	}
	s.stop(t)
	runs := count(t, openFile(t, auditDB), "gatehouse_runs")
	if runs < 4 { // ensure_superuser, register, two logins, logout
		t.Errorf("%d runs in the audit file, want at least 4", runs)
	}
	if n := count(t, openFile(t, db), "gatehouse_runs"); n != 0 {
		t.Errorf("%d runs in the main file's gatehouse_runs, want none", n)
	}

	s = start(t, bin, append(env, "GATEHOUSE_AUDIT_DB="+auditDB), args...)
	if text := logs(s); !strings.Contains(text, `"value":"logout"`) {
		t.Errorf("after a restart with GATEHOUSE_AUDIT_DB, GET /v2/logs shows no logout: %s", text)
	}
	s.stop(t)

	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"-store memory", []string{"-store", "memory", "-audit-db", auditDB}, "-audit-db with -store memory"},
		{"a URL", []string{"-db", db, "-audit-db", "postgres://gh@127.0.0.1/audit"}, "give a file path"},
		{"-db itself", []string{"-db", db, "-audit-db", db}, "is -db itself"},
	} {
		e := runToExit(t, bin, nil, append([]string{"-addr", "127.0.0.1:0"}, c.args...)...)
		if e.code == 0 || !strings.Contains(e.stderr, c.want) || strings.Contains(e.stdout, "listening on") {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want a refusal saying %q", c.name, e.code, e.stdout, e.stderr, c.want)
		}
	}
}
