package httpapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/gatehouse-go/gatehouse/audit"
	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/httpapi"
	"github.com/gatehouse-go/gatehouse/internal/testhash"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/memstore"
	"github.com/gatehouse-go/gatehouse/store/sqlstore"
)

// Passwords used throughout; long and unusual enough for the policy.
const (
	alicePW = "correct horse battery staple"
	bobPW   = "violet tangerine sundial"
	adminPW = "granite lighthouse orchestra"
	newPW   = "maple frost harbour lantern"
	resetPW = "quiet copper meadow engine"
)

// clock is a settable fake clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// flakyStore is memstore with switches that make some methods fail or
// hang, to reach the API's internal-error, fail-closed and deadline paths.
type flakyStore struct {
	*memstore.Store
	failLookup  atomic.Bool // UserByEmail fails
	failSession atomic.Bool // SessionUser fails

	// Blocking: the method waits until its context is done or release is
	// closed; blocked counts the calls that waited.
	blockLookup  atomic.Bool // UserByEmail
	blockSession atomic.Bool // SessionUser
	blockRuns    atomic.Bool // ListRuns
	blocked      atomic.Int32
	release      chan struct{}

	// readRuns, when set (before the first request), runs at the start
	// of each ListRuns and AggregateEntries: a slow audit store.
	readRuns func()
}

var errStoreDown = errors.New("flaky store: connection refused to db-internal-7:5432")

// wait blocks, when on, until ctx is done (returning its error) or the
// store is released.
func (s *flakyStore) wait(ctx context.Context, on *atomic.Bool) error {
	if !on.Load() {
		return nil
	}
	s.blocked.Add(1)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-s.release:
		return nil
	}
}

func (s *flakyStore) UserByEmail(ctx context.Context, email string) (*store.User, error) {
	if s.failLookup.Load() {
		return nil, errStoreDown
	}
	if err := s.wait(ctx, &s.blockLookup); err != nil {
		return nil, err
	}
	return s.Store.UserByEmail(ctx, email)
}

func (s *flakyStore) SessionUser(ctx context.Context, id string) (*store.Session, *store.User, error) {
	if s.failSession.Load() {
		return nil, nil, errStoreDown
	}
	if err := s.wait(ctx, &s.blockSession); err != nil {
		return nil, nil, err
	}
	return s.Store.SessionUser(ctx, id)
}

func (s *flakyStore) ListRuns(ctx context.Context, q store.RunQuery) (*store.RunPage, error) {
	if s.readRuns != nil {
		s.readRuns()
	}
	if err := s.wait(ctx, &s.blockRuns); err != nil {
		return nil, err
	}
	return s.Store.ListRuns(ctx, q)
}

func (s *flakyStore) AggregateEntries(ctx context.Context, a store.Aggregation) (*store.Aggregate, error) {
	if s.readRuns != nil {
		s.readRuns()
	}
	return s.Store.AggregateEntries(ctx, a)
}

// options vary an env.
type options struct {
	verify       bool // Verification.Required
	realHasher   bool // the Manager's default argon2id instead of fastHasher
	prefix       string
	baseURL      string // auth.Config.BaseURL
	uniform      bool   // auth.Config.Accounts.UniformRegistration
	disableRuns  bool   // no audit log (auth.Config.Audit and Config.Audit nil)
	factors      bool   // auth.Config.Factors on, with a random key
	passwordless bool   // auth.Config.Passwordless on
	passkeys     bool   // and passkeys, for https://login.example.com (implies factors)
	// superuserFactors sets auth.Config.Factors.RequireForSuperusers
	// (with factors).
	superuserFactors bool
	// sql, when set, runs the Manager over this store (sqlstore) instead of
	// the flaky memstore.
	sql store.Store
	// trusted is the middleware.Config.TrustedProxies of the application's
	// Guard, given to the API as httpapi.Config.Guard.
	trusted []netip.Prefix
	// guard, when set, is the rest of that Guard's Config (trusted
	// replaces its TrustedProxies when set).
	guard *middleware.Config
	// wrap, when set, wraps the server's handler (a deadline, a timeout).
	wrap func(http.Handler) http.Handler
	// routes, when set, adds the application's own routes to the mux the
	// API is mounted on.
	routes func(e *env, mux *http.ServeMux)
	// federation, when set, makes httpapi.Config.Federation from the
	// Manager and its store.
	federation func(tb testing.TB, m *auth.Manager, st store.Store) []httpapi.FederatedProvider
}

// env is a running server: the real handlers over a Manager and memstore,
// served by httptest over loopback.
type env struct {
	m     *auth.Manager
	rec   *audit.Recorder // nil with disableRuns
	store *flakyStore
	mail  *mail.Capture
	clock *clock
	srv   *httptest.Server
	base  string // srv.URL + prefix
	logs  *bytes.Buffer
	logMu *sync.Mutex
	// guard is the application's Guard, httpapi.Config.Guard (nil unless
	// options.trusted or options.guard is set).
	guard *middleware.Guard

	mu     sync.Mutex
	bodies [][]byte // every response body, for leak scans
}

// key signs the tokens of the tests' Managers; generated per process, never
// written down (SECURITY.md #31).
var key = func() []byte {
	k := make([]byte, 32)
	rand.Read(k)
	return k
}()

func newEnv(tb testing.TB, o options) *env {
	tb.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	e := &env{
		store: &flakyStore{Store: memstore.New(), release: make(chan struct{})},
		mail:  mail.NewCapture(),
		clock: &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)},
		logs:  &bytes.Buffer{},
		logMu: &sync.Mutex{},
	}
	logger := slog.New(slog.NewTextHandler(lockedWriter{e.logMu, e.logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var st store.Store = e.store
	if o.sql != nil {
		st = o.sql
	}
	cfg := auth.Config{
		Store:        st,
		Mailer:       e.mail,
		Tokens:       auth.TokenConfig{SigningKey: key},
		Verification: auth.VerificationConfig{Required: o.verify},
		Now:          e.clock.Now,
		Logger:       logger,
		BaseURL:      o.baseURL,
		Accounts:     auth.AccountConfig{UniformRegistration: o.uniform},
	}
	var runs store.Runs
	if !o.disableRuns {
		runs = e.store
		if rs, ok := st.(store.Runs); ok && o.sql != nil {
			runs = rs
		}
		rec, err := audit.New(audit.Config{Runs: runs, Now: e.clock.Now, Logger: logger})
		if err != nil {
			tb.Fatal(err)
		}
		e.rec = rec
		cfg.Audit = rec
	}
	if o.factors || o.passkeys {
		fk := make([]byte, 32)
		rand.Read(fk)
		cfg.Factors = auth.FactorConfig{Enabled: true, Keys: []auth.FactorKey{{ID: "test", Key: fk}}}
	}
	cfg.Factors.RequireForSuperusers = o.superuserFactors
	cfg.Passwordless.Enabled = o.passwordless
	if o.passkeys {
		cfg.Factors.Passkeys = auth.PasskeyConfig{RPID: "example.com", Origins: []string{passkeyOrigin}}
	}
	if !o.realHasher {
		cfg.Password.Hasher = testhash.Fast{}
		cfg.Password.LegacyHashers = []auth.Hasher{}
	}
	m, err := auth.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	e.m = m
	acfg := httpapi.Config{Prefix: o.prefix, Logger: logger}
	if o.trusted != nil || o.guard != nil {
		var gcfg middleware.Config
		if o.guard != nil {
			gcfg = *o.guard
		}
		if o.trusted != nil {
			gcfg.TrustedProxies = o.trusted
		}
		e.guard = middleware.New(m, gcfg)
		acfg.Guard = e.guard
	}
	if o.federation != nil {
		acfg.Federation = o.federation(tb, m, st)
	}
	if runs != nil {
		if acfg.Audit, err = audit.NewReader(m, runs); err != nil {
			tb.Fatal(err)
		}
	}
	api, err := httpapi.New(m, acfg)
	if err != nil {
		tb.Fatal(err)
	}
	var h http.Handler = api
	if o.routes != nil {
		mux := http.NewServeMux()
		api.Mount(mux)
		o.routes(e, mux)
		h = mux
	}
	if o.wrap != nil {
		h = o.wrap(h)
	}
	e.srv = httptest.NewServer(h)
	tb.Cleanup(func() {
		e.srv.Close()
		close(e.store.release)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := m.Flush(ctx); err != nil {
			tb.Errorf("flush: %v", err)
		}
	})
	prefix := o.prefix
	if prefix == "" {
		prefix = "/v2"
	}
	if prefix == "/" {
		prefix = ""
	}
	e.base = e.srv.URL + prefix
	return e
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (e *env) logText() string {
	e.logMu.Lock()
	defer e.logMu.Unlock()
	return e.logs.String()
}

// resp is a response with its body read.
type resp struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body into a generic value.
func (r resp) json(tb testing.TB) map[string]any {
	tb.Helper()
	var v map[string]any
	if err := json.Unmarshal(r.body, &v); err != nil {
		tb.Fatalf("body is not a JSON object: %v\n%s", err, r.body)
	}
	return v
}

// results returns the "results" object of a success.
func (r resp) results(tb testing.TB) map[string]any {
	tb.Helper()
	res, ok := r.json(tb)["results"].(map[string]any)
	if !ok {
		tb.Fatalf("no results object in %s", r.body)
	}
	return res
}

// req describes a request.
type req struct {
	method, path string
	body         string
	ctype        string // Content-Type; "" sends none
	token        string // bearer token; "" sends none
	header       http.Header
}

// jsonReq returns a JSON request with the Content-Type R2R clients send.
func jsonReq(method, path, body, token string) req {
	return req{method: method, path: path, body: body, ctype: "application/json", token: token}
}

// do sends q and returns the response, recording its body.
func (e *env) do(tb testing.TB, q req) resp {
	tb.Helper()
	var body io.Reader
	if q.body != "" {
		body = strings.NewReader(q.body)
	}
	r, err := http.NewRequest(q.method, e.base+q.path, body)
	if err != nil {
		tb.Fatal(err)
	}
	if q.ctype != "" {
		r.Header.Set("Content-Type", q.ctype)
	}
	if q.token != "" {
		r.Header.Set("Authorization", "Bearer "+q.token)
	}
	for k, vs := range q.header {
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	return e.send(tb, r)
}

func (e *env) send(tb testing.TB, r *http.Request) resp {
	tb.Helper()
	res, err := e.srv.Client().Do(r)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatal(err)
	}
	e.mu.Lock()
	e.bodies = append(e.bodies, b)
	e.mu.Unlock()
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

// wantError checks an error response: status, error_type, the shape and
// the headers every answer carries.
func wantError(tb testing.TB, r resp, status int, typ string) {
	tb.Helper()
	if r.status != status {
		tb.Fatalf("status = %d, want %d; body %s", r.status, status, r.body)
	}
	v := r.json(tb)
	detail, _ := v["detail"].(map[string]any)
	if v["error_type"] != typ || detail == nil || detail["error_type"] != typ {
		tb.Fatalf("error_type = %v / detail %v, want %q; body %s", v["error_type"], detail, typ, r.body)
	}
	msg, _ := v["message"].(string)
	if msg == "" || detail["message"] != msg || len(v) != 3 || len(detail) != 2 {
		tb.Fatalf("error body has the wrong shape: %s", r.body)
	}
	wantCommonHeaders(tb, r)
	if status == http.StatusUnauthorized && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
		tb.Fatalf("401 without WWW-Authenticate: Bearer (got %q)", r.header.Get("WWW-Authenticate"))
	}
}

// wantOK checks a success and returns its results.
func wantOK(tb testing.TB, r resp) map[string]any {
	tb.Helper()
	if r.status != http.StatusOK {
		tb.Fatalf("status = %d, want 200; body %s", r.status, r.body)
	}
	wantCommonHeaders(tb, r)
	return r.results(tb)
}

// wantCommonHeaders: SECURITY.md #66.
func wantCommonHeaders(tb testing.TB, r resp) {
	tb.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		tb.Fatalf("Content-Type = %q, want exactly application/json", ct)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		tb.Fatalf("Cache-Control = %q, want no-store", cc)
	}
}

// wantPage checks a paged success and returns its rows and total.
func wantPage(tb testing.TB, r resp) ([]map[string]any, int) {
	tb.Helper()
	if r.status != http.StatusOK {
		tb.Fatalf("status = %d, want 200; body %s", r.status, r.body)
	}
	wantCommonHeaders(tb, r)
	var page struct {
		Results      *[]map[string]any `json:"results"`
		TotalEntries *int              `json:"total_entries"`
	}
	if err := json.Unmarshal(r.body, &page); err != nil || page.Results == nil || page.TotalEntries == nil || len(r.json(tb)) != 2 {
		tb.Fatalf("not a page: %v: %s", err, r.body)
	}
	return *page.Results, *page.TotalEntries
}

// wantMessage checks a {"results":{"message": msg}} success.
func wantMessage(tb testing.TB, r resp, msg string) {
	tb.Helper()
	res := wantOK(tb, r)
	if res["message"] != msg || len(res) != 1 {
		tb.Fatalf("results = %v, want message %q", res, msg)
	}
}

// tokens is a login or refresh answer.
type tokens struct{ access, refresh string }

func wantTokens(tb testing.TB, r resp) tokens {
	tb.Helper()
	res := wantOK(tb, r)
	at, _ := res["access_token"].(map[string]any)
	rt, _ := res["refresh_token"].(map[string]any)
	if len(res) != 2 || at == nil || rt == nil || at["token_type"] != "access" || rt["token_type"] != "refresh" || len(at) != 2 || len(rt) != 2 {
		tb.Fatalf("token pair has the wrong shape: %s", r.body)
	}
	t := tokens{access: at["token"].(string), refresh: rt["token"].(string)}
	if t.access == "" || t.refresh == "" || t.access == t.refresh {
		tb.Fatalf("bad tokens in %s", r.body)
	}
	return t
}

// login logs in with the form R2R clients use.
func (e *env) login(tb testing.TB, email, pw string) tokens {
	tb.Helper()
	return wantTokens(tb, e.do(tb, formLogin(email, pw)))
}

func formLogin(email, pw string) req {
	return req{method: "POST", path: "/login", ctype: "application/x-www-form-urlencoded",
		body: "grant_type=password&username=" + urlEscape(email) + "&password=" + urlEscape(pw) + "&scope=&client_id=&client_secret="}
}

func urlEscape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' {
			b.WriteByte(c)
		} else {
			b.WriteString("%" + strings.ToUpper(hex.EncodeToString([]byte{c})))
		}
	}
	return b.String()
}

// quote renders s as a JSON string.
func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// register registers a user over HTTP and returns its id.
func (e *env) register(tb testing.TB, email, pw string) string {
	tb.Helper()
	res := wantOK(tb, e.do(tb, jsonReq("POST", "/register", `{"email":`+quote(email)+`,"password":`+quote(pw)+`}`, "")))
	return res["id"].(string)
}

// verified registers a user and verifies the address with the code from
// the mail (the env must require verification).
func (e *env) verified(tb testing.TB, email, pw string) string {
	tb.Helper()
	id := e.register(tb, email, pw)
	code := mailCode(tb, e.mailTo(tb, email, mail.KindVerifyEmail, 1))
	wantMessage(tb, e.do(tb, jsonReq("POST", "/verify_email", `{"email":`+quote(email)+`,"verification_code":`+quote(code)+`}`, "")), "Email verified successfully")
	return id
}

// superuser creates a superuser with the Manager and logs it in.
func (e *env) superuser(tb testing.TB, email string) (string, tokens) {
	tb.Helper()
	u, err := e.m.EnsureSuperuser(context.Background(), email, adminPW)
	if err != nil {
		tb.Fatal(err)
	}
	return u.ID, e.login(tb, email, adminPW)
}

// mailTo waits for the nth message of that kind to that address.
func (e *env) mailTo(tb testing.TB, to string, kind mail.Kind, nth int) mail.Message {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for n := 1; ; n++ {
		msgs, err := e.mail.Wait(ctx, n)
		if err != nil {
			tb.Fatalf("no message %d of kind %s to %s: %v", nth, kind, to, err)
		}
		var found []mail.Message
		for _, m := range msgs {
			if m.Kind == kind && len(m.To) == 1 && m.To[0].Email == to {
				found = append(found, m)
			}
		}
		if len(found) >= nth {
			return found[nth-1]
		}
	}
}

var (
	codeRE  = regexp.MustCompile(`Your code: (\d{6})\b`)
	tokenRE = regexp.MustCompile(`(?m)^([A-Za-z0-9_-]{43})$`)
)

func mailCode(tb testing.TB, m mail.Message) string {
	tb.Helper()
	s := codeRE.FindStringSubmatch(m.Text)
	if s == nil {
		tb.Fatalf("no code in mail:\n%s", m.Text)
	}
	return s[1]
}

func mailToken(tb testing.TB, m mail.Message) string {
	tb.Helper()
	s := tokenRE.FindStringSubmatch(m.Text)
	if s == nil {
		tb.Fatalf("no token in mail:\n%s", m.Text)
	}
	return s[1]
}

// identity returns the Manager's view of a logged-in caller.
func (e *env) identity(tb testing.TB, access string) *auth.Identity {
	tb.Helper()
	id, err := e.m.Authenticate(context.Background(), access)
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

// storedUser reads a user from the store.
func (e *env) storedUser(tb testing.TB, id string) *store.User {
	tb.Helper()
	u, err := e.store.UserByID(context.Background(), id)
	if err != nil {
		tb.Fatalf("user %s: %v", id, err)
	}
	return u
}

// openSQLite returns a store on a fresh SQLite file in a temporary
// directory, with the settings package sqlstore recommends.
func openSQLite(tb testing.TB) store.Store {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "gatehouse.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if err := sqlstore.Migrate(context.Background(), db, sqlstore.SQLite); err != nil {
		tb.Fatal(err)
	}
	s, err := sqlstore.New(db, sqlstore.SQLite)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}
