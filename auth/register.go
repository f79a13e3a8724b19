package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-go/gatehouse/auth/password"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/store"
)

// Registration is the input of [Manager.Register].
type Registration struct {
	Email    string
	Password string
	// Name, Bio and ProfilePicture are optional profile fields, validated
	// as by [Manager.UpdateProfile].
	Name           string
	Bio            string
	ProfilePicture string
}

// Register creates an account and returns it. The email is normalized (see
// [NormalizeEmail]) and the password checked against the policy before
// anything is hashed or stored. When Config.Verification.Required is set,
// the new user is unverified and a verification code and link are mailed.
//
// Registrations are limited per client IP. With
// Config.Accounts.UniformRegistration a taken email answers like a success
// (the returned user is never stored) and the owner of the address is told
// instead.
//
// Errors: [ErrInvalidEmail], [ErrWeakPassword] (a *[password.PolicyError]),
// [ErrEmailTaken], a *[ValidationError] for a bad profile field,
// [ErrThrottled], [ErrBusy].
func (m *Manager) Register(ctx context.Context, r Registration) (*store.User, error) {
	start := m.cfg.Now()
	ev := Event{Type: EventRegister, Outcome: OutcomeFailure}
	u, err := m.register(ctx, r, &ev)
	if err == nil {
		ev.Outcome = OutcomeSuccess
	}
	m.emit(ctx, ev, start)
	return u, err
}

func (m *Manager) register(ctx context.Context, r Registration, ev *Event) (*store.User, error) {
	if err := m.limitIP(ctx, "register", m.cfg.Limits.IPRegistrationsPerHour); err != nil {
		ev.Reason = "throttled"
		return nil, err
	}
	email, err := NormalizeEmail(r.Email)
	if err != nil {
		ev.Reason = "invalid_email"
		return nil, err
	}
	profile := ProfileUpdate{Name: &r.Name, Bio: &r.Bio, ProfilePicture: &r.ProfilePicture}
	if err := profile.validate(); err != nil {
		ev.Reason = "invalid_profile"
		return nil, err
	}
	pass, err := m.checkNewPassword(r.Password, email)
	if err != nil {
		ev.Reason = "weak_password"
		return nil, err
	}
	hash, err := m.hashPassword(ctx, pass)
	if err != nil {
		ev.Reason = "hash_failed"
		return nil, err
	}
	id, err := m.newID()
	if err != nil {
		return nil, err
	}
	now := m.now()
	u := &store.User{
		ID:             id,
		Email:          email,
		PasswordHash:   hash,
		Name:           r.Name,
		Bio:            r.Bio,
		ProfilePicture: r.ProfilePicture,
		IsActive:       true,
		IsVerified:     !m.cfg.Verification.Required,
		CreatedAt:      now,
		UpdatedAt:      now,
	}
	ev.UserID = id
	if err := m.store.CreateUser(ctx, u); err != nil {
		if errors.Is(err, store.ErrConflict) {
			ev.UserID, ev.Reason = "", "email_taken"
			if m.cfg.Accounts.UniformRegistration {
				m.signupAttempt(ctx, now, email)
				// The same answer as a success: this record is never stored.
				u.PasswordHash = ""
				return u, nil
			}
			return nil, ErrEmailTaken
		}
		ev.Reason = "store_error"
		return nil, fmt.Errorf("auth: register: %w", err)
	}
	if m.cfg.Verification.Required {
		sent := Event{Type: EventVerificationSent, Outcome: OutcomeFailure, UserID: u.ID}
		var err error
		if sent.Reason, err = m.sendVerification(ctx, now, u); err != nil {
			// The account exists; the user can ask for another code.
			m.log.ErrorContext(ctx, "gatehouse: sending verification failed", "user_id", u.ID, "error", err.Error())
			sent.Reason = "store_error"
		} else if sent.Reason == "" {
			sent.Outcome = OutcomeSuccess
		}
		m.emit(ctx, sent, now)
	}
	return u, nil
}

// checkNewPassword applies the policy to a new password (with the email,
// its local part and the service name as context words) and returns it
// normalized, ready to hash.
func (m *Manager) checkNewPassword(pass, email string) (string, error) {
	// The email's local part and its pieces count as context words too
	// (contextWords splits them off).
	if err := m.cfg.Password.Policy.Check(pass, email, m.cfg.ServiceName); err != nil {
		return "", err
	}
	return password.Normalize(pass), nil
}

// signupAttempt tells the owner of email, in the background, that someone
// tried to register it again at now.
func (m *Manager) signupAttempt(ctx context.Context, now time.Time, email string) {
	m.outbox.Go(ctx, "signup attempt notice", func(ctx context.Context) {
		owner, err := m.store.UserByEmail(ctx, email)
		if err != nil {
			if !errors.Is(err, store.ErrNotFound) {
				m.log.ErrorContext(ctx, "gatehouse: signup attempt notice: store failed", "error", err.Error())
			}
			return
		}
		if !m.mayMail(ctx, now, owner.ID, "signup_attempt") {
			return
		}
		m.mail(ctx, owner, mail.Data{
			Kind: mail.KindSignupAttempt,
			To:   mail.Address{Name: owner.Name, Email: owner.Email},
			Time: now,
		})
	})
}

// sendVerification stores a fresh verification secret for u (replacing any
// older one) and mails its code and link to u's stored address, unless the
// per-account mail limit is reached. now is the time of the request it
// serves, which may run in the background: limits and expiries count from
// the request, not from when the work got its turn.
func (m *Manager) sendVerification(ctx context.Context, now time.Time, u *store.User) (reason string, err error) {
	if !m.mayMail(ctx, now, u.ID, store.PurposeVerifyEmail) {
		return "mail_throttled", nil
	}
	token, hash, err := m.newToken()
	if err != nil {
		return "", err
	}
	code, err := m.newCode()
	if err != nil {
		return "", err
	}
	s := &store.Secret{
		Hash:          hash,
		CodeHash:      codeHash(hash, code),
		Purpose:       store.PurposeVerifyEmail,
		UserID:        u.ID,
		Email:         u.Email,
		CreatedAt:     now,
		ExpiresAt:     now.Add(m.cfg.Verification.LinkTTL),
		CodeExpiresAt: now.Add(m.cfg.Verification.CodeTTL),
	}
	if err := m.store.PutSecret(ctx, s); err != nil {
		return "store_error", fmt.Errorf("auth: storing verification secret: %w", err)
	}
	m.mail(ctx, u, mail.Data{
		Kind:          mail.KindVerifyEmail,
		To:            mail.Address{Name: u.Name, Email: u.Email},
		Token:         token,
		Code:          code,
		Link:          m.link("/verify-email", token),
		ExpiresIn:     m.cfg.Verification.LinkTTL,
		CodeExpiresIn: m.cfg.Verification.CodeTTL,
		Time:          now,
	})
	return "", nil
}

// link builds a link to the application for a mailed token, or "" when no
// BaseURL is configured.
func (m *Manager) link(path, token string) string {
	if m.cfg.BaseURL == "" {
		return ""
	}
	return m.cfg.BaseURL + path + "?token=" + token
}

// Verification is the input of [Manager.VerifyEmail]: either the long token
// from the link alone, or the short code together with the email.
type Verification struct {
	Email string
	Code  string
}

// VerifyEmail confirms an address with a code or token from a verification
// or email-change message, and returns the updated user.
//
// A long token (from the link) is accepted alone and confirms either a new
// account's address or a pending email change. A short code is accepted
// only with the email it was sent to, and only while it is valid (see
// Config.Verification.CodeTTL) and has attempts left
// (Config.Verification.MaxCodeAttempts); each wrong code uses one attempt,
// counted atomically.
//
// Wrong codes and tokens also count against the client's IP
// (Limits.IPVerificationsPerHour).
//
// Errors: [ErrInvalidCode] for anything wrong with the code, token or email;
// [ErrVerificationNotRequired] when verification is off and the token is
// not an email-change token; [ErrEmailTaken] when a pending address was
// taken by another account meanwhile; [ErrThrottled].
func (m *Manager) VerifyEmail(ctx context.Context, v Verification) (*store.User, error) {
	start := m.cfg.Now()
	ev := Event{Type: EventVerifyEmail, Outcome: OutcomeFailure}
	if err := m.checkIP(ctx, "verify", m.cfg.Limits.IPVerificationsPerHour); err != nil {
		ev.Reason = "throttled"
		m.emit(ctx, ev, start)
		return nil, err
	}
	u, err := m.verifyEmail(ctx, v, &ev)
	switch {
	case err == nil:
		ev.Outcome, ev.UserID = OutcomeSuccess, u.ID
	case errors.Is(err, ErrInvalidCode):
		m.hitIP(ctx, "verify", m.cfg.Limits.IPVerificationsPerHour)
	}
	m.emit(ctx, ev, start)
	return u, err
}

func (m *Manager) verifyEmail(ctx context.Context, v Verification, ev *Event) (*store.User, error) {
	code := strings.TrimSpace(v.Code)
	if hash, ok := tokenHash(code); ok {
		return m.consumeVerification(ctx, hash, ev)
	}
	if !m.cfg.Verification.Required {
		ev.Reason = "not_required"
		return nil, ErrVerificationNotRequired
	}
	if !isShortCode(code) || v.Email == "" {
		ev.Reason = "malformed"
		return nil, ErrInvalidCode
	}
	email, err := NormalizeEmail(v.Email)
	if err != nil {
		ev.Reason = "invalid_email"
		return nil, ErrInvalidCode
	}
	u, err := m.store.UserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		ev.Reason = "unknown_email"
		return nil, ErrInvalidCode
	}
	if err != nil {
		ev.Reason = "store_error"
		return nil, fmt.Errorf("auth: verify email: %w", err)
	}
	ev.UserID = u.ID
	s, err := m.store.ReserveCodeAttempt(ctx, u.ID, store.PurposeVerifyEmail, m.now(), m.cfg.Verification.MaxCodeAttempts)
	switch {
	case errors.Is(err, store.ErrNotFound):
		ev.Reason = "no_code"
		return nil, ErrInvalidCode
	case errors.Is(err, store.ErrExhausted):
		ev.Reason = "attempts_exhausted"
		return nil, ErrInvalidCode
	case err != nil:
		ev.Reason = "store_error"
		return nil, fmt.Errorf("auth: verify email: %w", err)
	}
	if !constantTimeEqual(s.CodeHash, codeHash(s.Hash, code)) {
		ev.Reason = "wrong_code"
		return nil, ErrInvalidCode
	}
	return m.consumeVerification(ctx, s.Hash, ev)
}

// consumeVerification consumes a verification or email-change secret and
// applies what it confirms.
func (m *Manager) consumeVerification(ctx context.Context, hash []byte, ev *Event) (*store.User, error) {
	purposes := []store.Purpose{store.PurposeVerifyEmail, store.PurposeChangeEmail}
	if !m.cfg.Verification.Required {
		purposes = purposes[1:]
	}
	now := m.now()
	var changed bool
	var touched string
	_, u, err := m.store.ConsumeSecret(ctx, store.Consume{
		Hash: hash, Purposes: purposes, Now: now,
		Apply: func(s *store.Secret, u *store.User) (*store.UserUpdate, error) {
			touched = u.ID // the transaction may change u
			t := true
			switch s.Purpose {
			case store.PurposeChangeEmail:
				// Bound to the address it was sent to (SECURITY.md #50).
				if s.Email != u.PendingEmail {
					return nil, errUnbound
				}
				changed = true
				up := withoutPendingEmail(store.UserUpdate{Email: &s.Email, IsVerified: &t, UpdatedAt: now, DropSecrets: true})
				return &up, nil
			default:
				if s.Email != u.Email {
					return nil, errUnbound
				}
				return &store.UserUpdate{IsVerified: &t, UpdatedAt: now}, nil
			}
		},
	})
	if touched != "" {
		m.changed(ctx, userKey(touched))
	}
	switch {
	case err == nil:
	case errors.Is(err, store.ErrNotFound), errors.Is(err, errUnbound):
		if !m.cfg.Verification.Required {
			ev.Reason = "not_required"
			return nil, ErrVerificationNotRequired
		}
		ev.Reason = "invalid_token"
		return nil, ErrInvalidCode
	case errors.Is(err, store.ErrConflict):
		ev.Reason = "email_taken"
		return nil, ErrEmailTaken
	default:
		ev.Reason = "store_error"
		return nil, fmt.Errorf("auth: verify email: %w", err)
	}
	if changed {
		ev.Type = EventEmailChanged
	}
	return u, nil
}

// isShortCode reports whether s looks like a mailed numeric code.
func isShortCode(s string) bool {
	if len(s) < 6 || len(s) > 10 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ResendVerification mails a new verification code and link to the account
// with that email, replacing the previous ones. It answers the same whether
// or not the account exists or is already verified (SECURITY.md #15): the
// lookup and the mail happen in the background.
//
// Requests count against the client's IP (Limits.IPVerificationsPerHour)
// and mail against the account's limits.
//
// Errors: [ErrInvalidEmail] for a malformed address (checked first, also
// when verification is off), [ErrVerificationNotRequired] when
// verification is off, [ErrThrottled].
func (m *Manager) ResendVerification(ctx context.Context, email string) error {
	if !m.cfg.Verification.Required {
		if _, err := NormalizeEmail(email); err != nil {
			return err
		}
		return ErrVerificationNotRequired
	}
	return m.answerNow(ctx, EventVerificationSent, email, "verify", m.cfg.Limits.IPVerificationsPerHour, m.resendVerification)
}

// resendVerification mails a new verification secret to the account of
// email, if there is one that is not verified yet.
func (m *Manager) resendVerification(ctx context.Context, now time.Time, email string, ev *Event) error {
	u, err := m.store.UserByEmail(ctx, email)
	switch {
	case errors.Is(err, store.ErrNotFound):
		ev.Reason = "unknown_email"
		return nil
	case err != nil:
		ev.Reason = "store_error"
		return err
	}
	ev.UserID = u.ID
	if u.IsVerified {
		ev.Reason = "already_verified"
		return nil
	}
	ev.Reason, err = m.sendVerification(ctx, now, u)
	return err
}
