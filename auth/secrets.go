package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/google/uuid"
)

// randomBytes reads n bytes from the configured source of randomness.
func (m *Manager) randomBytes(n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(m.cfg.Rand, b); err != nil {
		return nil, fmt.Errorf("auth: reading randomness: %w", err)
	}
	return b, nil
}

// newToken returns a 256-bit random token in unpadded base64url and its
// SHA-256, which is what stores keep.
func (m *Manager) newToken() (token string, hash []byte, err error) {
	b, err := m.randomBytes(32)
	if err != nil {
		return "", nil, err
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256(b)
	return token, sum[:], nil
}

// tokenHash decodes a token made by newToken and returns its hash. Anything
// that is not exactly 32 bytes of canonical unpadded base64url is refused,
// so JWTs and truncated or padded tokens never reach the store.
func tokenHash(token string) ([]byte, bool) {
	if len(token) != 43 {
		return nil, false
	}
	var b [32]byte
	n, err := base64.RawURLEncoding.Strict().Decode(b[:], []byte(token))
	if err != nil || n != 32 {
		return nil, false
	}
	sum := sha256.Sum256(b[:])
	return sum[:], true
}

// newCode returns a uniformly random 6-digit code.
func (m *Manager) newCode() (string, error) {
	for {
		b, err := m.randomBytes(4)
		if err != nil {
			return "", err
		}
		v := binary.BigEndian.Uint32(b)
		// Reject the top sliver so every code is equally likely.
		if v >= 4294000000 {
			continue
		}
		return fmt.Sprintf("%06d", v%1000000), nil
	}
}

// codeHash binds a short code to its secret: the stored value is useless
// without the secret's own hash.
func codeHash(secretHash []byte, code string) []byte {
	h := sha256.New()
	h.Write(secretHash)
	h.Write([]byte{0})
	h.Write([]byte(code))
	return h.Sum(nil)
}

// constantTimeEqual compares two secrets (hashes) in constant time
// (SECURITY.md #17).
func constantTimeEqual(a, b []byte) bool {
	return len(a) > 0 && subtle.ConstantTimeCompare(a, b) == 1
}

// newID returns a random UUID drawn from Config.Rand.
func (m *Manager) newID() (string, error) {
	id, err := uuid.NewRandomFromReader(m.cfg.Rand)
	if err != nil {
		return "", fmt.Errorf("auth: reading randomness: %w", err)
	}
	return id.String(), nil
}

// encodeID encodes random bytes as an unpadded base64url identifier.
func encodeID(b []byte) string {
	return base64.RawURLEncoding.EncodeToString(b)
}
