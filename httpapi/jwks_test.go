package httpapi_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/auth/jwt"
	"github.com/gatehouse-go/gatehouse/httpapi"
	"github.com/gatehouse-go/gatehouse/internal/testhash"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/memstore"
)

const (
	jwksIssuer   = "https://auth.example.test"
	jwksAudience = "orders-service"
)

// edPair is an Ed25519 key pair with its thumbprint as the key id.
type edPair struct {
	kid  string
	priv ed25519.PrivateKey
}

func newEdPair(tb testing.TB) edPair {
	tb.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	kid, err := jwt.Ed25519Thumbprint(pub)
	if err != nil {
		tb.Fatal(err)
	}
	return edPair{kid: kid, priv: priv}
}

func (p edPair) signing(tb testing.TB) jwt.Key {
	tb.Helper()
	k, err := jwt.Ed25519Key(p.kid, p.priv)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

func (p edPair) public(tb testing.TB) jwt.Key {
	tb.Helper()
	k, err := jwt.Ed25519PublicKey(p.kid, p.priv.Public().(ed25519.PublicKey))
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// jwksServer is one configuration of the issuing service: the /v2 API and
// the JWKS over a Manager with the given keys, on a store shared between
// configurations as a database is shared between restarts.
func jwksServer(tb testing.TB, st store.Store, signing jwt.Key, verify ...jwt.Key) *httptest.Server {
	tb.Helper()
	j, err := jwt.New(jwt.Config{Issuer: jwksIssuer, Audience: jwksAudience, SigningKey: signing, VerifyKeys: verify})
	if err != nil {
		tb.Fatal(err)
	}
	m, err := auth.New(auth.Config{
		Store:    st,
		Mailer:   mail.NewCapture(),
		Tokens:   auth.TokenConfig{Issuer: auth.JWT(j)},
		Password: auth.PasswordConfig{Hasher: testhash.Fast{}, LegacyHashers: []auth.Hasher{}},
	})
	if err != nil {
		tb.Fatal(err)
	}
	api, err := httpapi.New(m, httpapi.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	keys, err := httpapi.NewJWKS(j, httpapi.JWKSConfig{})
	if err != nil {
		tb.Fatal(err)
	}
	mux := http.NewServeMux()
	api.Mount(mux)
	keys.Mount(mux)
	srv := httptest.NewServer(mux)
	tb.Cleanup(func() {
		srv.Close()
		if err := m.Flush(context.Background()); err != nil {
			tb.Error(err)
		}
	})
	return srv
}

// consumer is another service: it knows the issuing service's JWKS URL and
// nothing else, and verifies tokens with go-jose alone.
type consumer struct {
	jwksURL string
	set     jose.JSONWebKeySet
}

// fetch (re)loads the key set over HTTP and returns its key ids.
func (c *consumer) fetch(tb testing.TB) []string {
	tb.Helper()
	res, err := http.Get(c.jwksURL)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		tb.Fatalf("GET %s: %d %s", c.jwksURL, res.StatusCode, body)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "public, max-age=600" {
		tb.Fatalf("Cache-Control = %q, want the documented default max-age of 10 minutes", cc)
	}
	c.set = jose.JSONWebKeySet{}
	if err := json.Unmarshal(body, &c.set); err != nil {
		tb.Fatalf("go-jose cannot read the JWKS: %v\n%s", err, body)
	}
	var kids []string
	for _, k := range c.set.Keys {
		if !k.Valid() || !k.IsPublic() || k.Use != "sig" || k.Algorithm != string(jose.EdDSA) {
			tb.Fatalf("key %q: valid %v, public %v, use %q, alg %q", k.KeyID, k.Valid(), k.IsPublic(), k.Use, k.Algorithm)
		}
		if _, ok := k.Key.(ed25519.PublicKey); !ok {
			tb.Fatalf("key %q is a %T", k.KeyID, k.Key)
		}
		kids = append(kids, k.KeyID)
	}
	return kids
}

// verify checks token as the consumer would: EdDSA only, the key chosen
// by kid from the fetched set, then iss, aud and the times. It returns the
// subject.
func (c *consumer) verify(token string) (string, error) {
	tok, err := josejwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		return "", err
	}
	if len(tok.Headers) != 1 {
		return "", errors.New("not one signature")
	}
	keys := c.set.Key(tok.Headers[0].KeyID)
	if len(keys) != 1 {
		return "", errors.New("no published key for kid " + tok.Headers[0].KeyID)
	}
	var claims josejwt.Claims
	if err := tok.Claims(keys[0].Key, &claims); err != nil {
		return "", err
	}
	if err := claims.Validate(josejwt.Expected{Issuer: jwksIssuer, AnyAudience: josejwt.Audience{jwksAudience}, Time: time.Now()}); err != nil {
		return "", err
	}
	return claims.Subject, nil
}

// loginAt logs in over srv's /v2 API and returns the access token.
func loginAt(tb testing.TB, srv *httptest.Server, email, pw string) string {
	tb.Helper()
	form := url.Values{"username": {email}, "password": {pw}}
	res, err := http.PostForm(srv.URL+"/v2/login", form)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		Results struct {
			AccessToken struct {
				Token string `json:"token"`
			} `json:"access_token"`
		} `json:"results"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil || res.StatusCode != 200 || body.Results.AccessToken.Token == "" {
		tb.Fatalf("login: %d, %v", res.StatusCode, err)
	}
	return body.Results.AccessToken.Token
}

// statusAt is the status of GET /v2/user with token at srv.
func statusAt(tb testing.TB, srv *httptest.Server, token string) int {
	tb.Helper()
	r, _ := http.NewRequest("GET", srv.URL+"/v2/user", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		tb.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// headerKid is the kid header of a compact JWS, read by hand.
func headerKid(tb testing.TB, token string) string {
	tb.Helper()
	seg, _, _ := strings.Cut(token, ".")
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		tb.Fatal(err)
	}
	var h struct {
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(b, &h); err != nil {
		tb.Fatal(err)
	}
	return h.Kid
}

// TestJWKSVerifiesWithGoJose: a service that knows only the JWKS URL
// verifies our access tokens with an independent library (go-jose), before,
// during and after a key rotation done as package auth/jwt documents it;
// the removed key's tokens then fail there as here.
func TestJWKSVerifiesWithGoJose(t *testing.T) {
	st := memstore.New()
	const email = "ada@example.com"
	m, err := auth.New(auth.Config{Store: st, Mailer: mail.NewCapture(), Tokens: auth.TokenConfig{SigningKey: key},
		Password: auth.PasswordConfig{Hasher: testhash.Fast{}, LegacyHashers: []auth.Hasher{}}})
	if err != nil {
		t.Fatal(err)
	}
	u, err := m.Register(context.Background(), auth.Registration{Email: email, Password: alicePW})
	if err != nil {
		t.Fatal(err)
	}
	oldKey, newKey := newEdPair(t), newEdPair(t)

	wantKids := func(t *testing.T, c *consumer, want ...string) {
		t.Helper()
		if got := c.fetch(t); !slices.Equal(got, want) {
			t.Fatalf("JWKS kids = %v, want %v", got, want)
		}
	}
	wantVerifies := func(t *testing.T, c *consumer, token string) {
		t.Helper()
		sub, err := c.verify(token)
		if err != nil || sub != u.ID {
			t.Fatalf("go-jose: sub %q, %v; want %q", sub, err, u.ID)
		}
	}
	wantRefused := func(t *testing.T, c *consumer, token string) {
		t.Helper()
		if sub, err := c.verify(token); err == nil {
			t.Fatalf("go-jose accepted the token (sub %q)", sub)
		}
	}

	// Before: one key.
	srv := jwksServer(t, st, oldKey.signing(t))
	c := &consumer{jwksURL: srv.URL + httpapi.JWKSPath}
	wantKids(t, c, oldKey.kid)
	oldTok := loginAt(t, srv, email, alicePW)
	if kid := headerKid(t, oldTok); kid != oldKey.kid {
		t.Fatalf("kid %q, want %q", kid, oldKey.kid)
	}
	wantVerifies(t, c, oldTok)

	// Controls: the consumer is not a rubber stamp.
	sig := oldTok[strings.LastIndexByte(oldTok, '.')+1:]
	other := "A"
	if sig[0] == 'A' {
		other = "B"
	}
	wantRefused(t, c, oldTok[:len(oldTok)-len(sig)]+other+sig[1:]) // one signature byte changed
	forger := newEdPair(t)
	forgerSrv := jwksServer(t, st, edPair{kid: oldKey.kid, priv: forger.priv}.signing(t)) // the right kid, an unpublished key
	wantRefused(t, c, loginAt(t, forgerSrv, email, alicePW))

	// Step 1: the new key is added as verify-only and published; tokens
	// are still signed with the old one.
	srv = jwksServer(t, st, oldKey.signing(t), newKey.public(t))
	c.jwksURL = srv.URL + httpapi.JWKSPath
	wantKids(t, c, oldKey.kid, newKey.kid)
	if kid := headerKid(t, loginAt(t, srv, email, alicePW)); kid != oldKey.kid {
		t.Fatalf("step 1 signed with %q", kid)
	}
	wantVerifies(t, c, oldTok)

	// Step 3: the new key signs, the old one verifies only. Both kinds of
	// token verify, at the consumer and at the issuer.
	srv = jwksServer(t, st, newKey.signing(t), oldKey.public(t))
	c.jwksURL = srv.URL + httpapi.JWKSPath
	wantKids(t, c, newKey.kid, oldKey.kid)
	newTok := loginAt(t, srv, email, alicePW)
	if kid := headerKid(t, newTok); kid != newKey.kid {
		t.Fatalf("step 3 signed with %q", kid)
	}
	wantVerifies(t, c, oldTok)
	wantVerifies(t, c, newTok)
	for _, tok := range []string{oldTok, newTok} {
		if s := statusAt(t, srv, tok); s != 200 {
			t.Fatalf("the issuer answered %d during the overlap", s)
		}
	}

	// Step 5: the old key is removed. Its tokens fail at the consumer once
	// it refetches, and at the issuer.
	srv = jwksServer(t, st, newKey.signing(t))
	c.jwksURL = srv.URL + httpapi.JWKSPath
	wantKids(t, c, newKey.kid)
	wantVerifies(t, c, newTok)
	wantRefused(t, c, oldTok)
	if s := statusAt(t, srv, oldTok); s != 401 {
		t.Fatalf("the issuer answered %d to the removed key's token", s)
	}
}

// TestJWKSHandler: the headers, methods, conditional requests and
// configuration of the handler.
func TestJWKSHandler(t *testing.T) {
	k := newEdPair(t)
	j, err := jwt.New(jwt.Config{Issuer: jwksIssuer, Audience: jwksAudience, SigningKey: k.signing(t)})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := j.PublicJWKS()
	if err != nil {
		t.Fatal(err)
	}
	h, err := httpapi.NewJWKS(j, httpapi.JWKSConfig{MaxAge: 90 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Mount(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	call := func(method string, hdr ...string) (*http.Response, string) {
		t.Helper()
		r, _ := http.NewRequest(method, srv.URL+httpapi.JWKSPath, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Add(hdr[i], hdr[i+1])
		}
		res, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}

	res, body := call("GET")
	if res.StatusCode != 200 || body != string(doc) {
		t.Fatalf("GET: %d %s", res.StatusCode, body)
	}
	for name, want := range map[string]string{
		"Content-Type":                "application/jwk-set+json",
		"Cache-Control":               "public, max-age=90",
		"Access-Control-Allow-Origin": "*",
		"X-Content-Type-Options":      "nosniff",
	} {
		if got := res.Header.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	etag := res.Header.Get("ETag")
	if len(etag) < 3 || etag[0] != '"' {
		t.Fatalf("ETag = %q", etag)
	}

	t.Run("HEAD", func(t *testing.T) {
		res, body := call("HEAD")
		if res.StatusCode != 200 || body != "" || res.Header.Get("Cache-Control") != "public, max-age=90" {
			t.Fatalf("HEAD: %d %q %v", res.StatusCode, body, res.Header)
		}
	})
	t.Run("other methods", func(t *testing.T) {
		for _, method := range []string{"POST", "PUT", "DELETE", "OPTIONS"} {
			res, body := call(method)
			if res.StatusCode != 405 || res.Header.Get("Allow") != "GET, HEAD" || strings.Contains(body, `"keys"`) {
				t.Errorf("%s: %d, Allow %q, %q", method, res.StatusCode, res.Header.Get("Allow"), body)
			}
		}
	})
	t.Run("If-None-Match", func(t *testing.T) {
		for _, c := range []struct {
			value string
			want  int
		}{
			{etag, 304},
			{"W/" + etag, 304},
			{`"other", ` + etag, 304},
			{"*", 304},
			{`"other"`, 200},
			{etag[:len(etag)-1], 200},
		} {
			res, body := call("GET", "If-None-Match", c.value)
			if res.StatusCode != c.want {
				t.Errorf("If-None-Match %s: %d, want %d", c.value, res.StatusCode, c.want)
			}
			if c.want == 304 && (body != "" || res.Header.Get("ETag") != etag || res.Header.Get("Cache-Control") != "public, max-age=90") {
				t.Errorf("304 with body %q, headers %v", body, res.Header)
			}
		}
	})

	t.Run("refusals", func(t *testing.T) {
		hs, err := jwt.HS256Key("h1", key)
		if err != nil {
			t.Fatal(err)
		}
		hsOnly, err := jwt.New(jwt.Config{Issuer: jwksIssuer, Audience: jwksAudience, SigningKey: hs})
		if err != nil {
			t.Fatal(err)
		}
		if h, err := httpapi.NewJWKS(hsOnly, httpapi.JWKSConfig{}); !errors.Is(err, jwt.ErrNoPublicKeys) || h != nil {
			t.Errorf("HS256 only: %v, %v; want ErrNoPublicKeys", h, err)
		}
		if h, err := httpapi.NewJWKS(nil, httpapi.JWKSConfig{}); err == nil || h != nil {
			t.Errorf("nil issuer: %v, %v", h, err)
		}
		for _, d := range []time.Duration{-time.Second, time.Millisecond, httpapi.MaxJWKSMaxAge + time.Second} {
			if h, err := httpapi.NewJWKS(j, httpapi.JWKSConfig{MaxAge: d}); err == nil || h != nil || !strings.Contains(err.Error(), "MaxAge") {
				t.Errorf("MaxAge %v: %v, %v", d, h, err)
			}
		}
		if _, err := httpapi.NewJWKS(j, httpapi.JWKSConfig{MaxAge: httpapi.MaxJWKSMaxAge}); err != nil {
			t.Errorf("MaxAge at the maximum: %v", err)
		}
	})
}
