package jwt_test

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse-go/gatehouse/auth/jwt"
)

const (
	testIssuer   = "https://auth.example.test"
	testAudience = "api"
)

// t0 is the fixed "now" of the JWT tests.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func fixedNow() time.Time { return t0 }

// testSecret derives a 32-byte test secret from label, so that no key
// literal appears in the repository.
func testSecret(label string) []byte {
	s := sha256.Sum256([]byte("gatehouse jwt test key: " + label))
	return s[:]
}

func testEd25519(label string) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(testSecret(label))
}

func hsKey(tb testing.TB, id, label string) jwt.Key {
	tb.Helper()
	k, err := jwt.HS256Key(id, testSecret(label))
	if err != nil {
		tb.Fatalf("HS256Key(%q): %v", id, err)
	}
	return k
}

func edKey(tb testing.TB, id, label string) jwt.Key {
	tb.Helper()
	k, err := jwt.Ed25519Key(id, testEd25519(label))
	if err != nil {
		tb.Fatalf("Ed25519Key(%q): %v", id, err)
	}
	return k
}

func edPublicKey(tb testing.TB, id, label string) jwt.Key {
	tb.Helper()
	k, err := jwt.Ed25519PublicKey(id, testEd25519(label).Public().(ed25519.PublicKey))
	if err != nil {
		tb.Fatalf("Ed25519PublicKey(%q): %v", id, err)
	}
	return k
}

// newJWT builds a JWT from cfg, filling in the test issuer, audience and
// fixed clock when they are unset.
func newJWT(tb testing.TB, cfg jwt.Config) *jwt.Issuer {
	tb.Helper()
	if cfg.Issuer == "" {
		cfg.Issuer = testIssuer
	}
	if cfg.Audience == "" {
		cfg.Audience = testAudience
	}
	if cfg.Now == nil {
		cfg.Now = fixedNow
	}
	j, err := jwt.New(cfg)
	if err != nil {
		tb.Fatalf("NewJWT: %v", err)
	}
	return j
}

func testClaims(now time.Time) jwt.Claims {
	return jwt.Claims{
		UserID:    "user-1",
		SessionID: "sess-1",
		ID:        "tok-1",
		IssuedAt:  now,
		ExpiresAt: now.Add(15 * time.Minute),
	}
}

func issue(tb testing.TB, j *jwt.Issuer, c jwt.Claims) string {
	tb.Helper()
	tok, err := j.Issue(context.Background(), c)
	if err != nil {
		tb.Fatalf("Issue: %v", err)
	}
	return tok
}

// Hand-made tokens. The tests build hostile tokens without the code under
// test, from JSON, base64url and the raw signature primitives.

func seg(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func hsSigner(secret []byte) func(string) string {
	return func(input string) string {
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(input))
		return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	}
}

func edSigner(priv ed25519.PrivateKey) func(string) string {
	return func(input string) string {
		return base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv, []byte(input)))
	}
}

func craft(tb testing.TB, header, claims any, sign func(string) string) string {
	tb.Helper()
	input := seg(tb, header) + "." + seg(tb, claims)
	return input + "." + sign(input)
}

type obj = map[string]any

func header(alg, kid string) obj {
	h := obj{"alg": alg, "typ": "at+jwt"}
	if kid != "" {
		h["kid"] = kid
	}
	return h
}

func payload(now time.Time) obj {
	return obj{
		"iss": testIssuer,
		"sub": "user-1",
		"aud": testAudience,
		"exp": now.Add(15 * time.Minute).Unix(),
		"iat": now.Unix(),
		"jti": "tok-1",
		"sid": "sess-1",
	}
}

// with returns a copy of m with the given keys set; a nil value deletes
// the key.
func with(m obj, kv ...any) obj {
	out := maps.Clone(m)
	for i := 0; i < len(kv); i += 2 {
		k := kv[i].(string)
		if kv[i+1] == nil {
			delete(out, k)
		} else {
			out[k] = kv[i+1]
		}
	}
	return out
}

func decodeSegment(tb testing.TB, token string, i int) obj {
	tb.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		tb.Fatalf("token has %d segments", len(parts))
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(parts[i])
	if err != nil {
		tb.Fatalf("segment %d: %v", i, err)
	}
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	var m obj
	if err := d.Decode(&m); err != nil {
		tb.Fatalf("segment %d: %v", i, err)
	}
	return m
}

// paddedHeaderToken returns a token, correctly signed over its text,
// whose header segment carries base64 "=" padding.
func paddedHeaderToken(tb testing.TB, hdr, claims obj, sign func(string) string) string {
	tb.Helper()
	for pad := ""; ; pad += "x" {
		h := seg(tb, with(hdr, "x", pad))
		if len(h)%4 != 0 {
			input := h + strings.Repeat("=", 4-len(h)%4) + "." + seg(tb, claims)
			return input + "." + sign(input)
		}
	}
}

// flipUnusedBits changes the last character of token so that it decodes to
// the same bytes under lax base64 but is not canonical (RFC 4648 §3.5).
func flipUnusedBits(tb testing.TB, token string) string {
	tb.Helper()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, token[len(token)-1])
	if last < 0 {
		tb.Fatal("token does not end in base64url")
	}
	return token[:len(token)-1] + string(alphabet[last^1])
}

type verifyWant int

const (
	wantValid verifyWant = iota
	wantExpired
	wantInvalid
)

// checkVerify runs Verify and checks the outcome. For an invalid token,
// reason must appear in the error text, so that a case cannot pass for a
// reason other than the one it tests.
func checkVerify(t *testing.T, j *jwt.Issuer, token string, want verifyWant, reason string) *jwt.Claims {
	t.Helper()
	c, err := j.Verify(context.Background(), token)
	switch want {
	case wantValid:
		if err != nil {
			t.Fatalf("Verify: %v, want a valid token", err)
		}
		if c == nil {
			t.Fatal("Verify returned nil claims and no error")
		}
		return c
	case wantExpired:
		if !errors.Is(err, jwt.ErrExpired) || errors.Is(err, jwt.ErrInvalid) {
			t.Fatalf("Verify: %v, want only ErrTokenExpired", err)
		}
	case wantInvalid:
		if !errors.Is(err, jwt.ErrInvalid) || errors.Is(err, jwt.ErrExpired) {
			t.Fatalf("Verify: %v, want only ErrTokenInvalid", err)
		}
		if !strings.Contains(err.Error(), reason) {
			t.Fatalf("Verify: %v, want the reason %q", err, reason)
		}
	}
	if c != nil {
		t.Fatalf("Verify returned claims %+v with an error", c)
	}
	return nil
}

// TestJWTVerifyCorpus is the negative corpus of SECURITY.md §3 item 2, in
// the shape of golang-jwt's parser_test.go: one token, one issuer, one
// expected outcome per row.
func TestJWTVerifyCorpus(t *testing.T) {
	hsSecret := testSecret("k1")
	edPriv := testEd25519("ed1")
	edPub := edPriv.Public().(ed25519.PublicKey)
	attackerSecret := testSecret("attacker")
	attackerEd := testEd25519("attacker")

	// mixed signs with HS256 "k1" and also accepts Ed25519 "ed1".
	mixed := newJWT(t, jwt.Config{
		SigningKey: hsKey(t, "k1", "k1"),
		VerifyKeys: []jwt.Key{edPublicKey(t, "ed1", "ed1")},
	})
	hsOnly := newJWT(t, jwt.Config{SigningKey: hsKey(t, "k1", "k1")})
	edOnly := newJWT(t, jwt.Config{SigningKey: edKey(t, "ed1", "ed1")})
	anonOnly := newJWT(t, jwt.Config{SigningKey: hsKey(t, "", "k1")})

	hs := hsSigner(hsSecret)
	ed := edSigner(edPriv)
	good := payload(t0)
	hdr := header("HS256", "k1")
	leeway := jwt.DefaultLeeway
	unix := func(d time.Duration) int64 { return t0.Add(d).Unix() }
	valid := craft(t, hdr, good, hs)
	validInput := valid[:strings.LastIndexByte(valid, '.')]

	noneToken := func(alg string, sig bool) string {
		input := seg(t, with(hdr, "alg", alg)) + "." + seg(t, good)
		if sig {
			return input + "." + hs(input)
		}
		return input + "."
	}

	tests := []struct {
		name   string
		j      *jwt.Issuer
		token  string
		want   verifyWant
		reason string
	}{
		{name: "valid HS256", j: mixed, token: valid},
		{name: "valid EdDSA by kid", j: mixed, token: craft(t, header("EdDSA", "ed1"), good, ed)},
		{name: "valid EdDSA-only issuer", j: edOnly, token: craft(t, header("EdDSA", "ed1"), good, ed)},

		// SECURITY.md #25: alg none in every casing, with and without a signature.
		{name: "#25 alg none no sig", j: mixed, token: noneToken("none", false), want: wantInvalid, reason: "algorithm"},
		{name: "#25 alg none with sig", j: mixed, token: noneToken("none", true), want: wantInvalid, reason: "algorithm"},
		{name: "#25 alg None no sig", j: mixed, token: noneToken("None", false), want: wantInvalid, reason: "algorithm"},
		{name: "#25 alg None with sig", j: mixed, token: noneToken("None", true), want: wantInvalid, reason: "algorithm"},
		{name: "#25 alg NONE no sig", j: mixed, token: noneToken("NONE", false), want: wantInvalid, reason: "algorithm"},
		{name: "#25 alg NONE with sig", j: mixed, token: noneToken("NONE", true), want: wantInvalid, reason: "algorithm"},
		{name: "#25 alg nOnE no sig", j: mixed, token: noneToken("nOnE", false), want: wantInvalid, reason: "algorithm"},
		{name: "#25 alg nOnE with sig", j: mixed, token: noneToken("nOnE", true), want: wantInvalid, reason: "algorithm"},
		{name: "#25 alg missing", j: mixed, token: craft(t, with(hdr, "alg", nil), good, hs), want: wantInvalid, reason: "algorithm"},
		{name: "#25 alg HS512", j: mixed, token: craft(t, with(hdr, "alg", "HS512"), good, hs), want: wantInvalid, reason: "algorithm not allowed"},

		// SECURITY.md #24: the alg header never chooses the key type.
		{name: "#24 HS256 token to Ed25519 issuer, public key as HMAC secret", j: edOnly,
			token: craft(t, header("HS256", "ed1"), good, hsSigner(edPub)), want: wantInvalid, reason: "algorithm not allowed"},
		{name: "#24 EdDSA token to HS256 issuer", j: hsOnly,
			token: craft(t, header("EdDSA", "k1"), good, ed), want: wantInvalid, reason: "algorithm not allowed"},
		{name: "#24 HS256 token naming an Ed25519 kid", j: mixed,
			token: craft(t, header("HS256", "ed1"), good, hsSigner(edPub)), want: wantInvalid, reason: "algorithm does not match the key"},
		{name: "#24 EdDSA token naming an HS256 kid", j: mixed,
			token: craft(t, header("EdDSA", "k1"), good, ed), want: wantInvalid, reason: "algorithm does not match the key"},

		// SECURITY.md #27, #28: required and matching registered claims.
		{name: "#27 no exp", j: mixed, token: craft(t, hdr, with(good, "exp", nil), hs), want: wantInvalid, reason: "missing required claim"},
		{name: "#27 exp null", j: mixed, token: craft(t, hdr, with(good, "exp", json.RawMessage("null")), hs), want: wantInvalid, reason: "malformed"},
		{name: "#27 exp not a number", j: mixed, token: craft(t, hdr, with(good, "exp", true), hs), want: wantInvalid, reason: "malformed"},
		// RFC 7519 §2: a NumericDate is a JSON number, never a string,
		// even one that spells a number (golang-jwt accepts those).
		{name: "#27 exp as a string", j: mixed, token: craft(t, hdr, with(good, "exp", strconv.FormatInt(unix(time.Hour), 10)), hs), want: wantInvalid, reason: "malformed"},
		{name: "#27 far exp as a string", j: mixed, token: craft(t, hdr, with(good, "exp", "2796559616"), hs), want: wantInvalid, reason: "malformed"},
		{name: "#27 nbf as a string", j: mixed, token: craft(t, hdr, with(good, "nbf", strconv.FormatInt(unix(-time.Minute), 10)), hs), want: wantInvalid, reason: "malformed"},
		{name: "#27 iat as a string", j: mixed, token: craft(t, hdr, with(good, "iat", strconv.FormatInt(unix(-time.Minute), 10)), hs), want: wantInvalid, reason: "malformed"},
		{name: "#27 exp as a fraction", j: mixed, token: craft(t, hdr, with(good, "exp", json.Number(strconv.FormatInt(unix(time.Hour), 10)+".5")), hs)},
		{name: "#28 no iss", j: mixed, token: craft(t, hdr, with(good, "iss", nil), hs), want: wantInvalid, reason: "missing required claim"},
		{name: "#28 wrong iss", j: mixed, token: craft(t, hdr, with(good, "iss", "https://other.test"), hs), want: wantInvalid, reason: "wrong issuer"},
		{name: "#28 no aud", j: mixed, token: craft(t, hdr, with(good, "aud", nil), hs), want: wantInvalid, reason: "missing required claim"},
		{name: "#28 aud []", j: mixed, token: craft(t, hdr, with(good, "aud", []string{}), hs), want: wantInvalid, reason: "missing required claim"},
		{name: "#28 aud [other]", j: mixed, token: craft(t, hdr, with(good, "aud", []string{"other"}), hs), want: wantInvalid, reason: "wrong audience"},
		{name: "#28 aud empty string", j: mixed, token: craft(t, hdr, with(good, "aud", ""), hs), want: wantInvalid, reason: "missing required claim"},
		{name: "#28 aud other string", j: mixed, token: craft(t, hdr, with(good, "aud", "other"), hs), want: wantInvalid, reason: "wrong audience"},
		{name: "#28 aud number", j: mixed, token: craft(t, hdr, with(good, "aud", 7), hs), want: wantInvalid, reason: "malformed"},
		{name: "#28 aud string form", j: mixed, token: craft(t, hdr, with(good, "aud", testAudience), hs)},
		{name: "#28 aud array form", j: mixed, token: craft(t, hdr, with(good, "aud", []string{testAudience}), hs)},
		{name: "#28 aud array with others", j: mixed, token: craft(t, hdr, with(good, "aud", []string{"other", testAudience}), hs)},
		{name: "no sub", j: mixed, token: craft(t, hdr, with(good, "sub", nil), hs), want: wantInvalid, reason: "missing required claim"},
		{name: "empty sub", j: mixed, token: craft(t, hdr, with(good, "sub", ""), hs), want: wantInvalid, reason: "missing required claim"},
		{name: "no sid", j: mixed, token: craft(t, hdr, with(good, "sid", nil), hs), want: wantInvalid, reason: "missing required claim"},
		{name: "no jti", j: mixed, token: craft(t, hdr, with(good, "jti", nil), hs), want: wantInvalid, reason: "missing required claim"},
		{name: "no iat", j: mixed, token: craft(t, hdr, with(good, "iat", nil), hs), want: wantInvalid, reason: "missing required claim"},

		// SECURITY.md #27: time checks at the leeway boundaries.
		{name: "#27 exp = now-leeway+1s accepted", j: mixed, token: craft(t, hdr, with(good, "exp", unix(-leeway+time.Second), "iat", unix(-time.Hour)), hs)},
		{name: "#27 exp = now-leeway rejected", j: mixed, token: craft(t, hdr, with(good, "exp", unix(-leeway), "iat", unix(-time.Hour)), hs), want: wantExpired},
		{name: "#27 exp = now-leeway-1s rejected", j: mixed, token: craft(t, hdr, with(good, "exp", unix(-leeway-time.Second), "iat", unix(-time.Hour)), hs), want: wantExpired},
		{name: "#27 nbf in the future", j: mixed, token: craft(t, hdr, with(good, "nbf", unix(leeway+time.Second)), hs), want: wantInvalid, reason: "not valid yet"},
		{name: "#27 nbf within leeway", j: mixed, token: craft(t, hdr, with(good, "nbf", unix(leeway)), hs)},
		{name: "#27 iat in the future", j: mixed, token: craft(t, hdr, with(good, "iat", unix(leeway+time.Second)), hs), want: wantInvalid, reason: "issued in the future"},
		{name: "#27 iat within leeway", j: mixed, token: craft(t, hdr, with(good, "iat", unix(leeway)), hs)},

		// SECURITY.md #26: only a genuine token is ever reported as expired.
		{name: "#26 expired and bad signature", j: mixed,
			token: craft(t, hdr, with(good, "exp", unix(-time.Hour), "iat", unix(-2*time.Hour)), hsSigner(attackerSecret)), want: wantInvalid, reason: "bad signature"},
		{name: "#26 expired and wrong audience", j: mixed,
			token: craft(t, hdr, with(good, "exp", unix(-time.Hour), "iat", unix(-2*time.Hour), "aud", "other"), hs), want: wantInvalid, reason: "wrong audience"},
		{name: "#26 expired and no sid", j: mixed,
			token: craft(t, hdr, with(good, "exp", unix(-time.Hour), "iat", unix(-2*time.Hour), "sid", nil), hs), want: wantInvalid, reason: "missing required claim"},
		{name: "#26 expired and nbf in the future", j: mixed,
			token: craft(t, hdr, with(good, "exp", unix(-time.Hour), "nbf", unix(time.Hour)), hs), want: wantInvalid, reason: "not valid yet"},
		{name: "#26 bad signature", j: mixed, token: craft(t, hdr, good, hsSigner(attackerSecret)), want: wantInvalid, reason: "bad signature"},
		{name: "#26 EdDSA bad signature", j: mixed, token: craft(t, header("EdDSA", "ed1"), good, edSigner(attackerEd)), want: wantInvalid, reason: "bad signature"},

		// SECURITY.md #29: typed tokens.
		{name: "#29 typ JWT", j: mixed, token: craft(t, with(hdr, "typ", "JWT"), good, hs), want: wantInvalid, reason: "typ"},
		{name: "#29 no typ", j: mixed, token: craft(t, with(hdr, "typ", nil), good, hs), want: wantInvalid, reason: "typ"},
		{name: "#29 typ application/jwt", j: mixed, token: craft(t, with(hdr, "typ", "application/jwt"), good, hs), want: wantInvalid, reason: "typ"},
		{name: "#29 typ with a space", j: mixed, token: craft(t, with(hdr, "typ", "at+jwt "), good, hs), want: wantInvalid, reason: "typ"},
		{name: "#29 typ not a string", j: mixed, token: craft(t, with(hdr, "typ", 1), good, hs), want: wantInvalid, reason: "typ"},
		{name: "#29 typ AT+JWT", j: mixed, token: craft(t, with(hdr, "typ", "AT+JWT"), good, hs)},
		{name: "#29 typ application/at+jwt", j: mixed, token: craft(t, with(hdr, "typ", "Application/At+JWT"), good, hs)},

		// SECURITY.md #30: no key material or extensions from the header.
		{name: "#30 crit [x]", j: mixed, token: craft(t, with(hdr, "crit", []string{"x"}, "x", 1), good, hs), want: wantInvalid, reason: "crit"},
		{name: "#30 crit []", j: mixed, token: craft(t, with(hdr, "crit", []string{}), good, hs), want: wantInvalid, reason: "crit"},
		{name: "#30 crit b64", j: mixed, token: craft(t, with(hdr, "crit", []string{"b64"}, "b64", false), good, hs), want: wantInvalid, reason: "crit"},
		{name: "#30 embedded attacker jwk (oct)", j: mixed,
			token: craft(t, with(hdr, "jwk", obj{"kty": "oct", "k": base64.RawURLEncoding.EncodeToString(attackerSecret)}), good, hsSigner(attackerSecret)),
			want:  wantInvalid, reason: "bad signature"},
		{name: "#30 embedded attacker jwk (OKP)", j: mixed,
			token: craft(t, with(header("EdDSA", "ed1"), "jwk", obj{"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(attackerEd.Public().(ed25519.PublicKey))}), good, edSigner(attackerEd)),
			want:  wantInvalid, reason: "bad signature"},
		{name: "#30 embedded attacker jwk without kid", j: edOnly,
			token: craft(t, with(header("EdDSA", ""), "jwk", obj{"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(attackerEd.Public().(ed25519.PublicKey))}), good, edSigner(attackerEd)),
			want:  wantInvalid, reason: "bad signature"},
		{name: "#30 attacker jku", j: mixed,
			token: craft(t, with(hdr, "jku", "https://attacker.example.test/jwks.json"), good, hsSigner(attackerSecret)), want: wantInvalid, reason: "bad signature"},
		{name: "#30 attacker x5u", j: mixed,
			token: craft(t, with(hdr, "x5u", "https://attacker.example.test/cert.pem"), good, hsSigner(attackerSecret)), want: wantInvalid, reason: "bad signature"},
		{name: "#30 kid path traversal", j: mixed, token: craft(t, header("HS256", "../../x"), good, hs), want: wantInvalid, reason: "unknown key id"},
		{name: "#30 kid SQL injection", j: mixed, token: craft(t, header("HS256", "' OR 1=1--"), good, hs), want: wantInvalid, reason: "unknown key id"},
		{name: "#30 kid empty", j: mixed, token: craft(t, with(hdr, "kid", ""), good, hs), want: wantInvalid, reason: "unknown key id"},
		{name: "#30 kid not a string", j: mixed, token: craft(t, with(hdr, "kid", 1), good, hs), want: wantInvalid, reason: "unknown key id"},
		{name: "#30 kid given to a lone key without id", j: anonOnly, token: craft(t, with(hdr, "kid", ""), good, hs), want: wantInvalid, reason: "unknown key id"},
		{name: "no kid to a lone key without id", j: anonOnly, token: craft(t, header("HS256", ""), good, hs)},
		{name: "#30 kid of a key the issuer lacks", j: hsOnly, token: craft(t, header("EdDSA", "ed1"), good, ed), want: wantInvalid, reason: "algorithm not allowed"},

		// SECURITY.md #33: canonical, bounded parsing.
		{name: "#33 non-canonical signature bits", j: mixed, token: flipUnusedBits(t, valid), want: wantInvalid, reason: "malformed"},
		{name: "#33 padded signature", j: mixed, token: valid + "=", want: wantInvalid, reason: "malformed"},
		{name: "#33 padded header", j: mixed, token: paddedHeaderToken(t, hdr, good, hs), want: wantInvalid, reason: "malformed"},
		{name: "#33 standard base64 alphabet", j: mixed,
			token: strings.NewReplacer("-", "+", "_", "/").Replace(craft(t, with(hdr, "x", ">>>???"), good, hs)), want: wantInvalid, reason: "malformed"},
		{name: "#33 whitespace", j: mixed, token: strings.Replace(valid, ".", ". ", 1), want: wantInvalid, reason: "malformed"},
		{name: "#33 header not JSON", j: mixed, token: base64.RawURLEncoding.EncodeToString([]byte("alg")) + "." + valid[strings.IndexByte(valid, '.')+1:], want: wantInvalid, reason: "malformed"},
		{name: "#33 two segments", j: mixed, token: validInput, want: wantInvalid, reason: "not three segments"},
		{name: "#33 four segments", j: mixed, token: valid + ".", want: wantInvalid, reason: "not three segments"},
		{name: "#33 five segments (JWE shape)", j: mixed, token: valid + ".a.b", want: wantInvalid, reason: "not three segments"},
		{name: "#33 empty", j: mixed, token: "", want: wantInvalid, reason: "not three segments"},
		{name: "#33 three dots", j: mixed, token: "...", want: wantInvalid, reason: "not three segments"},
		{name: "#33 two dots", j: mixed, token: "..", want: wantInvalid, reason: "malformed"},
		{name: "#33 over the cap", j: mixed, token: strings.Repeat("A", jwt.MaxTokenLen+1), want: wantInvalid, reason: "too long"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := checkVerify(t, tc.j, tc.token, tc.want, tc.reason)
			if c != nil && (c.UserID != "user-1" || c.SessionID != "sess-1" || c.ID != "tok-1") {
				t.Errorf("claims = %+v", c)
			}
		})
	}
}

// TestJWTStrictDecodingMatters shows that the non-canonical token of the
// corpus is one a lax golang-jwt parser accepts, so the corpus row tests
// our configuration rather than a broken token. SECURITY.md #33.
func TestJWTStrictDecodingMatters(t *testing.T) {
	secret := testSecret("k1")
	tok := flipUnusedBits(t, craft(t, header("HS256", "k1"), payload(t0), hsSigner(secret)))
	lax := gojwt.NewParser(gojwt.WithValidMethods([]string{"HS256"}), gojwt.WithTimeFunc(fixedNow))
	if _, err := lax.Parse(tok, func(*gojwt.Token) (any, error) { return secret, nil }); err != nil {
		t.Fatalf("lax parser: %v; the flipped token should only differ in unused bits", err)
	}
	j := newJWT(t, jwt.Config{SigningKey: hsKey(t, "k1", "k1")})
	checkVerify(t, j, tok, wantInvalid, "malformed")
}

// TestJWTVerifyReturnsClaims checks that Verify gives back what Issue was
// given, for both algorithms.
func TestJWTVerifyReturnsClaims(t *testing.T) {
	for _, key := range []jwt.Key{hsKey(t, "k1", "k1"), edKey(t, "ed1", "ed1")} {
		t.Run(key.ID(), func(t *testing.T) {
			j := newJWT(t, jwt.Config{SigningKey: key})
			want := testClaims(t0.Add(-time.Minute))
			c := checkVerify(t, j, issue(t, j, want), wantValid, "")
			if c.UserID != want.UserID || c.SessionID != want.SessionID || c.ID != want.ID ||
				!c.IssuedAt.Equal(want.IssuedAt) || !c.ExpiresAt.Equal(want.ExpiresAt) {
				t.Errorf("Verify = %+v, want %+v", *c, want)
			}
		})
	}
}

// TestJWTExpiredGenuineToken: a genuine token past exp+leeway is reported
// as expired, and as nothing else. SECURITY.md #26, #27.
func TestJWTExpiredGenuineToken(t *testing.T) {
	now := t0
	j := newJWT(t, jwt.Config{SigningKey: hsKey(t, "k1", "k1"), Leeway: 10 * time.Second, Now: func() time.Time { return now }})
	tok := issue(t, j, testClaims(t0))
	steps := []struct {
		at   time.Duration
		want verifyWant
	}{
		{15*time.Minute + 9*time.Second, wantValid},
		{15*time.Minute + 10*time.Second, wantExpired},
		{48 * time.Hour, wantExpired},
	}
	for _, s := range steps {
		t.Run(s.at.String(), func(t *testing.T) {
			now = t0.Add(s.at)
			checkVerify(t, j, tok, s.want, "")
		})
	}
}

// TestJWTIssueShape checks the exact headers and claims Issue writes, and
// checks the signature independently. SECURITY.md #29, #34.
func TestJWTIssueShape(t *testing.T) {
	hsSecret := testSecret("k1")
	edPriv := testEd25519("ed1")
	tests := []struct {
		name       string
		key        jwt.Key
		wantHeader obj
		checkSig   func(input string, sig []byte) bool
	}{
		{
			name:       "HS256 with kid",
			key:        hsKey(t, "k1", "k1"),
			wantHeader: obj{"alg": "HS256", "typ": "at+jwt", "kid": "k1"},
			checkSig: func(input string, sig []byte) bool {
				m := hmac.New(sha256.New, hsSecret)
				m.Write([]byte(input))
				return hmac.Equal(sig, m.Sum(nil))
			},
		},
		{
			name:       "HS256 without kid",
			key:        hsKey(t, "", "k1"),
			wantHeader: obj{"alg": "HS256", "typ": "at+jwt"},
			checkSig: func(input string, sig []byte) bool {
				m := hmac.New(sha256.New, hsSecret)
				m.Write([]byte(input))
				return hmac.Equal(sig, m.Sum(nil))
			},
		},
		{
			name:       "EdDSA",
			key:        edKey(t, "ed1", "ed1"),
			wantHeader: obj{"alg": "EdDSA", "typ": "at+jwt", "kid": "ed1"},
			checkSig: func(input string, sig []byte) bool {
				return ed25519.Verify(edPriv.Public().(ed25519.PublicKey), []byte(input), sig)
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j := newJWT(t, jwt.Config{SigningKey: tc.key})
			c := testClaims(t0)
			tok := issue(t, j, c)
			if strings.ContainsAny(tok, "=+/ ") {
				t.Errorf("token %q is not unpadded base64url", tok)
			}
			if h := decodeSegment(t, tok, 0); !reflect.DeepEqual(h, tc.wantHeader) {
				t.Errorf("header = %v, want %v", h, tc.wantHeader)
			}
			got := decodeSegment(t, tok, 1)
			want := obj{
				"iss": testIssuer,
				"sub": c.UserID,
				"aud": testAudience, // a single string, not an array
				"exp": json.Number(jsonInt(c.ExpiresAt.Unix())),
				"iat": json.Number(jsonInt(c.IssuedAt.Unix())),
				"jti": c.ID,
				"sid": c.SessionID,
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("payload = %v, want %v", got, want)
			}
			i := strings.LastIndexByte(tok, '.')
			sig, err := base64.RawURLEncoding.Strict().DecodeString(tok[i+1:])
			if err != nil {
				t.Fatal(err)
			}
			if !tc.checkSig(tok[:i], sig) {
				t.Error("signature does not verify independently")
			}
		})
	}
}

func jsonInt(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestJWTPayloadIsMinimal: over many tokens, the payload keys stay within
// the allowed set, and each jti is the ID asked for. SECURITY.md #34.
func TestJWTPayloadIsMinimal(t *testing.T) {
	allowed := []string{"aud", "exp", "iat", "iss", "jti", "sid", "sub"}
	j := newJWT(t, jwt.Config{SigningKey: hsKey(t, "k1", "k1")})
	const n = 10_000
	seen := make(map[string]bool, n)
	for range n {
		c := testClaims(t0)
		c.ID = rand.Text()
		tok := issue(t, j, c)
		p := decodeSegment(t, tok, 1)
		if keys := slices.Sorted(maps.Keys(p)); !slices.Equal(keys, allowed) {
			t.Fatalf("payload keys = %v, want %v", keys, allowed)
		}
		jti, _ := p["jti"].(string)
		if jti != c.ID {
			t.Fatalf("jti = %q, want the ID %q", jti, c.ID)
		}
		if seen[jti] {
			t.Fatalf("jti %q issued twice", jti)
		}
		seen[jti] = true
	}
}

// TestJWTRotation walks a key rotation. SECURITY.md #32.
func TestJWTRotation(t *testing.T) {
	tests := []struct {
		name   string
		k1, k2 jwt.Key
		// k1Verify is k1 as kept for verification after the rotation.
		k1Verify jwt.Key
	}{
		{"HS256 to HS256", hsKey(t, "k1", "k1"), hsKey(t, "k2", "k2"), hsKey(t, "k1", "k1")},
		{"HS256 to EdDSA", hsKey(t, "k1", "k1"), edKey(t, "k2", "k2"), hsKey(t, "k1", "k1")},
		{"EdDSA to EdDSA", edKey(t, "k1", "k1"), edKey(t, "k2", "k2"), edPublicKey(t, "k1", "k1")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := newJWT(t, jwt.Config{SigningKey: tc.k1})
			old := issue(t, before, testClaims(t0))
			if kid := decodeSegment(t, old, 0)["kid"]; kid != "k1" {
				t.Fatalf("old token kid = %v, want k1", kid)
			}

			during := newJWT(t, jwt.Config{SigningKey: tc.k2, VerifyKeys: []jwt.Key{tc.k1Verify}})
			checkVerify(t, during, old, wantValid, "")
			fresh := issue(t, during, testClaims(t0))
			if kid := decodeSegment(t, fresh, 0)["kid"]; kid != "k2" {
				t.Fatalf("new token kid = %v, want k2", kid)
			}
			checkVerify(t, during, fresh, wantValid, "")
			// An instance still on the old configuration does not know k2.
			checkVerify(t, before, fresh, wantInvalid, "")

			after := newJWT(t, jwt.Config{SigningKey: tc.k2})
			checkVerify(t, after, old, wantInvalid, "") // retired kid
			checkVerify(t, after, fresh, wantValid, "")
		})
	}
}

// TestJWTMissingKidUsesSigningKey: a token without kid is checked against
// the signing key only, never against the verification keys.
// SECURITY.md #32.
func TestJWTMissingKidUsesSigningKey(t *testing.T) {
	j := newJWT(t, jwt.Config{SigningKey: hsKey(t, "k2", "k2"), VerifyKeys: []jwt.Key{hsKey(t, "k1", "k1")}})
	noKid := header("HS256", "")
	checkVerify(t, j, craft(t, noKid, payload(t0), hsSigner(testSecret("k2"))), wantValid, "")
	checkVerify(t, j, craft(t, noKid, payload(t0), hsSigner(testSecret("k1"))), wantInvalid, "bad signature")
}

// TestJWTOversizedTokenCostsNothing: huge inputs are refused before any
// decoding, without allocating. SECURITY.md #33, CVE-2025-30204.
func TestJWTOversizedTokenCostsNothing(t *testing.T) {
	j := newJWT(t, jwt.Config{SigningKey: hsKey(t, "k1", "k1")})
	valid := issue(t, j, testClaims(t0))
	tests := []struct {
		name, token, reason string
	}{
		{"100 kB of dots", strings.Repeat(".", 100_000), "too long"},
		{"1 MB token", valid + strings.Repeat("A", 1<<20), "too long"},
		{"8 KiB of dots", strings.Repeat(".", jwt.MaxTokenLen), "not three segments"},
		{"one byte over the cap", "a.b." + strings.Repeat("A", jwt.MaxTokenLen-3), "too long"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkVerify(t, j, tc.token, wantInvalid, tc.reason)
			ctx := context.Background()
			allocs := testing.AllocsPerRun(50, func() {
				if _, err := j.Verify(ctx, tc.token); err == nil {
					panic("verified")
				}
			})
			if allocs != 0 {
				t.Errorf("Verify allocated %v times per call, want 0", allocs)
			}
		})
	}
	t.Run("exactly at the cap is parsed", func(t *testing.T) {
		tok := "a.b." + strings.Repeat("A", jwt.MaxTokenLen-4)
		checkVerify(t, j, tok, wantInvalid, "malformed")
	})
}

// TestHS256KeyStrength: short, empty and all-zero secrets are refused.
// SECURITY.md #31.
func TestHS256KeyStrength(t *testing.T) {
	tests := []struct {
		name   string
		id     string
		secret []byte
		ok     bool
	}{
		{"nil", "k", nil, false},
		{"empty", "k", []byte{}, false},
		{"16 bytes", "k", testSecret("x")[:16], false},
		{"31 bytes", "k", testSecret("x")[:31], false},
		{"32 zero bytes", "k", make([]byte, 32), false},
		{"invalid UTF-8 id", "k\xff", testSecret("x"), false},
		{"overlong id", strings.Repeat("k", 257), testSecret("x"), false},
		{"32 bytes", "k", testSecret("x"), true},
		{"64 bytes without id", "", append(testSecret("x"), testSecret("y")...), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := jwt.HS256Key(tc.id, tc.secret)
			if tc.ok {
				if err != nil || k.ID() != tc.id {
					t.Fatalf("HS256Key = %q, %v", k.ID(), err)
				}
				return
			}
			var ve *jwt.ConfigError
			if !errors.As(err, &ve) {
				t.Fatalf("HS256Key: %v, want a *ValidationError", err)
			}
		})
	}
}

// TestHS256KeyCopiesSecret: changing the caller's slice afterwards does not
// change the key.
func TestHS256KeyCopiesSecret(t *testing.T) {
	secret := testSecret("k1")
	k, err := jwt.HS256Key("k1", secret)
	if err != nil {
		t.Fatal(err)
	}
	j := newJWT(t, jwt.Config{SigningKey: k})
	tok := issue(t, j, testClaims(t0))
	secret[0] ^= 0xff
	checkVerify(t, j, tok, wantValid, "")
	checkVerify(t, j, issue(t, j, testClaims(t0)), wantValid, "")
}

func TestEd25519Keys(t *testing.T) {
	priv := testEd25519("ed")
	pub := priv.Public().(ed25519.PublicKey)
	mismatched := slices.Clone(priv)
	copy(mismatched[32:], testEd25519("other").Public().(ed25519.PublicKey))
	tests := []struct {
		name string
		make func() (jwt.Key, error)
		ok   bool
	}{
		{"private", func() (jwt.Key, error) { return jwt.Ed25519Key("e", priv) }, true},
		{"private nil", func() (jwt.Key, error) { return jwt.Ed25519Key("e", nil) }, false},
		{"private seed only", func() (jwt.Key, error) { return jwt.Ed25519Key("e", priv[:32]) }, false},
		{"private with a foreign public half", func() (jwt.Key, error) { return jwt.Ed25519Key("e", mismatched) }, false},
		{"public", func() (jwt.Key, error) { return jwt.Ed25519PublicKey("e", pub) }, true},
		{"public short", func() (jwt.Key, error) { return jwt.Ed25519PublicKey("e", pub[:31]) }, false},
		{"public nil", func() (jwt.Key, error) { return jwt.Ed25519PublicKey("e", nil) }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := tc.make()
			if tc.ok {
				if err != nil || k.ID() != "e" {
					t.Fatalf("got %q, %v", k.ID(), err)
				}
				return
			}
			var ve *jwt.ConfigError
			if !errors.As(err, &ve) {
				t.Fatalf("got %v, want a *ValidationError", err)
			}
		})
	}
}

func TestNewJWTValidation(t *testing.T) {
	k1 := hsKey(t, "k1", "k1")
	k2 := hsKey(t, "k2", "k2")
	anon := hsKey(t, "", "k3")
	pubOnly := edPublicKey(t, "ed", "ed")
	tests := []struct {
		name      string
		cfg       jwt.Config
		wantField string // "" means the config is accepted
	}{
		{"minimal", jwt.Config{Issuer: "i", Audience: "a", SigningKey: k1}, ""},
		{"single key without id", jwt.Config{Issuer: "i", Audience: "a", SigningKey: anon}, ""},
		{"rotation", jwt.Config{Issuer: "i", Audience: "a", SigningKey: k2, VerifyKeys: []jwt.Key{k1, pubOnly}}, ""},
		{"signing key repeated in VerifyKeys", jwt.Config{Issuer: "i", Audience: "a", SigningKey: k2, VerifyKeys: []jwt.Key{k1, k2}}, ""},
		{"leeway 30s", jwt.Config{Issuer: "i", Audience: "a", SigningKey: k1, Leeway: 30 * time.Second}, ""},
		{"no issuer", jwt.Config{Audience: "a", SigningKey: k1}, "Config.Issuer"},
		{"issuer not UTF-8", jwt.Config{Issuer: "\xff", Audience: "a", SigningKey: k1}, "Config.Issuer"},
		{"no audience", jwt.Config{Issuer: "i", SigningKey: k1}, "Config.Audience"},
		{"no signing key", jwt.Config{Issuer: "i", Audience: "a"}, "Config.SigningKey"},
		{"verification-only signing key", jwt.Config{Issuer: "i", Audience: "a", SigningKey: pubOnly}, "Config.SigningKey"},
		{"zero verify key", jwt.Config{Issuer: "i", Audience: "a", SigningKey: k1, VerifyKeys: []jwt.Key{{}}}, "Config.VerifyKeys[0]"},
		{"duplicate id", jwt.Config{Issuer: "i", Audience: "a", SigningKey: k1, VerifyKeys: []jwt.Key{hsKey(t, "k1", "other")}}, "Config.VerifyKeys[0]"},
		{"duplicate verify ids", jwt.Config{Issuer: "i", Audience: "a", SigningKey: k1, VerifyKeys: []jwt.Key{k2, k2}}, "Config.VerifyKeys[1]"},
		{"signing key without id among several", jwt.Config{Issuer: "i", Audience: "a", SigningKey: anon, VerifyKeys: []jwt.Key{k1}}, "Config.SigningKey"},
		{"verify key without id", jwt.Config{Issuer: "i", Audience: "a", SigningKey: k1, VerifyKeys: []jwt.Key{anon}}, "Config.VerifyKeys[0]"},
		{"negative leeway", jwt.Config{Issuer: "i", Audience: "a", SigningKey: k1, Leeway: -time.Second}, "Config.Leeway"},
		{"leeway over 30s", jwt.Config{Issuer: "i", Audience: "a", SigningKey: k1, Leeway: 31 * time.Second}, "Config.Leeway"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j, err := jwt.New(tc.cfg)
			if tc.wantField == "" {
				if err != nil || j == nil {
					t.Fatalf("NewJWT: %v", err)
				}
				return
			}
			var ve *jwt.ConfigError
			if !errors.As(err, &ve) || ve.Field != tc.wantField {
				t.Fatalf("NewJWT: %v, want a *ValidationError for %s", err, tc.wantField)
			}
			if j != nil {
				t.Error("NewJWT returned a JWT with an error")
			}
		})
	}
}

func TestJWTIssueRefuses(t *testing.T) {
	j := newJWT(t, jwt.Config{SigningKey: hsKey(t, "k1", "k1")})
	edit := func(f func(*jwt.Claims)) jwt.Claims {
		c := testClaims(t0)
		f(&c)
		return c
	}
	tests := []struct {
		name      string
		c         jwt.Claims
		wantField string
	}{
		{"no UserID", edit(func(c *jwt.Claims) { c.UserID = "" }), "Claims.UserID"},
		{"UserID not UTF-8", edit(func(c *jwt.Claims) { c.UserID = "u\xff" }), "Claims.UserID"},
		{"no SessionID", edit(func(c *jwt.Claims) { c.SessionID = "" }), "Claims.SessionID"},
		{"no ID", edit(func(c *jwt.Claims) { c.ID = "" }), "Claims.ID"},
		{"no IssuedAt", edit(func(c *jwt.Claims) { c.IssuedAt = time.Time{} }), "Claims.IssuedAt"},
		{"no ExpiresAt", edit(func(c *jwt.Claims) { c.ExpiresAt = time.Time{} }), "Claims.ExpiresAt"},
		{"ExpiresAt equals IssuedAt", edit(func(c *jwt.Claims) { c.ExpiresAt = c.IssuedAt }), "Claims.ExpiresAt"},
		{"ExpiresAt in the same second", edit(func(c *jwt.Claims) { c.ExpiresAt = c.IssuedAt.Add(500 * time.Millisecond) }), "Claims.ExpiresAt"},
		{"ExpiresAt before IssuedAt", edit(func(c *jwt.Claims) { c.ExpiresAt = c.IssuedAt.Add(-time.Minute) }), "Claims.ExpiresAt"},
		{"token over the cap", edit(func(c *jwt.Claims) { c.UserID = strings.Repeat("u", jwt.MaxTokenLen) }), "Claims"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := j.Issue(context.Background(), tc.c)
			var ve *jwt.ConfigError
			if !errors.As(err, &ve) || ve.Field != tc.wantField {
				t.Fatalf("Issue = %q, %v; want a *ValidationError for %s", tok, err, tc.wantField)
			}
			if tok != "" {
				t.Errorf("Issue returned a token with an error")
			}
		})
	}
}

// TestJWTConcurrentUse runs Issue and Verify from many goroutines; run it
// with -race.
func TestJWTConcurrentUse(t *testing.T) {
	j := newJWT(t, jwt.Config{SigningKey: edKey(t, "k2", "k2"), VerifyKeys: []jwt.Key{hsKey(t, "k1", "k1")}})
	old := craft(t, header("HS256", "k1"), payload(t0), hsSigner(testSecret("k1")))
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			ctx := context.Background()
			for range 50 {
				c := testClaims(t0)
				c.ID = rand.Text()
				tok, err := j.Issue(ctx, c)
				if err != nil {
					errs <- err
					return
				}
				for _, s := range []string{tok, old} {
					if _, err := j.Verify(ctx, s); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestNoParseUnverified is a lint: no non-test Go file of the module calls
// a ParseUnverified function or method. SECURITY.md #26.
func TestNoParseUnverified(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found: %v", err)
	}
	fset := token.NewFileSet()
	files := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		files++
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.SelectorExpr:
				if n.Sel.Name == "ParseUnverified" {
					t.Errorf("%s: ParseUnverified used", fset.Position(n.Pos()))
				}
			case *ast.Ident:
				if n.Name == "ParseUnverified" {
					t.Errorf("%s: ParseUnverified used", fset.Position(n.Pos()))
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Fatal("no Go files inspected")
	}
}

// Benchmarks. Compare with:
//
//	go test -run '^$' -bench . -benchmem -count 6 ./auth/ | benchstat -

// benchToken returns an HS256 token valid at the real time (the bare
// parser uses the real clock) and an issuer that accepts it.
func benchFixture(b *testing.B, key jwt.Key) (*jwt.Issuer, string) {
	b.Helper()
	j, err := jwt.New(jwt.Config{Issuer: testIssuer, Audience: testAudience, SigningKey: key})
	if err != nil {
		b.Fatal(err)
	}
	tok := issue(b, j, testClaims(time.Now()))
	if _, err := j.Verify(context.Background(), tok); err != nil {
		b.Fatal(err)
	}
	return j, tok
}

func BenchmarkVerifyHS256(b *testing.B) {
	j, tok := benchFixture(b, hsKey(b, "k1", "k1"))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := j.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBareParseWithClaimsHS256 is the baseline: golang-jwt with no
// options and a pre-boxed key, into RegisteredClaims.
func BenchmarkBareParseWithClaimsHS256(b *testing.B) {
	_, tok := benchFixture(b, hsKey(b, "k1", "k1"))
	var key any = testSecret("k1")
	keyfunc := func(*gojwt.Token) (any, error) { return key, nil }
	p := gojwt.NewParser()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.ParseWithClaims(tok, &gojwt.RegisteredClaims{}, keyfunc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyEdDSA(b *testing.B) {
	j, tok := benchFixture(b, edKey(b, "ed1", "ed1"))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := j.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBareParseWithClaimsEdDSA(b *testing.B) {
	_, tok := benchFixture(b, edKey(b, "ed1", "ed1"))
	var key any = testEd25519("ed1").Public()
	keyfunc := func(*gojwt.Token) (any, error) { return key, nil }
	p := gojwt.NewParser()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.ParseWithClaims(tok, &gojwt.RegisteredClaims{}, keyfunc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIssueHS256(b *testing.B) {
	j, _ := benchFixture(b, hsKey(b, "k1", "k1"))
	ctx := context.Background()
	c := testClaims(time.Now())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := j.Issue(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
}
