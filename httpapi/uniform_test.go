package httpapi_test

import (
	"context"
	"regexp"
	"testing"

	"github.com/gatehouse-go/gatehouse/mail"
)

var idField = regexp.MustCompile(`"id":"[0-9a-f-]{36}"`)

// TestUniformRegistration: SECURITY.md #16. With
// auth.Config.Accounts.UniformRegistration, registering a taken email answers
// exactly like registering it the first time — status, headers and body
// byte for byte, apart from the new user object's id — creates no second
// account, and mails the owner a sign-up notice.
func TestUniformRegistration(t *testing.T) {
	for _, verify := range []bool{false, true} {
		t.Run(map[bool]string{false: "verification off", true: "verification on"}[verify], func(t *testing.T) {
			e := newEnv(t, options{uniform: true, verify: verify})
			body := `{"email":"alice@example.com","password":` + quote(alicePW) + `,"name":"Alice"}`
			first := rawResponse(t, e, jsonReq("POST", "/register", body, ""))
			// Another password, the address in another case: still the
			// same answer.
			dup := rawResponse(t, e, jsonReq("POST", "/register", `{"email":"ALICE@example.com","password":`+quote(bobPW)+`,"name":"Alice"}`, ""))
			if !idField.MatchString(first) {
				t.Fatalf("no id in the answer:\n%s", first)
			}
			if a, b := idField.ReplaceAllString(first, `"id":"…"`), idField.ReplaceAllString(dup, `"id":"…"`); a != b {
				t.Fatalf("the duplicate's answer differs:\n%s\n---\n%s", a, b)
			}
			if idField.FindString(first) == idField.FindString(dup) {
				t.Fatal("the duplicate's answer repeats the owner's id")
			}
			if err := e.m.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			e.mailTo(t, "alice@example.com", mail.KindSignupAttempt, 1)
			_, admin := e.superuser(t, "admin@example.com")
			if _, total := wantPage(t, e.do(t, jsonReq("GET", "/users_overview", "", admin.access))); total != 2 {
				t.Fatalf("%d users, want alice and the admin", total)
			}
			// The owner's password is unchanged.
			if !verify {
				e.login(t, "alice@example.com", alicePW)
			}
			wantError(t, e.do(t, formLogin("alice@example.com", bobPW)), 401, "invalid_credentials")
		})
	}
}
