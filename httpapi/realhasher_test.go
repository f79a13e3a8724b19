package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestRealHasher runs register, login, a wrong password and a password
// change over HTTP with the Manager's default hasher (argon2id), so the
// fast test hasher hides nothing.
func TestRealHasher(t *testing.T) {
	e := newEnv(t, options{realHasher: true})
	id := e.register(t, "alice@example.com", alicePW)
	if h := e.storedUser(t, id).PasswordHash; !strings.HasPrefix(h, "$argon2id$") {
		t.Fatalf("stored hash %.12q… is not argon2id", h)
	}
	tok := e.login(t, "alice@example.com", alicePW)
	wantError(t, e.do(t, formLogin("alice@example.com", bobPW)), http.StatusUnauthorized, "invalid_credentials")
	wantMessage(t, e.do(t, jsonReq("POST", "/change_password", `{"current_password":`+quote(alicePW)+`,"new_password":`+quote(newPW)+`}`, tok.access)), "Password changed successfully")
	e.login(t, "alice@example.com", newPW)
	scanBodies(t, e, []string{alicePW, newPW, "$argon2id$"})
}
