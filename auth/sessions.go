package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

// Logout ends the caller's session: its refresh token and every access
// token of the session stop working at once (SECURITY.md #40). Logging out
// a session that is already gone is not an error.
//
// Errors: [ErrUnauthenticated] when id is nil.
func (m *Manager) Logout(ctx context.Context, id *Identity) error {
	start := m.cfg.Now()
	if err := requireSession(id); err != nil {
		return err
	}
	ev := Event{Type: EventLogout, Outcome: OutcomeSuccess, UserID: id.User.ID, SessionID: id.Session.ID}
	ctx = m.deferCommits(ctx)
	err := m.store.RevokeSession(ctx, id.User.ID, id.Session.ID)
	m.changed(ctx, sessionKey(id.Session.ID))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		ev.Outcome, ev.Reason = OutcomeFailure, "store_error"
		m.emit(ctx, ev, start)
		return fmt.Errorf("auth: logout: %w", err)
	}
	m.emit(ctx, ev, start)
	return nil
}

// RenewSession replaces the caller's session with a new one — a new
// session ID, refresh token and access token — and ends the old one, whose
// tokens stop working at once. Call it when the privileges behind a
// session change (a password change made from it, a second factor added,
// a superuser grant to oneself), so that a session ID an attacker may have
// planted or copied before the change is worth nothing after it (session
// fixation, SECURITY.md #67). Package middleware's cookie mode calls it
// for you (Guard.RenewSession, Guard.ChangePassword).
//
// The new session is the same login continued: it keeps the old one's
// AuthenticatedAt (as the store has it now, so a password change just made
// from the session counts) and its absolute end (ExpiresAt: renewing never
// makes a session last longer), and takes the client from ctx. The result
// is that of a login: User, Session and Tokens are set, Challenge is nil.
//
// Errors: [ErrUnauthenticated] when id is nil or its session has ended
// (revoked, expired, outlived by a password change, or its user disabled);
// [ErrTokenInvalid] when the session ends within a second. Other errors
// come from the store; then the old session is left as it was.
func (m *Manager) RenewSession(ctx context.Context, id *Identity) (*LoginResult, error) {
	if err := requireSession(id); err != nil {
		return nil, err
	}
	ev := Event{Type: EventSessionRenewed, Outcome: OutcomeFailure, UserID: id.User.ID, SessionID: id.Session.ID}
	res, err := m.renewSession(ctx, id, &ev)
	if err == nil {
		ev.Outcome = OutcomeSuccess
	}
	m.emit(ctx, ev, time.Time{})
	return res, err
}

func (m *Manager) renewSession(ctx context.Context, id *Identity, ev *Event) (*LoginResult, error) {
	old, u, err := m.store.SessionUser(ctx, id.Session.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		ev.Reason = "session_gone"
		return nil, ErrUnauthenticated
	case err != nil:
		ev.Reason = "store_error"
		return nil, fmt.Errorf("auth: renew session: %w", err)
	}
	now := m.now()
	if old.UserID != id.User.ID || u.ID != id.User.ID || !old.Live(now) || !credentialsCurrent(old, u) {
		ev.Reason = "session_ended"
		return nil, ErrUnauthenticated
	}
	sid, err := m.newID()
	if err != nil {
		return nil, err
	}
	refresh, hash, err := m.newToken()
	if err != nil {
		return nil, err
	}
	s := &store.Session{
		ID:              sid,
		UserID:          u.ID,
		CreatedAt:       now,
		AuthenticatedAt: old.AuthenticatedAt,
		LastUsedAt:      now,
		ExpiresAt:       old.ExpiresAt,
		IdleExpiresAt:   now.Add(m.cfg.Sessions.IdleTimeout),
		IP:              old.IP,
		UserAgent:       old.UserAgent,
	}
	if s.IdleExpiresAt.After(s.ExpiresAt) {
		s.IdleExpiresAt = s.ExpiresAt
	}
	if c, ok := ClientFromContext(ctx); ok {
		s.IP, s.UserAgent = clientIP(c), c.UserAgent
	}
	pair, err := m.issue(ctx, s, refresh, now)
	if err != nil {
		ev.Reason = "session_ending"
		return nil, err
	}
	err = m.store.CreateSession(ctx, s, hash)
	// A new session moves the user's LastLoginAt.
	m.changed(ctx, userKey(u.ID))
	if err != nil {
		ev.Reason = "store_error"
		return nil, fmt.Errorf("auth: renew session: %w", err)
	}
	err = m.store.RevokeSession(ctx, u.ID, old.ID)
	m.changed(ctx, sessionKey(old.ID))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		// Both would be live: take the new one back and leave the old
		// session as it was.
		ev.Reason = "store_error"
		if err := m.store.RevokeSession(ctx, u.ID, s.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			m.log.ErrorContext(ctx, "gatehouse: ending a half-renewed session failed", "user_id", u.ID, "error", err.Error())
		}
		m.changed(ctx, sessionKey(s.ID))
		return nil, fmt.Errorf("auth: renew session: %w", err)
	}
	ev.SessionID = s.ID
	return &LoginResult{User: u, Session: s, Tokens: pair}, nil
}

// LogoutEverywhere ends every session of the caller, this one included, and
// returns how many ended.
//
// Errors: [ErrUnauthenticated].
func (m *Manager) LogoutEverywhere(ctx context.Context, id *Identity) (int, error) {
	start := m.cfg.Now()
	if err := requireUser(id); err != nil {
		return 0, err
	}
	n, err := m.store.RevokeUserSessions(ctx, id.User.ID, "")
	m.changed(ctx, userKey(id.User.ID))
	ev := Event{Type: EventLogoutEverywhere, Outcome: OutcomeSuccess, UserID: id.User.ID, SessionID: sessionID(id)}
	if err != nil {
		ev.Outcome, ev.Reason = OutcomeFailure, "store_error"
		m.emit(ctx, ev, start)
		return 0, fmt.Errorf("auth: logout everywhere: %w", err)
	}
	m.emit(ctx, ev, start)
	return n, nil
}

// Sessions lists the live sessions of a user, newest first: the caller's
// own when userID is empty or the caller's ID, anyone's for a superuser.
//
// Errors: [ErrUnauthenticated], [ErrForbidden], [ErrNotFound] for a
// superuser naming an unknown user.
func (m *Manager) Sessions(ctx context.Context, id *Identity, userID string) ([]store.Session, error) {
	target, err := m.sessionTarget(ctx, id, userID)
	if err != nil {
		return nil, err
	}
	ss, err := m.store.UserSessions(ctx, target, m.now())
	if err != nil {
		return nil, fmt.Errorf("auth: sessions: %w", err)
	}
	return ss, nil
}

// RevokeSession ends one session of a user: one of the caller's own, or
// for a superuser one of userID's (empty userID means the caller).
//
// Errors: [ErrUnauthenticated], [ErrForbidden], [ErrNotFound] when the
// session does not exist or is not that user's.
func (m *Manager) RevokeSession(ctx context.Context, id *Identity, userID, sessionID string) error {
	start := m.cfg.Now()
	target, err := m.sessionTarget(ctx, id, userID)
	if err != nil {
		return err
	}
	ev := Event{Type: EventSessionRevoked, Outcome: OutcomeSuccess, UserID: target, SessionID: sessionID}
	if target != id.User.ID {
		ev.ActorID = id.User.ID
	}
	err = m.store.RevokeSession(ctx, target, sessionID)
	m.changed(ctx, sessionKey(sessionID))
	switch {
	case errors.Is(err, store.ErrNotFound):
		ev.Outcome, ev.Reason = OutcomeFailure, "not_found"
		err = ErrNotFound
	case err != nil:
		ev.Outcome, ev.Reason = OutcomeFailure, "store_error"
		err = fmt.Errorf("auth: revoke session: %w", err)
	}
	m.emit(ctx, ev, start)
	return err
}

// RevokeOtherSessions ends every session of a user except the caller's
// current one, and returns how many ended. userID is as for
// [Manager.RevokeSession]; for a superuser ending another user's sessions,
// all of them end.
//
// Errors: [ErrUnauthenticated], [ErrForbidden], [ErrNotFound] for a
// superuser naming an unknown user.
func (m *Manager) RevokeOtherSessions(ctx context.Context, id *Identity, userID string) (int, error) {
	start := m.cfg.Now()
	target, err := m.sessionTarget(ctx, id, userID)
	if err != nil {
		return 0, err
	}
	keep := ""
	ev := Event{Type: EventLogoutEverywhere, Outcome: OutcomeSuccess, UserID: target, SessionID: sessionID(id)}
	if target == id.User.ID {
		keep = sessionID(id)
	} else {
		ev.ActorID = id.User.ID
	}
	n, err := m.store.RevokeUserSessions(ctx, target, keep)
	m.changed(ctx, userKey(target))
	if err != nil {
		ev.Outcome, ev.Reason = OutcomeFailure, "store_error"
		m.emit(ctx, ev, start)
		return 0, fmt.Errorf("auth: revoke sessions: %w", err)
	}
	m.emit(ctx, ev, start)
	return n, nil
}

// sessionTarget resolves whose sessions a call is about and checks that
// the caller may touch them.
func (m *Manager) sessionTarget(ctx context.Context, id *Identity, userID string) (string, error) {
	if err := requireUser(id); err != nil {
		return "", err
	}
	if userID == "" || userID == id.User.ID {
		return id.User.ID, nil
	}
	if err := m.superuserPowers(ctx, id, userID, "not_superuser"); err != nil {
		return "", err
	}
	if _, err := m.store.UserByID(ctx, userID); errors.Is(err, store.ErrNotFound) {
		return "", ErrNotFound
	} else if err != nil {
		return "", fmt.Errorf("auth: sessions: %w", err)
	}
	return userID, nil
}

// forbidden reports a refused attempt (SECURITY.md #62: 403s are events).
func (m *Manager) forbidden(ctx context.Context, id *Identity, target, reason string) {
	m.emit(ctx, Event{Type: EventForbidden, Outcome: OutcomeFailure, Reason: reason,
		UserID: target, ActorID: id.User.ID, SessionID: sessionID(id)}, m.cfg.Now())
}

func requireUser(id *Identity) error {
	if id == nil || id.User == nil {
		return ErrUnauthenticated
	}
	return nil
}

func requireSession(id *Identity) error {
	if id == nil || id.User == nil || id.Session == nil {
		return ErrUnauthenticated
	}
	return nil
}

func sessionID(id *Identity) string {
	if id == nil || id.Session == nil {
		return ""
	}
	return id.Session.ID
}
