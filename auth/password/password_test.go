package password_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gatehouse-go/gatehouse/auth/password"
)

// checkReason runs policy.Check and returns the refusal's reason, or "" for
// acceptance. Any error that is not a *PolicyError fails the test.
func checkReason(tb testing.TB, p password.Policy, pw string, context ...string) password.Reason {
	tb.Helper()
	err := p.Check(pw, context...)
	if err == nil {
		return ""
	}
	var pe *password.PolicyError
	if !errors.As(err, &pe) {
		tb.Fatalf("Check(%q) = %v (%T), want a *PolicyError", pw, err, err)
	}
	if !errors.Is(err, password.ErrWeak) {
		tb.Errorf("Check(%q) = %v does not match ErrWeak", pw, err)
	}
	return pe.Reason
}

// distinct returns n code points, three UTF-8 bytes each, that form no
// repetition or run (CJK ideographs seven apart).
func distinct(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteRune(rune(0x4E00 + 7*i))
	}
	return b.String()
}

func TestPasswordPolicyValidate(t *testing.T) {
	tests := []struct {
		name  string
		p     password.Policy
		field string // "" when valid
	}{
		{"zero value", password.Policy{}, ""},
		{"NIST single-factor", password.Policy{MinLength: 15}, ""},
		{"min 8 max 64", password.Policy{MinLength: 8, MaxLength: 64}, ""},
		{"min 64 max 64", password.Policy{MinLength: 64, MaxLength: 64}, ""},
		{"max 256", password.Policy{MaxLength: 256}, ""},
		{"with blocklist", password.Policy{Blocklist: []string{"gatehouse", ""}}, ""},
		// SECURITY.md #5: configuring a minimum under 8 is an error.
		{"min 7", password.Policy{MinLength: 7}, "Policy.MinLength"},
		{"min negative", password.Policy{MinLength: -1}, "Policy.MinLength"},
		{"max 63", password.Policy{MaxLength: 63}, "Policy.MaxLength"},
		{"max 257", password.Policy{MaxLength: 257}, "Policy.MaxLength"},
		{"max negative", password.Policy{MaxLength: -1}, "Policy.MaxLength"},
		{"min over max", password.Policy{MinLength: 100, MaxLength: 64}, "Policy.MinLength"},
		{"min over default max", password.Policy{MinLength: 300}, "Policy.MinLength"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Validate()
			if tc.field == "" {
				if err != nil {
					t.Errorf("Validate() = %v, want nil", err)
				}
				return
			}
			var ve *password.ConfigError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate() = %v, want a *ConfigError", err)
			}
			if ve.Field != tc.field {
				t.Errorf("Field = %q, want %q", ve.Field, tc.field)
			}
		})
	}
}

// SECURITY.md #5 and #6: lengths are code points after NFKC; at least 64
// are accepted; over the caps is refused before any other work.
func TestPasswordPolicyLength(t *testing.T) {
	accented := "éàèùâêîôûëïüçœæ" // 15 code points, 30 bytes
	decomposed := strings.Repeat("e\u0301", 15)
	tests := []struct {
		name string
		p    password.Policy
		pw   string
		want password.Reason
	}{
		{"7 code points", password.Policy{}, "zqxwvbn", password.TooShort},
		{"8 code points", password.Policy{}, "zqxjvbnm", ""},
		{"min 15: 14 code points", password.Policy{MinLength: 15}, accented[:len(accented)-2], password.TooShort},
		{"min 15: 15 two-byte code points", password.Policy{MinLength: 15}, accented, ""},
		{"min 16: 15 two-byte code points", password.Policy{MinLength: 16}, accented, password.TooShort},
		{"min 15: 15 composed after NFKC", password.Policy{MinLength: 15}, decomposed, password.Common},
		{"min 16: 30 code points, 15 after NFKC", password.Policy{MinLength: 16}, decomposed, password.TooShort},
		{"ligature counts as two", password.Policy{}, "\ufb01zqxjvb", ""}, // "ﬁ" is "fi" after NFKC
		{"64 three-byte code points", password.Policy{MaxLength: 64}, distinct(64), ""},
		{"65 code points over max 64", password.Policy{MaxLength: 64}, distinct(65), password.TooLong},
		{"256 code points", password.Policy{}, distinct(256), ""},
		{"257 code points", password.Policy{}, distinct(257), password.TooLong},
		{"1 MB", password.Policy{}, strings.Repeat("a", 1<<20), password.TooLong},
		// The byte cap comes first: an oversized input is not even decoded.
		{"1 MB of invalid UTF-8", password.Policy{}, strings.Repeat("\xff", 1<<20), password.TooLong},
		{"1025 bytes", password.Policy{}, strings.Repeat("ab", 512) + "c", password.TooLong},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := checkReason(t, tc.p, tc.pw); got != tc.want {
				t.Errorf("Check(%d code points, %d bytes) reason = %q, want %q",
					utf8.RuneCountInString(tc.pw), len(tc.pw), got, tc.want)
			}
		})
	}

	t.Run("too long matches ErrTooLong", func(t *testing.T) {
		err := password.Policy{}.Check(strings.Repeat("a", 1<<20))
		if !errors.Is(err, password.ErrTooLong) || !errors.Is(err, password.ErrWeak) {
			t.Errorf("Check(1 MB) = %v, want ErrTooLong and ErrWeak", err)
		}
		var pe *password.PolicyError
		if errors.As(err, &pe) && (pe.Min != 8 || pe.Max != 256) {
			t.Errorf("PolicyError bounds = %d..%d, want 8..256", pe.Min, pe.Max)
		}
	})

	// 64 × "€" passes the length rules; it is refused only as a repeated
	// character. (The hashers accept it: see TestArgon2idPasswordLength.)
	t.Run("64 euro signs", func(t *testing.T) {
		if got := checkReason(t, password.Policy{MaxLength: 64}, strings.Repeat("€", 64)); got != password.Common {
			t.Errorf("reason = %q, want %q (length accepted, pattern refused)", got, password.Common)
		}
		if got := checkReason(t, password.Policy{MaxLength: 64}, strings.Repeat("€", 65)); got != password.TooLong {
			t.Errorf("65 × €: reason = %q, want %q", got, password.TooLong)
		}
	})
}

func TestPasswordPolicyInvalidCharacters(t *testing.T) {
	tests := []struct {
		name string
		pw   string
		want password.Reason
	}{
		{"invalid UTF-8", "zqxjvbnm\xff", password.Invalid},
		{"truncated UTF-8", "zqxjvbnm\xe2\x82", password.Invalid},
		{"NUL", "zqxj\x00vbnm", password.Invalid},
		{"newline", "zqxjvbnm\n", password.Invalid},
		{"tab", "zqxj\tvbnm", password.Invalid},
		{"DEL", "zqxj\x7fvbnm", password.Invalid},
		{"C1 control NEL", "zqxj\u0085vbnm", password.Invalid},
		{"spaces", "  zq xj vb nm  ", ""},
		{"no-break space", "zqxj\u00a0vbnm", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := checkReason(t, password.Policy{}, tc.pw); got != tc.want {
				t.Errorf("Check(%q) reason = %q, want %q", tc.pw, got, tc.want)
			}
		})
	}
}

// SECURITY.md #7: no composition rules.
func TestPasswordPolicyNoCompositionRules(t *testing.T) {
	printable := make([]byte, 0, 95)
	for c := byte(' '); c <= '~'; c++ {
		printable = append(printable, c)
	}
	accepted := []struct{ name, pw string }{
		{"passphrase", "correct horse battery staple"},
		{"passphrase with a listed word", "my dragon is purple today"},
		{"lower case only", "zebrafountainmagic"},
		{"upper case only", "ZEBRAFOUNTAINMAGIC"},
		{"digits only, random", "48290175"},
		{"all printable ASCII", string(printable)},
		{"Cyrillic", "пароль для моей почты"},
		{"Greek", "ο κήπος μου έχει λεμονιές"},
		{"Chinese", "我的猫喜欢在窗台上睡觉"},
		{"Arabic", "القهوة الصباحية لذيذة"},
		{"emoji", "🐶🐱🐭🐹🐰🦊🐻🐼"},
		{"emoji with joiners", "👨‍👩‍👧 at the 🏖️ in July"},
		{"mixed", "Ünïcödé & spaces ok"},
	}
	for _, tc := range accepted {
		t.Run(tc.name, func(t *testing.T) {
			if err := (password.Policy{}).Check(tc.pw); err != nil {
				t.Errorf("Check(%q) = %v, want nil", tc.pw, err)
			}
		})
	}
	t.Run("no reason mentions character classes", func(t *testing.T) {
		reasons := []password.Reason{password.TooShort, password.TooLong,
			password.Common, password.Contextual, password.Invalid}
		for _, r := range reasons {
			msg := strings.ToLower((&password.PolicyError{Reason: r, Min: 8, Max: 256}).Error())
			for _, word := range []string{"upper", "lower", "digit", "number", "symbol", "special"} {
				if strings.Contains(msg, word) {
					t.Errorf("reason %q: message %q mentions %q", r, msg, word)
				}
			}
		}
	})
}

// SECURITY.md #8: the built-in blocklist, compared on the whole password
// after reductions.
func TestPasswordPolicyBlocklist(t *testing.T) {
	refused := []string{
		// Required by the brief and SECURITY.md #8.
		"password1234567", "Password123!", "qwertyuiop", "P@ssw0rd2024", "11111111", "12345678910",
		// Affixes, case and substitutions.
		"PASSWORD", "1password1", "!!password!!", "Dr@g0n2024", "@dmin2024", "l3tm31n!!", "Sunshine!!",
		"Welcome2025", "trustno1", "letmein123", "ILoveYou", "1qaz2wsx", "iloveyou <3",
		// Spaces removed, and repetition.
		"I love you!!", "let me in 2024", "dragondragon", "passwordpassword", "Monkey1Monkey1",
		// Patterns.
		"aaaaaaaa", "abcabcabc", "abcdefgh", "98765432", "zyxwvuts", "1234567890", "0987654321",
		"ab12ab12ab12", "xyz!2024", "bob12345", "a a a a a a a a",
		// Digits and symbols only.
		"!@#$%^&*", "147258369", "12/03/1985", "19031985", "1985-03-19", "2024!2024!", "20242024",
		"123123123", "121212121212", "!!!!!!!!!!", "123456789101112",
		// Non-Latin entries.
		"Пароль2024", "йцукенгшщзхъ",
	}
	for _, pw := range refused {
		t.Run("refuses "+pw, func(t *testing.T) {
			if got := checkReason(t, password.Policy{}, pw); got != password.Common {
				t.Errorf("reason = %q, want %q", got, password.Common)
			}
		})
	}
	accepted := []string{
		"correct horse battery staple",
		"my dragon is purple today",
		"password manager generated this",
		"dragonfly in amber",
		"48290175",
		"xq83920174",
		"monkey wrench 7 lighthouse",
		"$uperb lighthouse",
	}
	for _, pw := range accepted {
		t.Run("accepts "+pw, func(t *testing.T) {
			if got := checkReason(t, password.Policy{}, pw); got != "" {
				t.Errorf("reason = %q, want acceptance", got)
			}
		})
	}
}

func TestPasswordPolicyExtraBlocklist(t *testing.T) {
	p := password.Policy{Blocklist: []string{" Gatehouse ", "", "ＡＣＭＥ Corp"}}
	tests := []struct {
		pw   string
		want password.Reason
	}{
		{"gatehouse", password.Common},
		{"Gatehouse2024!", password.Common},
		{"G@teh0use", password.Common},
		{"gatehousegatehouse", password.Common},
		{"acme corp 2024", password.Common}, // NFKC folds the full-width entry
		{"gatehouse is where I work", ""},
	}
	for _, tc := range tests {
		t.Run(tc.pw, func(t *testing.T) {
			if got := checkReason(t, p, tc.pw); got != tc.want {
				t.Errorf("reason = %q, want %q", got, tc.want)
			}
		})
	}
	if got := checkReason(t, password.Policy{}, "Gatehouse2024!"); got != "" {
		t.Errorf("without the extra list: reason = %q, want acceptance", got)
	}
}

// SECURITY.md #8: the email, its local part and the service name are
// refused as passwords.
func TestPasswordPolicyContext(t *testing.T) {
	ctx := []string{"Alice.Smith+news@Example.com", "Gatehouse", "", "fig"}
	tests := []struct {
		pw   string
		want password.Reason
	}{
		{"alice.smith+news@example.com", password.Contextual},
		{"ALICE.SMITH+NEWS@EXAMPLE.COM", password.Contextual},
		{"alice.smith+news", password.Contextual},
		{"alice2024", password.Contextual},
		{"Smith1985!", password.Contextual},
		{"@lice.sm1th+news", password.Contextual},
		{"Gatehouse1!", password.Contextual},
		{"gatehouse gatehouse", password.Contextual},
		{"fig83920174", ""},                     // words under 4 code points are ignored
		{"alice in wonderland", ""},             // contains, does not equal
		{"news from example.com every day", ""}, // idem
		{"correct horse battery staple", ""},    // unrelated
	}
	for _, tc := range tests {
		t.Run(tc.pw, func(t *testing.T) {
			if got := checkReason(t, password.Policy{}, tc.pw, ctx...); got != tc.want {
				t.Errorf("reason = %q, want %q", got, tc.want)
			}
		})
	}
	t.Run("local part with digits", func(t *testing.T) {
		if got := checkReason(t, password.Policy{}, "zoltan2024!", "zoltan1985@example.org"); got != password.Contextual {
			t.Errorf("reason = %q, want %q", got, password.Contextual)
		}
	})
	t.Run("four code points count", func(t *testing.T) {
		if got := checkReason(t, password.Policy{}, "xqzw83920174", "xqzw"); got != password.Contextual {
			t.Errorf("reason = %q, want %q", got, password.Contextual)
		}
	})
}

// SECURITY.md #9: NFKC, no case folding, no trimming.
func TestNormalizePassword(t *testing.T) {
	tests := []struct {
		name  string
		a, b  string
		equal bool
	}{
		{"composed and decomposed Å", "\u00c5ngström", "A\u030angstro\u0308m", true},
		{"Angstrom sign", "\u212b", "\u00c5", true},
		{"ligature fi", "\ufb01ne", "fine", true},
		{"full-width", "ｐａｓｓ", "pass", true},
		{"case differs", "Åpple pie", "åpple pie", false},
		{"leading space", " pw and more", "pw and more", false},
		{"trailing space", "pw and more ", "pw and more", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			na, nb := password.Normalize(tc.a), password.Normalize(tc.b)
			if (na == nb) != tc.equal {
				t.Errorf("Normalize(%q) = %q, Normalize(%q) = %q; equal = %v, want %v",
					tc.a, na, tc.b, nb, na == nb, tc.equal)
			}
			if password.Normalize(na) != na {
				t.Errorf("Normalize is not idempotent on %q", na)
			}
		})
	}
}

func ExamplePolicy_Check() {
	policy := password.Policy{MinLength: 12, Blocklist: []string{"Gatehouse"}}
	for _, pw := range []string{
		"short",
		"Password123!",
		"gatehouse2024",
		"alice.smith1",
		"correct horse battery staple",
	} {
		err := policy.Check(pw, "alice.smith@example.com")
		var pe *password.PolicyError
		switch {
		case err == nil:
			fmt.Printf("%q: accepted\n", pw)
		case errors.As(err, &pe):
			fmt.Printf("%q: %s (%s)\n", pw, pe.Reason, err)
		}
	}
	// Output:
	// "short": too_short (password: must be at least 12 characters)
	// "Password123!": common (password: too common)
	// "gatehouse2024": common (password: too common)
	// "alice.smith1": context (password: must not be the email address or the service name)
	// "correct horse battery staple": accepted
}

// BenchmarkPasswordPolicyCheck measures the policy on ordinary and on
// adversarial input (long runs of affix characters).
func BenchmarkPasswordPolicyCheck(b *testing.B) {
	ctx := []string{"alice.smith@example.com", "Gatehouse"}
	for _, bc := range []struct{ name, pw string }{
		{"passphrase", "correct horse battery staple"},
		{"common", "P@ssw0rd2024!"},
		{"256 digits", strings.Repeat("1", 128) + strings.Repeat("83920174", 16)},
		{"affixes around a letter", strings.Repeat("!", 127) + "a" + strings.Repeat("7", 128)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var p password.Policy
			for b.Loop() {
				_ = p.Check(bc.pw, ctx...)
			}
		})
	}
}
