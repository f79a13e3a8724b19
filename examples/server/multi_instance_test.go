package main_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-go/gatehouse/internal/passkeytest"
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
	// cache is set when the instances run with -session-cache: a change on
	// A then reaches B and C when its invalidation arrives, and refusals
	// are awaited (within cacheBound) instead of expected at once.
	cache bool
	// clientIP is the X-Forwarded-For of every request (the servers trust
	// 127.0.0.1 as a proxy), so that the run's per-IP counters are its own
	// even in a Redis that other runs share.
	clientIP string
}

// do sends one request and returns the status and the decoded body's
// "results" (or the whole body when it has none). It may run on any
// goroutine.
func (c *cluster) do(in *instance, method, path, ctype, body, bearer string) (int, map[string]any, error) {
	return c.doFrom(c.clientIP, in, method, path, ctype, body, bearer)
}

// doFrom is do from the client IP ip.
func (c *cluster) doFrom(ip string, in *instance, method, path, ctype, body, bearer string) (int, map[string]any, error) {
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
	req.Header.Set("X-Forwarded-For", ip)
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
// (required under CI=true), and then twice more with -session-cache, its
// invalidations over LISTEN/NOTIFY and over Redis pub/sub: there a
// revocation on A must be refused on B and C within cacheBound (never a
// success after it), the delay is measured over many logouts, and a lost
// notification connection must leave B reading the database.
func TestThreeInstances(t *testing.T) {
	bin := buildServer(t)
	t.Run("counters=postgres", func(t *testing.T) { threeInstances(t, bin, setup{}) })
	t.Run("counters=redis", func(t *testing.T) {
		threeInstances(t, bin, setup{redis: redisReachable(t)})
	})
	t.Run("session-cache=postgres", func(t *testing.T) { threeInstances(t, bin, setup{cache: true}) })
	t.Run("session-cache=redis", func(t *testing.T) {
		threeInstances(t, bin, setup{redis: redisReachable(t), cache: true})
	})
}

// setup is what one run of threeInstances gives every instance.
type setup struct {
	redis string // -redis (the counters, and with cache the invalidations), or ""
	cache bool   // -session-cache
}

// cacheBound is how long after a change on A a session cache may still
// answer from memory on B or C: a generous correctness bound, not a
// speed target (the measured delays are logged).
const cacheBound = 5 * time.Second

func threeInstances(t *testing.T, bin string, s setup) {
	dsn := testdb.PostgresSchema(t)
	redisCounters := s.redis != ""
	env := []string{signingKeyEnv(t), factorKeyEnv(t)} // the same keys on every instance
	run := strings.ToLower(rand.Text()[:8])
	maildir := t.TempDir()
	// With the cache, each instance's connections carry its name, so that
	// its notification connection can be found and killed.
	names := make([]string, 3)
	args := func(i int) []string {
		names[i] = fmt.Sprintf("gh-%s-%c", run, 'a'+i)
		db, r := dsn, s.redis
		var cache []string
		if s.cache {
			db = withParam(t, dsn, "application_name", names[i])
			if r != "" {
				r = "redis://" + r + "/?client_name=" + names[i]
			}
			cache = []string{"-session-cache", "1m"}
		}
		a := append([]string{"-db", db, "-maildir", maildir, "-trusted-proxies", "127.0.0.1"}, cache...)
		if r != "" {
			a = append(a, "-redis", r)
		}
		return a
	}

	// All three at once: the migrations and the default admin race.
	c := &cluster{t: t, nodes: make([]*instance, 3), clientIP: randomIP(), cache: s.cache}
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i := range 3 {
		a := args(i)
		wg.Go(func() { c.nodes[i], errs[i] = launch(t, bin, env, a...) })
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
	email := func(who string) string { return who + "-" + run + "@example.com" }
	A := c.nodes[0]
	bearerRefused := func(what, token string) {
		t.Helper()
		for _, in := range c.others() {
			c.refused(in, what, "/v2/user", token, 401)
		}
	}
	bearerAccepted := func(what, token string) {
		t.Helper()
		for _, in := range c.others() {
			c.want(in, 200, "GET", "/v2/user", "", "", token)
		}
	}
	var cc *cacheCluster
	var keys []*passkeytest.Authenticator
	via := "PostgreSQL LISTEN/NOTIFY"
	if redisCounters {
		via = "Redis pub/sub"
	}
	if s.cache {
		cc = &cacheCluster{cluster: c, dsn: dsn, redis: s.redis, names: names}
		// Passkey logins make the many sessions the trials need, with no
		// password hash per login; four passkeys log in four at a time
		// (more on one account queue behind its throttling gate).
		keys = c.enrolPasskeys(A, email("trials"), pw, 4)
		// Before anything is revoked: B and C do answer from memory, so
		// what follows is proved with the cache in use.
		t.Run("the cache serves", func(t *testing.T) {
			c.t = t
			for _, in := range c.others() {
				cc.waitCached(in, keys[0])
			}
		})
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
			c.refused(in, "the demotion", "/v2/users_overview", super, 403)
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
	if !s.cache {
		return
	}
	c.t = t
	t.Run("logout delay", func(t *testing.T) {
		c.t = t
		cc.logoutTrials(keys, via, cacheTrials(t))
	})
	t.Run("lost notification connection", func(t *testing.T) {
		c.t = t
		cc.lostConnection(keys[0])
	})
}

// refused checks that GET path with token is answered status on in after
// what was done on A: at the very next request without the session cache;
// with it, within cacheBound (polling), the delay logged, and never a
// success after the bound.
func (c *cluster) refused(in *instance, what, path, token string, status int) {
	c.t.Helper()
	start := time.Now()
	for tries := 1; ; tries++ {
		got, res, err := c.do(in, "GET", path, "", "", token)
		switch {
		case err == nil && got == status:
			if c.cache {
				c.t.Logf("after %s on A, %s refused %s after %v (%d requests)", what, in.name, path, time.Since(start).Round(time.Microsecond), tries)
			}
			return
		case err != nil || got != 200:
			c.t.Errorf("after %s on A, GET %s on %s: %d %v %v, want %d", what, path, in.name, got, res, err, status)
			return
		case !c.cache:
			c.t.Errorf("after %s on A, GET %s on %s: 200, want %d at the very next request", what, path, in.name, status)
			return
		case time.Since(start) > cacheBound:
			c.t.Errorf("after %s on A, GET %s on %s still succeeds %v later (bound %v): a stale session-cache entry", what, path, in.name, time.Since(start), cacheBound)
			return
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// withParam returns the URL dsn with the query parameter k set to v.
func withParam(t *testing.T, dsn, k, v string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set(k, v)
	u.RawQuery = q.Encode()
	return u.String()
}

// randomIP is an IPv6 documentation address (2001:db8::/32) in a random
// /64 of its own (per-IP limits count an IPv6 client by its /64), so that
// concurrent runs do not share per-IP counters.
func randomIP() string {
	b := make([]byte, 4)
	rand.Read(b)
	return fmt.Sprintf("2001:db8:%x:%x::1", uint16(b[0])<<8|uint16(b[1]), uint16(b[2])<<8|uint16(b[3]))
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

// cacheCluster is a cluster run with -session-cache, and what its tests
// need to look behind it: the database, the Redis of -redis (or ""), and
// each instance's connection name (application_name, client_name).
type cacheCluster struct {
	*cluster
	dsn, redis string
	names      []string
}

// origin is the WebAuthn origin of in: its listener with localhost for the
// loopback address, as the server's passkey configuration has it.
func origin(in *instance) string { return strings.Replace(in.url, "://127.0.0.1:", "://localhost:", 1) }

// enrolPasskeys registers email on in and adds n passkeys to the account.
func (c *cluster) enrolPasskeys(in *instance, email, pw string, n int) []*passkeytest.Authenticator {
	c.t.Helper()
	c.register(in, email, pw)
	access, _ := c.login(in, email, pw)
	keys := make([]*passkeytest.Authenticator, n)
	for i := range keys {
		keys[i] = passkeytest.New(origin(in))
		begin := c.want(in, 200, "POST", "/v2/mfa/passkeys/register/begin", "application/json", fmt.Sprintf(`{"current_password":%q,"name":"trials %d"}`, pw, i), access)
		opts, _ := json.Marshal(begin["options"])
		cred, err := keys[i].Register(opts, passkeytest.Forge{})
		if err != nil {
			c.t.Fatal(err)
		}
		body, _ := json.Marshal(map[string]any{"registration_id": begin["registration_id"], "credential": json.RawMessage(cred)})
		c.want(in, 200, "POST", "/v2/mfa/passkeys/register/finish", "application/json", string(body), access)
	}
	return keys
}

// passkeyLogin logs in on the first instance with key and returns the
// access token of the new session. It may run on any goroutine, one at a
// time per key. Each login comes from a client IP of its own, as the
// trials' many logins would otherwise use up one IP's hourly allowance of
// passkey logins (auth.Limits.IPPasskeyLoginsPerHour).
func (c *cluster) passkeyLogin(key *passkeytest.Authenticator) (string, error) {
	A := c.nodes[0]
	ip := randomIP()
	step := func(path string, body any) (map[string]any, error) {
		b, _ := json.Marshal(body)
		got, res, err := c.doFrom(ip, A, "POST", path, "application/json", string(b), "")
		if err == nil && got != 200 {
			err = fmt.Errorf("POST %s on A: %d %v", path, got, res)
		}
		return res, err
	}
	begin, err := step("/v2/login/passkey/begin", struct{}{})
	if err != nil {
		return "", err
	}
	opts, _ := json.Marshal(begin["options"])
	cred, err := key.Assert(opts, passkeytest.Forge{})
	if err != nil {
		return "", err
	}
	res, err := step("/v2/login/passkey/finish", map[string]any{"login_id": begin["login_id"], "credential": json.RawMessage(cred)})
	if err != nil {
		return "", err
	}
	return res["access_token"].(map[string]any)["token"].(string), nil
}

// passkeyLogins makes n sessions on the first instance with keys, in
// parallel, and returns their access tokens.
func (c *cluster) passkeyLogins(keys []*passkeytest.Authenticator, n int) []string {
	c.t.Helper()
	tokens := make([]string, n)
	errs := make([]error, len(keys))
	var wg sync.WaitGroup
	for k, key := range keys {
		wg.Go(func() {
			for i := k; i < n && errs[k] == nil; i += len(keys) {
				tokens[i], errs[k] = c.passkeyLogin(key)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		c.t.Fatal(err)
	}
	return tokens
}

// sessionID is the sid claim of an access token.
func sessionID(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", token)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		SID string `json:"sid"`
	}
	if err := json.Unmarshal(raw, &claims); err != nil || claims.SID == "" {
		t.Fatalf("no sid in %s: %v", raw, err)
	}
	return claims.SID
}

// db opens the run's schema.
func (cc *cacheCluster) db() *sql.DB {
	cfg, err := pgx.ParseConfig(cc.dsn)
	if err != nil {
		cc.t.Fatal(err)
	}
	db := stdlib.OpenDB(*cfg)
	cc.t.Cleanup(func() { db.Close() })
	return db
}

// servedFromCache reports whether in answers a session from memory: it
// logs in, has in read the session (twice, so that it is cached), deletes
// the session's row behind every instance's back (no notification), and
// asks again. 200 can only come from the cache; 401 is a database read.
func (cc *cacheCluster) servedFromCache(in *instance, key *passkeytest.Authenticator, db *sql.DB) bool {
	cc.t.Helper()
	token := cc.passkeyLogins([]*passkeytest.Authenticator{key}, 1)[0]
	for range 2 {
		cc.want(in, 200, "GET", "/v2/user", "", "", token)
	}
	if _, err := db.Exec("DELETE FROM gatehouse_sessions WHERE id = $1", sessionID(cc.t, token)); err != nil {
		cc.t.Fatal(err)
	}
	got, res, err := cc.do(in, "GET", "/v2/user", "", "", token)
	if err != nil || (got != 200 && got != 401) {
		cc.t.Fatalf("GET /v2/user on %s: %d %v %v", in.name, got, res, err)
	}
	return got == 200
}

// waitCached waits (at most 10 s: the subscription starts with the
// server) until in serves sessions from its cache.
func (cc *cacheCluster) waitCached(in *instance, key *passkeytest.Authenticator) {
	cc.t.Helper()
	db := cc.db()
	deadline := time.Now().Add(10 * time.Second)
	for !cc.servedFromCache(in, key, db) {
		if time.Now().After(deadline) {
			cc.t.Fatalf("%s never served a session from its cache: is -session-cache on?", in.name)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// cacheTrials is the number of logouts the delay is measured over:
// $AUTH_TEST_CACHE_TRIALS, else 1,000 (100 with -short).
func cacheTrials(t *testing.T) int {
	if v := os.Getenv("AUTH_TEST_CACHE_TRIALS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("AUTH_TEST_CACHE_TRIALS=%q: want a positive number", v)
		}
		return n
	}
	if testing.Short() {
		return 100
	}
	return 1000
}

// logoutTrials measures, trials times, the time from sending a logout to
// A until B and C refuse the session (each cached there first), polling
// each as fast as it answers. A success later than cacheBound fails the
// test; the delays are logged, not judged.
func (cc *cacheCluster) logoutTrials(keys []*passkeytest.Authenticator, via string, trials int) {
	t := cc.t
	A, others := cc.nodes[0], cc.others()
	// Each delay from the logout's sending, and from its answer (what a
	// client that saw the logout succeed could still get accepted).
	lat := make([][]time.Duration, len(others))
	after := make([][]time.Duration, len(others))
	first := make([]int, len(others)) // refused at the first request after the logout's answer
	// The sessions first, so that no login runs while a delay is measured.
	made := time.Now()
	tokens := cc.passkeyLogins(keys, trials)
	t.Logf("%d sessions made in %v; measuring", trials, time.Since(made).Round(time.Millisecond))
	measured := time.Now()
	defer func() { t.Logf("%d trials measured in %v", trials, time.Since(measured).Round(time.Millisecond)) }()
	for i, token := range tokens {
		var warm sync.WaitGroup
		for _, in := range others { // cache it on B and C
			warm.Go(func() {
				if got, res, err := cc.do(in, "GET", "/v2/user", "", "", token); err != nil || got != 200 {
					t.Errorf("trial %d: GET /v2/user on %s before the logout: %d %v %v", i, in.name, got, res, err)
				}
			})
		}
		warm.Wait()
		if t.Failed() {
			return
		}
		start := time.Now()
		cc.want(A, 200, "POST", "/v2/logout", "", "", token)
		answered := time.Now()
		var wg sync.WaitGroup
		for j, in := range others {
			wg.Go(func() {
				for tries := 1; ; tries++ {
					got, res, err := cc.do(in, "GET", "/v2/user", "", "", token)
					now := time.Now()
					d := now.Sub(start)
					switch {
					case err == nil && got == 401:
						lat[j] = append(lat[j], d)
						after[j] = append(after[j], now.Sub(answered))
						if tries == 1 {
							first[j]++
						}
						return
					case err != nil || got != 200:
						t.Errorf("trial %d: GET /v2/user on %s after the logout: %d %v %v", i, in.name, got, res, err)
						return
					case d > cacheBound:
						t.Errorf("trial %d: %s still accepts the session %v after its logout on A (bound %v)", i, in.name, d, cacheBound)
						return
					}
					time.Sleep(100 * time.Microsecond)
				}
			})
		}
		wg.Wait()
		if t.Failed() {
			return
		}
	}
	for j, in := range others {
		t.Logf("%s: logout sent to A → refusal on %s, %d trials: p50 %v, p99 %v, max %v; from A's answer: p50 %v, p99 %v, max %v; refused at the first request after A's answer in %d of %d",
			via, in.name, trials, percentile(lat[j], 50), percentile(lat[j], 99), percentile(lat[j], 100),
			percentile(after[j], 50), percentile(after[j], 99), percentile(after[j], 100), first[j], trials)
	}
}

// percentile is the p-th percentile of d (100: the maximum).
func percentile(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := min(max((len(s)*p+99)/100-1, 0), len(s)-1)
	return s[i].Round(time.Microsecond)
}

// lostLog is what an instance logs when its notification connection is
// lost (package pgnotify, package redisstore).
func (cc *cacheCluster) lostLog() string {
	if cc.redis != "" {
		return "redisstore: subscription lost"
	}
	return "pgnotify: listen connection lost"
}

// listener reports whether instance i has a notification connection now,
// and kills it when kill is set.
func (cc *cacheCluster) listener(i int, kill bool) bool {
	cc.t.Helper()
	if cc.redis == "" {
		db := cc.db()
		app := cc.names[i] + " session-cache listener"
		q := "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1"
		if kill {
			q = "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1"
		}
		var n int
		if err := db.QueryRow(q, app).Scan(&n); err != nil {
			cc.t.Fatal(err)
		}
		return n > 0
	}
	rdb := redis.NewClient(&redis.Options{Addr: cc.redis})
	defer rdb.Close()
	ctx := context.Background()
	list, err := rdb.Do(ctx, "CLIENT", "LIST", "TYPE", "pubsub").Text()
	if err != nil {
		cc.t.Fatal(err)
	}
	found := false
	for line := range strings.Lines(list) {
		if !strings.Contains(line, " name="+cc.names[i]+" ") {
			continue
		}
		found = true
		if kill {
			id, _, _ := strings.Cut(strings.TrimPrefix(line, "id="), " ")
			if err := rdb.Do(ctx, "CLIENT", "KILL", "ID", id).Err(); err != nil {
				cc.t.Fatal(err)
			}
		}
	}
	return found
}

// lostConnection kills B's notification connection from the server's
// side (pg_terminate_backend, CLIENT KILL) and proves that B then reads
// the database: a logout on A while B cannot hear of it is refused on B at
// the very next request. Then B reconnects, and its cache serves again.
func (cc *cacheCluster) lostConnection(key *passkeytest.Authenticator) {
	t := cc.t
	A, B := cc.nodes[0], cc.nodes[1]
	cc.waitCached(B, key)
	token := cc.passkeyLogins([]*passkeytest.Authenticator{key}, 1)[0]
	for range 2 {
		cc.want(B, 200, "GET", "/v2/user", "", "", token) // cached on B
	}
	lost := strings.Count(B.stderr.String(), cc.lostLog())
	if !cc.listener(1, true) {
		t.Fatalf("no notification connection of B (%s) to kill", cc.names[1])
	}
	// B notices at once (the server closes the connection): wait for its
	// log line, after which it reads the database until it resubscribes.
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(B.stderr.String(), cc.lostLog()) == lost {
		if time.Now().After(deadline) {
			t.Fatalf("B never logged %q after its connection was killed:\n%s", cc.lostLog(), B.stderr)
		}
		time.Sleep(time.Millisecond)
	}
	cc.want(A, 200, "POST", "/v2/logout", "", "", token)
	if got, res, err := cc.do(B, "GET", "/v2/user", "", "", token); err != nil || got != 401 {
		t.Fatalf("a session logged out on A while B's notification connection was down: GET /v2/user on B: %d %v %v, want 401 at the very next request", got, res, err)
	}
	if cc.listener(1, false) {
		t.Log("B had already resubscribed when it refused the session (its cache was emptied on resubscribing)")
	} else {
		t.Log("B refused the session with its notification connection still down: an exact read")
	}
	// The cache comes back after the reconnection.
	start := time.Now()
	cc.waitCached(B, key)
	t.Logf("B served from its cache again %v after the refusal", time.Since(start).Round(time.Millisecond))
}
