// Package httperr turns Gatehouse's errors into HTTP answers: a status,
// the headers that go with it and the JSON error body of the /v2 API,
//
//	{"detail": {"message": M, "error_type": T}, "message": M, "error_type": T}
//
// with T a stable machine code (the Type constants) and M a fixed human
// text that never carries an error's own text or a secret. It is the one
// table behind package httpapi's answers, package middleware's default
// refusals and any handler an application writes around an auth.Manager,
// so every part of a server answers the same error the same way.
//
// # Quick start
//
// In a handler, answer any error from the Manager with [Write]:
//
//	res, err := m.Login(r.Context(), email, password)
//	if err != nil {
//		httperr.Write(w, r, err, logger) // 401, 429 with Retry-After, 500, ...
//		return
//	}
//
// [From] gives the answer without writing it, [Status] only its status,
// and [Response] its status and [Body], for code that writes responses
// its own way. [Refusal] is the answer of package middleware when it
// refuses a request before any handler runs.
//
// # Security
//
//   - An error the table does not know is 500 "internal" with a generic
//     message; its text goes only to the logger given to [Write], never to
//     the client (SECURITY.md #63).
//   - Throttling (auth.ErrThrottled) is 429 with Retry-After in whole
//     seconds, the same for known and unknown accounts.
//   - A request whose context ended while the store was slow is 503 with
//     Retry-After: 1 (fail closed, SECURITY.md #44, #75).
//   - Every answer is "application/json", "Cache-Control: no-store" and
//     "X-Content-Type-Options: nosniff"; a 401 carries WWW-Authenticate.
//
// See package httpapi for the whole API and package middleware for the
// middleware that uses this table.
package httperr
