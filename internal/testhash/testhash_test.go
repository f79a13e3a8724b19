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
// errors are the ones auth.Hasher documents.
func TestFast(t *testing.T) {
	h := testhash.Fast{}
	a, err := h.Hash("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := h.Hash("correct horse")
	if a == b || !strings.HasPrefix(a, testhash.Prefix) {
		t.Errorf("two hashes of one password: %q, %q; want different, both starting %q", a, b, testhash.Prefix)
	}
	for _, tc := range []struct {
		name, hash, pw string
		want           error
	}{
		{"match", a, "correct horse", nil},
		{"other password", a, "correct horsf", auth.ErrMismatchedHash},
		{"other scheme", "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", "correct horse", auth.ErrUnsupportedHash},
		{"no separator", testhash.Prefix + "abcd", "correct horse", auth.ErrInvalidHash},
		{"bad hex", testhash.Prefix + "zz$00", "correct horse", auth.ErrInvalidHash},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := h.Compare(tc.hash, tc.pw); !errors.Is(err, tc.want) {
				t.Errorf("Compare = %v, want %v", err, tc.want)
			}
		})
	}
}
