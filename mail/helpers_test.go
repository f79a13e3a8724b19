package mail_test

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
	"strings"
	"testing"

	"github.com/gatehouse-go/gatehouse/mail"
)

// parsed is a composed message read back with the standard library.
type parsed struct {
	header  netmail.Header
	subject string
	from    []*netmail.Address
	to      []*netmail.Address
	text    string
	html    string
	parts   int
	// textCTE and htmlCTE are the parts' Content-Transfer-Encoding.
	textCTE string
	htmlCTE string
}

// compose runs mail.Compose and fails the test on error.
func compose(tb testing.TB, m mail.Message, opt mail.ComposeOptions) []byte {
	tb.Helper()
	var b bytes.Buffer
	if err := mail.Compose(&b, m, opt); err != nil {
		tb.Fatalf("Compose: %v", err)
	}
	return b.Bytes()
}

// checkWire fails unless raw uses CRLF line endings only, ends with CRLF and
// has no line over 998 octets.
func checkWire(tb testing.TB, raw []byte) {
	tb.Helper()
	if !bytes.HasSuffix(raw, []byte("\r\n")) {
		tb.Errorf("message does not end with CRLF")
	}
	for i, c := range raw {
		switch {
		case c == '\n' && (i == 0 || raw[i-1] != '\r'):
			tb.Fatalf("bare LF at offset %d", i)
		case c == '\r' && (i+1 == len(raw) || raw[i+1] != '\n'):
			tb.Fatalf("bare CR at offset %d", i)
		}
	}
	for n, line := range bytes.Split(raw, []byte("\r\n")) {
		if len(line) > 998 {
			tb.Fatalf("line %d is %d octets long", n+1, len(line))
		}
	}
}

// parse reads raw back with net/mail and mime/multipart, decoding headers
// and bodies.
func parse(tb testing.TB, raw []byte) parsed {
	tb.Helper()
	checkWire(tb, raw)
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		tb.Fatalf("ReadMessage: %v", err)
	}
	p := parsed{header: msg.Header}
	dec := new(mime.WordDecoder)
	if p.subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		tb.Fatalf("decoding Subject: %v", err)
	}
	if p.from, err = msg.Header.AddressList("From"); err != nil {
		tb.Fatalf("parsing From: %v", err)
	}
	if p.to, err = msg.Header.AddressList("To"); err != nil {
		tb.Fatalf("parsing To: %v", err)
	}
	if got := msg.Header.Get("MIME-Version"); got != "1.0" {
		tb.Errorf("MIME-Version = %q, want 1.0", got)
	}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		tb.Fatalf("parsing Content-Type: %v", err)
	}
	switch mediaType {
	case "text/plain":
		p.textCTE = checkTextHeader(tb, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), "text/plain")
		p.text = readBody(tb, msg.Body, p.textCTE)
		p.parts = 1
	case "multipart/alternative":
		mr := multipart.NewReader(msg.Body, params["boundary"])
		for {
			// NextRawPart leaves the transfer encoding for us to check.
			part, err := mr.NextRawPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				tb.Fatalf("reading part %d: %v", p.parts+1, err)
			}
			p.parts++
			switch p.parts {
			case 1:
				p.textCTE = checkTextHeader(tb, part.Header.Get("Content-Type"), part.Header.Get("Content-Transfer-Encoding"), "text/plain")
				p.text = readBody(tb, part, p.textCTE)
			case 2:
				p.htmlCTE = checkTextHeader(tb, part.Header.Get("Content-Type"), part.Header.Get("Content-Transfer-Encoding"), "text/html")
				p.html = readBody(tb, part, p.htmlCTE)
			default:
				tb.Fatalf("unexpected part %d", p.parts)
			}
		}
	default:
		tb.Fatalf("Content-Type is %q", mediaType)
	}
	return p
}

// checkTextHeader checks a text part's headers and returns its transfer
// encoding, which must be one Compose uses.
func checkTextHeader(tb testing.TB, contentType, cte, want string) string {
	tb.Helper()
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil || mediaType != want || params["charset"] != "utf-8" {
		tb.Errorf("Content-Type = %q, want %s; charset=utf-8", contentType, want)
	}
	switch cte {
	case "7bit", "8bit", "quoted-printable":
	default:
		tb.Errorf("Content-Transfer-Encoding = %q, want 7bit, 8bit or quoted-printable", cte)
	}
	return cte
}

// readBody decodes a body in transfer encoding cte, checking that a 7bit
// body is ASCII and an 8bit one is not (Compose would have chosen 7bit).
func readBody(tb testing.TB, r io.Reader, cte string) string {
	tb.Helper()
	if cte == "quoted-printable" {
		r = quotedprintable.NewReader(r)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		tb.Fatalf("decoding %s: %v", cte, err)
	}
	ascii := !bytes.ContainsFunc(b, func(r rune) bool { return r >= 0x80 })
	switch {
	case cte == "7bit" && !ascii:
		tb.Errorf("a 7bit body holds 8-bit data")
	case cte == "8bit" && ascii:
		tb.Errorf("an ASCII body is labelled 8bit")
	}
	return string(b)
}

// crlf returns s with every line break (CRLF, LF or CR) as CRLF: the form
// in which a body arrives.
func crlf(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.ReplaceAll(s, "\n", "\r\n")
}
