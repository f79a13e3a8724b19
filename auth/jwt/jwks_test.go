package jwt_test

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-go/gatehouse/auth/jwt"
)

// jwkLine is the JWKS entry for the Ed25519 test key label under kid,
// written without the code under test.
func jwkLine(kid, label string) string {
	x := base64.RawURLEncoding.EncodeToString(testEd25519(label).Public().(ed25519.PublicKey))
	return `{"kty":"OKP","crv":"Ed25519","x":"` + x + `","kid":"` + kid + `","use":"sig","alg":"EdDSA"}`
}

// TestPublicJWKS: the set lists the signing key and then the verify keys
// in their order, Ed25519 only, public halves only.
func TestPublicJWKS(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  jwt.Config
		want []string
	}{
		{
			name: "one signing key",
			cfg:  jwt.Config{SigningKey: edKey(t, "k1", "one")},
			want: []string{jwkLine("k1", "one")},
		},
		{
			name: "signing, retiring and next keys; an HS256 verify key left out",
			cfg: jwt.Config{
				SigningKey: edKey(t, "k2", "two"),
				VerifyKeys: []jwt.Key{
					edPublicKey(t, "k1", "one"),
					hsKey(t, "h1", "secret"),
					edKey(t, "k3", "three"), // a private key given to verify: its public half only
					edKey(t, "k2", "two"),   // the signing key again: ignored
				},
			},
			want: []string{jwkLine("k2", "two"), jwkLine("k1", "one"), jwkLine("k3", "three")},
		},
		{
			name: "an HS256 signing key moving to Ed25519: the next key is published first",
			cfg: jwt.Config{
				SigningKey: hsKey(t, "h1", "secret"),
				VerifyKeys: []jwt.Key{edPublicKey(t, "k1", "one")},
			},
			want: []string{jwkLine("k1", "one")},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			j := newJWT(t, c.cfg)
			got, err := j.PublicJWKS()
			if err != nil {
				t.Fatalf("PublicJWKS: %v", err)
			}
			want := `{"keys":[` + strings.Join(c.want, ",") + `]}`
			if string(got) != want {
				t.Fatalf("PublicJWKS:\n got %s\nwant %s", got, want)
			}
			for _, label := range []string{"one", "two", "three"} {
				priv := testEd25519(label)
				if bytes.Contains(got, []byte(base64.RawURLEncoding.EncodeToString(priv.Seed()))) {
					t.Errorf("the set holds the private key %q", label)
				}
			}
			if bytes.Contains(got, []byte(base64.RawURLEncoding.EncodeToString(testSecret("secret")))) || bytes.Contains(got, []byte(`"oct"`)) {
				t.Errorf("the set holds the HS256 secret: %s", got)
			}
			// Each call returns its own copy.
			clear(got)
			again, err := j.PublicJWKS()
			if err != nil || string(again) != want {
				t.Fatalf("after clearing the first result: %s, %v", again, err)
			}
		})
	}
}

// TestPublicJWKSRefusals: nothing to publish, or a key without an id.
func TestPublicJWKSRefusals(t *testing.T) {
	t.Run("HS256 keys only", func(t *testing.T) {
		j := newJWT(t, jwt.Config{SigningKey: hsKey(t, "h1", "a"), VerifyKeys: []jwt.Key{hsKey(t, "h0", "b")}})
		doc, err := j.PublicJWKS()
		if !errors.Is(err, jwt.ErrNoPublicKeys) || doc != nil {
			t.Fatalf("PublicJWKS = %q, %v; want ErrNoPublicKeys", doc, err)
		}
	})
	t.Run("an Ed25519 key without an id", func(t *testing.T) {
		j := newJWT(t, jwt.Config{SigningKey: edKey(t, "", "one")})
		doc, err := j.PublicJWKS()
		var ce *jwt.ConfigError
		if !errors.As(err, &ce) || !strings.Contains(ce.Reason, "key id") || doc != nil {
			t.Fatalf("PublicJWKS = %q, %v; want a ConfigError about the key id", doc, err)
		}
	})
}

// TestEd25519Thumbprint checks RFC 8037 Appendix A.3's vector and agrees
// with go-jose's RFC 7638 thumbprint on other keys.
func TestEd25519Thumbprint(t *testing.T) {
	pub, err := base64.RawURLEncoding.DecodeString("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
	if err != nil {
		t.Fatal(err)
	}
	got, err := jwt.Ed25519Thumbprint(pub)
	if err != nil || got != "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k" {
		t.Fatalf("Ed25519Thumbprint(RFC 8037 A.3) = %q, %v", got, err)
	}
	for _, label := range []string{"one", "two", "three"} {
		pub := testEd25519(label).Public().(ed25519.PublicKey)
		got, err := jwt.Ed25519Thumbprint(pub)
		if err != nil {
			t.Fatal(err)
		}
		sum, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		if want := base64.RawURLEncoding.EncodeToString(sum); got != want {
			t.Errorf("key %q: Ed25519Thumbprint = %q, go-jose %q", label, got, want)
		}
	}
	var ce *jwt.ConfigError
	if _, err := jwt.Ed25519Thumbprint(pub[:31]); !errors.As(err, &ce) || ce.Field != "pub" {
		t.Fatalf("a 31-byte key: %v", err)
	}
}
