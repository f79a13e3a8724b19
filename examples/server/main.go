// Command server is Gatehouse's example server: a runnable auth server with
// no set-up.
//
//	go run ./examples/server
package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/store/memstore"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:7272", "address to listen on")
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(*addr, logger); err != nil {
		log.Fatal(err)
	}
}

func run(addr string, logger *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	key := make([]byte, 32)
	rand.Read(key)
	m, err := auth.New(auth.Config{Store: memstore.New(), Mailer: mail.NewLog(logger), SigningKey: key, Logger: logger})
	if err != nil {
		return err
	}
	if err := ensureAdmin(ctx, m); err != nil {
		return err
	}
	g := middleware.New(m, middleware.Config{Logger: logger})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v2/health", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"results":{"response":"ok"}}`)
	})
	mux.HandleFunc("POST /v2/login", func(w http.ResponseWriter, r *http.Request) {
		res, err := m.Login(r.Context(), r.FormValue("username"), r.FormValue("password"))
		if err != nil {
			http.Error(w, "invalid credentials", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(map[string]any{"results": map[string]any{
			"access_token":  map[string]string{"token": res.Tokens.AccessToken, "token_type": "access"},
			"refresh_token": map[string]string{"token": res.Tokens.RefreshToken, "token_type": "refresh"},
		}})
	})
	mux.Handle("GET /v2/user", g.RequireAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := auth.UserFromContext(r.Context())
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(map[string]any{"results": map[string]any{"id": u.ID, "email": u.Email, "is_superuser": u.IsSuperuser}})
	})))

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Printf("listening on http://%s\n", ln.Addr())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return m.Flush(sctx)
}

// ensureAdmin creates the first superuser from GATEHOUSE_ADMIN_EMAIL and
// GATEHOUSE_ADMIN_PASSWORD, or with a random password printed once.
func ensureAdmin(ctx context.Context, m *auth.Manager) error {
	email, password := os.Getenv("GATEHOUSE_ADMIN_EMAIL"), os.Getenv("GATEHOUSE_ADMIN_PASSWORD")
	if email == "" {
		email, password = "admin@localhost.localdomain", rand.Text()
		fmt.Printf("admin: %s with password %s (printed once)\n", email, password)
	}
	_, err := m.EnsureSuperuser(ctx, email, password)
	return err
}
