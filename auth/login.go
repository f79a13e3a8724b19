package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-go/gatehouse/auth/jwt"
	"github.com/gatehouse-go/gatehouse/auth/password"
	"github.com/gatehouse-go/gatehouse/store"
)

// TokenPair is what a login or a refresh hands the client.
type TokenPair struct {
	// AccessToken is a signed JWT for the Authorization: Bearer header.
	AccessToken          string
	AccessTokenExpiresAt time.Time
	// RefreshToken is an opaque 256-bit token, good for one refresh. The
	// session must refresh before RefreshTokenExpiresAt (the idle limit,
	// capped at the session's absolute end).
	RefreshToken          string
	RefreshTokenExpiresAt time.Time
}

// LoginResult is the outcome of a successful [Manager.Login].
type LoginResult struct {
	User *store.User
	// Session and Tokens are set when the login is complete.
	Session *store.Session
	Tokens  *TokenPair
	// Challenge is set instead of Session and Tokens when the password was
	// right but the account also needs a second factor. This version has no
	// second factors, so it is always nil; code that handles logins should
	// still check it, so that it keeps working when they arrive.
	Challenge *Challenge
}

// Challenge asks for a second factor to complete a login.
type Challenge struct {
	// Token identifies the half-finished login; it is a secret.
	Token     string
	ExpiresAt time.Time
	// Methods lists the factors the user can answer with.
	Methods []string
}

// Login checks an email and password and, when they are right, starts a
// session and returns its tokens. Every failure path runs exactly one
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
		if err := m.dummyCompare(ctx, pass); err != nil {
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
	res, err := m.comparePassword(ctx, u.PasswordHash, pass)
	if err != nil {
		ev.Reason = "hash_failed"
		return nil, err
	}
	if !res.ok {
		ev.Reason = "wrong_password"
		gate.failed(ctx)
		return nil, ErrInvalidCredentials
	}
	gate.succeeded(ctx)
	if !u.IsActive {
		ev.Reason = "disabled"
		return nil, ErrAccountDisabled
	}
	if m.cfg.RequireEmailVerification && !u.IsVerified {
		ev.Reason = "not_verified"
		return nil, ErrEmailNotVerified
	}
	if res.rehash {
		m.rehash(ctx, u, pass)
	}
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
		ExpiresAt:       now.Add(m.cfg.RefreshTokenTTL),
		IdleExpiresAt:   now.Add(m.cfg.RefreshIdleTimeout),
	}
	if c, ok := ClientFromContext(ctx); ok {
		s.IP, s.UserAgent = clientIP(c), c.UserAgent
	}
	if err := m.store.CreateSession(ctx, s, hash); err != nil {
		return nil, nil, fmt.Errorf("auth: creating session: %w", err)
	}
	pair, err := m.issue(ctx, s, refresh, now)
	if err != nil {
		return nil, nil, err
	}
	return s, pair, nil
}

// issue signs an access token for s and pairs it with refresh.
func (m *Manager) issue(ctx context.Context, s *store.Session, refresh string, now time.Time) (*TokenPair, error) {
	jti, err := m.randomBytes(16)
	if err != nil {
		return nil, err
	}
	exp := now.Add(m.cfg.AccessTokenTTL)
	if exp.After(s.ExpiresAt) {
		exp = s.ExpiresAt
	}
	if exp.Sub(now) < time.Second {
		// The session ends within a second: not worth a token.
		return nil, ErrTokenInvalid
	}
	access, err := m.tokens.Issue(ctx, Claims{
		UserID:    s.UserID,
		SessionID: s.ID,
		ID:        encodeID(jti),
		IssuedAt:  now,
		ExpiresAt: exp,
	})
	if err != nil {
		return nil, fmt.Errorf("auth: issuing access token: %w", err)
	}
	return &TokenPair{
		AccessToken:           access,
		AccessTokenExpiresAt:  exp,
		RefreshToken:          refresh,
		RefreshTokenExpiresAt: s.IdleExpiresAt,
	}, nil
}

// Authenticate verifies an access token and returns who it belongs to. The
// session and user are read from the store on every call, so logout,
// revocation, deactivation, deletion, password changes and superuser
// demotion take effect immediately (SECURITY.md #40, #42, #59). With
// Config.VerifiedTokenCacheSize set, only the signature check and decoding
// of a token seen before are skipped, until the token's expiry.
//
// Errors: [ErrTokenExpired] for a genuine but expired token, [ErrTokenInvalid]
// for everything else wrong with it (malformed, forged, revoked, a user who
// is gone or disabled). Other errors come from the store: fail closed.
func (m *Manager) Authenticate(ctx context.Context, token string) (*Identity, error) {
	if len(token) == 0 || len(token) > jwt.MaxTokenLen { // refused before any parsing (SECURITY.md #33)
		return nil, ErrTokenInvalid
	}
	c, err := m.verifyAccessToken(ctx, token)
	if err != nil {
		if errors.Is(err, ErrTokenExpired) {
			return nil, ErrTokenExpired
		}
		return nil, ErrTokenInvalid
	}
	s, u, err := m.store.SessionUser(ctx, c.SessionID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrTokenInvalid
	}
	if err != nil {
		return nil, fmt.Errorf("auth: authenticate: %w", err)
	}
	if s.UserID != c.UserID || u.ID != c.UserID || !m.now().Before(s.ExpiresAt) || !credentialsCurrent(s, u) {
		return nil, ErrTokenInvalid
	}
	return &Identity{User: u, Session: s, Claims: c}, nil
}

// Refresh exchanges a refresh token for a new pair. The presented token
// stops working (rotation); presenting it again later revokes the whole
// session, including the newest refresh token and every access token of the
// session (SECURITY.md #36, #37). A session also ends at its absolute limit
// and after Config.RefreshIdleTimeout without a refresh (#39).
//
// Errors: [ErrTokenInvalid] for any failure; reuse is also
// [ErrRefreshTokenReused]. Other errors come from the store.
func (m *Manager) Refresh(ctx context.Context, refreshToken string) (*TokenPair, error) {
	start := m.cfg.Now()
	ev := Event{Type: EventRefresh, Outcome: OutcomeFailure}
	pair, err := m.refresh(ctx, refreshToken, &ev)
	if err == nil {
		ev.Outcome = OutcomeSuccess
	}
	m.emit(ctx, ev, start)
	return pair, err
}

func (m *Manager) refresh(ctx context.Context, refreshToken string, ev *Event) (*TokenPair, error) {
	old, ok := tokenHash(refreshToken)
	if !ok {
		ev.Reason = "malformed"
		return nil, ErrTokenInvalid
	}
	next, hash, err := m.newToken()
	if err != nil {
		return nil, err
	}
	now := m.now()
	r := store.Rotation{
		Old: old, New: hash, Now: now,
		IdleExpiresAt: now.Add(m.cfg.RefreshIdleTimeout),
		ReuseGrace:    m.cfg.RefreshReuseGrace,
	}
	if c, ok := ClientFromContext(ctx); ok {
		r.IP, r.UserAgent = clientIP(c), c.UserAgent
	}
	s, u, err := m.store.RotateRefreshToken(ctx, r)
	var reuse *store.ReuseError
	switch {
	case err == nil:
	case errors.As(err, &reuse):
		ev.Type, ev.UserID, ev.SessionID = EventRefreshReuse, reuse.UserID, reuse.SessionID
		ev.Reason = "reused"
		if !reuse.Revoked {
			ev.Reason = "reused_within_grace"
		}
		return nil, fmt.Errorf("%w: %w", ErrRefreshTokenReused, ErrTokenInvalid)
	case errors.Is(err, store.ErrNotFound):
		ev.Reason = "unknown_or_expired"
		return nil, ErrTokenInvalid
	default:
		ev.Reason = "store_error"
		return nil, fmt.Errorf("auth: refresh: %w", err)
	}
	ev.UserID, ev.SessionID = u.ID, s.ID
	if !credentialsCurrent(s, u) {
		// The session outlived its credentials; end it.
		ev.Reason = "session_invalidated"
		if err := m.store.RevokeSession(ctx, u.ID, s.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			m.log.ErrorContext(ctx, "gatehouse: revoking an invalidated session failed", "user_id", u.ID, "error", err.Error())
		}
		return nil, ErrTokenInvalid
	}
	return m.issue(ctx, s, next, now)
}

// credentialsCurrent reports whether session s still stands for its user u:
// the account is active and no password change, reset or "log out
// everywhere" happened after the session's login.
func credentialsCurrent(s *store.Session, u *store.User) bool {
	return u.IsActive && !s.AuthenticatedAt.Before(u.TokensValidAfter)
}
