package middleware_test

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/middleware"
)

// FuzzBearerToken: any Authorization header value gives a token, "no
// token" or ErrTokenInvalid; a token returned is exactly the header's
// credential, never empty, never containing spaces, and never from a header
// over the cap (SECURITY.md #33, #65).
func FuzzBearerToken(f *testing.F) {
	for _, s := range []string{"Bearer abc.def.ghi", "bearer x", "Basic dXNlcjpwdw==", "Bearer ", "Bearer  a b", "BEARER\tx", strings.Repeat(".", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header["Authorization"] = []string{h}
		tok, err := middleware.BearerToken(r)
		switch {
		case err == nil:
			if tok == "" || strings.ContainsAny(tok, " \t") || len(h) > middleware.MaxAuthorizationBytes {
				t.Fatalf("token %q from header %q", tok, h)
			}
			if !strings.HasSuffix(h, tok) || !strings.EqualFold(h[:6], "bearer") {
				t.Fatalf("token %q is not the header's credential (%q)", tok, h)
			}
		case errors.Is(err, middleware.ErrNoToken), errors.Is(err, auth.ErrTokenInvalid):
			if tok != "" {
				t.Fatalf("token %q returned with error %v", tok, err)
			}
		default:
			t.Fatalf("unexpected error %v", err)
		}
	})
}
