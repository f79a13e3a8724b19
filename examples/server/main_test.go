package main_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	netmail "net/mail"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/internal/skipnote"
)

// server is a running example server.
type server struct {
	cmd    *exec.Cmd
	url    string
	client *http.Client
	stdout []string // lines printed before "listening on"
	stderr *syncBuffer
	exited chan error
}

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestMain removes the server binary that buildServer compiled and sums
// up the tests skipped for want of a tool or server.
func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	skipnote.Report("examples/server")
	os.Exit(code)
}

// built is the server binary of this test run, compiled by the first
// buildServer call into a directory of its own that TestMain removes.
var built struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

// buildServer compiles the example server once per test binary and
// returns its path. The build inherits the go command's environment, so
// under GOFLAGS=-race (as in CI) the server runs with the race detector
// too. Tests only run the binary; none may change or remove it.
func buildServer(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		built.dir, built.err = os.MkdirTemp("", "gatehouse-server-test-")
		if built.err != nil {
			return
		}
		built.bin = filepath.Join(built.dir, "server")
		if out, err := exec.Command("go", "build", "-o", built.bin, ".").CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin
}

// start runs the server on a free port and waits until it says it listens.
//
// A test that runs the server calls t.Parallel when everything it uses is
// its own: a temporary directory, a port the kernel picks (-addr
// 127.0.0.1:0), a schema or database from testdb, and on the shared Redis
// the counters of accounts and addresses no other test uses there.
// TestLoginFloodGets503 does not, because whether its logins get 503
// depends on how busy the machine is; it runs while no other test of this
// package does.
func start(t *testing.T, bin string, env []string, args ...string) *server {
	t.Helper()
	return startWith(t, bin, http.DefaultClient, env, args...)
}

// startWith is start with the client that calls the server.
func startWith(t *testing.T, bin string, client *http.Client, env []string, args ...string) *server {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, client: client, stderr: &syncBuffer{}, exited: make(chan error, 1)}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		line := lines.Text()
		if addr, ok := strings.CutPrefix(line, "listening on "); ok {
			s.url = addr
			break
		}
		s.stdout = append(s.stdout, line)
	}
	if s.url == "" {
		cmd.Wait()
		t.Fatalf("the server exited without listening; it printed %q and logged:\n%s", s.stdout, s.stderr)
	}
	go io.Copy(io.Discard, stdout)
	go func() { s.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-s.exited
	})
	return s
}

// exit is how a run of the server that was expected to fail ended.
type exit struct {
	code           int
	stdout, stderr string
}

// runToExit runs the server with args as given (no -addr added) and waits
// for it to exit, which it must do by itself within a minute.
func runToExit(t *testing.T, bin string, env []string, args ...string) exit {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("%v: %v", args, err)
	}
	if ctx.Err() != nil {
		t.Fatalf("%v: the server did not exit by itself; it printed %q", args, stdout.String())
	}
	return exit{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
}

// stop sends SIGINT and waits for a clean exit.
func (s *server) stop(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.exited:
		if err != nil {
			t.Fatalf("the server did not exit cleanly: %v", err)
		}
		s.exited <- nil
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not stop after SIGINT")
	}
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
}

func (s *server) call(t *testing.T, method, path, contentType, body, bearer string) reply {
	t.Helper()
	req, err := http.NewRequest(method, s.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	return s.callReq(t, req)
}

// callReq sends req and decodes the JSON answer.
func (s *server) callReq(t *testing.T, req *http.Request) reply {
	t.Helper()
	method, path := req.Method, req.URL.Path
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r reply
	r.status, r.header = resp.StatusCode, resp.Header
	if err := json.NewDecoder(resp.Body).Decode(&r.body); err != nil {
		t.Fatalf("%s %s: %d, body is not JSON: %v", method, path, resp.StatusCode, err)
	}
	return r
}

func (s *server) want(t *testing.T, r reply, status int) map[string]any {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %v", r.status, status, r.body)
	}
	res, _ := r.body["results"].(map[string]any)
	return res
}

// registerUser registers userEmail with userPW and returns the new user.
func (s *server) registerUser(t *testing.T) map[string]any {
	t.Helper()
	return s.want(t, s.call(t, "POST", "/v2/register", "application/json", `{"email":"`+userEmail+`","password":"`+userPW+`"}`, ""), 200)
}

// login logs in with the form R2R's clients send and returns the tokens.
func (s *server) login(t *testing.T, email, password string) (access, refresh string) {
	t.Helper()
	form := url.Values{"username": {email}, "password": {password}, "grant_type": {"password"}}
	res := s.want(t, s.call(t, "POST", "/v2/login", "application/x-www-form-urlencoded", form.Encode(), ""), 200)
	return res["access_token"].(map[string]any)["token"].(string), res["refresh_token"].(map[string]any)["token"].(string)
}

// mailText returns the decoded text part of the newest .eml file in dir.
func mailText(t *testing.T, dir string) string {
	t.Helper()
	var files []string
	for range 100 {
		files, _ = filepath.Glob(filepath.Join(dir, "*.eml"))
		if len(files) > 0 {
			break
		}
		time.Sleep(100 * time.Millisecond) // mail is written in the background
	}
	if len(files) == 0 {
		t.Fatalf("no .eml file in %s", dir)
	}
	_, text := readMail(t, files[len(files)-1])
	return text
}

// readMail returns the recipient and the decoded text part of an .eml file.
func readMail(t *testing.T, file string) (to, text string) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	msg, err := netmail.ReadMessage(f)
	if err != nil {
		t.Fatal(err)
	}
	to = msg.Header.Get("To")
	if a, err := netmail.ParseAddress(to); err == nil {
		to = a.Address
	}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(mediaType, "multipart/") {
		return to, decodePart(t, msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			t.Fatalf("%s: no text part: %v", file, err)
		}
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/plain") {
			// multipart.Reader decodes quoted-printable parts itself and
			// drops the header.
			return to, decodePart(t, p.Header.Get("Content-Transfer-Encoding"), p)
		}
	}
}

func decodePart(t *testing.T, cte string, r io.Reader) string {
	t.Helper()
	if strings.EqualFold(cte, "quoted-printable") {
		r = quotedprintable.NewReader(r)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// mailLink waits for a mail to the address to that holds a link to page
// ("/verify-email") and returns the newest such link.
func mailLink(t *testing.T, dir, to, page string) string {
	t.Helper()
	re := regexp.MustCompile(`https?://[^\s"<>]+` + regexp.QuoteMeta(page) + `\?token=[A-Za-z0-9_-]+`)
	for range 100 {
		files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
		for i := len(files) - 1; i >= 0; i-- {
			rcpt, text := readMail(t, files[i])
			if !strings.EqualFold(rcpt, to) {
				continue
			}
			if link := re.FindString(text); link != "" {
				return link
			}
		}
		time.Sleep(100 * time.Millisecond) // mail is written in the background
	}
	t.Fatalf("no mail to %s in %s links to %s", to, dir, page)
	return ""
}

const (
	adminEmail = "root@example.com"
	adminPW    = "a root passphrase for tests"
	userEmail  = "ada@example.com"
	userPW     = "correct horse battery staple"
)

// TestServerLifecycle builds and starts the real server on a free port
// with a temporary database and mail folder and drives one full lifecycle
// over HTTP, then restarts it on the same database.
func TestServerLifecycle(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	t.Parallel()
	bin := buildServer(t)
	dir := t.TempDir()
	db, maildir := filepath.Join(dir, "gh.db"), filepath.Join(dir, "mail")
	env := []string{"GATEHOUSE_ADMIN_EMAIL=" + adminEmail, "GATEHOUSE_ADMIN_PASSWORD=" + adminPW}
	s := start(t, bin, env, "-db", db, "-maildir", maildir, "-require-email-verification")

	s.want(t, s.call(t, "GET", "/v2/health", "", "", ""), 200)
	user := s.registerUser(t)
	if user["email"] != userEmail || user["is_verified"] != false {
		t.Fatalf("registered user %v", user)
	}
	s.want(t, s.call(t, "POST", "/v2/login", "application/x-www-form-urlencoded", "username="+url.QueryEscape(userEmail)+"&password="+url.QueryEscape(userPW), ""), 401)

	code := regexp.MustCompile(`\b[0-9]{6}\b`).FindString(mailText(t, maildir))
	if code == "" {
		t.Fatal("no code in the verification mail")
	}
	s.want(t, s.call(t, "POST", "/v2/verify_email", "application/json", `{"email":"`+userEmail+`","verification_code":"`+code+`"}`, ""), 200)

	access, refresh := s.login(t, userEmail, userPW)
	me := s.want(t, s.call(t, "GET", "/v2/user", "application/json", "", access), 200)
	if me["email"] != userEmail || me["is_verified"] != true {
		t.Fatalf("GET /v2/user: %v", me)
	}
	pair := s.want(t, s.call(t, "POST", "/v2/refresh_access_token", "application/json", `"`+refresh+`"`, ""), 200)
	newAccess := pair["access_token"].(map[string]any)["token"].(string)
	s.want(t, s.call(t, "POST", "/v2/refresh_access_token", "application/json", `"`+refresh+`"`, ""), 401)
	// The reuse revoked the session: the new access token is dead too.
	s.want(t, s.call(t, "GET", "/v2/user", "", "", newAccess), 401)

	adminAccess, _ := s.login(t, adminEmail, adminPW)
	overview := s.call(t, "GET", "/v2/users_overview", "application/json", "", adminAccess)
	s.want(t, overview, 200)
	if overview.body["total_entries"] != float64(2) {
		t.Fatalf("users_overview total %v", overview.body["total_entries"])
	}

	access, _ = s.login(t, userEmail, userPW)
	s.want(t, s.call(t, "POST", "/v2/logout", "application/json", "", access), 200)
	s.want(t, s.call(t, "GET", "/v2/user", "", "", access), 401)
	s.stop(t)

	// A restart keeps the data and the signing key: the admin's session
	// from before is still valid.
	key, err := os.Stat(db + ".key")
	if err != nil || key.Mode().Perm() != 0o600 {
		t.Fatalf("signing key file: %v, mode %v", err, key.Mode())
	}
	s = start(t, bin, env, "-db", db, "-maildir", maildir)
	s.want(t, s.call(t, "GET", "/v2/user", "", "", adminAccess), 200)
	s.stop(t)
}

// TestServerRandomAdmin: without GATEHOUSE_ADMIN_*, an admin with a random
// password is created and printed once; the next start prints nothing.
func TestServerRandomAdmin(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	t.Parallel()
	bin := buildServer(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "gh.db")
	s := start(t, bin, nil, "-db", db, "-maildir", filepath.Join(dir, "mail"))
	re := regexp.MustCompile(`^created superuser (\S+) with password (\S+) `)
	var email, password string
	for _, l := range s.stdout {
		if m := re.FindStringSubmatch(l); m != nil {
			email, password = m[1], m[2]
		}
	}
	if email == "" || len(password) < 20 {
		t.Fatalf("no admin password printed: %q", s.stdout)
	}
	access, _ := s.login(t, email, password)
	res := s.want(t, s.call(t, "GET", "/v2/user", "", "", access), 200)
	if res["is_superuser"] != true {
		t.Fatalf("the printed admin is not a superuser: %v", res)
	}
	s.stop(t)
	s = start(t, bin, nil, "-db", db, "-maildir", filepath.Join(dir, "mail"))
	if len(s.stdout) != 0 {
		t.Fatalf("the second start printed %q", s.stdout)
	}
	s.login(t, email, password)
	s.stop(t)
}

func TestDatabaseFileIsPrivate(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	t.Parallel()
	bin := buildServer(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "gh.db")
	s := start(t, bin, nil, "-db", db, "-maildir", filepath.Join(dir, "mail"))
	s.stop(t)
	for _, p := range []string{db, db + ".key"} {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v, mode %v; want 0600 (it holds password hashes or the signing key)", p, err, fi.Mode())
		}
	}
}

// TestServerTrustedProxies: -trusted-proxies is the one setting for the
// client's address behind a proxy; the API's sessions show the address
// from X-Forwarded-For. A bad value is refused naming the flag.
func TestServerTrustedProxies(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	t.Parallel()
	bin := buildServer(t)
	dir := t.TempDir()
	out, err := exec.Command(bin, "-db", filepath.Join(dir, "bad.db"), "-trusted-proxies", "10.0.0.0/8,nonsense").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "-trusted-proxies") || !strings.Contains(string(out), `"nonsense"`) {
		t.Fatalf("a bad -trusted-proxies: %v\n%s", err, out)
	}

	s := start(t, bin, nil, "-db", filepath.Join(dir, "gh.db"), "-maildir", filepath.Join(dir, "mail"), "-trusted-proxies", "10.0.0.0/8, 127.0.0.1")
	s.registerUser(t)
	form := url.Values{"username": {userEmail}, "password": {userPW}}
	req, err := http.NewRequest("POST", s.url+"/v2/login", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var login struct {
		Results struct {
			AccessToken struct{ Token string } `json:"access_token"`
		}
	}
	err = json.NewDecoder(resp.Body).Decode(&login)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("login: %d %v", resp.StatusCode, err)
	}
	r := s.call(t, "GET", "/v2/sessions", "", "", login.Results.AccessToken.Token)
	sessions, _ := r.body["results"].([]any)
	if r.status != 200 || len(sessions) != 1 || sessions[0].(map[string]any)["ip"] != "203.0.113.9" {
		t.Fatalf("sessions: %d %v, want one from 203.0.113.9", r.status, r.body)
	}
	s.stop(t)
}
