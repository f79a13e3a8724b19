package httpapi

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse-go/gatehouse/auth/jwt"
)

// JWKSPath is where [JWKS.Mount] serves the key set, outside the API's
// prefix, as RFC 8615 and OpenID Connect discovery place it.
const JWKSPath = "/.well-known/jwks.json"

// Limits of [JWKSConfig].MaxAge.
const (
	// DefaultJWKSMaxAge is how long consumers may cache the key set when
	// JWKSConfig.MaxAge is zero. It bounds how long a removed key is still
	// trusted elsewhere, and is the wait between publishing a new key and
	// signing with it (see package auth/jwt on rotation).
	DefaultJWKSMaxAge = 10 * time.Minute
	// MaxJWKSMaxAge is the longest MaxAge allowed.
	MaxJWKSMaxAge = 24 * time.Hour
)

// JWKSConfig configures [NewJWKS]. The zero value is ready to use.
type JWKSConfig struct {
	// MaxAge is the Cache-Control max-age of the key set, in whole seconds.
	// Default [DefaultJWKSMaxAge]; allowed 1 second to [MaxJWKSMaxAge].
	MaxAge time.Duration
}

// JWKS is an [http.Handler] that serves the public keys of a jwt.Issuer
// as a JWK Set (RFC 7517 §5, Ed25519 keys as in RFC 8037), so that other
// services can verify Gatehouse's access tokens without sharing a secret:
//
//	{"keys":[{"kty":"OKP","crv":"Ed25519","x":"…","kid":"…","use":"sig","alg":"EdDSA"}]}
//
// The document is the issuer's [jwt.Issuer.PublicJWKS], built once by
// [NewJWKS]: the signing key and every verify-only key, by kid, and never
// an HS256 secret. It is answered to GET and HEAD with
// "Content-Type: application/jwk-set+json", "Cache-Control: public,
// max-age=N", an ETag (If-None-Match gets 304) and
// "Access-Control-Allow-Origin: *" (the keys are public, and browser
// clients may fetch them); other methods get 405 with an Allow header. A
// JWKS is immutable and safe for concurrent use: a key rotation is a new
// Issuer and a new JWKS.
type JWKS struct {
	doc          []byte
	etag         string
	cacheControl string
}

// NewJWKS returns the handler for j's public keys. It fails when j is nil,
// when MaxAge is out of bounds, when j has no Ed25519 key (an issuer with
// HS256 keys alone has nothing to publish, and the error matches
// [jwt.ErrNoPublicKeys]: serve no JWKS then) or when a key has no id.
func NewJWKS(j *jwt.Issuer, cfg JWKSConfig) (*JWKS, error) {
	if j == nil {
		return nil, errors.New("httpapi: NewJWKS: the issuer is nil")
	}
	switch {
	case cfg.MaxAge == 0:
		cfg.MaxAge = DefaultJWKSMaxAge
	case cfg.MaxAge < time.Second || cfg.MaxAge > MaxJWKSMaxAge:
		return nil, fmt.Errorf("httpapi: JWKSConfig.MaxAge must be between 1s and %v", MaxJWKSMaxAge)
	}
	doc, err := j.PublicJWKS()
	if err != nil {
		return nil, fmt.Errorf("httpapi: NewJWKS: %w", err)
	}
	sum := sha256.Sum256(doc)
	return &JWKS{
		doc:          doc,
		etag:         `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`,
		cacheControl: "public, max-age=" + strconv.FormatInt(int64(cfg.MaxAge/time.Second), 10),
	}, nil
}

// Mount registers h on mux at [JWKSPath] (the pattern
// "/.well-known/jwks.json", every method, so that other methods get 405
// from h). It panics, as [http.ServeMux.Handle] does, when the pattern
// conflicts with one already registered.
func (h *JWKS) Mount(mux *http.ServeMux) {
	mux.Handle(JWKSPath, h)
}

// ServeHTTP answers the key set, whatever the path: mount it at
// [JWKSPath].
func (h *JWKS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	hdr.Set("Cache-Control", h.cacheControl)
	hdr.Set("ETag", h.etag)
	hdr.Set("Access-Control-Allow-Origin", "*")
	hdr.Set("X-Content-Type-Options", "nosniff")
	if etagMatches(r.Header.Values("If-None-Match"), h.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hdr.Set("Content-Type", "application/jwk-set+json")
	hdr.Set("Content-Length", strconv.Itoa(len(h.doc)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		w.Write(h.doc)
	}
}

// etagMatches reports whether an If-None-Match header (RFC 9110 §13.1.2)
// names etag or is "*", comparing weakly.
func etagMatches(values []string, etag string) bool {
	for _, v := range values {
		for len(v) > 0 {
			v = trimListSpace(v)
			if v == "" {
				break
			}
			if v[0] == '*' {
				return true
			}
			if len(v) >= 2 && v[:2] == "W/" {
				v = v[2:]
			}
			if v == "" || v[0] != '"' {
				return false
			}
			end := 1
			for end < len(v) && v[end] != '"' {
				end++
			}
			if end == len(v) {
				return false
			}
			if v[:end+1] == etag {
				return true
			}
			v = v[end+1:]
		}
	}
	return false
}

// trimListSpace drops the spaces, tabs and commas that separate the
// members of a header list.
func trimListSpace(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t' || s[0] == ',') {
		s = s[1:]
	}
	return s
}
