package store

import (
	"context"
	"time"
)

// FactorType names the kind of a second [Factor].
type FactorType string

// The factor types Gatehouse uses. Stores treat the type as an opaque
// string.
const (
	FactorTOTP FactorType = "totp"
	// FactorPasskey is a WebAuthn credential. It is created confirmed;
	// its CredentialID is set and unique, and its LastStep holds the
	// authenticator's signature counter ([Passkeys.UsePasskey]).
	FactorPasskey FactorType = "passkey"
)

// Factor is a user's second factor, such as a TOTP authenticator app.
type Factor struct {
	// ID is opaque and unique among factors.
	ID     string
	UserID string
	Type   FactorType
	// Name is the user's label for the factor ("phone"); it may be empty.
	Name string
	// Secret is the factor's secret as the caller encrypted it. Stores keep
	// it as opaque bytes and never interpret it.
	Secret []byte
	// CreatedAt is the enrolment. ConfirmedAt is when the first valid code
	// was presented; zero while the factor is pending, and a pending factor
	// does not count as a factor of the user's.
	CreatedAt   time.Time
	ConfirmedAt time.Time
	// LastUsedAt is the time of the last accepted code (zero if none).
	LastUsedAt time.Time
	// LastStep is the last accepted TOTP time step: a code is accepted only
	// for a later step, once ([Factors.UseFactor]). For a passkey it is the
	// last signature counter seen ([Passkeys.UsePasskey]).
	LastStep int64
	// CredentialID is a passkey's WebAuthn credential ID, unique among
	// factors; nil for other types. It is not secret: it is the lookup key
	// of [Passkeys.PasskeyByCredentialID], so finding a passkey needs no
	// decryption.
	CredentialID []byte
}

// Confirmed reports whether the factor has been confirmed by a first code.
func (f *Factor) Confirmed() bool { return !f.ConfirmedAt.IsZero() }

// FactorUse asks [Factors.UseFactor] to accept a code of one time step.
type FactorUse struct {
	UserID string
	ID     string
	// Step is the time step of the accepted code; it must be greater than
	// the factor's LastStep.
	Step int64
	// Now is the time of use: it becomes LastUsedAt, and ConfirmedAt when
	// the factor is still pending.
	Now time.Time
}

// Factors stores users' second factors. It is optional: the auth Manager's
// second factors need it, with [RecoveryCodes] and [Challenges] (see
// [SecondFactors]).
//
// Every method is safe for concurrent use, and copies records in and out.
// Deleting a user deletes their factors. Every method that changes which
// confirmed factors a user has also sets the user's [User.HasFactors] in
// the same atomic step.
type Factors interface {
	// CreateFactor stores f. It returns [ErrNotFound] when the user does
	// not exist and [ErrConflict] when the ID, or a non-empty
	// CredentialID, is taken. A factor created
	// confirmed (ConfirmedAt set, as a passkey is) sets the user's
	// HasFactors; a pending one does not.
	CreateFactor(ctx context.Context, f *Factor) error

	// UserFactors returns the user's factors, pending ones included,
	// ordered by CreatedAt then ID. An unknown user has none.
	UserFactors(ctx context.Context, userID string) ([]Factor, error)

	// UseFactor records that a code of step u.Step was accepted for the
	// factor u.ID of user u.UserID, atomically: when u.Step is greater
	// than the factor's LastStep it sets LastStep to u.Step, LastUsedAt to
	// u.Now and, for a pending factor, ConfirmedAt to u.Now (and the
	// user's HasFactors to true), and returns
	// the updated factor. Otherwise it returns [ErrReplayed] and changes
	// nothing, so of many concurrent calls with one step exactly one
	// succeeds. It returns [ErrNotFound] unless the factor belongs to the
	// user.
	UseFactor(ctx context.Context, u FactorUse) (*Factor, error)

	// DeleteFactor deletes the factor, and clears the user's HasFactors
	// when no confirmed factor is left. It returns [ErrNotFound] unless a
	// factor with that ID belongs to userID.
	DeleteFactor(ctx context.Context, userID, id string) error

	// DeleteUserFactors deletes every factor, recovery code and challenge
	// of the user, clears their HasFactors, and returns how many factors
	// it deleted.
	DeleteUserFactors(ctx context.Context, userID string) (int, error)
}

// RecoveryCodes stores the hashes of users' single-use recovery codes.
//
// Every method is safe for concurrent use. Deleting a user deletes their
// codes.
type RecoveryCodes interface {
	// ReplaceRecoveryCodes deletes the user's recovery codes and stores
	// hashes as the new set, atomically. It returns [ErrNotFound] when the
	// user does not exist and [ErrConflict] when a hash is given twice.
	ReplaceRecoveryCodes(ctx context.Context, userID string, hashes [][]byte) error

	// ConsumeRecoveryCode deletes the user's recovery code whose hash is
	// hash and returns how many codes the user has left. It returns
	// [ErrNotFound] when the user has no such code; of many concurrent
	// calls with one hash exactly one succeeds.
	ConsumeRecoveryCode(ctx context.Context, userID string, hash []byte) (int, error)

	// CountRecoveryCodes returns how many unused recovery codes the user
	// has (0 for an unknown user).
	CountRecoveryCodes(ctx context.Context, userID string) (int, error)
}

// LoginChallenge is a half-finished login: the password was right and a
// second factor is due. Only the hash of its token is stored.
type LoginChallenge struct {
	// Hash is the SHA-256 of the challenge token and the lookup key.
	Hash   []byte
	UserID string
	// Binding is what the caller binds the challenge to (Gatehouse: a
	// digest of the user's password hash), compared by the caller.
	Binding []byte
	// AuthenticatedAt is when the password was checked.
	AuthenticatedAt time.Time
	// ExpiresAt ends the challenge: it is usable strictly before this.
	ExpiresAt time.Time
	// Attempts counts the answers reserved so far.
	Attempts int
}

// Challenges stores half-finished logins.
//
// Every method is safe for concurrent use, and copies records in and out.
// Deleting a user deletes their challenges; [Expirer.DeleteExpired], in
// stores that implement Challenges, deletes challenges whose ExpiresAt is
// not after before.
type Challenges interface {
	// PutChallenge stores c. It returns [ErrNotFound] when the user does
	// not exist and [ErrConflict] when c.Hash is in use.
	PutChallenge(ctx context.Context, c *LoginChallenge) error

	// ReserveChallengeAttempt spends one attempt on the challenge whose
	// Hash is hash and returns it (Attempts counting this one) with its
	// user, so the caller can check the answer. It returns [ErrNotFound]
	// when there is no such challenge with ExpiresAt after now, and
	// [ErrExhausted] when maxAttempts attempts have already been reserved.
	// Of any number of concurrent calls at most maxAttempts succeed.
	ReserveChallengeAttempt(ctx context.Context, hash []byte, now time.Time, maxAttempts int) (*LoginChallenge, *User, error)

	// DeleteChallenge deletes the challenge whose Hash is hash. It returns
	// [ErrNotFound] when there is none, so of many concurrent calls exactly
	// one succeeds: the one that completes the login.
	DeleteChallenge(ctx context.Context, hash []byte) error
}

// SecondFactors is the optional capability the auth Manager's second
// factors need. memstore and sqlstore implement it.
type SecondFactors interface {
	Factors
	RecoveryCodes
	Challenges
}
