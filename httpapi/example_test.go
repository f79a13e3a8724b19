package httpapi_test

import (
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/httpapi"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/store/memstore"
)

// ExampleAPI_Mount serves the API under /v2 on the same mux as an
// application's own routes.
func ExampleAPI_Mount() {
	key := make([]byte, 32)
	rand.Read(key)
	m, err := auth.New(auth.Config{Store: memstore.New(), Mailer: mail.Discard{}, Tokens: auth.TokenConfig{SigningKey: key}})
	if err != nil {
		panic(err)
	}
	api, err := httpapi.New(m, httpapi.Config{})
	if err != nil {
		panic(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "the application's home page")
	})
	api.Mount(mux) // everything under /v2/

	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, path := range []string{"/", "/v2/health", "/v2/user"} {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		fmt.Println(res.StatusCode, string(body))
	}
	// Output:
	// 200 the application's home page
	// 200 {"results":{"response":"ok"}}
	// 401 {"detail":{"message":"Not authenticated","error_type":"invalid_token"},"message":"Not authenticated","error_type":"invalid_token"}
}
