package mail_test

import (
	"bytes"
	"context"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/internal/testhash"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/memstore"
)

// End to end: an auth.Manager whose Mailer is a mail.SMTP pointed at the
// in-process SMTP server. The tests read codes and tokens from the mail the
// server received, as a user would.

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

var (
	e2eNow = time.Date(2026, 5, 4, 9, 30, 0, 0, time.UTC)
	e2eKey = []byte("0123456789abcdef0123456789abcdef-e2e-test-key")
	codeRE = regexp.MustCompile(`\b[0-9]{6}\b`)
	// A token is on a line of its own in the text body (it is in the link
	// too, but it may start or end with "-", where \b finds no boundary).
	tokenRE  = regexp.MustCompile(`(?m)^[A-Za-z0-9_-]{43}\r?$`)
	password = "correct horse battery staple"
)

// e2e is a Manager delivering through SMTP to a sink.
type e2e struct {
	m    *auth.Manager
	sink *sink
	logs *syncBuffer
}

func newE2E(tb testing.TB, opt sinkOptions, edit func(*auth.Config)) *e2e {
	tb.Helper()
	opt.TLS = sinkSTARTTLS
	opt.Mechs = []string{"PLAIN", "LOGIN"}
	opt.Username, opt.Password = smtpUser, smtpPassword
	s := startSink(tb, opt)
	cfg := clientConfig(s, mail.TLSStartTLS)
	cfg.Username, cfg.Password = smtpUser, smtpPassword
	logs := &syncBuffer{}
	acfg := auth.Config{
		Store:  memstore.New(),
		Mailer: newSMTP(tb, cfg),
		Mail: auth.MailConfig{
			From:       mail.Address{Name: "Wonderland", Email: "no-reply@example.org"},
			RetryDelay: time.Millisecond,
		},
		Tokens:       auth.TokenConfig{SigningKey: e2eKey},
		Password:     auth.PasswordConfig{Hasher: testhash.Fast{}, LegacyHashers: []auth.Hasher{}},
		Verification: auth.VerificationConfig{Required: true},
		ServiceName:  "Wonderland",
		BaseURL:      "https://app.example.com",
		Now:          func() time.Time { return e2eNow },
		Logger:       slog.New(slog.NewJSONHandler(logs, nil)),
	}
	if edit != nil {
		edit(&acfg)
	}
	m, err := auth.New(acfg)
	if err != nil {
		tb.Fatalf("auth.New: %v", err)
	}
	return &e2e{m: m, sink: s, logs: logs}
}

func (e *e2e) flush(tb testing.TB) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.m.Flush(ctx); err != nil {
		tb.Fatalf("Flush: %v", err)
	}
}

// mailTo returns the last message received for addr, parsed.
func (e *e2e) mailTo(tb testing.TB, addr string) (received, parsed) {
	tb.Helper()
	e.flush(tb)
	mails := e.sink.Mails()
	for i := len(mails) - 1; i >= 0; i-- {
		if len(mails[i].To) == 1 && mails[i].To[0] == addr {
			return mails[i], parse(tb, mails[i].Data)
		}
	}
	tb.Fatalf("no mail to %s among %d", addr, len(mails))
	return received{}, parsed{}
}

func find(tb testing.TB, re *regexp.Regexp, text string) string {
	tb.Helper()
	s := strings.TrimSpace(re.FindString(text))
	if s == "" {
		tb.Fatalf("%v not found in:\n%s", re, text)
	}
	return s
}

// checkRendered fails unless p's subject and both bodies are exactly what
// the default Templates render for d.
func checkRendered(tb testing.TB, p parsed, d mail.Data) {
	tb.Helper()
	want := render(tb, mail.DefaultTemplates(), d)
	if p.subject != want.Subject {
		tb.Errorf("subject = %q, want %q", p.subject, want.Subject)
	}
	if p.text != crlf(want.Text) {
		tb.Errorf("text body = %q,\nwant %q", p.text, crlf(want.Text))
	}
	if p.html != crlf(want.HTML) {
		tb.Errorf("html body differs from the rendered one:\n%s", p.html)
	}
}

func TestSMTPEndToEndVerification(t *testing.T) {
	for _, locale := range []string{"", "de-CH"} {
		t.Run("locale "+locale, func(t *testing.T) {
			e := newE2E(t, sinkOptions{}, func(c *auth.Config) {
				c.Mail.Locale = func(context.Context, *store.User) string { return locale }
			})
			const email = "juergen@example.com"
			u, err := e.m.Register(t.Context(), auth.Registration{Email: email, Password: password, Name: "Jürgen Groß"})
			if err != nil {
				t.Fatal(err)
			}
			got, p := e.mailTo(t, email)
			if got.From != "no-reply@example.org" || got.AuthMech != "PLAIN" || !got.TLS {
				t.Errorf("envelope from %q, AUTH %q, TLS %v", got.From, got.AuthMech, got.TLS)
			}
			if len(p.to) != 1 || p.to[0].Name != "Jürgen Groß" || p.from[0].Name != "Wonderland" {
				t.Errorf("To %v, From %v", p.to, p.from)
			}
			if wantDE := locale != ""; strings.HasPrefix(p.subject, "Bestätigen Sie") != wantDE {
				t.Errorf("subject %q: want German %v", p.subject, wantDE)
			}
			code := find(t, codeRE, p.text)
			token := find(t, tokenRE, p.text)
			link := "https://app.example.com/verify-email?token=" + token
			if !strings.Contains(p.text, link) {
				t.Errorf("text lacks the link %s:\n%s", link, p.text)
			}
			checkRendered(t, p, mail.Data{
				Kind: mail.KindVerifyEmail, To: mail.Address{Name: "Jürgen Groß", Email: email},
				AppName: "Wonderland", Locale: locale, Token: token, Code: code, Link: link,
				ExpiresIn: auth.DefaultVerificationLinkTTL, CodeExpiresIn: auth.DefaultVerificationCodeTTL, Time: e2eNow,
			})
			if u.IsVerified {
				t.Fatal("new user already verified")
			}
			v, err := e.m.VerifyEmail(t.Context(), auth.Verification{Email: email, Code: code})
			if err != nil || !v.IsVerified {
				t.Fatalf("VerifyEmail with the mailed code: %v, %+v", err, v)
			}
			if _, err := e.m.Login(t.Context(), email, password); err != nil {
				t.Fatalf("Login after verification: %v", err)
			}
		})
	}
}

func TestSMTPEndToEndPasswordReset(t *testing.T) {
	e := newE2E(t, sinkOptions{}, func(c *auth.Config) { c.Verification.Required = false })
	const email = "ada@example.com"
	if _, err := e.m.Register(t.Context(), auth.Registration{Email: email, Password: password}); err != nil {
		t.Fatal(err)
	}
	if err := e.m.RequestPasswordReset(t.Context(), email); err != nil {
		t.Fatal(err)
	}
	_, p := e.mailTo(t, email)
	token := find(t, tokenRE, p.text)
	link := "https://app.example.com/reset-password?token=" + token
	checkRendered(t, p, mail.Data{
		Kind: mail.KindResetPassword, To: mail.Address{Email: email}, AppName: "Wonderland",
		Token: token, Link: link, ExpiresIn: auth.DefaultResetTokenTTL, Time: e2eNow,
	})
	const newPassword = "a completely new passphrase"
	if err := e.m.ResetPassword(t.Context(), token, newPassword); err != nil {
		t.Fatalf("ResetPassword with the mailed token: %v", err)
	}
	_, notice := e.mailTo(t, email)
	checkRendered(t, notice, mail.Data{
		Kind: mail.KindPasswordChanged, To: mail.Address{Email: email}, AppName: "Wonderland", Time: e2eNow,
	})
	if _, err := e.m.Login(t.Context(), email, newPassword); err != nil {
		t.Fatalf("Login with the new password: %v", err)
	}
	if n := len(e.sink.Mails()); n != 2 {
		t.Errorf("server received %d messages, want 2", n)
	}
}

// A server that answers 451 to the first two attempts gets the message on
// the third.
func TestSMTPEndToEndFlakyServer(t *testing.T) {
	e := newE2E(t, sinkOptions{Fail: func(attempt int, cmd, _ string) error {
		if cmd == "RCPT" && attempt <= 2 {
			return replyError(451)
		}
		return nil
	}}, nil)
	const email = "ada@example.com"
	if _, err := e.m.Register(t.Context(), auth.Registration{Email: email, Password: password}); err != nil {
		t.Fatal(err)
	}
	_, p := e.mailTo(t, email)
	find(t, codeRE, p.text)
	if n, a := len(e.sink.Mails()), e.sink.Attempts(); n != 1 || a != 3 {
		t.Errorf("%d messages over %d attempts, want 1 over 3", n, a)
	}
	logs := e.logs.String()
	if n := strings.Count(logs, "gatehouse: mail delivery failed"); n != 2 {
		t.Errorf("%d failed attempts logged, want 2:\n%s", n, logs)
	}
	if !strings.Contains(logs, "RCPT: 451") || !strings.Contains(logs, "gatehouse: mail delivered after retries") {
		t.Errorf("logs lack the 451 reply or the late delivery:\n%s", logs)
	}
}

// A 550 is permanent: one attempt, logged, no secret in the log.
func TestSMTPEndToEndPermanentFailure(t *testing.T) {
	e := newE2E(t, sinkOptions{Fail: func(_ int, cmd, _ string) error {
		if cmd == "RCPT" {
			return replyError(550)
		}
		return nil
	}}, nil)
	const email = "ada@example.com"
	u, err := e.m.Register(t.Context(), auth.Registration{Email: email, Password: password})
	if err != nil {
		t.Fatalf("Register = %v; a failing delivery must not fail it", err)
	}
	e.flush(t)
	if n, a := len(e.sink.Mails()), e.sink.Attempts(); n != 0 || a != 1 {
		t.Errorf("%d messages over %d attempts, want 0 over 1", n, a)
	}
	logs := e.logs.String()
	for _, want := range []string{"gatehouse: mail undeliverable, not retrying", "RCPT: 550", `"kind":"verify_email"`, `"user_id":"` + u.ID + `"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s:\n%s", want, logs)
		}
	}
	// SECURITY.md #63.
	for _, secret := range []string{"token=", smtpPassword} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain %q:\n%s", secret, logs)
		}
	}
}
