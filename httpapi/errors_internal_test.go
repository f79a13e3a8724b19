package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/audit"
	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/auth/password"
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
		{"invalid email", &auth.ValidationError{Field: "email", Reason: "bad", Err: auth.ErrInvalidEmail}, opDefault, 422, typeInvalidEmail, 0},
		{"weak password", &password.PolicyError{Reason: password.Common}, opDefault, 400, typeWeakPassword, 0},
		{"weak password sentinel", wrap(auth.ErrWeakPassword), opDefault, 400, typeWeakPassword, 0},
		{"credentials", auth.ErrInvalidCredentials, opDefault, 401, typeInvalidCredentials, 0},
		{"not verified", auth.ErrEmailNotVerified, opDefault, 401, typeEmailNotVerified, 0},
		{"disabled", auth.ErrAccountDisabled, opDefault, 401, typeAccountDisabled, 0},
		{"email taken", auth.ErrEmailTaken, opDefault, 400, typeEmailTaken, 0},
		{"code", auth.ErrInvalidCode, opDefault, 400, typeInvalidCode, 0},
		{"verification off", auth.ErrVerificationNotRequired, opDefault, 400, typeVerificationOff, 0},
		{"refresh invalid", auth.ErrTokenInvalid, opRefresh, 401, typeInvalidRefreshToken, 0},
		{"refresh reused", fmt.Errorf("%w: %w", auth.ErrRefreshTokenReused, auth.ErrTokenInvalid), opRefresh, 401, typeInvalidRefreshToken, 0},
		{"reset token", auth.ErrTokenInvalid, opReset, 400, typeInvalidToken, 0},
		{"token elsewhere", auth.ErrTokenInvalid, opDefault, 401, typeInvalidToken, 0},
		{"unauthenticated", auth.ErrUnauthenticated, opDefault, 401, typeInvalidToken, 0},
		{"password", auth.ErrInvalidPassword, opDefault, 400, typeInvalidPassword, 0},
		{"reauth", auth.ErrReauthRequired, opDefault, 400, typeReauthRequired, 0},
		{"forbidden", auth.ErrForbidden, opDefault, 403, typeForbidden, 0},
		{"not found", auth.ErrNotFound, opDefault, 404, typeNotFound, 0},
		{"last superuser", auth.ErrLastSuperuser, opDefault, 400, typeLastSuperuser, 0},
		{"busy", fmt.Errorf("%w: %w", auth.ErrBusy, context.DeadlineExceeded), opDefault, 503, typeUnavailable, 1},
		{"deadline", fmt.Errorf("auth: login: %w", context.DeadlineExceeded), opDefault, 503, typeUnavailable, 1},
		{"canceled", fmt.Errorf("auth: login: %w", context.Canceled), opDefault, 503, typeUnavailable, 1},
		{"throttled 1.2 s", wrap(&auth.ThrottledError{RetryAfter: 1200 * time.Millisecond}), opDefault, 429, typeRateLimited, 2},
		{"throttled 0.3 s", &auth.ThrottledError{RetryAfter: 300 * time.Millisecond}, opDefault, 429, typeRateLimited, 1},
		{"throttled 0", &auth.ThrottledError{}, opDefault, 429, typeRateLimited, 1},
		{"throttled exactly 60 s", &auth.ThrottledError{RetryAfter: time.Minute}, opDefault, 429, typeRateLimited, 60},
		{"throttled 15 min + 1 ns", &auth.ThrottledError{RetryAfter: 15*time.Minute + 1}, opDefault, 429, typeRateLimited, 901},
		{"throttled sentinel", wrap(auth.ErrThrottled), opDefault, 429, typeRateLimited, 1},
		{"runs disabled", wrap(errNoAuditLog), opDefault, 404, typeNotFound, 0},
		{"invalid analysis", &auth.ValidationError{Field: "analysis_types.x", Reason: "unknown analysis \"y\"", Err: audit.ErrInvalidAnalysis}, opDefault, 400, typeInvalidRequest, 0},
		{"validation", &auth.ValidationError{Field: "name", Reason: "must be at most 200 characters"}, opDefault, 422, typeInvalidRequest, 0},
		{"store failure", errors.New("sqlstore: SELECT * FROM users: connection reset"), opDefault, 500, typeInternal, 0},
		{"hash failure", wrap(auth.ErrInvalidHash), opDefault, 500, typeInternal, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := errorFor(tt.err, tt.op)
			if e.status != tt.status || e.typ != tt.typ || e.retryAfter != tt.retryAfter {
				t.Fatalf("errorFor = %d %s retry %d, want %d %s retry %d", e.status, e.typ, e.retryAfter, tt.status, tt.typ, tt.retryAfter)
			}
			if e.status == 401 && !strings.HasPrefix(e.challenge, "Bearer") {
				t.Errorf("401 without a challenge")
			}
			if e.status == 500 && strings.Contains(e.msg, "sqlstore") {
				t.Errorf("internal text in the message %q", e.msg)
			}
		})
	}
	if e := errorFor(&auth.ValidationError{Field: "name", Reason: "must be at most 200 characters"}, opDefault); e.msg != "Invalid name: must be at most 200 characters" {
		t.Errorf("validation message %q", e.msg)
	}
}

// TestWeakPasswordMessages: the refusal says what was wrong and never
// asks for character classes (there are no composition rules).
func TestWeakPasswordMessages(t *testing.T) {
	rules := regexp.MustCompile(`(?i)digit|number|upper|lower|symbol|special|letter`)
	for _, r := range []password.Reason{password.TooShort, password.TooLong, password.Common, password.Contextual, password.Invalid} {
		e := weakPassword(&password.PolicyError{Reason: r, Min: 8, Max: 256})
		if e.msg == "" || rules.MatchString(e.msg) {
			t.Errorf("%s: message %q", r, e.msg)
		}
	}
	if e := weakPassword(&password.PolicyError{Reason: password.TooShort, Min: 12}); !strings.Contains(e.msg, "12") {
		t.Errorf("too short: %q does not give the minimum", e.msg)
	}
}

// TestWriteErrorHeaders: Retry-After and WWW-Authenticate go out with the
// errors that carry them.
func TestWriteErrorHeaders(t *testing.T) {
	rec := httptest.NewRecorder()
	writeError(rec, errUnavailable)
	if rec.Code != 503 || rec.Header().Get("Retry-After") != "1" || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("%d %v", rec.Code, rec.Header())
	}
	want := `{"detail":{"message":"Service temporarily unavailable, try again","error_type":"unavailable"},"message":"Service temporarily unavailable, try again","error_type":"unavailable"}`
	if rec.Body.String() != want {
		t.Fatalf("body %s", rec.Body)
	}
}
