package auth_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gatehouse-go/gatehouse/auth"
)

// checkReason runs policy.Check and returns the refusal's reason, or "" for
// acceptance. Any error that is not a *PasswordError fails the test.
func checkReason(tb testing.TB, p auth.PasswordPolicy, password string, context ...string) auth.PasswordReason {
	tb.Helper()
	err := p.Check(password, context...)
	if err == nil {
		return ""
	}
	var pe *auth.PasswordError
	if !errors.As(err, &pe) {
		tb.Fatalf("Check(%q) = %v (%T), want a *PasswordError", password, err, err)
	}
	if !errors.Is(err, auth.ErrWeakPassword) {
		tb.Errorf("Check(%q) = %v does not match ErrWeakPassword", password, err)
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
		p     auth.PasswordPolicy
		field string // "" when valid
	}{
		{"zero value", auth.PasswordPolicy{}, ""},
		{"NIST single-factor", auth.PasswordPolicy{MinLength: 15}, ""},
		{"min 8 max 64", auth.PasswordPolicy{MinLength: 8, MaxLength: 64}, ""},
		{"min 64 max 64", auth.PasswordPolicy{MinLength: 64, MaxLength: 64}, ""},
		{"max 256", auth.PasswordPolicy{MaxLength: 256}, ""},
		{"with blocklist", auth.PasswordPolicy{Blocklist: []string{"gatehouse", ""}}, ""},
		// SECURITY.md #5: configuring a minimum under 8 is an error.
		{"min 7", auth.PasswordPolicy{MinLength: 7}, "PasswordPolicy.MinLength"},
		{"min negative", auth.PasswordPolicy{MinLength: -1}, "PasswordPolicy.MinLength"},
		{"max 63", auth.PasswordPolicy{MaxLength: 63}, "PasswordPolicy.MaxLength"},
		{"max 257", auth.PasswordPolicy{MaxLength: 257}, "PasswordPolicy.MaxLength"},
		{"max negative", auth.PasswordPolicy{MaxLength: -1}, "PasswordPolicy.MaxLength"},
		{"min over max", auth.PasswordPolicy{MinLength: 100, MaxLength: 64}, "PasswordPolicy.MinLength"},
		{"min over default max", auth.PasswordPolicy{MinLength: 300}, "PasswordPolicy.MinLength"},
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
			var ve *auth.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate() = %v, want a *ValidationError", err)
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
		name     string
		p        auth.PasswordPolicy
		password string
		want     auth.PasswordReason
	}{
		{"7 code points", auth.PasswordPolicy{}, "zqxwvbn", auth.PasswordTooShort},
		{"8 code points", auth.PasswordPolicy{}, "zqxjvbnm", ""},
		{"min 15: 14 code points", auth.PasswordPolicy{MinLength: 15}, accented[:len(accented)-2], auth.PasswordTooShort},
		{"min 15: 15 two-byte code points", auth.PasswordPolicy{MinLength: 15}, accented, ""},
		{"min 16: 15 two-byte code points", auth.PasswordPolicy{MinLength: 16}, accented, auth.PasswordTooShort},
		{"min 15: 15 composed after NFKC", auth.PasswordPolicy{MinLength: 15}, decomposed, auth.PasswordCommon},
		{"min 16: 30 code points, 15 after NFKC", auth.PasswordPolicy{MinLength: 16}, decomposed, auth.PasswordTooShort},
		{"ligature counts as two", auth.PasswordPolicy{}, "\ufb01zqxjvb", ""}, // "ﬁ" is "fi" after NFKC
		{"64 three-byte code points", auth.PasswordPolicy{MaxLength: 64}, distinct(64), ""},
		{"65 code points over max 64", auth.PasswordPolicy{MaxLength: 64}, distinct(65), auth.PasswordTooLong},
		{"256 code points", auth.PasswordPolicy{}, distinct(256), ""},
		{"257 code points", auth.PasswordPolicy{}, distinct(257), auth.PasswordTooLong},
		{"1 MB", auth.PasswordPolicy{}, strings.Repeat("a", 1<<20), auth.PasswordTooLong},
		// The byte cap comes first: an oversized input is not even decoded.
		{"1 MB of invalid UTF-8", auth.PasswordPolicy{}, strings.Repeat("\xff", 1<<20), auth.PasswordTooLong},
		{"1025 bytes", auth.PasswordPolicy{}, strings.Repeat("ab", 512) + "c", auth.PasswordTooLong},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := checkReason(t, tc.p, tc.password); got != tc.want {
				t.Errorf("Check(%d code points, %d bytes) reason = %q, want %q",
					utf8.RuneCountInString(tc.password), len(tc.password), got, tc.want)
			}
		})
	}

	t.Run("too long matches ErrPasswordTooLong", func(t *testing.T) {
		err := auth.PasswordPolicy{}.Check(strings.Repeat("a", 1<<20))
		if !errors.Is(err, auth.ErrPasswordTooLong) || !errors.Is(err, auth.ErrWeakPassword) {
			t.Errorf("Check(1 MB) = %v, want ErrPasswordTooLong and ErrWeakPassword", err)
		}
		var pe *auth.PasswordError
		if errors.As(err, &pe) && (pe.Min != 8 || pe.Max != 256) {
			t.Errorf("PasswordError bounds = %d..%d, want 8..256", pe.Min, pe.Max)
		}
	})

	// 64 × "€" passes the length rules; it is refused only as a repeated
	// character. (The hashers accept it: see TestArgon2idPasswordLength.)
	t.Run("64 euro signs", func(t *testing.T) {
		if got := checkReason(t, auth.PasswordPolicy{MaxLength: 64}, strings.Repeat("€", 64)); got != auth.PasswordCommon {
			t.Errorf("reason = %q, want %q (length accepted, pattern refused)", got, auth.PasswordCommon)
		}
		if got := checkReason(t, auth.PasswordPolicy{MaxLength: 64}, strings.Repeat("€", 65)); got != auth.PasswordTooLong {
			t.Errorf("65 × €: reason = %q, want %q", got, auth.PasswordTooLong)
		}
	})
}

func TestPasswordPolicyInvalidCharacters(t *testing.T) {
	tests := []struct {
		name     string
		password string
		want     auth.PasswordReason
	}{
		{"invalid UTF-8", "zqxjvbnm\xff", auth.PasswordInvalid},
		{"truncated UTF-8", "zqxjvbnm\xe2\x82", auth.PasswordInvalid},
		{"NUL", "zqxj\x00vbnm", auth.PasswordInvalid},
		{"newline", "zqxjvbnm\n", auth.PasswordInvalid},
		{"tab", "zqxj\tvbnm", auth.PasswordInvalid},
		{"DEL", "zqxj\x7fvbnm", auth.PasswordInvalid},
		{"C1 control NEL", "zqxj\u0085vbnm", auth.PasswordInvalid},
		{"spaces", "  zq xj vb nm  ", ""},
		{"no-break space", "zqxj\u00a0vbnm", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := checkReason(t, auth.PasswordPolicy{}, tc.password); got != tc.want {
				t.Errorf("Check(%q) reason = %q, want %q", tc.password, got, tc.want)
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
	accepted := []struct{ name, password string }{
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
			if err := (auth.PasswordPolicy{}).Check(tc.password); err != nil {
				t.Errorf("Check(%q) = %v, want nil", tc.password, err)
			}
		})
	}
	t.Run("no reason mentions character classes", func(t *testing.T) {
		reasons := []auth.PasswordReason{auth.PasswordTooShort, auth.PasswordTooLong,
			auth.PasswordCommon, auth.PasswordContext, auth.PasswordInvalid}
		for _, r := range reasons {
			msg := strings.ToLower((&auth.PasswordError{Reason: r, Min: 8, Max: 256}).Error())
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
			if got := checkReason(t, auth.PasswordPolicy{}, pw); got != auth.PasswordCommon {
				t.Errorf("reason = %q, want %q", got, auth.PasswordCommon)
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
			if got := checkReason(t, auth.PasswordPolicy{}, pw); got != "" {
				t.Errorf("reason = %q, want acceptance", got)
			}
		})
	}
}

func TestPasswordPolicyExtraBlocklist(t *testing.T) {
	p := auth.PasswordPolicy{Blocklist: []string{" Gatehouse ", "", "ＡＣＭＥ Corp"}}
	tests := []struct {
		password string
		want     auth.PasswordReason
	}{
		{"gatehouse", auth.PasswordCommon},
		{"Gatehouse2024!", auth.PasswordCommon},
		{"G@teh0use", auth.PasswordCommon},
		{"gatehousegatehouse", auth.PasswordCommon},
		{"acme corp 2024", auth.PasswordCommon}, // NFKC folds the full-width entry
		{"gatehouse is where I work", ""},
	}
	for _, tc := range tests {
		t.Run(tc.password, func(t *testing.T) {
			if got := checkReason(t, p, tc.password); got != tc.want {
				t.Errorf("reason = %q, want %q", got, tc.want)
			}
		})
	}
	if got := checkReason(t, auth.PasswordPolicy{}, "Gatehouse2024!"); got != "" {
		t.Errorf("without the extra list: reason = %q, want acceptance", got)
	}
}

// SECURITY.md #8: the email, its local part and the service name are
// refused as passwords.
func TestPasswordPolicyContext(t *testing.T) {
	ctx := []string{"Alice.Smith+news@Example.com", "Gatehouse", "", "fig"}
	tests := []struct {
		password string
		want     auth.PasswordReason
	}{
		{"alice.smith+news@example.com", auth.PasswordContext},
		{"ALICE.SMITH+NEWS@EXAMPLE.COM", auth.PasswordContext},
		{"alice.smith+news", auth.PasswordContext},
		{"alice2024", auth.PasswordContext},
		{"Smith1985!", auth.PasswordContext},
		{"@lice.sm1th+news", auth.PasswordContext},
		{"Gatehouse1!", auth.PasswordContext},
		{"gatehouse gatehouse", auth.PasswordContext},
		{"fig83920174", ""},                     // words under 4 code points are ignored
		{"alice in wonderland", ""},             // contains, does not equal
		{"news from example.com every day", ""}, // idem
		{"correct horse battery staple", ""},    // unrelated
	}
	for _, tc := range tests {
		t.Run(tc.password, func(t *testing.T) {
			if got := checkReason(t, auth.PasswordPolicy{}, tc.password, ctx...); got != tc.want {
				t.Errorf("reason = %q, want %q", got, tc.want)
			}
		})
	}
	t.Run("local part with digits", func(t *testing.T) {
		if got := checkReason(t, auth.PasswordPolicy{}, "zoltan2024!", "zoltan1985@example.org"); got != auth.PasswordContext {
			t.Errorf("reason = %q, want %q", got, auth.PasswordContext)
		}
	})
	t.Run("four code points count", func(t *testing.T) {
		if got := checkReason(t, auth.PasswordPolicy{}, "xqzw83920174", "xqzw"); got != auth.PasswordContext {
			t.Errorf("reason = %q, want %q", got, auth.PasswordContext)
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
			na, nb := auth.NormalizePassword(tc.a), auth.NormalizePassword(tc.b)
			if (na == nb) != tc.equal {
				t.Errorf("NormalizePassword(%q) = %q, NormalizePassword(%q) = %q; equal = %v, want %v",
					tc.a, na, tc.b, nb, na == nb, tc.equal)
			}
			if auth.NormalizePassword(na) != na {
				t.Errorf("NormalizePassword is not idempotent on %q", na)
			}
		})
	}
}

func ExamplePasswordPolicy_Check() {
	policy := auth.PasswordPolicy{MinLength: 12, Blocklist: []string{"Gatehouse"}}
	for _, pw := range []string{
		"short",
		"Password123!",
		"gatehouse2024",
		"alice.smith1",
		"correct horse battery staple",
	} {
		err := policy.Check(pw, "alice.smith@example.com")
		var pe *auth.PasswordError
		switch {
		case err == nil:
			fmt.Printf("%q: accepted\n", pw)
		case errors.As(err, &pe):
			fmt.Printf("%q: %s (%s)\n", pw, pe.Reason, err)
		}
	}
	// Output:
	// "short": too_short (auth: password must be at least 12 characters)
	// "Password123!": common (auth: password is too common)
	// "gatehouse2024": common (auth: password is too common)
	// "alice.smith1": context (auth: password must not be the email address or the service name)
	// "correct horse battery staple": accepted
}

// BenchmarkPasswordPolicyCheck measures the policy on ordinary and on
// adversarial input (long runs of affix characters).
func BenchmarkPasswordPolicyCheck(b *testing.B) {
	ctx := []string{"alice.smith@example.com", "Gatehouse"}
	for _, bc := range []struct{ name, password string }{
		{"passphrase", "correct horse battery staple"},
		{"common", "P@ssw0rd2024!"},
		{"256 digits", strings.Repeat("1", 128) + strings.Repeat("83920174", 16)},
		{"affixes around a letter", strings.Repeat("!", 127) + "a" + strings.Repeat("7", 128)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var p auth.PasswordPolicy
			for b.Loop() {
				_ = p.Check(bc.password, ctx...)
			}
		})
	}
}
