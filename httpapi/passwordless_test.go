package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/gatehouse-go/gatehouse/mail"
)

// TestEmailLoginEndpoints drives docs/http-api.md "Passwordless email":
// POST /login/email answers alike for every address (SECURITY.md #15), and
// /login/email/verify trades the link's token or the login ID and code for
// the token pair, once (SECURITY.md #69), with wrong codes 401 invalid_code
// and dead logins 401 invalid_challenge (SECURITY.md #23).
func TestEmailLoginEndpoints(t *testing.T) {
	e := newEnv(t, options{passwordless: true, baseURL: "https://app.example.com"})
	const email, pw = "ada@example.com", "correct horse battery staple"
	e.register(t, email, pw)
	request := func(t *testing.T, addr string) map[string]any {
		t.Helper()
		r := e.do(t, jsonReq("POST", "/login/email", `{"email":`+quote(addr)+`}`, ""))
		wantCommonHeaders(t, r)
		return wantOK(t, r)
	}
	verify := func(body string) resp { return e.do(t, jsonReq("POST", "/login/email/verify", body, "")) }

	t.Run("answers_alike_for_every_address", func(t *testing.T) {
		known := request(t, email)
		unknown := request(t, "nobody@example.com")
		idRE := regexp.MustCompile(`^[A-Za-z0-9_-]{22}$`)
		for _, res := range []map[string]any{known, unknown} {
			id, _ := res["login_id"].(string)
			if !idRE.MatchString(id) || res["expires_at"] == nil || res["message"] != "If the email has an account, a sign-in link and code have been sent" || len(res) != 3 {
				t.Errorf("answer %v: want login_id, expires_at and the fixed message only", res)
			}
		}
		if known["login_id"] == unknown["login_id"] {
			t.Error("two requests got the same login_id")
		}
		// The bare string form.
		wantOK(t, e.do(t, jsonReq("POST", "/login/email", `"ada@example.com"`, "")))
		wantError(t, e.do(t, jsonReq("POST", "/login/email", `{"email":"not an email"}`, "")), 422, "invalid_email")
		e.latestEmailLogin(t, email) // every mail of these requests delivered
	})

	t.Run("code_then_link_is_dead", func(t *testing.T) {
		e.clock.Advance(2 * time.Minute) // past the mail limit
		res := request(t, email)
		msg := e.latestEmailLogin(t, email)
		code, token := mailCode(t, msg), mailToken(t, msg)
		if !strings.Contains(msg.Text, "https://app.example.com/login/email?token="+token) {
			t.Errorf("no link from the base URL in:\n%s", msg.Text)
		}
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		wantError(t, verify(`{"login_id":`+quote(res["login_id"].(string))+`,"code":"`+wrong+`"}`), 401, "invalid_code")
		tok := wantTokens(t, verify(`{"login_id":`+quote(res["login_id"].(string))+`,"code":`+quote(code)+`}`))
		e.identity(t, tok.access)
		wantError(t, verify(`{"token":`+quote(token)+`}`), 401, "invalid_challenge")
		wantError(t, verify(`{"login_id":`+quote(res["login_id"].(string))+`,"code":`+quote(code)+`}`), 401, "invalid_challenge")
	})

	t.Run("link_logs_in", func(t *testing.T) {
		e.clock.Advance(2 * time.Minute)
		request(t, email)
		token := mailToken(t, e.latestEmailLogin(t, email))
		wantTokens(t, verify(`{"token":`+quote(token)+`}`))
		wantError(t, verify(`{"token":`+quote(token)+`}`), 401, "invalid_challenge")
	})

	t.Run("bad_requests", func(t *testing.T) {
		wantError(t, verify(`{}`), 422, "invalid_request")
		wantError(t, verify(`{"token":"x","login_id":"y","code":"123456"}`), 422, "invalid_request")
		wantError(t, verify(`{"login_id":"y"}`), 422, "invalid_request")
		wantError(t, verify(`{"token":"x","extra":1}`), 422, "invalid_request")
	})

	t.Run("five_wrong_codes_then_dead", func(t *testing.T) {
		e.clock.Advance(2 * time.Minute)
		res := request(t, email)
		code := mailCode(t, e.latestEmailLogin(t, email))
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		body := `{"login_id":` + quote(res["login_id"].(string)) + `,"code":"` + wrong + `"}`
		for range 5 {
			r := verify(body)
			if r.status != 401 && r.status != 429 {
				t.Fatalf("wrong code: %d %s", r.status, r.body)
			}
			e.clock.Advance(time.Minute) // out of the account's delay
		}
		r := verify(`{"login_id":` + quote(res["login_id"].(string)) + `,"code":` + quote(code) + `}`)
		if r.status != 401 && r.status != 429 {
			t.Fatalf("the right code after 5 wrong ones: %d %s, want it refused", r.status, r.body)
		}
	})
}

// latestEmailLogin returns the newest email-login message to addr.
func (e *env) latestEmailLogin(tb testing.TB, addr string) mail.Message {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.m.Flush(ctx); err != nil {
		tb.Fatal(err)
	}
	msgs := e.mail.Messages()
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Kind == mail.KindEmailLogin && msgs[i].To[0].Email == addr {
			return msgs[i]
		}
	}
	tb.Fatalf("no email-login message to %s", addr)
	return mail.Message{}
}

// TestEmailLoginSecondFactor: a user with a factor gets 401 mfa_required
// from /login/email/verify, as from /login, and finishes at /login/mfa.
func TestEmailLoginSecondFactor(t *testing.T) {
	e := newEnv(t, options{passwordless: true, factors: true})
	const email, pw = "ada@example.com", "correct horse battery staple"
	e.register(t, email, pw)
	id := e.identity(t, e.login(t, email, pw).access)
	ctx := context.Background()
	enr, err := e.m.EnrollTOTP(ctx, id, pw, "phone")
	if err != nil {
		t.Fatal(err)
	}
	c, _ := totp.GenerateCode(enr.Secret, e.clock.Now())
	if _, err := e.m.ConfirmTOTP(ctx, id, enr.FactorID, c); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(31 * time.Second)
	wantOK(t, e.do(t, jsonReq("POST", "/login/email", `{"email":"ada@example.com"}`, "")))
	token := mailToken(t, e.latestEmailLogin(t, email))
	r := e.do(t, jsonReq("POST", "/login/email/verify", `{"token":`+quote(token)+`}`, ""))
	body := r.json(t)
	if r.status != 401 || body["error_type"] != "mfa_required" || bytes.Contains(r.body, []byte("access_token")) {
		t.Fatalf("verify for an enrolled user: %d %s, want 401 mfa_required without tokens", r.status, r.body)
	}
	c, _ = totp.GenerateCode(enr.Secret, e.clock.Now())
	wantTokens(t, e.do(t, jsonReq("POST", "/login/mfa", `{"challenge_token":`+quote(body["challenge_token"].(string))+`,"method":"totp","code":`+quote(c)+`}`, "")))
}

// TestEmailLoginDisabled: with passwordless off the endpoints answer 400
// passwordless_unavailable and send nothing.
func TestEmailLoginDisabled(t *testing.T) {
	e := newEnv(t, options{})
	e.register(t, "ada@example.com", "correct horse battery staple")
	wantError(t, e.do(t, jsonReq("POST", "/login/email", `{"email":"ada@example.com"}`, "")), 400, "passwordless_unavailable")
	wantError(t, e.do(t, jsonReq("POST", "/login/email/verify", `{"token":"x"}`, "")), 400, "passwordless_unavailable")
}

// TestEmailLoginAudited: the request and the login are AUTH runs of the
// user (SECURITY.md #62), and no run carries the mailed code or token
// (SECURITY.md #63).
func TestEmailLoginAudited(t *testing.T) {
	e := newEnv(t, options{passwordless: true})
	_, admin := e.superuser(t, "admin@example.com")
	const email = "ada@example.com"
	uid := e.register(t, email, "correct horse battery staple")
	wantOK(t, e.do(t, jsonReq("POST", "/login/email", `{"email":"ada@example.com"}`, "")))
	msg := e.latestEmailLogin(t, email)
	token, code := mailToken(t, msg), mailCode(t, msg)
	wantTokens(t, e.do(t, jsonReq("POST", "/login/email/verify", `{"token":`+quote(token)+`}`, "")))
	if err := e.m.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.mu.Lock()
	e.bodies = nil
	e.mu.Unlock()
	p := wantLogs(t, e.get(t, "/logs", url.Values{"run_type_filter": {"AUTH"}, "user_id": {uid}}, admin.access))
	seen := map[string]bool{}
	for _, run := range p.Results {
		if len(run.Entries) > 0 && run.Entries[0].Key == "event" {
			seen[fmt.Sprint(run.Entries[0].Value)] = true
		}
	}
	if !seen["email_login_requested"] || !seen["email_login"] {
		t.Fatalf("AUTH runs of the user have events %v, want email_login_requested and email_login", seen)
	}
	scanBodies(t, e, []string{token, code})
}
