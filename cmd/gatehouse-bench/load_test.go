package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/audit"
	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/auth/password"
	"github.com/gatehouse-go/gatehouse/httpapi"
	"github.com/gatehouse-go/gatehouse/internal/testhash"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/store/memstore"
	"github.com/gatehouse-go/gatehouse/store/sqlstore"
)

const (
	testAdmin         = "admin@example.com"
	testAdminPassword = "load-test-admin-correct-horse"
)

// newTestServer serves the real /v2 API (Manager, audit recorder and
// reader, Guard trusting the loopback proxy as the soak's server does) on
// memstore with the tests' quick hasher.
func newTestServer(t *testing.T) *httptest.Server {
	t.Helper()
	st := memstore.New()
	rec, err := audit.New(audit.Config{Runs: st})
	if err != nil {
		t.Fatal(err)
	}
	m, err := auth.New(auth.Config{
		Store:    st,
		Audit:    rec,
		Mailer:   discardMailer{},
		Tokens:   auth.TokenConfig{SigningKey: bytes.Repeat([]byte{7}, 32)},
		Password: auth.PasswordConfig{Hasher: testhash.Fast{}},
		BaseURL:  "http://127.0.0.1",
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.EnsureSuperuser(context.Background(), testAdmin, testAdminPassword); err != nil {
		t.Fatal(err)
	}
	reader, err := audit.NewReader(m, st)
	if err != nil {
		t.Fatal(err)
	}
	guard := middleware.New(m, middleware.Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	api, err := httpapi.New(m, httpapi.Config{Audit: reader, Guard: guard})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	api.Mount(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.Close()
		m.Flush(context.Background())
	})
	return srv
}

// checkCounts asserts that the report adds up: every endpoint's requests
// are its successes, intended 4xx and errors, and the totals are the sums
// of the endpoints.
func checkCounts(t *testing.T, rep LoadReport) {
	t.Helper()
	var req, ok, intended, errs int
	for _, e := range rep.Endpoints {
		sum := e.OK
		for _, c := range e.Intended {
			sum += c
			intended += c
		}
		for _, c := range e.Errors {
			sum += c
			errs += c
		}
		if sum != e.Requests {
			t.Errorf("%s: %d requests, but ok + intended + errors = %d", e.Name, e.Requests, sum)
		}
		if e.Requests > 0 && (e.P50 <= 0 || e.P50 > e.P99 || e.P99 > e.P999) {
			t.Errorf("%s: quantiles out of order: p50 %v p99 %v p99.9 %v", e.Name, e.P50, e.P99, e.P999)
		}
		req += e.Requests
		ok += e.OK
	}
	if req != rep.Requests || ok != rep.OK || intended != rep.Intended || errs != rep.Errors {
		t.Errorf("totals %d/%d/%d/%d, endpoints sum to %d/%d/%d/%d (requests/ok/intended/errors)",
			rep.Requests, rep.OK, rep.Intended, rep.Errors, req, ok, intended, errs)
	}
}

// TestMixAgainstRealHandlers runs the whole mix for two seconds against the
// real handlers: every operation shows up, nothing but the deliberate
// wrong passwords fails, and the counts add up.
func TestMixAgainstRealHandlers(t *testing.T) {
	srv := newTestServer(t)
	rep, err := runMix(context.Background(), mixConfig{
		URL: srv.URL, Clients: 4, Duration: 2 * time.Second,
		AdminEmail: testAdmin, AdminPassword: testAdminPassword,
	})
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, rep)
	if rep.Errors != 0 {
		t.Errorf("%d errors: %s", rep.Errors, countsText(rep.errorsByStatus()))
	}
	for _, name := range []string{"register", "login", "get_user", "refresh", "put_user", "logout", "login_wrong_password", "users_overview", "logs", "analytics"} {
		e, found := rep.endpoint(name)
		if !found || e.Requests == 0 {
			t.Errorf("no %s requests in %d", name, rep.Requests)
		}
	}
	for _, e := range rep.Endpoints {
		for status := range e.Intended {
			if e.Name != "login_wrong_password" || status != 401 {
				t.Errorf("%s: intended %d counted, but only the wrong passwords' 401 is intended", e.Name, status)
			}
		}
	}
	if w := endpointOf(rep, "login_wrong_password"); w.Intended[401] != w.Requests {
		t.Errorf("wrong passwords: %d requests, %d intended 401", w.Requests, w.Intended[401])
	}
	if rep.PerSec <= 0 || rep.Elapsed < 2*time.Second {
		t.Errorf("rate %v over %v", rep.PerSec, rep.Elapsed)
	}

	var buf bytes.Buffer
	rep.print(&buf)
	if !strings.Contains(buf.String(), "get_user") || !strings.Contains(buf.String(), "p99.9") {
		t.Errorf("the table lacks its rows or columns:\n%s", buf.String())
	}
	buf.Reset()
	buf.WriteString("a progress line\n")
	if err := writeFigures(&buf, rep.figures("load", "memory")); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	var figs []map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &figs); err != nil {
		t.Fatalf("the last line is not one JSON array: %v", err)
	}
	want := []string{"name", "store", "value", "unit", "baseline", "baseline_value", "ratio"}
	names := map[string]bool{}
	for _, f := range figs {
		if len(f) != len(want) {
			t.Errorf("figure %v: want exactly the keys %v", f, want)
		}
		for _, k := range want {
			if _, ok := f[k]; !ok {
				t.Errorf("figure %v lacks %q", f, k)
			}
		}
		names[f["name"].(string)] = true
	}
	for _, n := range []string{"load_requests_per_second", "load_errors", "load_get_user_p99", "load_refresh_p999"} {
		if !names[n] {
			t.Errorf("no figure %s", n)
		}
	}
}

// TestMixRequestBound: -requests ends the run after exactly that many
// requests, long before -duration.
func TestMixRequestBound(t *testing.T) {
	srv := newTestServer(t)
	start := time.Now()
	rep, err := runMix(context.Background(), mixConfig{
		URL: srv.URL, Clients: 3, Duration: time.Minute, Requests: 150,
		AdminEmail: testAdmin, AdminPassword: testAdminPassword,
	})
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, rep)
	if rep.Requests != 150 {
		t.Errorf("%d requests, want exactly 150", rep.Requests)
	}
	if time.Since(start) > 30*time.Second {
		t.Errorf("the run took %v: the request bound did not end it", time.Since(start))
	}
}

// TestMixWithoutSuperuser leaves the superuser reads out.
func TestMixWithoutSuperuser(t *testing.T) {
	srv := newTestServer(t)
	rep, err := runMix(context.Background(), mixConfig{URL: srv.URL, Clients: 2, Duration: time.Minute, Requests: 80})
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, rep)
	for _, n := range []string{"users_overview", "logs", "analytics"} {
		if _, found := rep.endpoint(n); found {
			t.Errorf("%s requested without a superuser", n)
		}
	}
}

// TestMixCountsErrors: a server that refuses everything with 500 shows up
// as errors by status, never as successes or intended 4xx.
func TestMixCountsErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusInternalServerError)
	}))
	defer srv.Close()
	rep, err := runMix(context.Background(), mixConfig{URL: srv.URL, Clients: 2, Duration: time.Minute, Requests: 40})
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, rep)
	if rep.Requests != 40 || rep.Errors != 40 || rep.OK != 0 || rep.Intended != 0 {
		t.Errorf("requests %d, errors %d, ok %d, intended %d; want 40 errors", rep.Requests, rep.Errors, rep.OK, rep.Intended)
	}
	if got := rep.errorsByStatus()["500"]; got != 40 {
		t.Errorf("%d errors by status 500, want 40", got)
	}
}

func TestQuantile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 1000; i++ {
		d = append(d, time.Duration(i))
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500}, {0.99, 990}, {0.999, 999}, {1, 1000}} {
		if got := quantile(d, c.q); got != c.want {
			t.Errorf("quantile(%v) = %v, want %v", c.q, got, c.want)
		}
	}
	if quantile(nil, 0.5) != 0 {
		t.Error("quantile of nothing is not 0")
	}
}

func TestFlatness(t *testing.T) {
	var s []soakSample
	for i := 1; i <= 60; i++ {
		v := 100
		if i >= 50 {
			v = 125
		}
		s = append(s, soakSample{At: time.Duration(i) * time.Second, Goroutines: v})
	}
	g := func(x soakSample) float64 { return float64(x.Goroutines) }
	early, late, ok := flatness(s, 60*time.Second, g)
	if !ok || early != 100 || late != 125 {
		t.Errorf("flatness = %v, %v, %v; want 100, 125, true", early, late, ok)
	}
	if _, _, ok := flatness(s[:25], 25*time.Second, g); ok {
		t.Error("a 25 s run was judged")
	}
}

type discardMailer struct{}

func (discardMailer) Send(context.Context, mail.Message) error { return nil }

// TestSeedAccounts: the flood's seeded accounts are in the database as
// examples/server would find them, with one real argon2id hash (default
// parameters) of their password, so that a Manager on that file logs each
// of them in after a full verification and refuses a wrong password.
func TestSeedAccounts(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	accts := floodAccounts(3)
	h, err := password.NewArgon2id(password.Argon2Params{})
	if err != nil {
		t.Fatal(err)
	}
	if err := seedAccounts(ctx, path, accts, h); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// The server migrates at start: the seeded file must already be current.
	if err := sqlstore.Migrate(ctx, db, sqlstore.SQLite); err != nil {
		t.Fatal(err)
	}
	st, err := sqlstore.New(db, sqlstore.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	var hash string
	for i, a := range accts {
		email, err := auth.NormalizeEmail(a.email)
		if err != nil {
			t.Fatal(err)
		}
		u, err := st.UserByEmail(ctx, email)
		if err != nil {
			t.Fatalf("account %d (%s): %v", i, a.email, err)
		}
		if !u.IsActive || !u.IsVerified || u.IsSuperuser {
			t.Errorf("%s: active %v, verified %v, superuser %v; want an active, verified, ordinary user", a.email, u.IsActive, u.IsVerified, u.IsSuperuser)
		}
		if i > 0 && u.PasswordHash != hash {
			t.Errorf("%s has a hash of its own; the seeding makes one for all", a.email)
		}
		hash = u.PasswordHash
	}
	if !strings.HasPrefix(hash, "$argon2id$") || h.NeedsRehash(hash) {
		t.Fatalf("hash %q: want an argon2id hash with the default parameters", hash)
	}
	if n := len(accts); n != 3 || accts[0].pass != accts[2].pass || accts[0].email == accts[1].email {
		t.Fatalf("floodAccounts(3): %d accounts; want 3 distinct emails with one password", n)
	}

	m, err := auth.New(auth.Config{
		Store:   st,
		Mailer:  discardMailer{},
		Tokens:  auth.TokenConfig{SigningKey: bytes.Repeat([]byte{7}, 32)},
		BaseURL: "http://127.0.0.1",
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Login(ctx, accts[1].email, accts[1].pass); err != nil {
		t.Errorf("login with the seeded password: %v", err)
	}
	if _, err := m.Login(ctx, accts[2].email, "not-"+accts[2].pass); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Errorf("login with a wrong password: %v, want ErrInvalidCredentials", err)
	}
}

// TestPacer: n readers at a total rate are spaced n/rate apart, reader i
// offset by i/n of that; a late request goes out at once and restarts the
// schedule from itself; a cancelled run stops the wait; rate 0 never
// waits.
func TestPacer(t *testing.T) {
	start := time.Now().Add(time.Hour)
	p := newPacer(start, 40, 2, 4) // 4 readers, 40/s in all: each every 100ms
	if p.interval != 100*time.Millisecond || !p.next.Equal(start.Add(50*time.Millisecond)) {
		t.Errorf("interval %v, first slot %v after start; want 100ms and 50ms", p.interval, p.next.Sub(start))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if p.wait(ctx) {
		t.Error("a wait for a slot an hour away returned true on a cancelled context")
	}

	late := newPacer(time.Now().Add(-time.Hour), 40, 0, 4)
	before := time.Now()
	if !late.wait(context.Background()) {
		t.Fatal("a late slot was not taken")
	}
	if late.next.Before(before.Add(late.interval)) {
		t.Errorf("after a late slot the next is %v from now; want a full interval (%v), not a burst to catch up", time.Until(late.next), late.interval)
	}

	free := newPacer(time.Now(), 0, 0, 4)
	if !free.wait(context.Background()) || free.wait(ctx) {
		t.Error("rate 0: want no wait, and false once the context ends")
	}
}

// TestCPUTime: utime and stime are read after the command name, however
// odd the name; this process's CPU time grows as it works.
func TestCPUTime(t *testing.T) {
	line := "4242 (a b) (c)) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 5 0 100 1000 200\n"
	if got, err := statCPU("4242", []byte(line)); err != nil || got != 3250*time.Millisecond {
		t.Errorf("statCPU = %v, %v; want 3.25s (325 ticks)", got, err)
	}
	for _, bad := range []string{"4242 no name", "4242 (x) S 1 2"} {
		if _, err := statCPU("4242", []byte(bad)); err == nil {
			t.Errorf("statCPU(%q): no error", bad)
		}
	}
	before, err := cpuTime("self")
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	x := uint64(1)
	for i := 0; ; i++ {
		x = x*6364136223846793005 + 1
		if i%1_000_000 == 0 {
			now, err := cpuTime("self")
			if err != nil {
				t.Fatal(err)
			}
			if now > before {
				break // it grew (else the test's own timeout fails it)
			}
		}
	}
	_ = x
}

// TestServerFlagsText: -compare's heading names the flags of the server it
// started (spawnGatehouse passes them to every mode), and none for a
// server of -url.
func TestServerFlagsText(t *testing.T) {
	started := &child{}
	for _, c := range []struct {
		name  string
		srv   *child
		flags string
		want  string
	}{
		{"none", started, "", ""},
		{"blank", started, "  ", ""},
		{"flags", started, " -session-cache 1m  -audit-db audit.db", ` (-server-flags "-session-cache 1m -audit-db audit.db")`},
		{"a server of -url", nil, "-session-cache 1m", ""},
	} {
		if got := serverFlagsText(c.srv, c.flags); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
