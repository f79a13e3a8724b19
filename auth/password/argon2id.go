package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Defaults of [Argon2Params] (RFC 9106 §4, second recommended option, with
// the time cost raised to 3), and the fixed salt and key sizes of new hashes.
const (
	defaultArgon2Time      = 3
	defaultArgon2MemoryKiB = 64 * 1024
	defaultArgon2Threads   = 4
	argon2SaltLen          = 16
	argon2KeyLen           = 32
)

// Bounds on the parameters of a stored argon2id hash. Verification uses the
// stored parameters, so these caps are what stop a hostile or corrupted hash
// from costing unbounded memory or time (SECURITY.md #3). [NewArgon2id]
// refuses parameters outside them too, so every hash it makes verifies.
const (
	// maxArgon2MemoryKiB caps m at 1 GiB.
	maxArgon2MemoryKiB = 1 << 20
	// maxArgon2Time caps t at 16 passes.
	maxArgon2Time = 16
	// maxArgon2Work caps t·m at 1 GiB of passes (t=1 with 1 GiB, t=4 with
	// 256 MiB, t=16 with 64 MiB): about 2.5 s of one core, five times the
	// default's work.
	maxArgon2Work = 1 << 20
	// Salt: at least 8 bytes (RFC 9106 §3.1), at most 64.
	minArgon2SaltLen, maxArgon2SaltLen = 8, 64
	// Key (tag): 16 to 64 bytes.
	minArgon2KeyLen, maxArgon2KeyLen = 16, 64
	// maxArgon2HashLen bounds the whole string; the longest valid one is
	// about 210 bytes.
	maxArgon2HashLen = 256
)

// Argon2Params are the cost parameters of an [Argon2id] hasher. A zero field
// means its default: Time 3, MemoryKiB 65536 (64 MiB), Threads 4, which
// takes about 180 ms on a 2-core machine.
//
// [NewArgon2id] refuses parameters below the floor of OWASP ASVS 5.0
// Appendix C: memory of at least 47104 KiB with Time 1, 19456 KiB with
// Time 2, and 12288 KiB with Time 3 or more. It also refuses MemoryKiB over
// 1048576 (1 GiB), Time over 16, and Time·MemoryKiB over 1048576, the caps
// that verification applies to stored hashes.
type Argon2Params struct {
	// Time is the number of passes over memory (argon2's t).
	Time uint32
	// MemoryKiB is the memory used, in KiB (argon2's m).
	MemoryKiB uint32
	// Threads is the degree of parallelism (argon2's p). It changes the
	// hash, so it is stored with it.
	Threads uint8
}

// Argon2id is an auth.Hasher and auth.RehashChecker using argon2id (RFC 9106), the
// recommended default. Hashes are PHC strings:
//
//	$argon2id$v=19$m=65536,t=3,p=4$<salt>$<key>
//
// with a 16-byte random salt and a 32-byte key, both in standard base64
// without padding. Passwords of any length up to [MaxBytes] are
// hashed whole.
//
// An Argon2id is immutable and safe for concurrent use. Each Hash or Compare
// call allocates the configured memory (64 MiB by default), so the
// auth.Manager bounds how many run at once.
type Argon2id struct {
	p Argon2Params
}

// NewArgon2id returns an argon2id hasher with parameters p, zero fields
// taking their defaults (see [Argon2Params]). Parameters below the ASVS
// floor or above the verification caps give a *[ConfigError] naming the
// field, such as "Argon2Params.MemoryKiB".
func NewArgon2id(p Argon2Params) (*Argon2id, error) {
	if p.Time == 0 {
		p.Time = defaultArgon2Time
	}
	if p.MemoryKiB == 0 {
		p.MemoryKiB = defaultArgon2MemoryKiB
	}
	if p.Threads == 0 {
		p.Threads = defaultArgon2Threads
	}
	if p.Time > maxArgon2Time {
		return nil, &ConfigError{
			Field:  "Argon2Params.Time",
			Reason: fmt.Sprintf("must be at most %d", maxArgon2Time),
		}
	}
	floor := uint32(12288)
	switch p.Time {
	case 1:
		floor = 47104
	case 2:
		floor = 19456
	}
	if p.MemoryKiB < floor {
		return nil, &ConfigError{
			Field: "Argon2Params.MemoryKiB",
			Reason: fmt.Sprintf("must be at least %d KiB with Time %d (OWASP ASVS 5.0 appendix C)",
				floor, p.Time),
		}
	}
	if p.MemoryKiB > maxArgon2MemoryKiB {
		return nil, &ConfigError{
			Field:  "Argon2Params.MemoryKiB",
			Reason: fmt.Sprintf("must be at most %d KiB", maxArgon2MemoryKiB),
		}
	}
	if uint64(p.Time)*uint64(p.MemoryKiB) > maxArgon2Work {
		return nil, &ConfigError{
			Field:  "Argon2Params.Time",
			Reason: fmt.Sprintf("Time × MemoryKiB must be at most %d", maxArgon2Work),
		}
	}
	return &Argon2id{p: p}, nil
}

// Threads returns the degree of parallelism of the hashes h makes (its
// Argon2Params.Threads, argon2's p): each Hash, and each Compare of such a
// hash, keeps that many goroutines busy at once. The auth.Manager divides
// GOMAXPROCS by it for its default number of concurrent hashes.
func (h *Argon2id) Threads() int { return int(h.p.Threads) }

// Hash returns a PHC-format argon2id hash of password with a fresh random
// salt. It applies no password policy, but refuses a password over
// [MaxBytes] with an error matching [ErrTooLong] before
// hashing.
func (h *Argon2id) Hash(password string) (string, error) {
	if len(password) > MaxBytes {
		return "", &byteLimitError{hasher: "argon2id", limit: MaxBytes}
	}
	salt := make([]byte, argon2SaltLen)
	rand.Read(salt) // never returns an error; on failure the program crashes
	key := argon2.IDKey([]byte(password), salt, h.p.Time, h.p.MemoryKiB, h.p.Threads, argon2KeyLen)
	return phcArgon2id{
		time: h.p.Time, memory: h.p.MemoryKiB, threads: h.p.Threads, salt: salt, key: key,
	}.String(), nil
}

// Compare checks password against an argon2id hash, using the parameters
// stored in the hash (any within the caps, also below this hasher's own or
// the ASVS floor, so imported and older hashes verify). It returns, checking
// in this order and without hashing for the first three:
//
//   - [ErrUnsupportedHash] if hash is not an argon2 PHC string (it does not
//     begin with "$argon2"; a bcrypt hash, say);
//   - [ErrInvalidHash] if it is malformed or out of bounds: another argon2
//     variant or version, fields other than exactly m, t and p in that
//     order, numbers with signs or leading zeros, m over 1 GiB or under 8·p,
//     t of 0 or over 16, t·m over 1 GiB (of passes), p of 0 or over 255, a salt under 8
//     or over 64 bytes, a key under 16 or over 64 bytes, non-canonical
//     base64 (padding, stray bits, line breaks), or any trailing data;
//   - an error matching [ErrTooLong] if password is over
//     [MaxBytes];
//   - [ErrMismatch] if password does not match;
//   - nil if it does. The keys are compared in constant time.
func (h *Argon2id) Compare(hash, password string) error {
	phc, err := parseArgon2id(hash)
	if err != nil {
		return err
	}
	if len(password) > MaxBytes {
		return &byteLimitError{hasher: "argon2id", limit: MaxBytes}
	}
	key := argon2.IDKey([]byte(password), phc.salt, phc.time, phc.memory, phc.threads, uint32(len(phc.key)))
	if subtle.ConstantTimeCompare(key, phc.key) != 1 {
		return ErrMismatch
	}
	return nil
}

// NeedsRehash reports whether hash should be replaced by a new hash from h:
// when it is not a valid argon2id hash (another format, such as bcrypt, or
// malformed), or when any of its time, memory, parallelism, salt length or
// key length is below h's.
func (h *Argon2id) NeedsRehash(hash string) bool {
	phc, err := parseArgon2id(hash)
	if err != nil {
		return true
	}
	return phc.time < h.p.Time || phc.memory < h.p.MemoryKiB || phc.threads < h.p.Threads ||
		len(phc.salt) < argon2SaltLen || len(phc.key) < argon2KeyLen
}

// phcArgon2id is a parsed argon2id PHC string.
type phcArgon2id struct {
	time, memory uint32
	threads      uint8
	salt, key    []byte
}

// b64 is the PHC encoding: standard alphabet, no padding, and no stray
// bits in the last character.
func b64() *base64.Encoding { return base64.RawStdEncoding.Strict() }

func (p phcArgon2id) String() string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.memory, p.time, p.threads,
		b64().EncodeToString(p.salt), b64().EncodeToString(p.key))
}

// parseArgon2id parses a PHC argon2id string strictly. Anything that does
// not start with "$argon2" is ErrUnsupportedHash; anything else that is not
// exactly what phcArgon2id.String would produce for in-bounds parameters is
// ErrInvalidHash.
func parseArgon2id(hash string) (phcArgon2id, error) {
	var p phcArgon2id
	if !strings.HasPrefix(hash, "$argon2") {
		return p, ErrUnsupportedHash
	}
	invalid := func(reason string) (phcArgon2id, error) {
		return phcArgon2id{}, fmt.Errorf("%w: argon2id: %s", ErrInvalidHash, reason)
	}
	if len(hash) > maxArgon2HashLen {
		return invalid("too long")
	}
	rest, ok := strings.CutPrefix(hash, "$argon2id$")
	if !ok {
		return invalid("not the argon2id variant")
	}
	rest, ok = strings.CutPrefix(rest, "v=19$")
	if !ok {
		return invalid("not version 19")
	}
	params, rest, _ := strings.Cut(rest, "$")
	saltB64, keyB64, ok := strings.Cut(rest, "$")
	if !ok {
		return invalid("missing salt or key")
	}
	m, params, _ := strings.Cut(params, ",")
	t, pp, _ := strings.Cut(params, ",")
	memory, ok1 := phcUint(m, "m=")
	passes, ok2 := phcUint(t, "t=")
	threads, ok3 := phcUint(pp, "p=") // any further "," leaves pp unparsable
	if !ok1 || !ok2 || !ok3 {
		return invalid("parameters are not m=…,t=…,p=…")
	}
	switch {
	case threads < 1 || threads > 255:
		return invalid("p out of range")
	case passes < 1 || passes > maxArgon2Time:
		return invalid("t out of range")
	case memory < 8*threads || memory > maxArgon2MemoryKiB:
		return invalid("m out of range")
	case passes*memory > maxArgon2Work:
		return invalid("t·m out of range")
	}
	salt, err1 := decodeB64(saltB64)
	key, err2 := decodeB64(keyB64)
	if err1 != nil || err2 != nil {
		return invalid("bad base64")
	}
	if len(salt) < minArgon2SaltLen || len(salt) > maxArgon2SaltLen {
		return invalid("salt length out of range")
	}
	if len(key) < minArgon2KeyLen || len(key) > maxArgon2KeyLen {
		return invalid("key length out of range")
	}
	return phcArgon2id{
		time: uint32(passes), memory: uint32(memory), threads: uint8(threads), salt: salt, key: key,
	}, nil
}

// phcUint parses "<prefix><decimal>" where the decimal has no sign and no
// leading zero and fits in 32 bits.
func phcUint(s, prefix string) (uint64, bool) {
	digits, ok := strings.CutPrefix(s, prefix)
	if !ok || digits == "" || len(digits) > 10 || (digits[0] == '0' && len(digits) > 1) {
		return 0, false
	}
	for _, c := range []byte(digits) {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseUint(digits, 10, 32)
	return v, err == nil
}

// decodeB64 decodes standard unpadded base64, refusing anything that would
// not encode back to s (the decoder skips line breaks; Strict refuses
// non-zero trailing bits).
func decodeB64(s string) ([]byte, error) {
	b, err := b64().DecodeString(s)
	if err != nil {
		return nil, err
	}
	if b64().EncodedLen(len(b)) != len(s) {
		return nil, base64.CorruptInputError(0)
	}
	return b, nil
}
