package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse-go/gatehouse/audit"
	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/auth/password"
	"github.com/gatehouse-go/gatehouse/middleware"
)

// The error_type values of error responses. They are part of the wire
// contract (docs/http-api.md) and never change meaning.
const (
	typeInvalidRequest      = "invalid_request"
	typeBodyTooLarge        = "body_too_large"
	typeInvalidEmail        = "invalid_email"
	typeWeakPassword        = "weak_password"
	typeEmailTaken          = "email_taken"
	typeInvalidCode         = "invalid_code"
	typeVerificationOff     = "verification_not_required"
	typeInvalidCredentials  = "invalid_credentials"
	typeEmailNotVerified    = "email_not_verified"
	typeAccountDisabled     = "account_disabled"
	typeInvalidToken        = "invalid_token"
	typeTokenExpired        = "token_expired"
	typeInvalidRefreshToken = "invalid_refresh_token"
	typeInvalidPassword     = "invalid_password"
	typeReauthRequired      = "reauth_required"
	typeForbidden           = "forbidden"
	typeNotFound            = "not_found"
	typeMethodNotAllowed    = "method_not_allowed"
	typeLastSuperuser       = "last_superuser"
	typeRateLimited         = "rate_limited"
	typeUnavailable         = "unavailable"
	typeInternal            = "internal"
)

// apiError is an error answer: its status, stable type, human message and
// the headers that go with it. Messages are fixed texts or name a request
// field; they never carry internal error text or a secret.
type apiError struct {
	status int
	typ    string
	msg    string
	// challenge is the WWW-Authenticate value of a 401.
	challenge string
	// retryAfter, when positive, is sent as Retry-After in seconds (429
	// and 503).
	retryAfter int
}

func (e *apiError) Error() string { return e.msg }

// errNoAuditLog: /logs or /analytics on an API without Config.Audit.
var errNoAuditLog = errors.New("httpapi: no audit log configured")

// op tells the error mapping which endpoint failed, where one sentinel
// means different things on different endpoints.
type op int

const (
	opDefault op = iota
	opRefresh    // ErrTokenInvalid is about the refresh token: 401
	opReset      // ErrTokenInvalid is about the reset token: 400
	opCancel     // ErrTokenInvalid is about an email-change cancellation token: 400
)

func invalidRequest(format string, args ...any) *apiError {
	return &apiError{status: http.StatusUnprocessableEntity, typ: typeInvalidRequest, msg: fmt.Sprintf(format, args...)}
}

func invalidEmail(msg string) *apiError {
	return &apiError{status: http.StatusUnprocessableEntity, typ: typeInvalidEmail, msg: msg}
}

var (
	errBodyTooLarge = &apiError{status: http.StatusRequestEntityTooLarge, typ: typeBodyTooLarge, msg: "Request body too large"}
	errNotFound     = &apiError{status: http.StatusNotFound, typ: typeNotFound, msg: "Not found"}
	errInternal     = &apiError{status: http.StatusInternalServerError, typ: typeInternal, msg: "Internal server error"}
	errUnavailable  = &apiError{status: http.StatusServiceUnavailable, typ: typeUnavailable, msg: "Service temporarily unavailable, try again", retryAfter: 1}
	errInvalidToken = &apiError{status: http.StatusUnauthorized, typ: typeInvalidToken, msg: "Invalid token", challenge: middleware.Challenge(auth.ErrTokenInvalid)}
)

// errorFor maps an error from the Manager (or from input parsing) to its
// answer, following the status table of docs/http-api.md. It is the one
// place where Manager errors become HTTP.
func errorFor(err error, o op) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var pe *password.PolicyError
	if errors.As(err, &pe) {
		return weakPassword(pe)
	}
	var te *auth.ThrottledError
	if errors.As(err, &te) {
		return rateLimited(te.RetryAfter)
	}
	var ve *auth.ValidationError
	switch {
	case errors.Is(err, auth.ErrThrottled):
		// Not a *ThrottledError (a custom limiter's sentinel): no wait known.
		return rateLimited(0)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		// The request's time ran out (a server or handler deadline) or the
		// client went away while the store was slow: fail closed, and say
		// it is temporary (SECURITY.md #75).
		return errUnavailable
	case errors.Is(err, errNoAuditLog):
		// R2R's answer when it had no logging provider.
		return &apiError{status: http.StatusNotFound, typ: typeNotFound, msg: "Logging provider not found"}
	case errors.Is(err, audit.ErrInvalidAnalysis) && errors.As(err, &ve):
		// Names the population or analysis at fault (R2R skipped it
		// silently).
		return &apiError{status: http.StatusBadRequest, typ: typeInvalidRequest, msg: "Invalid " + ve.Field + ": " + ve.Reason}
	case errors.Is(err, auth.ErrInvalidEmail):
		return invalidEmail("Invalid email address")
	case errors.Is(err, auth.ErrWeakPassword):
		return &apiError{status: http.StatusBadRequest, typ: typeWeakPassword, msg: "Password refused, choose another"}
	case errors.Is(err, auth.ErrInvalidCredentials):
		return &apiError{status: http.StatusUnauthorized, typ: typeInvalidCredentials, msg: "Incorrect email or password", challenge: "Bearer"}
	case errors.Is(err, auth.ErrEmailNotVerified):
		return &apiError{status: http.StatusUnauthorized, typ: typeEmailNotVerified, msg: "Email not verified", challenge: "Bearer"}
	case errors.Is(err, auth.ErrAccountDisabled):
		return &apiError{status: http.StatusUnauthorized, typ: typeAccountDisabled, msg: "Account disabled", challenge: "Bearer"}
	case errors.Is(err, auth.ErrEmailTaken):
		return &apiError{status: http.StatusBadRequest, typ: typeEmailTaken, msg: "User with this email already exists"}
	case errors.Is(err, auth.ErrInvalidCode):
		return &apiError{status: http.StatusBadRequest, typ: typeInvalidCode, msg: "Invalid or expired verification code"}
	case errors.Is(err, auth.ErrVerificationNotRequired):
		return &apiError{status: http.StatusBadRequest, typ: typeVerificationOff, msg: "Email verification is not required"}
	case errors.Is(err, auth.ErrTokenInvalid), errors.Is(err, auth.ErrTokenExpired):
		switch o {
		case opRefresh:
			return &apiError{status: http.StatusUnauthorized, typ: typeInvalidRefreshToken, msg: "Invalid refresh token", challenge: "Bearer"}
		case opReset:
			return &apiError{status: http.StatusBadRequest, typ: typeInvalidToken, msg: "Invalid or expired reset token"}
		case opCancel:
			return &apiError{status: http.StatusBadRequest, typ: typeInvalidToken, msg: "Invalid or expired token, or no email change is pending"}
		}
		return errInvalidToken
	case errors.Is(err, auth.ErrUnauthenticated):
		// The token was good a moment ago but its user or session is gone.
		return errInvalidToken
	case errors.Is(err, auth.ErrInvalidPassword):
		return &apiError{status: http.StatusBadRequest, typ: typeInvalidPassword, msg: "Invalid password"}
	case errors.Is(err, auth.ErrReauthRequired):
		return &apiError{status: http.StatusBadRequest, typ: typeReauthRequired, msg: "Changing the email address needs current_password"}
	case errors.Is(err, auth.ErrForbidden):
		return &apiError{status: http.StatusForbidden, typ: typeForbidden, msg: "Not allowed"}
	case errors.Is(err, auth.ErrNotFound):
		return &apiError{status: http.StatusNotFound, typ: typeNotFound, msg: "User not found"}
	case errors.Is(err, auth.ErrLastSuperuser):
		return &apiError{status: http.StatusBadRequest, typ: typeLastSuperuser, msg: "The last superuser cannot be demoted, disabled or deleted"}
	case errors.Is(err, auth.ErrBusy):
		return errUnavailable
	case errors.As(err, &ve):
		return invalidRequest("Invalid %s: %s", ve.Field, ve.Reason)
	}
	return errInternal
}

// rateLimited is the 429 of a throttled request, with Retry-After in whole
// seconds, rounded up and at least 1 (RFC 9110 §10.2.3 allows no fractions).
func rateLimited(wait time.Duration) *apiError {
	secs := int64(1)
	if wait > time.Second {
		secs = int64((wait + time.Second - 1) / time.Second)
	}
	return &apiError{status: http.StatusTooManyRequests, typ: typeRateLimited, msg: "Too many attempts, try again later",
		retryAfter: int(min(secs, math.MaxInt32))}
}

// weakPassword words a policy refusal. It says what was wrong with the
// password, never which characters to use (there are no composition rules).
func weakPassword(pe *password.PolicyError) *apiError {
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
	return &apiError{status: http.StatusBadRequest, typ: typeWeakPassword, msg: msg}
}

// errorBody is the one error shape: the message and type twice, nested
// under "detail" for clients written for FastAPI and at the top level for
// the others.
type errorBody struct {
	Detail    errorDetail `json:"detail"`
	Message   string      `json:"message"`
	ErrorType string      `json:"error_type"`
}

type errorDetail struct {
	Message   string `json:"message"`
	ErrorType string `json:"error_type"`
}

// writeError writes e with its headers.
func writeError(w http.ResponseWriter, e *apiError) {
	h := w.Header()
	if e.challenge != "" {
		h.Set("WWW-Authenticate", e.challenge)
	}
	if e.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(e.retryAfter))
	}
	writeJSON(w, e.status, errorBody{
		Detail:    errorDetail{Message: e.msg, ErrorType: e.typ},
		Message:   e.msg,
		ErrorType: e.typ,
	})
}

// fail answers err. Unexpected errors are logged with the route pattern
// (never the raw path, which may carry a reset token) and answered with a
// generic 500.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error, o op) {
	e := errorFor(err, o)
	switch e.status {
	case http.StatusInternalServerError:
		a.log.LogAttrs(r.Context(), slog.LevelError, "httpapi: internal error",
			slog.String("route", r.Pattern), slog.String("method", r.Method), slog.String("error", err.Error()))
	case http.StatusServiceUnavailable:
		a.log.LogAttrs(r.Context(), slog.LevelWarn, "httpapi: unavailable",
			slog.String("route", r.Pattern), slog.String("method", r.Method), slog.String("error", err.Error()))
	}
	writeError(w, e)
}

// guardError is the middleware's [middleware.ErrorHandler]: refusals of
// bearer-protected routes in the API's error shape.
func (a *API) guardError(w http.ResponseWriter, r *http.Request, status int, err error) {
	switch status {
	case http.StatusUnauthorized:
		e := &apiError{status: status, typ: typeInvalidToken, msg: "Invalid token", challenge: middleware.Challenge(err)}
		switch {
		case errors.Is(err, auth.ErrTokenExpired):
			e.typ, e.msg = typeTokenExpired, "Token expired"
		case !errors.Is(err, auth.ErrTokenInvalid):
			e.msg = "Not authenticated"
		}
		writeError(w, e)
	case http.StatusForbidden:
		writeError(w, &apiError{status: status, typ: typeForbidden, msg: "Only superusers may do this"})
	default:
		// The check itself failed (the store): fail closed.
		a.log.LogAttrs(r.Context(), slog.LevelError, "httpapi: authenticating a request failed",
			slog.String("route", r.Pattern), slog.String("method", r.Method), slog.String("error", err.Error()))
		writeError(w, errUnavailable)
	}
}
