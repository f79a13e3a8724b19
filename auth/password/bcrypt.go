package password

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"

	"golang.org/x/crypto/bcrypt"
)

// Bounds of the bcrypt cost.
const (
	defaultBcryptCost = 12
	// minBcryptCost is the ASVS 5.0 appendix C floor for new hashes.
	minBcryptCost = 10
	// maxBcryptCost caps both the cost of new hashes and the cost accepted
	// from a stored hash. Each step doubles the time: cost 12 takes about
	// 0.2 s, 14 about 0.8 s, and the format allows up to 31 (days). Without
	// the cap a hostile or corrupted stored hash could pin a core for hours.
	maxBcryptCost = 14
	// minStoredBcryptCost is the lowest cost accepted from a stored hash:
	// the format's own minimum, so that old or imported hashes still verify
	// (and are then upgraded).
	minStoredBcryptCost = bcrypt.MinCost
	// bcryptMaxBytes is bcrypt's input limit; longer passwords would be
	// truncated by the algorithm, so they are refused.
	bcryptMaxBytes = 72
)

// Bcrypt is an auth.Hasher and auth.RehashChecker using bcrypt, for compatibility
// with existing bcrypt hashes and for deployments that cannot afford
// argon2id's memory. Prefer [Argon2id].
//
// bcrypt reads at most 72 bytes of a password. Bcrypt never truncates
// silently: Hash and Compare both refuse a longer password with an error
// matching [ErrTooLong], so a password and its 72-byte prefix are
// never interchangeable (SECURITY.md #4, §5 decision 1). 72 bytes are 72
// ASCII characters but only 24 characters of most Asian scripts, fewer than
// the 64 that NIST asks to accept; use [Argon2id] where that matters.
//
// A Bcrypt is immutable and safe for concurrent use.
type Bcrypt struct {
	cost int
}

// NewBcrypt returns a bcrypt hasher using cost (log2 of the rounds) for new
// hashes. Zero means 12. The cost must be between 10 (OWASP ASVS 5.0
// appendix C) and 14; anything else gives a *[ConfigError]. 14 is also
// the highest cost Compare accepts from a stored hash.
func NewBcrypt(cost int) (*Bcrypt, error) {
	if cost == 0 {
		cost = defaultBcryptCost
	}
	if cost < minBcryptCost || cost > maxBcryptCost {
		return nil, &ConfigError{
			Field:  "bcrypt cost",
			Reason: fmt.Sprintf("must be between %d and %d", minBcryptCost, maxBcryptCost),
		}
	}
	return &Bcrypt{cost: cost}, nil
}

// Hash returns a "$2a$" bcrypt hash of password with a fresh random salt.
// It applies no password policy, but refuses a password over 72 bytes with
// an error matching [ErrTooLong] (and [ErrWeak]) before
// hashing.
func (b *Bcrypt) Hash(password string) (string, error) {
	if len(password) > bcryptMaxBytes {
		return "", &byteLimitError{hasher: "bcrypt", limit: bcryptMaxBytes}
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), b.cost)
	if err != nil {
		return "", fmt.Errorf("password: bcrypt: %w", err)
	}
	return string(h), nil
}

// Compare checks password against a bcrypt hash, at the cost stored in the
// hash. It returns, checking in this order and without hashing for the
// first three:
//
//   - [ErrUnsupportedHash] if hash is not a bcrypt hash (it does not begin
//     with "$2"; an argon2id hash, say);
//   - [ErrInvalidHash] if it is malformed: a version other than $2a$, $2b$
//     or $2y$, a cost under 4 or over 14 (the cap guards against a hostile
//     stored hash costing hours), a length other than 60, or a salt or hash
//     that is not canonical bcrypt base64;
//   - an error matching [ErrTooLong] if password is over 72 bytes:
//     bcrypt would compare only its first 72 bytes;
//   - [ErrMismatch] if password does not match;
//   - nil if it does. The comparison, done by golang.org/x/crypto/bcrypt,
//     is constant-time.
func (b *Bcrypt) Compare(hash, password string) error {
	if _, err := parseBcrypt(hash); err != nil {
		return err
	}
	if len(password) > bcryptMaxBytes {
		return &byteLimitError{hasher: "bcrypt", limit: bcryptMaxBytes}
	}
	err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(password))
	switch {
	case err == nil:
		return nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return ErrMismatch
	default:
		return fmt.Errorf("%w: bcrypt: %v", ErrInvalidHash, err)
	}
}

// NeedsRehash reports whether hash should be replaced by a new hash from b:
// when it is not a valid bcrypt hash (another format, such as argon2id, or
// malformed), or when its cost is below b's.
func (b *Bcrypt) NeedsRehash(hash string) bool {
	cost, err := parseBcrypt(hash)
	return err != nil || cost < b.cost
}

// bcryptB64 is bcrypt's own base64 alphabet, unpadded; Strict refuses stray
// bits in the last character.
func bcryptB64() *base64.Encoding {
	return base64.NewEncoding("./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789").
		WithPadding(base64.NoPadding).Strict()
}

// parseBcrypt checks the shape of a modular-crypt bcrypt hash,
// "$2b$12$" + 22 characters of salt + 31 of hash, and returns its cost.
func parseBcrypt(hash string) (int, error) {
	if len(hash) < 2 || hash[:2] != "$2" {
		return 0, ErrUnsupportedHash
	}
	invalid := func(reason string) (int, error) {
		return 0, fmt.Errorf("%w: bcrypt: %s", ErrInvalidHash, reason)
	}
	if len(hash) != 60 {
		return invalid("wrong length")
	}
	if v := hash[2]; (v != 'a' && v != 'b' && v != 'y') || hash[3] != '$' {
		return invalid("unknown version")
	}
	if hash[6] != '$' || hash[4] < '0' || hash[4] > '9' || hash[5] < '0' || hash[5] > '9' {
		return invalid("malformed cost")
	}
	cost, _ := strconv.Atoi(hash[4:6])
	if cost < minStoredBcryptCost || cost > maxBcryptCost {
		return invalid("cost out of range")
	}
	enc := bcryptB64()
	if salt, err := enc.DecodeString(hash[7:29]); err != nil || len(salt) != 16 {
		return invalid("bad salt")
	}
	if sum, err := enc.DecodeString(hash[29:]); err != nil || len(sum) != 23 {
		return invalid("bad hash")
	}
	return cost, nil
}
