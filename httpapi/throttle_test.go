package httpapi_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/middleware"
)

// wantThrottled checks a 429: rate_limited, with Retry-After in whole
// seconds, at least 1.
func wantThrottled(tb testing.TB, r resp) int {
	tb.Helper()
	wantError(tb, r, http.StatusTooManyRequests, "rate_limited")
	secs, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || secs < 1 {
		tb.Fatalf("Retry-After = %q, want whole seconds ≥ 1", r.header.Get("Retry-After"))
	}
	return secs
}

// TestThrottledLoginIdentical: SECURITY.md #19 and §5 decision 7. After
// five failures, a known and an unknown email are throttled alike: the
// same 429, byte for byte apart from Date, with Retry-After in seconds;
// once that wait has passed, the next attempt is heard.
func TestThrottledLoginIdentical(t *testing.T) {
	e := newEnv(t, options{})
	e.register(t, "alice@example.com", alicePW)
	var dumps []string
	for _, email := range []string{"alice@example.com", "nobody@example.com"} {
		for range 5 {
			wantError(t, e.do(t, formLogin(email, "wrong password here")), 401, "invalid_credentials")
		}
		r := e.do(t, formLogin(email, "wrong password here"))
		if secs := wantThrottled(t, r); secs != 1 {
			t.Fatalf("%s: Retry-After %d, want 1 (1 s after the fifth failure)", email, secs)
		}
		// The right password does not get through either while throttled.
		wantThrottled(t, e.do(t, formLogin(email, alicePW)))
		dumps = append(dumps, rawResponse(t, e, formLogin(email, "wrong password here")))
	}
	if dumps[0] != dumps[1] {
		t.Fatalf("throttled answers differ:\n%s\n---\n%s", dumps[0], dumps[1])
	}
	if !strings.Contains(dumps[0], "429 Too Many Requests") || !strings.Contains(dumps[0], "Retry-After: 1\r\n") {
		t.Fatalf("unexpected answer:\n%s", dumps[0])
	}
	e.clock.Advance(time.Second)
	e.login(t, "alice@example.com", alicePW)
}

// TestIPSpray: SECURITY.md #21. One IP trying 200 different emails gets 429
// once its failures reach the per-IP limit (20 a minute), and a spoofed
// X-Forwarded-For, without trusted proxies, does not give it a fresh
// bucket.
func TestIPSpray(t *testing.T) {
	e := newEnv(t, options{})
	var refused, first int
	for i := range 200 {
		q := formLogin(fmt.Sprintf("user%03d@example.com", i), "wrong password here")
		if i%2 == 1 {
			q.header = http.Header{"X-Forwarded-For": {fmt.Sprintf("198.51.100.%d", i)}}
		}
		r := e.do(t, q)
		switch r.status {
		case 401:
			if refused > 0 {
				t.Fatalf("attempt %d heard after a refusal", i)
			}
		case 429:
			wantThrottled(t, r)
			if refused == 0 {
				first = i
			}
			refused++
		default:
			t.Fatalf("attempt %d: %d %s", i, r.status, r.body)
		}
	}
	if first != 20 || refused != 180 {
		t.Fatalf("first refusal at attempt %d, %d refused; want 20 and 180", first, refused)
	}
}

// TestTrustedProxies: SECURITY.md #21. Behind a trusted proxy, clients are
// told apart by X-Forwarded-For walked from the right: two clients are
// limited separately, a client cannot escape its bucket by prepending
// addresses, and sessions record the client's address.
func TestTrustedProxies(t *testing.T) {
	e := newEnv(t, options{trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	e.register(t, "alice@example.com", alicePW)
	from := func(q req, xff string) req {
		q.header = http.Header{"X-Forwarded-For": {xff}}
		return q
	}
	for i := range 20 {
		wantError(t, e.do(t, from(formLogin(fmt.Sprintf("user%d@example.com", i), "wrong password here"), "203.0.113.7")), 401, "invalid_credentials")
	}
	wantThrottled(t, e.do(t, from(formLogin("another@example.com", "wrong password here"), "203.0.113.7")))
	wantThrottled(t, e.do(t, from(formLogin("another@example.com", "wrong password here"), "192.0.2.1, 203.0.113.7")))
	// Another client behind the same proxy is heard.
	wantError(t, e.do(t, from(formLogin("another@example.com", "wrong password here"), "203.0.113.8")), 401, "invalid_credentials")
	tok := wantTokens(t, e.do(t, from(formLogin("alice@example.com", alicePW), "10.9.8.7, 203.0.113.8")))
	ss := sessionsOf(t, e, "/sessions", tok.access)
	if len(ss) != 1 || ss[0]["ip"] != "203.0.113.8" {
		t.Fatalf("session %v, want ip 203.0.113.8", ss)
	}
}

// TestOneProxySetting: SECURITY.md #21. The proxies are configured once,
// in the application's middleware.Config: its own routes and the API,
// given the same Guard, find the same client behind them. Without a Guard
// the API believes no X-Forwarded-For.
func TestOneProxySetting(t *testing.T) {
	whoami := func(e *env, mux *http.ServeMux) {
		mux.Handle("GET /whoami", e.guard.WithClient(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, _ := auth.ClientFromContext(r.Context())
			io.WriteString(w, c.IP.String())
		})))
	}
	e := newEnv(t, options{trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, routes: whoami})
	e.register(t, "alice@example.com", alicePW)
	xff := http.Header{"X-Forwarded-For": {"203.0.113.9"}}

	r, err := http.NewRequest("GET", e.srv.URL+"/whoami", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Header = xff.Clone()
	res, err := e.srv.Client().Do(r)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(b) != "203.0.113.9" {
		t.Fatalf("the application's route saw %q, want 203.0.113.9", b)
	}
	login := formLogin("alice@example.com", alicePW)
	login.header = xff.Clone()
	tok := wantTokens(t, e.do(t, login))
	if ss := sessionsOf(t, e, "/sessions", tok.access); len(ss) != 1 || ss[0]["ip"] != "203.0.113.9" {
		t.Fatalf("the API saw %v, want ip 203.0.113.9", ss)
	}

	plain := newEnv(t, options{})
	plain.register(t, "alice@example.com", alicePW)
	tok = wantTokens(t, plain.do(t, login))
	if ss := sessionsOf(t, plain, "/sessions", tok.access); len(ss) != 1 || ss[0]["ip"] != "127.0.0.1" {
		t.Fatalf("without a Guard the API saw %v, want the peer 127.0.0.1", ss)
	}
}

// TestGuardGivesOnlyTheClient: the application's Guard decides how clients
// are found, not how the API reads tokens or refuses: a cookie extractor
// and a custom error handler of the application's do not reach /v2.
func TestGuardGivesOnlyTheClient(t *testing.T) {
	e := newEnv(t, options{guard: &middleware.Config{
		Extractor: func(r *http.Request) (string, error) {
			if c, err := r.Cookie("at"); err == nil {
				return c.Value, nil
			}
			return "", middleware.ErrNoToken
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, status int, err error) { w.WriteHeader(http.StatusTeapot) },
	}})
	e.register(t, "alice@example.com", alicePW)
	tok := e.login(t, "alice@example.com", alicePW)
	q := jsonReq("GET", "/user", "", "")
	q.header = http.Header{"Cookie": {"at=" + tok.access}}
	r := e.do(t, q)
	wantError(t, r, 401, "invalid_token")
	if r.header.Get("WWW-Authenticate") != "Bearer" {
		t.Errorf("WWW-Authenticate %q", r.header.Get("WWW-Authenticate"))
	}
	if r := e.do(t, jsonReq("GET", "/user", "", tok.access)); r.status != 200 {
		t.Fatalf("bearer: %d %s", r.status, r.body)
	}
}

// TestResetMailThrottled: SECURITY.md #22. A second reset request within a
// minute gets the same 200, byte for byte, and sends no mail; a minute
// later mail goes out again.
func TestResetMailThrottled(t *testing.T) {
	e := newEnv(t, options{})
	e.register(t, "alice@example.com", alicePW)
	q := jsonReq("POST", "/request_password_reset", `{"email":"alice@example.com"}`, "")
	first := rawResponse(t, e, q)
	// The mail goes out in the background; let the first request be served
	// before the second, so that the two are counted in order.
	if err := e.m.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(30 * time.Second)
	second := rawResponse(t, e, q)
	if first != second || !strings.Contains(first, "200 OK") {
		t.Fatalf("answers differ:\n%s\n---\n%s", first, second)
	}
	if err := e.m.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := countMail(e, "alice@example.com", mail.KindResetPassword); n != 1 {
		t.Fatalf("%d reset mails, want 1", n)
	}
	e.clock.Advance(31 * time.Second)
	rawResponse(t, e, q)
	e.mailTo(t, "alice@example.com", mail.KindResetPassword, 2)
}

func countMail(e *env, to string, kind mail.Kind) int {
	n := 0
	for _, m := range e.mail.Messages() {
		if m.Kind == kind && m.To[0].Email == to {
			n++
		}
	}
	return n
}

// TestIPLimits: SECURITY.md #21. Registrations (10 an hour), reset requests
// (20 an hour) and verification attempts (30 an hour) from one IP are
// limited: the next one gets 429 with Retry-After.
func TestIPLimits(t *testing.T) {
	t.Run("registration", func(t *testing.T) {
		e := newEnv(t, options{})
		for i := range 10 {
			e.register(t, fmt.Sprintf("user%d@example.com", i), alicePW)
		}
		secs := wantThrottled(t, e.do(t, jsonReq("POST", "/register", `{"email":"late@example.com","password":`+quote(alicePW)+`}`, "")))
		if secs > 3600 {
			t.Fatalf("Retry-After %d beyond the hour", secs)
		}
	})
	t.Run("reset requests", func(t *testing.T) {
		e := newEnv(t, options{})
		for i := range 20 {
			wantOK(t, e.do(t, jsonReq("POST", "/request_password_reset", quote(fmt.Sprintf("user%d@example.com", i)), "")))
		}
		wantThrottled(t, e.do(t, jsonReq("POST", "/request_password_reset", quote("late@example.com"), "")))
	})
	t.Run("verification attempts", func(t *testing.T) {
		e := newEnv(t, options{verify: true})
		e.register(t, "alice@example.com", alicePW)
		var throttled bool
		for i := range 31 {
			r := e.do(t, jsonReq("POST", "/verify_email", `{"email":"alice@example.com","verification_code":"00000`+strconv.Itoa(i%10)+`"}`, ""))
			if r.status == 429 {
				wantThrottled(t, r)
				throttled = i == 30
				break
			}
			wantError(t, r, 400, "invalid_code")
		}
		if !throttled {
			t.Fatal("the 31st verification attempt was not throttled")
		}
	})
}

var linkRE = regexp.MustCompile(`https?://[^\s"'<>]+`)

// TestLinksUseBaseURL: SECURITY.md #49. A request with a forged Host and
// X-Forwarded-Host gets mail whose links all point at the configured
// BaseURL.
func TestLinksUseBaseURL(t *testing.T) {
	e := newEnv(t, options{verify: true, baseURL: "https://app.example.com"})
	forge := func(q req) *http.Request {
		r, err := http.NewRequest(q.method, e.base+q.path, strings.NewReader(q.body))
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("Content-Type", q.ctype)
		r.Host = "evil.example"
		r.Header.Set("X-Forwarded-Host", "evil.example")
		r.Header.Set("X-Forwarded-Proto", "http")
		r.Header.Set("Forwarded", "host=evil.example")
		return r
	}
	wantOK(t, e.send(t, forge(jsonReq("POST", "/register", `{"email":"alice@example.com","password":`+quote(alicePW)+`}`, ""))))
	wantOK(t, e.send(t, forge(jsonReq("POST", "/request_password_reset", quote("alice@example.com"), ""))))
	for _, kind := range []mail.Kind{mail.KindVerifyEmail, mail.KindResetPassword} {
		m := e.mailTo(t, "alice@example.com", kind, 1)
		links := linkRE.FindAllString(m.Text+" "+m.HTML, -1)
		if len(links) == 0 {
			t.Fatalf("%s: no link in\n%s", kind, m.Text)
		}
		for _, l := range links {
			u, err := url.Parse(l)
			if err != nil || u.Host != "app.example.com" || u.Scheme != "https" {
				t.Fatalf("%s: link %q does not use the BaseURL", kind, l)
			}
		}
		if strings.Contains(m.Text+m.HTML+m.Subject, "evil.example") {
			t.Fatalf("%s: the forged host reached the mail", kind)
		}
	}
}
