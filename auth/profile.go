package auth

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/store"
)

// Limits on profile fields, in code points (the picture URL in bytes).
const (
	MaxNameLength    = 200
	MaxBioLength     = 4000
	MaxPictureLength = 2048
)

// ProfileUpdate is the input of [Manager.UpdateProfile]. Nil fields are left
// alone. These fields are the whole allowlist: nothing else about a user
// can be written through it (SECURITY.md #55).
type ProfileUpdate struct {
	// UserID is the user to update; empty means the caller. Only a
	// superuser may name someone else.
	UserID string

	Name           *string
	Bio            *string
	ProfilePicture *string // an absolute http(s) URL, or "" to clear

	// Email changes the address. A user changing their own address must
	// give CurrentPassword, however recent their login: an access token
	// alone, stolen or not, never moves the account to another mailbox
	// (SECURITY.md #54). The new address becomes the account's email only
	// once the link mailed to it is used; until then it is the user's
	// PendingEmail (with PendingEmailExpiresAt, the link's expiry), and the
	// old address is told. The pending change ends when it is confirmed,
	// cancelled ([Manager.CancelEmailChange]) or superseded, when its link
	// expires ([store.User.PendingEmailAt] says which address is pending at
	// a given time), and when the user's secrets are dropped (a password
	// change or reset, a superuser's change of the address). A superuser
	// changing someone else's address changes it directly.
	Email *string
	// CurrentPassword re-authenticates an email change; it is required for
	// a user's own email change and ignored otherwise.
	CurrentPassword string

	// IsSuperuser and IsActive may only be set by a superuser. The last
	// active superuser cannot be demoted or deactivated, and no superuser
	// can deactivate their own account (that would lock them out).
	//
	// Deactivating a user ends every session of theirs at once (their
	// access tokens fail at the next request, their refresh tokens at
	// once), kills their one-time tokens and any pending email change, and
	// makes their logins fail with [ErrAccountDisabled]; reactivating lets
	// them log in again. Either change of state is reported as an
	// [EventUserDeactivated] or [EventUserReactivated] and mailed to the
	// user (mail.KindAccountDeactivated, mail.KindAccountReactivated),
	// without naming the superuser. Setting the state the user already has
	// changes nothing and tells no one.
	IsSuperuser *bool
	IsActive    *bool
}

// validate checks the free-text fields.
func (p *ProfileUpdate) validate() error {
	if p.Name != nil {
		if err := checkText("name", *p.Name, MaxNameLength, false); err != nil {
			return err
		}
	}
	if p.Bio != nil {
		if err := checkText("bio", *p.Bio, MaxBioLength, true); err != nil {
			return err
		}
	}
	if p.ProfilePicture != nil && *p.ProfilePicture != "" {
		v := *p.ProfilePicture
		u, err := url.Parse(v)
		if len(v) > MaxPictureLength || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl) {
			return &ValidationError{Field: "profile_picture", Reason: "must be an absolute http(s) URL of at most 2048 bytes"}
		}
	}
	return nil
}

func checkText(field, v string, max int, multiline bool) error {
	if !utf8.ValidString(v) {
		return &ValidationError{Field: field, Reason: "must be valid UTF-8"}
	}
	if utf8.RuneCountInString(v) > max {
		return &ValidationError{Field: field, Reason: fmt.Sprintf("must be at most %d characters", max)}
	}
	for _, r := range v {
		if unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\r' || r == '\t')) {
			return &ValidationError{Field: field, Reason: "must not contain control characters"}
		}
	}
	return nil
}

// UpdateProfile changes profile fields and returns the updated user (for a
// self-service email change, still with the old Email and the new address
// in PendingEmail, until PendingEmailExpiresAt).
//
// Errors: [ErrUnauthenticated]; [ErrForbidden] for a non-superuser naming
// another user or setting IsSuperuser or IsActive; [ErrNotFound] for a
// superuser naming an unknown user; a *[ValidationError] for a bad field;
// [ErrInvalidEmail]; [ErrEmailTaken]; [ErrReauthRequired] for a user's
// own email change without CurrentPassword, [ErrInvalidPassword] when it
// is wrong; [ErrForbidden] when Config.Accounts.DisableEmailChange forbids
// it; [ErrDeactivateSelf] for a superuser deactivating themselves;
// [ErrLastSuperuser].
func (m *Manager) UpdateProfile(ctx context.Context, id *Identity, p ProfileUpdate) (*store.User, error) {
	start := m.cfg.Now()
	if err := requireUser(id); err != nil {
		return nil, err
	}
	ev := Event{Type: EventProfileUpdate, Outcome: OutcomeFailure, UserID: p.UserID, ActorID: id.User.ID, SessionID: sessionID(id)}
	if p.UserID == "" || p.UserID == id.User.ID {
		ev.UserID, ev.ActorID = id.User.ID, ""
	}
	u, err := m.updateProfile(ctx, id, p, &ev)
	if err == nil {
		ev.Outcome = OutcomeSuccess
	}
	if !errors.Is(err, ErrForbidden) {
		m.emit(ctx, ev, start)
	}
	return u, err
}

func (m *Manager) updateProfile(ctx context.Context, id *Identity, p ProfileUpdate, ev *Event) (*store.User, error) {
	actor := id.User
	self := p.UserID == "" || p.UserID == actor.ID
	switch {
	case !self:
		if err := m.superuserPowers(ctx, id, p.UserID, "update_other_user"); err != nil {
			return nil, err
		}
	case p.IsSuperuser != nil || p.IsActive != nil:
		if err := m.superuserPowers(ctx, id, actor.ID, "set_privileged_field"); err != nil {
			return nil, err
		}
	}
	if err := p.validate(); err != nil {
		ev.Reason = "invalid_field"
		return nil, err
	}
	if self && p.IsActive != nil && !*p.IsActive {
		ev.Reason = "deactivate_self"
		return nil, ErrDeactivateSelf
	}
	targetID := actor.ID
	if !self {
		targetID = p.UserID
	}
	target, err := m.store.UserByID(ctx, targetID)
	if errors.Is(err, store.ErrNotFound) {
		ev.Reason = "not_found"
		if self {
			return nil, ErrUnauthenticated
		}
		return nil, ErrNotFound
	}
	if err != nil {
		ev.Reason = "store_error"
		return nil, fmt.Errorf("auth: update profile: %w", err)
	}

	now := m.now()
	up := store.UserUpdate{
		Name: p.Name, Bio: p.Bio, ProfilePicture: p.ProfilePicture,
		IsSuperuser: p.IsSuperuser, IsActive: p.IsActive,
		UpdatedAt: now,
	}
	var pendingTo, directFrom string
	if p.Email != nil {
		email, err := NormalizeEmail(*p.Email)
		if err != nil {
			ev.Reason = "invalid_email"
			return nil, err
		}
		switch {
		case email == target.Email:
			// Nothing to change; a pending change to another address stays.
		case self:
			if m.cfg.Accounts.DisableEmailChange {
				m.forbidden(ctx, id, actor.ID, "email_change_disabled")
				return nil, ErrForbidden
			}
			if err := m.reauthenticate(ctx, target, p.CurrentPassword, ev); err != nil {
				return nil, err
			}
			if !m.mayMail(ctx, now, target.ID, store.PurposeChangeEmail) {
				ev.Reason = "mail_throttled"
				return nil, &ThrottledError{RetryAfter: time.Minute}
			}
			if _, err := m.store.UserByEmail(ctx, email); err == nil {
				ev.Reason = "email_taken"
				return nil, ErrEmailTaken
			} else if !errors.Is(err, store.ErrNotFound) {
				ev.Reason = "store_error"
				return nil, fmt.Errorf("auth: update profile: %w", err)
			}
			expires := now.Add(m.cfg.Verification.LinkTTL)
			up.PendingEmail, up.PendingEmailExpiresAt, up.DropSecrets = &email, &expires, true
			pendingTo = email
		default:
			// A superuser changing another user's address: direct, and
			// tokens mailed to the old address die with it, a pending
			// change's too.
			up = withoutPendingEmail(up)
			up.Email, up.DropSecrets = &email, true
			directFrom = target.Email
		}
	}
	if p.IsActive != nil && !*p.IsActive {
		// Deactivating ends the user's sessions at once, and any that a
		// login racing this update creates (its authentication predates
		// now), and kills what was mailed to the user: reset and
		// verification tokens, a pending email change.
		up = withoutPendingEmail(up)
		up.TokensValidAfter, up.RevokeSessions, up.DropSecrets = &now, true, true
	}
	u, err := m.store.UpdateUser(ctx, target.ID, up)
	m.changed(ctx, userKey(target.ID))
	switch {
	case err == nil:
	case errors.Is(err, store.ErrNotFound):
		ev.Reason = "not_found"
		return nil, ErrNotFound
	case errors.Is(err, store.ErrConflict):
		ev.Reason = "email_taken"
		return nil, ErrEmailTaken
	case errors.Is(err, store.ErrLastSuperuser):
		ev.Reason = "last_superuser"
		return nil, ErrLastSuperuser
	default:
		ev.Reason = "store_error"
		return nil, fmt.Errorf("auth: update profile: %w", err)
	}
	switch {
	case pendingTo != "":
		if err := m.sendEmailChange(ctx, u, pendingTo, now); err != nil {
			ev.Reason = "store_error"
			return nil, err
		}
		m.emit(ctx, Event{Type: EventEmailChangeRequested, Outcome: OutcomeSuccess, UserID: u.ID, SessionID: sessionID(id)}, now)
	case directFrom != "":
		m.mail(ctx, u, mail.Data{
			Kind: mail.KindEmailChangeNotice, To: mail.Address{Name: u.Name, Email: directFrom},
			NewEmail: u.Email, Time: now,
		})
		m.emit(ctx, Event{Type: EventEmailChanged, Outcome: OutcomeSuccess, UserID: u.ID, ActorID: actor.ID}, now)
	}
	if target.IsActive != u.IsActive {
		m.activationChanged(ctx, id, u, now)
	}
	return u, nil
}

// activationChanged reports and mails that a superuser (id) deactivated or
// reactivated u at now. The mail goes to u's stored address and does not
// name the superuser.
func (m *Manager) activationChanged(ctx context.Context, id *Identity, u *store.User, now time.Time) {
	t, kind := EventUserReactivated, mail.KindAccountReactivated
	if !u.IsActive {
		t, kind = EventUserDeactivated, mail.KindAccountDeactivated
	}
	m.emit(ctx, Event{Type: t, Outcome: OutcomeSuccess, UserID: u.ID, ActorID: id.User.ID, SessionID: sessionID(id)}, now)
	m.mail(ctx, u, mail.Data{Kind: kind, To: mail.Address{Name: u.Name, Email: u.Email}, Time: now})
}

// reauthenticate accepts a change of a user's own email only with their
// current password (SECURITY.md #54): an empty one gives
// [ErrReauthRequired]. A recent login is not enough here (nor for a
// password change or deleting the account, which check the password
// themselves): the bearer of a stolen access token has a session as recent
// as its owner's, and these changes take the account. Factor changes go
// through [Manager.reauthenticateFactor], which also accepts a recent
// login.
func (m *Manager) reauthenticate(ctx context.Context, u *store.User, password string, ev *Event) error {
	if password == "" {
		ev.Reason = "reauth_required"
		return ErrReauthRequired
	}
	return m.checkCurrentPassword(ctx, u, password, ev)
}

// reauthenticateFactor accepts a change of id's user's own second factors
// (SECURITY.md #82) with the current password, or without one when id's
// session authenticated within Config.Factors.RecentLogin: the proof the
// login gave is still fresh. A password that is given is always checked.
// A refresh keeps the session's authentication time, so it does not renew
// the exemption.
func (m *Manager) reauthenticateFactor(ctx context.Context, id *Identity, u *store.User, password string, ev *Event) error {
	if password == "" && m.recentLogin(id) {
		return nil
	}
	return m.reauthenticate(ctx, u, password, ev)
}

// recentLogin reports whether id's session proved a credential within
// Config.Factors.RecentLogin of now.
func (m *Manager) recentLogin(id *Identity) bool {
	window := m.cfg.Factors.RecentLogin
	if window <= 0 || id == nil || id.Session == nil || id.Session.AuthenticatedAt.IsZero() {
		return false
	}
	return m.now().Sub(id.Session.AuthenticatedAt) < window
}

// withoutPendingEmail returns up also ending the user's pending email
// change, if any: for updates that drop the user's secrets (DropSecrets)
// and with them the change's confirmation link, so that the address stops
// showing as pending (store.User.PendingEmailAt).
func withoutPendingEmail(up store.UserUpdate) store.UserUpdate {
	empty, never := "", time.Time{}
	up.PendingEmail, up.PendingEmailExpiresAt = &empty, &never
	return up
}

// sendEmailChange mails a confirmation link to the new address and a notice
// to the old one.
func (m *Manager) sendEmailChange(ctx context.Context, u *store.User, to string, now time.Time) error {
	token, hash, err := m.newToken()
	if err != nil {
		return err
	}
	err = m.store.PutSecret(ctx, &store.Secret{
		Hash: hash, Purpose: store.PurposeChangeEmail, UserID: u.ID, Email: to,
		CreatedAt: now, ExpiresAt: now.Add(m.cfg.Verification.LinkTTL),
	})
	if err != nil {
		return fmt.Errorf("auth: storing email-change secret: %w", err)
	}
	m.mail(ctx, u, mail.Data{
		Kind: mail.KindChangeEmail, To: mail.Address{Name: u.Name, Email: to},
		Token: token, Link: m.link("/confirm-email", token),
		ExpiresIn: m.cfg.Verification.LinkTTL, NewEmail: to, Time: now,
	})
	// The old address may stop the change: it gets a token of its own, as
	// long-lived as the confirmation, and bound to the address.
	cancel, cancelHash, err := m.newToken()
	if err != nil {
		return err
	}
	err = m.store.PutSecret(ctx, &store.Secret{
		Hash: cancelHash, Purpose: store.PurposeCancelEmailChange, UserID: u.ID, Email: u.Email,
		CreatedAt: now, ExpiresAt: now.Add(m.cfg.Verification.LinkTTL),
	})
	if err != nil {
		return fmt.Errorf("auth: storing email-change cancellation secret: %w", err)
	}
	m.mail(ctx, u, mail.Data{
		Kind: mail.KindEmailChangeNotice, To: mail.Address{Name: u.Name, Email: u.Email},
		NewEmail: to, Token: cancel, Link: m.link("/cancel-email-change", cancel),
		ExpiresIn: m.cfg.Verification.LinkTTL, Time: now,
	})
	return nil
}

// CancelEmailChange stops a pending email change with the token mailed to
// the old address in its notice (SECURITY.md #54). It is meant for the
// owner of that address who did not ask for the change: the pending
// address and its confirmation link die, every other one-time secret of
// the user dies too, and every session of the user ends, since whoever
// asked knew the password. Only the token of the latest notice works, and
// only until the new address is confirmed.
//
// Errors: [ErrTokenInvalid] for a wrong, expired or used token, or when no
// change is pending any more.
func (m *Manager) CancelEmailChange(ctx context.Context, token string) error {
	start := m.cfg.Now()
	ev := Event{Type: EventEmailChangeCancelled, Outcome: OutcomeFailure}
	err := m.cancelEmailChange(ctx, token, &ev)
	if err == nil {
		ev.Outcome = OutcomeSuccess
	}
	m.emit(ctx, ev, start)
	return err
}

func (m *Manager) cancelEmailChange(ctx context.Context, token string, ev *Event) error {
	hash, ok := tokenHash(token)
	if !ok {
		ev.Reason = "malformed"
		return ErrTokenInvalid
	}
	now := m.now()
	var touched string
	_, u, err := m.store.ConsumeSecret(ctx, store.Consume{
		Hash: hash, Purposes: []store.Purpose{store.PurposeCancelEmailChange}, Now: now,
		Apply: func(s *store.Secret, u *store.User) (*store.UserUpdate, error) {
			touched = u.ID // the transaction may change u
			if s.Email != u.Email || u.PendingEmail == "" {
				return nil, errUnbound
			}
			up := withoutPendingEmail(store.UserUpdate{
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
	switch {
	case err == nil:
	case errors.Is(err, store.ErrNotFound), errors.Is(err, errUnbound):
		ev.Reason = "invalid_token"
		return ErrTokenInvalid
	default:
		ev.Reason = "store_error"
		return fmt.Errorf("auth: cancel email change: %w", err)
	}
	ev.UserID = u.ID
	return nil
}

// DeleteUser deletes an account with all its sessions and tokens, at once
// (SECURITY.md #56). A user deletes themselves (userID empty or their own)
// with their current password; a superuser deletes anyone else without it.
// The last active superuser cannot delete itself. Once the account is gone,
// a notice ([mail.KindAccountDeleted]) goes to its address in the
// background, saying whether the user or a superuser deleted it (without
// naming the superuser).
//
// Errors: [ErrUnauthenticated]; [ErrInvalidPassword] for self-deletion
// without the right password; [ErrForbidden] for a non-superuser naming
// another user; [ErrNotFound]; [ErrLastSuperuser].
func (m *Manager) DeleteUser(ctx context.Context, id *Identity, userID, password string) error {
	start := m.cfg.Now()
	if err := requireUser(id); err != nil {
		return err
	}
	self := userID == "" || userID == id.User.ID
	ev := Event{Type: EventDeleteUser, Outcome: OutcomeFailure, UserID: userID, ActorID: id.User.ID, SessionID: sessionID(id)}
	if self {
		ev.UserID, ev.ActorID = id.User.ID, ""
	}
	if !self {
		if err := m.superuserPowers(ctx, id, userID, "delete_other_user"); err != nil {
			return err
		}
	}
	err := m.deleteUser(ctx, self, ev.UserID, password, &ev)
	if err == nil {
		ev.Outcome = OutcomeSuccess
	}
	m.emit(ctx, ev, start)
	return err
}

func (m *Manager) deleteUser(ctx context.Context, self bool, target, password string, ev *Event) error {
	// Read the user first: for the password check, and for the notice to
	// their address, which must be captured before the record is gone.
	u, err := m.store.UserByID(ctx, target)
	if errors.Is(err, store.ErrNotFound) {
		ev.Reason = "not_found"
		if self {
			return ErrUnauthenticated
		}
		return ErrNotFound
	}
	if err != nil {
		ev.Reason = "store_error"
		return fmt.Errorf("auth: delete user: %w", err)
	}
	if self {
		if err := m.checkCurrentPassword(ctx, u, password, ev); err != nil {
			return err
		}
	}
	err = m.store.DeleteUser(ctx, target)
	m.changed(ctx, userKey(target))
	switch {
	case err == nil:
		m.mail(ctx, u, mail.Data{
			Kind: mail.KindAccountDeleted, To: mail.Address{Name: u.Name, Email: u.Email},
			Time: m.now(), BySuperuser: !self,
		})
		return nil
	case errors.Is(err, store.ErrNotFound):
		ev.Reason = "not_found"
		if self {
			return ErrUnauthenticated
		}
		return ErrNotFound
	case errors.Is(err, store.ErrLastSuperuser):
		ev.Reason = "last_superuser"
		return ErrLastSuperuser
	default:
		ev.Reason = "store_error"
		return fmt.Errorf("auth: delete user: %w", err)
	}
}
