package jwt

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
)

// ErrNoPublicKeys is returned by [Issuer.PublicJWKS] when the issuer has no
// Ed25519 key: an HS256 secret is never published, so an issuer with only
// HS256 keys has nothing another service could verify with.
var ErrNoPublicKeys = errors.New("jwt: the issuer has no Ed25519 key to publish (HS256 secrets are never published)")

// publicJWK is one entry of a JWK Set: an Ed25519 public key as an octet
// key pair (RFC 8037 §2), in this member order.
type publicJWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
}

// PublicJWKS returns the issuer's public keys as a JWK Set document (RFC
// 7517 §5), for other services that verify its tokens:
//
//	{"keys":[{"kty":"OKP","crv":"Ed25519","x":"…","kid":"…","use":"sig","alg":"EdDSA"}]}
//
// It lists every Ed25519 key of the issuer, the signing key first (when it
// is one) and then Config.VerifyKeys in their order, each with its key id;
// a verify-only key is listed like the signing key, so that tokens it
// signed, or will sign once it becomes the signing key, verify elsewhere.
// HS256 keys are never listed: their secret is the key. The document
// holds only public halves.
//
// PublicJWKS returns [ErrNoPublicKeys] when the issuer has no Ed25519 key,
// and a *[ConfigError] when an Ed25519 key has an empty id (a consumer
// picks the key by the token's kid, and rotation needs ids; use
// [Ed25519Thumbprint] for one). The result is a new slice on every call.
func (j *Issuer) PublicJWKS() ([]byte, error) {
	set := struct {
		Keys []publicJWK `json:"keys"`
	}{Keys: []publicJWK{}}
	for _, k := range j.ordered {
		pub, ok := k.verify.(ed25519.PublicKey)
		if !ok {
			continue // an HS256 secret
		}
		if k.id == "" {
			return nil, &ConfigError{Field: "Config.SigningKey", Reason: "an Ed25519 key published in a JWKS needs a key id (Ed25519Thumbprint makes one)"}
		}
		set.Keys = append(set.Keys, publicJWK{
			Kty: "OKP",
			Crv: "Ed25519",
			X:   base64.RawURLEncoding.EncodeToString(pub),
			Kid: k.id,
			Use: "sig",
			Alg: k.method.Alg(),
		})
	}
	if len(set.Keys) == 0 {
		return nil, ErrNoPublicKeys
	}
	b, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("jwt: encode JWKS: %w", err)
	}
	return b, nil
}

// Ed25519Thumbprint returns the JWK thumbprint of pub (RFC 7638 with RFC
// 8037 §2's members: the base64url SHA-256 of
// {"crv":"Ed25519","kty":"OKP","x":"…"}), a 43-character key id that is
// unique per key and that anyone holding the public key can recompute.
// pub must be 32 bytes; otherwise the error is a *[ConfigError] for "pub".
func Ed25519Thumbprint(pub ed25519.PublicKey) (string, error) {
	if len(pub) != ed25519.PublicKeySize {
		return "", &ConfigError{Field: "pub", Reason: fmt.Sprintf("an Ed25519 public key must be %d bytes", ed25519.PublicKeySize)}
	}
	canon := `{"crv":"Ed25519","kty":"OKP","x":"` + base64.RawURLEncoding.EncodeToString(pub) + `"}`
	sum := sha256.Sum256([]byte(canon))
	return base64.RawURLEncoding.EncodeToString(sum[:]), nil
}
