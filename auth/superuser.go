package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-go/gatehouse/store"
)

// UsersQuery selects a page of [Manager.UsersOverview].
type UsersQuery struct {
	// IDs restricts the page to these users (unknown IDs are ignored).
	IDs []string
	// After starts the page after this email (keyset paging, fast at any
	// depth); Offset skips users from there.
	After  string
	Offset int
	// Limit is the page size: ≤ 0 means 100, more than MaxPageSize is
	// clamped to it.
	Limit int
}

// UsersOverview lists users for a superuser, ordered by email, with the
// number of sessions each has and the total matching IDs.
//
// Errors: [ErrUnauthenticated]; [ErrForbidden] for a non-superuser.
func (m *Manager) UsersOverview(ctx context.Context, id *Identity, q UsersQuery) (*store.UserPage, error) {
	start := m.cfg.Now()
	if err := m.AuthorizeSuperuser(ctx, id); err != nil {
		return nil, err
	}
	if q.Offset < 0 {
		return nil, &ValidationError{Field: "offset", Reason: "must not be negative"}
	}
	if q.Limit <= 0 {
		q.Limit = DefaultPageSize
	}
	q.Limit = min(q.Limit, MaxPageSize)
	page, err := m.store.ListUsers(ctx, store.UserQuery{IDs: q.IDs, After: q.After, Offset: q.Offset, Limit: q.Limit})
	if err != nil {
		return nil, fmt.Errorf("auth: users overview: %w", err)
	}
	m.emit(ctx, Event{Type: EventUsersOverview, Outcome: OutcomeSuccess, UserID: id.User.ID, SessionID: sessionID(id)}, start)
	return page, nil
}

// AuthorizeSuperuser returns nil when id is an active superuser, and
// otherwise [ErrUnauthenticated] (no identity) or [ErrForbidden], reporting
// the refusal as an [EventForbidden] event. With
// Config.Factors.RequireForSuperusers, a superuser without a confirmed
// second factor gets [ErrMFAEnrollmentRequired] (which also matches
// ErrForbidden) until they enrol one. The flags are the ones read from
// the store when the token was checked, so a demotion, or the removal of
// the last factor, takes effect at the next request (SECURITY.md #59,
// #84). Superuser-only Manager operations call it themselves; applications
// call it to guard their own superuser features.
func (m *Manager) AuthorizeSuperuser(ctx context.Context, id *Identity) error {
	if err := requireUser(id); err != nil {
		return err
	}
	return m.superuserPowers(ctx, id, "", "superuser_required")
}

// superuserPowers returns nil when id (a user) may use superuser powers:
// an active superuser who meets Config.Factors.RequireForSuperusers.
// Otherwise it reports an [EventForbidden] about target with reason (or
// "mfa_enrollment_required" for a superuser without a factor) and returns
// [ErrForbidden] or [ErrMFAEnrollmentRequired].
func (m *Manager) superuserPowers(ctx context.Context, id *Identity, target, reason string) error {
	u := id.User
	if !u.IsSuperuser || !u.IsActive {
		m.forbidden(ctx, id, target, reason)
		return ErrForbidden
	}
	if m.cfg.Factors.RequireForSuperusers && !u.HasFactors {
		m.forbidden(ctx, id, target, "mfa_enrollment_required")
		return ErrMFAEnrollmentRequired
	}
	return nil
}

// EnsureSuperuser makes sure an active, verified superuser with that email
// exists, for bootstrapping the first administrator from configuration. It
// is idempotent: when the account exists it is promoted (and activated and
// marked verified) but its password is left alone, so a password changed
// since is kept. There is no built-in default password, and the password
// given must pass the policy in every case, even when the account exists
// and its password is not touched: a weak (or empty) one is refused with
// [ErrWeakPassword] and nothing changes, so a configuration that names a
// weak password fails at once rather than on the first fresh database.
//
// Errors: [ErrInvalidEmail], [ErrWeakPassword].
func (m *Manager) EnsureSuperuser(ctx context.Context, email, pass string) (*store.User, error) {
	start := m.cfg.Now()
	ev := Event{Type: EventEnsureSuperuser, Outcome: OutcomeFailure}
	u, err := m.ensureSuperuser(ctx, email, pass)
	if err == nil {
		ev.Outcome, ev.UserID = OutcomeSuccess, u.ID
	}
	m.emit(ctx, ev, start)
	return u, err
}

func (m *Manager) ensureSuperuser(ctx context.Context, email, pass string) (*store.User, error) {
	norm, err := NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	pw, err := m.checkNewPassword(pass, norm)
	if err != nil {
		return nil, err
	}
	for range 3 {
		u, err := m.store.UserByEmail(ctx, norm)
		if err == nil {
			if u.IsSuperuser && u.IsActive && u.IsVerified {
				return u, nil
			}
			t, uid := true, u.ID
			u, err = m.store.UpdateUser(ctx, uid, store.UserUpdate{IsSuperuser: &t, IsActive: &t, IsVerified: &t, UpdatedAt: m.now()})
			m.changed(ctx, userKey(uid))
			if errors.Is(err, store.ErrNotFound) {
				continue // deleted meanwhile; try again
			}
			if err != nil {
				return nil, fmt.Errorf("auth: ensure superuser: %w", err)
			}
			return u, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("auth: ensure superuser: %w", err)
		}
		hash, err := m.hashPassword(ctx, pw)
		if err != nil {
			return nil, err
		}
		id, err := m.newID()
		if err != nil {
			return nil, err
		}
		now := m.now()
		u = &store.User{ID: id, Email: norm, PasswordHash: hash, IsSuperuser: true, IsActive: true, IsVerified: true, CreatedAt: now, UpdatedAt: now}
		err = m.store.CreateUser(ctx, u)
		if errors.Is(err, store.ErrConflict) {
			continue // created concurrently; promote it
		}
		if err != nil {
			return nil, fmt.Errorf("auth: ensure superuser: %w", err)
		}
		return u, nil
	}
	return nil, fmt.Errorf("auth: ensure superuser: %w", store.ErrConflict)
}

// ForcePasswordReset makes a superuser end an account's password at once,
// for example after a suspected compromise: the password stops working,
// every session of the user ends, pending tokens die, and a reset link is
// mailed to the account's address (SECURITY.md #10). Until the user resets
// it, a login fails like any wrong password.
//
// Errors: [ErrUnauthenticated], [ErrForbidden] for a non-superuser,
// [ErrNotFound].
func (m *Manager) ForcePasswordReset(ctx context.Context, id *Identity, userID string) error {
	start := m.cfg.Now()
	if err := m.AuthorizeSuperuser(ctx, id); err != nil {
		return err
	}
	ev := Event{Type: EventResetRequested, Outcome: OutcomeFailure, UserID: userID, ActorID: id.User.ID, SessionID: sessionID(id), Reason: "forced"}
	now := m.now()
	empty := ""
	u, err := m.store.UpdateUser(ctx, userID, withoutPendingEmail(store.UserUpdate{
		PasswordHash:     &empty,
		TokensValidAfter: &now,
		UpdatedAt:        now,
		RevokeSessions:   true,
		DropSecrets:      true,
	}))
	m.changed(ctx, userKey(userID))
	switch {
	case errors.Is(err, store.ErrNotFound):
		m.emit(ctx, ev, start)
		return ErrNotFound
	case err != nil:
		m.emit(ctx, ev, start)
		return fmt.Errorf("auth: force password reset: %w", err)
	}
	if _, err := m.sendReset(ctx, now, u); err != nil {
		m.log.ErrorContext(ctx, "gatehouse: mailing a forced reset failed", "user_id", u.ID, "error", err.Error())
	}
	ev.Outcome = OutcomeSuccess
	m.emit(ctx, ev, start)
	return nil
}
