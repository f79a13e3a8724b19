package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/authtest"
	"github.com/gatehouse-go/gatehouse/store"
)

// The smallest handler test needs no Manager at all: put a user into the
// context.
func TestHandleGetNoteWithFakeUser(t *testing.T) {
	n := &notes{byID: map[string]string{"u1": "buy milk"}}
	r := httptest.NewRequest("GET", "/note", nil)
	r = r.WithContext(auth.ContextWithUser(r.Context(), &store.User{ID: "u1", Email: "ada@example.com"}))
	w := httptest.NewRecorder()
	n.handleGetNote(w, r)
	if w.Code != 200 || !strings.Contains(w.Body.String(), "buy milk") {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
}

// A handler test with the test kit: a real Manager on memstore, a user, a
// logged-in request through the middleware.
func TestHandleGetNote(t *testing.T) {
	kit := authtest.New(t)
	u := kit.User(t, "ada@example.com")
	n := &notes{byID: map[string]string{u.ID: "buy milk"}}
	w := httptest.NewRecorder()
	kit.Guard.RequireAuth(http.HandlerFunc(n.handleGetNote)).ServeHTTP(w, kit.LogIn(t, "ada@example.com").Request("GET", "/note", nil))
	if w.Code != 200 || !strings.Contains(w.Body.String(), "buy milk") {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
}

// A whole-server test runs the application's mux on the kit's Manager.
func TestProtectedRoute(t *testing.T) {
	kit := authtest.New(t)
	srv := httptest.NewServer(newServer(kit.Manager, slog.New(slog.DiscardHandler)))
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/note")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("anonymous /note: %d", resp.StatusCode)
	}

	kit.User(t, "ada@example.com")
	req, _ := http.NewRequest("GET", srv.URL+"/note", nil)
	kit.LogIn(t, "ada@example.com").Authorize(req)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("authenticated /note: %d", resp.StatusCode)
	}
}

// TestThrottledLoginIs429: after five wrong passwords the account is
// throttled: the sixth attempt, and the right password too while the wait
// lasts, get 429 with Retry-After, never 500. The kit's clock stands
// still, so the wait cannot run out during the test.
func TestThrottledLoginIs429(t *testing.T) {
	kit := authtest.New(t)
	srv := httptest.NewServer(newServer(kit.Manager, slog.New(slog.DiscardHandler)))
	defer srv.Close()
	post := func(path, email, password string) (*http.Response, map[string]any) {
		t.Helper()
		body, _ := json.Marshal(map[string]string{"email": email, "password": password})
		resp, err := http.Post(srv.URL+path, "application/json", strings.NewReader(string(body)))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var v map[string]any
		if len(b) > 0 {
			if err := json.Unmarshal(b, &v); err != nil {
				t.Fatalf("%s: %d, body is not JSON: %s", path, resp.StatusCode, b)
			}
		}
		return resp, v
	}
	const email, pw = "ada@example.com", "correct horse battery staple"
	if resp, _ := post("/register", email, pw); resp.StatusCode != http.StatusCreated {
		t.Fatalf("register: %d", resp.StatusCode)
	}
	for i := range 5 {
		resp, v := post("/login", email, "wrong horse battery staple")
		if resp.StatusCode != http.StatusUnauthorized || v["error_type"] != "invalid_credentials" || resp.Header.Get("Retry-After") != "" {
			t.Fatalf("wrong password %d: %d %v", i+1, resp.StatusCode, v)
		}
	}
	for _, tc := range []struct{ name, password string }{{"sixth wrong password", "wrong horse battery staple"}, {"right password while throttled", pw}} {
		resp, v := post("/login", email, tc.password)
		secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
		if resp.StatusCode != http.StatusTooManyRequests || v["error_type"] != "rate_limited" || err != nil || secs < 1 {
			t.Fatalf("%s: %d %v, Retry-After %q; want 429 rate_limited with Retry-After", tc.name, resp.StatusCode, v, resp.Header.Get("Retry-After"))
		}
		if _, ok := v["access_token"]; ok {
			t.Fatalf("%s: tokens in a refusal", tc.name)
		}
	}
	// Once the wait has passed, the right password logs in.
	kit.Advance(time.Minute)
	if resp, v := post("/login", email, pw); resp.StatusCode != 200 || v["access_token"] == nil {
		t.Fatalf("after the wait: %d %v", resp.StatusCode, v)
	}
}

// TestErrorsAreJSON: the application's refusals, its own and the
// middleware's, have the /v2 shape.
func TestErrorsAreJSON(t *testing.T) {
	kit := authtest.New(t)
	srv := httptest.NewServer(newServer(kit.Manager, slog.New(slog.DiscardHandler)))
	defer srv.Close()
	for _, tc := range []struct {
		method, path, body string
		status             int
		typ                string
	}{
		{"GET", "/note", "", 401, "invalid_token"},
		{"POST", "/login", "not json", 422, "invalid_request"},
		{"POST", "/register", `{"email":"not an email","password":"correct horse battery staple"}`, 422, "invalid_email"},
		{"POST", "/register", `{"email":"ada@example.com","password":"short"}`, 400, "weak_password"},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var v struct {
			Detail struct {
				Message   string
				ErrorType string `json:"error_type"`
			}
			Message   string
			ErrorType string `json:"error_type"`
		}
		err = json.NewDecoder(resp.Body).Decode(&v)
		resp.Body.Close()
		if err != nil || resp.StatusCode != tc.status || v.ErrorType != tc.typ || v.Detail.ErrorType != tc.typ || v.Message == "" {
			t.Errorf("%s %s: %d %+v (%v), want %d %s", tc.method, tc.path, resp.StatusCode, v, err, tc.status, tc.typ)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s %s: Content-Type %q", tc.method, tc.path, ct)
		}
	}
}
