package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/audit"
	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/auth/password"
	"github.com/gatehouse-go/gatehouse/httperr"
)

// TestErrorFor checks the mapping of every Manager error, wrapped as the
// Manager wraps them, including those no HTTP test can reach cheaply
// (ErrBusy).
func TestErrorFor(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("auth: op: %w", err) }
	tests := []struct {
		name       string
		err        error
		op         op
		status     int
		typ        string
		retryAfter int
	}{
		{"invalid email", &auth.ValidationError{Field: "email", Reason: "bad", Err: auth.ErrInvalidEmail}, opDefault, 422, httperr.TypeInvalidEmail, 0},
		{"weak password", &password.PolicyError{Reason: password.Common}, opDefault, 400, httperr.TypeWeakPassword, 0},
		{"weak password sentinel", wrap(auth.ErrWeakPassword), opDefault, 400, httperr.TypeWeakPassword, 0},
		{"credentials", auth.ErrInvalidCredentials, opDefault, 401, httperr.TypeInvalidCredentials, 0},
		{"not verified", auth.ErrEmailNotVerified, opDefault, 401, httperr.TypeEmailNotVerified, 0},
		{"disabled", auth.ErrAccountDisabled, opDefault, 401, httperr.TypeAccountDisabled, 0},
		{"email taken", auth.ErrEmailTaken, opDefault, 400, httperr.TypeEmailTaken, 0},
		{"code", auth.ErrInvalidCode, opDefault, 400, httperr.TypeInvalidCode, 0},
		{"verification off", auth.ErrVerificationNotRequired, opDefault, 400, httperr.TypeVerificationOff, 0},
		{"refresh invalid", auth.ErrTokenInvalid, opRefresh, 401, httperr.TypeInvalidRefreshToken, 0},
		{"refresh reused", fmt.Errorf("%w: %w", auth.ErrRefreshTokenReused, auth.ErrTokenInvalid), opRefresh, 401, httperr.TypeInvalidRefreshToken, 0},
		{"reset token", auth.ErrTokenInvalid, opReset, 400, httperr.TypeInvalidToken, 0},
		{"token elsewhere", auth.ErrTokenInvalid, opDefault, 401, httperr.TypeInvalidToken, 0},
		{"unauthenticated", auth.ErrUnauthenticated, opDefault, 401, httperr.TypeInvalidToken, 0},
		{"password", auth.ErrInvalidPassword, opDefault, 400, httperr.TypeInvalidPassword, 0},
		{"reauth", auth.ErrReauthRequired, opDefault, 400, httperr.TypeReauthRequired, 0},
		{"forbidden", auth.ErrForbidden, opDefault, 403, httperr.TypeForbidden, 0},
		{"not found", auth.ErrNotFound, opDefault, 404, httperr.TypeNotFound, 0},
		{"last superuser", auth.ErrLastSuperuser, opDefault, 400, httperr.TypeLastSuperuser, 0},
		{"deactivate self", auth.ErrDeactivateSelf, opDefault, 400, httperr.TypeDeactivateSelf, 0},
		{"busy", fmt.Errorf("%w: %w", auth.ErrBusy, context.DeadlineExceeded), opDefault, 503, httperr.TypeUnavailable, 1},
		{"deadline", fmt.Errorf("auth: login: %w", context.DeadlineExceeded), opDefault, 503, httperr.TypeUnavailable, 1},
		{"canceled", fmt.Errorf("auth: login: %w", context.Canceled), opDefault, 503, httperr.TypeUnavailable, 1},
		{"throttled 1.2 s", wrap(&auth.ThrottledError{RetryAfter: 1200 * time.Millisecond}), opDefault, 429, httperr.TypeRateLimited, 2},
		{"throttled 0.3 s", &auth.ThrottledError{RetryAfter: 300 * time.Millisecond}, opDefault, 429, httperr.TypeRateLimited, 1},
		{"throttled 0", &auth.ThrottledError{}, opDefault, 429, httperr.TypeRateLimited, 1},
		{"throttled exactly 60 s", &auth.ThrottledError{RetryAfter: time.Minute}, opDefault, 429, httperr.TypeRateLimited, 60},
		{"throttled 15 min + 1 ns", &auth.ThrottledError{RetryAfter: 15*time.Minute + 1}, opDefault, 429, httperr.TypeRateLimited, 901},
		{"throttled sentinel", wrap(auth.ErrThrottled), opDefault, 429, httperr.TypeRateLimited, 1},
		{"runs disabled", wrap(errNoAuditLog), opDefault, 404, httperr.TypeNotFound, 0},
		{"invalid analysis", &auth.ValidationError{Field: "analysis_types.x", Reason: "unknown analysis \"y\"", Err: audit.ErrInvalidAnalysis}, opDefault, 400, httperr.TypeInvalidRequest, 0},
		{"validation", &auth.ValidationError{Field: "name", Reason: "must be at most 200 characters"}, opDefault, 422, httperr.TypeInvalidRequest, 0},
		{"store failure", errors.New("sqlstore: SELECT * FROM users: connection reset"), opDefault, 500, httperr.TypeInternal, 0},
		{"hash failure", wrap(auth.ErrInvalidHash), opDefault, 500, httperr.TypeInternal, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := errorFor(tt.err, tt.op)
			if e.Status != tt.status || e.Type != tt.typ || e.RetryAfter != tt.retryAfter {
				t.Fatalf("errorFor = %d %s retry %d, want %d %s retry %d", e.Status, e.Type, e.RetryAfter, tt.status, tt.typ, tt.retryAfter)
			}
			if e.Status == 401 && !strings.HasPrefix(e.Challenge, "Bearer") {
				t.Errorf("401 without a challenge")
			}
			if e.Status == 500 && strings.Contains(e.Message, "sqlstore") {
				t.Errorf("internal text in the message %q", e.Message)
			}
		})
	}
	if e := errorFor(&auth.ValidationError{Field: "name", Reason: "must be at most 200 characters"}, opDefault); e.Message != "Invalid name: must be at most 200 characters" {
		t.Errorf("validation message %q", e.Message)
	}
}

// TestWriteErrorHeaders: Retry-After and WWW-Authenticate go out with the
// errors that carry them.
func TestWriteErrorHeaders(t *testing.T) {
	rec := httptest.NewRecorder()
	writeError(rec, errorFor(auth.ErrBusy, opDefault))
	if rec.Code != 503 || rec.Header().Get("Retry-After") != "1" || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("%d %v", rec.Code, rec.Header())
	}
	want := `{"detail":{"message":"Service temporarily unavailable, try again","error_type":"unavailable"},"message":"Service temporarily unavailable, try again","error_type":"unavailable"}`
	if rec.Body.String() != want {
		t.Fatalf("body %s", rec.Body)
	}
}
