package auth_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"

	"github.com/gatehouse-go/gatehouse/auth"
)

// SECURITY.md #18: emails are trimmed, NFKC-normalized and lower-cased, so
// that one address has one form; malformed ones are refused.
func TestNormalizeEmail(t *testing.T) {
	local64 := strings.Repeat("a", 64)
	// 64 + 1 + 185 + 4 = 254 bytes, with labels of at most 63 bytes.
	domain185 := strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 57)
	email254 := local64 + "@" + domain185 + ".com"
	valid := []struct{ name, in, want string }{
		{"already normal", "alice@example.com", "alice@example.com"},
		{"case", "Alice@Example.COM", "alice@example.com"},
		{"trim ASCII spaces", "  alice@example.com ", "alice@example.com"},
		{"trim Unicode spaces", "\u00a0\u3000alice@example.com\u2003", "alice@example.com"},
		{"full-width forms", "ａｌｉｃｅ＠ｅｘａｍｐｌｅ．ｃｏｍ", "alice@example.com"},
		{"ligature", "\ufb01na@example.com", "fina@example.com"},
		{"Kelvin sign", "\u212aelvin@example.com", "kelvin@example.com"},
		{"decomposed accent", "rene\u0301@example.com", "ren\u00e9@example.com"},
		{"capital with combining mark", "J\u030Cane@example.com", "\u01F0ane@example.com"},
		{"modifier capital", "\u1d2c@example.com", "a@example.com"},
		// U+0130 lower-cases to a plain "i" (Unicode's simple mapping, as
		// strings.ToLower does), the same in every locale: it names the same
		// account as "i@example.com", never a second one.
		{"dotted capital I", "\u0130@example.com", "i@example.com"},
		{"I with combining dot", "I\u0307@example.com", "i@example.com"}, // NFKC composes it to U+0130 first
		{"i with combining dot", "i\u0307@example.com", "i\u0307@example.com"},
		{"dotless small i", "\u0131@example.com", "\u0131@example.com"},
		{"German sharp s", "STRAẞE@example.de", "straße@example.de"},
		{"Unicode domain", "user@BÜCHER.example", "user@bücher.example"},
		{"plus and dots", "first.last+tag@sub.example.co.uk", "first.last+tag@sub.example.co.uk"},
		{"apostrophe", "o'brien@example.ie", "o'brien@example.ie"},
		{"local part of 64 bytes", local64 + "@example.com", local64 + "@example.com"},
		{"254 bytes", email254, email254},
	}
	for _, tc := range valid {
		t.Run(tc.name, func(t *testing.T) {
			got, err := auth.NormalizeEmail(tc.in)
			if err != nil {
				t.Fatalf("NormalizeEmail(%q) = %v", tc.in, err)
			}
			if got != tc.want {
				t.Errorf("NormalizeEmail(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if again, err := auth.NormalizeEmail(got); err != nil || again != got {
				t.Errorf("not idempotent: NormalizeEmail(%q) = %q, %v", got, again, err)
			}
		})
	}

	t.Run("dotless i stays distinct", func(t *testing.T) {
		a, _ := auth.NormalizeEmail("\u0131@example.com")
		b, _ := auth.NormalizeEmail("I@example.com")
		if a == b {
			t.Errorf("%q and %q normalize alike", "\u0131@example.com", "I@example.com")
		}
	})

	invalid := []struct{ name, in string }{
		{"empty", ""},
		{"only spaces", "   "},
		{"no @", "alice.example.com"},
		{"two @", "alice@bob@example.com"},
		{"empty local part", "@example.com"},
		{"empty domain", "alice@"},
		{"local part of 65 bytes", local64 + "a@example.com"},
		{"255 bytes", local64 + "@" + domain185 + ".coma"},
		{"label of 64 bytes", "alice@" + strings.Repeat("b", 64) + ".com"},
		{"huge input", strings.Repeat("a", 1<<20) + "@example.com"},
		{"no dot in domain", "alice@localhost"},
		{"leading dot in domain", "alice@.example.com"},
		{"trailing dot in domain", "alice@example.com."},
		{"double dot in domain", "alice@example..com"},
		{"space inside", "alice smith@example.com"},
		{"full-width space inside", "alice\u3000smith@example.com"},
		{"NUL", "alice@example.com\x00"},
		{"NUL before trimming", "\x00 alice@example.com"},
		{"newline", "alice@example.com\n"},
		{"header injection", "alice@example.com\r\nBcc: eve@evil.example"},
		{"tab", "alice\t@example.com"},
		{"C1 control", "alice\u0085@example.com"},
		{"zero-width space", "ali\u200bce@example.com"},
		{"right-to-left override", "alice@exa\u202emple.com"},
		{"byte-order mark", "\ufeffalice@example.com"},
		{"invalid UTF-8", "alice\xff@example.com"},
		{"truncated UTF-8", "alice@example.com\xe2\x82"},
		{"display name", "Alice <alice@example.com>"},
		{"angle brackets", "<alice@example.com>"},
		{"comma list", "alice@example.com,eve@evil.example"},
		{"semicolon list", "alice@example.com;eve@evil.example"},
		{"quoted local part", `"alice"@example.com`},
		{"backslash", `ali\ce@example.com`},
		{"comment", "alice(comment)@example.com"},
		{"address literal", "alice@[192.0.2.1]"},
		{"colon", "mailto:alice@example.com"},
		{"full-width comma", "alice@example.com，eve@evil.example"},
	}
	for _, tc := range invalid {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			got, err := auth.NormalizeEmail(tc.in)
			if !errors.Is(err, auth.ErrInvalidEmail) {
				t.Fatalf("NormalizeEmail(%q) = %q, %v; want ErrInvalidEmail", tc.in, got, err)
			}
			if got != "" {
				t.Errorf("returned %q with the error", got)
			}
			if len(tc.in) > 3 && strings.Contains(err.Error(), tc.in) {
				t.Errorf("error %q echoes the input", err)
			}
		})
	}
}

// SECURITY.md #18: normalization is idempotent, never panics, and its
// output is always accepted again unchanged.
func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{
		"alice@example.com", "Alice@Example.COM", " alice@example.com ", "ａｌｉｃｅ＠ｅｘａｍｐｌｅ．ｃｏｍ",
		"\u0130@example.com", "J\u030Cane@example.com", "\u1d2c@example.com", "STRAẞE@example.de",
		"\ufb01@example.com", "Alice <alice@example.com>", "a@b@c.d", "alice@example..com",
		"alice@example.com\x00", "\xff@example.com", "ǅ@example.com", "ΣΑΣ@example.gr",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := auth.NormalizeEmail(in)
		if err != nil {
			if !errors.Is(err, auth.ErrInvalidEmail) || out != "" {
				t.Fatalf("NormalizeEmail(%q) = %q, %v", in, out, err)
			}
			return
		}
		again, err := auth.NormalizeEmail(out)
		if err != nil {
			t.Fatalf("output %q of %q is refused: %v", out, in, err)
		}
		if again != out {
			t.Fatalf("not idempotent: %q → %q → %q", in, out, again)
		}
		if len(out) > 254 || strings.Count(out, "@") != 1 || norm.NFKC.String(strings.ToLower(out)) != out {
			t.Fatalf("output %q of %q breaks an invariant", out, in)
		}
	})
}

func ExampleNormalizeEmail() {
	for _, in := range []string{" Alice@Example.COM ", "ａｌｉｃｅ＠ｅｘａｍｐｌｅ．ｃｏｍ", "Alice <alice@example.com>"} {
		email, err := auth.NormalizeEmail(in)
		if errors.Is(err, auth.ErrInvalidEmail) {
			fmt.Println("refused:", err)
			continue
		}
		fmt.Println(email)
	}
	// Output:
	// alice@example.com
	// alice@example.com
	// refused: auth: invalid email: contains spaces
}
