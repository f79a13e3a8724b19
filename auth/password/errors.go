package password

import (
	"errors"
	"fmt"
)

// Errors of the hashers and the policy; test them with [errors.Is]. Package
// auth re-exports each under its own name (auth.ErrWeakPassword is
// ErrWeak), so either matches.
var (
	// ErrWeak: a new password is refused by the [Policy]. The error is a
	// *[PolicyError] with the reason.
	ErrWeak = errors.New("password: refused by the policy")

	// ErrTooLong: the password is over [MaxBytes] (and, for bcrypt, over
	// 72 bytes). It also matches [ErrWeak].
	ErrTooLong = errors.New("password: too long")

	// ErrInvalidHash: a stored password hash is malformed or has parameters
	// outside the accepted bounds.
	ErrInvalidHash = errors.New("password: invalid hash")

	// ErrUnsupportedHash: a hasher does not recognise the stored hash's
	// format (another hasher may).
	ErrUnsupportedHash = errors.New("password: unsupported hash format")

	// ErrMismatch: the password does not match the hash. The hashers
	// return it from Compare.
	ErrMismatch = errors.New("password: does not match")
)

// Reason says why the policy refused a password.
type Reason string

// The reasons a [Policy] refuses a password.
const (
	TooShort   Reason = "too_short"
	TooLong    Reason = "too_long"
	Common     Reason = "common"  // on the blocklist, or a trivial pattern
	Contextual Reason = "context" // the email, its local part, the service name
	Invalid    Reason = "invalid" // not valid UTF-8, or control characters
)

// PolicyError is returned when a new password is refused. It matches
// [ErrWeak], and [ErrTooLong] when Reason is [TooLong].
type PolicyError struct {
	Reason Reason
	// Min and Max are the policy's bounds in code points, for messages.
	Min, Max int
}

func (e *PolicyError) Error() string {
	switch e.Reason {
	case TooShort:
		return fmt.Sprintf("password: must be at least %d characters", e.Min)
	case TooLong:
		return fmt.Sprintf("password: must be at most %d characters", e.Max)
	case Common:
		return "password: too common"
	case Contextual:
		return "password: must not be the email address or the service name"
	default:
		return "password: contains invalid characters"
	}
}

// Is makes a PolicyError match [ErrWeak] and, when too long, [ErrTooLong].
func (e *PolicyError) Is(target error) bool {
	return target == ErrWeak || (target == ErrTooLong && e.Reason == TooLong)
}

// ConfigError reports a bad parameter of a [Policy] or a hasher. Field names
// it relative to its type ("Policy.MinLength", "Argon2Params.Memory").
type ConfigError struct {
	Field  string
	Reason string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("password: %s: %s", e.Field, e.Reason)
}
