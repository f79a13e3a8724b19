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

// Prefix starts every hash Fast makes, so that a test can search responses
// and logs for it to prove no hash leaked.
const Prefix = "$fast$"

// Fast is an [auth.Hasher]: Prefix, 8 random bytes of salt in hex, "$", and
// the hex SHA-256 of salt and password.
type Fast struct{}

// Hash returns a fresh salted hash of pw.
func (Fast) Hash(pw string) (string, error) {
	salt := make([]byte, 8)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	sum := sha256.Sum256(append(salt, pw...))
	return Prefix + hex.EncodeToString(salt) + "$" + hex.EncodeToString(sum[:]), nil
}

// Compare reports whether hash is Fast's hash of pw, with the errors
// [auth.Hasher] documents: [auth.ErrUnsupportedHash] without Prefix,
// [auth.ErrInvalidHash] when malformed, [auth.ErrMismatchedHash] for
// another password.
func (Fast) Compare(hash, pw string) error {
	rest, ok := strings.CutPrefix(hash, Prefix)
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
