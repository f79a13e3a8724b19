package httperr

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/auth/password"
)

// The error_type values of error bodies. They are part of the wire
// contract (docs/http-api.md in the repository) and never change meaning.
const (
	TypeInvalidRequest      = "invalid_request"
	TypeBodyTooLarge        = "body_too_large"
	TypeInvalidEmail        = "invalid_email"
	TypeWeakPassword        = "weak_password"
	TypeEmailTaken          = "email_taken"
	TypeInvalidCode         = "invalid_code"
	TypeVerificationOff     = "verification_not_required"
	TypeInvalidCredentials  = "invalid_credentials"
	TypeEmailNotVerified    = "email_not_verified"
	TypeAccountDisabled     = "account_disabled"
	TypeInvalidToken        = "invalid_token"
	TypeTokenExpired        = "token_expired"
	TypeInvalidRefreshToken = "invalid_refresh_token"
	TypeInvalidPassword     = "invalid_password"
	TypeReauthRequired      = "reauth_required"
	TypeForbidden           = "forbidden"
	TypeNotFound            = "not_found"
	TypeMethodNotAllowed    = "method_not_allowed"
	TypeLastSuperuser       = "last_superuser"
	TypeDeactivateSelf      = "cannot_deactivate_self"
	TypeRateLimited         = "rate_limited"
	TypeUnavailable         = "unavailable"
	TypeInternal            = "internal"
	TypeMFARequired         = "mfa_required"
	TypeInvalidChallenge    = "invalid_challenge"
	TypeFactorsUnavailable  = "factors_unavailable"
	// Federated login.
	TypeFederationUnavailable   = "federation_unavailable"
	TypeProviderEmailUnverified = "provider_email_unverified"
	TypeIdentityTaken           = "identity_taken"
	TypeLastLogin               = "last_login_method"
	TypeMFAEnrollment           = "mfa_enrollment_required"
	// Passwordless email login.
	TypePasswordlessUnavailable = "passwordless_unavailable"
)

// Error is an error answer: its status, stable type, human message and the
// headers that go with it. It is an error itself, so code that parses a
// request can return one and have [From] and [Write] answer it as it is.
// Message must be a fixed text or name a request field: never an error's
// own text or a secret.
type Error struct {
	// Status is the HTTP status.
	Status int
	// Type is the body's error_type, one of the Type constants or a code
	// of the application's own.
	Type string
	// Message is the body's message, for people.
	Message string
	// Challenge is the WWW-Authenticate value of a 401; empty means
	// "Bearer".
	Challenge string
	// RetryAfter, when positive, is sent as Retry-After, in seconds.
	RetryAfter int
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

// Body returns the JSON error body of e.
func (e *Error) Body() Body {
	return Body{
		Detail:    Detail{Message: e.Message, ErrorType: e.Type},
		Message:   e.Message,
		ErrorType: e.Type,
	}
}

// Body is the one JSON error shape of the /v2 API: the message and type
// twice, nested under "detail" for clients written for FastAPI and at the
// top level for the others.
type Body struct {
	Detail    Detail `json:"detail"`
	Message   string `json:"message"`
	ErrorType string `json:"error_type"`
}

// Detail is the "detail" member of a [Body].
type Detail struct {
	Message   string `json:"message"`
	ErrorType string `json:"error_type"`
}

// internal is the answer to every error the table does not know.
func internal() *Error {
	return &Error{Status: http.StatusInternalServerError, Type: TypeInternal, Message: "Internal server error"}
}

// unavailable is the answer when the request could not be served now: the
// store was too slow for the request's deadline, too many password hashes
// were in flight, or the store failed while a token was checked.
func unavailable() *Error {
	return &Error{Status: http.StatusServiceUnavailable, Type: TypeUnavailable, Message: "Service temporarily unavailable, try again", RetryAfter: 1}
}

// From maps err to its answer, following the status table of
// docs/http-api.md:
//
//   - an *[Error] in err's chain is the answer itself;
//   - auth.ErrThrottled is 429 rate_limited, with Retry-After from the
//     *auth.ThrottledError's RetryAfter in whole seconds (rounded up, at
//     least 1);
//   - context.DeadlineExceeded, context.Canceled and auth.ErrBusy are 503
//     unavailable with Retry-After: 1;
//   - a *password.PolicyError or auth.ErrWeakPassword is 400
//     weak_password, saying what was wrong;
//   - auth.ErrInvalidEmail is 422 invalid_email, another
//     *auth.ValidationError 422 invalid_request naming the field;
//   - auth.ErrInvalidCredentials, ErrEmailNotVerified and
//     ErrAccountDisabled are 401 (invalid_credentials, email_not_verified,
//     account_disabled);
//   - auth.ErrTokenInvalid, ErrTokenExpired and ErrUnauthenticated are 401
//     invalid_token: the answer for a bearer token. An endpoint that takes
//     another kind of token answers its own way (package httpapi answers
//     a refresh token's failure 401 invalid_refresh_token and a reset
//     token's 400 invalid_token);
//   - auth.ErrEmailTaken, ErrInvalidCode, ErrVerificationNotRequired,
//     ErrInvalidPassword, ErrReauthRequired, ErrLastSuperuser and
//     ErrDeactivateSelf are 400;
//     auth.ErrForbidden is 403 (auth.ErrMFAEnrollmentRequired 403
//     mfa_enrollment_required); auth.ErrNotFound is 404;
//   - auth.ErrInvalidChallenge is 401 invalid_challenge, and
//     auth.ErrFactorsUnavailable 400 factors_unavailable;
//   - auth.ErrInvalidEmailLogin is 401 invalid_challenge, and
//     auth.ErrPasswordlessDisabled 400 passwordless_unavailable;
//   - anything else is 500 internal with a generic message.
//
// From never puts err's text into the answer; a nil err is 500 too. It
// returns a new *Error on each call (or the one found in err), which the
// caller may change.
func From(err error) *Error {
	if err == nil {
		return internal()
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var pe *password.PolicyError
	if errors.As(err, &pe) {
		return weakPassword(pe)
	}
	var te *auth.ThrottledError
	if errors.As(err, &te) {
		return RateLimited(te.RetryAfter)
	}
	var ve *auth.ValidationError
	switch {
	case errors.Is(err, auth.ErrThrottled):
		// Not a *ThrottledError (a custom limiter's sentinel): no wait known.
		return RateLimited(0)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		// The request's time ran out (a server or handler deadline) or the
		// client went away while the store was slow: fail closed, and say
		// it is temporary (SECURITY.md #75).
		return unavailable()
	case errors.Is(err, auth.ErrInvalidEmail):
		return &Error{Status: http.StatusUnprocessableEntity, Type: TypeInvalidEmail, Message: "Invalid email address"}
	case errors.Is(err, auth.ErrWeakPassword):
		return &Error{Status: http.StatusBadRequest, Type: TypeWeakPassword, Message: "Password refused, choose another"}
	case errors.Is(err, auth.ErrInvalidCredentials):
		return &Error{Status: http.StatusUnauthorized, Type: TypeInvalidCredentials, Message: "Incorrect email or password", Challenge: "Bearer"}
	case errors.Is(err, auth.ErrEmailNotVerified):
		return &Error{Status: http.StatusUnauthorized, Type: TypeEmailNotVerified, Message: "Email not verified", Challenge: "Bearer"}
	case errors.Is(err, auth.ErrAccountDisabled):
		return &Error{Status: http.StatusUnauthorized, Type: TypeAccountDisabled, Message: "Account disabled", Challenge: "Bearer"}
	case errors.Is(err, auth.ErrEmailTaken):
		return &Error{Status: http.StatusBadRequest, Type: TypeEmailTaken, Message: "User with this email already exists"}
	case errors.Is(err, auth.ErrInvalidEmailLogin):
		return &Error{Status: http.StatusUnauthorized, Type: TypeInvalidChallenge, Message: "The sign-in link or code is invalid, expired or used up; ask for a new one"}
	case errors.Is(err, auth.ErrInvalidChallenge):
		return &Error{Status: http.StatusUnauthorized, Type: TypeInvalidChallenge, Message: "The login challenge is invalid, expired or used up; log in again"}
	case errors.Is(err, auth.ErrFactorsUnavailable):
		return &Error{Status: http.StatusBadRequest, Type: TypeFactorsUnavailable, Message: "Second factors are not available"}
	case errors.Is(err, auth.ErrInvalidCode):
		return &Error{Status: http.StatusBadRequest, Type: TypeInvalidCode, Message: "Invalid or expired verification code"}
	case errors.Is(err, auth.ErrVerificationNotRequired):
		return &Error{Status: http.StatusBadRequest, Type: TypeVerificationOff, Message: "Email verification is not required"}
	case errors.Is(err, auth.ErrTokenInvalid), errors.Is(err, auth.ErrTokenExpired),
		// ErrUnauthenticated: the token was good a moment ago but its user
		// or session is gone.
		errors.Is(err, auth.ErrUnauthenticated):
		return &Error{Status: http.StatusUnauthorized, Type: TypeInvalidToken, Message: "Invalid token", Challenge: Challenge(auth.ErrTokenInvalid)}
	case errors.Is(err, auth.ErrInvalidPassword):
		return &Error{Status: http.StatusBadRequest, Type: TypeInvalidPassword, Message: "Invalid password"}
	case errors.Is(err, auth.ErrReauthRequired):
		return &Error{Status: http.StatusBadRequest, Type: TypeReauthRequired, Message: "Changing the email address needs current_password"}
	case errors.Is(err, auth.ErrMFAEnrollmentRequired):
		return mfaEnrollment()
	case errors.Is(err, auth.ErrForbidden):
		return &Error{Status: http.StatusForbidden, Type: TypeForbidden, Message: "Not allowed"}
	case errors.Is(err, auth.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Type: TypeNotFound, Message: "User not found"}
	case errors.Is(err, auth.ErrLastSuperuser):
		return &Error{Status: http.StatusBadRequest, Type: TypeLastSuperuser, Message: "The last superuser cannot be demoted, disabled or deleted"}
	case errors.Is(err, auth.ErrDeactivateSelf):
		return &Error{Status: http.StatusBadRequest, Type: TypeDeactivateSelf, Message: "You cannot deactivate your own account"}
	case errors.Is(err, auth.ErrBusy):
		return unavailable()
	case errors.Is(err, auth.ErrPasswordlessDisabled):
		return &Error{Status: http.StatusBadRequest, Type: TypePasswordlessUnavailable, Message: "Passwordless email login is not enabled"}
	case errors.Is(err, auth.ErrFederationUnavailable):
		return &Error{Status: http.StatusBadRequest, Type: TypeFederationUnavailable, Message: "Federated login is not available"}
	case errors.Is(err, auth.ErrProviderEmailUnverified):
		return &Error{Status: http.StatusForbidden, Type: TypeProviderEmailUnverified, Message: "The provider has not verified this email address"}
	case errors.Is(err, auth.ErrIdentityTaken):
		return &Error{Status: http.StatusConflict, Type: TypeIdentityTaken, Message: "This identity is linked to another account"}
	case errors.Is(err, auth.ErrLastLogin):
		return &Error{Status: http.StatusBadRequest, Type: TypeLastLogin, Message: "The last way to log in cannot be removed"}
	case errors.As(err, &ve):
		return &Error{Status: http.StatusUnprocessableEntity, Type: TypeInvalidRequest, Message: "Invalid " + ve.Field + ": " + ve.Reason}
	}
	return internal()
}

// mfaEnrollment is the answer to a superuser without a second factor
// while auth.Config.Factors.RequireForSuperusers is set.
func mfaEnrollment() *Error {
	return &Error{Status: http.StatusForbidden, Type: TypeMFAEnrollment, Message: "Enrol a second factor to use superuser operations"}
}

// Status returns the HTTP status [From] answers err with.
func Status(err error) int { return From(err).Status }

// Response returns the status and the JSON body [From] answers err with.
// Headers are the caller's to set: see [Write] for the ones the API sends.
func Response(err error) (int, Body) {
	e := From(err)
	return e.Status, e.Body()
}

// RateLimited is the 429 answer to a throttled request that may be retried
// after wait: Retry-After in whole seconds, rounded up and at least 1 (RFC
// 9110 §10.2.3 allows no fractions).
func RateLimited(wait time.Duration) *Error {
	secs := int64(wait / time.Second)
	if wait%time.Second > 0 {
		secs++ // without overflow, whatever a custom limiter says
	}
	secs = max(secs, 1)
	return &Error{Status: http.StatusTooManyRequests, Type: TypeRateLimited, Message: "Too many attempts, try again later",
		RetryAfter: int(min(secs, math.MaxInt32))}
}

// weakPassword words a policy refusal. It says what was wrong with the
// password, never which characters to use (there are no composition rules).
func weakPassword(pe *password.PolicyError) *Error {
	var msg string
	switch pe.Reason {
	case password.TooShort:
		msg = "Password must be at least " + strconv.Itoa(pe.Min) + " characters long"
	case password.TooLong:
		msg = "Password must be at most " + strconv.Itoa(pe.Max) + " characters long"
	case password.Common:
		msg = "Password is too common, choose another"
	case password.Contextual:
		msg = "Password must not be the email address or the service name"
	default:
		msg = "Password contains characters that are not allowed"
	}
	return &Error{Status: http.StatusBadRequest, Type: TypeWeakPassword, Message: msg}
}

// Refusal is the answer of package middleware's default error handler to
// a request it refuses before any handler runs, given the status the
// middleware chose and the reason it gives:
//
//   - 401 invalid_token "Not authenticated" when no token was sent,
//     "Invalid token" for a bad one, and token_expired "Token expired"
//     for a genuine but expired one, each with its [Challenge];
//   - 403 forbidden "Only superusers may do this";
//   - anything else (the check itself failed) 503 unavailable with
//     Retry-After: 1: fail closed (SECURITY.md #44).
func Refusal(status int, err error) *Error {
	switch status {
	case http.StatusUnauthorized:
		e := &Error{Status: status, Type: TypeInvalidToken, Message: "Invalid token", Challenge: Challenge(err)}
		switch {
		case errors.Is(err, auth.ErrTokenExpired):
			e.Type, e.Message = TypeTokenExpired, "Token expired"
		case !errors.Is(err, auth.ErrTokenInvalid):
			e.Message = "Not authenticated"
		}
		return e
	case http.StatusForbidden:
		if errors.Is(err, auth.ErrMFAEnrollmentRequired) {
			return mfaEnrollment()
		}
		return &Error{Status: status, Type: TypeForbidden, Message: "Only superusers may do this"}
	}
	return unavailable()
}

// Challenge returns the WWW-Authenticate value of a 401 caused by err
// (RFC 6750 §3): error="invalid_token" when a bad or expired access token
// was sent, plain "Bearer" when none was.
func Challenge(err error) string {
	switch {
	case errors.Is(err, auth.ErrTokenExpired):
		return `Bearer error="invalid_token", error_description="The access token expired"`
	case errors.Is(err, auth.ErrTokenInvalid):
		return `Bearer error="invalid_token"`
	default:
		return "Bearer"
	}
}

// Write answers err (see [From]) with its status, its JSON [Body] and the
// headers every answer of the /v2 API carries: exactly
// "Content-Type: application/json" (RFC 8259 defines no charset
// parameter), "Cache-Control: no-store" and
// "X-Content-Type-Options: nosniff"; WWW-Authenticate on a 401 and
// Retry-After when the answer has one.
//
// When logger is not nil, an error answered 500 is logged to it at level
// Error and one answered 503 at level Warn, with the request's method, its
// route pattern (never its path, which may carry a token) and err's text,
// which the client never sees. r may be nil.
func Write(w http.ResponseWriter, r *http.Request, err error, logger *slog.Logger) {
	e := From(err)
	if logger != nil {
		switch e.Status {
		case http.StatusInternalServerError:
			logError(logger, r, slog.LevelError, "gatehouse: internal error", err)
		case http.StatusServiceUnavailable:
			logError(logger, r, slog.LevelWarn, "gatehouse: unavailable", err)
		}
	}
	h := w.Header()
	if e.Status == http.StatusUnauthorized {
		c := e.Challenge
		if c == "" {
			c = "Bearer"
		}
		h.Set("WWW-Authenticate", c)
	}
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	b, _ := json.Marshal(e.Body()) // strings only: it always encodes
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(e.Status)
	w.Write(b)
}

func logError(logger *slog.Logger, r *http.Request, level slog.Level, msg string, err error) {
	ctx := context.Background()
	attrs := make([]slog.Attr, 0, 3)
	if r != nil {
		ctx = r.Context()
		attrs = append(attrs, slog.String("route", r.Pattern), slog.String("method", r.Method))
	}
	text := "<nil>"
	if err != nil {
		text = err.Error()
	}
	attrs = append(attrs, slog.String("error", text))
	logger.LogAttrs(ctx, level, msg, attrs...)
}
