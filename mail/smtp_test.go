package mail_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/mail"
)

var _ auth.Mailer = (*mail.SMTP)(nil)

const (
	smtpUser     = "mailer@example.org"
	smtpPassword = "Corr3ct-Horse-SMTP"
)

// clientConfig returns an SMTPConfig for s that trusts its certificate.
func clientConfig(s *sink, mode mail.TLSMode) mail.SMTPConfig {
	cfg := mail.SMTPConfig{Addr: s.Addr, From: sender, TLS: mode}
	if mode != mail.TLSNone {
		cfg.TLSConfig = &tls.Config{RootCAs: s.RootCAs}
	}
	return cfg
}

func newSMTP(tb testing.TB, cfg mail.SMTPConfig) *mail.SMTP {
	tb.Helper()
	c, err := mail.NewSMTP(cfg)
	if err != nil {
		tb.Fatalf("NewSMTP: %v", err)
	}
	return c
}

// renderedMail is what the Templates render for a recipient with a
// non-ASCII display name: both parts, secrets in the bodies.
func renderedMail(tb testing.TB) mail.Message {
	tb.Helper()
	d := fullData(mail.KindVerifyEmail)
	d.To = mail.Address{Name: "Jürgen Groß", Email: "juergen@example.com"}
	return render(tb, mail.DefaultTemplates(), d)
}

// checkDelivered fails unless got is m as Compose writes it: the envelope,
// the headers and both decoded bodies.
func checkDelivered(tb testing.TB, got received, m mail.Message, from mail.Address) {
	tb.Helper()
	var rcpts []string
	for _, a := range m.To {
		rcpts = append(rcpts, a.Email)
	}
	if got.From != from.Email || !slices.Equal(got.To, rcpts) {
		tb.Errorf("envelope from %q to %q, want from %q to %q", got.From, got.To, from.Email, rcpts)
	}
	p := parse(tb, got.Data)
	if len(p.from) != 1 || p.from[0].Name != from.Name || p.from[0].Address != from.Email {
		tb.Errorf("From = %v, want %v", p.from, from)
	}
	if len(p.to) != len(m.To) {
		tb.Fatalf("To = %v, want %v", p.to, m.To)
	}
	for i, a := range m.To {
		if p.to[i].Name != a.Name || p.to[i].Address != a.Email {
			tb.Errorf("To[%d] = %v, want %v", i, p.to[i], a)
		}
	}
	if p.subject != m.Subject {
		tb.Errorf("Subject = %q, want %q", p.subject, m.Subject)
	}
	if !regexp.MustCompile(`^<[0-9a-f]{32}@example\.org>$`).MatchString(p.header.Get("Message-ID")) {
		tb.Errorf("Message-ID = %q", p.header.Get("Message-ID"))
	}
	if _, err := p.header.Date(); err != nil {
		tb.Errorf("Date %q: %v", p.header.Get("Date"), err)
	}
	if got := p.header.Get("Auto-Submitted"); got != "auto-generated" {
		tb.Errorf("Auto-Submitted = %q", got)
	}
	if p.text != crlf(m.Text) {
		tb.Errorf("text part = %q,\nwant %q", p.text, crlf(m.Text))
	}
	if p.html != crlf(m.HTML) {
		tb.Errorf("html part = %q,\nwant %q", p.html, crlf(m.HTML))
	}
	if want := map[bool]int{false: 1, true: 2}[m.HTML != ""]; p.parts != want {
		tb.Errorf("%d MIME parts, want %d", p.parts, want)
	}
}

func TestSMTPDelivers(t *testing.T) {
	withCreds := func(c *mail.SMTPConfig) { c.Username, c.Password = smtpUser, smtpPassword }
	tests := []struct {
		name     string
		opt      sinkOptions
		mode     mail.TLSMode
		edit     func(*mail.SMTPConfig)
		wantTLS  bool
		wantMech string
		wantHelo string
	}{
		{
			name:     "STARTTLS, PLAIN preferred to LOGIN",
			opt:      sinkOptions{TLS: sinkSTARTTLS, Mechs: []string{"LOGIN", "PLAIN"}, Username: smtpUser, Password: smtpPassword},
			mode:     mail.TLSStartTLS,
			edit:     withCreds,
			wantTLS:  true,
			wantMech: "PLAIN",
		},
		{
			name:     "STARTTLS, LOGIN when it is the only one",
			opt:      sinkOptions{TLS: sinkSTARTTLS, Mechs: []string{"LOGIN"}, Username: smtpUser, Password: smtpPassword},
			mode:     mail.TLSStartTLS,
			edit:     withCreds,
			wantTLS:  true,
			wantMech: "LOGIN",
		},
		{
			name:     "implicit TLS with PLAIN",
			opt:      sinkOptions{TLS: sinkImplicit, Mechs: []string{"PLAIN"}, Username: smtpUser, Password: smtpPassword},
			mode:     mail.TLSImplicit,
			edit:     withCreds,
			wantTLS:  true,
			wantMech: "PLAIN",
		},
		{
			name:    "STARTTLS without credentials",
			opt:     sinkOptions{TLS: sinkSTARTTLS, Mechs: []string{"PLAIN"}},
			mode:    mail.TLSStartTLS,
			wantTLS: true,
		},
		{
			name:     "plain text to loopback with PLAIN",
			opt:      sinkOptions{TLS: sinkPlain, Mechs: []string{"PLAIN"}, AllowInsecureAuth: true, Username: smtpUser, Password: smtpPassword},
			mode:     mail.TLSNone,
			edit:     withCreds,
			wantMech: "PLAIN",
		},
		{
			name: "plain text without credentials",
			opt:  sinkOptions{TLS: sinkPlain},
			mode: mail.TLSNone,
		},
		{
			name:     "configured HELO name",
			opt:      sinkOptions{TLS: sinkSTARTTLS},
			mode:     mail.TLSStartTLS,
			edit:     func(c *mail.SMTPConfig) { c.HelloName = "app1.example.org" },
			wantTLS:  true,
			wantHelo: "app1.example.org",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startSink(t, tt.opt)
			cfg := clientConfig(s, tt.mode)
			if tt.edit != nil {
				tt.edit(&cfg)
			}
			m := renderedMail(t)
			if err := newSMTP(t, cfg).Send(t.Context(), m); err != nil {
				t.Fatalf("Send: %v", err)
			}
			mails := s.Mails()
			if len(mails) != 1 {
				t.Fatalf("server received %d messages, want 1", len(mails))
			}
			got := mails[0]
			checkDelivered(t, got, m, sender)
			wantHelo := tt.wantHelo
			if wantHelo == "" {
				wantHelo = "[127.0.0.1]"
			}
			if got.TLS != tt.wantTLS || got.AuthMech != tt.wantMech || got.Hello != wantHelo {
				t.Errorf("TLS %v, AUTH %q, HELO %q; want %v, %q, %q", got.TLS, got.AuthMech, got.Hello, tt.wantTLS, tt.wantMech, wantHelo)
			}
			if tt.wantMech != "" && got.AuthUser != smtpUser {
				t.Errorf("authenticated as %q, want %q", got.AuthUser, smtpUser)
			}
			// Non-ASCII display names travel as RFC 2047 encoded-words;
			// the header holds no raw 8-bit byte.
			header := got.Data[:bytes.Index(got.Data, []byte("\r\n\r\n"))]
			if !bytes.Contains(header, []byte("To: =?utf-8?q?J=C3=BCrgen_Gro=C3=9F?= <juergen@example.com>")) {
				t.Errorf("To header not encoded as expected:\n%s", header)
			}
			for i, c := range header {
				if c >= 0x80 {
					t.Fatalf("raw 8-bit byte in the header at %d:\n%s", i, header)
				}
			}
		})
	}
}

// A message's own From is both the header and the envelope sender.
func TestSMTPMessageFrom(t *testing.T) {
	s := startSink(t, sinkOptions{TLS: sinkSTARTTLS})
	m := renderedMail(t)
	m.From = mail.Address{Name: "Wonderland Support", Email: "support@example.org"}
	if err := newSMTP(t, clientConfig(s, mail.TLSStartTLS)).Send(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	checkDelivered(t, s.Mails()[0], m, m.From)
}

// Lines that start with a dot survive the DATA transparency procedure (RFC
// 5321 §4.5.2), and a plain-text message arrives as a single part.
func TestSMTPDotLines(t *testing.T) {
	// The first text goes 7bit, the second (without a final line break)
	// quoted-printable.
	for i, text := range []string{".\n..\n.leading dot\n\r\n.\r\nend\n", ".\n..\n.leading dot\n\r\n.\r\nend"} {
		s := startSink(t, sinkOptions{TLS: sinkSTARTTLS})
		m := validMessage()
		m.Text = text
		if err := newSMTP(t, clientConfig(s, mail.TLSStartTLS)).Send(t.Context(), m); err != nil {
			t.Fatal(err)
		}
		got := s.Mails()[0]
		checkDelivered(t, got, m, sender)
		if want := []string{"7bit", "quoted-printable"}[i]; parse(t, got.Data).textCTE != want {
			t.Errorf("text %q went %s, want %s", text, parse(t, got.Data).textCTE, want)
		}
	}
}

// Bodies that are not ASCII go 8bit, with BODY=8BITMIME, to a server that
// offers 8BITMIME (RFC 6152), and quoted-printable to one that does not;
// ASCII bodies go 7bit to both. Tokens and links arrive whole either way.
func TestSMTP8BitMIME(t *testing.T) {
	ascii := render(t, mail.DefaultTemplates(), fullData(mail.KindVerifyEmail))
	german := fullData(mail.KindVerifyEmail)
	german.Locale = "de"
	utf8 := render(t, mail.DefaultTemplates(), german)
	tests := []struct {
		name     string
		no8bit   bool
		m        mail.Message
		wantBody string // MAIL FROM's BODY parameter
		wantCTE  string // of both parts
	}{
		{"UTF-8 with 8BITMIME", false, utf8, "8BITMIME", "8bit"},
		{"UTF-8 without 8BITMIME", true, utf8, "", "quoted-printable"},
		{"ASCII with 8BITMIME", false, ascii, "8BITMIME", "7bit"},
		{"ASCII without 8BITMIME", true, ascii, "", "7bit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startSink(t, sinkOptions{TLS: sinkPlain, No8BitMIME: tt.no8bit})
			if err := newSMTP(t, clientConfig(s, mail.TLSNone)).Send(t.Context(), tt.m); err != nil {
				t.Fatal(err)
			}
			got := s.Mails()[0]
			checkDelivered(t, got, tt.m, sender)
			if got.Body != tt.wantBody {
				t.Errorf("BODY = %q, want %q", got.Body, tt.wantBody)
			}
			p := parse(t, got.Data)
			if p.textCTE != tt.wantCTE || p.htmlCTE != tt.wantCTE {
				t.Errorf("transfer encodings: text %q, html %q; want %q", p.textCTE, p.htmlCTE, tt.wantCTE)
			}
			if tt.no8bit && bytes.ContainsFunc(got.Data, func(r rune) bool { return r >= 0x80 }) {
				t.Errorf("8-bit data sent to a server without 8BITMIME")
			}
		})
	}
}

// Non-ASCII addresses need SMTPUTF8 (RFC 6531); with it, they arrive as
// they are, in the envelope and in the headers (RFC 6532).
func TestSMTPUTF8(t *testing.T) {
	s := startSink(t, sinkOptions{TLS: sinkSTARTTLS, SMTPUTF8: true})
	m := renderedMail(t)
	m.To = []mail.Address{{Name: "Jürgen", Email: "jürgen@bücher.example"}}
	if err := newSMTP(t, clientConfig(s, mail.TLSStartTLS)).Send(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	got := s.Mails()[0]
	if !got.UTF8 {
		t.Errorf("MAIL FROM lacked the SMTPUTF8 parameter")
	}
	checkDelivered(t, got, m, sender)
}

func TestSMTPRefuses(t *testing.T) {
	withCreds := func(c *mail.SMTPConfig) { c.Username, c.Password = smtpUser, smtpPassword }
	authed := sinkOptions{TLS: sinkSTARTTLS, Mechs: []string{"PLAIN"}, Username: smtpUser, Password: "another password"}
	failOn := func(cmd string, code int) func(int, string, string) error {
		return func(_ int, c, _ string) error {
			if c == cmd {
				return replyError(code)
			}
			return nil
		}
	}
	isCertError := func(tb testing.TB, err error) {
		tb.Helper()
		var ce *tls.CertificateVerificationError
		if !errors.As(err, &ce) {
			tb.Errorf("error %v is not a certificate verification error", err)
		}
	}
	tests := []struct {
		name string
		opt  sinkOptions
		mode mail.TLSMode
		edit func(*mail.SMTPConfig)
		msg  func(*mail.Message)
		// want is matched with errors.Is; check, when set, checks more.
		want      error
		check     func(testing.TB, error)
		permanent bool
		// op and code, when code is set, are the *SMTPError expected.
		op   string
		code int
		// commands are the transaction commands the server saw.
		commands []string
	}{
		{
			// SECURITY: never a silent fallback to plain text.
			name: "no STARTTLS offered", opt: sinkOptions{TLS: sinkPlain, Mechs: []string{"PLAIN"}, AllowInsecureAuth: true},
			mode: mail.TLSStartTLS, edit: withCreds, want: mail.ErrSTARTTLSUnavailable, permanent: true,
		},
		{
			name: "untrusted certificate", opt: sinkOptions{TLS: sinkSTARTTLS},
			mode: mail.TLSStartTLS, edit: func(c *mail.SMTPConfig) { c.TLSConfig = nil }, check: isCertError,
		},
		{
			name: "certificate for another name", opt: sinkOptions{TLS: sinkImplicit},
			mode: mail.TLSImplicit, edit: func(c *mail.SMTPConfig) { c.TLSConfig.ServerName = "mail.example.net" }, check: isCertError,
		},
		{
			name: "implicit TLS to a plain-text server", opt: sinkOptions{TLS: sinkPlain},
			mode: mail.TLSImplicit,
			check: func(tb testing.TB, err error) {
				var rh tls.RecordHeaderError
				if !errors.As(err, &rh) {
					tb.Errorf("error %v is not a TLS record header error", err)
				}
			},
		},
		{
			name: "no AUTH mechanism offered", opt: sinkOptions{TLS: sinkSTARTTLS},
			mode: mail.TLSStartTLS, edit: withCreds, want: mail.ErrAuthUnavailable, permanent: true,
		},
		{
			name: "only an unsupported AUTH mechanism", opt: sinkOptions{TLS: sinkSTARTTLS, Mechs: []string{"CRAM-MD5"}},
			mode: mail.TLSStartTLS, edit: withCreds, want: mail.ErrAuthUnavailable, permanent: true,
		},
		{
			name: "wrong password with PLAIN", opt: authed,
			mode: mail.TLSStartTLS, edit: withCreds, permanent: true, op: "AUTH", code: 535,
		},
		{
			name: "wrong password with LOGIN", opt: sinkOptions{TLS: sinkSTARTTLS, Mechs: []string{"LOGIN"}, Username: smtpUser, Password: "another password"},
			mode: mail.TLSStartTLS, edit: withCreds, permanent: true, op: "AUTH", code: 535,
		},
		{
			// The reply echoes the credentials; the error must not.
			name: "server echoes the credentials",
			opt: sinkOptions{TLS: sinkSTARTTLS, Mechs: []string{"PLAIN"}, Username: smtpUser, Password: "another password",
				AuthReply: &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "bad password " + smtpPassword +
					" in " + base64.StdEncoding.EncodeToString([]byte("\x00"+smtpUser+"\x00"+smtpPassword))}},
			mode: mail.TLSStartTLS, edit: withCreds, permanent: true, op: "AUTH", code: 535,
		},
		{
			name: "non-ASCII address without SMTPUTF8", opt: sinkOptions{TLS: sinkSTARTTLS},
			mode: mail.TLSStartTLS, msg: func(m *mail.Message) { m.To[0].Email = "jürgen@example.com" },
			want: mail.ErrSMTPUTF8Unavailable, permanent: true,
		},
		{
			name: "session refused", opt: sinkOptions{TLS: sinkSTARTTLS, RefuseSessions: true},
			mode: mail.TLSStartTLS, op: "EHLO", code: 421,
		},
		{
			name: "temporary failure at MAIL", opt: sinkOptions{TLS: sinkSTARTTLS, Fail: failOn("MAIL", 451)},
			mode: mail.TLSStartTLS, op: "MAIL", code: 451, commands: []string{"MAIL"},
		},
		{
			name: "permanent failure at RCPT", opt: sinkOptions{TLS: sinkSTARTTLS, Fail: failOn("RCPT", 550)},
			mode: mail.TLSStartTLS, permanent: true, op: "RCPT", code: 550, commands: []string{"MAIL", "RCPT"},
		},
		{
			name: "one of two recipients refused",
			opt: sinkOptions{TLS: sinkSTARTTLS, Fail: func(_ int, cmd, arg string) error {
				if cmd == "RCPT" && arg == "bob@example.com" {
					return replyError(550)
				}
				return nil
			}},
			mode: mail.TLSStartTLS, msg: func(m *mail.Message) { m.To = append(m.To, mail.Address{Email: "bob@example.com"}) },
			permanent: true, op: "RCPT", code: 550, commands: []string{"MAIL", "RCPT", "RCPT"},
		},
		{
			name: "temporary failure after DATA", opt: sinkOptions{TLS: sinkSTARTTLS, Fail: failOn("DATA", 452)},
			mode: mail.TLSStartTLS, op: "DATA", code: 452, commands: []string{"MAIL", "RCPT", "DATA"},
		},
		{
			name: "permanent failure after DATA", opt: sinkOptions{TLS: sinkSTARTTLS, Fail: failOn("DATA", 554)},
			mode: mail.TLSStartTLS, permanent: true, op: "DATA", code: 554, commands: []string{"MAIL", "RCPT", "DATA"},
		},
		{
			name: "invalid message", opt: sinkOptions{TLS: sinkSTARTTLS},
			mode: mail.TLSStartTLS, msg: func(m *mail.Message) { m.Subject = "Hi\r\nBcc: mallory@evil.example" },
			want: mail.ErrInvalidMessage,
		},
		{
			name: "no sender", opt: sinkOptions{TLS: sinkSTARTTLS},
			mode: mail.TLSStartTLS, edit: func(c *mail.SMTPConfig) { c.From = mail.Address{} },
			want: mail.ErrInvalidMessage,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startSink(t, tt.opt)
			cfg := clientConfig(s, tt.mode)
			if tt.edit != nil {
				tt.edit(&cfg)
			}
			m := renderedMail(t)
			if tt.msg != nil {
				tt.msg(&m)
			}
			err := newSMTP(t, cfg).Send(t.Context(), m)
			if err == nil {
				t.Fatal("Send succeeded")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("Send = %v, want %v", err, tt.want)
			}
			if tt.check != nil {
				tt.check(t, err)
			}
			if got := errors.Is(err, mail.ErrPermanent); got != tt.permanent {
				t.Errorf("errors.Is(%v, ErrPermanent) = %v, want %v", err, got, tt.permanent)
			}
			var se *mail.SMTPError
			if tt.code != 0 {
				if !errors.As(err, &se) || se.Op != tt.op || se.Code != tt.code {
					t.Fatalf("Send = %#v, want an *SMTPError %s %d", err, tt.op, tt.code)
				}
				if se.Temporary() == tt.permanent {
					t.Errorf("Temporary() = %v for %d", se.Temporary(), se.Code)
				}
			} else if errors.As(err, &se) {
				t.Errorf("Send = %v, an *SMTPError; want none", err)
			}
			if got := s.Commands(); !slices.Equal(got, tt.commands) {
				t.Errorf("server saw %v, want %v", got, tt.commands)
			}
			if n := len(s.Mails()); n != 0 {
				t.Errorf("server accepted %d messages", n)
			}
			if errors.Is(err, mail.ErrInvalidMessage) && s.Conns() != 0 {
				t.Errorf("an invalid message was dialled for")
			}
			// SECURITY.md #63: no body secret and no credential in errors.
			b64 := base64.StdEncoding.EncodeToString([]byte("\x00" + smtpUser + "\x00" + smtpPassword))
			for _, secret := range []string{sentinelToken, sentinelCode, sentinelLink, smtpPassword, b64} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error contains %q: %v", secret, err)
				}
			}
		})
	}
}

func TestSMTPContext(t *testing.T) {
	t.Run("deadline while the server stalls", func(t *testing.T) {
		s := startSink(t, sinkOptions{TLS: sinkSTARTTLS, Stall: make(chan struct{})})
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		err := newSMTP(t, clientConfig(s, mail.TLSStartTLS)).Send(ctx, validMessage())
		if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, mail.ErrPermanent) {
			t.Fatalf("Send = %v, want a temporary context.DeadlineExceeded", err)
		}
		<-s.Stalled // the server did stall in MAIL
	})
	t.Run("Timeout without a context deadline", func(t *testing.T) {
		s := startSink(t, sinkOptions{TLS: sinkSTARTTLS, Stall: make(chan struct{})})
		cfg := clientConfig(s, mail.TLSStartTLS)
		cfg.Timeout = 100 * time.Millisecond
		err := newSMTP(t, cfg).Send(context.Background(), validMessage())
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Send = %v, want context.DeadlineExceeded", err)
		}
		<-s.Stalled
	})
	t.Run("cancel while the server stalls", func(t *testing.T) {
		s := startSink(t, sinkOptions{TLS: sinkSTARTTLS, Stall: make(chan struct{})})
		ctx, cancel := context.WithCancel(t.Context())
		go func() {
			<-s.Stalled
			cancel()
		}()
		err := newSMTP(t, clientConfig(s, mail.TLSStartTLS)).Send(ctx, validMessage())
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Send = %v, want context.Canceled", err)
		}
	})
	t.Run("context done before Send", func(t *testing.T) {
		s := startSink(t, sinkOptions{TLS: sinkSTARTTLS})
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		err := newSMTP(t, clientConfig(s, mail.TLSStartTLS)).Send(ctx, validMessage())
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Send = %v, want context.Canceled", err)
		}
		if s.Conns() != 0 {
			t.Errorf("Send dialled with a done context")
		}
	})
}

// Sends from many goroutines use separate connections; run with -race.
func TestSMTPConcurrentSends(t *testing.T) {
	s := startSink(t, sinkOptions{TLS: sinkSTARTTLS, Mechs: []string{"PLAIN"}, Username: smtpUser, Password: smtpPassword})
	cfg := clientConfig(s, mail.TLSStartTLS)
	cfg.Username, cfg.Password = smtpUser, smtpPassword
	c := newSMTP(t, cfg)
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			for j := range 3 {
				m := validMessage()
				m.Subject = fmt.Sprintf("message %d-%d", i, j)
				if err := c.Send(t.Context(), m); err != nil {
					t.Errorf("Send: %v", err)
				}
			}
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, r := range s.Mails() {
		seen[parse(t, r.Data).subject] = true
	}
	if len(seen) != 18 || s.Conns() != 18 {
		t.Errorf("%d distinct messages over %d connections, want 18 and 18", len(seen), s.Conns())
	}
}

func TestNewSMTP(t *testing.T) {
	valid := []struct {
		name string
		cfg  mail.SMTPConfig
	}{
		{"address only", mail.SMTPConfig{Addr: "smtp.example.com:587"}},
		{"host without port", mail.SMTPConfig{Addr: "smtp.example.com"}},
		{"bracketed IPv6 without port", mail.SMTPConfig{Addr: "[2001:db8::25]", TLS: mail.TLSImplicit}},
		{"everything", mail.SMTPConfig{
			Addr: "smtp.example.com:465", From: sender, Username: "u", Password: "p", TLS: mail.TLSImplicit,
			TLSConfig: &tls.Config{MinVersion: tls.VersionTLS13}, HelloName: "app.example.org", Timeout: time.Second,
		}},
		{"address literal HELO", mail.SMTPConfig{Addr: "smtp.example.com:587", HelloName: "[192.0.2.1]"}},
		{"IPv6 literal HELO", mail.SMTPConfig{Addr: "smtp.example.com:587", HelloName: "[IPv6:2001:db8::1]"}},
		{"plain text relay without credentials", mail.SMTPConfig{Addr: "relay.internal:25", TLS: mail.TLSNone}},
		{"plain text with credentials to localhost", mail.SMTPConfig{Addr: "localhost:1025", TLS: mail.TLSNone, Username: "u", Password: "p"}},
		{"plain text with credentials to ::1", mail.SMTPConfig{Addr: "[::1]:1025", TLS: mail.TLSNone, Username: "u", Password: "p"}},
		{"plain text with credentials to 127.0.0.2", mail.SMTPConfig{Addr: "127.0.0.2:25", TLS: mail.TLSNone, Username: "u", Password: "p"}},
	}
	for _, tt := range valid {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := mail.NewSMTP(tt.cfg); err != nil {
				t.Errorf("NewSMTP = %v", err)
			}
		})
	}
	invalid := []struct {
		name string
		cfg  mail.SMTPConfig
	}{
		{"no address", mail.SMTPConfig{}},
		{"bad port", mail.SMTPConfig{Addr: "smtp.example.com:smtp"}},
		{"port out of range", mail.SMTPConfig{Addr: "smtp.example.com:70000"}},
		{"empty host", mail.SMTPConfig{Addr: ":587"}},
		{"unbracketed IPv6", mail.SMTPConfig{Addr: "2001:db8::25"}},
		{"invalid From", mail.SMTPConfig{Addr: "smtp.example.com:587", From: mail.Address{Email: "not an address"}}},
		{"user without password", mail.SMTPConfig{Addr: "smtp.example.com:587", Username: "u"}},
		{"password without user", mail.SMTPConfig{Addr: "smtp.example.com:587", Password: "p"}},
		{"NUL in password", mail.SMTPConfig{Addr: "smtp.example.com:587", Username: "u", Password: "p\x00q"}},
		{"unknown TLS mode", mail.SMTPConfig{Addr: "smtp.example.com:587", TLS: mail.TLSMode(7)}},
		{"TLSConfig with TLS none", mail.SMTPConfig{Addr: "relay.internal:25", TLS: mail.TLSNone, TLSConfig: &tls.Config{}}},
		// SECURITY: credentials never cross a network in plain text.
		{"credentials in plain text to a remote host", mail.SMTPConfig{Addr: "relay.internal:25", TLS: mail.TLSNone, Username: "u", Password: smtpPassword}},
		{"credentials in plain text to a remote IP", mail.SMTPConfig{Addr: "192.0.2.25:25", TLS: mail.TLSNone, Username: "u", Password: smtpPassword}},
		{"HELO with a space", mail.SMTPConfig{Addr: "smtp.example.com:587", HelloName: "app example"}},
		{"HELO with a line break", mail.SMTPConfig{Addr: "smtp.example.com:587", HelloName: "app\r\nRCPT TO:<x@evil.example>"}},
		{"HELO bad literal", mail.SMTPConfig{Addr: "smtp.example.com:587", HelloName: "[999.1.1.1]"}},
		{"negative timeout", mail.SMTPConfig{Addr: "smtp.example.com:587", Timeout: -time.Second}},
	}
	for _, tt := range invalid {
		t.Run(tt.name, func(t *testing.T) {
			c, err := mail.NewSMTP(tt.cfg)
			if !errors.Is(err, mail.ErrInvalidConfig) || c != nil {
				t.Fatalf("NewSMTP = %v, %v; want ErrInvalidConfig", c, err)
			}
			if tt.cfg.Password != "" && strings.Contains(err.Error(), tt.cfg.Password) {
				t.Errorf("error contains the password: %v", err)
			}
		})
	}
}

// NewSMTP copies the TLS config: changing the caller's afterwards does not
// change what the mailer trusts.
func TestNewSMTPClonesTLSConfig(t *testing.T) {
	s := startSink(t, sinkOptions{TLS: sinkSTARTTLS})
	cfg := clientConfig(s, mail.TLSStartTLS)
	c := newSMTP(t, cfg)
	cfg.TLSConfig.RootCAs = nil
	cfg.TLSConfig.ServerName = "elsewhere.example"
	if err := c.Send(t.Context(), validMessage()); err != nil {
		t.Fatalf("Send after the caller changed its TLS config: %v", err)
	}
}

func TestTLSModeText(t *testing.T) {
	tests := []struct {
		text string
		want mail.TLSMode
	}{
		{"starttls", mail.TLSStartTLS},
		{"tls", mail.TLSImplicit},
		{"none", mail.TLSNone},
		{"STARTTLS", mail.TLSStartTLS},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			var mode mail.TLSMode
			fs.TextVar(&mode, "smtp-tls", mail.TLSNone, "")
			if err := fs.Parse([]string{"-smtp-tls", tt.text}); err != nil {
				t.Fatal(err)
			}
			if mode != tt.want {
				t.Errorf("got %v, want %v", mode, tt.want)
			}
			if b, err := mode.MarshalText(); err != nil || string(b) != strings.ToLower(tt.text) {
				t.Errorf("MarshalText = %q, %v", b, err)
			}
		})
	}
	t.Run("refused", func(t *testing.T) {
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		var mode mail.TLSMode
		fs.TextVar(&mode, "smtp-tls", mail.TLSStartTLS, "")
		for _, bad := range []string{"ssl", "", "plain"} {
			if err := fs.Parse([]string{"-smtp-tls", bad}); err == nil {
				t.Errorf("%q accepted", bad)
			}
		}
		if mode != mail.TLSStartTLS {
			t.Errorf("mode changed to %v", mode)
		}
		if _, err := mail.TLSMode(9).MarshalText(); !errors.Is(err, mail.ErrInvalidConfig) {
			t.Errorf("MarshalText of an unknown mode = %v", err)
		}
	})
}
