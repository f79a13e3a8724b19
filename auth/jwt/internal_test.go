package jwt

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"
)

// The example JWS of RFC 7515 Appendix A.1 (HS256). The key is the
// published test key of that appendix, not a secret.
const (
	rfc7515A1Token = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9" +
		".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ" +
		".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	rfc7515A1Key = "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"
	rfc7515A1Exp = 1300819380
)

// TestRFC7515A1 runs the RFC 7515 A.1 vector through golang-jwt with the
// parser options New uses (the vector has no typ, aud or sid, so only
// the library configuration is under test here): it verifies before its
// exp, and with the real clock it fails as expired, not as forged.
func TestRFC7515A1(t *testing.T) {
	key, err := base64.RawURLEncoding.DecodeString(rfc7515A1Key)
	if err != nil {
		t.Fatal(err)
	}
	// Check the transcription of the vector independently of the library.
	i := strings.LastIndexByte(rfc7515A1Token, '.')
	m := hmac.New(sha256.New, key)
	m.Write([]byte(rfc7515A1Token[:i]))
	if got := base64.RawURLEncoding.EncodeToString(m.Sum(nil)); got != rfc7515A1Token[i+1:] {
		t.Fatalf("HMAC of the vector = %s", got)
	}

	keyfunc := func(*gojwt.Token) (any, error) { return key, nil }
	parseAt := func(token string, now func() time.Time) error {
		opts := append(baseParserOptions([]string{"HS256"}, DefaultLeeway, now), gojwt.WithIssuer("joe"))
		_, err := gojwt.NewParser(opts...).ParseWithClaims(token, gojwt.MapClaims{}, keyfunc)
		return err
	}
	parse := func(now func() time.Time) error { return parseAt(rfc7515A1Token, now) }
	at := func(unix int64) func() time.Time { return func() time.Time { return time.Unix(unix, 0) } }

	t.Run("before exp", func(t *testing.T) {
		if err := parse(at(rfc7515A1Exp - 1)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("within leeway", func(t *testing.T) {
		if err := parse(at(rfc7515A1Exp + int64(DefaultLeeway/time.Second) - 1)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("real clock", func(t *testing.T) {
		err := parse(time.Now)
		if !errors.Is(err, gojwt.ErrTokenExpired) || errors.Is(err, gojwt.ErrTokenSignatureInvalid) {
			t.Fatalf("err = %v, want expired with a good signature", err)
		}
		if got := mapParseError(err); got != errTokenExpired { //nolint:errorlint // identity of our own value
			t.Fatalf("mapParseError = %v, want %v", got, errTokenExpired)
		}
	})
	t.Run("tampered", func(t *testing.T) {
		// Push exp out by 20 years, keeping the signature.
		parts := strings.Split(rfc7515A1Token, ".")
		p, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil {
			t.Fatal(err)
		}
		later := strings.Replace(string(p), "1300819380", "1930819380", 1)
		if later == string(p) {
			t.Fatal("tampering did not change the payload")
		}
		bad := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(later)) + "." + parts[2]
		if err := parseAt(bad, time.Now); !errors.Is(err, gojwt.ErrTokenSignatureInvalid) {
			t.Fatalf("err = %v, want a bad signature", err)
		}
	})
}

// TestLookupKeyReturnsTypedKeys: the Keyfunc hands the parser a []byte
// only for an HMAC key and an ed25519.PublicKey for an EdDSA key, chosen by
// kid and never by the alg header. SECURITY.md #24.
func TestLookupKeyReturnsTypedKeys(t *testing.T) {
	secret := sha256.Sum256([]byte("typed keys"))
	hs, err := HS256Key("hs", secret[:])
	if err != nil {
		t.Fatal(err)
	}
	ed, err := Ed25519Key("ed", ed25519.NewKeyFromSeed(secret[:]))
	if err != nil {
		t.Fatal(err)
	}
	j, err := New(Config{Issuer: "i", Audience: "a", SigningKey: hs, VerifyKeys: []Key{ed}})
	if err != nil {
		t.Fatal(err)
	}
	tok := func(alg, kid string) *gojwt.Token {
		h := map[string]any{"alg": alg, "typ": "at+jwt"}
		if kid != "" {
			h["kid"] = kid
		}
		return &gojwt.Token{Header: h, Method: gojwt.GetSigningMethod(alg)}
	}

	got, err := j.lookupKey(tok("EdDSA", "ed"))
	if _, ok := got.(ed25519.PublicKey); !ok || err != nil {
		t.Errorf("EdDSA kid: got %T, %v; want ed25519.PublicKey", got, err)
	}
	got, err = j.lookupKey(tok("HS256", "hs"))
	if _, ok := got.([]byte); !ok || err != nil {
		t.Errorf("HS256 kid: got %T, %v; want []byte", got, err)
	}
	got, err = j.lookupKey(tok("HS256", ""))
	if _, ok := got.([]byte); !ok || err != nil {
		t.Errorf("no kid: got %T, %v; want the signing key", got, err)
	}
	for _, tc := range []struct{ alg, kid string }{{"HS256", "ed"}, {"EdDSA", "hs"}, {"EdDSA", ""}} {
		if got, err := j.lookupKey(tok(tc.alg, tc.kid)); got != nil || !errors.Is(err, errTokenKeyAlg) {
			t.Errorf("alg %s with kid %q: got %T, %v; want no key", tc.alg, tc.kid, got, err)
		}
	}
	for _, k := range j.keys {
		if _, isBytes := k.verify.([]byte); isBytes != (k.method == gojwt.SigningMethodHS256) {
			t.Errorf("key %q (%s) verifies with %T", k.id, k.method.Alg(), k.verify)
		}
	}
}

// TestOnlyExpired checks the reading of golang-jwt's claim errors: a token
// is expired only when expiry is its sole failure. SECURITY.md #26.
func TestOnlyExpired(t *testing.T) {
	claims := func(errs ...error) error {
		return fmt.Errorf("%w: %w", gojwt.ErrTokenInvalidClaims, errors.Join(errs...))
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"expired", claims(gojwt.ErrTokenExpired), true},
		{"expired twice wrapped", fmt.Errorf("x: %w", claims(gojwt.ErrTokenExpired)), true},
		{"expired and audience", claims(gojwt.ErrTokenExpired, gojwt.ErrTokenInvalidAudience), false},
		{"expired and a wrapped unknown error", claims(gojwt.ErrTokenExpired, fmt.Errorf("y: %w", errors.New("z"))), false},
		{"audience", claims(gojwt.ErrTokenInvalidAudience), false},
		{"claims only", gojwt.ErrTokenInvalidClaims, false},
		{"bad signature", fmt.Errorf("%w: %w", gojwt.ErrTokenSignatureInvalid, gojwt.ErrSignatureInvalid), false},
		{"nil", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := onlyExpired(tc.err); got != tc.want {
				t.Errorf("onlyExpired(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}
