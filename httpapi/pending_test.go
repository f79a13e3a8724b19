package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/mail"
)

// TestPendingEmail: a user object's pending_email is the address an email
// change awaits confirmation for, in every answer that carries the user
// (PUT and GET /user), and null once the change is cancelled or its link
// has expired (confirmation: TestLifecycle), over memstore and SQLite.
func TestPendingEmail(t *testing.T) {
	t.Run("memstore", func(t *testing.T) { testPendingEmail(t, options{verify: true}) })
	t.Run("sqlite", func(t *testing.T) { testPendingEmail(t, options{verify: true, sql: openSQLite(t)}) })
}

func testPendingEmail(t *testing.T, o options) {
	e := newEnv(t, o)
	const alice = "alice@example.com"
	if u := wantOK(t, e.do(t, jsonReq("POST", "/register", `{"email":`+quote(alice)+`,"password":`+quote(alicePW)+`}`, ""))); u["pending_email"] != nil {
		t.Fatalf("a new user has pending_email %v", u["pending_email"])
	}
	code := mailCode(t, e.mailTo(t, alice, mail.KindVerifyEmail, 1))
	wantMessage(t, e.do(t, jsonReq("POST", "/verify_email", `{"email":`+quote(alice)+`,"verification_code":`+quote(code)+`}`, "")), "Email verified successfully")
	tok := e.login(t, alice, alicePW)
	change := func(to string) {
		t.Helper()
		u := wantOK(t, e.do(t, jsonReq("PUT", "/user", `{"email":`+quote(to)+`,"current_password":`+quote(alicePW)+`}`, tok.access)))
		if u["email"] != alice || u["pending_email"] != to {
			t.Fatalf("PUT /user answered %v, want email %s and pending_email %s", u, alice, to)
		}
	}
	pending := func() any {
		t.Helper()
		return wantOK(t, e.do(t, jsonReq("GET", "/user", "", tok.access)))["pending_email"]
	}

	// Cancelled from the old address: null (after signing in again, as
	// cancelling ends every session).
	change("first@example.com")
	if got := pending(); got != "first@example.com" {
		t.Fatalf("pending_email = %v, want first@example.com", got)
	}
	cancel := mailToken(t, e.mailTo(t, alice, mail.KindEmailChangeNotice, 1))
	wantMessage(t, e.do(t, jsonReq("POST", "/cancel_email_change", `{"token":`+quote(cancel)+`}`, "")), "Email change cancelled; every session has been signed out")
	tok = e.login(t, alice, alicePW)
	if got := pending(); got != nil {
		t.Fatalf("pending_email after cancelling = %v, want null", got)
	}

	// Expired: null from the instant its link dies, and the link is dead.
	e.clock.Advance(time.Minute) // past the per-account mail limit
	change("second@example.com")
	confirm := mailToken(t, e.mailTo(t, "second@example.com", mail.KindChangeEmail, 1))
	e.clock.Advance(auth.DefaultVerificationLinkTTL - time.Second)
	tok = e.login(t, alice, alicePW) // the access token has expired meanwhile
	if got := pending(); got != "second@example.com" {
		t.Fatalf("a second before expiry: pending_email = %v", got)
	}
	e.clock.Advance(time.Second)
	if got := pending(); got != nil {
		t.Fatalf("at expiry: pending_email = %v, want null", got)
	}
	if u := wantOK(t, e.do(t, jsonReq("PUT", "/user", `{"name":"Alice"}`, tok.access))); u["pending_email"] != nil {
		t.Fatalf("PUT /user after expiry: pending_email = %v, want null", u["pending_email"])
	}
	wantError(t, e.do(t, jsonReq("POST", "/verify_email", quote(confirm), "")), http.StatusBadRequest, "invalid_code")
}
