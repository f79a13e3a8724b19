package main

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/gatehouse-go/gatehouse/auth/jwt"
)

// tokenName is the iss and aud of the server's access tokens: the
// Manager's default, whichever key signs them.
const tokenName = "gatehouse"

// The advice printed with a bad key file.
const (
	ed25519KeyAdvice    = "make one with: openssl genpkey -algorithm ed25519 -out FILE"
	ed25519PublicAdvice = "write one with: openssl pkey -in PRIVATE-KEY-FILE -pubout -out FILE"
)

// ed25519Issuer returns the access-token issuer of -ed25519-key and
// -ed25519-verify-keys, each key under its RFC 7638 thumbprint as its id,
// or nil when -ed25519-key is not given.
func ed25519Issuer(o options, logger *slog.Logger) (*jwt.Issuer, error) {
	if o.ed25519Key == "" {
		if o.ed25519VerifyKeys != "" {
			return nil, errors.New("-ed25519-verify-keys needs -ed25519-key: verify-only keys go with an Ed25519 signing key")
		}
		return nil, nil
	}
	if _, set := os.LookupEnv(envSigningKey); set {
		return nil, fmt.Errorf("-ed25519-key and %s are both set: access tokens are signed by one key; unset %s", envSigningKey, envSigningKey)
	}
	priv, err := readEd25519Private(o.ed25519Key, logger)
	if err != nil {
		return nil, fmt.Errorf("-ed25519-key %s: %w", o.ed25519Key, err)
	}
	signing, err := keyWithThumbprint(priv.Public().(ed25519.PublicKey), func(kid string) (jwt.Key, error) { return jwt.Ed25519Key(kid, priv) })
	if err != nil {
		return nil, fmt.Errorf("-ed25519-key %s: %w", o.ed25519Key, err)
	}
	var verify []jwt.Key
	// A key given twice, or the signing key's own public half (left from
	// the first step of a rotation), counts once.
	seen := map[string]bool{signing.ID(): true}
	for _, file := range strings.Split(o.ed25519VerifyKeys, ",") {
		if file = strings.TrimSpace(file); file == "" {
			continue
		}
		pubs, err := readEd25519Public(file)
		if err != nil {
			return nil, fmt.Errorf("-ed25519-verify-keys %s: %w", file, err)
		}
		for _, pub := range pubs {
			k, err := keyWithThumbprint(pub, func(kid string) (jwt.Key, error) { return jwt.Ed25519PublicKey(kid, pub) })
			if err != nil {
				return nil, fmt.Errorf("-ed25519-verify-keys %s: %w", file, err)
			}
			if !seen[k.ID()] {
				seen[k.ID()] = true
				verify = append(verify, k)
			}
		}
	}
	return jwt.New(jwt.Config{Issuer: tokenName, Audience: tokenName, SigningKey: signing, VerifyKeys: verify})
}

// keyWithThumbprint builds a key with build under pub's thumbprint.
func keyWithThumbprint(pub ed25519.PublicKey, build func(kid string) (jwt.Key, error)) (jwt.Key, error) {
	kid, err := jwt.Ed25519Thumbprint(pub)
	if err != nil {
		return jwt.Key{}, err
	}
	return build(kid)
}

// readEd25519Private reads a PEM file holding one PKCS #8 Ed25519 private
// key, warning when others than its owner may read it.
func readEd25519Private(path string, logger *slog.Logger) (ed25519.PrivateKey, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if info.Mode().Perm()&0o077 != 0 {
		logger.Warn("the Ed25519 private key file is readable by others than its owner; chmod 600 it", "file", path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, rest := pem.Decode(b)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, errors.New("not a PEM \"PRIVATE KEY\" (PKCS #8) file; " + ed25519KeyAdvice)
	}
	if next, _ := pem.Decode(rest); next != nil {
		return nil, errors.New("more than one PEM block: give one private key")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w; %s", err, ed25519KeyAdvice)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("a %T, not an Ed25519 key; %s", k, ed25519KeyAdvice)
	}
	return priv, nil
}

// readEd25519Public reads a PEM file of one or more PKIX Ed25519 public
// keys ("PUBLIC KEY" blocks). A private key is refused: a verify-only key
// needs only its public half.
func readEd25519Public(path string) ([]ed25519.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []ed25519.PublicKey
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			break
		}
		if block.Type != "PUBLIC KEY" {
			return nil, fmt.Errorf("a PEM %q block: give public keys only; %s", block.Type, ed25519PublicAdvice)
		}
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w; %s", err, ed25519PublicAdvice)
		}
		pub, ok := k.(ed25519.PublicKey)
		if !ok {
			return nil, fmt.Errorf("a %T, not an Ed25519 key; %s", k, ed25519PublicAdvice)
		}
		out = append(out, pub)
	}
	if len(out) == 0 {
		return nil, errors.New("no PEM \"PUBLIC KEY\" block; " + ed25519PublicAdvice)
	}
	return out, nil
}
