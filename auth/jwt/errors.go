package jwt

import (
	"errors"
	"fmt"
	"time"
)

// The two errors every Verify failure matches; test them with
// [errors.Is]. They are the very values of auth.ErrTokenInvalid and
// auth.ErrTokenExpired, so either name matches.
var (
	// ErrInvalid: the token is malformed, forged, of the wrong type, for
	// another issuer or audience, or otherwise not acceptable.
	ErrInvalid = errors.New("auth: invalid token")

	// ErrExpired: the token is genuine but past its expiry (plus leeway).
	// It is only returned once the signature and every other claim check
	// out.
	ErrExpired = errors.New("auth: token expired")
)

// Claims is what an access token asserts. Package auth has its own
// Claims with the same fields; auth.JWT converts between them.
type Claims struct {
	// UserID is the token's subject ("sub"): the user's immutable ID.
	UserID string
	// SessionID names the login the token belongs to ("sid").
	SessionID string
	// ID is unique per token ("jti").
	ID        string
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// ConfigError reports a bad key, configuration value or claim given to this
// package. Field names it ("Config.Issuer", "Claims.UserID", "secret").
type ConfigError struct {
	Field  string
	Reason string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("jwt: %s: %s", e.Field, e.Reason)
}
