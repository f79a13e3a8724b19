package main_test

import (
	"bufio"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/gatehouse-go/gatehouse/internal/testdb"
	"github.com/gatehouse-go/gatehouse/store/sqlstore"
)

// instance is one server process of a group sharing a database.
type instance struct {
	name   string
	url    string
	stdout []string
	stderr *syncBuffer
}

// launch starts the server and waits until it listens, or fails; unlike
// start it may run on any goroutine. The process is killed in a clean-up.
func launch(t *testing.T, bin string, env []string, args ...string) (*instance, error) {
	cmd := exec.Command(bin, append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	in := &instance{stderr: &syncBuffer{}}
	cmd.Stderr = in.stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		if addr, ok := strings.CutPrefix(lines.Text(), "listening on "); ok {
			in.url = addr
			break
		}
		in.stdout = append(in.stdout, lines.Text())
	}
	go func() { io.Copy(io.Discard, stdout); cmd.Wait(); close(exited) }()
	if in.url == "" {
		<-exited
		return nil, fmt.Errorf("exited without listening: printed %q, logged:\n%s", in.stdout, in.stderr)
	}
	return in, nil
}

// cluster is the three instances of one run, and the client that calls
// them.
type cluster struct {
	t     *testing.T
	nodes []*instance // A, B, C
	// clientIP is the X-Forwarded-For of every request (the servers trust
	// 127.0.0.1 as a proxy), so that the run's per-IP counters are its own
	// even in a Redis that other runs share.
	clientIP string
}

// do sends one request and returns the status and the decoded body's
// "results" (or the whole body when it has none). It may run on any
// goroutine.
func (c *cluster) do(in *instance, method, path, ctype, body, bearer string) (int, map[string]any, error) {
	req, err := http.NewRequest(method, in.url+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	req.Header.Set("X-Forwarded-For", c.clientIP)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return resp.StatusCode, nil, fmt.Errorf("%s %s on %s: %d, body is not JSON: %w", method, path, in.name, resp.StatusCode, err)
	}
	if res, ok := out["results"].(map[string]any); ok {
		return resp.StatusCode, res, nil
	}
	return resp.StatusCode, out, nil
}

// want sends one request and fails the test unless it gets status.
func (c *cluster) want(in *instance, status int, method, path, ctype, body, bearer string) map[string]any {
	c.t.Helper()
	got, res, err := c.do(in, method, path, ctype, body, bearer)
	if err != nil {
		c.t.Fatal(err)
	}
	if got != status {
		c.t.Fatalf("%s %s on %s: %d, want %d: %v", method, path, in.name, got, status, res)
	}
	return res
}

// login logs in on in and returns the tokens.
func (c *cluster) login(in *instance, email, pw string) (access, refresh string) {
	c.t.Helper()
	form := url.Values{"username": {email}, "password": {pw}}
	res := c.want(in, 200, "POST", "/v2/login", "application/x-www-form-urlencoded", form.Encode(), "")
	return res["access_token"].(map[string]any)["token"].(string), res["refresh_token"].(map[string]any)["token"].(string)
}

// register registers email on in and returns the user's id.
func (c *cluster) register(in *instance, email, pw string) string {
	c.t.Helper()
	res := c.want(in, 200, "POST", "/v2/register", "application/json", `{"email":"`+email+`","password":"`+pw+`"}`, "")
	return res["id"].(string)
}

// others are the instances other than the first: B and C.
func (c *cluster) others() []*instance { return c.nodes[1:] }

// TestThreeInstances starts three real servers at once on one empty
// PostgreSQL schema, so that their migrations and their admin bootstrap
// race, then proves through HTTP that they behave as one: what is revoked
// on A is refused on B and C at the very next request, throttling counts
// across them, and a refresh token raced across them has one winner. It
// runs with the counters in PostgreSQL and again with them in Redis
// (required under CI=true).
func TestThreeInstances(t *testing.T) {
	bin := buildServer(t)
	t.Run("counters=postgres", func(t *testing.T) { threeInstances(t, bin, nil) })
	t.Run("counters=redis", func(t *testing.T) {
		threeInstances(t, bin, []string{"-redis", redisReachable(t)})
	})
}

func threeInstances(t *testing.T, bin string, extra []string) {
	dsn := testdb.PostgresSchema(t)
	redisCounters := len(extra) > 0
	env := []string{signingKeyEnv(t)} // the same key on every instance
	args := append([]string{"-db", dsn, "-maildir", t.TempDir(), "-trusted-proxies", "127.0.0.1"}, extra...)

	// All three at once: the migrations and the default admin race.
	c := &cluster{t: t, nodes: make([]*instance, 3), clientIP: randomIP()}
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Go(func() { c.nodes[i], errs[i] = launch(t, bin, env, args...) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("instance %c did not start: %v", 'A'+i, err)
		}
		c.nodes[i].name = string(rune('A' + i))
	}
	checkMigrationHistory(t, dsn)
	adminPW := createdAdminPassword(t, c.nodes)

	pw := "correct horse battery staple"
	run := strings.ToLower(rand.Text()[:8])
	email := func(who string) string { return who + "-" + run + "@example.com" }
	A := c.nodes[0]
	bearerRefused := func(what, token string) {
		t.Helper()
		for _, in := range c.others() {
			if got, res, err := c.do(in, "GET", "/v2/user", "", "", token); err != nil || got != 401 {
				t.Errorf("after %s on A, GET /v2/user on %s: %d %v %v, want 401", what, in.name, got, res, err)
			}
		}
	}
	bearerAccepted := func(what, token string) {
		t.Helper()
		for _, in := range c.others() {
			c.want(in, 200, "GET", "/v2/user", "", "", token)
		}
	}

	t.Run("logout", func(t *testing.T) {
		c.t = t
		c.register(A, email("logout"), pw)
		access, refresh := c.login(A, email("logout"), pw)
		bearerAccepted("login", access)
		c.want(A, 200, "POST", "/v2/logout", "", "", access)
		bearerRefused("a logout", access)
		c.want(c.nodes[2], 401, "POST", "/v2/refresh_access_token", "application/json", `"`+refresh+`"`, "")
	})
	t.Run("password change", func(t *testing.T) {
		c.t = t
		c.register(A, email("pwchange"), pw)
		mine, _ := c.login(A, email("pwchange"), pw)
		other, _ := c.login(c.nodes[1], email("pwchange"), pw)
		bearerAccepted("login", other)
		c.want(A, 200, "POST", "/v2/change_password", "application/json", `{"current_password":"`+pw+`","new_password":"another long passphrase 7"}`, mine)
		bearerRefused("a password change", other)
		for _, in := range c.others() {
			form := url.Values{"username": {email("pwchange")}, "password": {pw}}
			c.want(in, 401, "POST", "/v2/login", "application/x-www-form-urlencoded", form.Encode(), "")
		}
	})
	t.Run("session revocation", func(t *testing.T) {
		c.t = t
		c.register(A, email("revoke"), pw)
		mine, _ := c.login(A, email("revoke"), pw)
		victim, victimRefresh := c.login(c.nodes[2], email("revoke"), pw)
		bearerAccepted("login", victim)
		// The victim's session id: the one of its own list marked current.
		var id string
		_, body, err := c.do(c.nodes[2], "GET", "/v2/sessions", "", "", victim)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range sessionRows(body) {
			if s["current"] == true {
				id, _ = s["id"].(string)
			}
		}
		if id == "" {
			t.Fatalf("GET /v2/sessions has no current session: %v", body)
		}
		c.want(A, 200, "DELETE", "/v2/sessions/"+id, "", "", mine)
		bearerRefused("DELETE /v2/sessions/{id}", victim)
		c.want(c.nodes[1], 401, "POST", "/v2/refresh_access_token", "application/json", `"`+victimRefresh+`"`, "")
		c.want(c.nodes[1], 200, "GET", "/v2/user", "", "", mine) // the revoker's own session goes on
	})
	t.Run("deletion", func(t *testing.T) {
		c.t = t
		id := c.register(A, email("delete"), pw)
		access, _ := c.login(A, email("delete"), pw)
		bearerAccepted("login", access)
		c.want(A, 200, "DELETE", "/v2/user/"+id, "application/json", `{"password":"`+pw+`"}`, access)
		bearerRefused("a deletion", access)
	})
	t.Run("superuser demotion", func(t *testing.T) {
		c.t = t
		admin, _ := c.login(A, "admin@example.com", adminPW)
		id := c.register(A, email("super"), pw)
		c.want(A, 200, "PUT", "/v2/user", "application/json", `{"user_id":"`+id+`","is_superuser":true}`, admin)
		super, _ := c.login(c.nodes[1], email("super"), pw)
		for _, in := range c.others() {
			c.want(in, 200, "GET", "/v2/users_overview", "", "", super)
		}
		c.want(A, 200, "PUT", "/v2/user", "application/json", `{"user_id":"`+id+`","is_superuser":false}`, admin)
		for _, in := range c.others() {
			if got, res, err := c.do(in, "GET", "/v2/users_overview", "", "", super); err != nil || got != 403 {
				t.Errorf("after the demotion on A, GET /v2/users_overview on %s: %d %v %v, want 403", in.name, got, res, err)
			}
		}
	})
	t.Run("throttling across instances", func(t *testing.T) {
		c.t = t
		c.register(A, email("throttle"), pw)
		bad := url.Values{"username": {email("throttle")}, "password": {"not the password"}}.Encode()
		// The five free failures (auth.Limits.LoginFreeFailures), spread
		// over A, B and C: A, B, C, A, B.
		for i := range 5 {
			in := c.nodes[i%3]
			c.want(in, 401, "POST", "/v2/login", "application/x-www-form-urlencoded", bad, "")
		}
		// The sixth, on C, must wait: the account's one counter says so,
		// whichever instance counted the failures — even for the right
		// password, and on A too.
		res := c.want(c.nodes[2], 429, "POST", "/v2/login", "application/x-www-form-urlencoded", bad, "")
		if res["error_type"] != "rate_limited" {
			t.Errorf("429 body %v, want error_type rate_limited", res)
		}
		good := url.Values{"username": {email("throttle")}, "password": {pw}}.Encode()
		c.want(A, 429, "POST", "/v2/login", "application/x-www-form-urlencoded", good, "")
		// The counters are where the flags put them: with -redis, none in
		// the database.
		if n := databaseCounters(t, dsn); (n == 0) != redisCounters {
			t.Errorf("%d counters in the database with -redis %v", n, redisCounters)
		}
	})
	t.Run("refresh race", func(t *testing.T) {
		c.t = t
		c.register(A, email("race"), pw)
		for round := range 3 {
			_, refresh := c.login(c.nodes[round], email("race"), pw)
			statuses := make([]int, 3)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i, in := range c.nodes {
				wg.Go(func() {
					<-start
					got, _, err := c.do(in, "POST", "/v2/refresh_access_token", "application/json", `"`+refresh+`"`, "")
					if err != nil {
						t.Error(err)
					}
					statuses[i] = got
				})
			}
			close(start)
			wg.Wait()
			won := 0
			for _, s := range statuses {
				switch s {
				case 200:
					won++
				case 401:
				default:
					t.Errorf("round %d: a refresh answered %d", round, s)
				}
			}
			if won != 1 {
				t.Errorf("round %d: the same refresh token sent to A, B and C at once won %d times (statuses %v), want exactly 1", round, won, statuses)
			}
		}
	})
}

// randomIP is an IPv6 documentation address (2001:db8::/32) with a random
// suffix, so that concurrent runs do not share per-IP counters.
func randomIP() string {
	b := make([]byte, 4)
	rand.Read(b)
	return fmt.Sprintf("2001:db8::%x:%x", uint16(b[0])<<8|uint16(b[1]), uint16(b[2])<<8|uint16(b[3]))
}

// sessionRows returns the rows of a GET /v2/sessions answer.
func sessionRows(body map[string]any) []map[string]any {
	var list []any
	switch v := body["results"].(type) {
	case []any:
		list = v
	}
	var out []map[string]any
	for _, r := range list {
		if m, ok := r.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// checkMigrationHistory: the racing starts left one migration history,
// each migration recorded exactly once.
func checkMigrationHistory(t *testing.T, dsn string) {
	t.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	var rows, distinct int
	if err := db.QueryRow("SELECT count(*), count(DISTINCT version) FROM gatehouse_schema_migrations").Scan(&rows, &distinct); err != nil {
		t.Fatal(err)
	}
	files, err := fs.Glob(sqlstore.Migrations(sqlstore.Postgres), "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	if rows != len(files) || distinct != len(files) {
		t.Errorf("the migration history has %d rows (%d versions), want each of the %d migrations once", rows, distinct, len(files))
	}
	var tables int
	err = db.QueryRow("SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'gatehouse_schema_migrations'").Scan(&tables)
	if err != nil || tables != 1 {
		t.Errorf("version tables in the schema: %d, %v; want 1", tables, err)
	}
}

// createdAdminPassword: of instances started together on an empty
// database, exactly one prints the default admin's random password, and
// it is the one that works.
func createdAdminPassword(t *testing.T, nodes []*instance) string {
	t.Helper()
	re := regexp.MustCompile(`^created superuser admin@example\.com with password (\S+) `)
	var pws []string
	for _, in := range nodes {
		for _, l := range in.stdout {
			if m := re.FindStringSubmatch(l); m != nil {
				pws = append(pws, m[1])
			}
		}
	}
	if len(pws) != 1 {
		t.Fatalf("%d instances printed an admin password, want exactly 1: %q", len(pws), pws)
	}
	return pws[0]
}

// databaseCounters is the number of throttling counters in the database.
func databaseCounters(t *testing.T, dsn string) int {
	t.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM gatehouse_counters").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
