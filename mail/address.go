package mail

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Length limits enforced by [Message.Validate], in bytes. The address limits
// are those of RFC 5321 §4.5.3.1; the name and subject limits keep every
// header line [Compose] writes within the 998-octet limit of RFC 5322 §2.1.1
// even when a value has no space at which it could be folded.
const (
	// MaxEmailLen is the longest [Address] Email accepted.
	MaxEmailLen = 254
	// MaxLocalLen is the longest local part (before the last "@") accepted.
	MaxLocalLen = 64
	// MaxNameLen is the longest [Address] Name accepted.
	MaxNameLen = 256
	// MaxSubjectLen is the longest [Message] Subject accepted.
	MaxSubjectLen = 900
)

// String returns a in the form used in the From and To headers of RFC 5322:
// "<alice@example.com>" without a name, `"Alice Liddell" <alice@example.com>`
// with an ASCII name, and the name as RFC 2047 Q encoded-words
// ("=?utf-8?q?Gr=C3=BC=C3=9Fe?= <g@example.com>") when it is not ASCII.
// The result parses back with [net/mail.ParseAddress] for every valid a; it
// is meaningless for an invalid one (see [Message.Validate]).
func (a Address) String() string {
	addr := "<" + a.Email + ">"
	if a.Name == "" {
		return addr
	}
	return encodeName(a.Name) + " " + addr
}

// quotedPairs escapes the backslashes and double quotes of a display name
// for a quoted-string (RFC 5322 §3.2.4).
var quotedPairs = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

// encodeName returns a display name as a quoted-string when it is printable
// ASCII, and otherwise as encoded-words that use only the characters RFC
// 2047 §5(3) allows in a phrase. (net/mail.Address.String lets some others
// through, such as a backslash, and then cannot parse its own output.)
func encodeName(name string) string {
	ascii := true
	for i := 0; i < len(name); i++ {
		if name[i] < ' ' || name[i] > '~' {
			ascii = false
			break
		}
	}
	if ascii {
		return `"` + quotedPairs.Replace(name) + `"`
	}
	return encodeWords(name, func(r rune) bool {
		return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			r == '!' || r == '*' || r == '+' || r == '-' || r == '/'
	})
}

// validate checks that a is a plausible mailbox; what names the address in
// errors (never its value, which is personal data).
func (a Address) validate(what string) error {
	if err := checkEmail(a.Email); err != nil {
		return fmt.Errorf("%w: %s address: %s", ErrInvalidMessage, what, err.Error())
	}
	if err := checkHeaderText(a.Name, MaxNameLen); err != nil {
		return fmt.Errorf("%w: %s name: %s", ErrInvalidMessage, what, err.Error())
	}
	return nil
}

// reason is an error that is only ever formatted into an ErrInvalidMessage.
type reason string

func (r reason) Error() string { return string(r) }

// checkHeaderText reports whether s may be a header value: valid UTF-8, at
// most max bytes, and free of control characters (CR and LF above all, which
// would let a value start a new header).
func checkHeaderText(s string, max int) error {
	if len(s) > max {
		return reason(fmt.Sprintf("longer than %d bytes", max))
	}
	if !utf8.ValidString(s) {
		return reason("not valid UTF-8")
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return reason("contains a control character")
		}
	}
	return nil
}

// checkEmail reports whether s is a plausible addr-spec: a dot-atom local
// part and a domain of dot-separated labels. Non-ASCII letters are allowed
// (RFC 6531/6532); quoted local parts, comments and domain literals are not.
func checkEmail(s string) error {
	switch {
	case s == "":
		return reason("empty")
	case len(s) > MaxEmailLen:
		return reason(fmt.Sprintf("longer than %d bytes", MaxEmailLen))
	case !utf8.ValidString(s):
		return reason("not valid UTF-8")
	}
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return reason("no @")
	}
	local, domain := s[:at], s[at+1:]
	if len(local) > MaxLocalLen {
		return reason(fmt.Sprintf("local part longer than %d bytes", MaxLocalLen))
	}
	if err := checkLocal(local); err != nil {
		return err
	}
	return checkDomain(domain)
}

func checkLocal(local string) error {
	if local == "" {
		return reason("empty local part")
	}
	for _, atom := range strings.Split(local, ".") {
		if atom == "" {
			return reason("local part has an empty dot-separated part")
		}
		for _, r := range atom {
			if !isAtext(r) {
				return reason("local part has a character outside atext")
			}
		}
	}
	return nil
}

// checkDomain accepts host names of labels of letters, digits and hyphens
// (and non-ASCII letters, for internationalized domains).
func checkDomain(domain string) error {
	if domain == "" {
		return reason("empty domain")
	}
	for _, label := range strings.Split(domain, ".") {
		if label == "" {
			return reason("domain has an empty label")
		}
		if len(label) > 63 {
			return reason("domain label longer than 63 bytes")
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return reason("domain label starts or ends with a hyphen")
		}
		for _, r := range label {
			if !isLabelRune(r) {
				return reason("domain has a character that is not a letter, digit or hyphen")
			}
		}
	}
	return nil
}

// isAtext reports whether r is atext (RFC 5322 §3.2.3, extended to UTF-8 by
// RFC 6532).
func isAtext(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	case r < utf8.RuneSelf:
		return strings.ContainsRune("!#$%&'*+-/=?^_`{|}~", r)
	default:
		return isNonASCIIText(r)
	}
}

func isLabelRune(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-':
		return true
	case r < utf8.RuneSelf:
		return false
	default:
		return isNonASCIIText(r)
	}
}

// isNonASCIIText accepts non-ASCII runes that are visible text: no controls,
// no spaces (U+00A0, U+2028 and the like) and no replacement character.
func isNonASCIIText(r rune) bool {
	return unicode.IsGraphic(r) && !unicode.IsSpace(r) && r != utf8.RuneError
}
