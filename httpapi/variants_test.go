package httpapi_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/httpapi"
	"github.com/gatehouse-go/gatehouse/internal/testhash"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/store/memstore"
)

// TestLoginVariants: every way R2R clients and OAuth2 tooling send a login.
func TestLoginVariants(t *testing.T) {
	e := newEnv(t, options{})
	e.register(t, "alice@example.com", alicePW)
	form := "application/x-www-form-urlencoded"
	tests := []struct {
		name  string
		ctype string
		body  string
	}{
		{"python SDK form", form, "username=alice%40example.com&password=" + urlEscape(alicePW)},
		{"OAuth2 password grant form", form, "grant_type=password&username=alice%40example.com&password=" + urlEscape(alicePW) + "&scope=a+b&client_id=x&client_secret=y"},
		{"form with charset", form + "; charset=UTF-8", "username=alice%40example.com&password=" + urlEscape(alicePW)},
		{"form without Content-Type", "", "username=alice%40example.com&password=" + urlEscape(alicePW)},
		{"form, email spelt differently", form, "username=+ALICE%40Example.COM&password=" + urlEscape(alicePW)},
		{"JSON with email", "application/json", `{"email":"alice@example.com","password":"` + alicePW + `"}`},
		{"JSON with username", "application/json", `{"username":"alice@example.com","password":"` + alicePW + `"}`},
		{"JSON with both, equal", "application/json", `{"username":"alice@example.com","email":"alice@example.com","password":"` + alicePW + `"}`},
		{"JSON with OAuth2 extras", "application/json", `{"grant_type":"password","username":"alice@example.com","password":"` + alicePW + `","scope":null,"client_id":7}`},
		{"JSON without Content-Type", "", `{"email":"alice@example.com","password":"` + alicePW + `"}`},
		{"JSON as text/plain", "text/plain", ` {"email":"alice@example.com","password":"` + alicePW + `"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantTokens(t, e.do(t, req{method: "POST", path: "/login", ctype: tt.ctype, body: tt.body}))
		})
	}
	bad := []struct {
		name  string
		ctype string
		body  string
		typ   string
	}{
		{"username twice", form, "username=alice%40example.com&username=bob%40example.com&password=x", "invalid_email"},
		{"unknown form field", form, "username=alice%40example.com&password=x&admin=1", "invalid_request"},
		{"invalid UTF-8 in the form", form, "username=alice%FF%40example.com&password=x", "invalid_email"},
		{"both, different", "application/json", `{"username":"alice@example.com","email":"bob@example.com","password":"x"}`, "invalid_request"},
		{"no password", "application/json", `{"email":"alice@example.com"}`, "invalid_request"},
		{"no username", form, "password=x", "invalid_request"},
		{"multipart", "multipart/form-data; boundary=x", "--x--", "invalid_request"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, e.do(t, req{method: "POST", path: "/login", ctype: tt.ctype, body: tt.body}), 422, tt.typ)
		})
	}
}

// TestRefreshVariants: the refresh token as a bare JSON string (Python
// SDK), as {"refresh_token"} (r2r-js), as a form field, and as the raw body
// with any content type; a bearer sent along is ignored.
func TestRefreshVariants(t *testing.T) {
	e := newEnv(t, options{})
	e.register(t, "alice@example.com", alicePW)
	tok := e.login(t, "alice@example.com", alicePW)
	variants := []struct {
		name  string
		ctype string
		body  func(string) string
	}{
		{"bare JSON string", "application/json", func(s string) string { return quote(s) }},
		{"bare JSON string with spaces", "application/json", func(s string) string { return "\n " + quote(s) + " \n" }},
		{"object", "application/json", func(s string) string { return `{"refresh_token":` + quote(s) + `}` }},
		{"form field", "application/x-www-form-urlencoded", func(s string) string { return "grant_type=refresh_token&refresh_token=" + s }},
		{"raw with form type", "application/x-www-form-urlencoded", func(s string) string { return s }},
		{"raw text/plain", "text/plain", func(s string) string { return s + "\n" }},
		{"raw JSON type", "application/json", func(s string) string { return s }},
		{"raw without type", "", func(s string) string { return s }},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			// An expired or stale bearer rides along (r2r-js sends one).
			tok = wantTokens(t, e.do(t, req{method: "POST", path: "/refresh_access_token", ctype: v.ctype, body: v.body(tok.refresh), token: "stale.bearer.token"}))
		})
	}
	wantOK(t, e.do(t, jsonReq("GET", "/user", "", tok.access)))
	for _, body := range []string{"", `""`, `{}`, `{"refresh_token":null}`, `"x" "y"`, `{"refresh_token":"x","other":1}`, "\xff\xfe"} {
		wantError(t, e.do(t, jsonReq("POST", "/refresh_access_token", body, "")), 422, "invalid_request")
	}
}

// TestVerifyVariants: verification with the email and the short code, with
// the long token alone in an object, and with the long token as a bare
// string (the Python SDK's form); a short code alone is refused.
func TestVerifyVariants(t *testing.T) {
	e := newEnv(t, options{verify: true})
	for i, body := range []func(email, code, token string) string{
		func(email, code, _ string) string {
			return `{"email":` + quote(email) + `,"verification_code":` + quote(code) + `}`
		},
		func(_, _, token string) string { return `{"verification_code":` + quote(token) + `}` },
		func(_, _, token string) string { return quote(token) },
	} {
		email := string(rune('a'+i)) + "@example.com"
		e.register(t, email, alicePW)
		m := e.mailTo(t, email, mail.KindVerifyEmail, 1)
		code, token := mailCode(t, m), mailToken(t, m)
		wantError(t, e.do(t, jsonReq("POST", "/verify_email", quote(code), "")), 400, "invalid_code")
		wantMessage(t, e.do(t, jsonReq("POST", "/verify_email", body(email, code, token), "")), "Email verified successfully")
		e.login(t, email, alicePW)
	}
}

// TestResetRequestVariants: the email as a bare string or {"email"}; an
// unknown address gets the same answer and no mail (SECURITY.md #15).
func TestResetRequestVariants(t *testing.T) {
	e := newEnv(t, options{})
	e.register(t, "alice@example.com", alicePW)
	var bodies []string
	for _, body := range []string{`"alice@example.com"`, `{"email":"alice@example.com"}`, `"nobody@example.com"`, `{"email":"nobody@example.com"}`} {
		r := e.do(t, jsonReq("POST", "/request_password_reset", body, ""))
		if err := e.m.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Minute) // past the per-account mail limit
		wantMessage(t, r, "If the email exists, a reset link has been sent")
		bodies = append(bodies, string(r.body))
	}
	if bodies[0] != bodies[2] || bodies[1] != bodies[3] {
		t.Fatalf("answers differ: %q", bodies)
	}
	if err := e.m.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, m := range e.mail.Messages() {
		if m.To[0].Email != "alice@example.com" {
			t.Fatalf("mail to %s", m.To[0].Email)
		}
	}
	if n := len(e.mail.Messages()); n != 2 {
		t.Fatalf("%d messages, want 2", n)
	}
}

// TestDeleteVariants: DELETE /user/{id} with and without a body, and the
// r2r-js form DELETE /user with the id in the body.
func TestDeleteVariants(t *testing.T) {
	e := newEnv(t, options{})
	_, admin := e.superuser(t, "admin@example.com")
	a := e.register(t, "a@example.com", alicePW)
	b := e.register(t, "b@example.com", alicePW)
	c := e.register(t, "c@example.com", alicePW)
	cTok := e.login(t, "c@example.com", alicePW)
	d := e.register(t, "d@example.com", alicePW)
	dTok := e.login(t, "d@example.com", alicePW)

	wantMessage(t, e.do(t, req{method: "DELETE", path: "/user/" + a, token: admin.access}), "User account "+a+" deleted successfully.")
	wantMessage(t, e.do(t, jsonReq("DELETE", "/user/"+strings.ToUpper(b), `{"delete_vector_data":false}`, admin.access)), "User account "+b+" deleted successfully.")
	wantMessage(t, e.do(t, jsonReq("DELETE", "/user", `{"user_id":"`+c+`","password":"`+alicePW+`"}`, cTok.access)), "User account "+c+" deleted successfully.")
	wantError(t, e.do(t, jsonReq("DELETE", "/user", `{"password":"`+alicePW+`"}`, dTok.access)), 422, "invalid_request")
	wantError(t, e.do(t, jsonReq("DELETE", "/user/"+d, `{"password":"`+alicePW+`","user_id":"`+d+`"}`, dTok.access)), 422, "invalid_request")
	wantMessage(t, e.do(t, jsonReq("DELETE", "/user/"+d, `{"password":"`+alicePW+`"}`, dTok.access)), "User account "+d+" deleted successfully.")
	if _, total := wantPage(t, e.do(t, jsonReq("GET", "/users_overview", "", admin.access))); total != 1 {
		t.Fatalf("%d users left, want 1", total)
	}
}

// TestOverviewQuery: the query forms R2R's Python SDK sends (repeated
// user_ids, an empty user_ids for None, args and kwargs on every request)
// and our keyset "after".
func TestOverviewQuery(t *testing.T) {
	e := newEnv(t, options{})
	_, admin := e.superuser(t, "admin@example.com")
	ids := map[string]string{}
	for _, email := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		ids[email] = e.register(t, email, alicePW)
	}
	tests := []struct {
		query  string
		emails []string
		total  int
	}{
		{"", []string{"a@example.com", "admin@example.com", "b@example.com", "c@example.com"}, 4},
		{"user_ids=&args=&kwargs=%7B%7D", []string{"a@example.com", "admin@example.com", "b@example.com", "c@example.com"}, 4},
		{"user_ids=" + ids["c@example.com"] + "&user_ids=" + strings.ToUpper(ids["a@example.com"]), []string{"a@example.com", "c@example.com"}, 2},
		{"user_ids=5f0c8a52-3c57-4d4b-9c51-2b1f6a1e0b7d", []string{}, 0},
		{"limit=2", []string{"a@example.com", "admin@example.com"}, 4},
		{"limit=2&offset=2", []string{"b@example.com", "c@example.com"}, 4},
		{"offset=10", []string{}, 4},
		{"after=admin%40example.com&limit=1", []string{"b@example.com"}, 4},
		{"offset=&limit=", []string{"a@example.com", "admin@example.com", "b@example.com", "c@example.com"}, 4},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			rows, total := wantPage(t, e.do(t, jsonReq("GET", "/users_overview?"+tt.query, "", admin.access)))
			got := []string{}
			for _, r := range rows {
				got = append(got, r["email"].(string))
			}
			if total != tt.total || strings.Join(got, ",") != strings.Join(tt.emails, ",") {
				t.Fatalf("got %v (total %d), want %v (total %d)", got, total, tt.emails, tt.total)
			}
		})
	}
}

// TestMount: the API next to an application's own routes on one mux, at
// the default prefix, a custom one and the root; and Config validation.
func TestMount(t *testing.T) {
	newManager := func(t *testing.T) *auth.Manager {
		m, err := auth.New(auth.Config{
			Store:    memstore.New(),
			Mailer:   mail.Discard{},
			Tokens:   auth.TokenConfig{SigningKey: key},
			Password: auth.PasswordConfig{Hasher: testhash.Fast{}, LegacyHashers: []auth.Hasher{}},
		})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	app := func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("app " + r.URL.Path)) }
	get := func(t *testing.T, srv *httptest.Server, path string) (int, string) {
		t.Helper()
		res, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return res.StatusCode, string(b)
	}
	const health = `{"results":{"response":"ok"}}`
	tests := []struct {
		name   string
		prefix string
		want   map[string]string // path -> body
	}{
		{"default prefix", "", map[string]string{
			"/v2/health": health, "/": "app /", "/v2/app-route": "app /v2/app-route", "/v3/health": "app /v3/health",
		}},
		{"custom prefix", "/api/auth", map[string]string{
			"/api/auth/health": health, "/v2/health": "app /v2/health",
		}},
		{"root", "/", map[string]string{
			"/health": health, "/v2/app-route": "app /v2/app-route",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api, err := httpapi.New(newManager(t), httpapi.Config{Prefix: tt.prefix})
			if err != nil {
				t.Fatal(err)
			}
			mux := http.NewServeMux()
			if tt.prefix == "/" {
				mux.HandleFunc("GET /v2/app-route", app)
			} else {
				mux.HandleFunc("/", app)
				mux.HandleFunc("GET /v2/app-route", app)
			}
			api.Mount(mux)
			srv := httptest.NewServer(mux)
			defer srv.Close()
			for path, want := range tt.want {
				if code, body := get(t, srv, path); code != 200 || body != want {
					t.Errorf("GET %s = %d %q, want %q", path, code, body, want)
				}
			}
		})
	}

	t.Run("invalid config", func(t *testing.T) {
		m := newManager(t)
		for _, cfg := range []httpapi.Config{
			{Prefix: "v2"}, {Prefix: "/v2/"}, {Prefix: "/v2//x"}, {Prefix: "/{id}"}, {Prefix: "/a b"}, {Prefix: "/../x"},
			{MaxBodyBytes: -1},
		} {
			if _, err := httpapi.New(m, cfg); err == nil {
				t.Errorf("New accepted %+v", cfg)
			}
		}
		if _, err := httpapi.New(nil, httpapi.Config{}); err == nil {
			t.Error("New accepted a nil Manager")
		}
	})

	t.Run("custom body cap", func(t *testing.T) {
		api, err := httpapi.New(newManager(t), httpapi.Config{MaxBodyBytes: 16})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(api)
		defer srv.Close()
		res, err := srv.Client().Post(srv.URL+"/v2/register", "application/json", strings.NewReader(`{"email":"a@example.com"}`))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 413 {
			t.Fatalf("status %d, want 413", res.StatusCode)
		}
	})

	t.Run("client from a proxy-aware middleware is kept", func(t *testing.T) {
		var seen []auth.Event
		m, err := auth.New(auth.Config{
			Store:    memstore.New(),
			Mailer:   mail.Discard{},
			Tokens:   auth.TokenConfig{SigningKey: key},
			Password: auth.PasswordConfig{Hasher: testhash.Fast{}, LegacyHashers: []auth.Hasher{}},
			OnEvent:  func(_ context.Context, e auth.Event) { seen = append(seen, e) },
		})
		if err != nil {
			t.Fatal(err)
		}
		api, _ := httpapi.New(m, httpapi.Config{})
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c := auth.Client{IP: netip.MustParseAddr("203.0.113.9"), UserAgent: "proxy-set"}
			api.ServeHTTP(w, r.WithContext(auth.ContextWithClient(r.Context(), c)))
		})
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", "/v2/login", strings.NewReader("username=x%40example.com&password=y")))
		if rec.Code != 401 || len(seen) != 1 || seen[0].Client.IP.String() != "203.0.113.9" || seen[0].Client.UserAgent != "proxy-set" {
			t.Fatalf("code %d, events %+v", rec.Code, seen)
		}
	})
}

// TestClientRecorded: without a client in the context, the API records
// the connection's address and User-Agent for the Manager's sessions.
func TestClientRecorded(t *testing.T) {
	e := newEnv(t, options{})
	id := e.register(t, "alice@example.com", alicePW)
	q := formLogin("alice@example.com", alicePW)
	q.header = http.Header{"User-Agent": {"r2r-test/0.3"}, "X-Forwarded-For": {"198.51.100.7"}}
	wantTokens(t, e.do(t, q))
	ss, err := e.store.UserSessions(context.Background(), id, e.clock.Now())
	if err != nil || len(ss) != 1 {
		t.Fatalf("sessions %v, %v", ss, err)
	}
	if ss[0].IP != "127.0.0.1" || ss[0].UserAgent != "r2r-test/0.3" {
		t.Fatalf("session client = %q %q", ss[0].IP, ss[0].UserAgent)
	}
}

// TestCursorParams: the keyset cursors ("after" of /users_overview,
// "before" of /logs) refuse a repeated, over-long or non-UTF-8 value with
// 422 and a message naming the parameter; nothing else is read.
func TestCursorParams(t *testing.T) {
	e := newEnv(t, options{})
	_, admin := e.superuser(t, "admin@example.com")
	long := strings.Repeat("a", 2000)
	for _, tc := range []struct{ path, msg string }{
		{"/users_overview?after=a%40example.com&after=b%40example.com", `Query parameter "after" must be given once`},
		{"/users_overview?after=%ff%40example.com", `Query parameter "after" must be an email address`},
		{"/users_overview?after=" + long, `Query parameter "after" must be an email address`},
		{"/logs?before=x&before=y", `Query parameter "before" must be given once`},
		{"/logs?before=%ff", `Query parameter "before" must be a run ID`},
		{"/logs?before=" + long, `Query parameter "before" must be a run ID`},
	} {
		t.Run(tc.path[:min(len(tc.path), 60)], func(t *testing.T) {
			r := e.do(t, jsonReq("GET", tc.path, "", admin.access))
			wantError(t, r, 422, "invalid_request")
			if msg, _ := r.json(t)["message"].(string); msg != tc.msg {
				t.Fatalf("message %q, want %q", msg, tc.msg)
			}
		})
	}
}
