package httpapi_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/internal/passkeytest"
)

const passkeyOrigin = "https://login.example.com"

// TestPasskeyEndpoints drives every passkey endpoint of docs/http-api.md:
// registration (with current_password), the listing, the second-factor
// login through /login/mfa, the passwordless login, removal, and the
// errors (SECURITY.md #83).
func TestPasskeyEndpoints(t *testing.T) {
	e := newEnv(t, options{passkeys: true})
	const email, pw = "ada@example.com", "correct horse battery staple"
	e.register(t, email, pw)
	access := e.login(t, email, pw).access
	key := passkeytest.New(passkeyOrigin)

	options := func(t *testing.T, body map[string]any) []byte {
		t.Helper()
		o, ok := body["options"].(map[string]any)
		if !ok || o["publicKey"] == nil {
			t.Fatalf("no options.publicKey in %v", body)
		}
		b, _ := json.Marshal(o)
		return b
	}

	// Registration needs the current password once the login is no
	// longer recent (TestFactorChangeRecentLogin has the recent case).
	e.clock.Advance(auth.DefaultRecentLogin)
	wantError(t, e.do(t, jsonReq("POST", "/mfa/passkeys/register/begin", `{"name":"laptop"}`, access)), 400, "reauth_required")
	wantError(t, e.do(t, jsonReq("POST", "/mfa/passkeys/register/begin", `{}`, "")), 401, "invalid_token")
	begin := wantOK(t, e.do(t, jsonReq("POST", "/mfa/passkeys/register/begin", `{"current_password":`+quote(pw)+`,"name":"laptop"}`, access)))
	regID, _ := begin["registration_id"].(string)
	cred, err := key.Register(options(t, begin), passkeytest.Forge{})
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, e.do(t, jsonReq("POST", "/mfa/passkeys/register/finish", `{"registration_id":`+quote(regID)+`}`, access)), 422, "invalid_request")
	wantError(t, e.do(t, jsonReq("POST", "/mfa/passkeys/register/finish", `{"registration_id":"nope","credential":`+string(cred)+`}`, access)), 401, "invalid_challenge")
	fin := wantOK(t, e.do(t, jsonReq("POST", "/mfa/passkeys/register/finish", `{"registration_id":`+quote(regID)+`,"credential":`+string(cred)+`}`, access)))
	factorID, _ := fin["factor_id"].(string)
	if codes, _ := fin["recovery_codes"].([]any); factorID == "" || len(codes) != 10 {
		t.Fatalf("finish = %v, want factor_id and 10 recovery codes", fin)
	}
	wantError(t, e.do(t, jsonReq("POST", "/mfa/passkeys/register/finish", `{"registration_id":`+quote(regID)+`,"credential":`+string(cred)+`}`, access)), 401, "invalid_challenge")

	r := e.do(t, jsonReq("GET", "/mfa/factors", "", access))
	if r.status != 200 || !strings.Contains(string(r.body), `"type":"passkey"`) || !strings.Contains(string(r.body), `"name":"laptop"`) || !strings.Contains(string(r.body), `"last_used_at":null`) {
		t.Fatalf("GET /mfa/factors = %d %s, want the passkey", r.status, r.body)
	}

	t.Run("second factor", func(t *testing.T) {
		res := e.do(t, formLogin(email, pw))
		body := res.json(t)
		tok, _ := body["challenge_token"].(string)
		if res.status != 401 || !strings.Contains(string(res.body), `"passkey"`) {
			t.Fatalf("login: %d %s, want mfa_required offering passkey", res.status, res.body)
		}
		wantError(t, e.do(t, jsonReq("POST", "/login/mfa/passkey/options", `{"challenge_token":"nope"}`, "")), 401, "invalid_challenge")
		opts := wantOK(t, e.do(t, jsonReq("POST", "/login/mfa/passkey/options", `{"challenge_token":`+quote(tok)+`}`, "")))
		other := passkeytest.New("https://evil.example.net").WithHandle(key.UserHandle)
		other.CredentialID = key.CredentialID
		other.Key = key.Key
		bad, _ := other.Assert(options(t, opts), passkeytest.Forge{})
		wantError(t, e.do(t, jsonReq("POST", "/login/mfa", `{"challenge_token":`+quote(tok)+`,"method":"passkey","credential":`+string(bad)+`}`, "")), 401, "invalid_credential")
		opts = wantOK(t, e.do(t, jsonReq("POST", "/login/mfa/passkey/options", `{"challenge_token":`+quote(tok)+`}`, "")))
		good, _ := key.Assert(options(t, opts), passkeytest.Forge{})
		wantError(t, e.do(t, jsonReq("POST", "/login/mfa", `{"challenge_token":`+quote(tok)+`,"method":"passkey"}`, "")), 422, "invalid_request")
		pair := wantTokens(t, e.do(t, jsonReq("POST", "/login/mfa", `{"challenge_token":`+quote(tok)+`,"method":"passkey","credential":`+string(good)+`}`, "")))
		e.identity(t, pair.access)
	})

	t.Run("passwordless", func(t *testing.T) {
		begin := wantOK(t, e.do(t, jsonReq("POST", "/login/passkey/begin", `{}`, "")))
		loginID, _ := begin["login_id"].(string)
		noUV, _ := key.Assert(options(t, begin), passkeytest.Forge{NoUV: true})
		wantError(t, e.do(t, jsonReq("POST", "/login/passkey/finish", `{"login_id":`+quote(loginID)+`,"credential":`+string(noUV)+`}`, "")), 401, "invalid_credential")
		// The failed attempt spent the login ID.
		good, _ := key.Assert(options(t, begin), passkeytest.Forge{})
		wantError(t, e.do(t, jsonReq("POST", "/login/passkey/finish", `{"login_id":`+quote(loginID)+`,"credential":`+string(good)+`}`, "")), 401, "invalid_challenge")
		begin = wantOK(t, e.do(t, jsonReq("POST", "/login/passkey/begin", "", "")))
		loginID, _ = begin["login_id"].(string)
		good, _ = key.Assert(options(t, begin), passkeytest.Forge{})
		wantError(t, e.do(t, jsonReq("POST", "/login/passkey/finish", `{"login_id":`+quote(loginID)+`,"credential":"x"}`, "")), 422, "invalid_request")
		pair := wantTokens(t, e.do(t, jsonReq("POST", "/login/passkey/finish", `{"login_id":`+quote(loginID)+`,"credential":`+string(good)+`}`, "")))
		e.identity(t, pair.access)
		r := e.do(t, jsonReq("GET", "/mfa/factors", "", pair.access))
		if !strings.Contains(string(r.body), `"last_used_at":"`) {
			t.Errorf("after use, GET /mfa/factors = %s, want last_used_at", r.body)
		}
	})

	t.Run("remove", func(t *testing.T) {
		wantOK(t, e.do(t, jsonReq("DELETE", "/mfa/factors/"+factorID, `{"current_password":`+quote(pw)+`}`, access)))
		begin := wantOK(t, e.do(t, jsonReq("POST", "/login/passkey/begin", `{}`, "")))
		loginID, _ := begin["login_id"].(string)
		good, _ := key.Assert(options(t, begin), passkeytest.Forge{})
		wantError(t, e.do(t, jsonReq("POST", "/login/passkey/finish", `{"login_id":`+quote(loginID)+`,"credential":`+string(good)+`}`, "")), 401, "invalid_credential")
	})
}

// Without passkeys configured, the endpoints say so.
func TestPasskeyEndpointsUnavailable(t *testing.T) {
	e := newEnv(t, options{factors: true})
	wantError(t, e.do(t, jsonReq("POST", "/login/passkey/begin", `{}`, "")), 400, "factors_unavailable")
}
