package middleware_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/store/memstore"
)

func Example() {
	m, err := auth.New(auth.Config{Store: memstore.New(), Mailer: mail.Discard{}, Tokens: auth.TokenConfig{SigningKey: key}})
	if err != nil {
		fmt.Println(err)
		return
	}
	g := middleware.New(m, middleware.Config{})

	// An existing server's mux: one public route, one protected route.
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello, world")
	})
	mux.Handle("GET /me", g.RequireAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := auth.UserFromContext(r.Context())
		io.WriteString(w, "hello, "+u.Email)
	})))

	ctx := context.Background()
	m.Register(ctx, auth.Registration{Email: "ada@example.com", Password: "correct horse battery staple"})
	res, _ := m.Login(ctx, "ada@example.com", "correct horse battery staple")

	for _, token := range []string{"", res.Tokens.AccessToken} {
		r := httptest.NewRequest("GET", "/me", nil)
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		fmt.Println(w.Code, w.Header().Get("WWW-Authenticate"), w.Body.String())
	}
	// Output:
	// 401 Bearer {"detail":{"message":"Not authenticated","error_type":"invalid_token"},"message":"Not authenticated","error_type":"invalid_token"}
	// 200  hello, ada@example.com
}
