package password_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse-go/gatehouse/auth/password"
)

// bcrypt hashes of "test" at cost 10 made by other implementations: $2a$
// and $2b$ by pyca/bcrypt (Debian python3-bcrypt 3.2.2), $2y$ by Apache
// htpasswd 2.4 (`htpasswd -nbBC 10 u test`).
const (
	bcryptTest2a = "$2a$10$yhKWe4RwBWlxhJhGiT.W7.AZ7X/ykAceNRykREZFTq/N0FgQymrYC"
	bcryptTest2b = "$2b$10$iwpUwbo7kpkuYeNaHhpwAugKgQ6wJ8qdwpsW.h.HcJl/pBTUTdO4W"
	bcryptTest2y = "$2y$10$LFNvvP3Sog3T55BEPKLJZ.zu1Vfxx31WAJuuaTXYa/hOHKX8mOJBK"
)

func newBcrypt(tb testing.TB, cost int) *password.Bcrypt {
	tb.Helper()
	h, err := password.NewBcrypt(cost)
	if err != nil {
		tb.Fatalf("NewBcrypt(%d): %v", cost, err)
	}
	return h
}

// withCost returns the known-answer hash with its cost digits replaced: a
// well-formed hash at another cost, for tests that never verify it.
func withCost(cost int) string {
	return bcryptTest2b[:4] + fmt.Sprintf("%02d", cost) + bcryptTest2b[6:]
}

func TestNewBcrypt(t *testing.T) {
	for _, cost := range []int{-1, 1, 4, 9, 15, 31, 100} {
		t.Run(fmt.Sprintf("refuses cost %d", cost), func(t *testing.T) {
			h, err := password.NewBcrypt(cost)
			var ve *password.ConfigError
			if !errors.As(err, &ve) {
				t.Fatalf("NewBcrypt(%d) = %v, %v; want a *ConfigError", cost, h, err)
			}
		})
	}
	// SECURITY.md #2: the default cost is 12; hashes below it need a rehash.
	t.Run("default is 12", func(t *testing.T) {
		h := newBcrypt(t, 0)
		if !h.NeedsRehash(withCost(11)) {
			t.Error("NeedsRehash(cost 11) = false, want true")
		}
		if h.NeedsRehash(withCost(12)) {
			t.Error("NeedsRehash(cost 12) = true, want false")
		}
	})
	for _, cost := range []int{10, 14} {
		t.Run(fmt.Sprintf("accepts cost %d", cost), func(t *testing.T) {
			h := newBcrypt(t, cost)
			if h.NeedsRehash(withCost(cost)) || !h.NeedsRehash(withCost(cost-1)) {
				t.Errorf("cost %d hasher misjudges its own cost", cost)
			}
		})
	}
}

func TestBcryptKnownAnswer(t *testing.T) {
	h := newBcrypt(t, 10)
	for _, hash := range []string{bcryptTest2a, bcryptTest2b, bcryptTest2y} {
		t.Run(hash[:4], func(t *testing.T) {
			if err := h.Compare(hash, "test"); err != nil {
				t.Errorf("Compare(right) = %v, want nil", err)
			}
			if err := h.Compare(hash, "Test"); !errors.Is(err, password.ErrMismatch) {
				t.Errorf("Compare(wrong) = %v, want ErrMismatch", err)
			}
			if h.NeedsRehash(hash) {
				t.Error("NeedsRehash(cost 10) = true for a cost-10 hasher")
			}
			if !newBcrypt(t, 12).NeedsRehash(hash) {
				t.Error("NeedsRehash(cost 10) = false for a cost-12 hasher")
			}
		})
	}
}

func TestBcryptRoundTrip(t *testing.T) {
	h := newBcrypt(t, 10)
	a, errA := h.Hash("same password")
	b, errB := h.Hash("same password")
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	if a == b {
		t.Error("two hashes of one password are equal")
	}
	if !strings.HasPrefix(a, "$2a$10$") || len(a) != 60 {
		t.Errorf("hash %q is not a cost-10 modular-crypt bcrypt hash", a)
	}
	if err := h.Compare(a, "same password"); err != nil {
		t.Errorf("Compare(right) = %v", err)
	}
	if err := h.Compare(a, "same passwore"); !errors.Is(err, password.ErrMismatch) {
		t.Errorf("Compare(wrong) = %v, want ErrMismatch", err)
	}
}

// SECURITY.md #4: bcrypt never truncates; a password and its 72-byte prefix
// are never interchangeable.
func TestBcrypt72Bytes(t *testing.T) {
	h := newBcrypt(t, 10)
	p := strings.Repeat("0123456789abcdef", 5)[:72]
	hash, err := h.Hash(p)
	if err != nil {
		t.Fatalf("Hash(72 bytes) = %v", err)
	}
	if err := h.Compare(hash, p); err != nil {
		t.Fatalf("Compare(72 bytes) = %v, want nil", err)
	}

	// x/crypto's CompareHashAndPassword would accept this (golang/go#36546).
	longer := p + "x"
	if err := h.Compare(hash, longer); !errors.Is(err, password.ErrTooLong) {
		t.Errorf("Compare(P[:72]+\"x\") = %v, want ErrTooLong", err)
	}
	if _, err := h.Hash(longer); !errors.Is(err, password.ErrTooLong) || !errors.Is(err, password.ErrWeak) {
		t.Errorf("Hash(73 bytes) = %v, want ErrTooLong and ErrWeak", err)
	}
	if _, err := h.Hash(strings.Repeat("x", 1<<20)); !errors.Is(err, password.ErrTooLong) {
		t.Errorf("Hash(1 MiB) = %v, want ErrTooLong", err)
	}

	// The limit is in bytes: 24 three-byte characters fit, 25 do not.
	cjk := strings.Repeat("日", 24)
	if _, err := h.Hash(cjk); err != nil {
		t.Errorf("Hash(24 × 日, 72 bytes) = %v, want nil", err)
	}
	if _, err := h.Hash(cjk + "日"); !errors.Is(err, password.ErrTooLong) {
		t.Errorf("Hash(25 × 日, 75 bytes) = %v, want ErrTooLong", err)
	}
}

func hostileBcrypt() []struct{ name, hash string } {
	ok := bcryptTest2b
	return []struct{ name, hash string }{
		{"cost 15", withCost(15)},
		{"cost 31", withCost(31)},
		{"cost 99", withCost(99)},
		{"cost 03", withCost(3)},
		{"cost 00", withCost(0)},
		{"one-digit cost", "$2b$9$" + ok[7:] + "A"},
		{"non-digit cost", "$2b$1a$" + ok[7:]},
		{"$2x$", "$2x$" + ok[4:]},
		{"$2$", "$2$10$" + ok[7:] + "A"},
		{"$2A$", "$2A$" + ok[4:]},
		{"$2bb", "$2bb" + ok[4:]},
		{"missing separator after cost", ok[:6] + "x" + ok[7:]},
		{"too short", ok[:59]},
		{"too long", ok + "A"},
		{"very long", ok + strings.Repeat("A", 1<<20)},
		{"trailing NUL", ok[:59] + "\x00"},
		{"bad salt character", ok[:7] + "!" + ok[8:]},
		{"bad hash character", ok[:59] + "!"},
		{"standard base64 '+'", ok[:7] + "+" + ok[8:]},
		{"stray bits in salt", ok[:28] + "a" + ok[29:]},
		{"line break in salt", ok[:10] + "\n" + ok[11:]},
		{"only prefix", "$2b$"},
		{"family only", "$2"},
	}
}

// SECURITY.md #3: hostile stored bcrypt hashes fail with ErrInvalidHash
// before any hashing; the cost cap of 14 is the DoS guard.
func TestBcryptCompareRefusesHostileHashes(t *testing.T) {
	h := newBcrypt(t, 10)
	for _, tc := range hostileBcrypt() {
		t.Run(tc.name, func(t *testing.T) {
			if err := h.Compare(tc.hash, "test"); !errors.Is(err, password.ErrInvalidHash) {
				t.Errorf("Compare = %v, want ErrInvalidHash", err)
			}
			if !h.NeedsRehash(tc.hash) {
				t.Error("NeedsRehash = false, want true")
			}
		})
	}
	unsupported := []struct{ name, hash string }{
		{"empty", ""},
		{"plaintext", "test"},
		{"argon2id", "$argon2id$v=19$m=64,t=2,p=1$c29tZXNhbHQ$Bo1ismRVk2qm6+YAYLCmWHDb+j3fjUH3"},
		{"md5-crypt", "$1$saltsalt$2vnaRpHa6Jxjz5n83ok8Z0"},
		{"sha512-crypt", "$6$saltsalt$abc"},
		{"$3a$", "$3a$" + bcryptTest2b[4:]},
	}
	for _, tc := range unsupported {
		t.Run("unsupported "+tc.name, func(t *testing.T) {
			if err := h.Compare(tc.hash, "test"); !errors.Is(err, password.ErrUnsupportedHash) {
				t.Errorf("Compare = %v, want ErrUnsupportedHash", err)
			}
		})
	}
	// The format check comes before the length check: a hostile hash is
	// reported as such whatever the password.
	if err := h.Compare(withCost(31), strings.Repeat("x", 100)); !errors.Is(err, password.ErrInvalidHash) {
		t.Errorf("Compare(cost 31, 100 bytes) = %v, want ErrInvalidHash", err)
	}
}

// FuzzParseBcrypt is FuzzParsePHC's twin for bcrypt: no panics, only
// documented errors, and only the genuine hashes verify. $2a$, $2b$ and $2y$
// name one algorithm (they told apart implementations that mishandled
// passwords of 256 bytes or more, and Gatehouse refuses those over 72), so a
// genuine hash under another of the three prefixes verifies too.
func FuzzParseBcrypt(f *testing.F) {
	h := newBcrypt(f, 10)
	genuine := make(map[string]bool)
	for _, g := range []string{bcryptTest2a, bcryptTest2b, bcryptTest2y} {
		f.Add(g)
		for _, prefix := range []string{"$2a$", "$2b$", "$2y$"} {
			genuine[prefix+g[len(prefix):]] = true
		}
	}
	for _, tc := range hostileBcrypt() {
		if len(tc.hash) < 1024 {
			f.Add(tc.hash)
		}
	}
	f.Fuzz(func(t *testing.T, hash string) {
		err := h.Compare(hash, "test")
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
	})
}

// BenchmarkBcrypt12 measures one hash at the default cost.
func BenchmarkBcrypt12(b *testing.B) {
	h := newBcrypt(b, 12)
	for b.Loop() {
		if _, err := h.Hash("correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}
