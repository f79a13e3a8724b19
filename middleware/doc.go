// Package middleware adapts an [auth.Manager] to net/http.
//
// A [Guard] holds three middleware of the standard shape
// func(http.Handler) http.Handler (and, in cookie mode, the methods that
// start and end browser sessions):
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
// httperr.Write. Tokens come from the Authorization header (see
// [BearerToken]) and, in cookie mode, from the session cookie; a custom
// [Extractor] can add other sources.
//
//	g := middleware.New(m, middleware.Config{})
//	mux.Handle("GET /me", g.RequireAuth(meHandler))
//	mux.Handle("GET /admin/", g.RequireSuperuser(adminHandler))
//	http.ListenAndServe(addr, g.Authenticate(mux)) // optional: identity for every route
//
// # Cookie mode, for server-rendered applications
//
// A browser application that renders its pages on the server sets
// Config.Cookies. The session then travels in a cookie the Guard manages
// (see [CookieConfig] for its attributes: "__Host-", Secure, HttpOnly,
// SameSite=Lax, Path=/, no Domain, a Max-Age within the session) and the
// application never handles a token:
//
//	g := middleware.New(m, middleware.Config{Cookies: &middleware.CookieConfig{}})
//	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
//		if _, err := g.LogIn(w, r, r.PostFormValue("email"), r.PostFormValue("password")); err != nil {
//			showLoginForm(w, r, err) // errors.Is(err, auth.ErrInvalidCredentials), ...
//			return
//		}
//		http.Redirect(w, r, "/", http.StatusSeeOther)
//	})
//	mux.Handle("GET /{$}", g.RequireAuth(homePage))
//	mux.Handle("POST /password", g.RequireAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
//		err := g.ChangePassword(w, r, r.PostFormValue("current"), r.PostFormValue("new"))
//		...
//	})))
//	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
//		if err := g.EndSession(w, r); err != nil {
//			httperr.Write(w, r, err, logger)
//			return
//		}
//		http.Redirect(w, r, "/login", http.StatusSeeOther)
//	})
//
// What the Guard does for such an application:
//
//   - Sessions. [Guard.LogIn] checks the password and sets the cookie
//     ([Guard.StartSession] does the second half alone, for a login the
//     application completed itself, such as one with a second factor).
//     [Guard.EndSession] ends the session and clears the cookie; a stale
//     cookie authenticates nothing afterwards and is cleared when it
//     comes back. Call these methods before writing the response, and
//     answer with a redirect (the request's context still describes the
//     old state).
//   - Refresh. The access token in the cookie lives minutes; when it has
//     expired the middleware refreshes it ([auth.Manager.Refresh]: one
//     rotation, reuse detection), sets the new cookie and serves the
//     request, so pages never see an expired session while the session
//     lives. The concurrent requests of one page share the refresh, and a
//     request with the old cookie within [RefreshMemory] gets the same new
//     cookie instead of tripping reuse detection. That sharing is per
//     process: behind a load balancer without sticky sessions, set
//     auth.Config.Sessions.ReuseGrace to a few seconds (10s covers the
//     requests of a page load), so that a refresh that loses the race on
//     another instance is refused (that one request gets 401) without
//     revoking the session; the browser already has the winner's cookie.
//     A refresh cookie replayed after the grace still revokes the session.
//   - CSRF. Unsafe requests (POST, PUT, PATCH, DELETE, …) that would use
//     the cookie are refused with 403 [ErrCrossOrigin] when a browser sent
//     them from another origin, judged by net/http's
//     [http.CrossOriginProtection] (Sec-Fetch-Site, or Origin against
//     Host); CookieConfig.TrustedOrigins lists origins that may. The
//     session methods apply the same check whatever the method, against
//     login CSRF and logout links on other sites. Requests with an
//     Authorization header are bearer requests, never checked: a page
//     cannot make a browser send one to another origin. GET handlers
//     must not change anything: they are not checked.
//   - No fixation. A login ends the session of any cookie the browser
//     brought and sets a new one. After a privilege change the browser
//     moves to a new session ID: [Guard.ChangePassword] does it for a
//     password change, [Guard.RenewSession] for anything else the request
//     changed about its own user (a second factor, a superuser grant to
//     oneself). When a superuser changes another user's privileges, end
//     that user's sessions (auth.Manager.RevokeOtherSessions with their
//     ID) so that they log in afresh.
//   - Errors. Refusals go through Config.ErrorHandler, as for bearer
//     requests; an HTML application redirects browsers to its login page
//     on 401 there and leaves the rest to [WriteError] (see the cookies
//     example). The session methods return errors for the caller to
//     answer: the Manager's, and [ErrCrossOrigin], which httperr.Write
//     answers 403.
//   - Development. CookieConfig.Insecure drops Secure and the "__Host-"
//     prefix so that the cookie works on http://localhost; [New] logs a
//     warning. Never in production.
//
// Bearer requests are unaffected by cookie mode: an API and a browser
// application can share one Guard.
//
// # Security
//
// Refusals never include error text: the default [ErrorHandler] writes a
// fixed message and type for each status. A store failure during the check
// refuses the request with 503 (fail closed). X-Forwarded-For is ignored
// unless the connection comes from a trusted proxy, so a client cannot
// choose the address its limits count against. The Authorization header is
// capped at [MaxAuthorizationBytes] before parsing, and responses vary on
// it (and on Cookie in cookie mode). In cookie mode the cookie is
// unreadable to scripts and sent only over HTTPS to this host, a
// cross-origin request can neither use nor refresh it, responses that set
// it are not cached ("Cache-Control: no-store"), and every login or
// privilege change gives the browser a new session (SECURITY.md #67).
//
// Package authtest (a test kit for applications) gives handler tests a
// Manager, users and logged-in requests, in bearer or cookie mode.
package middleware
