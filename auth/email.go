package auth

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Limits on email addresses (RFC 5321 §4.5.3.1: 64 bytes of local part,
// 254 of path without the angle brackets).
const (
	maxEmailBytes      = 254
	maxEmailLocalBytes = 64
	maxEmailLabelBytes = 63
	// maxEmailInputBytes bounds the work done on input before trimming.
	maxEmailInputBytes = 1024
)

// NormalizeEmail returns the canonical form of an email address, the form
// to store, to look accounts up by and to keep unique (SECURITY.md #18):
//
//  1. input that is not valid UTF-8 or contains a control or invisible
//     formatting character (NUL, line breaks, tabs, zero-width and
//     bidirectional marks) is refused before anything else, so such
//     characters are never trimmed away silently;
//  2. leading and trailing spaces, ASCII or Unicode, are trimmed;
//  3. the address is normalized with NFKC, so full-width and other
//     compatibility forms fold ("ａｌｉｃｅ" becomes "alice");
//  4. it is lower-cased with [strings.ToLower]: all of Unicode, not only
//     ASCII, in both the local part and the domain (SECURITY.md §5
//     decision 5).
//     This is deliberate: RFC 5321 lets a server treat local parts as case
//     sensitive, but no mainstream provider does, and one account per
//     address regardless of case is what users expect. The mapping is
//     Unicode's simple one, the same everywhere, without language-specific
//     rules: "İ" (U+0130) becomes a plain "i", so "İ@example.com" is the
//     same account as "i@example.com" (and mail for it goes to the address
//     stored for that account), while the dotless "ı" (U+0131) stays a
//     distinct letter. Steps 3 and 4 repeat until stable, which makes the
//     result idempotent.
//
// The result must then have exactly one '@', a local part of 1 to 64
// bytes, a domain of at least two non-empty labels of at most 63 bytes
// each (so no leading, trailing or doubled dots), at most 254 bytes in all,
// and no spaces, double quotes, angle brackets, parentheses, square
// brackets, colons, commas, semicolons or backslashes. This refuses display
// names ("Alice <alice@example.com>"), lists of addresses, quoted local
// parts, comments and address literals, all legal in some RFC but never
// needed for a login. It is a syntax check only: whether mail can be
// delivered is for email verification to prove.
//
// NormalizeEmail(NormalizeEmail(x)) == NormalizeEmail(x) for every x it
// accepts. Errors match [ErrInvalidEmail] and carry a short reason; they
// never contain the input.
//
// Mail must always go to the address stored for the account, never to one
// taken from a request.
func NormalizeEmail(email string) (string, error) {
	invalid := func(reason string) (string, error) {
		return "", fmt.Errorf("%w: %s", ErrInvalidEmail, reason)
	}
	if len(email) > maxEmailInputBytes {
		return invalid("too long")
	}
	if !utf8.ValidString(email) {
		return invalid("not valid UTF-8")
	}
	if strings.IndexFunc(email, isControlOrFormat) >= 0 {
		return invalid("contains control characters")
	}

	s := norm.NFKC.String(strings.TrimFunc(email, unicode.IsSpace))
	// Lower-casing can leave a string that NFKC changes again (a capital
	// letter with a combining mark whose small form is precomposed), and
	// NFKC can produce capitals (U+1D2C "ᴬ" becomes "A"), so repeat both
	// until nothing changes.
	for i := 0; ; i++ {
		t := norm.NFKC.String(strings.ToLower(s))
		if t == s {
			break
		}
		if i == 4 {
			return invalid("unstable under normalization")
		}
		s = t
	}

	if len(s) > maxEmailBytes {
		return invalid("too long")
	}
	if s == "" {
		return invalid("empty")
	}
	for _, r := range s {
		switch {
		case isControlOrFormat(r):
			return invalid("contains control characters")
		case unicode.IsSpace(r):
			return invalid("contains spaces")
		case strings.ContainsRune(`"<>()[]:,;\`, r):
			return invalid("contains characters not allowed in an address")
		case !unicode.IsGraphic(r):
			return invalid("contains characters not allowed in an address")
		}
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok {
		return invalid("missing @")
	}
	if strings.Contains(domain, "@") {
		return invalid("more than one @")
	}
	if local == "" {
		return invalid("empty local part")
	}
	if len(local) > maxEmailLocalBytes {
		return invalid("local part too long")
	}
	if domain == "" {
		return invalid("empty domain")
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return invalid("domain has no dot")
	}
	for _, l := range labels {
		if l == "" {
			return invalid("domain has an empty label")
		}
		if len(l) > maxEmailLabelBytes {
			return invalid("domain label too long")
		}
	}
	return s, nil
}

// isControlOrFormat reports whether r is a control character (Cc) or an
// invisible formatting character (Cf: zero-width spaces and joiners,
// bidirectional controls, the byte-order mark).
func isControlOrFormat(r rune) bool {
	return unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r)
}
