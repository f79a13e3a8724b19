package fedtest

import (
	"crypto/rand"
	"crypto/rsa"
	"net"
	"net/http"
	"testing"

	"github.com/oauth2-proxy/mockoidc"
)

// StartOIDC starts an in-process OpenID Connect provider
// (github.com/oauth2-proxy/mockoidc) on a loopback port, with the
// middlewares mw in front of it, and shuts it down when the test ends.
// Its Config names the issuer, client ID and secret.
func StartOIDC(tb testing.TB, mw ...func(http.Handler) http.Handler) *mockoidc.MockOIDC {
	tb.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	op, err := mockoidc.NewServer(key)
	if err != nil {
		tb.Fatalf("mockoidc: %v", err)
	}
	for _, m := range mw {
		if err := op.AddMiddleware(m); err != nil {
			tb.Fatalf("mockoidc: %v", err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	if err := op.Start(ln, nil); err != nil {
		tb.Fatalf("mockoidc: %v", err)
	}
	tb.Cleanup(func() { _ = op.Shutdown() })
	return op
}
