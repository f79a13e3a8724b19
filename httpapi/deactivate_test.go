package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-go/gatehouse/mail"
)

// TestDeactivation walks deactivation through HTTP: a superuser's
// PUT /user {"user_id", "is_active": false} ends the user's sessions at
// once (access and refresh tokens fail), login with the right password is
// 401 account_disabled, the audit log has a user_deactivated run, and the
// user is mailed without the superuser being named; reactivating undoes
// it, with a user_reactivated run and a mail.
func TestDeactivation(t *testing.T) {
	t.Run("memstore", func(t *testing.T) { testDeactivation(t, options{}) })
	t.Run("sqlite", func(t *testing.T) { testDeactivation(t, options{sql: openSQLite(t)}) })
}

func testDeactivation(t *testing.T, o options) {
	e := newEnv(t, o)
	const bob = "bob@example.com"
	adminID, admin := e.superuser(t, "admin@example.com")
	bobID := e.register(t, bob, bobPW)
	web, phone := e.login(t, bob, bobPW), e.login(t, bob, bobPW)
	setActive := func(active bool) map[string]any {
		t.Helper()
		body := `{"user_id":` + quote(bobID) + `,"is_active":` + map[bool]string{false: "false", true: "true"}[active] + `}`
		u := wantOK(t, e.do(t, jsonReq("PUT", "/user", body, admin.access)))
		if u["id"] != bobID || u["email"] != bob || u["is_active"] != active {
			t.Fatalf("PUT /user answered %v, want bob with is_active %t", u, active)
		}
		return u
	}
	runs := func(event string) int {
		t.Helper()
		p := wantLogs(t, e.get(t, "/logs", url.Values{"run_type_filter": {"AUTH"}, "user_id": {bobID}}, admin.access))
		n := 0
		for _, r := range p.Results {
			for _, en := range r.Entries {
				if en.Key == "event" && en.Value == event {
					n++
				}
			}
		}
		return n
	}

	setActive(false)
	for _, tok := range []tokens{web, phone} {
		wantError(t, e.do(t, jsonReq("GET", "/user", "", tok.access)), http.StatusUnauthorized, "invalid_token")
		wantError(t, e.do(t, jsonReq("POST", "/refresh_access_token", quote(tok.refresh), "")), http.StatusUnauthorized, "invalid_refresh_token")
	}
	wantError(t, e.do(t, formLogin(bob, bobPW)), http.StatusUnauthorized, "account_disabled")
	wantError(t, e.do(t, formLogin(bob, "not bob's password")), http.StatusUnauthorized, "invalid_credentials")
	rows, _ := wantPage(t, e.do(t, jsonReq("GET", "/users_overview?user_ids="+bobID, "", admin.access)))
	if len(rows) != 1 || rows[0]["is_active"] != false || rows[0]["num_sessions"] != float64(0) {
		t.Fatalf("users_overview row %v, want bob inactive without sessions", rows)
	}
	if n := runs("user_deactivated"); n != 1 {
		t.Fatalf("%d user_deactivated runs, want 1", n)
	}
	m := e.mailTo(t, bob, mail.KindAccountDeactivated, 1)
	for _, part := range []string{m.Subject, m.Text, m.HTML} {
		if strings.Contains(part, "admin@example.com") || strings.Contains(part, adminID) {
			t.Fatalf("the mail names the superuser:\n%s", part)
		}
	}

	setActive(true)
	tok := e.login(t, bob, bobPW)
	wantOK(t, e.do(t, jsonReq("GET", "/user", "", tok.access)))
	wantError(t, e.do(t, jsonReq("GET", "/user", "", web.access)), http.StatusUnauthorized, "invalid_token")
	if n := runs("user_reactivated"); n != 1 {
		t.Fatalf("%d user_reactivated runs, want 1", n)
	}
	e.mailTo(t, bob, mail.KindAccountReactivated, 1)
	scanBodies(t, e, []string{bobPW, adminPW})
}

// TestDeactivationRefusals: only a superuser may set is_active (403 for
// anyone else, about themselves too), no superuser may deactivate
// themselves (400 cannot_deactivate_self), an unknown user is 404 and a
// value that is not a boolean 422; none of them changes anything.
func TestDeactivationRefusals(t *testing.T) {
	e := newEnv(t, options{})
	adminID, admin := e.superuser(t, "admin@example.com")
	e.superuser(t, "second@example.com")
	bobID := e.register(t, "bob@example.com", bobPW)
	carolID := e.register(t, "carol@example.com", alicePW)
	bob := e.login(t, "bob@example.com", bobPW)
	ids := []string{adminID, bobID, carolID}
	updated := map[string]string{}
	for _, id := range ids {
		updated[id] = e.storedUser(t, id).UpdatedAt.String()
	}
	tests := []struct {
		name   string
		q      req
		status int
		typ    string
	}{
		{"a user deactivating another", jsonReq("PUT", "/user", `{"user_id":`+quote(carolID)+`,"is_active":false}`, bob.access), 403, "forbidden"},
		{"a user deactivating themselves", jsonReq("PUT", "/user", `{"is_active":false}`, bob.access), 403, "forbidden"},
		{"a user naming themselves", jsonReq("PUT", "/user", `{"user_id":`+quote(bobID)+`,"is_active":false}`, bob.access), 403, "forbidden"},
		{"a user activating themselves", jsonReq("PUT", "/user", `{"is_active":true}`, bob.access), 403, "forbidden"},
		{"a superuser deactivating themselves", jsonReq("PUT", "/user", `{"is_active":false}`, admin.access), 400, "cannot_deactivate_self"},
		{"a superuser naming themselves", jsonReq("PUT", "/user", `{"user_id":`+quote(adminID)+`,"is_active":false,"name":"Gone"}`, admin.access), 400, "cannot_deactivate_self"},
		{"an unknown user", jsonReq("PUT", "/user", `{"user_id":"00000000-0000-4000-8000-000000000000","is_active":false}`, admin.access), 404, "not_found"},
		{"not a boolean", jsonReq("PUT", "/user", `{"user_id":`+quote(bobID)+`,"is_active":"false"}`, admin.access), 422, "invalid_request"},
		{"no token", jsonReq("PUT", "/user", `{"user_id":`+quote(bobID)+`,"is_active":false}`, ""), 401, "invalid_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, e.do(t, tt.q), tt.status, tt.typ)
		})
	}
	for _, id := range ids {
		if got := e.storedUser(t, id); !got.IsActive || got.UpdatedAt.String() != updated[id] || got.Name != "" {
			t.Fatalf("%s changed: %+v", got.Email, got)
		}
	}
	wantOK(t, e.do(t, jsonReq("GET", "/user", "", bob.access)))
	wantPage(t, e.do(t, jsonReq("GET", "/users_overview", "", admin.access)))
}
