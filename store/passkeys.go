package store

import (
	"context"
	"time"
)

// PasskeyUse asks [Passkeys.UsePasskey] to record an accepted assertion.
type PasskeyUse struct {
	UserID string
	ID     string
	// SignCount is the signature counter of the assertion's authenticator
	// data (0 when the authenticator keeps none).
	SignCount int64
	// Now becomes LastUsedAt.
	Now time.Time
}

// Passkeys finds passkeys by credential ID and records their use. It is
// optional: the auth Manager's passkeys need it with [SecondFactors] and
// [Ceremonies]. Passkeys are [Factor] rows of type [FactorPasskey], created
// with [Factors.CreateFactor] and deleted with [Factors.DeleteFactor].
//
// Every method is safe for concurrent use, and copies records in and out.
type Passkeys interface {
	// PasskeyByCredentialID returns the passkey whose CredentialID is id
	// and its user, or [ErrNotFound].
	PasskeyByCredentialID(ctx context.Context, id []byte) (*Factor, *User, error)

	// UsePasskey records an accepted assertion of the passkey u.ID of user
	// u.UserID, atomically: when the signature counter moves forward
	// (u.SignCount greater than the stored LastStep, or both are 0 for an
	// authenticator that keeps no counter) it sets LastStep to u.SignCount
	// and LastUsedAt to u.Now and returns the updated factor. Otherwise —
	// the counter stood still or went back, a sign of a cloned
	// authenticator — it returns [ErrReplayed] and changes nothing. It
	// returns [ErrNotFound] unless the passkey belongs to the user.
	UsePasskey(ctx context.Context, u PasskeyUse) (*Factor, error)
}

// Ceremony is the server half of a started WebAuthn ceremony (a passkey
// registration or login): the challenge and the options it was begun with.
// Only the hash of the token that names it is stored.
type Ceremony struct {
	// Hash is the SHA-256 of the ceremony's token and the lookup key.
	Hash []byte
	// Purpose says which ceremony this is ("passkey_register",
	// "passkey_login", "passkey_mfa"); the caller compares it.
	Purpose string
	// UserID is the user the ceremony is for; empty for a passwordless
	// login, where the passkey names the user. Stores do not check it.
	UserID string
	// Data is the caller's encoding of the ceremony state, opaque to the
	// store.
	Data      []byte
	CreatedAt time.Time
	// ExpiresAt ends the ceremony: it is usable strictly before this.
	ExpiresAt time.Time
}

// Ceremonies stores started WebAuthn ceremonies, each taken once. It is
// optional: the auth Manager's passkeys need it.
//
// Every method is safe for concurrent use, and copies records in and out.
// [Expirer.DeleteExpired], in stores that implement Ceremonies, deletes
// ceremonies whose ExpiresAt is not after before.
type Ceremonies interface {
	// PutCeremony stores c. It returns [ErrConflict] when c.Hash is in use.
	PutCeremony(ctx context.Context, c *Ceremony) error

	// TakeCeremony deletes the ceremony whose Hash is hash and returns it.
	// It returns [ErrNotFound] when there is none, or none with ExpiresAt
	// after now (an expired one is deleted too). Of many concurrent calls
	// with one hash at most one succeeds, so a challenge is used once.
	TakeCeremony(ctx context.Context, hash []byte, now time.Time) (*Ceremony, error)
}
