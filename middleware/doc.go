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
// To time handlers for the audit log's analytics, wrap them with
// audit.Recorder.RecordLatency.
//
// Handlers read the identity with [auth.IdentityFromContext] or
// [auth.UserFromContext]. Tokens come only from the Authorization header
// (see [BearerToken]); a custom [Extractor] can add other sources.
//
//	g := middleware.New(m, middleware.Config{})
//	mux.Handle("GET /me", g.RequireAuth(meHandler))
//	mux.Handle("GET /admin/", g.RequireSuperuser(adminHandler))
//	http.ListenAndServe(addr, g.Authenticate(mux)) // optional: identity for every route
//
// # Security
//
// Refusals never include error text: the default [ErrorHandler] writes only
// the status text. A store failure during the check refuses the request
// with 503 (fail closed). The Authorization header is capped at
// [MaxAuthorizationBytes] before parsing, and responses vary on it.
package middleware
