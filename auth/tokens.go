package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-go/gatehouse/auth/internal/tokencache"
	"github.com/gatehouse-go/gatehouse/auth/jwt"
	"github.com/gatehouse-go/gatehouse/store"
)

// JWT adapts a *jwt.Issuer of package auth/jwt to a [TokenIssuer], for
// Config.Tokens.Issuer when the default (HS256 from Config.Tokens.SigningKey)
// is not enough: Ed25519 keys, or key rotation.
//
//	j, err := jwt.New(jwt.Config{Issuer: "myapp", Audience: "myapp", SigningKey: key})
//	...
//	m, err := auth.New(auth.Config{Tokens: auth.TokenConfig{Issuer: auth.JWT(j)}, ...})
//
// Errors from the issuer match [ErrTokenInvalid] and [ErrTokenExpired] (they
// are jwt.ErrInvalid and jwt.ErrExpired). [New] refuses JWT(nil).
func JWT(j *jwt.Issuer) TokenIssuer {
	return jwtIssuer{j}
}

type jwtIssuer struct{ j *jwt.Issuer }

func (t jwtIssuer) Issue(ctx context.Context, c Claims) (string, error) {
	return t.j.Issue(ctx, jwt.Claims(c))
}

func (t jwtIssuer) Verify(ctx context.Context, token string) (*Claims, error) {
	c, err := t.j.Verify(ctx, token)
	if err != nil {
		return nil, err
	}
	return (*Claims)(c), nil
}

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

// issue signs an access token for s and pairs it with refresh.
func (m *Manager) issue(ctx context.Context, s *store.Session, refresh string, now time.Time) (*TokenPair, error) {
	jti, err := m.randomBytes(16)
	if err != nil {
		return nil, err
	}
	exp := now.Add(m.cfg.Tokens.AccessTTL)
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
// Config.SessionCache on, they are read from memory while the cache's
// subscription is healthy, and take effect on another instance once its
// invalidation arrives (see [SessionCacheConfig]). With
// Config.Tokens.VerifiedCacheSize set, only the signature check and decoding
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
	s, u, err := m.sessionUser(ctx, c.SessionID)
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
// and after Config.Sessions.IdleTimeout without a refresh (#39).
//
// Errors: [ErrTokenInvalid] for any failure; reuse is also
// [ErrRefreshTokenReused]. Other errors come from the store.
func (m *Manager) Refresh(ctx context.Context, refreshToken string) (*TokenPair, error) {
	start := m.cfg.Now()
	ctx = m.deferCommits(ctx)
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
		IdleExpiresAt: now.Add(m.cfg.Sessions.IdleTimeout),
		ReuseGrace:    m.cfg.Sessions.ReuseGrace,
	}
	if c, ok := ClientFromContext(ctx); ok {
		r.IP, r.UserAgent = clientIP(c), c.UserAgent
	}
	s, u, err := m.store.RotateRefreshToken(ctx, r)
	var reuse *store.ReuseError
	switch {
	case err == nil:
		m.changed(ctx, sessionKey(s.ID))
	case errors.As(err, &reuse):
		m.changed(ctx, sessionKey(reuse.SessionID))
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
		// The rotation may have committed (or revoked a session) without
		// our knowing which: drop every cached session.
		m.changed(ctx, keyAll)
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
		m.changed(ctx, sessionKey(s.ID))
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

// verifyAccessToken checks an access token with the TokenIssuer, or, when
// the verified-token cache is on, takes the claims it verified earlier for
// the same token bytes, as long as they have not expired. An expired token
// always goes to the TokenIssuer, which reports it as such.
func (m *Manager) verifyAccessToken(ctx context.Context, token string) (*Claims, error) {
	if m.tokenCache == nil {
		return m.tokens.Verify(ctx, token)
	}
	key := tokencache.KeyOf(token)
	if c, ok := m.tokenCache.Get(key, m.cfg.Now()); ok {
		return &c, nil
	}
	c, err := m.tokens.Verify(ctx, token)
	if err != nil {
		return nil, err
	}
	m.tokenCache.Put(key, *c, c.ExpiresAt)
	return c, nil
}
