package mail_test

import (
	"bytes"
	"errors"
	"io"
	netmail "net/mail"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/mail"
)

var (
	alice  = mail.Address{Name: "Alice Liddell", Email: "alice@example.com"}
	sender = mail.Address{Name: "Example", Email: "no-reply@example.org"}
	date   = time.Date(2026, 11, 28, 6, 11, 49, 0, time.FixedZone("CET", 3600))
)

func validMessage() mail.Message {
	return mail.Message{
		Kind:    mail.KindVerifyEmail,
		From:    sender,
		To:      []mail.Address{alice},
		Subject: "Verify your email address",
		Text:    "Hello Alice,\n\nyour code is 123456.\n",
	}
}

func TestComposeTextOnly(t *testing.T) {
	m := validMessage()
	raw := compose(t, m, mail.ComposeOptions{Date: date})
	p := parse(t, raw)

	if p.parts != 1 || p.html != "" {
		t.Errorf("got %d parts, html %q; want one text/plain body", p.parts, p.html)
	}
	if p.text != crlf(m.Text) {
		t.Errorf("text = %q, want %q", p.text, crlf(m.Text))
	}
	if p.subject != m.Subject {
		t.Errorf("subject = %q, want %q", p.subject, m.Subject)
	}
	if len(p.from) != 1 || p.from[0].Name != sender.Name || p.from[0].Address != sender.Email {
		t.Errorf("From = %v, want %v", p.from, sender)
	}
	if len(p.to) != 1 || p.to[0].Name != alice.Name || p.to[0].Address != alice.Email {
		t.Errorf("To = %v, want %v", p.to, alice)
	}
	got, err := p.header.Date()
	if err != nil || !got.Equal(date) {
		t.Errorf("Date = %v (%v), want %v", got, err, date)
	}
	if d := p.header.Get("Date"); d != "Sat, 28 Nov 2026 06:11:49 +0100" {
		t.Errorf("Date header = %q", d)
	}
	if id := p.header.Get("Message-ID"); !regexp.MustCompile(`^<[0-9a-f]{32}@example\.org>$`).MatchString(id) {
		t.Errorf("Message-ID = %q, want <32 hex digits@example.org>", id)
	}
	// RFC 3834 §5: messages from an automatic process say so.
	if got := p.header.Get("Auto-Submitted"); got != "auto-generated" {
		t.Errorf("Auto-Submitted = %q, want auto-generated", got)
	}
	// Headers come in a fixed order, the body after one blank line.
	var names []string
	for _, line := range strings.Split(string(raw[:bytes.Index(raw, []byte("\r\n\r\n"))]), "\r\n") {
		if line[0] != ' ' {
			names = append(names, line[:strings.IndexByte(line, ':')])
		}
	}
	want := "From To Subject Date Message-ID Auto-Submitted MIME-Version Content-Type Content-Transfer-Encoding"
	if strings.Join(names, " ") != want {
		t.Errorf("headers = %v, want %s", names, want)
	}
}

func TestComposeMultipart(t *testing.T) {
	m := validMessage()
	m.Text = "Grüße, Alice!\nOpen https://example.com/verify?token=abc&x=1\nA line with = signs and trailing spaces   \n" +
		strings.Repeat("long line ", 200) + "\nno final newline"
	m.HTML = "<!DOCTYPE html>\n<p>Grüße, <b>Alice</b>!</p>\n<p><a href=\"https://example.com/verify?token=abc&amp;x=1\">Verify</a></p>\n" +
		"<p>" + strings.Repeat("wörd ", 400) + "</p>\n"
	raw := compose(t, m, mail.ComposeOptions{Date: date})
	p := parse(t, raw)
	if p.parts != 2 {
		t.Fatalf("got %d parts, want 2", p.parts)
	}
	if p.text != crlf(m.Text) {
		t.Errorf("text part = %q,\nwant %q", p.text, crlf(m.Text))
	}
	if p.html != crlf(m.HTML) {
		t.Errorf("html part = %q,\nwant %q", p.html, crlf(m.HTML))
	}
	if !regexp.MustCompile(`^multipart/alternative; boundary="=_[0-9a-f]{24}"$`).MatchString(p.header.Get("Content-Type")) {
		t.Errorf("Content-Type = %q", p.header.Get("Content-Type"))
	}
}

func TestComposeBodies(t *testing.T) {
	tests := []struct{ name, text string }{
		{"no final newline", "one line"},
		{"LF", "a\nb\n"},
		{"CRLF", "a\r\nb\r\n"},
		{"CR", "a\rb\r"},
		{"mixed", "a\r\nb\nc\rd"},
		{"trailing white space", "a  \nb\t\n"},
		{"equals and dots", "=\n.\n..\nx=3D\n"},
		{"From line", "From me\n>From you\n"},
		{"long line", strings.Repeat("x", 5000)},
		{"non-ASCII", "Grüße 山田 🙂\n"},
		{"boundary look-alike", "--=_0123456789abcdef01234567\n--=_0123456789abcdef01234567--\n"},
	}
	for _, tt := range tests {
		for _, html := range []bool{false, true} {
			name := tt.name
			if html {
				name += "/multipart"
			}
			t.Run(name, func(t *testing.T) {
				m := validMessage()
				m.Text = tt.text
				if html {
					m.HTML = tt.text
				}
				p := parse(t, compose(t, m, mail.ComposeOptions{}))
				if p.text != crlf(tt.text) {
					t.Errorf("text = %q, want %q", p.text, crlf(tt.text))
				}
				if html && p.html != crlf(tt.text) {
					t.Errorf("html = %q, want %q", p.html, crlf(tt.text))
				}
			})
		}
	}
}

// Bodies go unencoded when they can, so that what they carry reads whole
// from the raw message: 7bit for ASCII, 8bit for UTF-8 (quoted-printable
// under SevenBit), quoted-printable only for a line over 998 octets, a
// control character, a text-only body without a final line break, or a
// part that holds the multipart boundary.
func TestComposeTransferEncoding(t *testing.T) {
	// With Rand all zeros the boundary is "=_" and 24 zeros.
	const boundary = "--=_000000000000000000000000"
	tests := []struct {
		name      string
		text      string
		html      string // "" for a text-only message
		sevenBit  bool
		wantText  string
		wantHTML  string
		unwrapped string // a line the raw message must hold whole, if set
	}{
		{name: "ASCII", text: "Hello\n", wantText: "7bit"},
		{name: "ASCII multipart", text: "Hello\n", html: "<p>Hello</p>\n", wantText: "7bit", wantHTML: "7bit"},
		{name: "UTF-8", text: "Grüße\n", html: "<p>Grüße</p>\n", wantText: "8bit", wantHTML: "8bit"},
		{name: "UTF-8 seven-bit", text: "Grüße\n", html: "<p>Grüße</p>\n", sevenBit: true, wantText: "quoted-printable", wantHTML: "quoted-printable"},
		{name: "ASCII seven-bit", text: "Hello\n", sevenBit: true, wantText: "7bit"},
		{name: "one part each", text: "Hello\n", html: "<p>Grüße</p>\n", wantText: "7bit", wantHTML: "8bit"},
		{name: "998 octets", text: strings.Repeat("x", 998) + "\n", wantText: "7bit", unwrapped: strings.Repeat("x", 998)},
		{name: "999 octets", text: strings.Repeat("x", 999) + "\n", wantText: "quoted-printable"},
		{name: "998 octets of UTF-8", text: strings.Repeat("ü", 499) + "\n", wantText: "8bit"},
		{name: "1000 octets of UTF-8", text: strings.Repeat("ü", 500) + "\n", wantText: "quoted-printable"},
		{name: "long line in one part", text: "Hello\n", html: strings.Repeat("x", 999), wantText: "7bit", wantHTML: "quoted-printable"},
		{name: "CRLF counts as a line break", text: strings.Repeat("x", 998) + "\r\n" + strings.Repeat("y", 998) + "\r\n", wantText: "7bit"},
		{name: "tab", text: "a\tb\n", wantText: "7bit"},
		{name: "NUL", text: "a\x00b\n", wantText: "quoted-printable"},
		{name: "control character", text: "a\x1bb\n", wantText: "quoted-printable"},
		{name: "DEL", text: "a\x7fb\n", wantText: "quoted-printable"},
		{name: "no final line break", text: "Hello", wantText: "quoted-printable"},
		{name: "no final line break multipart", text: "Hello", html: "<p>Hello</p>", wantText: "7bit", wantHTML: "7bit"},
		{name: "boundary in a part", text: boundary + "\n", html: "<p>Hello</p>\n", wantText: "quoted-printable", wantHTML: "7bit"},
		{name: "token of 200 characters", text: "Paste this token:\n" + strings.Repeat("Ab0-_", 40) + "\n", wantText: "7bit", unwrapped: strings.Repeat("Ab0-_", 40)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := validMessage()
			m.Text, m.HTML = tt.text, tt.html
			raw := compose(t, m, mail.ComposeOptions{Rand: bytes.NewReader(make([]byte, 64)), SevenBit: tt.sevenBit})
			p := parse(t, raw)
			if p.textCTE != tt.wantText || p.htmlCTE != tt.wantHTML {
				t.Errorf("transfer encodings: text %q, html %q; want %q, %q", p.textCTE, p.htmlCTE, tt.wantText, tt.wantHTML)
			}
			if p.text != crlf(tt.text) || p.html != crlf(tt.html) {
				t.Errorf("bodies do not read back: text %q, html %q", p.text, p.html)
			}
			if tt.sevenBit && bytes.ContainsFunc(raw, func(r rune) bool { return r >= 0x80 }) {
				t.Errorf("SevenBit message holds 8-bit data")
			}
			if tt.unwrapped != "" && !bytes.Contains(raw, []byte("\r\n"+tt.unwrapped+"\r\n")) {
				t.Errorf("raw message does not hold %.20q… on a line of its own:\n%s", tt.unwrapped, raw)
			}
		})
	}
}

func TestComposeEncodedHeaders(t *testing.T) {
	tests := []struct {
		name    string
		subject string
		to      mail.Address
	}{
		{"ASCII", "Verify your email address", mail.Address{Name: "Alice Liddell", Email: "alice@example.com"}},
		{"German", "Grüße aus Köln", mail.Address{Name: "Jürgen Groß", Email: "juergen@example.de"}},
		{"Japanese", "山田さん、メールアドレスを確認してください", mail.Address{Name: "山田 太郎", Email: "yamada@example.jp"}},
		{"specials in name", `Re: "quoted" (comment) <angle>`, mail.Address{Name: `Doe, John "JD" <x@y>`, Email: "john@example.com"}},
		{"non-ASCII specials", "Grüße: (1/2)", mail.Address{Name: "Groß, Jürgen (QA)", Email: "jg@example.com"}},
		{"encoded-word look-alike", "=?utf-8?q?x?= and a long tail to split it " + strings.Repeat("=?", 40), mail.Address{Name: "=?utf-8?q?Mallory?=", Email: "m@example.com"}},
		{"no name", "Hi", mail.Address{Email: "bob@example.com"}},
		{"international address", "Grüße", mail.Address{Name: "Jürgen", Email: "jürgen@bücher.example"}},
		{"long non-ASCII", strings.Repeat("Grüße aus Köln ", 50), mail.Address{Name: strings.Repeat("山田", 40), Email: "yamada@example.jp"}},
		{"long ASCII", strings.Repeat("word ", 150) + "end", mail.Address{Name: strings.Repeat("Name ", 50), Email: "n@example.com"}},
		{"unfoldable ASCII", strings.Repeat("x", mail.MaxSubjectLen), mail.Address{Name: strings.Repeat(`"`, mail.MaxNameLen), Email: strings.Repeat("l", 64) + "@" + strings.Repeat("d", 63) + "." + strings.Repeat("e", 63) + "." + strings.Repeat("f", 61)}},
		{"unfoldable non-ASCII", strings.Repeat("ü", mail.MaxSubjectLen/2), mail.Address{Name: strings.Repeat("ß", mail.MaxNameLen/2), Email: "s@example.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := validMessage()
			m.Subject = tt.subject
			m.To = []mail.Address{tt.to, alice}
			raw := compose(t, m, mail.ComposeOptions{})
			if i := bytes.Index(raw, []byte("\r\n\r\n")); bytes.ContainsFunc(raw[:i], func(r rune) bool { return r > '~' }) && !strings.Contains(tt.to.Email, "ü") {
				t.Errorf("header has raw non-ASCII bytes:\n%s", raw[:i])
			}
			p := parse(t, raw)
			if p.subject != tt.subject {
				t.Errorf("subject = %q, want %q", p.subject, tt.subject)
			}
			if len(p.to) != 2 {
				t.Fatalf("To has %d addresses, want 2", len(p.to))
			}
			if p.to[0].Name != tt.to.Name || p.to[0].Address != tt.to.Email {
				t.Errorf("To[0] = %q <%s>, want %q <%s>", p.to[0].Name, p.to[0].Address, tt.to.Name, tt.to.Email)
			}
			if p.to[1].Name != alice.Name || p.to[1].Address != alice.Email {
				t.Errorf("To[1] = %v, want %v", p.to[1], alice)
			}
		})
	}
}

func TestComposeFoldsLongHeaders(t *testing.T) {
	m := validMessage()
	m.To = nil
	for i := range 40 {
		m.To = append(m.To, mail.Address{Name: "Recipient Number " + strings.Repeat("x", i%7), Email: "r" + strings.Repeat("1", i) + "@example.com"})
	}
	m.Subject = strings.Repeat("A subject that goes on ", 20) + "and on"
	raw := compose(t, m, mail.ComposeOptions{})
	header := raw[:bytes.Index(raw, []byte("\r\n\r\n"))]
	for _, line := range strings.Split(string(header), "\r\n") {
		if len(line) > 78 {
			t.Errorf("header line of %d octets, want at most 78: %q", len(line), line)
		}
		if strings.TrimSpace(line) == "" {
			t.Errorf("blank header line")
		}
	}
	p := parse(t, raw)
	if len(p.to) != len(m.To) {
		t.Fatalf("To has %d addresses, want %d", len(p.to), len(m.To))
	}
	for i, a := range p.to {
		if a.Name != m.To[i].Name || a.Address != m.To[i].Email {
			t.Errorf("To[%d] = %v, want %v", i, a, m.To[i])
		}
	}
	if p.subject != m.Subject {
		t.Errorf("subject = %q, want %q", p.subject, m.Subject)
	}
}

func TestComposeOptions(t *testing.T) {
	t.Run("DefaultFrom when From is empty", func(t *testing.T) {
		m := validMessage()
		m.From = mail.Address{}
		p := parse(t, compose(t, m, mail.ComposeOptions{DefaultFrom: sender}))
		if p.from[0].Address != sender.Email || p.from[0].Name != sender.Name {
			t.Errorf("From = %v, want %v", p.from[0], sender)
		}
	})
	t.Run("From wins over DefaultFrom", func(t *testing.T) {
		m := validMessage()
		p := parse(t, compose(t, m, mail.ComposeOptions{DefaultFrom: mail.Address{Email: "other@example.net"}}))
		if p.from[0].Address != sender.Email {
			t.Errorf("From = %v, want %v", p.from[0], sender)
		}
	})
	t.Run("no sender at all", func(t *testing.T) {
		m := validMessage()
		m.From = mail.Address{}
		var b bytes.Buffer
		if err := mail.Compose(&b, m, mail.ComposeOptions{}); !errors.Is(err, mail.ErrInvalidMessage) {
			t.Errorf("Compose = %v, want ErrInvalidMessage", err)
		}
		if b.Len() != 0 {
			t.Errorf("Compose wrote %d bytes on error", b.Len())
		}
	})
	t.Run("invalid DefaultFrom", func(t *testing.T) {
		m := validMessage()
		m.From = mail.Address{}
		err := mail.Compose(io.Discard, m, mail.ComposeOptions{DefaultFrom: mail.Address{Name: "x\r\nBcc: a@b.c", Email: "a@b.c"}})
		if !errors.Is(err, mail.ErrInvalidMessage) {
			t.Errorf("Compose = %v, want ErrInvalidMessage", err)
		}
	})
	t.Run("MessageIDDomain", func(t *testing.T) {
		p := parse(t, compose(t, validMessage(), mail.ComposeOptions{MessageIDDomain: "mail.example.net"}))
		if id := p.header.Get("Message-ID"); !strings.HasSuffix(id, "@mail.example.net>") {
			t.Errorf("Message-ID = %q, want it @mail.example.net", id)
		}
	})
	t.Run("invalid MessageIDDomain", func(t *testing.T) {
		err := mail.Compose(io.Discard, validMessage(), mail.ComposeOptions{MessageIDDomain: "a>b\r\nBcc: x"})
		if !errors.Is(err, mail.ErrInvalidMessage) {
			t.Errorf("Compose = %v, want ErrInvalidMessage", err)
		}
	})
	t.Run("zero Date is now", func(t *testing.T) {
		before := time.Now().Truncate(time.Second)
		p := parse(t, compose(t, validMessage(), mail.ComposeOptions{}))
		after := time.Now()
		got, err := p.header.Date()
		if err != nil || got.Before(before) || got.After(after) {
			t.Errorf("Date = %v (%v), want between %v and %v", got, err, before, after)
		}
	})
	t.Run("Rand makes output deterministic", func(t *testing.T) {
		m := validMessage()
		m.HTML = "<p>hi</p>"
		opt := func(seed byte) mail.ComposeOptions {
			return mail.ComposeOptions{Date: date, Rand: bytes.NewReader(bytes.Repeat([]byte{seed}, 64))}
		}
		a, b, c := compose(t, m, opt(1)), compose(t, m, opt(1)), compose(t, m, opt(2))
		if !bytes.Equal(a, b) {
			t.Errorf("same Rand and Date gave different messages")
		}
		if bytes.Equal(a, c) {
			t.Errorf("different Rand gave the same message")
		}
		if !bytes.Contains(a, []byte("<01010101010101010101010101010101@example.org>")) {
			t.Errorf("Message-ID not taken from Rand:\n%s", a)
		}
	})
	t.Run("crypto/rand makes IDs unique", func(t *testing.T) {
		seen := map[string]bool{}
		for range 100 {
			p := parse(t, compose(t, validMessage(), mail.ComposeOptions{}))
			id := p.header.Get("Message-ID")
			if seen[id] {
				t.Fatalf("Message-ID %s repeated", id)
			}
			seen[id] = true
		}
	})
	t.Run("Rand failure", func(t *testing.T) {
		var b bytes.Buffer
		err := mail.Compose(&b, validMessage(), mail.ComposeOptions{Rand: bytes.NewReader(nil)})
		if !errors.Is(err, io.EOF) {
			t.Errorf("Compose = %v, want an error wrapping io.EOF", err)
		}
		if b.Len() != 0 {
			t.Errorf("Compose wrote %d bytes on error", b.Len())
		}
	})
	t.Run("writer error", func(t *testing.T) {
		errWrite := errors.New("disk full")
		if err := mail.Compose(failingWriter{errWrite}, validMessage(), mail.ComposeOptions{}); !errors.Is(err, errWrite) {
			t.Errorf("Compose = %v, want %v", err, errWrite)
		}
	})
}

type failingWriter struct{ err error }

func (w failingWriter) Write([]byte) (int, error) { return 0, w.err }

func TestValidate(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	tests := []struct {
		name   string
		modify func(*mail.Message)
		ok     bool
	}{
		{"valid", func(*mail.Message) {}, true},
		{"valid without From", func(m *mail.Message) { m.From = mail.Address{} }, true},
		{"valid with HTML", func(m *mail.Message) { m.HTML = "<p>x</p>" }, true},
		{"valid plus address", func(m *mail.Message) { m.To[0].Email = "a.b+tag@sub.example.com" }, true},
		{"valid atext", func(m *mail.Message) { m.To[0].Email = "!#$%&'*+-/=?^_`{|}~@example.com" }, true},
		{"valid single-label domain", func(m *mail.Message) { m.To[0].Email = "root@localhost" }, true},
		{"valid international", func(m *mail.Message) { m.To[0].Email = "用户@例子.广告" }, true},
		{"valid longest", func(m *mail.Message) {
			m.To[0] = mail.Address{Name: long(mail.MaxNameLen), Email: long(64) + "@" + long(63) + "." + long(63) + "." + long(61)}
			m.Subject = long(mail.MaxSubjectLen)
		}, true},

		{"no To", func(m *mail.Message) { m.To = nil }, false},
		{"empty To address", func(m *mail.Message) { m.To = []mail.Address{{}} }, false},
		{"second To invalid", func(m *mail.Message) { m.To = append(m.To, mail.Address{Email: "nope"}) }, false},
		{"no at", func(m *mail.Message) { m.To[0].Email = "alice.example.com" }, false},
		{"empty local part", func(m *mail.Message) { m.To[0].Email = "@example.com" }, false},
		{"empty domain", func(m *mail.Message) { m.To[0].Email = "alice@" }, false},
		{"two ats", func(m *mail.Message) { m.To[0].Email = "a@b@example.com" }, false},
		{"space in local part", func(m *mail.Message) { m.To[0].Email = "a b@example.com" }, false},
		{"space in domain", func(m *mail.Message) { m.To[0].Email = "a@exa mple.com" }, false},
		{"leading dot", func(m *mail.Message) { m.To[0].Email = ".a@example.com" }, false},
		{"double dot", func(m *mail.Message) { m.To[0].Email = "a..b@example.com" }, false},
		{"trailing dot in domain", func(m *mail.Message) { m.To[0].Email = "a@example.com." }, false},
		{"hyphen label", func(m *mail.Message) { m.To[0].Email = "a@-example.com" }, false},
		{"domain literal", func(m *mail.Message) { m.To[0].Email = "a@[127.0.0.1]" }, false},
		{"quoted local part", func(m *mail.Message) { m.To[0].Email = `"a b"@example.com` }, false},
		{"angle brackets", func(m *mail.Message) { m.To[0].Email = "<a@example.com>" }, false},
		{"comma list", func(m *mail.Message) { m.To[0].Email = "a@example.com,b@example.com" }, false},
		{"NUL", func(m *mail.Message) { m.To[0].Email = "a\x00@example.com" }, false},
		{"no-break space", func(m *mail.Message) { m.To[0].Email = "a\u00a0b@example.com" }, false},
		{"invalid UTF-8 address", func(m *mail.Message) { m.To[0].Email = "a\xff@example.com" }, false},
		{"local part too long", func(m *mail.Message) { m.To[0].Email = long(65) + "@example.com" }, false},
		{"label too long", func(m *mail.Message) { m.To[0].Email = "a@" + long(64) + ".com" }, false},
		{"address too long", func(m *mail.Message) { m.To[0].Email = long(64) + "@" + long(63) + "." + long(63) + "." + long(62) }, false},
		{"name too long", func(m *mail.Message) { m.To[0].Name = long(mail.MaxNameLen + 1) }, false},
		{"From name only", func(m *mail.Message) { m.From = mail.Address{Name: "Example"} }, false},
		{"From invalid", func(m *mail.Message) { m.From.Email = "nope" }, false},
		{"empty Subject", func(m *mail.Message) { m.Subject = "" }, false},
		{"Subject too long", func(m *mail.Message) { m.Subject = long(mail.MaxSubjectLen + 1) }, false},
		{"Subject with tab", func(m *mail.Message) { m.Subject = "a\tb" }, false},
		{"Subject with DEL", func(m *mail.Message) { m.Subject = "a\x7fb" }, false},
		{"Subject invalid UTF-8", func(m *mail.Message) { m.Subject = "a\xffb" }, false},
		{"empty Text", func(m *mail.Message) { m.Text = "" }, false},
		{"Text invalid UTF-8", func(m *mail.Message) { m.Text = "a\xffb" }, false},
		{"HTML invalid UTF-8", func(m *mail.Message) { m.HTML = "a\xffb" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := validMessage()
			m.To = []mail.Address{alice}
			tt.modify(&m)
			err := m.Validate()
			if tt.ok {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				parse(t, compose(t, m, mail.ComposeOptions{DefaultFrom: sender}))
				return
			}
			if !errors.Is(err, mail.ErrInvalidMessage) {
				t.Fatalf("Validate = %v, want ErrInvalidMessage", err)
			}
			var b bytes.Buffer
			if err := mail.Compose(&b, m, mail.ComposeOptions{DefaultFrom: sender}); !errors.Is(err, mail.ErrInvalidMessage) || b.Len() != 0 {
				t.Errorf("Compose = %v after writing %d bytes, want ErrInvalidMessage and nothing written", err, b.Len())
			}
		})
	}
}

// A CR or LF anywhere in a header value would start a new header: Validate
// refuses it, Compose writes nothing, and the error does not echo the value.
func TestHeaderInjection(t *testing.T) {
	const payload = "\r\nBcc: mallory@evil.example"
	tests := []struct {
		name   string
		modify func(*mail.Message)
	}{
		{"Subject CRLF", func(m *mail.Message) { m.Subject += payload }},
		{"Subject LF", func(m *mail.Message) { m.Subject += "\nBcc: mallory@evil.example" }},
		{"Subject CR", func(m *mail.Message) { m.Subject += "\rBcc: mallory@evil.example" }},
		{"To name", func(m *mail.Message) { m.To[0].Name += payload }},
		{"To address", func(m *mail.Message) { m.To[0].Email += payload }},
		{"To address LF", func(m *mail.Message) { m.To[0].Email = "alice@example.com\nBcc: mallory@evil.example" }},
		{"From name", func(m *mail.Message) { m.From.Name += payload }},
		{"From address", func(m *mail.Message) { m.From.Email += payload }},
		{"second To", func(m *mail.Message) {
			m.To = append(m.To, mail.Address{Name: "Bob" + payload, Email: "bob@example.com"})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := validMessage()
			m.To = []mail.Address{alice}
			tt.modify(&m)
			err := m.Validate()
			if !errors.Is(err, mail.ErrInvalidMessage) {
				t.Fatalf("Validate = %v, want ErrInvalidMessage", err)
			}
			if strings.Contains(err.Error(), "mallory") {
				t.Errorf("error repeats the value: %v", err)
			}
			var b bytes.Buffer
			if err := mail.Compose(&b, m, mail.ComposeOptions{}); !errors.Is(err, mail.ErrInvalidMessage) {
				t.Errorf("Compose = %v, want ErrInvalidMessage", err)
			}
			if b.Len() != 0 {
				t.Errorf("Compose wrote %d bytes", b.Len())
			}
		})
	}
	t.Run("header-like text without a line break stays in its header", func(t *testing.T) {
		m := validMessage()
		m.Subject = "Hi Bcc: mallory@evil.example"
		m.To[0].Name = "Alice Bcc: mallory@evil.example"
		p := parse(t, compose(t, m, mail.ComposeOptions{}))
		if p.header.Get("Bcc") != "" || p.subject != m.Subject || p.to[0].Name != m.To[0].Name {
			t.Errorf("Bcc = %q, subject = %q, name = %q", p.header.Get("Bcc"), p.subject, p.to[0].Name)
		}
	})
}

func TestAddressString(t *testing.T) {
	tests := []struct {
		a    mail.Address
		want string
	}{
		{mail.Address{Email: "alice@example.com"}, "<alice@example.com>"},
		{mail.Address{Name: "Alice Liddell", Email: "alice@example.com"}, `"Alice Liddell" <alice@example.com>`},
		{mail.Address{Name: `Al "Ice"`, Email: "alice@example.com"}, `"Al \"Ice\"" <alice@example.com>`},
		{mail.Address{Name: "Grüße", Email: "g@example.com"}, "=?utf-8?q?Gr=C3=BC=C3=9Fe?= <g@example.com>"},
		{mail.Address{Name: "山田", Email: "yamada@example.jp"}, "=?utf-8?q?=E5=B1=B1=E7=94=B0?= <yamada@example.jp>"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			got := tt.a.String()
			if got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			back, err := netmail.ParseAddress(got)
			if err != nil || back.Name != tt.a.Name || back.Address != tt.a.Email {
				t.Errorf("ParseAddress(%q) = %v, %v; want %v", got, back, err, tt.a)
			}
		})
	}
}

// FuzzCompose checks that every message Validate accepts composes into a
// well-formed message that reads back to the same subject, name, address
// and text.
func FuzzCompose(f *testing.F) {
	f.Add("Grüße", "山田 太郎", "yamada@example.jp", "Hello\nworld\n", "")
	f.Add("Subject", `Doe, John "JD"`, "john@example.com", "x", "<p>x</p>")
	f.Add("a\r\nBcc: x@y", "n", "a@b", "t", "")
	f.Add(strings.Repeat("=?utf-8?q?", 20), strings.Repeat("\"\\", 40), "a@b.c", "\r\r\n\n", "=\r")
	f.Fuzz(func(t *testing.T, subject, name, email, text, html string) {
		m := mail.Message{To: []mail.Address{{Name: name, Email: email}}, Subject: subject, Text: text, HTML: html}
		if m.Validate() != nil {
			var b bytes.Buffer
			if err := mail.Compose(&b, m, mail.ComposeOptions{DefaultFrom: sender}); err == nil || b.Len() != 0 {
				t.Fatalf("Compose accepted a message Validate refused")
			}
			return
		}
		p := parse(t, compose(t, m, mail.ComposeOptions{DefaultFrom: sender}))
		if p.subject != subject && strings.TrimSpace(p.subject) != strings.TrimSpace(subject) {
			t.Errorf("subject = %q, want %q", p.subject, subject)
		}
		if len(p.to) != 1 || p.to[0].Address != email {
			t.Fatalf("To = %v, want %q", p.to, email)
		}
		if p.to[0].Name != name && strings.TrimSpace(p.to[0].Name) != strings.TrimSpace(name) {
			t.Errorf("name = %q, want %q", p.to[0].Name, name)
		}
		if p.text != crlf(text) {
			t.Errorf("text = %q, want %q", p.text, crlf(text))
		}
		if p.html != crlf(html) {
			t.Errorf("html = %q, want %q", p.html, crlf(html))
		}
	})
}
