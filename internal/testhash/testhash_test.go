package testhash_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/internal/testhash"
)

var _ auth.Hasher = testhash.Fast{}

// TestFast: a hash verifies its own password only, is salted, and the
// errors are the ones auth.Hasher documents; a Fast with another Prefix
// does not take it.
func TestFast(t *testing.T) {
	h := testhash.Fast{}
	a, err := h.Hash("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := h.Hash("correct horse")
	if a == b || !strings.HasPrefix(a, testhash.DefaultPrefix) {
		t.Errorf("two hashes of one password: %q, %q; want different, both starting %q", a, b, testhash.DefaultPrefix)
	}
	for _, tc := range []struct {
		name, hash, pw string
		want           error
	}{
		{"match", a, "correct horse", nil},
		{"other password", a, "correct horsf", auth.ErrMismatchedHash},
		{"other scheme", "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", "correct horse", auth.ErrUnsupportedHash},
		{"no separator", testhash.DefaultPrefix + "abcd", "correct horse", auth.ErrInvalidHash},
		{"bad hex", testhash.DefaultPrefix + "zz$00", "correct horse", auth.ErrInvalidHash},
		{"another prefix", "$other$" + a[len(testhash.DefaultPrefix):], "correct horse", auth.ErrUnsupportedHash},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := h.Compare(tc.hash, tc.pw); !errors.Is(err, tc.want) {
				t.Errorf("Compare = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestFastPrefix(t *testing.T) {
	legacy := testhash.Fast{Prefix: "$legacy$"}
	h, err := legacy.Hash("correct horse")
	if err != nil || !strings.HasPrefix(h, "$legacy$") {
		t.Fatalf("Hash = %q, %v; want the $legacy$ prefix", h, err)
	}
	if err := legacy.Compare(h, "correct horse"); err != nil {
		t.Errorf("legacy.Compare(own hash) = %v", err)
	}
	if err := (testhash.Fast{}).Compare(h, "correct horse"); !errors.Is(err, auth.ErrUnsupportedHash) {
		t.Errorf("default Fast on a $legacy$ hash = %v, want ErrUnsupportedHash", err)
	}
}
