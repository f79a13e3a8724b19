package store

import "errors"

// Sentinel errors returned by every Store implementation. Implementations may
// wrap them with context (fmt.Errorf("...: %w", ErrNotFound)); callers must
// test with [errors.Is], never with ==.
var (
	// ErrNotFound means the record does not exist, or exists but can no
	// longer be used (an expired or already consumed secret, a revoked or
	// expired session). Stores never reveal which.
	ErrNotFound = errors.New("store: not found")

	// ErrConflict means a uniqueness rule was violated: an email (or user ID)
	// that is already taken, or a session or secret whose key already exists.
	ErrConflict = errors.New("store: conflict")

	// ErrTokenReused means a refresh token that had already been rotated was
	// presented again. The error is a *ReuseError carrying the session.
	ErrTokenReused = errors.New("store: refresh token reused")

	// ErrLastSuperuser means the operation would leave no active superuser
	// while at least one existed before. Stores refuse it atomically, so two
	// superusers demoting each other concurrently cannot both succeed.
	ErrLastSuperuser = errors.New("store: would remove the last active superuser")

	// ErrExhausted means a short code has had all of its allowed attempts.
	ErrExhausted = errors.New("store: attempts exhausted")
)

// ReuseError is returned by [RefreshTokens.RotateRefreshToken] when the
// presented token had already been rotated away. It matches [ErrTokenReused]
// with [errors.Is].
type ReuseError struct {
	// SessionID and UserID identify the session (the token family).
	SessionID string
	UserID    string
	// Revoked reports whether the store revoked the session. It is false
	// only when the reuse happened within the rotation's ReuseGrace.
	Revoked bool
}

func (e *ReuseError) Error() string {
	if e.Revoked {
		return "store: refresh token reused; session revoked"
	}
	return "store: refresh token reused within the grace window"
}

// Is reports whether target is [ErrTokenReused].
func (e *ReuseError) Is(target error) bool { return target == ErrTokenReused }

// ErrReplayed means a one-time code was presented for a time step that is
// not after the last accepted one: a replay, or the loser of a concurrent
// double use ([Factors.UseFactor]).
var ErrReplayed = errors.New("store: code already used")
