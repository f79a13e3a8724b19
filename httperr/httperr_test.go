package httperr_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/auth/password"
	"github.com/gatehouse-go/gatehouse/httperr"
)

// TestFrom checks the mapping of every error the Manager and the audit
// Reader document, wrapped as they wrap them.
func TestFrom(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("auth: op: %w", err) }
	tests := []struct {
		name       string
		err        error
		status     int
		typ        string
		retryAfter int
		challenge  string
	}{
		{"invalid email", &auth.ValidationError{Field: "email", Reason: "bad", Err: auth.ErrInvalidEmail}, 422, httperr.TypeInvalidEmail, 0, ""},
		{"weak password", &password.PolicyError{Reason: password.Common}, 400, httperr.TypeWeakPassword, 0, ""},
		{"weak password sentinel", wrap(auth.ErrWeakPassword), 400, httperr.TypeWeakPassword, 0, ""},
		{"credentials", wrap(auth.ErrInvalidCredentials), 401, httperr.TypeInvalidCredentials, 0, "Bearer"},
		{"not verified", auth.ErrEmailNotVerified, 401, httperr.TypeEmailNotVerified, 0, "Bearer"},
		{"disabled", auth.ErrAccountDisabled, 401, httperr.TypeAccountDisabled, 0, "Bearer"},
		{"email taken", auth.ErrEmailTaken, 400, httperr.TypeEmailTaken, 0, ""},
		{"code", auth.ErrInvalidCode, 400, httperr.TypeInvalidCode, 0, ""},
		{"verification off", auth.ErrVerificationNotRequired, 400, httperr.TypeVerificationOff, 0, ""},
		{"token invalid", wrap(auth.ErrTokenInvalid), 401, httperr.TypeInvalidToken, 0, `Bearer error="invalid_token"`},
		{"token expired", auth.ErrTokenExpired, 401, httperr.TypeInvalidToken, 0, `Bearer error="invalid_token"`},
		{"refresh reused", fmt.Errorf("%w: %w", auth.ErrRefreshTokenReused, auth.ErrTokenInvalid), 401, httperr.TypeInvalidToken, 0, `Bearer error="invalid_token"`},
		{"unauthenticated", auth.ErrUnauthenticated, 401, httperr.TypeInvalidToken, 0, `Bearer error="invalid_token"`},
		{"password", auth.ErrInvalidPassword, 400, httperr.TypeInvalidPassword, 0, ""},
		{"reauth", auth.ErrReauthRequired, 400, httperr.TypeReauthRequired, 0, ""},
		{"forbidden", auth.ErrForbidden, 403, httperr.TypeForbidden, 0, ""},
		{"mfa enrollment", wrap(auth.ErrMFAEnrollmentRequired), 403, httperr.TypeMFAEnrollment, 0, ""},
		{"not found", auth.ErrNotFound, 404, httperr.TypeNotFound, 0, ""},
		{"last superuser", auth.ErrLastSuperuser, 400, httperr.TypeLastSuperuser, 0, ""},
		{"deactivate self", wrap(auth.ErrDeactivateSelf), 400, httperr.TypeDeactivateSelf, 0, ""},
		{"federation off", wrap(auth.ErrFederationUnavailable), 400, httperr.TypeFederationUnavailable, 0, ""},
		{"provider email unverified", wrap(auth.ErrProviderEmailUnverified), 403, httperr.TypeProviderEmailUnverified, 0, ""},
		{"identity taken", wrap(auth.ErrIdentityTaken), 409, httperr.TypeIdentityTaken, 0, ""},
		{"last login", wrap(auth.ErrLastLogin), 400, httperr.TypeLastLogin, 0, ""},
		{"federation failed", wrap(auth.ErrFederationFailed), 400, httperr.TypeFederationFailed, 0, ""},
		{"tokens unsealable", wrap(auth.ErrTokensUnsealable), 500, httperr.TypeInternal, 0, ""},
		{"busy", fmt.Errorf("%w: %w", auth.ErrBusy, context.DeadlineExceeded), 503, httperr.TypeUnavailable, 1, ""},
		{"busy alone", wrap(auth.ErrBusy), 503, httperr.TypeUnavailable, 1, ""},
		{"deadline", fmt.Errorf("auth: login: %w", context.DeadlineExceeded), 503, httperr.TypeUnavailable, 1, ""},
		{"canceled", fmt.Errorf("auth: login: %w", context.Canceled), 503, httperr.TypeUnavailable, 1, ""},
		{"throttled 1.2 s", wrap(&auth.ThrottledError{RetryAfter: 1200 * time.Millisecond}), 429, httperr.TypeRateLimited, 2, ""},
		{"throttled 0.3 s", &auth.ThrottledError{RetryAfter: 300 * time.Millisecond}, 429, httperr.TypeRateLimited, 1, ""},
		{"throttled 0", &auth.ThrottledError{}, 429, httperr.TypeRateLimited, 1, ""},
		{"throttled exactly 60 s", &auth.ThrottledError{RetryAfter: time.Minute}, 429, httperr.TypeRateLimited, 60, ""},
		{"throttled 15 min + 1 ns", &auth.ThrottledError{RetryAfter: 15*time.Minute + 1}, 429, httperr.TypeRateLimited, 901, ""},
		{"throttled for ever", &auth.ThrottledError{RetryAfter: 1<<63 - 1}, 429, httperr.TypeRateLimited, 1<<31 - 1, ""},
		{"throttled sentinel", wrap(auth.ErrThrottled), 429, httperr.TypeRateLimited, 1, ""},
		{"validation", wrap(&auth.ValidationError{Field: "name", Reason: "must be at most 200 characters"}), 422, httperr.TypeInvalidRequest, 0, ""},
		{"own answer", wrap(&httperr.Error{Status: 409, Type: "conflict", Message: "Try again"}), 409, "conflict", 0, ""},
		{"store failure", errors.New("sqlstore: SELECT * FROM users: connection reset"), 500, httperr.TypeInternal, 0, ""},
		{"hash failure", wrap(auth.ErrInvalidHash), 500, httperr.TypeInternal, 0, ""},
		{"nil", nil, 500, httperr.TypeInternal, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := httperr.From(tt.err)
			if e.Status != tt.status || e.Type != tt.typ || e.RetryAfter != tt.retryAfter || e.Challenge != tt.challenge {
				t.Fatalf("From = %d %s retry %d challenge %q, want %d %s retry %d challenge %q",
					e.Status, e.Type, e.RetryAfter, e.Challenge, tt.status, tt.typ, tt.retryAfter, tt.challenge)
			}
			if got := httperr.Status(tt.err); got != tt.status {
				t.Errorf("Status = %d", got)
			}
			status, body := httperr.Response(tt.err)
			if status != tt.status || body.ErrorType != tt.typ || body.Detail.ErrorType != tt.typ || body.Message != e.Message || body.Detail.Message != e.Message {
				t.Errorf("Response = %d %+v", status, body)
			}
			if tt.err != nil && tt.status == 500 && e.Message != "Internal server error" {
				t.Errorf("500 message %q", e.Message)
			}
		})
	}
	if e := httperr.From(&auth.ValidationError{Field: "name", Reason: "must be at most 200 characters"}); e.Message != "Invalid name: must be at most 200 characters" {
		t.Errorf("validation message %q", e.Message)
	}
}

// TestFromReturnsFreshAnswers: changing an answer does not change the next
// one.
func TestFromReturnsFreshAnswers(t *testing.T) {
	e := httperr.From(errors.New("boom"))
	e.Message = "changed"
	if got := httperr.From(errors.New("boom")).Message; got != "Internal server error" {
		t.Fatalf("message %q after changing an earlier answer", got)
	}
}

// TestWeakPasswordMessages: the refusal says what was wrong and never
// asks for character classes (there are no composition rules).
func TestWeakPasswordMessages(t *testing.T) {
	rules := regexp.MustCompile(`(?i)digit|number|upper|lower|symbol|special|letter`)
	for _, r := range []password.Reason{password.TooShort, password.TooLong, password.Common, password.Contextual, password.Invalid} {
		e := httperr.From(&password.PolicyError{Reason: r, Min: 8, Max: 256})
		if e.Message == "" || rules.MatchString(e.Message) {
			t.Errorf("%s: message %q", r, e.Message)
		}
	}
	if e := httperr.From(&password.PolicyError{Reason: password.TooShort, Min: 12}); !strings.Contains(e.Message, "12") {
		t.Errorf("too short: %q does not give the minimum", e.Message)
	}
	if e := httperr.From(&password.PolicyError{Reason: password.TooLong, Max: 64}); !strings.Contains(e.Message, "64") {
		t.Errorf("too long: %q does not give the maximum", e.Message)
	}
}

// TestWrite: the bytes and headers of an answer, and what reaches the
// logger.
func TestWrite(t *testing.T) {
	body := func(msg, typ string) string {
		return `{"detail":{"message":"` + msg + `","error_type":"` + typ + `"},"message":"` + msg + `","error_type":"` + typ + `"}`
	}
	secret := errors.New("sqlstore: password=hunter2: connection reset")
	tests := []struct {
		name    string
		err     error
		status  int
		body    string
		headers map[string]string
		logged  string // "" when nothing is logged
	}{
		{"throttled", &auth.ThrottledError{RetryAfter: 90 * time.Second}, 429, body("Too many attempts, try again later", "rate_limited"),
			map[string]string{"Retry-After": "90", "WWW-Authenticate": ""}, ""},
		{"credentials", auth.ErrInvalidCredentials, 401, body("Incorrect email or password", "invalid_credentials"),
			map[string]string{"WWW-Authenticate": "Bearer", "Retry-After": ""}, ""},
		{"401 of the application's own", &httperr.Error{Status: 401, Type: "session_required", Message: "Log in first"}, 401, body("Log in first", "session_required"),
			map[string]string{"WWW-Authenticate": "Bearer"}, ""},
		{"escaped", &httperr.Error{Status: 400, Type: "x", Message: `<a href="&">`}, 400, body(`\u003ca href=\"\u0026\"\u003e`, "x"), nil, ""},
		{"busy", auth.ErrBusy, 503, body("Service temporarily unavailable, try again", "unavailable"),
			map[string]string{"Retry-After": "1"}, "level=WARN"},
		{"internal", fmt.Errorf("auth: login: %w", secret), 500, body("Internal server error", "internal"), nil, "level=ERROR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			logger := slog.New(slog.NewTextHandler(&logs, nil))
			mux := http.NewServeMux()
			mux.HandleFunc("POST /login/{token}", func(w http.ResponseWriter, r *http.Request) {
				httperr.Write(w, r, tt.err, logger)
			})
			w := httptest.NewRecorder()
			mux.ServeHTTP(w, httptest.NewRequest("POST", "/login/s3cr3t-token", nil))
			if w.Code != tt.status || w.Body.String() != tt.body {
				t.Fatalf("%d %s\nwant %d %s", w.Code, w.Body, tt.status, tt.body)
			}
			want := map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
			for k, v := range tt.headers {
				want[k] = v
			}
			for k, v := range want {
				if got := w.Header().Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			if !json.Valid(w.Body.Bytes()) {
				t.Errorf("invalid JSON %s", w.Body)
			}
			if strings.Contains(w.Body.String(), "hunter2") || strings.Contains(w.Body.String(), "sqlstore") {
				t.Errorf("the error's text reached the client: %s", w.Body)
			}
			got := logs.String()
			if tt.logged == "" {
				if got != "" {
					t.Errorf("logged %s", got)
				}
				return
			}
			for _, s := range []string{tt.logged, `route="POST /login/{token}"`, "method=POST", "error="} {
				if !strings.Contains(got, s) {
					t.Errorf("log lacks %s:\n%s", s, got)
				}
			}
			if tt.status == 500 && !strings.Contains(got, "hunter2") {
				t.Errorf("the log lacks the error's text:\n%s", got)
			}
			if strings.Contains(got, "s3cr3t-token") {
				t.Errorf("the log names the path:\n%s", got)
			}
		})
	}
}

// TestWriteWithoutLoggerOrRequest: neither is needed.
func TestWriteWithoutLoggerOrRequest(t *testing.T) {
	w := httptest.NewRecorder()
	httperr.Write(w, nil, errors.New("boom"), nil)
	if w.Code != 500 || !strings.Contains(w.Body.String(), `"error_type":"internal"`) {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	var logs bytes.Buffer
	httperr.Write(httptest.NewRecorder(), nil, errors.New("boom"), slog.New(slog.NewTextHandler(&logs, nil)))
	if !strings.Contains(logs.String(), "error=boom") {
		t.Fatalf("log %q", logs.String())
	}
}

// TestRefusal: the middleware's answers for each status it refuses with.
func TestRefusal(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		err       error
		wantCode  int
		typ, msg  string
		challenge string
		retry     int
	}{
		{"no token", 401, auth.ErrUnauthenticated, 401, "invalid_token", "Not authenticated", "Bearer", 0},
		{"bad token", 401, auth.ErrTokenInvalid, 401, "invalid_token", "Invalid token", `Bearer error="invalid_token"`, 0},
		{"expired token", 401, fmt.Errorf("x: %w", auth.ErrTokenExpired), 401, "token_expired", "Token expired", `Bearer error="invalid_token", error_description="The access token expired"`, 0},
		{"not a superuser", 403, auth.ErrForbidden, 403, "forbidden", "Only superusers may do this", "", 0},
		{"store down", 503, errors.New("connection refused"), 503, "unavailable", "Service temporarily unavailable, try again", "", 1},
		{"any other status", 500, errors.New("boom"), 503, "unavailable", "Service temporarily unavailable, try again", "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := httperr.Refusal(tt.status, tt.err)
			if e.Status != tt.wantCode || e.Type != tt.typ || e.Message != tt.msg || e.Challenge != tt.challenge || e.RetryAfter != tt.retry {
				t.Fatalf("Refusal = %+v", e)
			}
		})
	}
}
