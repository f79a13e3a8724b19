package auth

import (
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-go/gatehouse/auth/jwt"
	"github.com/gatehouse-go/gatehouse/auth/password"
)

// Errors returned by the [Manager]. Each method's documentation lists the
// ones it can return; test them with [errors.Is]. Other errors (a failing
// store, say) are internal and should be answered generically.
var (
	// ErrInvalidCredentials: the email is unknown or the password is wrong.
	// The two are deliberately indistinguishable.
	ErrInvalidCredentials = errors.New("auth: invalid credentials")

	// ErrEmailTaken: another account already uses the email.
	ErrEmailTaken = errors.New("auth: email already registered")

	// ErrInvalidEmail: the email is malformed (syntax, length, control
	// characters). The error also carries the reason.
	ErrInvalidEmail = errors.New("auth: invalid email")

	// ErrWeakPassword: the new password is refused by the policy. The error
	// is a *[password.PolicyError] with the reason. It is
	// [password.ErrWeak].
	ErrWeakPassword = password.ErrWeak

	// ErrPasswordTooLong: the password is over the hard cap (and, for bcrypt,
	// over 72 bytes). It also matches [ErrWeakPassword]. It is
	// [password.ErrTooLong].
	ErrPasswordTooLong = password.ErrTooLong

	// ErrEmailNotVerified: the password was right but the email is not
	// verified and the Manager requires verification.
	ErrEmailNotVerified = errors.New("auth: email not verified")

	// ErrAccountDisabled: the password was right but the account is inactive.
	ErrAccountDisabled = errors.New("auth: account disabled")

	// ErrTokenInvalid: a token (access, refresh, verification or reset) is
	// malformed, forged, unknown, revoked or used up.
	ErrTokenInvalid = jwt.ErrInvalid

	// ErrTokenExpired: an access token is genuine but past its expiry. It is
	// only returned once the signature has been verified.
	ErrTokenExpired = jwt.ErrExpired

	// ErrRefreshTokenReused: a refresh token that had already been rotated
	// was presented again; the session has been revoked. It also matches
	// [ErrTokenInvalid].
	ErrRefreshTokenReused = errors.New("auth: refresh token already used")

	// ErrUnauthenticated: the operation needs an authenticated identity and
	// none was given.
	ErrUnauthenticated = errors.New("auth: not authenticated")

	// ErrForbidden: the identity may not do this (a non-superuser acting on
	// another user or using a superuser operation).
	ErrForbidden = errors.New("auth: forbidden")

	// ErrNotFound: the target user or session does not exist. Only returned
	// to callers entitled to know (a superuser, or a user about their own
	// sessions).
	ErrNotFound = errors.New("auth: not found")

	// ErrInvalidCode: a verification code or link is wrong, expired, used up
	// or has had too many wrong attempts.
	ErrInvalidCode = errors.New("auth: invalid or expired code")

	// ErrVerificationNotRequired: email verification is switched off.
	ErrVerificationNotRequired = errors.New("auth: email verification is not required")

	// ErrInvalidPassword: a password given to confirm an action (change
	// password, delete account, change email) is missing or wrong.
	ErrInvalidPassword = errors.New("auth: invalid password")

	// ErrLastSuperuser: the action would leave no active superuser.
	ErrLastSuperuser = errors.New("auth: cannot remove the last superuser")

	// ErrDeactivateSelf: a superuser tried to deactivate their own account,
	// which would lock them out (another superuser may do it).
	ErrDeactivateSelf = errors.New("auth: cannot deactivate one's own account")

	// ErrReauthRequired: the action needs proof beyond the access token
	// (the current password) and none was given.
	ErrReauthRequired = errors.New("auth: re-authentication required")

	// ErrFactorsUnavailable: second factors are off (Config.Factors) or
	// the store does not implement store.SecondFactors.
	ErrFactorsUnavailable = errors.New("auth: second factors are not available")

	// ErrMFAEnrollmentRequired: a superuser without a confirmed second
	// factor tried a superuser operation while
	// Config.Factors.RequireForSuperusers is set; they must enrol a factor
	// first. It also matches [ErrForbidden], so code that checks only for
	// ErrForbidden still refuses.
	ErrMFAEnrollmentRequired error = &forbiddenError{"auth: a second factor is required for superuser operations; enrol one first"}

	// ErrInvalidChallenge: a login challenge is unknown, already used,
	// expired, out of attempts, or outdated by a password change.
	ErrInvalidChallenge = errors.New("auth: invalid or expired login challenge")

	// ErrPasswordlessDisabled: passwordless email login is off
	// (Config.Passwordless.Enabled).
	ErrPasswordlessDisabled = errors.New("auth: passwordless email login is not enabled")

	// ErrInvalidEmailLogin: a passwordless email login (its link, or the
	// login ID of its code) is unknown, already used, expired, out of
	// attempts, or outdated by a change to the account. It also matches
	// [ErrInvalidChallenge], as the same kind of dead half-finished login.
	ErrInvalidEmailLogin error = &challengeError{"auth: invalid or expired email login"}

	// ErrBusy: too many password hashes are running and the context ended
	// while waiting for a slot.
	ErrBusy = errors.New("auth: too many concurrent password hashes")

	// ErrInvalidHash: a stored password hash is malformed or has parameters
	// outside the accepted bounds. It is [password.ErrInvalidHash].
	ErrInvalidHash = password.ErrInvalidHash

	// ErrUnsupportedHash: a [Hasher] does not recognise the stored hash's
	// format (another Hasher may). It is [password.ErrUnsupportedHash].
	ErrUnsupportedHash = password.ErrUnsupportedHash

	// ErrMismatchedHash: the password does not match the hash. Hashers
	// return it from Compare. It is [password.ErrMismatch].
	ErrMismatchedHash = password.ErrMismatch
)

// ValidationError reports a bad configuration value or request field.
// Field names the culprit: a [Config] field by its full path
// ("Config.Store", "Config.Sessions.IdleTimeout") or a request field
// ("email"). It unwraps to Err, a sentinel such as [ErrInvalidEmail] when
// there is one.
type ValidationError struct {
	Field  string
	Reason string
	Err    error
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("auth: %s: %s", e.Field, e.Reason)
}

func (e *ValidationError) Unwrap() error { return e.Err }

// ErrThrottled: too many attempts; try again later. The error is a
// *[ThrottledError] saying when. It is answered the same for known and
// unknown accounts, so it reveals nothing (SECURITY.md §5 decision 7).
var ErrThrottled = errors.New("auth: too many attempts")

// ThrottledError is returned when a limit refuses an attempt. It matches
// [ErrThrottled].
type ThrottledError struct {
	// RetryAfter is how long to wait before the next attempt can succeed.
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("auth: too many attempts; retry after %s", e.RetryAfter.Round(time.Second))
}

// Is makes a ThrottledError match [ErrThrottled].
func (e *ThrottledError) Is(target error) bool { return target == ErrThrottled }

// forbiddenError is a refusal that is a kind of [ErrForbidden].
type forbiddenError struct{ msg string }

func (e *forbiddenError) Error() string { return e.msg }

// Is makes the error match [ErrForbidden].
func (e *forbiddenError) Is(target error) bool { return target == ErrForbidden }

// challengeError is a dead login that is a kind of [ErrInvalidChallenge].
type challengeError struct{ msg string }

func (e *challengeError) Error() string { return e.msg }

// Is makes the error match [ErrInvalidChallenge].
func (e *challengeError) Is(target error) bool { return target == ErrInvalidChallenge }

// errUnbound means a secret no longer matches the address it was sent to.
var errUnbound = errors.New("auth: secret not bound to the current address")

// Errors of federated login.
var (
	// ErrFederationUnavailable means the store does not implement
	// [store.Identities].
	ErrFederationUnavailable = errors.New("auth: federated login is not available")
	// ErrProviderEmailUnverified means a first federated login whose
	// provider did not assert the email verified: no account is created
	// or linked from it.
	ErrProviderEmailUnverified = errors.New("auth: the provider did not verify the email")
	// ErrIdentityTaken means the identity is linked to another account.
	ErrIdentityTaken = errors.New("auth: identity linked to another account")
	// ErrLastLogin means unlinking would leave the account no way to log
	// in (no password and no other identity).
	ErrLastLogin = errors.New("auth: cannot remove the last way to log in")
)
