// Package httpapi serves an [auth.Manager] over HTTP as a JSON API that is
// wire-compatible with the v2 auth endpoints of R2R, so R2R's Python SDK
// and its JavaScript client (r2r-js 0.3.x) can talk to a Go server built on
// Gatehouse. The endpoints, request variants, statuses and error types are
// listed in docs/http-api.md in the repository.
//
// # Quick start
//
// An [API] is an [http.Handler] for its whole prefix (default "/v2").
// Serve it alone:
//
//	api, err := httpapi.New(m, httpapi.Config{})
//	if err != nil { ... }
//	http.ListenAndServe(addr, api)
//
// or mount it on the mux that also serves the application's own routes.
// [API.Mount] registers the pattern "/v2/"; Go's mux sends each request to
// its most specific pattern, so the application's routes, even ones under
// "/v2/", keep working:
//
//	mux := http.NewServeMux()
//	mux.HandleFunc("GET /{$}", home)
//	mux.Handle("GET /v2/reports", guard.RequireAuth(reports)) // more specific: the app's
//	api.Mount(mux)                                             // everything else under /v2/
//	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
//
// Behind a reverse proxy, give the API the application's
// [middleware.Guard], whose Config.TrustedProxies says which proxies'
// X-Forwarded-For to believe, so that the application's routes and the API
// see the same client:
//
//	guard := middleware.New(m, middleware.Config{TrustedProxies: proxies})
//	api, err := httpapi.New(m, httpapi.Config{Guard: guard})
//
// Configure the Manager itself (token lifetimes, email verification, mail)
// through [auth.Config]; this package adds only transport. Handlers of the
// application's own answer the Manager's errors in the API's shape with
// package httperr. Cross-origin
// browser clients need a CORS middleware in front of the API, which answers
// preflight requests itself: the API answers OPTIONS with 405.
//
// With Ed25519 access tokens, [NewJWKS] serves the issuer's public keys
// as a JWK Set at [JWKSPath] ("/.well-known/jwks.json", outside the
// prefix), so that other services verify tokens without a shared secret:
//
//	keys, err := httpapi.NewJWKS(issuer, httpapi.JWKSConfig{})
//	keys.Mount(mux)
//
// # The wire format
//
// Successes are 200 with {"results": ...}; users_overview and logs add
// "total_entries". Every error has one shape,
//
//	{"detail": {"message": M, "error_type": T}, "message": M, "error_type": T}
//
// with T a stable machine code such as "invalid_credentials",
// "email_taken" or "forbidden", and M a fixed human text: never internal
// error text (package httperr holds the table). Unexpected failures are 500
// "internal" with a generic message; the details go to Config.Logger.
//
// Every response has "Content-Type: application/json" (exactly: RFC 8259
// defines no charset parameter) and "Cache-Control: no-store". A 401
// carries "WWW-Authenticate: Bearer", with error="invalid_token" when a bad
// access token was sent.
//
// # Audit log, analytics and sessions
//
// Superusers read the Manager's audit runs with GET /logs and analyse them
// with GET /analytics, in the query forms R2R's SDKs send (run_type_filter
// with max_runs or offset and limit; filter_criteria and analysis_types as
// URL-encoded JSON) and with filters of ours (a user, a time window, a
// cursor). Beside R2R's endpoints, the API serves session endpoints of
// ours: GET /sessions, DELETE /sessions/{session_id}, POST
// /sessions/revoke_others and POST /logout_everywhere for users, and GET
// and DELETE /users/{user_id}/sessions and POST
// /users/{user_id}/force_password_reset for superusers. Also ours: POST
// /send_verification_email (another verification mail, the same answer
// for every address), POST /cancel_email_change, "is_active" in PUT /user
// for a superuser to deactivate or reactivate a user (every session of
// theirs ends at once), and "pending_email" in user objects (the address
// an email change awaits confirmation for, or null).
//
// # Federated login
//
// With Config.Federation (package auth/federation's clients), GET
// /oauth/{provider}/authorize redirects the browser to the provider with
// a short-lived __Host- cookie binding the flow to it, GET
// /oauth/{provider}/callback finishes the login (the token pair, or with a
// cookie-mode Config.Guard the session cookie and a redirect to the
// checked return path), POST /oauth/{provider}/link begins linking a
// provider to the logged-in user, and GET and DELETE /user/identities list
// and unlink. The two browser endpoints answer 302 redirects, not JSON,
// when they succeed; every refusal of the provider's answer is the one 400
// federation_failed.
//
// # Security
//
//   - Tokens are read only from "Authorization: Bearer" (SECURITY.md #65),
//     through package [middleware]; a refresh token is never accepted as a
//     bearer token, nor an access token at refresh.
//   - Request bodies are capped (Config.MaxBodyBytes, 64 KiB: 413
//     otherwise) and parsed strictly: unknown or duplicate fields, values of
//     the wrong type (an array for a string), invalid UTF-8 and data after
//     the JSON value are refused with 422 (SECURITY.md #68).
//   - Login answers an unknown email and a wrong password with identical
//     responses (SECURITY.md #13); a reset request and a request for
//     another verification mail answer the same whether or not the account
//     exists (#15).
//   - PUT /user accepts an allowlist of fields (#55); a user acts only on
//     themselves (#57); superuser endpoints answer 401 without a valid
//     token and 403 for other users, with the superuser flag read from the
//     store on each request (#58, #59).
//   - Throttled requests get 429 with Retry-After in seconds, the same for
//     known and unknown accounts (SECURITY.md #19). Every route records the
//     client's address for the Manager's per-IP limits from the connection,
//     or from X-Forwarded-For when the peer is one of the trusted proxies
//     of Config.Guard (#21).
//   - A request whose context ends while the store is slow (a deadline set
//     by the server or a middleware) is answered 503 at once (#75).
//   - Logs name the route pattern, never the path (POST
//     /reset_password/{token} carries a secret), a body, a token or a
//     password (#63).
//
// # Differences from R2R
//
// The wire format is R2R's; some behaviour is deliberately safer. Login
// with an unknown email is 401 like a wrong password (R2R said 404). A
// reset request for an unknown email is the same 200 as for a known one.
// Logout ends the session, refresh token included. A user changing their
// own email gets a confirmation link at the new address and the change
// happens when it is used: the answer to PUT /user still shows the old
// address, and the new one as "pending_email". A superuser deletes others without their password; a user
// deletes only themselves, with their password.
package httpapi
