package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/memstore"
)

// A handler test needs no tokens at all: put a user into the context.
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

// A whole-server test swaps in memstore and goes through the middleware.
func TestProtectedRouteWithMemstore(t *testing.T) {
	m, err := newManager(memstore.New())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(newServer(m))
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/note")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("anonymous /note: %d", resp.StatusCode)
	}

	ctx := context.Background()
	if _, err := m.Register(ctx, auth.Registration{Email: "ada@example.com", Password: "correct horse battery staple"}); err != nil {
		t.Fatal(err)
	}
	res, err := m.Login(ctx, "ada@example.com", "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/note", nil)
	req.Header.Set("Authorization", "Bearer "+res.Tokens.AccessToken)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("authenticated /note: %d", resp.StatusCode)
	}
}
