package httpapi_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httputil"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-go/gatehouse/auth"
)

// TestLoginFailuresIdentical: SECURITY.md #13. Unknown email, wrong
// password, and a disabled or unverified account with a wrong password
// give byte-identical responses apart from Date, over the form and JSON.
func TestLoginFailuresIdentical(t *testing.T) {
	e := newEnv(t, options{verify: true})
	e.verified(t, "alice@example.com", alicePW)
	e.register(t, "dave@example.com", alicePW) // unverified
	carolID := e.verified(t, "carol@example.com", alicePW)
	_, admin := e.superuser(t, "admin@example.com")
	no := false
	if _, err := e.m.UpdateProfile(context.Background(), e.identity(t, admin.access), auth.ProfileUpdate{UserID: carolID, IsActive: &no}); err != nil {
		t.Fatal(err)
	}
	for _, form := range []bool{true, false} {
		var dumps []string
		for _, email := range []string{"nobody@example.com", "alice@example.com", "carol@example.com", "dave@example.com"} {
			q := formLogin(email, "wrong password here")
			if !form {
				q = jsonReq("POST", "/login", `{"username":`+quote(email)+`,"password":"wrong password here"}`, "")
			}
			dumps = append(dumps, rawResponse(t, e, q))
		}
		for i, d := range dumps[1:] {
			if d != dumps[0] {
				t.Fatalf("form=%v: response %d differs from the unknown-email one:\n%s\n---\n%s", form, i+1, dumps[0], d)
			}
		}
		if !strings.Contains(dumps[0], "401 Unauthorized") || !strings.Contains(dumps[0], `"invalid_credentials"`) {
			t.Fatalf("unexpected response:\n%s", dumps[0])
		}
	}
}

// rawResponse returns the response to q as bytes on the wire, without the
// Date header.
func rawResponse(t *testing.T, e *env, q req) string {
	t.Helper()
	r, _ := http.NewRequest(q.method, e.base+q.path, strings.NewReader(q.body))
	r.Header.Set("Content-Type", q.ctype)
	res, err := e.srv.Client().Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	res.Header.Del("Date")
	b, err := httputil.DumpResponse(res, true)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestStrictInput: SECURITY.md #68 and #50.
func TestStrictInput(t *testing.T) {
	e := newEnv(t, options{})
	e.register(t, "victim@example.com", alicePW)
	tok := e.login(t, "victim@example.com", alicePW)

	t.Run("10 MB body is 413, with and without Content-Length", func(t *testing.T) {
		body := `{"email":"x@example.com","password":"` + strings.Repeat("a", 10<<20) + `"}`
		for _, known := range []bool{true, false} {
			var rd io.Reader = strings.NewReader(body)
			if !known {
				rd = io.MultiReader(rd) // hides the length: chunked
			}
			r, _ := http.NewRequest("POST", e.base+"/register", rd)
			r.Header.Set("Content-Type", "application/json")
			if known != (r.ContentLength > 0) {
				t.Fatalf("ContentLength = %d", r.ContentLength)
			}
			wantError(t, e.send(t, r), 413, "body_too_large")
		}
	})

	email255 := strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 61) + ".example"
	if len(email255) < 255 {
		t.Fatalf("test email is %d bytes", len(email255))
	}
	emails := []struct {
		name, body string
	}{
		{"255-byte email", `{"email":` + quote(email255) + `,"password":"` + alicePW + `"}`},
		{"NUL in email", `{"email":"a\u0000@b.example","password":"` + alicePW + `"}`},
		{"invalid UTF-8 in email", "{\"email\":\"a\xff@b.example\",\"password\":\"" + alicePW + "\"}"},
		{"lone surrogate in email", `{"email":"a\ud800@b.example","password":"` + alicePW + `"}`},
		{"array for the email (GitLab CVE-2023-7028)", `{"email":["victim@example.com","attacker@example.com"],"password":"` + alicePW + `"}`},
		{"object for the email", `{"email":{"$ne":null},"password":"` + alicePW + `"}`},
	}
	for _, tt := range emails {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, e.do(t, jsonReq("POST", "/register", tt.body, "")), 422, "invalid_email")
		})
	}

	t.Run("array for the reset email sends nothing (#50)", func(t *testing.T) {
		for _, body := range []string{
			`{"email":["victim@example.com","attacker@example.com"]}`,
			`["victim@example.com","attacker@example.com"]`,
			`"victim@example.com" "attacker@example.com"`,
		} {
			r := e.do(t, jsonReq("POST", "/request_password_reset", body, ""))
			if r.status != 422 {
				t.Fatalf("%s: status %d: %s", body, r.status, r.body)
			}
		}
		if err := e.m.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		if n := len(e.mail.Messages()); n != 0 {
			t.Fatalf("%d messages sent", n)
		}
	})

	others := []struct {
		name, method, path, body string
	}{
		{"invalid UTF-8 in a password", "POST", "/register", "{\"email\":\"x@example.com\",\"password\":\"pass\xc3word-long-enough\"}"},
		{"lone low surrogate in a password", "POST", "/register", `{"email":"x@example.com","password":"abc\udc00defghij"}`},
		{"reversed surrogates", "POST", "/register", `{"email":"x@example.com","password":"abc\udc00\ud800defghij"}`},
		{"trailing garbage", "POST", "/register", `{"email":"x@example.com","password":"` + alicePW + `"}x`},
		{"array for a password", "POST", "/change_password", `{"current_password":["a","b"],"new_password":"x"}`},
		{"array for a code", "POST", "/verify_email", `{"verification_code":["123456","654321"]}`},
		{"number for a token", "POST", "/reset_password", `{"reset_token":1,"new_password":"x"}`},
		{"string for a bool", "PUT", "/user", `{"is_superuser":"false"}`},
		{"number for a uuid", "PUT", "/user", `{"user_id":7}`},
		{"bad uuid", "PUT", "/user", `{"user_id":"7"}`},
	}
	for _, tt := range others {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, e.do(t, jsonReq(tt.method, tt.path, tt.body, tok.access)), 422, "invalid_request")
		})
	}

	t.Run("valid surrogate pairs and escapes pass", func(t *testing.T) {
		body := `{"email":"emoji@example.com","password":"p\u00e4ss w\"rd \\u \ud83d\ude00 long"}`
		wantOK(t, e.do(t, jsonReq("POST", "/register", body, "")))
		wantOK(t, e.do(t, req{method: "POST", path: "/login", ctype: "application/json",
			body: `{"username":"emoji@example.com","password":"päss w\"rd \\u 😀 long"}`}))
	})
}

// TestPutUserAllowlist: SECURITY.md #55. Fields outside the allowlist are
// refused with 422 and change nothing, not even the fields beside them.
func TestPutUserAllowlist(t *testing.T) {
	e := newEnv(t, options{})
	id := e.register(t, "alice@example.com", alicePW)
	tok := e.login(t, "alice@example.com", alicePW)
	before := e.storedUser(t, id)
	for _, f := range []string{"is_verified", "password", "hashed_password", "password_hash", "id", "created_at", "tokens_valid_after", "Name", "collection_ids"} {
		t.Run(f, func(t *testing.T) {
			r := e.do(t, jsonReq("PUT", "/user", `{"name":"Mallory",`+quote(f)+`:true}`, tok.access))
			wantError(t, r, 422, "invalid_request")
			if msg := r.json(t)["message"].(string); !strings.Contains(msg, f) {
				t.Errorf("message %q does not name the field", msg)
			}
		})
	}
	if after := e.storedUser(t, id); *after != *before {
		t.Fatalf("the user changed:\n%+v\n%+v", before, after)
	}
}

// TestIDOR: SECURITY.md #57. A user naming another user's id is refused
// and the other user is untouched.
func TestIDOR(t *testing.T) {
	e := newEnv(t, options{})
	e.register(t, "alice@example.com", alicePW)
	bobID := e.register(t, "bob@example.com", bobPW)
	alice := e.login(t, "alice@example.com", alicePW)
	bob := e.login(t, "bob@example.com", bobPW)
	before := e.storedUser(t, bobID)
	for _, q := range []req{
		jsonReq("PUT", "/user", `{"user_id":"`+bobID+`","name":"pwned"}`, alice.access),
		jsonReq("PUT", "/user", `{"user_id":"`+strings.ToUpper(bobID)+`","email":"alice2@example.com","current_password":"`+alicePW+`"}`, alice.access),
		jsonReq("PUT", "/user", `{"user_id":"{`+bobID+`}","is_superuser":true}`, alice.access),
		jsonReq("PUT", "/user", `{"user_id":"`+bobID+`","is_active":false}`, alice.access),
		jsonReq("DELETE", "/user/"+bobID, `{"password":"`+alicePW+`"}`, alice.access),
		jsonReq("DELETE", "/user/"+bobID, `{"password":"`+bobPW+`"}`, alice.access),
		jsonReq("DELETE", "/user", `{"user_id":"`+bobID+`","password":"`+bobPW+`"}`, alice.access),
	} {
		wantError(t, e.do(t, q), 403, "forbidden")
	}
	if after := e.storedUser(t, bobID); *after != *before {
		t.Fatalf("bob changed:\n%+v\n%+v", before, after)
	}
	wantOK(t, e.do(t, jsonReq("GET", "/user", "", bob.access)))
}

// TestSuperuserEndpoint: SECURITY.md #58 and #59. users_overview, logs and
// analytics answer 401/401/401/403/200 for no token, garbage, an expired
// token, a user and a superuser; a demoted superuser's unexpired token gets
// 403 at once.
func TestSuperuserEndpoint(t *testing.T) {
	e := newEnv(t, options{})
	e.register(t, "alice@example.com", alicePW)
	stale := e.login(t, "alice@example.com", alicePW)
	e.clock.Advance(16 * 60e9) // stale's access token expires
	user := e.login(t, "alice@example.com", alicePW)
	_, admin := e.superuser(t, "admin@example.com")
	tests := []struct {
		name      string
		token     string
		status    int
		typ       string
		challenge string
	}{
		{"none", "", 401, "invalid_token", "Bearer"},
		{"garbage", "eyJhbGciOiJub25lIn0.e30.", 401, "invalid_token", `Bearer error="invalid_token"`},
		{"expired", stale.access, 401, "token_expired", `Bearer error="invalid_token", error_description="The access token expired"`},
		{"user", user.access, 403, "forbidden", ""},
		{"superuser", admin.access, 200, "", ""},
	}
	endpoints := []string{
		"/users_overview",
		"/logs?run_type_filter=AUTH&max_runs=10",
		"/analytics?filter_criteria=%7B%22o%22%3A%22outcome%22%7D&analysis_types=%7B%22o%22%3A%5B%22counts%22%5D%7D",
	}
	for _, path := range endpoints {
		for _, tt := range tests {
			t.Run(strings.SplitN(path, "?", 2)[0][1:]+"/"+tt.name, func(t *testing.T) {
				r := e.do(t, jsonReq("GET", path, "", tt.token))
				if tt.status == 200 {
					if strings.HasPrefix(path, "/analytics") {
						wantOK(t, r)
					} else {
						wantPage(t, r)
					}
					return
				}
				wantError(t, r, tt.status, tt.typ)
				if got := r.header.Get("WWW-Authenticate"); got != tt.challenge {
					t.Errorf("WWW-Authenticate = %q, want %q", got, tt.challenge)
				}
			})
		}
	}

	t.Run("demotion takes effect at once", func(t *testing.T) {
		u2, err := e.m.EnsureSuperuser(context.Background(), "admin2@example.com", adminPW)
		if err != nil {
			t.Fatal(err)
		}
		admin2 := e.login(t, "admin2@example.com", adminPW)
		wantPage(t, e.do(t, jsonReq("GET", "/users_overview", "", admin2.access)))
		wantOK(t, e.do(t, jsonReq("PUT", "/user", `{"user_id":"`+u2.ID+`","is_superuser":false}`, admin.access)))
		wantError(t, e.do(t, jsonReq("GET", "/users_overview", "", admin2.access)), 403, "forbidden")
	})
}

// TestBearerOnly: SECURITY.md #65. The token is read only from the
// Authorization header, with a case-insensitive scheme.
func TestBearerOnly(t *testing.T) {
	e := newEnv(t, options{})
	e.register(t, "alice@example.com", alicePW)
	tok := e.login(t, "alice@example.com", alicePW)
	tests := []struct {
		name   string
		path   string
		header http.Header
		ctype  string
		body   string
		status int
	}{
		{"query parameter", "/user?access_token=" + tok.access, nil, "", "", 401},
		{"form field", "/user", nil, "application/x-www-form-urlencoded", "access_token=" + tok.access, 401},
		{"cookie", "/user", http.Header{"Cookie": {"access_token=" + tok.access}}, "", "", 401},
		{"two headers", "/user", http.Header{"Authorization": {"Bearer " + tok.access, "Bearer " + tok.access}}, "", "", 401},
		{"empty token", "/user", http.Header{"Authorization": {"Bearer "}}, "", "", 401},
		{"lower-case scheme", "/user", http.Header{"Authorization": {"bearer " + tok.access}}, "", "", 200},
		{"upper-case scheme", "/user", http.Header{"Authorization": {"BEARER " + tok.access}}, "", "", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, req{method: "GET", path: tt.path, header: tt.header, ctype: tt.ctype, body: tt.body})
			if tt.status == 200 {
				wantOK(t, r)
			} else {
				wantError(t, r, tt.status, "invalid_token")
			}
		})
	}
}

// TestHeaders: SECURITY.md #66. Login, refresh and user responses carry
// no-store and exactly application/json, and responses that depend on the
// Authorization header say so.
func TestHeaders(t *testing.T) {
	e := newEnv(t, options{})
	e.register(t, "alice@example.com", alicePW)
	login := e.do(t, formLogin("alice@example.com", alicePW))
	tok := wantTokens(t, login)
	refresh := e.do(t, jsonReq("POST", "/refresh_access_token", quote(tok.refresh), ""))
	tok = wantTokens(t, refresh)
	user := e.do(t, jsonReq("GET", "/user", "", tok.access))
	wantOK(t, user)
	for name, r := range map[string]resp{"login": login, "refresh": refresh, "user": user} {
		if r.header.Get("Content-Type") != "application/json" || r.header.Get("Cache-Control") != "no-store" || r.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: headers %v", name, r.header)
		}
	}
	if v := user.header.Values("Vary"); len(v) != 1 || v[0] != "Authorization" {
		t.Errorf("GET /user Vary = %v", v)
	}
}

// TestNoSecretsInBodies: SECURITY.md #61. No user object or overview row
// has a field that could carry a secret, and the hash never appears.
func TestNoSecretsInBodies(t *testing.T) {
	e := newEnv(t, options{})
	id := e.register(t, "alice@example.com", alicePW)
	_, admin := e.superuser(t, "admin@example.com")
	tok := e.login(t, "alice@example.com", alicePW)
	secretKey := regexp.MustCompile(`(?i)"[^"]*(password|hash|token|code|secret|salt)[^"]*"\s*:`)
	for _, q := range []req{
		jsonReq("GET", "/user", "", tok.access),
		jsonReq("PUT", "/user", `{"name":"A"}`, tok.access),
		jsonReq("GET", "/users_overview", "", admin.access),
	} {
		r := e.do(t, q)
		if r.status != 200 {
			t.Fatalf("%s %s: %d", q.method, q.path, r.status)
		}
		body := bytes.ReplaceAll(r.body, []byte(`"verification_code_expiry":null`), nil)
		if m := secretKey.Find(body); m != nil {
			t.Errorf("%s %s has the key %s: %s", q.method, q.path, m, r.body)
		}
	}
	scanBodies(t, e, []string{e.storedUser(t, id).PasswordHash, alicePW, adminPW})
}

// TestStolenAccessTokenCannotTakeOverByEmail: SECURITY.md #54. The
// takeover a hostile probe found: with an access token alone, a second
// after its owner logged in, change the account's email to a mailbox the
// attacker reads, confirm it, then reset the password there. Every step of
// that chain must fail without the current password, change nothing and
// send the attacker nothing.
func TestStolenAccessTokenCannotTakeOverByEmail(t *testing.T) {
	e := newEnv(t, options{verify: true})
	aliceID := e.verified(t, "alice@example.com", alicePW)
	stolen := e.login(t, "alice@example.com", alicePW) // no time passes: the login is as fresh as it gets
	const attacker = "attacker@example.com"

	for _, body := range []string{
		`{"email":"` + attacker + `"}`,
		`{"email":"` + attacker + `","current_password":""}`,
		`{"user_id":"` + aliceID + `","email":"` + attacker + `"}`,
		`{"email":"` + attacker + `","name":"Mallory"}`,
	} {
		wantError(t, e.do(t, jsonReq("PUT", "/user", body, stolen.access)), 400, "reauth_required")
	}
	wantError(t, e.do(t, jsonReq("PUT", "/user", `{"email":"`+attacker+`","current_password":"a guessed password"}`, stolen.access)), 400, "invalid_password")

	// The next steps of the chain find nothing to work with.
	wantOK(t, e.do(t, jsonReq("POST", "/request_password_reset", `{"email":"`+attacker+`"}`, "")))
	if err := e.m.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, m := range e.mail.Messages() {
		for _, to := range m.To {
			if to.Email == attacker {
				t.Fatalf("the attacker's mailbox got a %s message:\n%s", m.Kind, m.Text)
			}
		}
	}
	if u := e.storedUser(t, aliceID); u.Email != "alice@example.com" || u.PendingEmail != "" || u.Name != "" {
		t.Fatalf("refused requests changed the account: %+v", u)
	}
	wantError(t, e.do(t, formLogin(attacker, alicePW)), 401, "invalid_credentials")
	e.login(t, "alice@example.com", alicePW)

	// The owner, who knows the password, still can.
	wantOK(t, e.do(t, jsonReq("PUT", "/user", `{"email":"alice2@example.com","current_password":`+quote(alicePW)+`}`, stolen.access)))
	confirm := mailToken(t, e.mailTo(t, "alice2@example.com", "change_email", 1))
	if u := e.storedUser(t, aliceID); u.Email != "alice@example.com" || u.PendingEmail != "alice2@example.com" {
		t.Fatalf("after a change with the password: %+v", u)
	}

	// Had someone else known the password, the notice to the old address
	// stops the change and throws everyone out.
	notice := e.mailTo(t, "alice@example.com", "email_change_notice", 1)
	cancel := mailToken(t, notice)
	wantError(t, e.do(t, jsonReq("POST", "/cancel_email_change", `{"token":"`+confirm+`"}`, "")), 400, "invalid_token")
	wantMessage(t, e.do(t, jsonReq("POST", "/cancel_email_change", `{"token":"`+cancel+`"}`, "")), "Email change cancelled; every session has been signed out")
	wantError(t, e.do(t, jsonReq("POST", "/cancel_email_change", `{"token":"`+cancel+`"}`, "")), 400, "invalid_token")
	wantError(t, e.do(t, jsonReq("POST", "/cancel_email_change", `{}`, "")), 422, "invalid_request")
	wantError(t, e.do(t, jsonReq("GET", "/user", "", stolen.access)), 401, "invalid_token")
	wantError(t, e.do(t, jsonReq("POST", "/verify_email", `{"verification_code":"`+confirm+`"}`, "")), 400, "invalid_code")
	if u := e.storedUser(t, aliceID); u.Email != "alice@example.com" || u.PendingEmail != "" {
		t.Fatalf("after cancelling: %+v", u)
	}
}
