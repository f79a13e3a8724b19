// Package middleware adapts an [auth.Manager] to net/http.
//
// A [Guard] holds three middleware of the standard shape
// func(http.Handler) http.Handler:
//
//   - [Guard.Authenticate] puts the caller's identity into the request
//     context when the request carries a valid access token, and never
//     refuses a request.
//   - [Guard.RequireAuth] refuses requests without one: 401 with
//     "WWW-Authenticate: Bearer".
//   - [Guard.RequireSuperuser] also refuses valid tokens of users who are not
//     superusers: 403.
//
// Refusals are answered by Config.ErrorHandler. The default, [WriteError],
// writes the JSON error body of the /v2 API (package httperr), so an
// application's own routes refuse exactly as package httpapi does:
//
//	401 {"detail":{"message":"Not authenticated","error_type":"invalid_token"},"message":"Not authenticated","error_type":"invalid_token"}
//
// An application that wants otherwise for some requests (a redirect to
// its login page for browsers) sets its own handler and can call
// WriteError for the rest.
//
// [Guard.Client] finds each request's client (for sessions, audit runs and
// the Manager's per-IP limits) from the connection, or from
// X-Forwarded-For when the peer is one of Config.TrustedProxies. Give the
// same Guard to httpapi.Config.Guard and the API finds clients the same
// way: the proxies are configured once.
//
// To time handlers for the audit log's analytics, wrap them with
// audit.Recorder.RecordLatency.
//
// Handlers read the identity with [auth.IdentityFromContext] or
// [auth.UserFromContext], and answer the Manager's errors with
// httperr.Write. Tokens come only from the Authorization header (see
// [BearerToken]); a custom [Extractor] can add other sources.
//
//	g := middleware.New(m, middleware.Config{})
//	mux.Handle("GET /me", g.RequireAuth(meHandler))
//	mux.Handle("GET /admin/", g.RequireSuperuser(adminHandler))
//	http.ListenAndServe(addr, g.Authenticate(mux)) // optional: identity for every route
//
// # Security
//
// Refusals never include error text: the default [ErrorHandler] writes a
// fixed message and type for each status. A store failure during the check
// refuses the request with 503 (fail closed). X-Forwarded-For is ignored
// unless the connection comes from a trusted proxy, so a client cannot
// choose the address its limits count against. The Authorization header is
// capped at [MaxAuthorizationBytes] before parsing, and responses vary on
// it.
package middleware
