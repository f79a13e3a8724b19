package main

import (
	"context"
	crand "crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-go/gatehouse/auth/password"
)

func init() {
	register("load", "a realistic request mix from N keep-alive clients against examples/server", runLoad)
}

// loadOptions are the flags of the load mode.
type loadOptions struct {
	url           string
	clients       int
	duration      time.Duration
	requests      int64
	adminEmail    string
	adminPassword string
	json          bool
	flood         int
	compare       bool
	rounds        int
	serverBin     string
	serverFlags   string
	profile       string
	readRate      float64
	loginDuration time.Duration
}

func loadFlags(name string, o *loadOptions) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.StringVar(&o.url, "url", "", "base URL of a running examples/server (started with -trusted-proxies 127.0.0.1, so that each simulated client has its own address); empty: build and start one on a fresh SQLite database")
	fs.IntVar(&o.clients, "clients", 8, "concurrent keep-alive clients")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long to run (each phase, with -compare)")
	fs.Int64Var(&o.requests, "requests", 0, "stop after this many requests in all (0: no bound but -duration)")
	fs.StringVar(&o.adminEmail, "admin-email", os.Getenv(envLoadAdminEmail), "superuser for the superuser reads (default $"+envLoadAdminEmail+"; without it they are left out)")
	fs.StringVar(&o.adminPassword, "admin-password", os.Getenv(envLoadAdminPassword), "its password (default $"+envLoadAdminPassword+")")
	fs.BoolVar(&o.json, "json", false, "print the figures as one JSON array on the last line")
	fs.IntVar(&o.flood, "flood", 0, "instead of the mix: this many concurrent logins, each on its own account, while -clients clients read GET /v2/user. "+
		"Without -url the accounts are written into the started server's database before it starts, all with one argon2id hash (default parameters) of one shared password, "+
		"so that seeding takes seconds while every login still runs one full verification; with -url they are registered over HTTP, one hash each (minutes for a thousand)")
	fs.BoolVar(&o.compare, "compare", false, "instead of the mix: GET /v2/user, refresh and login side by side with a plain net/http server and the bare hasher")
	fs.IntVar(&o.rounds, "rounds", 3, "with -compare: interleaved rounds of each phase")
	fs.StringVar(&o.serverBin, "server-bin", "", "examples/server binary to start (default: go build it)")
	fs.StringVar(&o.serverFlags, "server-flags", "", "more flags for the started examples/server, space-separated (e.g. \"-max-concurrent-hashes 1\")")
	fs.Float64Var(&o.readRate, "read-rate", 0, "with -flood: the readers' GET /v2/user requests per second in all, spread evenly over them (0: each sends its next request as soon as the last is answered)")
	fs.DurationVar(&o.loginDuration, "login-duration", 20*time.Second, "with -compare: how long the login phase runs (long enough for a few dozen hashes)")
	fs.StringVar(&o.profile, "cpuprofile", "", "write a CPU profile of the server under load to this `file` (a started server only); with -compare, one per phase of the last round: FILE.get_user, FILE.refresh, FILE.login")
	return fs
}

// The environment variables of the superuser the load mode logs in as;
// they are examples/server's own, so one setting serves both.
const (
	envLoadAdminEmail    = "GATEHOUSE_ADMIN_EMAIL"
	envLoadAdminPassword = "GATEHOUSE_ADMIN_PASSWORD"
)

func runLoad(args []string) error {
	var o loadOptions
	fs := loadFlags("load", &o)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if o.clients < 1 {
		return fmt.Errorf("-clients %d: need at least 1", o.clients)
	}
	if o.duration <= 0 {
		return fmt.Errorf("-duration %v: must be positive", o.duration)
	}
	ctx := context.Background()
	var srv *child
	var seeded []*account
	if o.url == "" {
		var seed func(ctx context.Context, dbPath string) error
		if o.flood > 0 {
			// The flood's accounts are written into the database before
			// the server starts (seedAccounts), not registered over HTTP.
			seeded = floodAccounts(o.clients + o.flood)
			seed = func(ctx context.Context, dbPath string) error {
				h, err := password.NewArgon2id(password.Argon2Params{})
				if err != nil {
					return err
				}
				fmt.Fprintf(os.Stderr, "seeding %d accounts into %s (one argon2id hash of their shared password)…\n", len(seeded), dbPath)
				return seedAccounts(ctx, dbPath, seeded, h)
			}
		}
		s, cleanup, err := spawnGatehouse(ctx, o.serverBin, strings.Fields(o.serverFlags), seed, os.Stderr)
		if err != nil {
			return err
		}
		defer cleanup()
		srv = s.child
		o.url, o.adminEmail, o.adminPassword = s.child.URL, s.adminEmail, s.adminPassword
	}
	out := os.Stdout
	var figs []loadFigure
	var err error
	switch {
	case o.flood > 0:
		figs, err = runFlood(ctx, o, srv, seeded, out)
	case o.compare:
		figs, err = runCompare(ctx, o, srv, out)
	default:
		stopProf := startProfile(ctx, srv, o.profile, o.duration)
		var rep LoadReport
		rep, err = runMix(ctx, mixConfig{
			URL: o.url, Clients: o.clients, Duration: o.duration, Requests: o.requests,
			AdminEmail: o.adminEmail, AdminPassword: o.adminPassword, Log: out,
		})
		stopProf()
		if err == nil {
			rep.print(out)
			if rep.errorsByStatus()["429"] > 0 {
				fmt.Fprintln(out, "note: 429s mean the server counts every client as one address; start it with -trusted-proxies 127.0.0.1")
			}
			figs = rep.figures("load", "sqlite")
		}
	}
	if err != nil {
		return err
	}
	if o.json {
		return writeFigures(out, figs)
	}
	return nil
}

// errorsByStatus sums the errors of every endpoint by status.
func (r LoadReport) errorsByStatus() map[string]int {
	m := map[string]int{}
	for _, e := range r.Endpoints {
		for s, c := range e.Errors {
			m[s] += c
		}
	}
	return m
}

// spawned is an examples/server started by the tool, with the superuser
// it was told to create.
type spawned struct {
	child                     *child
	dir                       string
	adminEmail, adminPassword string
}

// spawnGatehouse builds (unless bin is given) and starts examples/server
// on a fresh SQLite database in a temporary folder, trusting the loopback
// proxy and with its pprof listener on, and with flags added. seed, unless nil, is called with
// the database's path before the server starts. cleanup stops the server
// and removes the folder.
func spawnGatehouse(ctx context.Context, bin string, flags []string, seed func(ctx context.Context, dbPath string) error, log io.Writer) (*spawned, func(), error) {
	dir, err := os.MkdirTemp("", "gatehouse-load-")
	if err != nil {
		return nil, nil, err
	}
	fail := func(err error) (*spawned, func(), error) {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	if bin == "" {
		fmt.Fprintln(log, "building examples/server…")
		if bin, err = buildServer(ctx, dir); err != nil {
			return fail(err)
		}
	}
	dbPath := filepath.Join(dir, "gatehouse.db")
	if seed != nil {
		if err := seed(ctx, dbPath); err != nil {
			return fail(err)
		}
	}
	s := &spawned{dir: dir, adminEmail: "load-admin@example.com", adminPassword: "load-" + cryptoRandText()}
	c, err := startChild(ctx, bin, append([]string{
		"-addr", "127.0.0.1:0",
		"-db", dbPath,
		"-maildir", dir + "/mail",
		"-trusted-proxies", "127.0.0.1",
		"-debug-addr", "127.0.0.1:0",
	}, flags...), []string{envLoadAdminEmail + "=" + s.adminEmail, envLoadAdminPassword + "=" + s.adminPassword}, dir, true)
	if err != nil {
		return fail(err)
	}
	s.child = c
	fmt.Fprintf(log, "examples/server pid %d at %s (pprof %s)\n", c.PID(), c.URL, c.DebugURL)
	return s, func() {
		if err := c.stop(); err != nil {
			fmt.Fprintf(log, "examples/server: %v\n", err)
		}
		os.RemoveAll(dir)
	}, nil
}

func cryptoRandText() string { return crand.Text() }

// startProfile, when path is set and srv runs with its pprof listener,
// records a CPU profile of srv for d (at most) into path; the returned
// func waits for it.
func startProfile(ctx context.Context, srv *child, path string, d time.Duration) func() {
	if path == "" || srv == nil || srv.DebugURL == "" {
		if path != "" {
			fmt.Fprintln(os.Stderr, "-cpuprofile needs a server started by the tool (no -url)")
		}
		return func() {}
	}
	secs := max(int(d/time.Second)-1, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := http.Get(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", srv.DebugURL, secs))
		if err != nil {
			fmt.Fprintln(os.Stderr, "cpu profile:", err)
			return
		}
		defer resp.Body.Close()
		f, err := os.Create(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "cpu profile:", err)
			return
		}
		io.Copy(f, resp.Body)
		f.Close()
	}()
	return func() { <-done }
}

// mixConfig configures one run of the request mix.
type mixConfig struct {
	URL                       string
	Clients                   int
	Duration                  time.Duration
	Requests                  int64 // 0: no bound
	AdminEmail, AdminPassword string
	Log                       io.Writer // progress and notes; nil: none
	// Transport is shared by the clients; nil means a fresh keep-alive one.
	Transport http.RoundTripper
}

// The operations of the mix and their weights. The superuser reads are
// left out when there is no superuser.
var mixOps = []struct {
	name   string
	weight int
	admin  bool
}{
	{"get_user", 52, false},
	{"refresh", 12, false},
	{"put_user", 8, false},
	{"relogin", 5, false}, // logout, then login
	{"register", 3, false},
	{"login_wrong_password", 2, false},
	{"users_overview", 3, true},
	{"logs", 3, true},
	{"analytics", 2, true},
}

// runMix drives the mix for cfg.Duration or cfg.Requests requests,
// whichever ends first, and reports every request.
func runMix(ctx context.Context, cfg mixConfig) (LoadReport, error) {
	base, err := url.Parse(cfg.URL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return LoadReport{}, fmt.Errorf("-url %q: need an http(s) URL such as http://127.0.0.1:7272", cfg.URL)
	}
	tr := cfg.Transport
	if tr == nil {
		t := newTransport(cfg.Clients)
		defer t.CloseIdleConnections()
		tr = t
	}
	hc := &http.Client{Transport: tr, Timeout: 60 * time.Second}
	rec := newRecorder()
	bud := &budget{max: cfg.Requests}
	run := newRunID()

	// The superuser logs in before the clock starts; its reads share one
	// session.
	var adm *adminSession
	if cfg.AdminEmail != "" {
		c := &apiClient{base: cfg.URL, http: hc, rec: newRecorder(), bud: &budget{}, ip: clientIP(1)}
		adm = &adminSession{c: c, email: cfg.AdminEmail, password: cfg.AdminPassword}
		if err := adm.login(ctx); err != nil {
			return LoadReport{}, fmt.Errorf("superuser %s: %w", cfg.AdminEmail, err)
		}
	} else if cfg.Log != nil {
		fmt.Fprintln(cfg.Log, "no superuser (-admin-email): the superuser reads are left out")
	}

	ctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	var ips atomic.Int64
	ips.Store(1)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range cfg.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := &virtualUser{
				c:    &apiClient{base: cfg.URL, http: hc, rec: rec, bud: bud},
				run:  run,
				id:   i,
				ips:  &ips,
				rng:  rand.New(rand.NewPCG(uint64(i), uint64(start.UnixNano()))),
				adm:  adm,
				pass: "load-pass-" + run + "-correct-horse",
			}
			u.loop(ctx)
		}()
	}
	wg.Wait()
	return rec.report(time.Since(start)), nil
}

// newRunID is a short random tag that keeps one run's accounts apart from
// another's on the same database.
func newRunID() string { return crand.Text()[:8] }

// adminSession is the superuser's one session, shared by the clients.
type adminSession struct {
	c               *apiClient
	email, password string
	mu              sync.Mutex
	access          string
	at              time.Time
}

func (a *adminSession) login(ctx context.Context) error {
	body := url.Values{"username": {a.email}, "password": {a.password}}.Encode()
	b, status, err := a.c.call(ctx, "admin_login", "POST", "/v2/login", "application/x-www-form-urlencoded", []byte(body), "", 200, 0)
	if err != nil {
		return err
	}
	if status != 200 {
		return fmt.Errorf("login answered %d", status)
	}
	p, err := parseTokens(b)
	if err != nil {
		return err
	}
	a.access, a.at = p.Access, time.Now()
	return nil
}

// token returns the superuser's access token, logging in again every 5
// minutes so that it never expires (the shortest -access-ttl is 1m is
// not supported by long runs: use the default).
func (a *adminSession) token(ctx context.Context) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if time.Since(a.at) > 5*time.Minute {
		a.login(ctx)
	}
	return a.access
}

// virtualUser is one client of the mix: an account of its own, which it
// replaces now and then by registering another (from a new address).
type virtualUser struct {
	c      *apiClient
	run    string
	id     int
	ips    *atomic.Int64
	rng    *rand.Rand
	adm    *adminSession
	pass   string
	n      int    // accounts registered so far
	email  string // the current account
	tokens tokenPair
	// wrongTried: the current account has had its one deliberate wrong
	// password (more would run into the per-account and per-IP limits,
	// which is not what the mix measures).
	wrongTried bool
}

// loop runs operations until the budget or the time is spent.
func (u *virtualUser) loop(ctx context.Context) {
	if u.newAccount(ctx) != nil {
		return
	}
	total := 0
	for _, op := range mixOps {
		if !op.admin || u.adm != nil {
			total += op.weight
		}
	}
	for {
		pick := u.rng.IntN(total)
		var name string
		for _, op := range mixOps {
			if op.admin && u.adm == nil {
				continue
			}
			if pick < op.weight {
				name = op.name
				break
			}
			pick -= op.weight
		}
		if err := u.do(ctx, name); errors.Is(err, errBudget) {
			return
		}
	}
}

// do runs one operation. A failed step that leaves the client without a
// session is followed by a fresh login.
func (u *virtualUser) do(ctx context.Context, op string) error {
	c := u.c
	switch op {
	case "get_user":
		_, _, err := c.call(ctx, "get_user", "GET", "/v2/user", "", nil, u.tokens.Access, 200, 0)
		return err
	case "refresh":
		b, status, err := c.call(ctx, "refresh", "POST", "/v2/refresh_access_token", "application/json",
			jsonBody(map[string]string{"refresh_token": u.tokens.Refresh}), "", 200, 0)
		if err != nil {
			return err
		}
		if status != 200 {
			return u.login(ctx)
		}
		p, err := parseTokens(b)
		if err != nil {
			return u.login(ctx)
		}
		u.tokens = p
		return nil
	case "put_user":
		_, _, err := c.call(ctx, "put_user", "PUT", "/v2/user", "application/json",
			jsonBody(map[string]string{"name": fmt.Sprintf("Load %d", u.rng.IntN(1000))}), u.tokens.Access, 200, 0)
		return err
	case "relogin":
		if _, _, err := c.call(ctx, "logout", "POST", "/v2/logout", "", nil, u.tokens.Access, 200, 0); err != nil {
			return err
		}
		return u.login(ctx)
	case "register":
		if _, _, err := c.call(ctx, "logout", "POST", "/v2/logout", "", nil, u.tokens.Access, 200, 0); err != nil {
			return err
		}
		return u.newAccount(ctx)
	case "login_wrong_password":
		if u.wrongTried {
			return u.do(ctx, "get_user")
		}
		u.wrongTried = true
		body := url.Values{"username": {u.email}, "password": {"not-" + u.pass}}.Encode()
		_, _, err := c.call(ctx, "login_wrong_password", "POST", "/v2/login", "application/x-www-form-urlencoded", []byte(body), "", 0, 401)
		return err
	case "users_overview":
		_, _, err := c.call(ctx, op, "GET", "/v2/users_overview?limit=20", "", nil, u.adm.token(ctx), 200, 0)
		return err
	case "logs":
		_, _, err := c.call(ctx, op, "GET", "/v2/logs?limit=20", "", nil, u.adm.token(ctx), 200, 0)
		return err
	case "analytics":
		_, _, err := c.call(ctx, op, "GET", "/v2/analytics", "", nil, u.adm.token(ctx), 200, 0)
		return err
	}
	return fmt.Errorf("unknown operation %q", op)
}

// newAccount registers a fresh account from a fresh address and logs in.
func (u *virtualUser) newAccount(ctx context.Context) error {
	u.n++
	u.c.ip = clientIP(u.ips.Add(1))
	u.email = fmt.Sprintf("load-%s-%d-%d@example.com", u.run, u.id, u.n)
	u.wrongTried = false
	_, status, err := u.c.call(ctx, "register", "POST", "/v2/register", "application/json",
		jsonBody(map[string]string{"email": u.email, "password": u.pass, "name": "Load"}), "", 200, 0)
	if err != nil {
		return err
	}
	if status != 200 {
		// Keep going with the account before, if there was one.
		return nil
	}
	return u.login(ctx)
}

// login logs the current account in.
func (u *virtualUser) login(ctx context.Context) error {
	body := url.Values{"username": {u.email}, "password": {u.pass}}.Encode()
	b, status, err := u.c.call(ctx, "login", "POST", "/v2/login", "application/x-www-form-urlencoded", []byte(body), "", 200, 0)
	if err != nil {
		return err
	}
	if status == 200 {
		if p, err := parseTokens(b); err == nil {
			u.tokens = p
		}
	}
	return nil
}
