package main_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-go/gatehouse/internal/testdb"
)

// signingKeyEnv is a GATEHOUSE_SIGNING_KEY value, for servers on a shared
// database (which keep no key file).
func signingKeyEnv(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	rand.Read(b)
	return "GATEHOUSE_SIGNING_KEY=" + hex.EncodeToString(b)
}

// factorKeyEnv is a GATEHOUSE_FACTOR_KEY value, required beside the
// signing key on a shared database.
func factorKeyEnv(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	rand.Read(b)
	return "GATEHOUSE_FACTOR_KEY=" + hex.EncodeToString(b)
}

// mysqlURL turns testdb's go-sql-driver DSN into the server's mysql://
// form.
func mysqlURL(dsn string) string { return "mysql://" + dsn }

// redisReachable skips (fails under CI=true) when the test Redis cannot be
// reached.
func redisReachable(t *testing.T) string {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: testdb.RedisAddr()})
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		testdb.Unreachable(t, "Redis", testdb.RedisEnv, err)
	}
	return testdb.RedisAddr()
}

// TestEveryStore runs the server on every store reachable — memory,
// SQLite, a PostgreSQL schema and a MySQL database of the test's own, and
// PostgreSQL with the counters in Redis, and the memory store with
// -session-cache (its in-process invalidations) — through register, login,
// GET /v2/user, a logout refused at the next request, and a failed login
// that the limiter counts.
func TestEveryStore(t *testing.T) {
	t.Parallel()
	bin := buildServer(t)
	cases := []struct {
		name string
		args func(t *testing.T) []string
		env  bool // needs GATEHOUSE_SIGNING_KEY
	}{
		{"memory", func(t *testing.T) []string { return []string{"-store", "memory"} }, false},
		{"memory+session-cache", func(t *testing.T) []string { return []string{"-store", "memory", "-session-cache", "1m"} }, false},
		{"sqlite", func(t *testing.T) []string { return []string{"-db", filepath.Join(t.TempDir(), "g.db")} }, false},
		{"postgres", func(t *testing.T) []string { return []string{"-db", testdb.PostgresSchema(t)} }, true},
		{"mysql", func(t *testing.T) []string { return []string{"-db", mysqlURL(testdb.MySQLDatabase(t))} }, true},
		{"postgres+redis", func(t *testing.T) []string {
			return []string{"-db", testdb.PostgresSchema(t), "-redis", redisReachable(t)}
		}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append(c.args(t), "-maildir", t.TempDir())
			env := []string{"GATEHOUSE_ADMIN_EMAIL=root@example.com", "GATEHOUSE_ADMIN_PASSWORD=a long admin passphrase 1"}
			if c.env {
				env = append(env, signingKeyEnv(t), factorKeyEnv(t))
			}
			s := start(t, bin, env, args...)
			if c.name == "memory" && !strings.Contains(strings.Join(s.stdout, "\n"), "lost when the server exits") {
				t.Errorf("-store memory does not say the data is lost; it printed %q", s.stdout)
			}
			const email, pw = "ada@example.com", "correct horse battery staple"
			s.want(t, s.call(t, "POST", "/v2/register", "application/json", `{"email":"`+email+`","password":"`+pw+`"}`, ""), 200)
			access, _ := s.login(t, email, pw)
			me := s.want(t, s.call(t, "GET", "/v2/user", "", "", access), 200)
			if me["email"] != email {
				t.Errorf("GET /v2/user: %v", me)
			}
			s.want(t, s.call(t, "POST", "/v2/logout", "", "", access), 200)
			if r := s.call(t, "GET", "/v2/user", "", "", access); r.status != 401 {
				t.Errorf("GET /v2/user after the logout: %d %v, want 401", r.status, r.body)
			}
			if cached := strings.Contains(s.stderr.String(), "session cache on"); cached != strings.HasSuffix(c.name, "+session-cache") {
				t.Errorf("the server logged \"session cache on\": %v:\n%s", cached, s.stderr)
			}
			bad := "username=" + email + "&password=wrong"
			if r := s.call(t, "POST", "/v2/login", "application/x-www-form-urlencoded", bad, ""); r.status != 401 {
				t.Errorf("a wrong password: %d %v", r.status, r.body)
			}
			s.stop(t)
		})
	}
}
