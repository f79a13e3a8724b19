package mail

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/textproto"
	"strings"
	"time"
	"unicode/utf8"
)

// ComposeOptions are the settings [Compose] does not take from the
// [Message]. The zero value is ready to use when the message has a From.
type ComposeOptions struct {
	// DefaultFrom is the sender used when the message's From is empty.
	DefaultFrom Address
	// Date is the Date header; zero means time.Now().
	Date time.Time
	// MessageIDDomain is the right-hand side of the Message-ID; empty means
	// the domain of the From address.
	MessageIDDomain string
	// Rand is the source of the Message-ID and the multipart boundary; nil
	// means crypto/rand.
	Rand io.Reader
	// SevenBit keeps the message 7-bit: a body that is not ASCII goes
	// quoted-printable instead of 8bit. Set it for a transport that cannot
	// carry 8-bit data, such as an SMTP server without the 8BITMIME
	// extension (RFC 6152); [SMTP] does this by itself.
	SevenBit bool
}

// Validate reports whether m can be sent. It returns an error wrapping
// [ErrInvalidMessage] unless:
//
//   - To has at least one address, and every address in To (and From,
//     unless From is entirely empty) has a plausible Email: a dot-atom
//     local part of at most [MaxLocalLen] bytes, "@", and a domain of
//     letters, digits and hyphens (non-ASCII letters allowed), at most
//     [MaxEmailLen] bytes in all;
//   - no display name (at most [MaxNameLen] bytes) and no Subject (at
//     most [MaxSubjectLen] bytes) contains a control character, so no
//     CR or LF can inject a header;
//   - Subject and Text are not empty, and every field is valid UTF-8.
//
// The error names the failing field but never repeats its value.
func (m Message) Validate() error {
	if m.From != (Address{}) {
		if err := m.From.validate("From"); err != nil {
			return err
		}
	}
	if len(m.To) == 0 {
		return fmt.Errorf("%w: no To address", ErrInvalidMessage)
	}
	for i, a := range m.To {
		if err := a.validate(fmt.Sprintf("To[%d]", i)); err != nil {
			return err
		}
	}
	if m.Subject == "" {
		return fmt.Errorf("%w: empty Subject", ErrInvalidMessage)
	}
	if err := checkHeaderText(m.Subject, MaxSubjectLen); err != nil {
		return fmt.Errorf("%w: Subject: %s", ErrInvalidMessage, err.Error())
	}
	if m.Text == "" {
		return fmt.Errorf("%w: empty Text", ErrInvalidMessage)
	}
	if !utf8.ValidString(m.Text) {
		return fmt.Errorf("%w: Text: not valid UTF-8", ErrInvalidMessage)
	}
	if !utf8.ValidString(m.HTML) {
		return fmt.Errorf("%w: HTML: not valid UTF-8", ErrInvalidMessage)
	}
	return nil
}

// maxLine is the longest line, without its CRLF, that RFC 5322 §2.1.1
// allows; foldAt is the length it recommends and Compose aims for.
const (
	maxLine = 998
	foldAt  = 78
)

// Compose writes m to w as an RFC 5322 message with CRLF line endings, ready
// for SMTP DATA or a .eml file. It first calls [Message.Validate] and writes
// nothing if m is invalid. The headers are, in order: From (m.From, or
// opt.DefaultFrom when m.From is empty; an error if both are), To, Subject
// (RFC 2047 encoded when not ASCII), Date (RFC 5322 format), Message-ID
// (<random hex@domain>), Auto-Submitted ("auto-generated", RFC 3834: it asks
// vacation responders and other automatic repliers not to answer) and
// MIME-Version. A message without HTML is
// text/plain; with HTML it is multipart/alternative with the text part
// first. Long headers are folded; no line exceeds 998 octets.
//
// Bodies are UTF-8, and their line breaks (LF, CRLF or CR) arrive as CRLF.
// Each body goes unencoded when it can, so that a token or a link in it
// reads (and greps) whole from the raw message: "7bit" when it is ASCII,
// "8bit" when it is not (unless opt.SevenBit is set), provided that every
// line fits in 998 octets (RFC 5322 §2.1.1) and it holds no control
// character other than tab. Otherwise, and for a text-only body without a
// final line break, the body goes quoted-printable, which wraps long lines
// with soft line breaks.
//
// Compose writes to w with a single Write call; its error is returned as is.
func Compose(w io.Writer, m Message, opt ComposeOptions) error {
	msg, _, err := compose(m, opt)
	if err != nil {
		return err
	}
	_, err = w.Write(msg)
	return err
}

// compose builds the message for [Compose] and reports whether a body went
// 8bit.
func compose(m Message, opt ComposeOptions) (msg []byte, eightBit bool, err error) {
	if err := m.Validate(); err != nil {
		return nil, false, err
	}
	from := m.From
	if from == (Address{}) {
		if opt.DefaultFrom == (Address{}) {
			return nil, false, fmt.Errorf("%w: no From address and no default sender", ErrInvalidMessage)
		}
		from = opt.DefaultFrom
		if err := from.validate("default From"); err != nil {
			return nil, false, err
		}
	}
	domain := opt.MessageIDDomain
	if domain == "" {
		domain = from.Email[strings.LastIndexByte(from.Email, '@')+1:]
	} else if err := checkDomain(domain); err != nil {
		return nil, false, fmt.Errorf("%w: MessageIDDomain: %s", ErrInvalidMessage, err.Error())
	}
	date := opt.Date
	if date.IsZero() {
		date = time.Now()
	}
	rnd := opt.Rand
	if rnd == nil {
		rnd = rand.Reader
	}
	id, err := randomHex(rnd, 16)
	if err != nil {
		return nil, false, err
	}

	var b bytes.Buffer
	to := make([]string, len(m.To))
	for i, a := range m.To {
		to[i] = a.String()
	}
	writeHeader(&b, "From", from.String())
	writeHeader(&b, "To", strings.Join(to, ", "))
	writeHeader(&b, "Subject", encodeSubject(m.Subject))
	writeHeader(&b, "Date", date.Format(time.RFC1123Z))
	writeHeader(&b, "Message-ID", "<"+id+"@"+domain+">")
	writeHeader(&b, "Auto-Submitted", "auto-generated")
	writeHeader(&b, "MIME-Version", "1.0")

	if m.HTML == "" {
		text := normalizeBreaks(m.Text)
		enc := transferEncoding(text, !opt.SevenBit, "")
		if enc != encQP && !strings.HasSuffix(text, "\n") {
			// Only quoted-printable can end the message with a line break
			// that is not part of the text.
			enc = encQP
		}
		writeHeader(&b, "Content-Type", "text/plain; charset=utf-8")
		writeHeader(&b, "Content-Transfer-Encoding", enc)
		b.WriteString("\r\n")
		if err := writeBody(&b, text, enc); err != nil {
			return nil, false, err
		}
		// End the message with a line break without adding one to the
		// text: a soft line break decodes to nothing.
		if !bytes.HasSuffix(b.Bytes(), []byte("\r\n")) {
			b.WriteString("=\r\n")
		}
		eightBit = enc == enc8bit
	} else {
		boundary, err := newBoundary(rnd)
		if err != nil {
			return nil, false, err
		}
		writeHeader(&b, "Content-Type", mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": boundary}))
		b.WriteString("\r\n")
		mw := multipart.NewWriter(&b)
		if err := mw.SetBoundary(boundary); err != nil {
			return nil, false, fmt.Errorf("mail: compose: %w", err)
		}
		for _, p := range [...]struct{ typ, body string }{{"text/plain; charset=utf-8", m.Text}, {"text/html; charset=utf-8", m.HTML}} {
			body := normalizeBreaks(p.body)
			// An unencoded part must not contain the boundary (RFC 2046
			// §5.1.1); quoted-printable never does (see newBoundary).
			enc := transferEncoding(body, !opt.SevenBit, "--"+boundary)
			pw, err := mw.CreatePart(textproto.MIMEHeader{
				"Content-Type":              {p.typ},
				"Content-Transfer-Encoding": {enc},
			})
			if err != nil {
				return nil, false, fmt.Errorf("mail: compose: %w", err)
			}
			if err := writeBody(pw, body, enc); err != nil {
				return nil, false, err
			}
			eightBit = eightBit || enc == enc8bit
		}
		if err := mw.Close(); err != nil {
			return nil, false, fmt.Errorf("mail: compose: %w", err)
		}
	}
	return b.Bytes(), eightBit, nil
}

// The transfer encodings of a body (RFC 2045 §6).
const (
	enc7bit = "7bit"
	enc8bit = "8bit"
	encQP   = "quoted-printable"
)

// transferEncoding returns how body, whose line breaks are LF, goes on the
// wire: unencoded ("7bit" when ASCII, "8bit" when not and allow8bit) when
// every line fits in maxLine octets, no control character but tab occurs
// and avoid (when set) does not; quoted-printable otherwise.
func transferEncoding(body string, allow8bit bool, avoid string) string {
	if avoid != "" && strings.Contains(body, avoid) {
		return encQP
	}
	enc, line := enc7bit, 0
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case c == '\n':
			line = 0
			continue
		case c >= 0x80:
			if !allow8bit {
				return encQP
			}
			enc = enc8bit
		case (c < ' ' && c != '\t') || c == 0x7f:
			return encQP
		}
		if line++; line > maxLine {
			return encQP
		}
	}
	return enc
}

// normalizeBreaks turns the line breaks of s (CRLF, LF or a lone CR) into
// LF.
func normalizeBreaks(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}

// writeBody writes s, whose line breaks are LF, in the transfer encoding
// enc with CRLF line breaks.
func writeBody(w io.Writer, s, enc string) error {
	if enc == encQP {
		return writeQP(w, s)
	}
	if _, err := io.WriteString(w, strings.ReplaceAll(s, "\n", "\r\n")); err != nil {
		return fmt.Errorf("mail: compose: %w", err)
	}
	return nil
}

// writeHeader writes "name: value" folded at spaces so that lines stay near
// foldAt octets. Validate's length limits guarantee that no unfoldable run
// takes a line past maxLine. Folding happens only before a non-empty word,
// so no continuation line is blank.
func writeHeader(b *bytes.Buffer, name, value string) {
	line := len(name) + 1 // "name:"
	b.WriteString(name)
	b.WriteByte(':')
	for i, word := range strings.Split(value, " ") {
		if i > 0 && word != "" && line+1+len(word) > foldAt && line > len(name)+1 {
			b.WriteString("\r\n")
			line = 0
		}
		b.WriteByte(' ')
		b.WriteString(word)
		line += 1 + len(word)
	}
	b.WriteString("\r\n")
}

// encodeSubject returns s encoded per RFC 2047 when it is not ASCII, and
// also when it holds "=?", which a reader would otherwise take for the start
// of an encoded-word; otherwise s itself.
func encodeSubject(s string) string {
	if !strings.Contains(s, "=?") {
		return mime.QEncoding.Encode("utf-8", s)
	}
	// mime.QEncoding leaves printable ASCII alone, so encode by hand.
	return encodeWords(s, func(r rune) bool {
		return r > ' ' && r <= '~' && r != '=' && r != '?' && r != '_'
	})
}

// encodeWords encodes s as RFC 2047 "Q" encoded-words of at most 75 octets,
// separated by spaces (where writeHeader may fold), writing the runes for
// which literal is true as themselves, spaces as "_" and everything else as
// "=XX" octets. Runes are never split across words.
func encodeWords(s string, literal func(rune) bool) string {
	const (
		prefix = "=?utf-8?q?"
		suffix = "?="
		room   = 75 - len(prefix) - len(suffix)
	)
	var b, word strings.Builder
	flush := func() {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(prefix + word.String() + suffix)
		word.Reset()
	}
	var enc []byte
	for _, r := range s {
		enc = enc[:0]
		switch {
		case r == ' ':
			enc = append(enc, '_')
		case literal(r):
			enc = append(enc, byte(r))
		default:
			var buf [utf8.UTFMax]byte
			for _, c := range buf[:utf8.EncodeRune(buf[:], r)] {
				enc = append(enc, '=', upperhex[c>>4], upperhex[c&15])
			}
		}
		if word.Len()+len(enc) > room {
			flush()
		}
		word.Write(enc)
	}
	flush()
	return b.String()
}

const upperhex = "0123456789ABCDEF"

// writeQP writes s quoted-printable, turning its line breaks (CRLF, LF or
// a lone CR) into CRLF.
func writeQP(w io.Writer, s string) error {
	// The writer turns both CR and LF into CRLF itself, but it can drop the
	// LF of a lone CR followed by an encoded byte and then an LF
	// ("\r\x14\n"), so only LFs reach it.
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
	qw := quotedprintable.NewWriter(w)
	if _, err := io.WriteString(qw, s); err != nil {
		return fmt.Errorf("mail: compose: %w", err)
	}
	if err := qw.Close(); err != nil {
		return fmt.Errorf("mail: compose: %w", err)
	}
	return nil
}

// newBoundary returns a random multipart boundary. It starts with "=_",
// which quoted-printable output never contains (it writes "=" as "=3D"), so
// the boundary cannot occur in either part.
func newBoundary(rnd io.Reader) (string, error) {
	h, err := randomHex(rnd, 12)
	if err != nil {
		return "", err
	}
	return "=_" + h, nil
}

func randomHex(rnd io.Reader, n int) (string, error) {
	buf := make([]byte, n)
	if _, err := io.ReadFull(rnd, buf); err != nil {
		return "", fmt.Errorf("mail: compose: reading random bytes: %w", err)
	}
	return hex.EncodeToString(buf), nil
}
