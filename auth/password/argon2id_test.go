package password_test

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"

	"github.com/gatehouse-go/gatehouse/auth/password"
)

// owaspArgon2 are the cheapest parameters NewArgon2id accepts (OWASP's
// minimum, about 45 ms); tests that do not care about cost use them.
var owaspArgon2 = password.Argon2Params{Time: 2, MemoryKiB: 19456, Threads: 1}

func newArgon2id(tb testing.TB, p password.Argon2Params) *password.Argon2id {
	tb.Helper()
	h, err := password.NewArgon2id(p)
	if err != nil {
		tb.Fatalf("NewArgon2id(%+v): %v", p, err)
	}
	return h
}

// phc builds an argon2id PHC string directly with x/crypto, for parameters
// NewArgon2id would refuse or to control every field.
func phc(pw, salt string, t, m uint32, p uint8, keyLen uint32) string {
	key := argon2.IDKey([]byte(pw), []byte(salt), t, m, p, keyLen)
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", m, t, p,
		base64.RawStdEncoding.EncodeToString([]byte(salt)), base64.RawStdEncoding.EncodeToString(key))
}

var phcPattern = regexp.MustCompile(`^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$`)

// SECURITY.md #1: PHC string, 16-byte salt, unique salt per hash.
func TestArgon2idHashFormat(t *testing.T) {
	t.Run("default parameters", func(t *testing.T) {
		h := newArgon2id(t, password.Argon2Params{})
		hash, err := h.Hash("correct horse battery staple")
		if err != nil {
			t.Fatal(err)
		}
		m := phcPattern.FindStringSubmatch(hash)
		if m == nil {
			t.Fatalf("hash %q is not a PHC argon2id string", hash)
		}
		if got := m[1] + "," + m[2] + "," + m[3]; got != "65536,3,4" {
			t.Errorf("m,t,p = %s, want 65536,3,4", got)
		}
		salt, err := base64.RawStdEncoding.DecodeString(m[4])
		if err != nil || len(salt) != 16 {
			t.Errorf("salt decodes to %d bytes (err %v), want 16", len(salt), err)
		}
		key, err := base64.RawStdEncoding.DecodeString(m[5])
		if err != nil || len(key) != 32 {
			t.Errorf("key decodes to %d bytes (err %v), want 32", len(key), err)
		}
		if strings.Contains(hash, "correct horse") {
			t.Error("hash contains the plaintext")
		}
		if err := h.Compare(hash, "correct horse battery staple"); err != nil {
			t.Errorf("Compare(right password) = %v, want nil", err)
		}
	})

	t.Run("same password twice", func(t *testing.T) {
		h := newArgon2id(t, owaspArgon2)
		a, errA := h.Hash("same password")
		b, errB := h.Hash("same password")
		if errA != nil || errB != nil {
			t.Fatal(errA, errB)
		}
		if a == b {
			t.Fatalf("two hashes of one password are equal: %q", a)
		}
		saltA := phcPattern.FindStringSubmatch(a)[4]
		saltB := phcPattern.FindStringSubmatch(b)[4]
		if saltA == saltB {
			t.Errorf("two hashes share the salt %q", saltA)
		}
		for _, hash := range []string{a, b} {
			if err := h.Compare(hash, "same password"); err != nil {
				t.Errorf("Compare(%q, right) = %v", hash, err)
			}
			if err := h.Compare(hash, "same passwore"); !errors.Is(err, password.ErrMismatch) {
				t.Errorf("Compare(%q, wrong) = %v, want ErrMismatch", hash, err)
			}
		}
	})
}

// Known answers through the public x/crypto API, and a PHC string made by
// the reference implementation (the argon2 command of phc-winner-argon2:
// `echo -n password | argon2 somesalt -id -t 2 -k 64 -p 1 -l 24 -e`).
func TestArgon2idKnownAnswer(t *testing.T) {
	const (
		wantKey = "068d62b26455936aa6ebe60060b0a65870dbfa3ddf8d41f7"
		refPHC  = "$argon2id$v=19$m=64,t=2,p=1$c29tZXNhbHQ$Bo1ismRVk2qm6+YAYLCmWHDb+j3fjUH3"
	)
	key := argon2.IDKey([]byte("password"), []byte("somesalt"), 2, 64, 1, 24)
	if got := hex.EncodeToString(key); got != wantKey {
		t.Fatalf("IDKey = %s, want %s", got, wantKey)
	}
	if got := phc("password", "somesalt", 2, 64, 1, 24); got != refPHC {
		t.Errorf("our PHC encoding = %s, reference = %s", got, refPHC)
	}
	// Verification accepts stored parameters far below NewArgon2id's floor:
	// only the constructor enforces it.
	h := newArgon2id(t, owaspArgon2)
	if err := h.Compare(refPHC, "password"); err != nil {
		t.Errorf("Compare(reference hash, right) = %v, want nil", err)
	}
	if err := h.Compare(refPHC, "Password"); !errors.Is(err, password.ErrMismatch) {
		t.Errorf("Compare(reference hash, wrong) = %v, want ErrMismatch", err)
	}
	if !h.NeedsRehash(refPHC) {
		t.Error("NeedsRehash(t=2,m=64 hash) = false, want true")
	}
}

// SECURITY.md #2: the ASVS appendix C floor is enforced on configuration.
func TestNewArgon2id(t *testing.T) {
	refused := []struct {
		name  string
		p     password.Argon2Params
		field string
	}{
		{"t=1 m=8192", password.Argon2Params{Time: 1, MemoryKiB: 8192}, "Argon2Params.MemoryKiB"},
		{"t=1 m=47103", password.Argon2Params{Time: 1, MemoryKiB: 47103}, "Argon2Params.MemoryKiB"},
		{"t=2 m=19455", password.Argon2Params{Time: 2, MemoryKiB: 19455}, "Argon2Params.MemoryKiB"},
		{"t=3 m=12287", password.Argon2Params{Time: 3, MemoryKiB: 12287}, "Argon2Params.MemoryKiB"},
		{"default t, m=12287", password.Argon2Params{MemoryKiB: 12287}, "Argon2Params.MemoryKiB"},
		{"m over 1 GiB", password.Argon2Params{MemoryKiB: 1<<20 + 1}, "Argon2Params.MemoryKiB"},
		{"t=17", password.Argon2Params{Time: 17}, "Argon2Params.Time"},
		{"t·m over the cap", password.Argon2Params{Time: 2, MemoryKiB: 1 << 20}, "Argon2Params.Time"},
		{"t·m just over the cap", password.Argon2Params{Time: 4, MemoryKiB: 1<<18 + 1}, "Argon2Params.Time"},
	}
	for _, tc := range refused {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			h, err := password.NewArgon2id(tc.p)
			var ve *password.ConfigError
			if !errors.As(err, &ve) {
				t.Fatalf("NewArgon2id(%+v) = %v, %v; want a *ConfigError", tc.p, h, err)
			}
			if ve.Field != tc.field {
				t.Errorf("Field = %q, want %q", ve.Field, tc.field)
			}
		})
	}
	accepted := []password.Argon2Params{
		{},
		{Time: 1, MemoryKiB: 47104, Threads: 1},
		{Time: 2, MemoryKiB: 19456, Threads: 1},
		{Time: 3, MemoryKiB: 12288, Threads: 1},
		{Time: 16, MemoryKiB: 12288, Threads: 255},
		{Time: 1, MemoryKiB: 1 << 20},
		{Time: 4, MemoryKiB: 1 << 18},
	}
	for _, p := range accepted {
		t.Run(fmt.Sprintf("accepts %+v", p), func(t *testing.T) {
			if _, err := password.NewArgon2id(p); err != nil {
				t.Errorf("NewArgon2id(%+v) = %v, want nil", p, err)
			}
		})
	}
}

// SECURITY.md #2: a hash made with weaker parameters asks to be re-hashed.
func TestArgon2idNeedsRehash(t *testing.T) {
	h := newArgon2id(t, password.Argon2Params{Time: 3, MemoryKiB: 12288, Threads: 2})
	const salt16 = "0123456789abcdef"
	tests := []struct {
		name string
		hash string
		want bool
	}{
		{"same parameters", phc("pw", salt16, 3, 12288, 2, 32), false},
		{"stronger parameters", phc("pw", salt16, 4, 16384, 4, 64), false},
		{"lower t", phc("pw", salt16, 2, 12288, 2, 32), true},
		{"lower m", phc("pw", salt16, 3, 12280, 2, 32), true},
		{"lower p", phc("pw", salt16, 3, 12288, 1, 32), true},
		{"shorter salt", phc("pw", "01234567", 3, 12288, 2, 32), true},
		{"shorter key", phc("pw", salt16, 3, 12288, 2, 16), true},
		{"bcrypt hash", bcryptTest2b, true},
		{"malformed", "$argon2id$v=19$m=12288,t=3,p=2$", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := h.NeedsRehash(tc.hash); got != tc.want {
				t.Errorf("NeedsRehash(%q) = %v, want %v", tc.hash, got, tc.want)
			}
		})
	}
}

// hostileArgon2 are stored hashes Compare must refuse as ErrInvalidHash
// without hashing (SECURITY.md #3). They are built from a valid one.
func hostileArgon2() []struct{ name, hash string } {
	const (
		salt = "c29tZXNhbHQ"                      // "somesalt", 8 bytes
		key  = "Bo1ismRVk2qm6+YAYLCmWHDb+j3fjUH3" // 24 bytes
		ok   = "$argon2id$v=19$m=64,t=2,p=1$" + salt + "$" + key
	)
	b := func(n int) string { return base64.RawStdEncoding.EncodeToString(make([]byte, n)) }
	return []struct{ name, hash string }{
		{"m overflows 32 bits", "$argon2id$v=19$m=4294967297,t=2,p=1$" + salt + "$" + key},
		{"m at 2^32-1", "$argon2id$v=19$m=4294967295,t=2,p=1$" + salt + "$" + key},
		{"m over 1 GiB", "$argon2id$v=19$m=1048577,t=1,p=1$" + salt + "$" + key},
		{"m zero", "$argon2id$v=19$m=0,t=2,p=1$" + salt + "$" + key},
		{"m under 8p", "$argon2id$v=19$m=31,t=2,p=4$" + salt + "$" + key},
		{"t overflows 32 bits", "$argon2id$v=19$m=64,t=4294967297,p=1$" + salt + "$" + key},
		{"t zero", "$argon2id$v=19$m=64,t=0,p=1$" + salt + "$" + key},
		{"t over 16", "$argon2id$v=19$m=64,t=17,p=1$" + salt + "$" + key},
		{"t·m over the cap", "$argon2id$v=19$m=1048576,t=2,p=1$" + salt + "$" + key},
		{"t·m just over the cap", "$argon2id$v=19$m=65537,t=16,p=1$" + salt + "$" + key},
		{"p zero", "$argon2id$v=19$m=64,t=2,p=0$" + salt + "$" + key},
		{"p 256", "$argon2id$v=19$m=4096,t=2,p=256$" + salt + "$" + key},
		{"negative m", "$argon2id$v=19$m=-64,t=2,p=1$" + salt + "$" + key},
		{"plus sign", "$argon2id$v=19$m=+64,t=2,p=1$" + salt + "$" + key},
		{"leading zero", "$argon2id$v=19$m=064,t=2,p=1$" + salt + "$" + key},
		{"hex number", "$argon2id$v=19$m=0x40,t=2,p=1$" + salt + "$" + key},
		{"empty m", "$argon2id$v=19$m=,t=2,p=1$" + salt + "$" + key},
		{"argon2d", "$argon2d$v=19$m=64,t=2,p=1$" + salt + "$" + key},
		{"argon2i", "$argon2i$v=19$m=64,t=2,p=1$" + salt + "$" + key},
		{"argon2ID", "$argon2ID$v=19$m=64,t=2,p=1$" + salt + "$" + key},
		{"v=16", "$argon2id$v=16$m=64,t=2,p=1$" + salt + "$" + key},
		{"v=20", "$argon2id$v=20$m=64,t=2,p=1$" + salt + "$" + key},
		{"no version", "$argon2id$m=64,t=2,p=1$" + salt + "$" + key},
		{"data field", "$argon2id$v=19$m=64,t=2,p=1,data=YWJj$" + salt + "$" + key},
		{"keyid field", "$argon2id$v=19$keyid=YWJj,m=64,t=2,p=1$" + salt + "$" + key},
		{"duplicated m", "$argon2id$v=19$m=64,m=64,t=2,p=1$" + salt + "$" + key},
		{"reordered fields", "$argon2id$v=19$t=2,m=64,p=1$" + salt + "$" + key},
		{"missing p", "$argon2id$v=19$m=64,t=2$" + salt + "$" + key},
		{"space in parameters", "$argon2id$v=19$m=64, t=2,p=1$" + salt + "$" + key},
		{"empty salt", "$argon2id$v=19$m=64,t=2,p=1$$" + key},
		{"empty key", "$argon2id$v=19$m=64,t=2,p=1$" + salt + "$"},
		{"no key", "$argon2id$v=19$m=64,t=2,p=1$" + salt},
		{"bad base64 salt", "$argon2id$v=19$m=64,t=2,p=1$c29tZ!NhbHQ$" + key},
		{"bad base64 key", "$argon2id$v=19$m=64,t=2,p=1$" + salt + "$Bo1ismRVk2qm6+YAYLCmWHDb+j3fjUH*"},
		{"url-safe base64", "$argon2id$v=19$m=64,t=2,p=1$" + salt + "$Bo1ismRVk2qm6-YAYLCmWHDb-j3fjUH3"},
		{"padded salt", "$argon2id$v=19$m=64,t=2,p=1$c29tZXNhbHQ=$" + key},
		{"stray bits in salt", "$argon2id$v=19$m=64,t=2,p=1$c29tZXNhbHR$" + key},
		{"line break in key", "$argon2id$v=19$m=64,t=2,p=1$" + salt + "$Bo1ismRVk2qm6+YA\nYLCmWHDb+j3fjUH3"},
		{"salt of 7 bytes", "$argon2id$v=19$m=64,t=2,p=1$" + b(7) + "$" + key},
		{"salt of 65 bytes", "$argon2id$v=19$m=64,t=2,p=1$" + b(65) + "$" + key},
		{"key of 15 bytes", "$argon2id$v=19$m=64,t=2,p=1$" + salt + "$" + b(15)},
		{"key of 65 bytes", "$argon2id$v=19$m=64,t=2,p=1$" + salt + "$" + b(65)},
		{"trailing dollar", ok + "$"},
		{"trailing junk", ok + "$junk"},
		{"trailing space", ok + " "},
		{"trailing NUL", ok + "\x00"},
		{"leading space inside", "$argon2id$ v=19$m=64,t=2,p=1$" + salt + "$" + key},
		{"very long", ok + strings.Repeat("A", 1<<20)},
		{"prefix only", "$argon2id"},
		{"family only", "$argon2"},
	}
}

// SECURITY.md #3: hostile stored hashes fail with ErrInvalidHash, and other
// formats with ErrUnsupportedHash, without panicking.
func TestArgon2idCompareRefusesHostileHashes(t *testing.T) {
	h := newArgon2id(t, owaspArgon2)
	for _, tc := range hostileArgon2() {
		t.Run(tc.name, func(t *testing.T) {
			err := h.Compare(tc.hash, "password")
			if !errors.Is(err, password.ErrInvalidHash) {
				t.Errorf("Compare = %v, want ErrInvalidHash", err)
			}
			if !h.NeedsRehash(tc.hash) {
				t.Error("NeedsRehash = false, want true")
			}
		})
	}
	unsupported := []struct{ name, hash string }{
		{"empty", ""},
		{"plaintext", "password"},
		{"bcrypt 2b", bcryptTest2b},
		{"bcrypt 2y", bcryptTest2y},
		{"pbkdf2", "$pbkdf2-sha256$29000$c29tZXNhbHQ$aGFzaA"},
		{"scrypt", "$scrypt$ln=16,r=8,p=1$c29tZXNhbHQ$aGFzaA"},
		{"no leading dollar", "argon2id$v=19$m=64,t=2,p=1$c29tZXNhbHQ$Bo1ismRVk2qm6+YAYLCmWHDb+j3fjUH3"},
	}
	for _, tc := range unsupported {
		t.Run("unsupported "+tc.name, func(t *testing.T) {
			if err := h.Compare(tc.hash, "password"); !errors.Is(err, password.ErrUnsupportedHash) {
				t.Errorf("Compare = %v, want ErrUnsupportedHash", err)
			}
		})
	}
}

// SECURITY.md #6: the hasher itself refuses input over MaxBytes.
func TestArgon2idPasswordLength(t *testing.T) {
	h := newArgon2id(t, owaspArgon2)
	atCap := strings.Repeat("x", password.MaxBytes)
	hash, err := h.Hash(atCap)
	if err != nil {
		t.Fatalf("Hash(%d bytes) = %v", len(atCap), err)
	}
	if err := h.Compare(hash, atCap); err != nil {
		t.Errorf("Compare(%d bytes) = %v, want nil", len(atCap), err)
	}
	over := atCap + "x"
	if _, err := h.Hash(over); !errors.Is(err, password.ErrTooLong) || !errors.Is(err, password.ErrWeak) {
		t.Errorf("Hash(%d bytes) = %v, want ErrTooLong and ErrWeak", len(over), err)
	}
	if err := h.Compare(hash, over); !errors.Is(err, password.ErrTooLong) {
		t.Errorf("Compare(%d bytes) = %v, want ErrTooLong", len(over), err)
	}
	// SECURITY.md #6: 64 × "€" (192 bytes) hashes and verifies.
	euros := strings.Repeat("€", 64)
	hash, err = h.Hash(euros)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Compare(hash, euros); err != nil {
		t.Errorf("Compare(64 × €) = %v, want nil", err)
	}
	if err := h.Compare(hash, euros[:189]); !errors.Is(err, password.ErrMismatch) {
		t.Errorf("Compare(63 × €) = %v, want ErrMismatch", err)
	}
}

// FuzzParsePHC feeds arbitrary strings to Compare as stored hashes
// (SECURITY.md #3). Compare must not panic, must answer with one of its
// documented errors, and must succeed only for the genuine hashes seeded
// below: no mutation of a hash may verify.
func FuzzParsePHC(f *testing.F) {
	const pw = "fuzz password"
	h := newArgon2id(f, owaspArgon2)
	genuine := map[string]bool{
		phc(pw, "0123456789abcdef", 2, 64, 1, 32): true,
		phc(pw, "saltsalt", 1, 8, 1, 16):          true,
	}
	for g := range genuine {
		f.Add(g)
	}
	for _, tc := range hostileArgon2() {
		if len(tc.hash) < 1024 {
			f.Add(tc.hash)
		}
	}
	f.Add(bcryptTest2b)
	f.Add("")
	f.Fuzz(func(t *testing.T, hash string) {
		err := h.Compare(hash, pw)
		switch {
		case err == nil:
			if !genuine[hash] {
				t.Fatalf("Compare accepted a hash that was never produced: %q", hash)
			}
		case errors.Is(err, password.ErrInvalidHash), errors.Is(err, password.ErrUnsupportedHash),
			errors.Is(err, password.ErrMismatch):
		default:
			t.Fatalf("Compare(%q) = %v, not a documented error", hash, err)
		}
		if err == nil && !h.NeedsRehash(hash) {
			t.Fatalf("NeedsRehash(%q) = false for a seed below the hasher's parameters", hash)
		}
	})
}

// BenchmarkArgon2idDefault measures one hash at the default parameters
// (t=3, 64 MiB, p=4).
func BenchmarkArgon2idDefault(b *testing.B) {
	h := newArgon2id(b, password.Argon2Params{})
	for b.Loop() {
		if _, err := h.Hash("correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkArgon2idCompareHostile measures refusing a hostile stored hash,
// which must cost no hashing (SECURITY.md #3).
func BenchmarkArgon2idCompareHostile(b *testing.B) {
	h := newArgon2id(b, password.Argon2Params{})
	const hostile = "$argon2id$v=19$m=4294967297,t=2,p=1$c29tZXNhbHQ$Bo1ismRVk2qm6+YAYLCmWHDb+j3fjUH3"
	for b.Loop() {
		if err := h.Compare(hostile, "password"); !errors.Is(err, password.ErrInvalidHash) {
			b.Fatal(err)
		}
	}
}

func TestArgon2idThreads(t *testing.T) {
	for _, p := range []uint8{0, 1, 4, 8} {
		h, err := password.NewArgon2id(password.Argon2Params{Threads: p})
		if err != nil {
			t.Fatal(err)
		}
		want := int(p)
		if p == 0 {
			want = 4 // the default
		}
		if got := h.Threads(); got != want {
			t.Errorf("Argon2Params{Threads: %d}: Threads() = %d, want %d", p, got, want)
		}
	}
}
