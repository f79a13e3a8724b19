package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-go/gatehouse/auth/password"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/store"
)

// ChangePassword replaces the caller's password after checking the current
// one. The caller's session goes on (and counts as freshly authenticated);
// every other session of the user ends, and pending reset and verification
// tokens die (SECURITY.md #42, #46, #53). A notice is mailed.
//
// Errors: [ErrUnauthenticated]; [ErrInvalidPassword] for a missing or wrong
// current password; [ErrWeakPassword] for a new password the policy
// refuses; [ErrBusy].
func (m *Manager) ChangePassword(ctx context.Context, id *Identity, current, next string) error {
	start := m.cfg.Now()
	if err := requireSession(id); err != nil {
		return err
	}
	ev := Event{Type: EventPasswordChange, Outcome: OutcomeFailure, UserID: id.User.ID, SessionID: id.Session.ID}
	err := m.changePassword(ctx, id, current, next, &ev)
	if err == nil {
		ev.Outcome = OutcomeSuccess
	}
	m.emit(ctx, ev, start)
	return err
}

func (m *Manager) changePassword(ctx context.Context, id *Identity, current, next string, ev *Event) error {
	u, err := m.store.UserByID(ctx, id.User.ID)
	if errors.Is(err, store.ErrNotFound) {
		ev.Reason = "unknown_user"
		return ErrUnauthenticated
	}
	if err != nil {
		ev.Reason = "store_error"
		return fmt.Errorf("auth: change password: %w", err)
	}
	pw, err := m.checkNewPassword(next, u.Email)
	if err != nil {
		ev.Reason = "weak_password"
		return err
	}
	if err := m.checkCurrentPassword(ctx, u, current, ev); err != nil {
		return err
	}
	hash, err := m.hashPassword(ctx, pw)
	if err != nil {
		ev.Reason = "hash_failed"
		return err
	}
	now := m.now()
	u, err = m.store.UpdateUser(ctx, u.ID, withoutPendingEmail(store.UserUpdate{
		PasswordHash:     &hash,
		TokensValidAfter: &now,
		UpdatedAt:        now,
		RevokeSessions:   true,
		KeepSession:      id.Session.ID,
		DropSecrets:      true,
	}))
	m.changed(ctx, userKey(id.User.ID))
	if err != nil {
		ev.Reason = "store_error"
		return fmt.Errorf("auth: change password: %w", err)
	}
	m.notifyPasswordChanged(ctx, u, now)
	return nil
}

// checkCurrentPassword confirms the caller knows the account's password.
// Wrong guesses count toward the account's throttling like failed logins
// (SECURITY.md #53).
func (m *Manager) checkCurrentPassword(ctx context.Context, u *store.User, pass string, ev *Event) error {
	if pass == "" || len(pass) > password.MaxBytes {
		ev.Reason = "wrong_password"
		return ErrInvalidPassword
	}
	// The hash slot before the throttle reservation, as in Login: a busy
	// refusal writes nothing (SECURITY.md #12).
	release, err := m.acquireHashSlot(ctx)
	if err != nil {
		ev.Reason = "hash_failed"
		return err
	}
	defer release()
	gate, err := m.openPasswordGate(ctx, u.Email, false)
	if err != nil {
		ev.Reason = "throttled"
		return err
	}
	res, err := m.compareHeld(u.PasswordHash, password.Normalize(pass))
	release()
	if err != nil {
		ev.Reason = "hash_failed"
		gate.abandoned(ctx) // no password was checked (SECURITY.md #12)
		return err
	}
	if !res.ok {
		ev.Reason = "wrong_password"
		gate.failed(ctx)
		return ErrInvalidPassword
	}
	gate.succeeded(ctx)
	return nil
}

// notifyPasswordChanged tells the user, at the stored address, that their
// password changed (SECURITY.md #48).
func (m *Manager) notifyPasswordChanged(ctx context.Context, u *store.User, at time.Time) {
	m.mail(ctx, u, mail.Data{
		Kind: mail.KindPasswordChanged,
		To:   mail.Address{Name: u.Name, Email: u.Email},
		Time: at,
	})
}

// RequestPasswordReset mails a single-use reset token to the account with
// that email. It answers the same — and as fast — whether or not the
// account exists: the lookup and the mail happen in the background
// (SECURITY.md #15). Nothing about the account changes until the token is
// used (#47); a newer request replaces an older token.
//
// Requests are limited per client IP, and mail per account: a request over
// the mail limit answers the same but sends nothing (SECURITY.md #22).
//
// Errors: [ErrInvalidEmail] for a malformed address; [ErrThrottled] when
// the client's IP made too many requests.
func (m *Manager) RequestPasswordReset(ctx context.Context, email string) error {
	return m.answerNow(ctx, EventResetRequested, email, "reset", m.cfg.Limits.IPResetRequestsPerHour, m.requestReset)
}

// requestReset mails a reset link to the account of email, if there is one
// that may have it, for a request made at now (the work runs in the
// background; limits and expiries count from the request).
func (m *Manager) requestReset(ctx context.Context, now time.Time, email string, ev *Event) error {
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
	ev.Reason, err = m.sendReset(ctx, now, u)
	return err
}

// sendReset stores a reset secret for u and mails its link, unless u is
// disabled or its mail limit is reached; it returns the reason it did not.
func (m *Manager) sendReset(ctx context.Context, now time.Time, u *store.User) (reason string, err error) {
	if !u.IsActive {
		return "disabled", nil
	}
	if !m.mayMail(ctx, now, u.ID, store.PurposeResetPassword) {
		return "mail_throttled", nil
	}
	token, hash, err := m.newToken()
	if err != nil {
		return "", err
	}
	err = m.store.PutSecret(ctx, &store.Secret{
		Hash:      hash,
		Purpose:   store.PurposeResetPassword,
		UserID:    u.ID,
		Email:     u.Email,
		CreatedAt: now,
		ExpiresAt: now.Add(m.cfg.Password.ResetTTL),
	})
	if err != nil {
		return "store_error", err
	}
	m.mail(ctx, u, mail.Data{
		Kind:      mail.KindResetPassword,
		To:        mail.Address{Name: u.Name, Email: u.Email},
		Token:     token,
		Link:      m.link("/reset-password", token),
		ExpiresIn: m.cfg.Password.ResetTTL,
		Time:      now,
	})
	return "", nil
}

// ResetPassword sets a new password with a token from a reset message. The
// token is single-use and expires (Config.Password.ResetTTL); using it ends
// every session of the user and kills other pending tokens, and marks the
// address verified (the token proves it). It does not log the user in
// (SECURITY.md #45–#48). A notice is mailed.
//
// Errors: [ErrTokenInvalid] for a wrong, expired or used token;
// [ErrWeakPassword]; [ErrBusy].
func (m *Manager) ResetPassword(ctx context.Context, token, newPassword string) error {
	start := m.cfg.Now()
	ev := Event{Type: EventResetCompleted, Outcome: OutcomeFailure}
	err := m.resetPassword(ctx, token, newPassword, &ev)
	if err == nil {
		ev.Outcome = OutcomeSuccess
	}
	m.emit(ctx, ev, start)
	return err
}

func (m *Manager) resetPassword(ctx context.Context, token, newPassword string, ev *Event) error {
	hash, ok := tokenHash(token)
	if !ok {
		ev.Reason = "malformed"
		return ErrTokenInvalid
	}
	// The policy's context words need the user, known only inside the
	// consume; everything else is checked before the (slow) hash, and
	// only the user's email is left for inside.
	if err := m.cfg.Password.Policy.Check(newPassword, m.cfg.ServiceName); err != nil {
		ev.Reason = "weak_password"
		return err
	}
	pw := password.Normalize(newPassword)
	pwHash, err := m.hashPassword(ctx, pw)
	if err != nil {
		ev.Reason = "hash_failed"
		return err
	}
	now := m.now()
	var touched string
	_, u, err := m.store.ConsumeSecret(ctx, store.Consume{
		Hash: hash, Purposes: []store.Purpose{store.PurposeResetPassword}, Now: now,
		Apply: func(s *store.Secret, u *store.User) (*store.UserUpdate, error) {
			touched = u.ID // the transaction may change u
			if s.Email != u.Email {
				return nil, errUnbound
			}
			if err := m.cfg.Password.Policy.CheckContext(pw, u.Email); err != nil {
				return nil, err
			}
			t := true
			up := withoutPendingEmail(store.UserUpdate{
				PasswordHash:     &pwHash,
				IsVerified:       &t,
				TokensValidAfter: &now,
				UpdatedAt:        now,
				RevokeSessions:   true,
				DropSecrets:      true,
			})
			return &up, nil
		},
	})
	if touched != "" {
		m.changed(ctx, userKey(touched))
	}
	var perr *password.PolicyError
	switch {
	case err == nil:
	case errors.As(err, &perr):
		ev.Reason = "weak_password"
		return err
	case errors.Is(err, store.ErrNotFound), errors.Is(err, errUnbound):
		ev.Reason = "invalid_token"
		return ErrTokenInvalid
	default:
		ev.Reason = "store_error"
		return fmt.Errorf("auth: reset password: %w", err)
	}
	ev.UserID = u.ID
	m.clearPasswordFailures(ctx, u.Email)
	m.notifyPasswordChanged(ctx, u, now)
	return nil
}
