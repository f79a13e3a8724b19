package store

import (
	"context"
	"time"
)

// EmailLogin is a passwordless login mailed to a user: one message carries
// a link (a long token) and a short code, and whichever is used first spends
// the record, so both are then dead. Only hashes of the secrets are stored.
type EmailLogin struct {
	// ID identifies the login to the client that asked for it (the code is
	// entered together with it). It is random, unique and the lookup key of
	// [EmailLogins.ReserveEmailLoginAttempt]; a short code is never a key.
	ID string
	// Hash is the SHA-256 of the link's token and the lookup key of
	// [EmailLogins.TakeEmailLogin]. It is unique.
	Hash []byte
	// CodeHash is the caller's keyed hash of the short code. The store
	// keeps it as opaque bytes and never compares it.
	CodeHash []byte
	UserID   string
	// Email is the address the login was mailed to.
	Email     string
	CreatedAt time.Time
	// ExpiresAt ends the link (and the record): it is usable strictly
	// before this instant.
	ExpiresAt time.Time
	// CodeExpiresAt ends the short code; it is not after ExpiresAt.
	CodeExpiresAt time.Time
	// Attempts counts the code attempts reserved so far.
	Attempts int
}

// EmailLogins stores passwordless email logins. It is optional: the auth
// Manager's passwordless login needs it. memstore and sqlstore implement
// it.
//
// Every method is safe for concurrent use, and copies records in and out.
// Deleting a user deletes their email logins; [Expirer.DeleteExpired], in
// stores that implement EmailLogins, deletes those whose ExpiresAt is not
// after before.
type EmailLogins interface {
	// PutEmailLogin stores l, replacing (deleting) any email login the user
	// already has, atomically. It returns [ErrNotFound] when the user does
	// not exist and [ErrConflict] when l.ID or l.Hash is in use.
	PutEmailLogin(ctx context.Context, l *EmailLogin) error

	// ReserveEmailLoginAttempt spends one attempt on the short code of the
	// email login whose ID is id and returns it (Attempts counting this
	// one) with its user, so the caller can compare the code. It returns
	// [ErrNotFound] when there is no such login with CodeExpiresAt after
	// now, and [ErrExhausted] when maxAttempts attempts have already been
	// reserved. Of any number of concurrent calls at most maxAttempts
	// succeed.
	ReserveEmailLoginAttempt(ctx context.Context, id string, now time.Time, maxAttempts int) (*EmailLogin, *User, error)

	// TakeEmailLogin deletes the email login whose Hash is hash and returns
	// it with its user. It returns [ErrNotFound] when there is none, or
	// none with ExpiresAt after now. Of many concurrent calls with one hash
	// at most one succeeds.
	TakeEmailLogin(ctx context.Context, hash []byte, now time.Time) (*EmailLogin, *User, error)

	// DeleteEmailLogin deletes the email login whose ID is id. It returns
	// [ErrNotFound] when there is none, so of many concurrent calls (and
	// of a call racing [EmailLogins.TakeEmailLogin]) exactly one succeeds:
	// the one that completes the login.
	DeleteEmailLogin(ctx context.Context, id string) error
}
