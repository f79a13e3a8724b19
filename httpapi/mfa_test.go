package httpapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/mail"
)

// TestLoginWithSecondFactor drives the two-step login of docs/http-api.md:
// /login answers 401 mfa_required with a challenge and no tokens, and
// /login/mfa trades the challenge and a code for the token pair
// (SECURITY.md #78, #79).
func TestLoginWithSecondFactor(t *testing.T) {
	e := newEnv(t, options{factors: true})
	const email, pw = "ada@example.com", "correct horse battery staple"
	e.register(t, email, pw)
	id := e.identity(t, e.login(t, email, pw).access)
	ctx := context.Background()
	enr, err := e.m.EnrollTOTP(ctx, id, pw, "phone")
	if err != nil {
		t.Fatal(err)
	}
	code := func() string {
		c, err := totp.GenerateCode(enr.Secret, e.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	conf, err := e.m.ConfirmTOTP(ctx, id, enr.FactorID, code())
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(31 * time.Second) // the next step: the confirming code is spent

	challenge := func(t *testing.T) string {
		t.Helper()
		r := e.do(t, formLogin(email, pw))
		body := r.json(t)
		if r.status != 401 || body["error_type"] != "mfa_required" || r.header.Get("WWW-Authenticate") == "" {
			t.Fatalf("login of an enrolled user: %d %s, want 401 mfa_required with WWW-Authenticate", r.status, r.body)
		}
		if strings.Contains(string(r.body), "access_token") {
			t.Fatalf("mfa_required carries tokens: %s", r.body)
		}
		detail, _ := body["detail"].(map[string]any)
		tok, _ := body["challenge_token"].(string)
		if tok == "" || detail["challenge_token"] != tok || body["expires_at"] == nil || detail["expires_at"] != body["expires_at"] {
			t.Fatalf("challenge fields missing or not mirrored in detail: %s", r.body)
		}
		methods, _ := body["methods"].([]any)
		if len(methods) != 2 || methods[0] != "totp" || methods[1] != "recovery_code" {
			t.Errorf("methods = %v, want [totp recovery_code]", body["methods"])
		}
		if r.header.Get("Cache-Control") != "no-store" {
			t.Errorf("Cache-Control = %q", r.header.Get("Cache-Control"))
		}
		return tok
	}
	answer := func(tok, method, code string) resp {
		return e.do(t, jsonReq("POST", "/login/mfa", `{"challenge_token":`+quote(tok)+`,"method":`+quote(method)+`,"code":`+quote(code)+`}`, ""))
	}

	t.Run("totp", func(t *testing.T) {
		tok := challenge(t)
		wantError(t, answer(tok, "totp", "000000"), 401, "invalid_code")
		pair := wantTokens(t, answer(tok, "totp", code()))
		e.identity(t, pair.access)
		// The challenge is spent, and the code with it.
		wantError(t, answer(tok, "totp", code()), 401, "invalid_challenge")
	})
	t.Run("reused code", func(t *testing.T) {
		tok := challenge(t)
		wantError(t, answer(tok, "totp", code()), 401, "invalid_code")
	})
	t.Run("recovery code, once", func(t *testing.T) {
		tok := challenge(t)
		wantTokens(t, answer(tok, "recovery_code", conf.RecoveryCodes[0]))
		wantError(t, answer(challenge(t), "recovery_code", conf.RecoveryCodes[0]), 401, "invalid_code")
	})
	t.Run("bad requests", func(t *testing.T) {
		wantError(t, answer("", "totp", "123456"), 422, "invalid_request")
		wantError(t, answer("x", "sms", "123456"), 422, "invalid_request")
		wantError(t, answer("no-such-challenge", "totp", "123456"), 401, "invalid_challenge")
	})
}

// TestLoginMFAWithoutFactors: with factors off there is no challenge to
// answer.
func TestLoginMFAWithoutFactors(t *testing.T) {
	e := newEnv(t, options{})
	r := e.do(t, jsonReq("POST", "/login/mfa", `{"challenge_token":"x","method":"totp","code":"123456"}`, ""))
	wantError(t, r, 401, "invalid_challenge")
}

// TestFactorEndpoints drives enrolment and management over HTTP: every
// change from a session whose login is not recent needs the current
// password (SECURITY.md #54, #82), secrets are
// shown once and never listed (#77), recovery codes are replaced as a set
// (#81), and a superuser resets another user's factors without reading
// them (#82).
func TestFactorEndpoints(t *testing.T) {
	e := newEnv(t, options{factors: true})
	const email, pw = "ada@example.com", "correct horse battery staple"
	e.register(t, email, pw)
	access := e.login(t, email, pw).access
	call := func(method, path, body string) resp {
		return e.do(t, jsonReq(method, path, body, access))
	}
	e.clock.Advance(auth.DefaultRecentLogin) // the login is no longer recent

	// Proof first.
	wantError(t, call("POST", "/mfa/totp/enroll", `{}`), 400, "reauth_required")
	wantError(t, call("POST", "/mfa/totp/enroll", ""), 400, "reauth_required")
	wantError(t, call("POST", "/mfa/totp/enroll", `{"current_password":"wrong password entirely"}`), 400, "invalid_password")

	if u := wantOK(t, call("GET", "/user", "")); u["mfa_enabled"] != false {
		t.Errorf("GET /user before enrolling: mfa_enabled = %v, want false", u["mfa_enabled"])
	}
	enr := wantOK(t, call("POST", "/mfa/totp/enroll", `{"current_password":`+quote(pw)+`,"name":"phone"}`))
	secret, _ := enr["secret"].(string)
	factorID, _ := enr["factor_id"].(string)
	uri, _ := enr["otpauth_uri"].(string)
	png, err := base64.StdEncoding.DecodeString(fmt.Sprint(enr["qr_png"]))
	if secret == "" || factorID == "" || !strings.HasPrefix(uri, "otpauth://totp/") || err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Fatalf("enrolment answer: %v (png: %v)", enr, err)
	}
	// Pending: not listed, and login needs no second step yet.
	if r := call("GET", "/mfa/factors", ""); r.status != 200 || !strings.Contains(string(r.body), `"results":[]`) {
		t.Fatalf("a pending factor is listed: %d %s", r.status, r.body)
	}
	wantError(t, call("POST", "/mfa/totp/confirm", `{"factor_id":`+quote(factorID)+`,"code":"000000"}`), 400, "invalid_code")
	code, _ := totp.GenerateCode(secret, e.clock.Now())
	conf := wantOK(t, call("POST", "/mfa/totp/confirm", `{"factor_id":`+quote(factorID)+`,"code":`+quote(code)+`}`))
	codes, _ := conf["recovery_codes"].([]any)
	if len(codes) != 10 {
		t.Fatalf("first factor's recovery codes: %v", conf)
	}

	if u := wantOK(t, call("GET", "/user", "")); u["mfa_enabled"] != true {
		t.Errorf("GET /user after confirming: mfa_enabled = %v, want true", u["mfa_enabled"])
	}
	r := e.do(t, jsonReq("GET", "/mfa/factors", "", access))
	if r.status != 200 || strings.Contains(string(r.body), secret) {
		t.Fatalf("GET /mfa/factors: %d %s (the secret must never be listed)", r.status, r.body)
	}
	var listed struct {
		Results []map[string]any `json:"results"`
	}
	if err := json.Unmarshal(r.body, &listed); err != nil || len(listed.Results) != 1 || listed.Results[0]["id"] != factorID || listed.Results[0]["type"] != "totp" || listed.Results[0]["name"] != "phone" {
		t.Fatalf("GET /mfa/factors: %s", r.body)
	}

	// New recovery codes kill the old set.
	wantError(t, call("POST", "/mfa/recovery_codes", ""), 400, "reauth_required")
	fresh := wantOK(t, call("POST", "/mfa/recovery_codes", `{"current_password":`+quote(pw)+`}`))
	if got, _ := fresh["recovery_codes"].([]any); len(got) != 10 || got[0] == codes[0] {
		t.Fatalf("regenerated codes: %v", fresh)
	}
	r = e.do(t, formLogin(email, pw))
	tok, _ := r.json(t)["challenge_token"].(string)
	old := e.do(t, jsonReq("POST", "/login/mfa", `{"challenge_token":`+quote(tok)+`,"method":"recovery_code","code":`+quote(fmt.Sprint(codes[0]))+`}`, ""))
	wantError(t, old, 401, "invalid_code")

	// A superuser resets them; anyone else is refused.
	uid := e.identity(t, access).User.ID
	wantError(t, call("POST", "/users/"+uid+"/mfa/reset", ""), 403, "forbidden")
	_, admin := e.superuser(t, "root@example.com")
	wantMessage(t, e.do(t, jsonReq("POST", "/users/"+uid+"/mfa/reset", "", admin.access)), "Second factors removed")
	e.login(t, email, pw) // one step again
	if u := wantOK(t, call("GET", "/user", "")); u["mfa_enabled"] != false {
		t.Errorf("GET /user after the reset: mfa_enabled = %v, want false", u["mfa_enabled"])
	}

	// Removing needs proof, and an unknown factor is 404.
	wantError(t, call("DELETE", "/mfa/factors/"+factorID, ""), 400, "reauth_required")
	wantError(t, call("DELETE", "/mfa/factors/"+factorID, `{"current_password":`+quote(pw)+`}`), 404, "not_found")
}

// TestFactorChangeRecentLogin (SECURITY.md #82): right after the login a
// factor change needs no "current_password"; five minutes later it answers
// 400 reauth_required again, and a refresh in between does not renew the
// login. A password given is always checked.
func TestFactorChangeRecentLogin(t *testing.T) {
	e := newEnv(t, options{factors: true})
	const email, pw = "ada@example.com", "correct horse battery staple"
	e.register(t, email, pw)
	tok := e.login(t, email, pw)
	wantError(t, e.do(t, jsonReq("POST", "/mfa/totp/enroll", `{"current_password":"wrong password entirely"}`, tok.access)), 400, "invalid_password")
	enr := wantOK(t, e.do(t, jsonReq("POST", "/mfa/totp/enroll", `{"name":"phone"}`, tok.access)))
	if enr["factor_id"] == nil || enr["secret"] == nil {
		t.Fatalf("enrolment on a fresh login: %v", enr)
	}
	e.clock.Advance(4 * time.Minute)
	refreshed := wantTokens(t, e.do(t, jsonReq("POST", "/refresh_access_token", quote(tok.refresh), "")))
	wantOK(t, e.do(t, jsonReq("POST", "/mfa/totp/enroll", "", refreshed.access)))
	e.clock.Advance(time.Minute)
	wantError(t, e.do(t, jsonReq("POST", "/mfa/totp/enroll", "", refreshed.access)), 400, "reauth_required")
	wantOK(t, e.do(t, jsonReq("POST", "/mfa/totp/enroll", `{"current_password":`+quote(pw)+`}`, refreshed.access)))
}

// TestSuperuserFactorPolicy (SECURITY.md #84): with
// Factors.RequireForSuperusers, a superuser without a factor gets 403
// mfa_enrollment_required from every superuser route while their own
// account works; once they confirm a factor over HTTP the same session
// reaches those routes, the session from before does not, and the
// overview's rows show who has a factor.
func TestSuperuserFactorPolicy(t *testing.T) {
	e := newEnv(t, options{factors: true, superuserFactors: true})
	adminID, admin := e.superuser(t, "root@example.com")
	older := e.login(t, "root@example.com", adminPW)
	bobID := e.register(t, "bob@example.com", "correct horse battery staple")
	as := func(tok tokens, method, path, body string) resp {
		return e.do(t, jsonReq(method, path, body, tok.access))
	}
	superRoutes := []struct{ method, path string }{
		{"GET", "/users_overview"},
		{"GET", "/logs"},
		{"GET", "/users/" + bobID + "/sessions"},
		{"POST", "/users/" + bobID + "/mfa/reset"},
		{"POST", "/users/" + bobID + "/force_password_reset"},
	}
	for _, rt := range superRoutes {
		wantError(t, as(admin, rt.method, rt.path, ""), 403, "mfa_enrollment_required")
	}
	wantError(t, as(admin, "PUT", "/user", `{"user_id":`+quote(bobID)+`,"name":"Bob"}`), 403, "mfa_enrollment_required")
	if u := wantOK(t, as(admin, "GET", "/user", "")); u["mfa_enabled"] != false || u["is_superuser"] != true {
		t.Fatalf("GET /user of the superuser without a factor: %v", u)
	}

	enr := wantOK(t, as(admin, "POST", "/mfa/totp/enroll", `{"current_password":`+quote(adminPW)+`}`))
	code, err := totp.GenerateCode(fmt.Sprint(enr["secret"]), e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	wantOK(t, as(admin, "POST", "/mfa/totp/confirm", `{"factor_id":`+quote(fmt.Sprint(enr["factor_id"]))+`,"code":`+quote(code)+`}`))

	for _, rt := range superRoutes[:3] {
		if r := as(admin, rt.method, rt.path, ""); r.status != 200 {
			t.Errorf("%s %s after enrolling: %d %s", rt.method, rt.path, r.status, r.body)
		}
	}
	wantError(t, as(older, "GET", "/users_overview", ""), 401, "invalid_token")

	rows, _ := wantPage(t, as(admin, "GET", "/users_overview", ""))
	seen := 0
	for _, row := range rows {
		switch row["user_id"] {
		case adminID:
			seen++
			if row["mfa_enabled"] != true {
				t.Errorf("the enrolled superuser's row: mfa_enabled = %v, want true", row["mfa_enabled"])
			}
		case bobID:
			seen++
			if row["mfa_enabled"] != false {
				t.Errorf("bob's row: mfa_enabled = %v, want false", row["mfa_enabled"])
			}
		}
	}
	if seen != 2 {
		t.Fatalf("users_overview rows: %v", rows)
	}
	if u := wantOK(t, as(admin, "GET", "/user", "")); u["mfa_enabled"] != true {
		t.Errorf("GET /user after enrolling: mfa_enabled = %v", u["mfa_enabled"])
	}
}

// TestFactorChangesAuditedAndMailed (SECURITY.md #82): every change of a
// user's factors over HTTP — enrol, confirm, regenerate, remove, a
// superuser's reset — and the use of a recovery code is an audit run
// (GET /logs) naming the user, and each change mails the user a notice.
func TestFactorChangesAuditedAndMailed(t *testing.T) {
	e := newEnv(t, options{factors: true})
	const email, pw = "ada@example.com", "correct horse battery staple"
	uid := e.register(t, email, pw)
	tok := e.login(t, email, pw)
	call := func(method, path, body string) map[string]any {
		return wantOK(t, e.do(t, jsonReq(method, path, body, tok.access)))
	}
	enrol := func() (string, string) {
		enr := call("POST", "/mfa/totp/enroll", "")
		return fmt.Sprint(enr["factor_id"]), fmt.Sprint(enr["secret"])
	}
	factorID, secret := enrol()
	code, _ := totp.GenerateCode(secret, e.clock.Now())
	conf := call("POST", "/mfa/totp/confirm", `{"factor_id":`+quote(factorID)+`,"code":`+quote(code)+`}`)
	e.mailTo(t, email, mail.KindFactorAdded, 1)
	codes, _ := conf["recovery_codes"].([]any)
	if len(codes) != 10 {
		t.Fatalf("confirm: %v", conf)
	}
	call("POST", "/mfa/recovery_codes", "")
	e.mailTo(t, email, mail.KindRecoveryCodesRegenerated, 1)
	call("DELETE", "/mfa/factors/"+factorID, "")
	e.mailTo(t, email, mail.KindFactorRemoved, 1)

	factorID, secret = enrol()
	code, _ = totp.GenerateCode(secret, e.clock.Now().Add(30*time.Second))
	conf = call("POST", "/mfa/totp/confirm", `{"factor_id":`+quote(factorID)+`,"code":`+quote(code)+`}`)
	codes, _ = conf["recovery_codes"].([]any)
	r := e.do(t, formLogin(email, pw))
	challenge, _ := r.json(t)["challenge_token"].(string)
	wantTokens(t, e.do(t, jsonReq("POST", "/login/mfa", `{"challenge_token":`+quote(challenge)+`,"method":"recovery_code","code":`+quote(fmt.Sprint(codes[0]))+`}`, "")))
	e.mailTo(t, email, mail.KindRecoveryCodeUsed, 1)
	_, admin := e.superuser(t, "root@example.com")
	wantMessage(t, e.do(t, jsonReq("POST", "/users/"+uid+"/mfa/reset", "", admin.access)), "Second factors removed")
	e.mailTo(t, email, mail.KindFactorRemoved, 2)

	p := wantLogs(t, e.get(t, "/logs", url.Values{"run_type_filter": {"AUTH"}, "user_id": {uid}, "limit": {"100"}}, admin.access))
	seen := map[string]int{}
	for _, run := range p.Results {
		if len(run.Entries) > 0 && run.Entries[0].Key == "event" {
			seen[run.Entries[0].Value]++
		}
	}
	for ev, n := range map[string]int{
		"factor_enroll": 2, "factor_confirm": 2, "recovery_codes_regenerate": 1,
		"factor_remove": 1, "recovery_code_used": 1, "factors_reset": 1,
	} {
		if seen[ev] != n {
			t.Errorf("%d %s runs for the user, want %d (all: %v)", seen[ev], ev, n, seen)
		}
	}
}
