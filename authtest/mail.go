package authtest

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-go/gatehouse/mail"
)

// Mail is a message the Manager sent, with the secrets it carries.
type Mail struct {
	// Message is the message as the mailer received it: Kind, To,
	// Subject, Text and HTML.
	mail.Message
	// Token, Code and Link are the secrets the message was rendered with
	// (from its mail.Data), "" when it carries none: Token the long token,
	// Code the 6-digit code, Link the URL under BaseURL that carries the
	// token.
	Token, Code, Link string
}

// recorder is the Manager's mail.Renderer: it renders with the configured
// templates and remembers the secrets of each rendered message, keyed by
// what the mailer will receive, so that a delivered message can be paired
// with them.
type recorder struct {
	next mail.Renderer
	log  *secretLog
}

func (r *recorder) Render(ctx context.Context, d mail.Data) (mail.Message, error) {
	msg, err := r.next.Render(ctx, d)
	if err == nil && (d.Token != "" || d.Code != "" || d.Link != "") {
		r.log.put(msgKey(d.To.Email, msg), secrets{d.Token, d.Code, d.Link})
	}
	return msg, err
}

type secrets struct{ token, code, link string }

type secretLog struct {
	mu sync.Mutex
	m  map[string]secrets
}

func (l *secretLog) put(key string, s secrets) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[string]secrets{}
	}
	l.m[key] = s
}

func (l *secretLog) get(key string) secrets {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.m[key]
}

// msgKey identifies a rendered message: its recipient and content (a
// message with secrets has random ones in its text, so it is unique).
func msgKey(to string, m mail.Message) string {
	return strings.ToLower(to) + "\x00" + m.Subject + "\x00" + m.Text
}

// mailTo returns the messages delivered to email, oldest first, after the
// Manager's background mail has been delivered.
func (k *Kit) mailTo(t TB, email string) []Mail {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := k.Manager.Flush(ctx); err != nil {
		t.Fatalf("authtest: waiting for the Manager's mail: %v", err)
	}
	var out []Mail
	for _, m := range k.Mail.Messages() {
		if len(m.To) != 1 || !strings.EqualFold(m.To[0].Email, email) {
			continue
		}
		s := k.secrets.get(msgKey(m.To[0].Email, m))
		out = append(out, Mail{Message: m, Token: s.token, Code: s.code, Link: s.link})
	}
	return out
}

// LastMail returns the last message delivered to email, after waiting for
// the Manager's background mail. It fails the test when there is none.
func (k *Kit) LastMail(t TB, email string) Mail {
	t.Helper()
	msgs := k.mailTo(t, email)
	if len(msgs) == 0 {
		t.Fatalf("authtest: no mail to %s", email)
		return Mail{}
	}
	return msgs[len(msgs)-1]
}

// last returns the newest message to email for which has is true.
func (k *Kit) last(t TB, email, what string, has func(Mail) string) string {
	t.Helper()
	msgs := k.mailTo(t, email)
	for i := len(msgs) - 1; i >= 0; i-- {
		if v := has(msgs[i]); v != "" {
			return v
		}
	}
	t.Fatalf("authtest: no mail with a %s to %s (%d messages)", what, email, len(msgs))
	return ""
}

// LastToken returns the token of the last message to email that carried
// one (verification, reset, email change, cancel link), after waiting for
// the Manager's background mail. It fails the test when there is none.
func (k *Kit) LastToken(t TB, email string) string {
	t.Helper()
	return k.last(t, email, "token", func(m Mail) string { return m.Token })
}

// LastCode returns the 6-digit code of the last message to email that
// carried one (a verification), as [Kit.LastToken] does for tokens.
func (k *Kit) LastCode(t TB, email string) string {
	t.Helper()
	return k.last(t, email, "code", func(m Mail) string { return m.Code })
}

// LastLink returns the link of the last message to email that carried
// one, as [Kit.LastToken] does for tokens. Links start with [BaseURL]
// unless [Configure] changed Config.BaseURL.
func (k *Kit) LastLink(t TB, email string) string {
	t.Helper()
	return k.last(t, email, "link", func(m Mail) string { return m.Link })
}
