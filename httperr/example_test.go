package httperr_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/httperr"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/store/memstore"
)

// An application's own login handler answers every error of the Manager
// with Write: wrong passwords are 401, and once the account is throttled
// every attempt, the right password included, is 429 with Retry-After.
func ExampleWrite() {
	key := make([]byte, 32)
	rand.Read(key) // a real application loads a persistent key
	m, err := auth.New(auth.Config{
		Store: memstore.New(), Mailer: mail.Discard{}, Tokens: auth.TokenConfig{SigningKey: key},
		Now: func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	logger := slog.New(slog.DiscardHandler) // the application's logger: it gets the details of 500s

	login := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct{ Email, Password string }
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&in); err != nil {
			httperr.Write(w, r, &httperr.Error{Status: http.StatusUnprocessableEntity, Type: httperr.TypeInvalidRequest, Message: "Malformed JSON"}, logger)
			return
		}
		res, err := m.Login(r.Context(), in.Email, in.Password)
		if err != nil {
			httperr.Write(w, r, err, logger)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(map[string]string{"access_token": res.Tokens.AccessToken})
	})

	m.Register(context.Background(), auth.Registration{Email: "ada@example.com", Password: "correct horse battery staple"})
	for _, pw := range []string{"wrong", "wrong", "wrong", "wrong", "wrong", "correct horse battery staple"} {
		body := `{"email": "ada@example.com", "password": "` + pw + `"}`
		w := httptest.NewRecorder()
		login.ServeHTTP(w, httptest.NewRequest("POST", "/login", strings.NewReader(body)))
		fmt.Println(w.Code, w.Header().Get("Retry-After"), w.Body.String())
	}
	// Output:
	// 401  {"detail":{"message":"Incorrect email or password","error_type":"invalid_credentials"},"message":"Incorrect email or password","error_type":"invalid_credentials"}
	// 401  {"detail":{"message":"Incorrect email or password","error_type":"invalid_credentials"},"message":"Incorrect email or password","error_type":"invalid_credentials"}
	// 401  {"detail":{"message":"Incorrect email or password","error_type":"invalid_credentials"},"message":"Incorrect email or password","error_type":"invalid_credentials"}
	// 401  {"detail":{"message":"Incorrect email or password","error_type":"invalid_credentials"},"message":"Incorrect email or password","error_type":"invalid_credentials"}
	// 401  {"detail":{"message":"Incorrect email or password","error_type":"invalid_credentials"},"message":"Incorrect email or password","error_type":"invalid_credentials"}
	// 429 1 {"detail":{"message":"Too many attempts, try again later","error_type":"rate_limited"},"message":"Too many attempts, try again later","error_type":"rate_limited"}
}
