package federation_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/auth/federation"
	"github.com/gatehouse-go/gatehouse/internal/testhash"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/store/memstore"
)

// craftOP is an OpenID Provider over httptest whose token endpoint answers
// with an ID token the test makes: discovery, JWKS (one ES256 key) and
// token endpoints as the protocol has them.
type craftOP struct {
	srv   *httptest.Server
	key   *ecdsa.PrivateKey
	mint  func(nonce string) string
	nonce string
	// issParam makes discovery announce RFC 9207's iss parameter.
	issParam bool
	// exchanges counts token requests.
	exchanges int
}

func newCraftOP(t *testing.T) *craftOP {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	op := &craftOP{key: key}
	mux := http.NewServeMux()
	op.srv = httptest.NewServer(mux)
	t.Cleanup(op.srv.Close)
	iss := op.srv.URL
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer": iss, "authorization_endpoint": iss + "/authorize", "token_endpoint": iss + "/token",
			"jwks_uri": iss + "/jwks", "id_token_signing_alg_values_supported": []string{"ES256"},
			"authorization_response_iss_parameter_supported": op.issParam,
		})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
	})
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		op.exchanges++
		if r.PostForm.Get("code_verifier") == "" {
			http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "at", "token_type": "Bearer", "id_token": op.mint(op.nonce)})
	})
	return op
}

// sign signs claims with key (op's when nil) as ES256.
func (op *craftOP) sign(t *testing.T, key *ecdsa.PrivateKey, claims map[string]any) string {
	t.Helper()
	if key == nil {
		key = op.key
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(claims)
	jws, err := s.Sign(b)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := jws.CompactSerialize()
	return out
}

func (op *craftOP) claims(nonce string) map[string]any {
	now := time.Now()
	return map[string]any{
		"iss": op.srv.URL, "sub": "victim-sub", "aud": "client-1", "nonce": nonce,
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		"email": "victim@example.org", "email_verified": true,
	}
}

// TestIDTokenValidation: tokens signed by another key, for another
// audience, from another issuer, expired, with alg none, a wrong nonce, or
// several audiences without our azp are refused and log nobody in.
// SECURITY.md #85, #86.
func TestIDTokenValidation(t *testing.T) {
	op := newCraftOP(t)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	cases := map[string]func(nonce string) string{
		"other key": func(n string) string { return op.sign(t, other, op.claims(n)) },
		"other audience": func(n string) string {
			c := op.claims(n)
			c["aud"] = "someone-else"
			return op.sign(t, nil, c)
		},
		"other issuer": func(n string) string {
			c := op.claims(n)
			c["iss"] = "https://evil.test"
			return op.sign(t, nil, c)
		},
		"expired": func(n string) string {
			c := op.claims(n)
			c["exp"] = time.Now().Add(-time.Hour).Unix()
			return op.sign(t, nil, c)
		},
		"wrong nonce": func(string) string { return op.sign(t, nil, op.claims("tampered")) },
		"no nonce": func(string) string {
			c := op.claims("")
			delete(c, "nonce")
			return op.sign(t, nil, c)
		},
		"alg none": func(n string) string {
			h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","kid":"k1"}`))
			b, _ := json.Marshal(op.claims(n))
			return h + "." + base64.RawURLEncoding.EncodeToString(b) + "."
		},
		"several audiences without azp": func(n string) string {
			c := op.claims(n)
			c["aud"] = []string{"client-1", "other"}
			c["azp"] = "other"
			return op.sign(t, nil, c)
		},
	}
	st := memstore.New()
	m, err := auth.New(auth.Config{Store: st, Mailer: mail.Discard{}, Tokens: auth.TokenConfig{SigningKey: randomKey(t)}, Password: auth.PasswordConfig{Hasher: testhash.Fast{}}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := federation.New(t.Context(), m, st, federation.Provider{Name: "craft", Issuer: op.srv.URL, ClientID: "client-1", ClientSecret: "s", RedirectURL: callback}, federation.Options{})
	if err != nil {
		t.Fatalf("federation.New: %v", err)
	}
	run := func(mint func(string) string) error {
		s, err := c.Start(t.Context(), "")
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(s.URL)
		op.nonce, op.mint = u.Query().Get("nonce"), mint
		_, _, err = c.Callback(t.Context(), s.BrowserSecret, q(u.Query().Get("state"), "code"))
		return err
	}
	for name, mint := range cases {
		if err := run(mint); !errors.Is(err, federation.ErrInvalidIDToken) {
			t.Errorf("%s: err = %v, want ErrInvalidIDToken", name, err)
		}
	}
	if _, err := st.UserByEmail(t.Context(), "victim@example.org"); err == nil {
		t.Error("a refused ID token created an account")
	}
	// The control: the same provider's good token logs in.
	if err := run(func(n string) string { return op.sign(t, nil, op.claims(n)) }); err != nil {
		t.Fatalf("good token: %v", err)
	}
	good := func(n string) string {
		cl := op.claims(n)
		cl["aud"], cl["azp"] = []string{"client-1", "other"}, "client-1"
		return op.sign(t, nil, cl)
	}
	if err := run(good); err != nil {
		t.Fatalf("several audiences with our azp: %v", err)
	}
}

// TestIssParameter: RFC 9207 against mix-up. From a provider whose
// discovery announces authorization_response_iss_parameter_supported, a
// callback without iss or with another issuer's is refused before the
// code is exchanged; from any provider a present iss must be its issuer.
// SECURITY.md #86.
func TestIssParameter(t *testing.T) {
	for _, announced := range []bool{true, false} {
		op := newCraftOP(t)
		op.issParam = announced
		op.mint = func(n string) string { return op.sign(t, nil, op.claims(n)) }
		st := memstore.New()
		m, err := auth.New(auth.Config{Store: st, Mailer: mail.Discard{}, Tokens: auth.TokenConfig{SigningKey: randomKey(t)}, Password: auth.PasswordConfig{Hasher: testhash.Fast{}}})
		if err != nil {
			t.Fatal(err)
		}
		c, err := federation.New(t.Context(), m, st, federation.Provider{Name: "craft", Issuer: op.srv.URL, ClientID: "client-1", ClientSecret: "s", RedirectURL: callback}, federation.Options{})
		if err != nil {
			t.Fatal(err)
		}
		run := func(iss []string) error {
			s, err := c.Start(t.Context(), "")
			if err != nil {
				t.Fatal(err)
			}
			u, _ := url.Parse(s.URL)
			op.nonce = u.Query().Get("nonce")
			v := q(u.Query().Get("state"), "code")
			if iss != nil {
				v["iss"] = iss
			}
			_, _, err = c.Callback(t.Context(), s.BrowserSecret, v)
			return err
		}
		bad := map[string][]string{
			"other issuer": {"https://evil.test"},
			"trailing /":   {op.srv.URL + "/"},
			"two iss":      {op.srv.URL, "https://evil.test"},
			"empty":        {""},
		}
		if announced {
			bad["missing"] = nil
		}
		for name, iss := range bad {
			before := op.exchanges
			if err := run(iss); !errors.Is(err, federation.ErrIssuerMismatch) {
				t.Errorf("announced=%v %s: err = %v, want ErrIssuerMismatch", announced, name, err)
			}
			if op.exchanges != before {
				t.Errorf("announced=%v %s: the code was exchanged", announced, name)
			}
		}
		if err := run([]string{op.srv.URL}); err != nil {
			t.Errorf("announced=%v, the right iss: %v", announced, err)
		}
		if !announced {
			if err := run(nil); err != nil {
				t.Errorf("not announced, no iss: %v", err)
			}
		}
	}
}
