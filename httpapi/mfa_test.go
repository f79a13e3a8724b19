package httpapi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
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
