package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-go/gatehouse/store"
)

// FederationConfig configures federated login (an identity at an OpenID
// Connect or OAuth 2.0 provider). The store must implement
// [store.Identities].
type FederationConfig struct {
	// LinkVerifiedEmail lets a first federated login attach to an existing
	// local account when the provider asserts the email verified and the
	// local account's email is verified too, by mail: it takes effect only
	// with VerificationConfig.Required, since otherwise registrations are
	// verified without proof (a pre-registered account would be taken
	// over). Off by default: then a
	// federated identity joins an existing account only through
	// [Manager.LinkIdentity], by a user logged in to it (SECURITY.md #88).
	LinkVerifiedEmail bool
}

// The events of federated login.
const (
	EventFederatedLogin   EventType = "federated_login"
	EventIdentityLinked   EventType = "identity_linked"
	EventIdentityUnlinked EventType = "identity_unlinked"
)

// FederatedIdentity is what a provider asserted about a user, after the
// caller validated it (for OpenID Connect: a fully verified ID token).
type FederatedIdentity struct {
	// Provider is the application's name for the provider ("google").
	Provider string
	// Issuer and Subject identify the account at the provider; only they
	// are ever used to find it again.
	Issuer  string
	Subject string
	// Email is the provider's address for the user, taken only when
	// EmailVerified.
	Email         string
	EmailVerified bool
	Name          string
	// Tokens are the provider's tokens to keep, in plaintext, or nil to
	// keep none (the default, SECURITY.md #89). The Manager seals them
	// with Config.Factors.Keys (AES-256-GCM, bound to Issuer and Subject)
	// before the store sees them; [Manager.ProviderTokens] opens them.
	// Without keys a login or link that carries Tokens fails with
	// [ErrTokensUnsealable].
	Tokens []byte
}

// sealTokens seals fi's tokens for the store; nil when there are none.
func (m *Manager) sealTokens(fi FederatedIdentity) ([]byte, error) {
	if len(fi.Tokens) == 0 {
		return nil, nil
	}
	if m.sealer == nil {
		return nil, ErrTokensUnsealable
	}
	return m.sealer.seal(m.cfg.Rand, providerTokensAAD(fi.Issuer, fi.Subject), fi.Tokens)
}

// CanSealTokens reports whether the Manager can keep provider tokens
// (Config.Factors.Keys is set).
func (m *Manager) CanSealTokens() bool { return m.sealer != nil }

// ProviderTokens returns the provider tokens kept for the user's identity
// (issuer, subject), decrypted: nil when none are kept. It returns
// [ErrNotFound] unless the identity is the user's, and
// [ErrTokensUnsealable] when they cannot be decrypted (no key, a removed
// key, or a tampered row).
func (m *Manager) ProviderTokens(ctx context.Context, userID, issuer, subject string) ([]byte, error) {
	ids, err := m.identities()
	if err != nil {
		return nil, err
	}
	id, _, err := ids.IdentityUser(ctx, issuer, subject)
	switch {
	case errors.Is(err, store.ErrNotFound) || err == nil && id.UserID != userID:
		return nil, ErrNotFound
	case err != nil:
		return nil, fmt.Errorf("auth: provider tokens: %w", err)
	case len(id.Tokens) == 0:
		return nil, nil
	case m.sealer == nil:
		return nil, ErrTokensUnsealable
	}
	plain, err := m.sealer.open(providerTokensAAD(issuer, subject), id.Tokens)
	if err != nil {
		return nil, ErrTokensUnsealable
	}
	return plain, nil
}

func (m *Manager) identities() (store.Identities, error) {
	ids, ok := m.store.(store.Identities)
	if !ok {
		return nil, ErrFederationUnavailable
	}
	return ids, nil
}

// FederatedLogin logs in the user linked to the identity fi, creating the
// account at the first login, and ends as [Manager.Login] does: a session
// and tokens, or a [Challenge] when the user has a second factor.
//
// A new account takes the provider's email only when the provider asserts
// it verified, and is then marked verified; it has no password (the user
// may set one through the password reset). When a local account already
// has that email, the identity is linked to it only when
// [FederationConfig.LinkVerifiedEmail] and [VerificationConfig.Required]
// are on and the local email is verified too; otherwise the login is refused with [ErrEmailTaken]
// (SECURITY.md #88).
//
// Errors: [ErrFederationUnavailable]; [ErrInvalidEmail];
// [ErrProviderEmailUnverified]; [ErrEmailTaken]; [ErrAccountDisabled].
func (m *Manager) FederatedLogin(ctx context.Context, fi FederatedIdentity) (*LoginResult, error) {
	start := m.cfg.Now()
	ev := Event{Type: EventFederatedLogin, Outcome: OutcomeFailure}
	res, err := m.federatedLogin(ctx, fi, &ev)
	if err == nil {
		ev.Outcome = OutcomeSuccess
	}
	m.emit(ctx, ev, start)
	return res, err
}

func (m *Manager) federatedLogin(ctx context.Context, fi FederatedIdentity, ev *Event) (*LoginResult, error) {
	authAt := m.now()
	ids, err := m.identities()
	if err != nil {
		ev.Reason = "unavailable"
		return nil, err
	}
	if fi.Issuer == "" || fi.Subject == "" {
		ev.Reason = "no_subject"
		return nil, fmt.Errorf("auth: federated login: issuer and subject are required: %w", ErrInvalidCredentials)
	}
	sealed, err := m.sealTokens(fi)
	if err != nil {
		ev.Reason = "tokens_unsealable"
		return nil, err
	}
	_, u, err := ids.IdentityUser(ctx, fi.Issuer, fi.Subject)
	switch {
	case err == nil:
		if err := ids.TouchIdentity(ctx, store.IdentityLogin{Issuer: fi.Issuer, Subject: fi.Subject, Now: authAt, Email: fi.Email, EmailVerified: fi.EmailVerified, Tokens: sealed}); err != nil {
			ev.Reason = "store_error"
			return nil, fmt.Errorf("auth: federated login: %w", err)
		}
	case errors.Is(err, store.ErrNotFound):
		if u, err = m.firstFederatedLogin(ctx, ids, fi, sealed, ev); err != nil {
			return nil, err
		}
	default:
		ev.Reason = "store_error"
		return nil, fmt.Errorf("auth: federated login: %w", err)
	}
	ev.UserID = u.ID
	if !u.IsActive {
		ev.Reason = "disabled"
		return nil, ErrAccountDisabled
	}
	return m.challengeOrFinish(ctx, u, authAt, ev)
}

// firstFederatedLogin creates or (when allowed) links the account of an
// identity seen for the first time.
func (m *Manager) firstFederatedLogin(ctx context.Context, ids store.Identities, fi FederatedIdentity, sealed []byte, ev *Event) (*store.User, error) {
	if !fi.EmailVerified {
		ev.Reason = "provider_email_unverified"
		return nil, ErrProviderEmailUnverified
	}
	email, err := NormalizeEmail(fi.Email)
	if err != nil {
		ev.Reason = "invalid_email"
		return nil, err
	}
	now := m.now()
	rec := &store.Identity{
		Issuer: fi.Issuer, Subject: fi.Subject, Provider: fi.Provider,
		Email: fi.Email, EmailVerified: true, CreatedAt: now, LastLoginAt: now,
		Tokens: sealed,
	}
	local, err := m.store.UserByEmail(ctx, email)
	switch {
	case err == nil:
		// Never by email alone: only both sides verified, and only when
		// the application allows it.
		// Without Verification.Required, IsVerified proves nothing (a
		// registration is verified at once): no link then.
		if !m.cfg.Federation.LinkVerifiedEmail || !m.cfg.Verification.Required || !local.IsVerified {
			ev.UserID, ev.Reason = local.ID, "email_taken"
			return nil, ErrEmailTaken
		}
		rec.UserID = local.ID
		if err := ids.CreateIdentity(ctx, rec); err != nil {
			ev.Reason = "store_error"
			return nil, fmt.Errorf("auth: federated login: %w", err)
		}
		m.emit(ctx, Event{Type: EventIdentityLinked, Outcome: OutcomeSuccess, UserID: local.ID, Reason: "verified_email"}, now)
		return local, nil
	case !errors.Is(err, store.ErrNotFound):
		ev.Reason = "store_error"
		return nil, fmt.Errorf("auth: federated login: %w", err)
	}
	id, err := m.newID()
	if err != nil {
		return nil, err
	}
	u := &store.User{
		ID: id, Email: email, Name: fi.Name, IsActive: true, IsVerified: true,
		CreatedAt: now, UpdatedAt: now,
	}
	if err := ids.CreateUserWithIdentity(ctx, u, rec); err != nil {
		ev.Reason = "store_error"
		if errors.Is(err, store.ErrConflict) {
			// A concurrent first login of the same identity, or of the
			// same email, won.
			ev.Reason = "conflict"
			return nil, ErrEmailTaken
		}
		return nil, fmt.Errorf("auth: federated login: %w", err)
	}
	return u, nil
}

// LinkIdentity links fi to the account of userID, a user logged in to it
// (the caller checked the session). It returns [ErrIdentityTaken] when the
// identity belongs to another account and [ErrNotFound] for an unknown
// user.
func (m *Manager) LinkIdentity(ctx context.Context, userID string, fi FederatedIdentity) error {
	start := m.cfg.Now()
	ev := Event{Type: EventIdentityLinked, Outcome: OutcomeFailure, UserID: userID}
	err := m.linkIdentity(ctx, userID, fi)
	if err == nil {
		ev.Outcome = OutcomeSuccess
	}
	m.emit(ctx, ev, start)
	return err
}

func (m *Manager) linkIdentity(ctx context.Context, userID string, fi FederatedIdentity) error {
	ids, err := m.identities()
	if err != nil {
		return err
	}
	sealed, err := m.sealTokens(fi)
	if err != nil {
		return err
	}
	now := m.now()
	err = ids.CreateIdentity(ctx, &store.Identity{
		Issuer: fi.Issuer, Subject: fi.Subject, UserID: userID, Provider: fi.Provider,
		Email: fi.Email, EmailVerified: fi.EmailVerified, CreatedAt: now, LastLoginAt: now,
		Tokens: sealed,
	})
	switch {
	case errors.Is(err, store.ErrConflict):
		return ErrIdentityTaken
	case errors.Is(err, store.ErrNotFound):
		return ErrNotFound
	case err != nil:
		return fmt.Errorf("auth: link identity: %w", err)
	}
	return nil
}

// Identities returns the federated identities linked to the user, oldest
// first. Their Tokens are never returned.
func (m *Manager) Identities(ctx context.Context, userID string) ([]store.Identity, error) {
	ids, err := m.identities()
	if err != nil {
		return nil, err
	}
	list, err := ids.UserIdentities(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("auth: identities: %w", err)
	}
	for i := range list {
		list[i].Tokens = nil
	}
	return list, nil
}

// UnlinkIdentity unlinks the identity (issuer, subject) from the user. It
// returns [ErrNotFound] unless the identity is the user's, and
// [ErrLastLogin] when the user has no password and no other identity.
func (m *Manager) UnlinkIdentity(ctx context.Context, userID, issuer, subject string) error {
	start := m.cfg.Now()
	ev := Event{Type: EventIdentityUnlinked, Outcome: OutcomeFailure, UserID: userID}
	err := m.unlinkIdentity(ctx, userID, issuer, subject)
	if err == nil {
		ev.Outcome = OutcomeSuccess
	}
	m.emit(ctx, ev, start)
	return err
}

func (m *Manager) unlinkIdentity(ctx context.Context, userID, issuer, subject string) error {
	ids, err := m.identities()
	if err != nil {
		return err
	}
	err = ids.DeleteIdentity(ctx, userID, issuer, subject)
	switch {
	case errors.Is(err, store.ErrLastLogin):
		return ErrLastLogin
	case errors.Is(err, store.ErrNotFound):
		return ErrNotFound
	case err != nil:
		return fmt.Errorf("auth: unlink identity: %w", err)
	}
	return nil
}
