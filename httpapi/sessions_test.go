package httpapi_test

import (
	"maps"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/mail"
)

// loginAs logs in with a User-Agent, so that sessions can be told apart.
func (e *env) loginAs(tb testing.TB, email, pw, agent string) tokens {
	tb.Helper()
	q := formLogin(email, pw)
	q.header = http.Header{"User-Agent": {agent}}
	return wantTokens(tb, e.do(tb, q))
}

// sessionsOf lists sessions through the API and checks each row's fields.
func sessionsOf(tb testing.TB, e *env, path, token string) []map[string]any {
	tb.Helper()
	r := e.do(tb, jsonReq("GET", path, "", token))
	if r.status != 200 {
		tb.Fatalf("GET %s: %d %s", path, r.status, r.body)
	}
	wantCommonHeaders(tb, r)
	v := r.json(tb)
	list, ok := v["results"].([]any)
	if !ok || len(v) != 1 {
		tb.Fatalf("not a list: %s", r.body)
	}
	var out []map[string]any
	for _, x := range list {
		s := x.(map[string]any)
		if keys := slices.Sorted(maps.Keys(s)); !slices.Equal(keys, []string{"created_at", "current", "expires_at", "id", "ip", "last_used_at", "user_agent"}) {
			tb.Fatalf("session keys %v", keys)
		}
		out = append(out, s)
	}
	return out
}

// byAgent indexes sessions by user agent.
func byAgent(ss []map[string]any) map[string]map[string]any {
	m := map[string]map[string]any{}
	for _, s := range ss {
		m[s["user_agent"].(string)] = s
	}
	return m
}

// alive reports whether an access token still works.
func (e *env) alive(tb testing.TB, t tokens) bool {
	tb.Helper()
	r := e.do(tb, jsonReq("GET", "/user", "", t.access))
	switch r.status {
	case 200:
		return true
	case 401:
		return false
	}
	tb.Fatalf("GET /user: %d", r.status)
	return false
}

// TestSessions: SECURITY.md #41. Users list their sessions and end one,
// all others, or all; a superuser ends every session of a user. An ended
// session's access and refresh tokens both stop working.
func TestSessions(t *testing.T) {
	e := newEnv(t, options{})
	e.register(t, "alice@example.com", alicePW)
	bobID := e.register(t, "bob@example.com", bobPW)
	a := e.loginAs(t, "alice@example.com", alicePW, "laptop")
	e.clock.Advance(time.Minute)
	b := e.loginAs(t, "alice@example.com", alicePW, "phone")
	e.clock.Advance(time.Minute)
	c := e.loginAs(t, "alice@example.com", alicePW, "tablet")

	ss := sessionsOf(t, e, "/sessions", a.access)
	if len(ss) != 3 || ss[0]["user_agent"] != "tablet" || ss[2]["user_agent"] != "laptop" {
		t.Fatalf("sessions (newest first) = %v", ss)
	}
	m := byAgent(ss)
	if m["laptop"]["current"] != true || m["phone"]["current"] != false || m["tablet"]["current"] != false {
		t.Fatalf("current flags: %v", ss)
	}
	if m["laptop"]["ip"] != "127.0.0.1" || m["laptop"]["created_at"] != "2026-03-01T12:00:00Z" || m["phone"]["created_at"] != "2026-03-01T12:01:00Z" {
		t.Fatalf("laptop %v, phone %v", m["laptop"], m["phone"])
	}
	if m["laptop"]["expires_at"] != "2026-03-31T12:00:00Z" || m["laptop"]["last_used_at"] != "2026-03-01T12:00:00Z" {
		t.Fatalf("laptop %v", m["laptop"])
	}

	t.Run("revoke one", func(t *testing.T) {
		wantMessage(t, e.do(t, jsonReq("DELETE", "/sessions/"+m["phone"]["id"].(string), "", a.access)), "Session revoked")
		if e.alive(t, b) {
			t.Fatal("the revoked session's access token still works")
		}
		wantError(t, e.do(t, jsonReq("POST", "/refresh_access_token", quote(b.refresh), "")), 401, "invalid_refresh_token")
		if !e.alive(t, a) || !e.alive(t, c) {
			t.Fatal("another session ended")
		}
		if ss := sessionsOf(t, e, "/sessions", c.access); len(ss) != 2 {
			t.Fatalf("%d sessions left", len(ss))
		}
		// Again: it is gone.
		wantError(t, e.do(t, jsonReq("DELETE", "/sessions/"+m["phone"]["id"].(string), "", a.access)), 404, "not_found")
	})

	t.Run("revoke others", func(t *testing.T) {
		d := e.loginAs(t, "alice@example.com", alicePW, "desktop")
		res := wantOK(t, e.do(t, jsonReq("POST", "/sessions/revoke_others", "", a.access)))
		if res["revoked"] != float64(2) || res["message"] != "Other sessions revoked" {
			t.Fatalf("results %v", res)
		}
		if e.alive(t, c) || e.alive(t, d) || !e.alive(t, a) {
			t.Fatal("revoke_others ended the wrong sessions")
		}
		wantError(t, e.do(t, jsonReq("POST", "/refresh_access_token", quote(d.refresh), "")), 401, "invalid_refresh_token")
		if ss := sessionsOf(t, e, "/sessions", a.access); len(ss) != 1 || ss[0]["current"] != true {
			t.Fatalf("sessions %v", ss)
		}
	})

	t.Run("logout everywhere", func(t *testing.T) {
		f := e.loginAs(t, "alice@example.com", alicePW, "fridge")
		res := wantOK(t, e.do(t, jsonReq("POST", "/logout_everywhere", "", a.access)))
		if res["revoked"] != float64(2) {
			t.Fatalf("results %v", res)
		}
		if e.alive(t, a) || e.alive(t, f) {
			t.Fatal("a session survived")
		}
		wantError(t, e.do(t, jsonReq("POST", "/refresh_access_token", quote(a.refresh), "")), 401, "invalid_refresh_token")
	})

	t.Run("superuser ends every session of a user", func(t *testing.T) {
		adminID, admin := e.superuser(t, "admin@example.com")
		x := e.loginAs(t, "bob@example.com", bobPW, "x")
		y := e.loginAs(t, "bob@example.com", bobPW, "y")
		ss := sessionsOf(t, e, "/users/"+bobID+"/sessions", admin.access)
		if len(ss) != 2 || ss[0]["current"] != false || ss[1]["current"] != false {
			t.Fatalf("bob's sessions as seen by the admin: %v", ss)
		}
		res := wantOK(t, e.do(t, jsonReq("DELETE", "/users/"+bobID+"/sessions", "", admin.access)))
		if res["revoked"] != float64(2) || e.alive(t, x) || e.alive(t, y) {
			t.Fatalf("results %v; bob's sessions alive %v %v", res, e.alive(t, x), e.alive(t, y))
		}
		wantError(t, e.do(t, jsonReq("POST", "/refresh_access_token", quote(y.refresh), "")), 401, "invalid_refresh_token")
		if !e.alive(t, admin) {
			t.Fatal("the admin's session ended")
		}
		// The admin's own: every one ends, this one included.
		ss = sessionsOf(t, e, "/users/"+adminID+"/sessions", admin.access)
		if len(ss) != 1 || ss[0]["current"] != true {
			t.Fatalf("the admin's own sessions %v", ss)
		}
		wantOK(t, e.do(t, jsonReq("DELETE", "/users/"+adminID+"/sessions", "", admin.access)))
		if e.alive(t, admin) {
			t.Fatal("the admin's session survived")
		}
	})

	t.Run("superuser forces a password reset", func(t *testing.T) {
		_, admin := e.superuser(t, "admin2@example.com")
		x := e.login(t, "bob@example.com", bobPW)
		wantMessage(t, e.do(t, jsonReq("POST", "/users/"+bobID+"/force_password_reset", "", admin.access)), "Password reset forced; a reset link was sent to the user")
		if e.alive(t, x) {
			t.Fatal("bob's session survived")
		}
		wantError(t, e.do(t, formLogin("bob@example.com", bobPW)), 401, "invalid_credentials")
		token := mailToken(t, e.mailTo(t, "bob@example.com", mail.KindResetPassword, 1))
		wantMessage(t, e.do(t, jsonReq("POST", "/reset_password", `{"reset_token":`+quote(token)+`,"new_password":`+quote(resetPW)+`}`, "")), "Password reset successfully")
		e.login(t, "bob@example.com", resetPW)
	})
}

// TestSessionsStatuses: the session endpoints' refusals. A user naming a
// session that is not theirs gets the same 404 as for one that does not
// exist, and that session lives on (SECURITY.md #57).
func TestSessionsStatuses(t *testing.T) {
	e := newEnv(t, options{})
	e.register(t, "alice@example.com", alicePW)
	bobID := e.register(t, "bob@example.com", bobPW)
	alice := e.login(t, "alice@example.com", alicePW)
	bob := e.login(t, "bob@example.com", bobPW)
	_, admin := e.superuser(t, "admin@example.com")
	bobSession := e.identity(t, bob.access).Session.ID
	const unknownID = "5f0c8a52-3c57-4d4b-9c51-2b1f6a1e0b7d"

	t.Run("IDOR: another user's session id is 404 and the session lives on", func(t *testing.T) {
		for _, id := range []string{bobSession, unknownID, "not-a-uuid"} {
			wantError(t, e.do(t, jsonReq("DELETE", "/sessions/"+id, "", alice.access)), 404, "not_found")
		}
		if !e.alive(t, bob) {
			t.Fatal("bob's session ended")
		}
		r := wantTokens(t, e.do(t, jsonReq("POST", "/refresh_access_token", quote(bob.refresh), "")))
		bob = r
		for _, s := range sessionsOf(t, e, "/sessions", alice.access) {
			if s["id"] == bobSession {
				t.Fatal("alice sees bob's session")
			}
		}
	})

	tests := []struct {
		name   string
		req    req
		status int
		typ    string
	}{
		{"list without a token", jsonReq("GET", "/sessions", "", ""), 401, "invalid_token"},
		{"revoke without a token", jsonReq("DELETE", "/sessions/"+bobSession, "", ""), 401, "invalid_token"},
		{"revoke others without a token", jsonReq("POST", "/sessions/revoke_others", "", ""), 401, "invalid_token"},
		{"logout everywhere without a token", jsonReq("POST", "/logout_everywhere", "", "garbage"), 401, "invalid_token"},
		{"a user listing another's sessions", jsonReq("GET", "/users/"+bobID+"/sessions", "", alice.access), 403, "forbidden"},
		{"a user ending another's sessions", jsonReq("DELETE", "/users/"+bobID+"/sessions", "", alice.access), 403, "forbidden"},
		{"a user forcing a reset", jsonReq("POST", "/users/"+bobID+"/force_password_reset", "", alice.access), 403, "forbidden"},
		{"superuser: unknown user's sessions", jsonReq("GET", "/users/"+unknownID+"/sessions", "", admin.access), 404, "not_found"},
		{"superuser: ending an unknown user's sessions", jsonReq("DELETE", "/users/"+unknownID+"/sessions", "", admin.access), 404, "not_found"},
		{"superuser: forcing an unknown user's reset", jsonReq("POST", "/users/"+unknownID+"/force_password_reset", "", admin.access), 404, "not_found"},
		{"superuser: a bad user id", jsonReq("GET", "/users/bob/sessions", "", admin.access), 422, "invalid_request"},
		{"wrong method", jsonReq("POST", "/sessions", "", alice.access), 405, "method_not_allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, e.do(t, tt.req), tt.status, tt.typ)
		})
	}
	if !e.alive(t, bob) {
		t.Fatal("bob's session ended")
	}
	if _, err := e.store.UserByID(t.Context(), bobID); err != nil {
		t.Fatal(err)
	}
}
