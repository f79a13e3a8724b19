package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/store"
)

// PasswordlessConfig configures passwordless email login
// (Config.Passwordless): [Manager.RequestEmailLogin] mails a link and a
// 6-digit code, and [Manager.EmailLoginWithLink] or
// [Manager.EmailLoginWithCode] logs the user in with either. Off by
// default; when on, Config.Store must implement [store.EmailLogins].
type PasswordlessConfig struct {
	// Enabled switches passwordless email login on. Off by default: the
	// methods then return [ErrPasswordlessDisabled].
	Enabled bool

	// TTL is how long the mailed link is valid. Default
	// [DefaultEmailLoginTTL] (15 minutes); allowed 1 minute to 15 minutes.
	TTL time.Duration

	// CodeTTL is how long the mailed code is valid. Default
	// [DefaultEmailLoginCodeTTL] (10 minutes, the limit of SECURITY.md
	// #51 for short codes); allowed 1 minute to 10 minutes, and cut to TTL
	// when longer.
	CodeTTL time.Duration

	// MaxAttempts is how many guesses the code allows before the login is
	// dead (the link then still works). Default [DefaultMaxCodeAttempts]
	// (5); allowed 1 to 10.
	MaxAttempts int
}

// Defaults and bounds of Config.Passwordless.
const (
	DefaultEmailLoginTTL     = 15 * time.Minute
	MaxEmailLoginTTL         = 15 * time.Minute
	DefaultEmailLoginCodeTTL = 10 * time.Minute
)

// fill validates Config.Passwordless and fills in its defaults; st is
// Config.Store.
func (p *PasswordlessConfig) fill(st store.Store) error {
	if !p.Enabled {
		return nil
	}
	if _, ok := st.(store.EmailLogins); !ok {
		return cfgErr("Passwordless.Enabled", "needs a Store that implements store.EmailLogins")
	}
	if p.TTL == 0 {
		p.TTL = DefaultEmailLoginTTL
	}
	if p.TTL < time.Minute || p.TTL > MaxEmailLoginTTL {
		return cfgErr("Passwordless.TTL", "must be between 1m0s and 15m0s")
	}
	if p.CodeTTL == 0 {
		p.CodeTTL = DefaultEmailLoginCodeTTL
	}
	if p.CodeTTL < time.Minute || p.CodeTTL > DefaultEmailLoginCodeTTL {
		return cfgErr("Passwordless.CodeTTL", "must be between 1m0s and 10m0s")
	}
	p.CodeTTL = min(p.CodeTTL, p.TTL)
	if p.MaxAttempts == 0 {
		p.MaxAttempts = DefaultMaxCodeAttempts
	}
	if p.MaxAttempts < 1 || p.MaxAttempts > 10 {
		return cfgErr("Passwordless.MaxAttempts", "must be between 1 and 10")
	}
	return nil
}

// The events of passwordless email login. A login that ends in a
// second-factor challenge is reported as [EventLoginChallenge].
const (
	EventEmailLoginRequested EventType = "email_login_requested"
	EventEmailLogin          EventType = "email_login"
)

// purposeEmailLogin counts email-login mail under the per-account mail
// limits (SECURITY.md #22).
const purposeEmailLogin store.Purpose = "email_login"

// EmailLogin is the answer to [Manager.RequestEmailLogin]. It has the same
// shape whether or not the email has an account.
type EmailLogin struct {
	// LoginID identifies the login; the client sends it back with the
	// mailed code ([Manager.EmailLoginWithCode]). It is random, and for an
	// email without an account it matches nothing.
	LoginID string
	// ExpiresAt is when the code expires (the link lasts
	// Config.Passwordless.TTL from the same instant).
	ExpiresAt time.Time
}

// loginIDBytes is the size of a login ID: 128 random bits.
const loginIDBytes = 16

// RequestEmailLogin mails a sign-in link and a 6-digit code to the
// account with that email, valid once together: whichever is used first,
// the other is dead. It answers at once, with a fresh random login ID,
// the same whether or not the account exists or may log in: the lookup,
// the store write and the mail happen in the background (SECURITY.md
// #15), and an unknown or disabled account gets nothing stored or mailed.
// A newer request replaces an older login of the same account.
//
// Requests are limited per client IP (Limits.IPEmailLoginsPerHour) and
// mail per account (Limits.MailPerMinute and MailPerHour, SECURITY.md
// #22); a request over the mail limit answers the same but sends nothing.
//
// Errors: [ErrPasswordlessDisabled]; [ErrInvalidEmail]; [ErrThrottled].
func (m *Manager) RequestEmailLogin(ctx context.Context, email string) (*EmailLogin, error) {
	if m.emailLogins == nil {
		return nil, ErrPasswordlessDisabled
	}
	b, err := m.randomBytes(loginIDBytes)
	if err != nil {
		return nil, err
	}
	id := encodeID(b)
	issued := m.now()
	res := &EmailLogin{LoginID: id, ExpiresAt: issued.Add(m.cfg.Passwordless.CodeTTL)}
	err = m.answerNow(ctx, EventEmailLoginRequested, email, "email-login", m.cfg.Limits.IPEmailLoginsPerHour,
		func(ctx context.Context, now time.Time, email string, ev *Event) error {
			return m.requestEmailLogin(ctx, id, issued, email, ev)
		})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// requestEmailLogin stores and mails the login id for the account of
// email, if there is one that may log in; it runs in the background.
func (m *Manager) requestEmailLogin(ctx context.Context, id string, now time.Time, email string, ev *Event) error {
	u, err := m.store.UserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		ev.Reason = "unknown_email"
		return nil
	}
	if err != nil {
		ev.Reason = "store_error"
		return err
	}
	ev.UserID = u.ID
	if !u.IsActive {
		ev.Reason = "disabled"
		return nil
	}
	if !m.mayMail(ctx, now, u.ID, purposeEmailLogin) {
		ev.Reason = "mail_throttled"
		return nil
	}
	token, hash, err := m.newToken()
	if err != nil {
		return err
	}
	code, err := m.newCode()
	if err != nil {
		return err
	}
	salt, err := m.randomBytes(16)
	if err != nil {
		return err
	}
	p := &m.cfg.Passwordless
	err = m.emailLogins.PutEmailLogin(ctx, &store.EmailLogin{
		ID:            id,
		Hash:          hash,
		CodeHash:      emailLoginCodeHash(salt, id, code),
		UserID:        u.ID,
		Email:         u.Email,
		CreatedAt:     now,
		ExpiresAt:     now.Add(p.TTL),
		CodeExpiresAt: now.Add(p.CodeTTL),
	})
	if err != nil {
		ev.Reason = "store_error"
		return fmt.Errorf("auth: storing an email login: %w", err)
	}
	m.mail(ctx, u, mail.Data{
		Kind:          mail.KindEmailLogin,
		To:            mail.Address{Name: u.Name, Email: u.Email},
		Token:         token,
		Code:          code,
		Link:          m.link("/login/email", token),
		ExpiresIn:     p.TTL,
		CodeExpiresIn: p.CodeTTL,
		Time:          now,
	})
	return nil
}

// emailLoginCodeHash is what an email login keeps of its code: the salt,
// then HMAC-SHA256 keyed with it over the login ID and the code. A code
// alone has 20 bits; the record is only ever found by its ID.
func emailLoginCodeHash(salt []byte, id, code string) []byte {
	mac := hmac.New(sha256.New, salt)
	mac.Write([]byte("gatehouse email login\x00" + id + "\x00" + code))
	return mac.Sum(append([]byte(nil), salt...))
}

// emailLoginCodeMatches compares code with a stored emailLoginCodeHash in
// constant time (SECURITY.md #17).
func emailLoginCodeMatches(stored []byte, id, code string) bool {
	if len(stored) != 16+sha256.Size {
		return false
	}
	return hmac.Equal(stored, emailLoginCodeHash(stored[:16], id, code))
}

// validLoginID reports whether s has the form of a login ID.
func validLoginID(s string) bool {
	if len(s) != base64.RawURLEncoding.EncodedLen(loginIDBytes) {
		return false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	return err == nil && len(b) == loginIDBytes
}

// EmailLoginWithLink logs in with the token of a link mailed by
// [Manager.RequestEmailLogin], and ends as [Manager.Login] does: a session
// and tokens, or a [Challenge] when the user has a second factor. The
// token is single use, shared with the mailed code, and valid for
// Config.Passwordless.TTL; it dies when the account's email changes, its
// password changes or is reset, or it is deactivated.
//
// Using it proves the user owns the address: an unverified account
// becomes verified. Because nobody had proved the address before, a
// password set on such an account is removed (the user may set one
// through the password reset) and its other sessions end, so whoever
// registered the address first cannot keep a way in.
//
// Wrong and dead tokens count against the client's IP
// (Limits.IPVerificationsPerHour).
//
// Errors: [ErrPasswordlessDisabled]; [ErrInvalidEmailLogin] for a wrong,
// used, expired or outdated token; [ErrAccountDisabled]; [ErrThrottled].
func (m *Manager) EmailLoginWithLink(ctx context.Context, token string) (*LoginResult, error) {
	return m.emailLoginOp(ctx, func(ev *Event) (*LoginResult, error) {
		return m.emailLoginWithLink(ctx, token, ev)
	})
}

// EmailLoginWithCode logs in with the code mailed by
// [Manager.RequestEmailLogin] and the login ID it answered, and ends as
// EmailLoginWithLink does. The code is valid for
// Config.Passwordless.CodeTTL and allows Config.Passwordless.MaxAttempts
// guesses, counted atomically in the store (SECURITY.md #23); once they are
// spent the login is dead, even for the right code. Wrong codes also count
// against the account under the same limits as wrong passwords ([Limits])
// and against the client's IP.
//
// Errors: [ErrPasswordlessDisabled]; [ErrInvalidCode] for a wrong or
// malformed code; [ErrInvalidEmailLogin] for an unknown, used, expired,
// exhausted or outdated login; [ErrAccountDisabled]; [ErrThrottled].
func (m *Manager) EmailLoginWithCode(ctx context.Context, loginID, code string) (*LoginResult, error) {
	return m.emailLoginOp(ctx, func(ev *Event) (*LoginResult, error) {
		return m.emailLoginWithCode(ctx, loginID, code, ev)
	})
}

// emailLoginOp runs one email login: the IP check, the event, and the
// IP count of a failure.
func (m *Manager) emailLoginOp(ctx context.Context, work func(ev *Event) (*LoginResult, error)) (*LoginResult, error) {
	if m.emailLogins == nil {
		return nil, ErrPasswordlessDisabled
	}
	start := m.cfg.Now()
	ev := Event{Type: EventEmailLogin, Outcome: OutcomeFailure}
	if err := m.checkIP(ctx, "verify", m.cfg.Limits.IPVerificationsPerHour); err != nil {
		ev.Reason = "throttled"
		m.emit(ctx, ev, start)
		return nil, err
	}
	res, err := work(&ev)
	switch {
	case err == nil:
		ev.Outcome = OutcomeSuccess
	case errors.Is(err, ErrInvalidCode), errors.Is(err, ErrInvalidEmailLogin):
		m.hitIP(ctx, "verify", m.cfg.Limits.IPVerificationsPerHour)
	}
	m.emit(ctx, ev, start)
	return res, err
}

func (m *Manager) emailLoginWithLink(ctx context.Context, token string, ev *Event) (*LoginResult, error) {
	hash, ok := tokenHash(strings.TrimSpace(token))
	if !ok {
		ev.Reason = "malformed"
		return nil, ErrInvalidEmailLogin
	}
	l, u, err := m.emailLogins.TakeEmailLogin(ctx, hash, m.now())
	switch {
	case errors.Is(err, store.ErrNotFound):
		ev.Reason = "invalid_login"
		return nil, ErrInvalidEmailLogin
	case err != nil:
		ev.Reason = "store_error"
		return nil, fmt.Errorf("auth: email login: %w", err)
	}
	ev.UserID = u.ID
	if !emailLoginBound(l, u) {
		ev.Reason = "outdated"
		return nil, ErrInvalidEmailLogin
	}
	return m.finishEmailLogin(ctx, u, ev)
}

func (m *Manager) emailLoginWithCode(ctx context.Context, id, code string, ev *Event) (*LoginResult, error) {
	code = strings.TrimSpace(code)
	if !validLoginID(id) {
		ev.Reason = "invalid_login"
		return nil, ErrInvalidEmailLogin
	}
	if len(code) != 6 || !isShortCode(code) {
		ev.Reason = "malformed"
		return nil, ErrInvalidCode
	}
	l, u, err := m.emailLogins.ReserveEmailLoginAttempt(ctx, id, m.now(), m.cfg.Passwordless.MaxAttempts)
	switch {
	case errors.Is(err, store.ErrNotFound):
		ev.Reason = "invalid_login"
		return nil, ErrInvalidEmailLogin
	case errors.Is(err, store.ErrExhausted):
		ev.Reason = "attempts_exhausted"
		return nil, ErrInvalidEmailLogin
	case err != nil:
		ev.Reason = "store_error"
		return nil, fmt.Errorf("auth: email login: %w", err)
	}
	ev.UserID = u.ID
	if !emailLoginBound(l, u) {
		ev.Reason = "outdated"
		m.dropEmailLogin(ctx, id)
		return nil, ErrInvalidEmailLogin
	}
	gate, err := m.openPasswordGate(ctx, u.Email, true)
	if err != nil {
		ev.Reason = "throttled"
		if !errors.Is(err, ErrThrottled) {
			ev.Reason = "store_error"
		}
		return nil, err
	}
	if !emailLoginCodeMatches(l.CodeHash, id, code) {
		ev.Reason = "wrong_code"
		gate.failed(ctx)
		return nil, ErrInvalidCode
	}
	// The code was right: spend the login. Of concurrent right answers,
	// and of a right answer racing the link, only one deletes it.
	if err := m.emailLogins.DeleteEmailLogin(ctx, id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			ev.Reason = "invalid_login"
			return nil, ErrInvalidEmailLogin
		}
		ev.Reason = "store_error"
		return nil, fmt.Errorf("auth: email login: %w", err)
	}
	gate.succeeded(ctx)
	return m.finishEmailLogin(ctx, u, ev)
}

// emailLoginBound reports whether l still fits its user: mailed to the
// current address, and not older than the account's last password change,
// reset or deactivation (which move TokensValidAfter).
func emailLoginBound(l *store.EmailLogin, u *store.User) bool {
	return l.Email == u.Email && !l.CreatedAt.Before(u.TokensValidAfter)
}

// finishEmailLogin ends a spent email login of u: refused for a disabled
// account; an unverified address becomes verified, and the password and
// sessions nobody proved the address for are dropped; then the second
// factor or the session.
func (m *Manager) finishEmailLogin(ctx context.Context, u *store.User, ev *Event) (*LoginResult, error) {
	if !u.IsActive {
		ev.Reason = "disabled"
		return nil, ErrAccountDisabled
	}
	if !u.IsVerified {
		now := m.now()
		t, none := true, ""
		nu, err := m.store.UpdateUser(ctx, u.ID, withoutPendingEmail(store.UserUpdate{
			IsVerified:       &t,
			PasswordHash:     &none,
			TokensValidAfter: &now,
			UpdatedAt:        now,
			RevokeSessions:   true,
			DropSecrets:      true,
		}))
		if err != nil {
			ev.Reason = "store_error"
			return nil, fmt.Errorf("auth: email login: %w", err)
		}
		u = nu
	}
	return m.challengeOrFinish(ctx, u, m.now(), ev)
}

// dropEmailLogin deletes an email login that can never succeed; failures
// are logged (it expires anyway).
func (m *Manager) dropEmailLogin(ctx context.Context, id string) {
	if err := m.emailLogins.DeleteEmailLogin(ctx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
		m.log.ErrorContext(ctx, "gatehouse: deleting an email login failed", "error", err.Error())
	}
}
