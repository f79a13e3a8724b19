package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-go/gatehouse/auth/password"
	"github.com/gatehouse-go/gatehouse/store"
)

// LoginResult is the outcome of a successful [Manager.Login].
type LoginResult struct {
	User *store.User
	// Session and Tokens are set when the login is complete.
	Session *store.Session
	Tokens  *TokenPair
	// Challenge is set instead of Session and Tokens when the password was
	// right but the account also needs a second factor (Config.Factors):
	// answer it with [Manager.CompleteLogin]. Code that handles logins must
	// check it; a result with a Challenge carries no tokens.
	Challenge *Challenge
}

// Challenge asks for a second factor to complete a login.
type Challenge struct {
	// Token identifies the half-finished login; it is a secret, stored
	// only as a hash.
	Token     string
	ExpiresAt time.Time
	// Methods lists the methods the user can answer with: [MethodTOTP]
	// when the user has a TOTP factor, [MethodPasskey] when they have a
	// passkey (and passkeys are on) and, while the user has unused
	// recovery codes, [MethodRecoveryCode].
	Methods []string
}

// Login checks an email and password and, when they are right, starts a
// session and returns its tokens — or, for a user with a confirmed second
// factor, returns only a [Challenge] to answer with [Manager.CompleteLogin]. Every failure path runs exactly one
// password hash, so unknown emails cost what wrong passwords do
// (SECURITY.md #14).
//
// Attempts are throttled per account (known or not) and per client IP; see
// [Limits].
//
// Errors: [ErrInvalidCredentials] for an unknown email or a wrong password
// alike; [ErrInvalidEmail] for a malformed email; [ErrThrottled] (a
// *[ThrottledError]) for known and unknown emails alike; only after a
// correct password, [ErrAccountDisabled] or [ErrEmailNotVerified]; [ErrBusy].
func (m *Manager) Login(ctx context.Context, email, pass string) (*LoginResult, error) {
	start := m.cfg.Now()
	ctx = m.deferCommits(ctx)
	ev := Event{Type: EventLogin, Outcome: OutcomeFailure}
	res, err := m.login(ctx, email, pass, &ev)
	if err == nil {
		ev.Outcome = OutcomeSuccess
	}
	m.emit(ctx, ev, start)
	return res, err
}

func (m *Manager) login(ctx context.Context, email, pass string, ev *Event) (*LoginResult, error) {
	// Taken before the user is read: a password change that lands after
	// this read is newer than the session, which then dies (SECURITY.md #72).
	authAt := m.now()
	if len(pass) > password.MaxBytes {
		ev.Reason = "password_too_long"
		return nil, ErrInvalidCredentials
	}
	norm, err := NormalizeEmail(email)
	if err != nil {
		ev.Reason = "invalid_email"
		return nil, err
	}
	pass = password.Normalize(pass)
	// The hash slot first, then the throttle reservation: a login that
	// finds no slot before its deadline is refused (ErrBusy) having written
	// nothing, so logins beyond the hashing capacity cost no store writes
	// (SECURITY.md #12).
	release, err := m.acquireHashSlot(ctx)
	if err != nil {
		ev.Reason = "hash_failed"
		return nil, err
	}
	defer release()
	gate, err := m.openPasswordGate(ctx, norm, true)
	if err != nil {
		ev.Reason = "throttled"
		if !errors.Is(err, ErrThrottled) {
			ev.Reason = "store_error"
		}
		return nil, err
	}
	u, err := m.store.UserByEmail(ctx, norm)
	if errors.Is(err, store.ErrNotFound) {
		ev.Reason = "unknown_email"
		err := m.dummyCompareHeld(pass)
		release()
		if err != nil {
			ev.Reason = "hash_failed"
			gate.abandoned(ctx) // no password was checked (SECURITY.md #12)
			return nil, err
		}
		gate.failed(ctx)
		return nil, ErrInvalidCredentials
	}
	if err != nil {
		ev.Reason = "store_error"
		return nil, fmt.Errorf("auth: login: %w", err)
	}
	ev.UserID = u.ID
	res, err := m.compareHeld(u.PasswordHash, pass)
	release()
	if err != nil {
		ev.Reason = "hash_failed"
		gate.abandoned(ctx) // no password was checked (SECURITY.md #12)
		return nil, err
	}
	if !res.ok {
		ev.Reason = "wrong_password"
		gate.failed(ctx)
		return nil, ErrInvalidCredentials
	}
	gate.succeeded(ctx)
	if err := m.mayLogIn(u, ev); err != nil {
		return nil, err
	}
	if res.rehash {
		m.rehash(ctx, u, pass)
	}
	return m.challengeOrFinish(ctx, u, authAt, ev)
}

// challengeOrFinish ends a first factor that has succeeded at authAt: in a
// second-factor challenge when the user has a factor, else in the session
// (finishLogin).
func (m *Manager) challengeOrFinish(ctx context.Context, u *store.User, authAt time.Time, ev *Event) (*LoginResult, error) {
	if m.factors != nil {
		ch, err := m.challengeFor(ctx, u, authAt)
		if err != nil {
			ev.Reason = "store_error"
			return nil, err
		}
		if ch != nil {
			ev.Type = EventLoginChallenge
			return &LoginResult{User: u, Challenge: ch}, nil
		}
	}
	return m.finishLogin(ctx, u, authAt, ev)
}

// finishLogin starts the session of a login whose every step has
// succeeded (the password, and the second factor when there is one).
func (m *Manager) finishLogin(ctx context.Context, u *store.User, authAt time.Time, ev *Event) (*LoginResult, error) {
	s, pair, err := m.startSession(ctx, u, authAt)
	if err != nil {
		ev.Reason = "store_error"
		return nil, err
	}
	ev.SessionID = s.ID
	u.LastLoginAt = s.CreatedAt
	return &LoginResult{User: u, Session: s, Tokens: pair}, nil
}

// rehash replaces u's password hash with one from the current Hasher. A
// failure is logged; the login goes on (SECURITY.md #2).
func (m *Manager) rehash(ctx context.Context, u *store.User, pass string) {
	hash, err := m.hashPassword(ctx, pass)
	if err == nil {
		var nu *store.User
		nu, err = m.store.UpdateUser(ctx, u.ID, store.UserUpdate{PasswordHash: &hash, UpdatedAt: m.now()})
		m.changed(ctx, userKey(u.ID))
		if err == nil {
			*u = *nu
		}
	}
	if err != nil {
		m.log.WarnContext(ctx, "gatehouse: upgrading a password hash failed", "user_id", u.ID, "error", err.Error())
	}
}

// startSession creates a session (a new refresh family) for u and issues
// its first tokens.
func (m *Manager) startSession(ctx context.Context, u *store.User, authAt time.Time) (*store.Session, *TokenPair, error) {
	id, err := m.newID()
	if err != nil {
		return nil, nil, err
	}
	refresh, hash, err := m.newToken()
	if err != nil {
		return nil, nil, err
	}
	now := m.now()
	s := &store.Session{
		ID:              id,
		UserID:          u.ID,
		CreatedAt:       now,
		AuthenticatedAt: authAt,
		LastUsedAt:      now,
		ExpiresAt:       now.Add(m.cfg.Sessions.TTL),
		IdleExpiresAt:   now.Add(m.cfg.Sessions.IdleTimeout),
	}
	if c, ok := ClientFromContext(ctx); ok {
		s.IP, s.UserAgent = clientIP(c), c.UserAgent
	}
	err = m.store.CreateSession(ctx, s, hash)
	// A new session moves the user's LastLoginAt.
	m.changed(ctx, userKey(u.ID))
	if err != nil {
		return nil, nil, fmt.Errorf("auth: creating session: %w", err)
	}
	pair, err := m.issue(ctx, s, refresh, now)
	if err != nil {
		return nil, nil, err
	}
	return s, pair, nil
}

// mayLogIn refuses a login of u, whose credential was right, when the
// account is disabled or, with Verification.Required, unverified, and
// notes why in ev.
func (m *Manager) mayLogIn(u *store.User, ev *Event) error {
	if !u.IsActive {
		ev.Reason = "disabled"
		return ErrAccountDisabled
	}
	if m.cfg.Verification.Required && !u.IsVerified {
		ev.Reason = "not_verified"
		return ErrEmailNotVerified
	}
	return nil
}
