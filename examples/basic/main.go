// Command basic shows Gatehouse added to an existing net/http server: the
// application keeps its own routes and handlers, and wraps the ones that
// need a user with the middleware. Its test (main_test.go) shows how the
// application's own unit tests swap in memstore and a fake user.
//
// Run it with:
//
//	go run ./examples/basic
//
// then register and log in through the two small JSON endpoints it exposes
// (the full REST API lives in package httpapi; see examples/server).
package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"sync"

	"github.com/gatehouse-go/gatehouse/auth"
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
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	n.mu.Lock()
	note := n.byID[u.ID]
	n.mu.Unlock()
	json.NewEncoder(w).Encode(map[string]string{"owner": u.Email, "note": note})
}

// newServer builds the application's mux on top of a Manager. Tests call it
// with a Manager over memstore.
func newServer(m *auth.Manager) http.Handler {
	g := middleware.New(m, middleware.Config{})
	n := &notes{byID: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "public page")
	})
	mux.Handle("GET /note", g.RequireAuth(http.HandlerFunc(n.handleGetNote)))
	mux.HandleFunc("POST /register", func(w http.ResponseWriter, r *http.Request) {
		var in struct{ Email, Password string }
		if json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&in) != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		if _, err := m.Register(r.Context(), auth.Registration{Email: in.Email, Password: in.Password}); err != nil {
			http.Error(w, "registration refused", http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusCreated)
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		var in struct{ Email, Password string }
		if json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&in) != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		res, err := m.Login(r.Context(), in.Email, in.Password)
		if err != nil {
			status := http.StatusUnauthorized
			if !errors.Is(err, auth.ErrInvalidCredentials) && !errors.Is(err, auth.ErrInvalidEmail) {
				status = http.StatusInternalServerError
			}
			http.Error(w, http.StatusText(status), status)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(map[string]string{"access_token": res.Tokens.AccessToken})
	})
	return mux
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
	srv := &http.Server{Addr: "127.0.0.1:7373", Handler: newServer(m)}
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
