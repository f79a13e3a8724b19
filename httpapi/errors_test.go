package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/auth"
)

// TestErrorTable sends one request for every row of the status table of
// docs/http-api.md and checks the exact status, error_type, error shape and
// headers.
func TestErrorTable(t *testing.T) {
	e := newEnv(t, options{verify: true})
	off := newEnv(t, options{}) // email verification not required
	ctx := context.Background()

	aliceID := e.verified(t, "alice@example.com", alicePW)
	alice := e.login(t, "alice@example.com", alicePW)
	bobID := e.verified(t, "bob@example.com", bobPW)
	adminID, admin := e.superuser(t, "admin@example.com")
	carolID := e.verified(t, "carol@example.com", bobPW)
	no := false
	if _, err := e.m.UpdateProfile(ctx, e.identity(t, admin.access), auth.ProfileUpdate{UserID: carolID, IsActive: &no}); err != nil {
		t.Fatal(err)
	}
	e.register(t, "dave@example.com", bobPW) // never verified
	gone := e.login(t, "alice@example.com", alicePW)
	wantOK(t, e.do(t, jsonReq("POST", "/logout", "", gone.access)))
	off.register(t, "erin@example.com", bobPW)
	for range 5 { // the next login attempt for this address is throttled
		wantError(t, off.do(t, formLogin("throttled@example.com", alicePW)), 401, "invalid_credentials")
	}
	analytics := func(fc, at string) req {
		return jsonReq("GET", "/analytics?filter_criteria="+url.QueryEscape(fc)+"&analysis_types="+url.QueryEscape(at), "", admin.access)
	}
	const unknownID = "5f0c8a52-3c57-4d4b-9c51-2b1f6a1e0b7d"
	const randomToken = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY"
	reg := func(body string) req { return jsonReq("POST", "/register", body, "") }
	overview := func(query string) req { return jsonReq("GET", "/users_overview?"+query, "", admin.access) }
	big := `{"email":"x@example.com","password":"` + strings.Repeat("a", 64<<10) + `"}`

	tests := []struct {
		name      string
		e         *env
		req       req
		status    int
		typ       string
		challenge string // exact WWW-Authenticate, when set
	}{
		// 422 invalid_request
		{"malformed JSON", e, reg(`{"email":`), 422, "invalid_request", ""},
		{"wrong type", e, reg(`{"email":"x@example.com","password":12345678}`), 422, "invalid_request", ""},
		{"unknown field", e, reg(`{"email":"x@example.com","password":"` + alicePW + `","is_superuser":true}`), 422, "invalid_request", ""},
		{"duplicate field", e, reg(`{"email":"x@example.com","password":"a","password":"` + alicePW + `"}`), 422, "invalid_request", ""},
		{"trailing JSON", e, reg(`{"email":"x@example.com","password":"` + alicePW + `"} {}`), 422, "invalid_request", ""},
		{"not an object", e, reg(`["x@example.com"]`), 422, "invalid_request", ""},
		{"empty body", e, reg(``), 422, "invalid_request", ""},
		{"missing field", e, reg(`{"email":"x@example.com"}`), 422, "invalid_request", ""},
		{"limit 0", e, overview("limit=0"), 422, "invalid_request", ""},
		{"limit 1001", e, overview("limit=1001"), 422, "invalid_request", ""},
		{"limit 1000000", e, overview("limit=1000000"), 422, "invalid_request", ""}, // SECURITY.md #61: refused, not served
		{"limit not a number", e, overview("limit=ten"), 422, "invalid_request", ""},
		{"negative offset", e, overview("offset=-1"), 422, "invalid_request", ""},
		{"offset twice", e, overview("offset=1&offset=2"), 422, "invalid_request", ""},
		{"bad uuid in user_ids", e, overview("user_ids=" + aliceID + "&user_ids=not-a-uuid"), 422, "invalid_request", ""},
		{"bad uuid in delete path", e, jsonReq("DELETE", "/user/12345", "", admin.access), 422, "invalid_request", ""},
		{"logs limit 1001", e, jsonReq("GET", "/logs?limit=1001", "", admin.access), 422, "invalid_request", ""},
		{"logs max_runs 0", e, jsonReq("GET", "/logs?max_runs=0", "", admin.access), 422, "invalid_request", ""},
		{"invalid JSON in filter_criteria", e, analytics(`{"x":`, `{}`), 422, "invalid_request", ""},
		// 400 invalid_request (analytics)
		{"analytics: undefined population", e, analytics(`{"a":"x"}`, `{"b":["basic_statistics","x"]}`), 400, "invalid_request", ""},
		{"analytics: unknown analysis", e, analytics(`{"a":"x"}`, `{"a":["median","x"]}`), 400, "invalid_request", ""},
		// 429
		{"throttled login", off, formLogin("throttled@example.com", alicePW), 429, "rate_limited", ""},
		// 413
		{"body over the cap", e, reg(big), 413, "body_too_large", ""},
		// 422 invalid_email
		{"email syntax", e, reg(`{"email":"not-an-email","password":"` + alicePW + `"}`), 422, "invalid_email", ""},
		{"email not a string", e, reg(`{"email":42,"password":"` + alicePW + `"}`), 422, "invalid_email", ""},
		{"email with a NUL", e, reg(`{"email":"a\u0000@b.example","password":"` + alicePW + `"}`), 422, "invalid_email", ""},
		{"login email syntax", e, formLogin("nobody", alicePW), 422, "invalid_email", ""},
		{"reset request email syntax", e, jsonReq("POST", "/request_password_reset", `"not an email"`, ""), 422, "invalid_email", ""},
		// 400 weak_password
		{"password too short", e, reg(`{"email":"x@example.com","password":"short"}`), 400, "weak_password", ""},
		{"password common", e, reg(`{"email":"x@example.com","password":"password"}`), 400, "weak_password", ""},
		{"password is the email", e, reg(`{"email":"longname@example.com","password":"longname@example.com"}`), 400, "weak_password", ""},
		// 400 email_taken
		{"email taken", e, reg(`{"email":"ALICE@example.com","password":"` + bobPW + `"}`), 400, "email_taken", ""},
		// 400 invalid_code
		{"wrong code", e, jsonReq("POST", "/verify_email", `{"email":"dave@example.com","verification_code":"000000"}`, ""), 400, "invalid_code", ""},
		{"code without email", e, jsonReq("POST", "/verify_email", `{"verification_code":"123456"}`, ""), 400, "invalid_code", ""},
		{"unknown long token", e, jsonReq("POST", "/verify_email", quote(randomToken), ""), 400, "invalid_code", ""},
		// 400 verification_not_required
		{"verification off", off, jsonReq("POST", "/verify_email", `{"email":"erin@example.com","verification_code":"123456"}`, ""), 400, "verification_not_required", ""},
		// 401 login
		{"unknown email", e, formLogin("nobody@example.com", alicePW), 401, "invalid_credentials", "Bearer"},
		{"wrong password", e, formLogin("alice@example.com", bobPW), 401, "invalid_credentials", "Bearer"},
		{"not verified, right password", e, formLogin("dave@example.com", bobPW), 401, "email_not_verified", "Bearer"},
		{"disabled, right password", e, formLogin("carol@example.com", bobPW), 401, "account_disabled", "Bearer"},
		// 401 bearer
		{"bearer missing", e, jsonReq("GET", "/user", "", ""), 401, "invalid_token", "Bearer"},
		{"bearer garbage", e, jsonReq("GET", "/user", "", "garbage"), 401, "invalid_token", `Bearer error="invalid_token"`},
		{"bearer revoked", e, jsonReq("GET", "/user", "", gone.access), 401, "invalid_token", `Bearer error="invalid_token"`},
		{"refresh token as bearer", e, jsonReq("GET", "/user", "", alice.refresh), 401, "invalid_token", `Bearer error="invalid_token"`},
		{"basic scheme", e, req{method: "GET", path: "/user", header: http.Header{"Authorization": {"Basic YTpi"}}}, 401, "invalid_token", `Bearer error="invalid_token"`},
		// 401 refresh
		{"refresh unknown", e, jsonReq("POST", "/refresh_access_token", quote(randomToken), ""), 401, "invalid_refresh_token", "Bearer"},
		{"refresh revoked", e, jsonReq("POST", "/refresh_access_token", quote(gone.refresh), ""), 401, "invalid_refresh_token", "Bearer"},
		{"access token at refresh", e, jsonReq("POST", "/refresh_access_token", quote(alice.access), ""), 401, "invalid_refresh_token", "Bearer"},
		// 400 invalid_password
		{"change password, wrong current", e, jsonReq("POST", "/change_password", `{"current_password":"`+bobPW+`","new_password":"`+newPW+`"}`, alice.access), 400, "invalid_password", ""},
		{"change password, weak new", e, jsonReq("POST", "/change_password", `{"current_password":"`+alicePW+`","new_password":"short"}`, alice.access), 400, "weak_password", ""},
		// 400 invalid_token (reset)
		{"reset unknown token", e, jsonReq("POST", "/reset_password", `{"reset_token":"`+randomToken+`","new_password":"`+newPW+`"}`, ""), 400, "invalid_token", ""},
		{"reset malformed token in path", e, jsonReq("POST", "/reset_password/abc", `{"new_password":"`+newPW+`"}`, ""), 400, "invalid_token", ""},
		// 403
		{"PUT another user_id", e, jsonReq("PUT", "/user", `{"user_id":"`+bobID+`","name":"x"}`, alice.access), 403, "forbidden", ""},
		{"PUT is_superuser", e, jsonReq("PUT", "/user", `{"is_superuser":true}`, alice.access), 403, "forbidden", ""},
		{"DELETE another user", e, jsonReq("DELETE", "/user/"+bobID, `{"password":"`+alicePW+`"}`, alice.access), 403, "forbidden", ""},
		{"DELETE another user by body", e, jsonReq("DELETE", "/user", `{"user_id":"`+bobID+`","password":"`+alicePW+`"}`, alice.access), 403, "forbidden", ""},
		// 400 invalid_password (delete self)
		{"delete self, no password", e, jsonReq("DELETE", "/user/"+aliceID, "", alice.access), 400, "invalid_password", ""},
		{"delete self, wrong password", e, jsonReq("DELETE", "/user/"+aliceID, `{"password":"`+bobPW+`"}`, alice.access), 400, "invalid_password", ""},
		// 404
		{"superuser deletes an unknown id", e, jsonReq("DELETE", "/user/"+unknownID, "", admin.access), 404, "not_found", ""},
		{"superuser updates an unknown id", e, jsonReq("PUT", "/user", `{"user_id":"`+unknownID+`","name":"x"}`, admin.access), 404, "not_found", ""},
		{"revoking an unknown session", e, jsonReq("DELETE", "/sessions/"+unknownID, "", alice.access), 404, "not_found", ""},
		{"superuser ends an unknown user's sessions", e, jsonReq("DELETE", "/users/"+unknownID+"/sessions", "", admin.access), 404, "not_found", ""},
		// 400 last_superuser
		{"last superuser demotes itself", e, jsonReq("PUT", "/user", `{"user_id":"`+adminID+`","is_superuser":false}`, admin.access), 400, "last_superuser", ""},
		{"last superuser deletes itself", e, jsonReq("DELETE", "/user/"+adminID, `{"password":"`+adminPW+`"}`, admin.access), 400, "last_superuser", ""},
		// superuser-only endpoint
		{"overview without a token", e, jsonReq("GET", "/users_overview", "", ""), 401, "invalid_token", "Bearer"},
		{"overview as a user", e, jsonReq("GET", "/users_overview", "", alice.access), 403, "forbidden", ""},
		// routing
		{"unknown path", e, jsonReq("GET", "/nope", "", ""), 404, "not_found", ""},
		{"outside the prefix", e, req{method: "GET", path: "/../v1/health"}, 404, "not_found", ""},
		{"wrong method", e, jsonReq("DELETE", "/login", "", ""), 405, "method_not_allowed", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.e.do(t, tt.req)
			wantError(t, r, tt.status, tt.typ)
			if tt.challenge != "" && r.header.Get("WWW-Authenticate") != tt.challenge {
				t.Errorf("WWW-Authenticate = %q, want %q", r.header.Get("WWW-Authenticate"), tt.challenge)
			}
			if tt.status == 405 && r.header.Get("Allow") != "POST" {
				t.Errorf("Allow = %q, want POST", r.header.Get("Allow"))
			}
			if tt.status == 429 && r.header.Get("Retry-After") != "1" {
				t.Errorf("Retry-After = %q, want 1", r.header.Get("Retry-After"))
			}
		})
	}
	// Nothing above changed the accounts.
	for _, id := range []string{aliceID, bobID, adminID} {
		if u := e.storedUser(t, id); !u.IsActive {
			t.Errorf("user %s changed: %+v", id, u)
		}
	}
	wantOK(t, e.do(t, jsonReq("GET", "/user", "", alice.access)))
}

// TestExpiry covers the rows of the status table that need time to pass:
// expired access, refresh, reset and verification secrets, and the
// re-authentication an email change needs (here with a login that is no
// longer recent; TestStolenAccessTokenCannotTakeOverByEmail has a fresh one).
func TestExpiry(t *testing.T) {
	e := newEnv(t, options{verify: true})
	e.verified(t, "alice@example.com", alicePW)
	tok := e.login(t, "alice@example.com", alicePW)
	e.register(t, "dave@example.com", bobPW)
	code := mailCode(t, e.mailTo(t, "dave@example.com", "verify_email", 1))
	wantOK(t, e.do(t, jsonReq("POST", "/request_password_reset", `{"email":"alice@example.com"}`, "")))
	reset := mailToken(t, e.mailTo(t, "alice@example.com", "reset_password", 1))

	e.clock.Advance(11 * time.Minute) // past the code TTL and the re-auth window
	t.Run("code expired", func(t *testing.T) {
		r := e.do(t, jsonReq("POST", "/verify_email", `{"email":"dave@example.com","verification_code":"`+code+`"}`, ""))
		wantError(t, r, 400, "invalid_code")
	})
	t.Run("email change needs re-authentication", func(t *testing.T) {
		r := e.do(t, jsonReq("PUT", "/user", `{"email":"alice2@example.com"}`, tok.access))
		wantError(t, r, 400, "reauth_required")
		r = e.do(t, jsonReq("PUT", "/user", `{"email":"alice2@example.com","current_password":"`+bobPW+`"}`, tok.access))
		wantError(t, r, 400, "invalid_password")
	})

	e.clock.Advance(20 * time.Minute) // past the access and reset TTLs
	t.Run("access token expired", func(t *testing.T) {
		r := e.do(t, jsonReq("GET", "/user", "", tok.access))
		wantError(t, r, 401, "token_expired")
		if got := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, `Bearer error="invalid_token"`) {
			t.Errorf("WWW-Authenticate = %q", got)
		}
	})
	t.Run("reset token expired", func(t *testing.T) {
		r := e.do(t, jsonReq("POST", "/reset_password", `{"reset_token":"`+reset+`","new_password":"`+newPW+`"}`, ""))
		wantError(t, r, 400, "invalid_token")
	})

	e.clock.Advance(8 * 24 * time.Hour) // past the refresh idle timeout
	t.Run("refresh token expired", func(t *testing.T) {
		r := e.do(t, jsonReq("POST", "/refresh_access_token", quote(tok.refresh), ""))
		wantError(t, r, 401, "invalid_refresh_token")
	})
}

// TestFailures: an unexpected store error is a generic 500 whose details
// reach only the log, and a store failure while checking a token refuses
// the request with 503 (fail closed, SECURITY.md #44, #63).
func TestFailures(t *testing.T) {
	e := newEnv(t, options{})
	e.register(t, "alice@example.com", alicePW)
	tok := e.login(t, "alice@example.com", alicePW)

	e.store.failLookup.Store(true)
	r := e.do(t, formLogin("alice@example.com", alicePW))
	wantError(t, r, 500, "internal")
	if msg := r.json(t)["message"]; msg != "Internal server error" {
		t.Errorf("message = %q", msg)
	}
	e.store.failLookup.Store(false)

	e.store.failSession.Store(true)
	r = e.do(t, jsonReq("GET", "/user", "", tok.access))
	wantError(t, r, 503, "unavailable")
	if r.header.Get("Retry-After") != "1" {
		t.Errorf("Retry-After = %q, want 1", r.header.Get("Retry-After"))
	}
	e.store.failSession.Store(false)

	logs := e.logText()
	if !strings.Contains(logs, "httpapi: internal error") || !strings.Contains(logs, "route=/v2/login") || !strings.Contains(logs, errStoreDown.Error()) {
		t.Errorf("the log lacks the internal error:\n%s", logs)
	}
	for _, s := range []string{alicePW, tok.access, tok.refresh} {
		if strings.Contains(logs, s) {
			t.Errorf("the log contains a secret %q", s)
		}
	}
	scanBodies(t, e, []string{alicePW})
}

// TestDeleteSelfNeedsPassword: a user deleting their own account without a
// password is told the password is required (400 invalid_password, as
// docs/http-api.md says), a wrong one that it is wrong; neither deletes
// anything. A superuser deleting someone else needs no password.
func TestDeleteSelfNeedsPassword(t *testing.T) {
	e := newEnv(t, options{})
	aliceID := e.register(t, "alice@example.com", alicePW)
	alice := e.login(t, "alice@example.com", alicePW)
	const required = `Field "password" is required to delete your own account`
	for _, tc := range []struct {
		name string
		req  req
		msg  string
	}{
		{"no body", jsonReq("DELETE", "/user/"+aliceID, "", alice.access), required},
		{"empty object", jsonReq("DELETE", "/user/"+aliceID, `{}`, alice.access), required},
		{"only delete_vector_data", jsonReq("DELETE", "/user/"+aliceID, `{"delete_vector_data":true}`, alice.access), required},
		{"empty password", jsonReq("DELETE", "/user/"+aliceID, `{"password":""}`, alice.access), required},
		{"by body, no password", jsonReq("DELETE", "/user", `{"user_id":"`+aliceID+`"}`, alice.access), required},
		{"wrong password", jsonReq("DELETE", "/user/"+aliceID, `{"password":"`+bobPW+`"}`, alice.access), "Invalid password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(t, tc.req)
			wantError(t, r, http.StatusBadRequest, "invalid_password")
			if msg := r.json(t)["message"]; msg != tc.msg {
				t.Fatalf("message %q, want %q", msg, tc.msg)
			}
		})
	}
	e.storedUser(t, aliceID) // still there
	wantOK(t, e.do(t, jsonReq("GET", "/user", "", alice.access)))

	_, admin := e.superuser(t, "admin@example.com")
	wantMessage(t, e.do(t, jsonReq("DELETE", "/user/"+aliceID, "", admin.access)), "User account "+aliceID+" deleted successfully.")
}
