package httpapi_test

import (
	"context"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/internal/testhash"
	"github.com/gatehouse-go/gatehouse/mail"
)

// TestLifecycle walks the whole account lifecycle over real HTTP the way an
// R2R client does, over memstore and over SQLite (sqlstore), checking exact
// statuses, headers and bodies, then scans every response body of the run
// for secrets (SECURITY.md #61, #63).
func TestLifecycle(t *testing.T) {
	t.Run("memstore", func(t *testing.T) { testLifecycle(t, options{verify: true}) })
	t.Run("sqlite", func(t *testing.T) { testLifecycle(t, options{verify: true, sql: openSQLite(t)}) })
}

func testLifecycle(t *testing.T, o options) {
	e := newEnv(t, o)
	const alice = "alice@example.com"

	// Register.
	r := e.do(t, jsonReq("POST", "/register", `{"email":"  Alice@Example.com ","password":`+quote(alicePW)+`}`, ""))
	u := wantOK(t, r)
	aliceID, _ := u["id"].(string)
	wantUser(t, u, map[string]any{
		"id": aliceID, "email": alice, "is_active": true, "is_superuser": false, "is_verified": false,
		"name": nil, "bio": nil, "profile_picture": nil,
		"created_at": "2026-03-01T12:00:00Z", "updated_at": "2026-03-01T12:00:00Z",
		"verification_code_expiry": nil, "pending_email": nil, "mfa_enabled": false,
	})

	// The right password before verification says so; a wrong one does not.
	wantError(t, e.do(t, formLogin(alice, alicePW)), http.StatusUnauthorized, "email_not_verified")
	wantError(t, e.do(t, formLogin(alice, "not the password")), http.StatusUnauthorized, "invalid_credentials")

	// Verify with the email and the 6-digit code from the mail.
	code := mailCode(t, e.mailTo(t, alice, mail.KindVerifyEmail, 1))
	wantError(t, e.do(t, jsonReq("POST", "/verify_email", `{"verification_code":`+quote(code)+`}`, "")), http.StatusBadRequest, "invalid_code")
	wantMessage(t, e.do(t, jsonReq("POST", "/verify_email", `{"email":`+quote(alice)+`,"verification_code":`+quote(code)+`}`, "")), "Email verified successfully")
	wantError(t, e.do(t, jsonReq("POST", "/verify_email", `{"email":`+quote(alice)+`,"verification_code":`+quote(code)+`}`, "")), http.StatusBadRequest, "invalid_code")

	// Log in with the form (Python SDK, r2r-js) and with JSON.
	web := e.login(t, alice, alicePW)
	e.clock.Advance(time.Minute)
	phone := wantTokens(t, e.do(t, jsonReq("POST", "/login", `{"email":`+quote(alice)+`,"password":`+quote(alicePW)+`}`, "")))

	// GET /user, with the Content-Type header clients send even on GET.
	u = wantOK(t, e.do(t, jsonReq("GET", "/user", "", web.access)))
	if u["id"] != aliceID || u["email"] != alice || u["is_verified"] != true {
		t.Fatalf("GET /user = %v", u)
	}

	// PUT /user: profile fields.
	e.clock.Advance(time.Minute)
	r = e.do(t, jsonReq("PUT", "/user", `{"name":"Alice Liddell","bio":"Down the\nrabbit hole","profile_picture":"https://example.com/a.png"}`, web.access))
	u = wantOK(t, r)
	wantUser(t, u, map[string]any{
		"id": aliceID, "email": alice, "is_active": true, "is_superuser": false, "is_verified": true,
		"name": "Alice Liddell", "bio": "Down the\nrabbit hole", "profile_picture": "https://example.com/a.png",
		"created_at": "2026-03-01T12:00:00Z", "updated_at": "2026-03-01T12:02:00Z",
		"verification_code_expiry": nil, "pending_email": nil, "mfa_enabled": false,
	})
	// Clearing a field with "" gives null; null leaves a field alone.
	u = wantOK(t, e.do(t, jsonReq("PUT", "/user", `{"bio":"","name":null}`, web.access)))
	if u["bio"] != nil || u["name"] != "Alice Liddell" {
		t.Fatalf("after clearing bio: %v", u)
	}

	// PUT /user email change: confirmed by the link sent to the new
	// address; until then the answer shows the old address, and the new
	// one as pending_email.
	const alice2 = "alice@wonderland.example"
	u = wantOK(t, e.do(t, jsonReq("PUT", "/user", `{"user_id":`+quote(aliceID)+`,"email":`+quote(alice2)+`,"current_password":`+quote(alicePW)+`}`, web.access)))
	if u["email"] != alice || u["pending_email"] != alice2 {
		t.Fatalf("after the request: %v", u)
	}
	if u := wantOK(t, e.do(t, jsonReq("GET", "/user", "", web.access))); u["email"] != alice || u["pending_email"] != alice2 {
		t.Fatalf("GET /user while the change is pending: %v", u)
	}
	confirm := mailToken(t, e.mailTo(t, alice2, mail.KindChangeEmail, 1))
	e.mailTo(t, alice, mail.KindEmailChangeNotice, 1)
	wantMessage(t, e.do(t, jsonReq("POST", "/verify_email", quote(confirm), "")), "Email verified successfully")
	if u := wantOK(t, e.do(t, jsonReq("GET", "/user", "", web.access))); u["email"] != alice2 || u["pending_email"] != nil {
		t.Fatalf("after confirmation: %v", u)
	}

	// Refresh with the bare JSON string the Python SDK sends, then with
	// r2r-js's object. Reusing a rotated token ends the session.
	web2 := wantTokens(t, e.do(t, jsonReq("POST", "/refresh_access_token", quote(web.refresh), web.access)))
	web3 := wantTokens(t, e.do(t, jsonReq("POST", "/refresh_access_token", `{"refresh_token":`+quote(web2.refresh)+`}`, "")))
	wantOK(t, e.do(t, jsonReq("GET", "/user", "", web3.access)))
	wantError(t, e.do(t, jsonReq("POST", "/refresh_access_token", quote(web2.refresh), "")), http.StatusUnauthorized, "invalid_refresh_token")
	wantError(t, e.do(t, jsonReq("POST", "/refresh_access_token", quote(web3.refresh), "")), http.StatusUnauthorized, "invalid_refresh_token")
	wantError(t, e.do(t, jsonReq("GET", "/user", "", web3.access)), http.StatusUnauthorized, "invalid_token")
	wantOK(t, e.do(t, jsonReq("GET", "/user", "", phone.access))) // other sessions live on

	// Change password: this session goes on, the other ends.
	laptop := e.login(t, alice2, alicePW)
	wantMessage(t, e.do(t, jsonReq("POST", "/change_password", `{"current_password":`+quote(alicePW)+`,"new_password":`+quote(newPW)+`}`, laptop.access)), "Password changed successfully")
	wantOK(t, e.do(t, jsonReq("GET", "/user", "", laptop.access)))
	wantError(t, e.do(t, jsonReq("GET", "/user", "", phone.access)), http.StatusUnauthorized, "invalid_token")
	wantError(t, e.do(t, jsonReq("POST", "/refresh_access_token", quote(phone.refresh), "")), http.StatusUnauthorized, "invalid_refresh_token")
	e.mailTo(t, alice2, mail.KindPasswordChanged, 1)

	// Reset, requested with a bare JSON string (Python SDK) and confirmed
	// with POST /reset_password; every session ends.
	wantMessage(t, e.do(t, jsonReq("POST", "/request_password_reset", quote(alice2), laptop.access)), "If the email exists, a reset link has been sent")
	token := mailToken(t, e.mailTo(t, alice2, mail.KindResetPassword, 1))
	wantMessage(t, e.do(t, jsonReq("POST", "/reset_password", `{"reset_token":`+quote(token)+`,"new_password":`+quote(resetPW)+`}`, "")), "Password reset successfully")
	wantError(t, e.do(t, jsonReq("POST", "/reset_password", `{"reset_token":`+quote(token)+`,"new_password":`+quote(resetPW)+`}`, "")), http.StatusBadRequest, "invalid_token")
	wantError(t, e.do(t, jsonReq("GET", "/user", "", laptop.access)), http.StatusUnauthorized, "invalid_token")
	wantError(t, e.do(t, formLogin(alice2, newPW)), http.StatusUnauthorized, "invalid_credentials")

	// Reset again the way r2r-js does: {"email"}, then the token in the path
	// (a minute later: reset mail is limited to one a minute per account).
	e.clock.Advance(time.Minute)
	wantMessage(t, e.do(t, jsonReq("POST", "/request_password_reset", `{"email":`+quote(alice2)+`}`, "")), "If the email exists, a reset link has been sent")
	token = mailToken(t, e.mailTo(t, alice2, mail.KindResetPassword, 2))
	wantMessage(t, e.do(t, jsonReq("POST", "/reset_password/"+token, `{"new_password":`+quote(alicePW+"!")+`}`, "")), "Password reset successfully")
	session := e.login(t, alice2, alicePW+"!")

	// Logout: the access token and the session's refresh token both die.
	wantMessage(t, e.do(t, jsonReq("POST", "/logout", "", session.access)), "Logged out successfully")
	r = e.do(t, jsonReq("GET", "/user", "", session.access))
	wantError(t, r, http.StatusUnauthorized, "invalid_token")
	if got := r.header.Get("WWW-Authenticate"); got != `Bearer error="invalid_token"` {
		t.Fatalf("WWW-Authenticate = %q", got)
	}
	wantError(t, e.do(t, jsonReq("POST", "/refresh_access_token", quote(session.refresh), "")), http.StatusUnauthorized, "invalid_refresh_token")

	// users_overview as a superuser made with EnsureSuperuser.
	adminID, admin := e.superuser(t, "admin@example.com")
	bobID := e.register(t, "bob@example.com", bobPW)
	session = e.login(t, alice2, alicePW+"!")
	r = e.do(t, jsonReq("GET", "/users_overview", "", admin.access))
	rows, total := wantPage(t, r)
	if total != 3 || len(rows) != 3 {
		t.Fatalf("users_overview = %s", r.body)
	}
	var emails []string
	for _, row := range rows {
		emails = append(emails, row["email"].(string))
		keys := slices.Sorted(maps.Keys(row))
		want := []string{"created_at", "email", "failed_logins_24h", "is_active", "is_superuser", "is_verified", "last_login_at", "mfa_enabled", "num_sessions", "updated_at", "user_id"}
		if !slices.Equal(keys, want) {
			t.Fatalf("row keys = %v, want %v", keys, want)
		}
		switch row["user_id"] {
		case adminID:
			if row["num_sessions"] != float64(1) || row["mfa_enabled"] != false || row["is_superuser"] != true || row["last_login_at"] == nil || row["failed_logins_24h"] != float64(0) {
				t.Fatalf("admin row = %v", row)
			}
		case bobID:
			if row["num_sessions"] != float64(0) || row["last_login_at"] != nil || row["is_verified"] != false || row["failed_logins_24h"] != float64(0) {
				t.Fatalf("bob row = %v", row)
			}
		case aliceID:
			// The reset purged the others, logout the last. Three failed
			// logins: a wrong password and the right one before
			// verification, and the old password after the reset.
			if row["num_sessions"] != float64(1) || row["failed_logins_24h"] != float64(3) {
				t.Fatalf("alice row = %v", row)
			}
		}
	}
	if !slices.Equal(emails, []string{"admin@example.com", alice2, "bob@example.com"}) {
		t.Fatalf("rows ordered %v, want by email", emails)
	}
	// Filtered and paged, with the args/kwargs the Python SDK adds.
	r = e.do(t, jsonReq("GET", "/users_overview?user_ids="+bobID+"&user_ids="+aliceID+"&offset=1&limit=1&args=&kwargs=%7B%7D", "", admin.access))
	rows, total = wantPage(t, r)
	if total != 2 || len(rows) != 1 || rows[0]["user_id"] != bobID {
		t.Fatalf("filtered page = %s", r.body)
	}

	// Delete: a superuser deletes another user without a password; a user
	// deletes themselves with theirs.
	wantMessage(t, e.do(t, jsonReq("DELETE", "/user/"+bobID, "", admin.access)), "User account "+bobID+" deleted successfully.")
	wantError(t, e.do(t, formLogin("bob@example.com", bobPW)), http.StatusUnauthorized, "invalid_credentials")
	wantError(t, e.do(t, jsonReq("DELETE", "/user/"+aliceID, `{"delete_vector_data":true}`, session.access)), http.StatusBadRequest, "invalid_password")
	wantMessage(t, e.do(t, jsonReq("DELETE", "/user/"+aliceID, `{"password":`+quote(alicePW+"!")+`,"delete_vector_data":true}`, session.access)), "User account "+aliceID+" deleted successfully.")
	wantError(t, e.do(t, jsonReq("GET", "/user", "", session.access)), http.StatusUnauthorized, "invalid_token")
	wantError(t, e.do(t, formLogin(alice2, alicePW+"!")), http.StatusUnauthorized, "invalid_credentials")
	r = e.do(t, jsonReq("GET", "/users_overview", "", admin.access))
	if _, total := wantPage(t, r); total != 1 {
		t.Fatalf("after deletes: %s", r.body)
	}

	// SECURITY.md #61, #63: no body of the run carries a password, a hash,
	// a mailed secret or internal error text.
	if err := e.m.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	secrets := []string{alicePW, newPW, resetPW, bobPW, adminPW, testhash.DefaultPrefix, code, confirm, token}
	for _, m := range e.mail.Messages() {
		if s := codeRE.FindStringSubmatch(m.Text); s != nil {
			secrets = append(secrets, s[1])
		}
		if s := tokenRE.FindStringSubmatch(m.Text); s != nil {
			secrets = append(secrets, s[1])
		}
	}
	scanBodies(t, e, secrets)
}

// scanBodies fails if any response body of e contains a secret, a hash
// field or internal error text.
func scanBodies(t *testing.T, e *env, secrets []string) {
	t.Helper()
	internal := regexp.MustCompile(`(?i)password_hash|hashed_password|"hash"|auth: |store: |memstore|flaky store|goroutine|panic|\$argon2|\$2[aby]\$`)
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, b := range e.bodies {
		for _, s := range secrets {
			if s != "" && strings.Contains(string(b), s) {
				t.Fatalf("a response body contains the secret %q: %s", s, b)
			}
		}
		if internal.Match(b) {
			t.Fatalf("a response body contains internal text: %s", b)
		}
	}
}

// wantUser checks a user object field by field, and that it has no others.
func wantUser(t *testing.T, u map[string]any, want map[string]any) {
	t.Helper()
	if len(u) != len(want) {
		t.Fatalf("user object has fields %v, want %v", slices.Sorted(maps.Keys(u)), slices.Sorted(maps.Keys(want)))
	}
	for k, v := range want {
		if u[k] != v {
			t.Fatalf("user[%q] = %#v, want %#v (user %v)", k, u[k], v, u)
		}
	}
}
