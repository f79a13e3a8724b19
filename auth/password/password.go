package password

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// MaxBytes is the hard cap on a password's length in bytes, as
// received and before any normalization. [Policy.Check] and both
// supplied hashers refuse longer input before doing any other work, so a
// huge password cannot be used to burn CPU (SECURITY.md #6).
const MaxBytes = 1024

// Bounds of [Policy], in code points after NFKC normalization.
const (
	defaultMinPasswordLength = 8   // NIST SP 800-63B-4 §3.1.1.2 SHALL floor
	defaultMaxPasswordLength = 256 // with ≤4 bytes per code point, ≤ MaxBytes
	lowestMaxPasswordLength  = 64  // NIST: at least 64 characters SHOULD be accepted
)

// Policy decides whether a new password is acceptable. It is used on
// every path that sets a password (registration, change and reset), so they
// all refuse the same passwords for the same reasons.
//
// The policy has no composition rules and never will: it does not ask for
// upper case, lower case, digits or symbols, and accepts spaces, any
// printable ASCII and any Unicode (SECURITY.md #7). It checks, in order: the
// hard byte cap [MaxBytes]; that the password is valid UTF-8 without
// control characters; its length in code points after NFKC normalization
// (see [Normalize]); and a blocklist of common passwords together
// with words from the context of the account (see [Policy.Check]).
//
// The zero value is the default policy: 8 to 256 code points and the
// built-in blocklist. A Policy is a plain value and safe for
// concurrent use.
type Policy struct {
	// MinLength is the minimum length in code points, counted after NFKC
	// normalization. Zero means 8, the lowest value allowed. NIST recommends
	// 15 where a password is the only factor.
	MinLength int

	// MaxLength is the maximum length in code points, counted after NFKC
	// normalization. Zero means 256. It must be between 64 and 256: at least
	// 64 characters must be accepted, and 256 code points of at most 4 bytes
	// each keep a normalized password within [MaxBytes].
	MaxLength int

	// Blocklist holds extra words to refuse, such as the product's name.
	// They are compared like the built-in list: without regard to case,
	// after NFKC, undoing common letter substitutions and ignoring leading
	// and trailing digits and punctuation. Empty entries are ignored.
	Blocklist []string
}

// Validate checks the policy's configuration. It returns a
// *[ConfigError] naming the offending field, e.g.
// "Policy.MinLength", or nil.
func (p Policy) Validate() error {
	minLen, maxLen := p.Bounds()
	if p.MinLength != 0 && p.MinLength < defaultMinPasswordLength {
		return &ConfigError{
			Field:  "Policy.MinLength",
			Reason: fmt.Sprintf("must be at least %d (or 0 for the default)", defaultMinPasswordLength),
		}
	}
	if p.MaxLength != 0 && (p.MaxLength < lowestMaxPasswordLength || p.MaxLength > defaultMaxPasswordLength) {
		return &ConfigError{
			Field: "Policy.MaxLength",
			Reason: fmt.Sprintf("must be between %d and %d (or 0 for the default)",
				lowestMaxPasswordLength, defaultMaxPasswordLength),
		}
	}
	if minLen > maxLen {
		return &ConfigError{
			Field:  "Policy.MinLength",
			Reason: fmt.Sprintf("must not exceed MaxLength (%d)", maxLen),
		}
	}
	return nil
}

// Bounds returns the effective length bounds in code points: defaults for
// zero fields, and never looser than the allowed range, so that Check stays
// safe even on a policy that was never validated.
func (p Policy) Bounds() (minLen, maxLen int) {
	minLen, maxLen = p.MinLength, p.MaxLength
	if minLen < defaultMinPasswordLength {
		minLen = defaultMinPasswordLength
	}
	if maxLen == 0 || maxLen > defaultMaxPasswordLength {
		maxLen = defaultMaxPasswordLength
	}
	if maxLen < lowestMaxPasswordLength {
		maxLen = lowestMaxPasswordLength
	}
	return minLen, maxLen
}

// Check returns nil when password is acceptable as a new password, and
// otherwise a *[PolicyError] (which matches [ErrWeak]) whose
// Reason is one of:
//
//   - [TooLong]: over [MaxBytes] bytes as given (checked
//     first, before any other work), or over MaxLength code points after
//     normalization. The error also matches [ErrTooLong].
//   - [Invalid]: not valid UTF-8, or contains a control character
//     (U+0000–U+001F, U+007F–U+009F). Spaces are fine.
//   - [TooShort]: under MinLength code points after normalization.
//   - [Common]: the whole password is a common password, a word of
//     the policy's Blocklist, or a trivial pattern.
//   - [Contextual]: the whole password is one of the context words.
//
// Context words describe the account and the service: pass the email
// address, the user's name, the service name and the like. Empty words and
// words shorter than 4 code points are ignored; for a word containing '@'
// the part before it, and the dot-, plus-, dash- or underscore-separated
// pieces of that part, are context words too.
//
// The blocklist and context checks compare the whole password, not
// substrings: a long passphrase that merely contains a listed word is
// accepted. Before comparing, the password is normalized with NFKC,
// lower-cased, and reduced by undoing common substitutions ("@" for "a",
// "0" for "o", "1" for "i" or "l", "3" for "e", "$" or "5" for "s", "7" for
// "t" and a few more) and by ignoring leading and trailing ASCII digits,
// punctuation and spaces, so "P@ssw0rd2024!" counts as "password". Repeated
// characters or short repeated units ("aaaaaaaa", "abcabcabc"), runs of
// consecutive characters ("abcdefgh", "98765432"), and passwords made only
// of such patterns, years, dates and counting sequences ("12345678910") are
// refused as common too.
//
// Check applies no rule about which kinds of characters a password
// contains. It does not consult any breached-password service; callers who
// want one can check the password before or after Check.
func (p Policy) Check(password string, context ...string) error {
	minLen, maxLen := p.Bounds()
	refuse := func(r Reason) error {
		return &PolicyError{Reason: r, Min: minLen, Max: maxLen}
	}
	if len(password) > MaxBytes {
		return refuse(TooLong)
	}
	if !utf8.ValidString(password) {
		return refuse(Invalid)
	}
	for _, r := range password {
		if unicode.IsControl(r) {
			return refuse(Invalid)
		}
	}
	normalized := Normalize(password)
	n := utf8.RuneCountInString(normalized)
	if n > maxLen {
		return refuse(TooLong)
	}
	if n < minLen {
		return refuse(TooShort)
	}

	folded := []rune(strings.ToLower(normalized))
	if builtinBlocklist().refuses(folded) || isTrivial(folded) {
		return refuse(Common)
	}
	if len(p.Blocklist) > 0 {
		extra := newWordList(len(p.Blocklist))
		for _, w := range p.Blocklist {
			extra.add(w)
		}
		if extra.refuses(folded) {
			return refuse(Common)
		}
	}
	return p.checkContext(folded, context)
}

// CheckContext is Check's last rule alone: it refuses a password that is
// one of the context words, as Check does. It is for a caller that checked
// the rest of the policy before it knew the account (a password reset, say).
func (p Policy) CheckContext(password string, context ...string) error {
	return p.checkContext([]rune(strings.ToLower(Normalize(password))), context)
}

// checkContext is CheckContext on a password already normalized and
// lower-cased.
func (p Policy) checkContext(folded []rune, context []string) error {
	if len(context) > 0 && contextWords(context).refuses(folded) {
		minLen, maxLen := p.Bounds()
		return &PolicyError{Reason: Contextual, Min: minLen, Max: maxLen}
	}
	return nil
}

// Normalize returns password in Unicode Normalization Form KC, so
// that the same password typed on different keyboards or systems (U+00C5
// "Å" or "A" followed by U+030A) gives the same bytes (SECURITY.md #9). It
// does not change case and does not trim spaces: "Pw", "pw" and " pw" stay
// three different passwords. NFKC also folds compatibility characters, so
// the ligature "ﬁ" becomes "fi" and a full-width "Ａ" becomes "A".
//
// The auth.Manager applies it before hashing and before comparing; callers
// of a hasher used on its own must do the same on both paths.
func Normalize(password string) string {
	return norm.NFKC.String(password)
}

// byteLimitError reports a password over a hasher's byte limit. As
// documented on [ErrTooLong], it matches both that and
// [ErrWeak].
type byteLimitError struct {
	hasher string
	limit  int
}

func (e *byteLimitError) Error() string {
	return fmt.Sprintf("password: too long: %s accepts at most %d bytes", e.hasher, e.limit)
}

func (e *byteLimitError) Is(target error) bool {
	return target == ErrTooLong || target == ErrWeak
}
