package auth

import (
	"testing"

	"github.com/gatehouse-go/gatehouse/auth/jwt"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/store/memstore"
)

// TestVerifiedTokenCacheDefault: the cache is on by default with the
// built-in JWT and with a jwt.Issuer through JWT, off by default with any
// other issuer, and off when asked.
func TestVerifiedTokenCacheDefault(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	hs, err := jwt.HS256Key("", key)
	if err != nil {
		t.Fatal(err)
	}
	j, err := jwt.New(jwt.Config{Issuer: "gatehouse", Audience: "gatehouse", SigningKey: hs})
	if err != nil {
		t.Fatal(err)
	}
	custom := struct{ TokenIssuer }{JWT(j)} // same verdicts, but not known to be stable
	tests := []struct {
		name   string
		tokens TokenIssuer
		size   int
		want   int // 0: off
	}{
		{"built-in, default", nil, 0, DefaultVerifiedTokenCacheSize},
		{"built-in, sized", nil, 10, 10},
		{"built-in, off", nil, -1, 0},
		{"jwt.Issuer, default", JWT(j), 0, DefaultVerifiedTokenCacheSize},
		{"jwt.Issuer, off", JWT(j), -1, 0},
		{"custom, default", custom, 0, 0},
		{"custom, sized", custom, 10, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := New(Config{Store: memstore.New(), Mailer: mail.Discard{}, Tokens: TokenConfig{SigningKey: key, Issuer: tt.tokens, VerifiedCacheSize: tt.size}})
			if err != nil {
				t.Fatal(err)
			}
			got := 0
			if m.tokenCache != nil {
				got = m.tokenCache.Max()
			}
			if got != tt.want {
				t.Fatalf("cache size %d, want %d", got, tt.want)
			}
		})
	}
}
