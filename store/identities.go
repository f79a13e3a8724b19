package store

import (
	"context"
	"errors"
	"time"
)

// ErrLastLogin means the operation would leave the user no way to log in:
// unlinking the only federated identity of a user who has no password and
// no passkey.
// Stores check and delete atomically, so two concurrent unlinks of a
// passwordless user's last two identities cannot both succeed.
var ErrLastLogin = errors.New("store: would remove the user's last way to log in")

// Identity is an account at an outside identity provider (an OpenID Connect
// issuer, or GitHub) linked to a user. The pair (Issuer, Subject) is the
// identity and is unique; the provider's email is never used to find it.
type Identity struct {
	// Issuer is the provider's issuer URL (for plain OAuth 2.0 providers,
	// a fixed URL naming the provider). Subject is the provider's stable
	// identifier of the account (the ID token's sub).
	Issuer  string
	Subject string
	UserID  string
	// Provider is the application's name for the provider ("google").
	Provider string
	// Email is the address the provider gave at the last login, as a
	// record only; EmailVerified whether the provider asserted it.
	Email         string
	EmailVerified bool
	CreatedAt     time.Time
	// LastLoginAt is the time of the last federated login with it.
	LastLoginAt time.Time
	// Tokens are the provider's tokens as the caller sealed them, or nil
	// when they are not kept. Stores keep them as opaque bytes.
	Tokens []byte
}

// FederationFlow is a started federated login: the server half of the
// state, nonce and PKCE verifier that bind it to one browser. Only hashes
// of its secrets are stored.
type FederationFlow struct {
	// Hash is the SHA-256 of the state parameter and the lookup key.
	Hash []byte
	// Binding is the SHA-256 of the secret the browser holds (a cookie);
	// the caller compares it.
	Binding []byte
	// Provider names the provider the flow was started for.
	Provider string
	// ReturnTo is the checked local path to land on afterwards.
	ReturnTo string
	// UserID, when set, is the logged-in user the identity is to be linked
	// to; empty for a login.
	UserID    string
	CreatedAt time.Time
	// ExpiresAt ends the flow: it is usable strictly before this instant.
	ExpiresAt time.Time
}

// IdentityLogin asks [Identities.TouchIdentity] to record a login.
type IdentityLogin struct {
	Issuer, Subject string
	// Now becomes LastLoginAt.
	Now time.Time
	// Email and EmailVerified replace the recorded ones.
	Email         string
	EmailVerified bool
	// Tokens replace the kept tokens (nil drops them).
	Tokens []byte
}

// Identities stores federated identities and started federated logins.
// It is optional: the auth Manager's federated login needs it. memstore
// and sqlstore implement it.
//
// Every method is safe for concurrent use, and copies records in and out.
// Deleting a user deletes their identities; [Expirer.DeleteExpired], in
// stores that implement Identities, deletes flows whose ExpiresAt is not
// after before.
type Identities interface {
	// CreateIdentity links id to the existing user id.UserID. It returns
	// [ErrNotFound] when the user does not exist and [ErrConflict] when
	// (Issuer, Subject) is already linked to anyone.
	CreateIdentity(ctx context.Context, id *Identity) error

	// CreateUserWithIdentity stores the new user u and links id to it, in
	// one transaction: both or neither. It returns [ErrConflict] when the
	// user's ID or Email, or the identity, is taken; of many concurrent
	// calls with one identity exactly one succeeds.
	CreateUserWithIdentity(ctx context.Context, u *User, id *Identity) error

	// IdentityUser returns the identity (issuer, subject) and its user, or
	// [ErrNotFound].
	IdentityUser(ctx context.Context, issuer, subject string) (*Identity, *User, error)

	// UserIdentities returns the user's identities ordered by CreatedAt,
	// then Issuer, then Subject. An unknown user has none.
	UserIdentities(ctx context.Context, userID string) ([]Identity, error)

	// TouchIdentity records a login with the identity: LastLoginAt, the
	// email and the tokens. It returns [ErrNotFound] when there is none.
	TouchIdentity(ctx context.Context, l IdentityLogin) error

	// DeleteIdentity unlinks the identity (issuer, subject) from userID.
	// It returns [ErrNotFound] unless that identity belongs to the user,
	// and [ErrLastLogin], changing nothing, when the user has no password
	// hash, no other identity and no passkey ([FactorPasskey]).
	DeleteIdentity(ctx context.Context, userID, issuer, subject string) error

	// PutFlow stores f. It returns [ErrConflict] when f.Hash is in use.
	PutFlow(ctx context.Context, f *FederationFlow) error

	// TakeFlow deletes the flow whose Hash is hash and returns it. It
	// returns [ErrNotFound] when there is none, or none with ExpiresAt
	// after now. Of many concurrent calls with one hash at most one
	// succeeds, so a state is used once.
	TakeFlow(ctx context.Context, hash []byte, now time.Time) (*FederationFlow, error)
}
