// Package testhash is the quick password hasher of Gatehouse's own tests,
// which would otherwise spend most of their time in argon2id. It is not a
// password hash (one salted SHA-256, no work factor): nothing outside tests
// may use it, and being internal, nothing outside this module can.
package testhash

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"strings"

	"github.com/gatehouse-go/gatehouse/auth"
)

// DefaultPrefix starts every hash a Fast with no Prefix makes, so that a
// test can search responses and logs for it to prove no hash leaked.
const DefaultPrefix = "$fast$"

// Fast is an [auth.Hasher]: its prefix, 8 random bytes of salt in hex, "$",
// and the hex SHA-256 of salt and password.
type Fast struct {
	// Prefix names the scheme, DefaultPrefix when empty. Two Fasts with
	// different prefixes refuse each other's hashes as unsupported, as a
	// Manager's current and legacy hashers do.
	Prefix string
}

func (f Fast) prefix() string {
	if f.Prefix == "" {
		return DefaultPrefix
	}
	return f.Prefix
}

// Hash returns a fresh salted hash of pw.
func (f Fast) Hash(pw string) (string, error) {
	salt := make([]byte, 8)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	sum := sha256.Sum256(append(salt, pw...))
	return f.prefix() + hex.EncodeToString(salt) + "$" + hex.EncodeToString(sum[:]), nil
}

// Compare reports whether hash is this Fast's hash of pw, with the errors
// [auth.Hasher] documents: [auth.ErrUnsupportedHash] without the prefix,
// [auth.ErrInvalidHash] when malformed, [auth.ErrMismatchedHash] for
// another password.
func (f Fast) Compare(hash, pw string) error {
	rest, ok := strings.CutPrefix(hash, f.prefix())
	if !ok {
		return auth.ErrUnsupportedHash
	}
	saltHex, sumHex, ok := strings.Cut(rest, "$")
	salt, err1 := hex.DecodeString(saltHex)
	want, err2 := hex.DecodeString(sumHex)
	if !ok || err1 != nil || err2 != nil {
		return auth.ErrInvalidHash
	}
	sum := sha256.Sum256(append(salt, pw...))
	if subtle.ConstantTimeCompare(sum[:], want) != 1 {
		return auth.ErrMismatchedHash
	}
	return nil
}
