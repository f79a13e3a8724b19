// Command basic shows Gatehouse added to an existing net/http server: the
// application keeps its own routes and handlers, and wraps the ones that
// need a user with the middleware. Its test (main_test.go) shows how the
// application's own unit tests run on package authtest, the test kit (a
// Manager on memstore, users, logged-in requests), or put a fake user into
// the context.
//
// Run it with:
//
//	go run ./examples/basic
//
// then register and log in through the two small JSON endpoints it exposes
// (the full REST API lives in package httpapi; see examples/server). Its
// handlers answer the Manager's errors with package httperr, so a wrong
// password is 401, a throttled login 429 with Retry-After, and every error
// body the JSON shape of the /v2 API.
package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"time"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/httperr"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/memstore"
)

// notes is the application's own state: a note per user.
type notes struct {
	mu   sync.Mutex
	byID map[string]string
}

// handleGetNote is an application handler. It reads the user the middleware
// put into the context and never sees tokens.
func (n *notes) handleGetNote(w http.ResponseWriter, r *http.Request) {
	u, ok := auth.UserFromContext(r.Context())
	if !ok {
		httperr.Write(w, r, auth.ErrUnauthenticated, nil)
		return
	}
	n.mu.Lock()
	note := n.byID[u.ID]
	n.mu.Unlock()
	writeJSON(w, map[string]string{"owner": u.Email, "note": note})
}

// errMalformed answers a body that is not the JSON object expected. An
// *httperr.Error is the application's own answer in the library's shape.
var errMalformed = &httperr.Error{Status: http.StatusUnprocessableEntity, Type: httperr.TypeInvalidRequest, Message: "Send a JSON object with email and password"}

// credentials reads {"email", "password"} from the request body.
func credentials(w http.ResponseWriter, r *http.Request) (email, password string, err error) {
	var in struct{ Email, Password string }
	if json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&in) != nil {
		return "", "", errMalformed
	}
	return in.Email, in.Password, nil
}

// newServer builds the application's mux on top of a Manager. Tests call it
// with a Manager over memstore. Every error of the Manager is answered by
// httperr.Write: the status and JSON body the library's /v2 API gives it
// (401 for a wrong password, 429 with Retry-After once throttled, a
// generic 500 whose details go only to logger).
func newServer(m *auth.Manager, logger *slog.Logger) http.Handler {
	g := middleware.New(m, middleware.Config{Logger: logger})
	n := &notes{byID: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "public page")
	})
	// Refusals (no or bad token) are the /v2 JSON body too.
	mux.Handle("GET /note", g.RequireAuth(http.HandlerFunc(n.handleGetNote)))
	mux.HandleFunc("POST /register", func(w http.ResponseWriter, r *http.Request) {
		email, password, err := credentials(w, r)
		if err == nil {
			_, err = m.Register(r.Context(), auth.Registration{Email: email, Password: password})
		}
		if err != nil {
			httperr.Write(w, r, err, logger)
			return
		}
		w.WriteHeader(http.StatusCreated)
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		email, password, err := credentials(w, r)
		var res *auth.LoginResult
		if err == nil {
			res, err = m.Login(r.Context(), email, password)
		}
		if err != nil {
			httperr.Write(w, r, err, logger)
			return
		}
		writeJSON(w, map[string]string{"access_token": res.Tokens.AccessToken})
	})
	return g.WithClient(mux) // per-IP limits see the client
}

// writeJSON answers 200 with v; answers with tokens or user data are never
// cached.
func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(v)
}

// newManager is the one place that chooses the store: memstore here, a
// sqlstore in production.
func newManager(s store.Store) (*auth.Manager, error) {
	key := make([]byte, 32)
	rand.Read(key) // a real application loads a persistent key
	return auth.New(auth.Config{Store: s, Mailer: mail.Discard{}, Tokens: auth.TokenConfig{SigningKey: key}})
}

func main() {
	m, err := newManager(memstore.New())
	if err != nil {
		log.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	srv := &http.Server{Addr: "127.0.0.1:7373", Handler: newServer(m, logger), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		defer stop()
		<-ctx.Done()
		srv.Shutdown(context.Background())
	}()
	log.Printf("listening on http://%s", srv.Addr)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}
