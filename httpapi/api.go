package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/gatehouse-go/gatehouse/audit"
	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/httperr"
	"github.com/gatehouse-go/gatehouse/middleware"
)

// DefaultPrefix is the path prefix the API is served under when
// Config.Prefix is empty: R2R's "/v2".
const DefaultPrefix = "/v2"

// DefaultMaxBodyBytes is the request body cap when Config.MaxBodyBytes is
// zero: 64 KiB (SECURITY.md #68).
const DefaultMaxBodyBytes = 64 << 10

// Config configures an [API]. The zero value is ready to use.
type Config struct {
	// Prefix is the path the endpoints live under, for example "/v2" for
	// "/v2/login". It must start with "/" and not end with one; "/" serves
	// the endpoints at the root. Default [DefaultPrefix].
	Prefix string

	// Logger receives unexpected errors (answered 500) and refusals for an
	// unavailable store (503), with the route pattern and the error, never
	// a request body, token or password. Default: discard. Account events
	// are the Manager's to log (auth.Config.Logger).
	Logger *slog.Logger

	// MaxBodyBytes caps every request body; a larger one is answered 413
	// before it is read further. Default [DefaultMaxBodyBytes].
	MaxBodyBytes int64

	// Guard, when set, is the application's middleware.Guard: the API finds
	// the client of each request (its address and User-Agent, for the
	// Manager's sessions, audit runs and per-IP limits) as that Guard does
	// ([middleware.Guard.Client]), so reverse proxies are configured once,
	// in its middleware.Config.TrustedProxies, for the application's
	// routes and the API's alike. Set the proxies whenever the server sits
	// behind one (load balancer, CDN), or every client shares the proxy's
	// counters. Only the client comes from Guard: the API reads tokens from
	// "Authorization: Bearer" alone and writes its own refusals, whatever
	// Guard's Extractor and ErrorHandler. Nil (the default): the client is
	// the connection's peer and X-Forwarded-For is ignored, so a client
	// cannot choose its own address.
	Guard *middleware.Guard

	// Audit serves GET /logs and /analytics and the failed_logins_24h
	// figures of users_overview from an audit log (package audit). Nil:
	// those two endpoints answer a superuser 404 "Logging provider not
	// found", as R2R did without one, and the figures are null.
	Audit *audit.Reader
}

// API serves the HTTP endpoints of an [auth.Manager] under a path prefix,
// with R2R's v2 wire format (see the package documentation). It is an
// [http.Handler]; use it as a server's handler, or register it on an
// existing mux with [API.Mount]. An API is immutable and safe for
// concurrent use.
type API struct {
	m       *auth.Manager
	audit   *audit.Reader
	guard   *middleware.Guard // checks tokens and refuses
	clients *middleware.Guard // finds each request's client: Config.Guard or guard
	log     *slog.Logger
	prefix  string // "" when serving at the root
	maxBody int64
	mux     *http.ServeMux
	handler http.Handler // mux behind clients.WithClient
}

// New returns an API for m. It fails when m is nil or a Config field is
// invalid; it does no I/O and starts no goroutines.
func New(m *auth.Manager, cfg Config) (*API, error) {
	if m == nil {
		return nil, errors.New("httpapi: the Manager is nil")
	}
	prefix, err := cleanPrefix(cfg.Prefix)
	if err != nil {
		return nil, err
	}
	if cfg.MaxBodyBytes < 0 {
		return nil, errors.New("httpapi: Config.MaxBodyBytes must not be negative")
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	a := &API{m: m, audit: cfg.Audit, log: cfg.Logger, prefix: prefix, maxBody: cfg.MaxBodyBytes}
	a.guard = middleware.New(m, middleware.Config{
		ErrorHandler: a.guardError,
		Logger:       cfg.Logger,
	})
	a.clients = cfg.Guard
	if a.clients == nil {
		a.clients = a.guard
	}
	a.mux = a.buildMux()
	a.handler = a.clients.WithClient(a.mux)
	return a, nil
}

// cleanPrefix validates a Config.Prefix and returns it without a trailing
// slash ("" for the root).
func cleanPrefix(p string) (string, error) {
	switch p {
	case "":
		return DefaultPrefix, nil
	case "/":
		return "", nil
	}
	bad := func() (string, error) {
		return "", errors.New(`httpapi: Config.Prefix must be "/" or a path like "/v2": segments of letters, digits, "-", "_", "." or "~", without a trailing slash`)
	}
	if p[0] != '/' || p[len(p)-1] == '/' {
		return bad()
	}
	for _, seg := range strings.Split(p[1:], "/") {
		if seg == "" || seg == "." || seg == ".." {
			return bad()
		}
		for _, c := range []byte(seg) {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-_.~", c) >= 0) {
				return bad()
			}
		}
	}
	return p, nil
}

// Prefix returns the path prefix the API serves ("" at the root).
func (a *API) Prefix() string { return a.prefix }

// ServeHTTP serves the API's endpoints. Any other path, including every
// path outside the prefix, gets a JSON 404; a known path with another
// method gets a JSON 405 with an Allow header.
//
// Every route records the client's address and User-Agent for the Manager
// (its sessions, audit runs and per-IP limits), as [middleware.Guard.Client]
// of Config.Guard finds them, unless the request context already carries
// an [auth.Client] set by a middleware in front of the API.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.handler.ServeHTTP(w, r)
}

// Mount registers the API on mux under its prefix, with the one Go 1.22
// pattern "PREFIX/" (or "/" when the prefix is "/"), so the application's
// own routes on the same mux keep working: a more specific pattern such as
// "GET /v2/my-feature" or "/static/" still wins. Mount panics, as
// [http.ServeMux.Handle] does, when that pattern is already registered or
// conflicts with another. A catch-all with a method, "GET /", conflicts
// with "/v2/" (each is more specific in one respect); register the
// application's catch-all as "/" or its home page as "GET /{$}" instead.
func (a *API) Mount(mux *http.ServeMux) {
	mux.Handle(a.prefix+"/", a)
}

// access says who may call a route.
type access int

const (
	public    access = iota
	user             // a valid access token
	superuser        // a valid access token of an active superuser
)

// route is one endpoint of the API.
type route struct {
	method string
	path   string // below the prefix, with Go 1.22 wildcards
	access access
	handle http.HandlerFunc
}

// routes is the API's route table: every endpoint, in one place.
func (a *API) routes() []route {
	return []route{
		{"GET", "/health", public, a.health},
		{"POST", "/register", public, a.register},
		{"POST", "/verify_email", public, a.verifyEmail},
		{"POST", "/login", public, a.login},
		{"POST", "/logout", user, a.logout},
		{"GET", "/user", user, a.getUser},
		{"PUT", "/user", user, a.putUser},
		{"DELETE", "/user", user, a.deleteUserByBody},
		{"DELETE", "/user/{user_id}", user, a.deleteUser},
		{"POST", "/refresh_access_token", public, a.refresh},
		{"POST", "/change_password", user, a.changePassword},
		{"POST", "/request_password_reset", public, a.requestPasswordReset},
		{"POST", "/reset_password", public, a.resetPassword},
		{"POST", "/reset_password/{token}", public, a.resetPasswordByPath},
		{"GET", "/users_overview", superuser, a.usersOverview},
		{"GET", "/logs", superuser, a.logs},
		{"GET", "/analytics", superuser, a.analytics},

		// Ours: sessions (docs/http-api.md, "Sessions").
		{"GET", "/sessions", user, a.listSessions},
		{"DELETE", "/sessions/{session_id}", user, a.revokeSession},
		{"POST", "/sessions/revoke_others", user, a.revokeOtherSessions},
		{"POST", "/logout_everywhere", user, a.logoutEverywhere},
		{"GET", "/users/{user_id}/sessions", superuser, a.userSessions},
		{"DELETE", "/users/{user_id}/sessions", superuser, a.endUserSessions},
		{"POST", "/users/{user_id}/force_password_reset", superuser, a.forcePasswordReset},

		// Ours: stopping an email change from the old address.
		{"POST", "/cancel_email_change", public, a.cancelEmailChange},

		// Ours: the second step of a login with a second factor.
		{"POST", "/login/mfa", public, a.loginMFA},
		{"POST", "/mfa/totp/enroll", user, a.enrollTOTP},
		{"POST", "/mfa/totp/confirm", user, a.confirmTOTP},
		{"GET", "/mfa/factors", user, a.listFactors},
		{"DELETE", "/mfa/factors/{id}", user, a.removeFactor},
		{"POST", "/mfa/recovery_codes", user, a.regenerateRecoveryCodes},
		{"POST", "/users/{user_id}/mfa/reset", superuser, a.resetFactors},

		// Ours: passwordless email login (a link and a code by mail).
		{"POST", "/login/email", public, a.requestEmailLogin},
		{"POST", "/login/email/verify", public, a.emailLoginVerify},

		// Ours: another verification mail.
		{"POST", "/send_verification_email", public, a.sendVerificationEmail},
	}
}

// buildMux registers the route table on a fresh mux, one handler per path
// that dispatches on the method, plus a JSON 404 for everything else.
func (a *API) buildMux() *http.ServeMux {
	mux := http.NewServeMux()
	byPath := map[string]*endpoint{}
	var paths []string
	for _, rt := range a.routes() {
		var h http.Handler = rt.handle
		switch rt.access {
		case public:
			// ServeHTTP has recorded the client already.
		case user:
			h = a.guard.RequireAuth(h)
		case superuser:
			h = a.guard.RequireSuperuser(h)
		}
		e := byPath[rt.path]
		if e == nil {
			e = &endpoint{}
			byPath[rt.path] = e
			paths = append(paths, rt.path)
		}
		e.methods = append(e.methods, rt.method)
		e.handlers = append(e.handlers, h)
	}
	for _, p := range paths {
		e := byPath[p]
		allow := slices.Clone(e.methods)
		if slices.Contains(allow, "GET") {
			allow = append(allow, "HEAD")
		}
		e.allow = strings.Join(allow, ", ")
		mux.Handle(a.prefix+p, e)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, errNotFound)
	})
	return mux
}

// endpoint dispatches the requests for one path on their method.
type endpoint struct {
	methods  []string
	handlers []http.Handler
	allow    string
}

func (e *endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m := r.Method
	if m == http.MethodHead {
		m = http.MethodGet
	}
	for i, em := range e.methods {
		if em == m {
			e.handlers[i].ServeHTTP(w, r)
			return
		}
	}
	w.Header().Set("Allow", e.allow)
	writeError(w, &apiError{Status: http.StatusMethodNotAllowed, Type: httperr.TypeMethodNotAllowed, Message: "Method not allowed"})
}

// writeJSON writes v as the response with the headers every answer of the
// API carries: exactly "application/json" (RFC 8259 defines no charset
// parameter, and some R2R clients compare the header verbatim), no-store,
// since answers carry tokens or account data, and nosniff.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only our own response types get here; they always encode.
		status = http.StatusInternalServerError
		b = []byte(`{"detail":{"message":"Internal server error","error_type":"internal"},"message":"Internal server error","error_type":"internal"}`)
	}
	writeBody(w, status, b)
}

// writeBody writes an encoded JSON answer with the headers of writeJSON.
func writeBody(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(b)
}
