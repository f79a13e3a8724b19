package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/store"
)

// challengeFor returns the login challenge u must answer, or nil when u
// has no confirmed factor. The challenge is stored hashed and bound to the
// password hash and authAt (SECURITY.md #80). A user without factors costs
// no store call: the store keeps u.HasFactors.
func (m *Manager) challengeFor(ctx context.Context, u *store.User, authAt time.Time) (*Challenge, error) {
	if !u.HasFactors {
		return nil, nil
	}
	fs, err := m.confirmedFactors(ctx, u.ID)
	if err != nil || len(fs) == 0 {
		return nil, err
	}
	var methods []string
	var hasTOTP, hasPasskey bool
	for _, f := range fs {
		hasTOTP = hasTOTP || f.Type == store.FactorTOTP
		hasPasskey = hasPasskey || f.Type == store.FactorPasskey
	}
	if hasTOTP {
		methods = append(methods, MethodTOTP)
	}
	if hasPasskey && m.passkeys != nil {
		methods = append(methods, MethodPasskey)
	}
	if n, err := m.factors.CountRecoveryCodes(ctx, u.ID); err != nil {
		return nil, fmt.Errorf("auth: login challenge: %w", err)
	} else if n > 0 {
		methods = append(methods, MethodRecoveryCode)
	}
	token, hash, err := m.newToken()
	if err != nil {
		return nil, err
	}
	expires := m.now().Add(m.cfg.Factors.ChallengeTTL)
	if err := m.factors.PutChallenge(ctx, &store.LoginChallenge{
		Hash: hash, UserID: u.ID, Binding: passwordBinding(u), AuthenticatedAt: authAt, ExpiresAt: expires,
	}); err != nil {
		return nil, fmt.Errorf("auth: login challenge: %w", err)
	}
	return &Challenge{Token: token, ExpiresAt: expires, Methods: methods}, nil
}

// passwordBinding is the digest of u's password hash a challenge keeps: a
// password change or reset in between makes it differ.
func passwordBinding(u *store.User) []byte {
	sum := sha256.Sum256([]byte("gatehouse challenge\x00" + u.PasswordHash))
	return sum[:]
}

// CompleteLogin finishes a login that [Manager.Login] answered with a
// [Challenge]: method is [MethodTOTP], [MethodRecoveryCode] or
// [MethodPasskey] and code the user's answer (for a passkey, the browser's
// assertion JSON for the options of [Manager.PasskeyChallengeOptions]). A right answer starts the session and returns its tokens,
// as Login does for users without factors; the challenge is then spent.
//
// A challenge takes [MaxChallengeAttempts] answers, right or wrong, and
// lasts Config.Factors.ChallengeTTL; it is refused when the password
// changed or the account was disabled since. Wrong answers count against
// the account under the same limits as wrong passwords ([Limits]), on a
// counter of their own that only a right answer clears, so knowing the
// password does not reset it (SECURITY.md #79); an answer refused with
// [ErrThrottled] still spends one of the challenge's attempts. Using a recovery
// code reports an [EventRecoveryCodeUsed] and mails the user.
//
// Errors: [ErrFactorsUnavailable]; [ErrInvalidChallenge] for an unknown,
// used, expired, exhausted or outdated challenge; [ErrInvalidCode] for a
// wrong or reused code or an unknown method; [ErrInvalidPasskey] for a
// passkey assertion that does not verify (a dead or missing passkey
// ceremony is [ErrInvalidChallenge]); [ErrThrottled];
// [ErrAccountDisabled].
func (m *Manager) CompleteLogin(ctx context.Context, challengeToken, method, code string) (*LoginResult, error) {
	start := m.cfg.Now()
	ctx = m.deferCommits(ctx)
	ev := Event{Type: EventLogin, Outcome: OutcomeFailure, Reason: "second_factor"}
	res, err := m.completeLogin(ctx, challengeToken, method, code, &ev)
	if err == nil {
		ev.Outcome, ev.Reason = OutcomeSuccess, ""
	}
	m.emit(ctx, ev, start)
	return res, err
}

func (m *Manager) completeLogin(ctx context.Context, token, method, code string, ev *Event) (*LoginResult, error) {
	fs, err := m.mfaStore()
	if err != nil {
		ev.Reason = "unavailable"
		return nil, err
	}
	hash, ok := tokenHash(token)
	if !ok {
		ev.Reason = "invalid_challenge"
		return nil, ErrInvalidChallenge
	}
	now := m.now()
	ch, u, err := fs.ReserveChallengeAttempt(ctx, hash, now, MaxChallengeAttempts)
	switch {
	case errors.Is(err, store.ErrNotFound):
		ev.Reason = "invalid_challenge"
		return nil, ErrInvalidChallenge
	case errors.Is(err, store.ErrExhausted):
		ev.Reason = "challenge_exhausted"
		return nil, ErrInvalidChallenge
	case err != nil:
		ev.Reason = "store_error"
		return nil, fmt.Errorf("auth: complete login: %w", err)
	}
	ev.UserID = u.ID
	if !constantTimeEqual(ch.Binding, passwordBinding(u)) || ch.AuthenticatedAt.Before(u.TokensValidAfter) {
		ev.Reason = "password_changed"
		m.dropChallenge(ctx, fs, hash)
		return nil, ErrInvalidChallenge
	}
	if !u.IsActive {
		ev.Reason = "disabled"
		m.dropChallenge(ctx, fs, hash)
		return nil, ErrAccountDisabled
	}
	gate, err := m.openFactorGate(ctx, u.ID)
	if err != nil {
		ev.Reason = "throttled"
		if !errors.Is(err, ErrThrottled) {
			ev.Reason = "store_error"
		}
		return nil, err
	}
	usedRecovery := false
	switch method {
	case MethodTOTP:
		err = m.answerTOTP(ctx, fs, u, code, now, ev)
	case MethodRecoveryCode:
		err = m.answerRecoveryCode(ctx, fs, u, code, ev)
		usedRecovery = err == nil
	case MethodPasskey:
		err = m.answerPasskey(ctx, u, hash, code, ev)
	default:
		ev.Reason = "unknown_method"
		err = ErrInvalidCode
	}
	if err != nil {
		if errors.Is(err, ErrInvalidCode) || errors.Is(err, ErrInvalidPasskey) {
			gate.failed(ctx)
		}
		return nil, err
	}
	// The answer was right: spend the challenge. Of concurrent right
	// answers only one gets here (the factor's step or the recovery code
	// is single-use), and only one deletes the challenge.
	if err := fs.DeleteChallenge(ctx, hash); err != nil {
		ev.Reason = "invalid_challenge"
		if !errors.Is(err, store.ErrNotFound) {
			ev.Reason = "store_error"
			return nil, fmt.Errorf("auth: complete login: %w", err)
		}
		return nil, ErrInvalidChallenge
	}
	gate.succeeded(ctx)
	if usedRecovery {
		m.emit(ctx, Event{Type: EventRecoveryCodeUsed, Outcome: OutcomeSuccess, UserID: u.ID}, time.Time{})
		m.notifyFactor(ctx, u, mail.KindRecoveryCodeUsed, now, false)
	}
	return m.finishLogin(ctx, u, ch.AuthenticatedAt, ev)
}

// answerTOTP checks code against each of u's confirmed TOTP factors.
func (m *Manager) answerTOTP(ctx context.Context, fs store.SecondFactors, u *store.User, code string, now time.Time, ev *Event) error {
	factors, err := m.confirmedFactors(ctx, u.ID)
	if err != nil {
		ev.Reason = "store_error"
		return err
	}
	err = ErrInvalidCode
	ev.Reason = "wrong_code"
	for i := range factors {
		if factors[i].Type != store.FactorTOTP {
			continue
		}
		err = m.useTOTP(ctx, fs, &factors[i], code, now, ev)
		if err == nil || !errors.Is(err, ErrInvalidCode) || ev.Reason == "reused_code" {
			return err
		}
	}
	return err
}

// answerRecoveryCode spends one of u's recovery codes.
func (m *Manager) answerRecoveryCode(ctx context.Context, fs store.SecondFactors, u *store.User, code string, ev *Event) error {
	b, ok := parseRecoveryCode(code)
	if !ok {
		ev.Reason = "wrong_code"
		return ErrInvalidCode
	}
	_, err := fs.ConsumeRecoveryCode(ctx, u.ID, recoveryHash(u.ID, b))
	switch {
	case errors.Is(err, store.ErrNotFound):
		ev.Reason = "wrong_code"
		return ErrInvalidCode
	case err != nil:
		ev.Reason = "store_error"
		return fmt.Errorf("auth: recovery code: %w", err)
	}
	return nil
}

// dropChallenge deletes a challenge that can never be answered; failures
// are logged (it expires anyway).
func (m *Manager) dropChallenge(ctx context.Context, fs store.SecondFactors, hash []byte) {
	if err := fs.DeleteChallenge(ctx, hash); err != nil && !errors.Is(err, store.ErrNotFound) {
		m.log.ErrorContext(ctx, "gatehouse: deleting a login challenge failed", "error", err.Error())
	}
}
