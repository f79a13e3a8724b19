package auth_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/store"
)

// failingMailer fails every Send with err (or, when err is nil, with the
// context's error once the context ends) and reports each call on calls.
// Once healed, it hands messages to a Capture instead.
type failingMailer struct {
	err   error
	calls chan mail.Message

	mu     sync.Mutex
	n      int
	healed *mail.Capture
}

func newFailingMailer(err error) *failingMailer {
	return &failingMailer{err: err, calls: make(chan mail.Message, 100)}
}

func (f *failingMailer) Send(ctx context.Context, m mail.Message) error {
	f.mu.Lock()
	f.n++
	healed := f.healed
	f.mu.Unlock()
	if healed != nil {
		return healed.Send(ctx, m)
	}
	select {
	case f.calls <- m:
	default:
	}
	if f.err == nil {
		<-ctx.Done()
		return ctx.Err()
	}
	return f.err
}

// heal makes later Sends succeed into c.
func (f *failingMailer) heal(c *mail.Capture) {
	f.mu.Lock()
	f.healed = c
	f.mu.Unlock()
}

func (f *failingMailer) attempts() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n
}

// SECURITY.md #15: a reset request answers the same whether the account
// exists or not, even when every delivery fails; the failure reaches the
// log, without the token (#49, #63).
func TestResetAnswersTheSameWhenDeliveryFails(t *testing.T) {
	failing := newFailingMailer(errors.New("connection refused"))
	e := newEnv(t, func(c *auth.Config) {
		c.Mailer = failing
		c.Mail.Attempts = 3
		c.BaseURL = "https://app.example.com"
	})
	u := e.register(t, "ada@example.com")
	for _, email := range []string{"ada@example.com", "nobody@example.com"} {
		if err := e.m.RequestPasswordReset(t.Context(), email); err != nil {
			t.Fatalf("RequestPasswordReset(%q) = %v, want nil", email, err)
		}
	}
	e.flush(t)
	if n := failing.attempts(); n != 3 {
		t.Errorf("%d delivery attempts, want 3 (for the real account only)", n)
	}
	logs := e.logs.String()
	for _, want := range []string{"gatehouse: mail undelivered, giving up", `"user_id":"` + u.ID + `"`, `"kind":"reset_password"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "token=") {
		t.Errorf("logs contain a link with its token:\n%s", logs)
	}
}

// A failing mailer does not fail registration either: the account exists
// and the user can ask for another code.
func TestRegisterSucceedsWhenDeliveryFails(t *testing.T) {
	failing := newFailingMailer(&mail.SMTPError{Op: "RCPT", Code: 550, Message: "5.1.1 no such mailbox"})
	e := newEnv(t, requireVerification, func(c *auth.Config) { c.Mailer = failing })
	e.register(t, "ada@example.com")
	e.flush(t)
	if !strings.Contains(e.logs.String(), "gatehouse: mail undeliverable, not retrying") {
		t.Errorf("the permanent failure was not logged:\n%s", e.logs.String())
	}
}

// Temporary failures are retried up to Config.Mail.Attempts; permanent ones are
// not retried at all.
func TestMailRetryPolicy(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		attempts int
		log      string
	}{
		{"network error", errors.New("dial tcp: connection refused"), 3, "gatehouse: mail undelivered, giving up"},
		{"4xx reply", &mail.SMTPError{Op: "MAIL", Code: 451, Message: "4.3.0 try again"}, 3, "gatehouse: mail undelivered, giving up"},
		{"context deadline", fmt.Errorf("mail: smtp: DATA: %w", context.DeadlineExceeded), 3, "gatehouse: mail undelivered, giving up"},
		{"5xx reply", &mail.SMTPError{Op: "RCPT", Code: 550, Message: "5.1.1 no such mailbox"}, 1, "gatehouse: mail undeliverable, not retrying"},
		{"no STARTTLS", fmt.Errorf("%w (smtp.example.com:587)", mail.ErrSTARTTLSUnavailable), 1, "gatehouse: mail undeliverable, not retrying"},
		{"mailer's own permanent error", fmt.Errorf("provider API: 422 recipient suppressed: %w", mail.ErrPermanent), 1, "gatehouse: mail undeliverable, not retrying"},
		{"invalid message", fmt.Errorf("%w: To[0] address: no @", mail.ErrInvalidMessage), 1, "gatehouse: mail undeliverable, not retrying"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, requireVerification, func(c *auth.Config) { c.Mail.Attempts = 3 })
			e.mail.FailNext(tt.err, 100)
			e.register(t, "ada@example.com")
			e.flush(t)
			if got := e.mail.Attempts(); got != tt.attempts {
				t.Errorf("%d attempts, want %d", got, tt.attempts)
			}
			logs := e.logs.String()
			if !strings.Contains(logs, tt.log) {
				t.Errorf("logs lack %q:\n%s", tt.log, logs)
			}
			if n := strings.Count(logs, "gatehouse: mail delivery failed"); tt.attempts > 1 && n != tt.attempts {
				t.Errorf("%d failed attempts logged, want %d", n, tt.attempts)
			}
		})
	}
	t.Run("delivered on the third attempt", func(t *testing.T) {
		e := newEnv(t, requireVerification, func(c *auth.Config) { c.Mail.Attempts = 3 })
		e.mail.FailNext(&mail.SMTPError{Op: "DATA", Code: 451, Message: "4.3.0 try again"}, 2)
		e.register(t, "ada@example.com")
		e.lastMailTo(t, "ada@example.com", mail.KindVerifyEmail)
		if got := e.mail.Attempts(); got != 3 {
			t.Errorf("%d attempts, want 3", got)
		}
		if !strings.Contains(e.logs.String(), "gatehouse: mail delivered after retries") {
			t.Errorf("the late delivery was not logged")
		}
	})
}

// When Flush's context ends, every message still undelivered is logged by
// kind and user, retries asleep end at once and attempts in flight are
// canceled, so nothing is left running; mail queued afterwards is delivered
// as usual.
func TestFlushDeadlineEndsRetries(t *testing.T) {
	tests := []struct {
		name string
		// err is what the mailer returns; nil blocks until the context
		// ends.
		err error
	}{
		{"retry asleep", errors.New("connection refused")},
		{"attempt in flight", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			failing := newFailingMailer(tt.err)
			e := newEnv(t, requireVerification, func(c *auth.Config) {
				c.Mailer = failing
				c.Mail.Attempts = 20
				c.Mail.RetryDelay = time.Hour // the retry would sleep 30–60 minutes
			})
			u := e.register(t, "ada@example.com")
			<-failing.calls // the first attempt has started

			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			if err := e.m.Flush(ctx); !errors.Is(err, context.Canceled) {
				t.Fatalf("Flush = %v, want context.Canceled", err)
			}
			logs := e.logs.String()
			for _, want := range []string{"gatehouse: mail undelivered at flush deadline", `"kind":"verify_email"`, `"user_id":"` + u.ID + `"`, "gatehouse: flush ended with work pending"} {
				if !strings.Contains(logs, want) {
					t.Errorf("logs lack %s:\n%s", want, logs)
				}
			}
			// The abandoned delivery ends without waiting out its retry
			// delay: a second Flush finds nothing pending (it would
			// otherwise fail when its 10-second context ends).
			e.flush(t)
			if n := failing.attempts(); n != 1 {
				t.Errorf("%d attempts, want 1", n)
			}

			// The Manager stays usable: mail queued now is delivered, and
			// the abandoned message stays abandoned.
			failing.heal(e.mail)
			e.register(t, "bob@example.com")
			e.lastMailTo(t, "bob@example.com", mail.KindVerifyEmail)
			if n := len(e.mail.Messages()); n != 1 {
				t.Errorf("%d messages delivered after healing, want only Bob's", n)
			}
		})
	}
	t.Run("nothing pending", func(t *testing.T) {
		e := newEnv(t)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := e.m.Flush(ctx); err != nil {
			t.Fatalf("Flush with nothing pending = %v, want nil", err)
		}
		if strings.Contains(e.logs.String(), "flush ended") {
			t.Errorf("an empty flush logged pending work")
		}
	})
}

// Config.Mail.Locale chooses the language of every message the Manager sends to
// a user, and the Templates fall back per kind and locale.
func TestMailLocale(t *testing.T) {
	locales := map[string]string{
		"ada@example.com":  "de-CH",
		"bob@example.com":  "fr",
		"cleo@example.com": "",
	}
	var mu sync.Mutex
	var asked []string
	e := newEnv(t, requireVerification, func(c *auth.Config) {
		c.BaseURL = "https://app.example.com"
		c.Mail.Locale = func(_ context.Context, u *store.User) string {
			mu.Lock()
			asked = append(asked, u.ID)
			mu.Unlock()
			return locales[u.Email]
		}
	})
	// subject is the subject of kind k in locale, as the built-in templates
	// render it for this Manager.
	subject := func(k mail.Kind, locale string) string {
		m, err := mail.DefaultTemplates().Render(t.Context(), mail.Data{
			Kind: k, Locale: locale, AppName: "Gatehouse", To: mail.Address{Email: "x@example.com"},
		})
		if err != nil {
			t.Fatal(err)
		}
		return m.Subject
	}
	for email, locale := range locales {
		t.Run(email, func(t *testing.T) {
			want := "en"
			if strings.HasPrefix(locale, "de") {
				want = "de"
			}
			u := e.register(t, email)
			verify := e.lastMailTo(t, email, mail.KindVerifyEmail)
			if _, err := e.m.VerifyEmail(t.Context(), auth.Verification{Email: email, Code: codeIn(t, verify)}); err != nil {
				t.Fatal(err)
			}
			if err := e.m.RequestPasswordReset(t.Context(), email); err != nil {
				t.Fatal(err)
			}
			reset := e.lastMailTo(t, email, mail.KindResetPassword)
			if err := e.m.ResetPassword(t.Context(), tokenIn(t, reset), "a brand new passphrase"); err != nil {
				t.Fatal(err)
			}
			changed := e.lastMailTo(t, email, mail.KindPasswordChanged)
			res, err := e.m.Login(t.Context(), email, "a brand new passphrase")
			if err != nil {
				t.Fatal(err)
			}
			newEmail := "new." + email
			if _, err := e.m.UpdateProfile(t.Context(), e.identity(t, res.Tokens.AccessToken), auth.ProfileUpdate{Email: &newEmail, CurrentPassword: "a brand new passphrase"}); err != nil {
				t.Fatal(err)
			}
			confirm := e.lastMailTo(t, newEmail, mail.KindChangeEmail)
			notice := e.lastMailTo(t, email, mail.KindEmailChangeNotice)
			for _, m := range []mail.Message{verify, reset, changed, confirm, notice} {
				if m.Subject != subject(m.Kind, want) {
					t.Errorf("%s subject = %q, want %q", m.Kind, m.Subject, subject(m.Kind, want))
				}
			}
			// SECURITY.md #49: links come from BaseURL, and the token is
			// in the text body too.
			for _, m := range []mail.Message{verify, reset, confirm} {
				tok := tokenIn(t, m)
				if !strings.Contains(m.Text, "https://app.example.com/") || !strings.Contains(m.Text, "?token="+tok) {
					t.Errorf("%s text lacks a BaseURL link with its token:\n%s", m.Kind, m.Text)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if !containsString(asked, u.ID) {
				t.Errorf("Locale was never asked about %s", u.ID)
			}
		})
	}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
