package httpapi

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/gatehouse-go/gatehouse/audit"
	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/httperr"
	"github.com/gatehouse-go/gatehouse/middleware"
)

// apiError is an error answer (package httperr): its status, stable type,
// human message and the headers that go with it. Messages are fixed texts
// or name a request field; they never carry internal error text or a
// secret.
type apiError = httperr.Error

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
	opMFA        // the second step of a login: a wrong code is 401, no factors means no challenge
)

func invalidRequest(format string, args ...any) *apiError {
	return &apiError{Status: http.StatusUnprocessableEntity, Type: httperr.TypeInvalidRequest, Message: fmt.Sprintf(format, args...)}
}

func invalidEmail(msg string) *apiError {
	return &apiError{Status: http.StatusUnprocessableEntity, Type: httperr.TypeInvalidEmail, Message: msg}
}

var (
	errBodyTooLarge = &apiError{Status: http.StatusRequestEntityTooLarge, Type: httperr.TypeBodyTooLarge, Message: "Request body too large"}
	errNotFound     = &apiError{Status: http.StatusNotFound, Type: httperr.TypeNotFound, Message: "Not found"}
	errNoLogs       = &apiError{Status: http.StatusNotFound, Type: httperr.TypeNotFound, Message: "Logging provider not found"}
	// errPasswordRequired: a user deleting their own account without a
	// password. The status and type are those of a wrong password
	// (docs/http-api.md); the message says what to send.
	errPasswordRequired = &apiError{Status: http.StatusBadRequest, Type: httperr.TypeInvalidPassword, Message: `Field "password" is required to delete your own account`}
)

// errorFor maps an error from the Manager (or from input parsing) to its
// answer: httperr's table, the one place where Manager errors become HTTP,
// plus what only this API's endpoints mean (docs/http-api.md).
func errorFor(err error, o op) *apiError {
	if errors.Is(err, errNoAuditLog) {
		// R2R's answer when it had no logging provider.
		return errNoLogs
	}
	var ve *auth.ValidationError
	if errors.Is(err, audit.ErrInvalidAnalysis) && errors.As(err, &ve) {
		// Names the population or analysis at fault (R2R skipped it
		// silently).
		return &apiError{Status: http.StatusBadRequest, Type: httperr.TypeInvalidRequest, Message: "Invalid " + ve.Field + ": " + ve.Reason}
	}
	if o == opMFA {
		switch {
		case errors.Is(err, auth.ErrInvalidCode):
			return &apiError{Status: http.StatusUnauthorized, Type: httperr.TypeInvalidCode, Message: "Wrong or already used code", Challenge: "Bearer"}
		case errors.Is(err, auth.ErrFactorsUnavailable):
			// Without factors no challenge can exist.
			return errorFor(auth.ErrInvalidChallenge, opDefault)
		}
	}
	e := httperr.From(err)
	if o != opDefault && e.Type == httperr.TypeInvalidToken && (errors.Is(err, auth.ErrTokenInvalid) || errors.Is(err, auth.ErrTokenExpired)) {
		switch o {
		case opRefresh:
			return &apiError{Status: http.StatusUnauthorized, Type: httperr.TypeInvalidRefreshToken, Message: "Invalid refresh token", Challenge: "Bearer"}
		case opReset:
			return &apiError{Status: http.StatusBadRequest, Type: httperr.TypeInvalidToken, Message: "Invalid or expired reset token"}
		case opCancel:
			return &apiError{Status: http.StatusBadRequest, Type: httperr.TypeInvalidToken, Message: "Invalid or expired token, or no email change is pending"}
		}
	}
	return e
}

// writeError writes e with its headers.
func writeError(w http.ResponseWriter, e *apiError) {
	httperr.Write(w, nil, e, nil)
}

// fail answers err. Unexpected errors are logged with the route pattern
// (never the raw path, which may carry a reset token) and answered with a
// generic 500.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error, o op) {
	e := errorFor(err, o)
	switch e.Status {
	case http.StatusInternalServerError:
		a.log.LogAttrs(r.Context(), slog.LevelError, "httpapi: internal error",
			slog.String("route", r.Pattern), slog.String("method", r.Method), slog.String("error", err.Error()))
	case http.StatusServiceUnavailable:
		a.log.LogAttrs(r.Context(), slog.LevelWarn, "httpapi: unavailable",
			slog.String("route", r.Pattern), slog.String("method", r.Method), slog.String("error", err.Error()))
	}
	writeError(w, e)
}

// guardError is the middleware's [middleware.ErrorHandler]: its default
// refusals (the API's error shape), with a log line naming the route when
// the check itself failed.
func (a *API) guardError(w http.ResponseWriter, r *http.Request, status int, err error) {
	if status != http.StatusUnauthorized && status != http.StatusForbidden {
		// The check itself failed (the store): fail closed.
		a.log.LogAttrs(r.Context(), slog.LevelError, "httpapi: authenticating a request failed",
			slog.String("route", r.Pattern), slog.String("method", r.Method), slog.String("error", err.Error()))
	}
	middleware.WriteError(w, r, status, err)
}
