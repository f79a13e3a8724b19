package middleware

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/httperr"
)

// MaxAuthorizationBytes caps the Authorization header that [BearerToken]
// looks at; longer headers are refused before any parsing (SECURITY.md #33).
const MaxAuthorizationBytes = 8192

// maxUserAgent caps the User-Agent kept for sessions and events.
const maxUserAgent = 512

// ErrNoToken is returned by an [Extractor] when the request carries no
// token at all: the request is anonymous, not invalid.
var ErrNoToken = errors.New("middleware: no token")

// Extractor finds the access token in a request. It returns [ErrNoToken]
// when there is none and another error when what is there is malformed.
type Extractor func(r *http.Request) (string, error)

// BearerToken is the default [Extractor]: the token of an
// "Authorization: Bearer <token>" header (scheme case-insensitive), and
// nowhere else — never the query string or a form (SECURITY.md #65). Two
// Authorization headers, another scheme, an empty token or a header over
// [MaxAuthorizationBytes] are malformed.
func BearerToken(r *http.Request) (string, error) {
	values := r.Header.Values("Authorization")
	switch len(values) {
	case 0:
		return "", ErrNoToken
	case 1:
	default:
		return "", auth.ErrTokenInvalid
	}
	h := values[0]
	if len(h) > MaxAuthorizationBytes {
		return "", auth.ErrTokenInvalid
	}
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", auth.ErrTokenInvalid
	}
	token = strings.TrimLeft(token, " ")
	if token == "" || strings.ContainsAny(token, " \t") {
		return "", auth.ErrTokenInvalid
	}
	return token, nil
}

// ErrorHandler writes the response for a request the middleware refuses.
// status is 401 (no or bad token), 403 (not allowed: a user who is not a
// superuser, or [ErrCrossOrigin]) or 503 (the store failed; fail closed).
// err says why, for logs: never write it to the client. An application that answers otherwise than [WriteError] (an HTML
// login page, a redirect) sets its own in Config.ErrorHandler; it can call
// WriteError for the requests it does not handle.
type ErrorHandler func(w http.ResponseWriter, r *http.Request, status int, err error)

// Config configures a [Guard]. The zero value is ready to use.
type Config struct {
	// Extractor finds the token. Default [BearerToken]. In cookie mode a
	// request without an Authorization header that brings the session
	// cookie is authenticated by the cookie instead.
	Extractor Extractor
	// ErrorHandler writes refusals. Default [WriteError].
	ErrorHandler ErrorHandler
	// Logger receives store failures. Default: discard.
	Logger *slog.Logger
	// TrustedProxies lists the reverse proxies (load balancers, CDNs) whose
	// X-Forwarded-For header is believed (see [Guard.Client]); an invalid
	// prefix matches nothing, and New logs it. The Manager's per-IP limits count per client,
	// so set this whenever the server sits behind a proxy. Package httpapi
	// finds clients the same way when this Guard is its Config.Guard, so
	// one setting serves the application's routes and the API. Empty: the
	// client is always the connection's peer.
	TrustedProxies []netip.Prefix
	// Cookies turns on cookie mode for browsers (see [CookieConfig] and
	// the package documentation): sessions in a cookie the Guard sets,
	// refreshes and clears, beside bearer tokens, with CSRF protection.
	// nil: bearer tokens only.
	Cookies *CookieConfig
}

// Guard holds the middleware for one [auth.Manager]. Its methods have the
// shape func(http.Handler) http.Handler and work with plain net/http and
// any router. A Guard is safe for concurrent use.
type Guard struct {
	m   *auth.Manager
	cfg Config
	// cookies is nil unless Config.Cookies was set.
	cookies *cookieMode
}

// New returns a Guard for m. It copies cfg: changing cfg.TrustedProxies or
// cfg.Cookies afterwards does not change the Guard. Problems New cannot
// return (an invalid proxy prefix, cookie name or trusted origin) are
// logged at level Error, and cookie mode's Insecure switch at level Warn,
// to Config.Logger.
func New(m *auth.Manager, cfg Config) *Guard {
	if cfg.Extractor == nil {
		cfg.Extractor = BearerToken
	}
	if cfg.ErrorHandler == nil {
		cfg.ErrorHandler = WriteError
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.TrustedProxies = slices.Clone(cfg.TrustedProxies)
	for i, p := range cfg.TrustedProxies {
		if !p.IsValid() {
			// New returns no error; say it where an operator looks.
			cfg.Logger.Error("gatehouse: middleware: Config.TrustedProxies has an invalid prefix; it matches nothing", "index", i)
		}
	}
	g := &Guard{m: m, cfg: cfg}
	if cfg.Cookies != nil {
		g.cookies = newCookieMode(cfg.Cookies, &cfg)
		g.cfg.Cookies = nil // not kept: the Guard holds what it needs
	}
	return g
}

type attemptKey struct{}

// attempt records what Authenticate found, so that RequireAuth does not
// verify twice and can say why it refuses.
type attempt struct {
	err    error // nil: authenticated or anonymous
	cookie bool  // the session cookie was the credential
}

// noFailure is the attempt of every request that was authenticated or sent
// no token. It is shared, so it must never be modified.
var noFailure = &attempt{}

// Authenticate loads the caller's identity into the request context when
// the request carries a valid access token; read it with
// [auth.IdentityFromContext] or [auth.UserFromContext]. It never refuses a
// request: a missing or bad token leaves the request anonymous (use
// [Guard.RequireAuth] to refuse, and [Failure] to learn why). It also
// records the client (see [ClientFrom]) unless the context already has
// one, and sets "Vary: Authorization".
//
// In cookie mode (Config.Cookies) a request without an Authorization header
// is authenticated by its session cookie, and gets "Vary: Cookie" too. A
// request with both is a bearer request: the header decides and the cookie
// is not looked at (a page cannot make a browser send another site an
// Authorization header, so such a request is no forgery). When the
// cookie's access token has expired, Authenticate refreshes it with
// [auth.Manager.Refresh] — the same rotation and reuse detection — puts
// the new cookie on the response (with "Cache-Control: no-store") and
// serves the request. Concurrent requests with the same expired cookie
// share one refresh (see [RefreshMemory]). A cookie whose session is over
// (logged out, revoked, expired) is cleared.
//
// CSRF: a cookie-authenticated request with an unsafe method (anything but
// GET, HEAD and OPTIONS) that a browser sent from another origin — as
// net/http's [http.CrossOriginProtection] judges from Sec-Fetch-Site, or
// from Origin against Host — stays anonymous with [Failure]
// [ErrCrossOrigin], and its cookie is neither used nor refreshed, unless
// the origin is in CookieConfig.TrustedOrigins. Requests without these
// headers (not from a browser) pass. Bearer requests are not checked. Keep
// GET handlers free of side effects: safe methods are never checked.
func (g *Guard) Authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, g.authenticate(w, r))
	})
}

func (g *Guard) authenticate(w http.ResponseWriter, r *http.Request) *http.Request {
	if _, done := r.Context().Value(attemptKey{}).(*attempt); done {
		return r
	}
	w.Header().Add("Vary", "Authorization")
	ctx, _ := g.clientContext(r)
	if g.cookies != nil {
		w.Header().Add("Vary", "Cookie")
		if len(r.Header.Values("Authorization")) == 0 {
			if c := g.sessionCookie(r); c != nil {
				ctx, a := g.cookieAuth(ctx, w, r, c.Value)
				return r.WithContext(context.WithValue(ctx, attemptKey{}, a))
			}
		}
	}
	a := noFailure
	token, err := g.cfg.Extractor(r)
	switch {
	case errors.Is(err, ErrNoToken):
	case err != nil:
		a = &attempt{err: auth.ErrTokenInvalid}
	default:
		if id, err := g.m.Authenticate(ctx, token); err == nil {
			ctx = auth.ContextWithIdentity(ctx, id)
		} else {
			// A bad token is the client's; anything else is the check
			// failing, worth a log line.
			if !errors.Is(err, auth.ErrTokenExpired) && !errors.Is(err, auth.ErrTokenInvalid) {
				g.cfg.Logger.ErrorContext(ctx, "gatehouse: authenticating a request failed", "error", err.Error())
			}
			a = &attempt{err: err}
		}
	}
	return r.WithContext(context.WithValue(ctx, attemptKey{}, a))
}

// Failure reports why the request in ctx is anonymous: nil when no token
// was sent (or the request is authenticated), [auth.ErrTokenInvalid] or
// [auth.ErrTokenExpired] for a bad token (for a cookie whose refresh
// failed, the error of [auth.Manager.Refresh], which matches
// ErrTokenInvalid), [ErrCrossOrigin] for a cross-origin cookie request
// with an unsafe method, another error when the check itself failed.
func Failure(ctx context.Context) error {
	if a, ok := ctx.Value(attemptKey{}).(*attempt); ok {
		return a.err
	}
	return nil
}

// RequireAuth refuses requests without a valid access token (or, in
// cookie mode, session cookie): 401 with "WWW-Authenticate: Bearer" (and
// error="invalid_token" when a token was sent), 403 for a cross-origin
// cookie request with an unsafe method ([ErrCrossOrigin]; the handler
// never runs, so nothing changes), or 503 when the check itself failed
// (fail closed, SECURITY.md #44). It authenticates the request itself
// when [Guard.Authenticate] has not run.
func (g *Guard) RequireAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = g.authenticate(w, r)
		if _, ok := auth.IdentityFromContext(r.Context()); ok {
			next.ServeHTTP(w, r)
			return
		}
		g.refuse(w, r)
	})
}

// RequireSuperuser is [Guard.RequireAuth] for superusers: a valid token of
// a user who is not an active superuser gets 403. The flag is read from the
// store on each request, so demotion takes effect at once (SECURITY.md
// #59); refusals are reported as events by the Manager.
func (g *Guard) RequireSuperuser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = g.authenticate(w, r)
		id, ok := auth.IdentityFromContext(r.Context())
		if !ok {
			g.refuse(w, r)
			return
		}
		if err := g.m.AuthorizeSuperuser(r.Context(), id); err != nil {
			g.cfg.ErrorHandler(w, r, http.StatusForbidden, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (g *Guard) refuse(w http.ResponseWriter, r *http.Request) {
	err := Failure(r.Context())
	switch {
	case err == nil:
		g.cfg.ErrorHandler(w, r, http.StatusUnauthorized, auth.ErrUnauthenticated)
	case errors.Is(err, auth.ErrTokenExpired), errors.Is(err, auth.ErrTokenInvalid):
		g.cfg.ErrorHandler(w, r, http.StatusUnauthorized, err)
	case errors.Is(err, ErrCrossOrigin):
		g.cfg.ErrorHandler(w, r, http.StatusForbidden, err)
	default:
		g.cfg.ErrorHandler(w, r, http.StatusServiceUnavailable, err)
	}
}

// WriteError is the default [ErrorHandler]. It writes the JSON error body
// of the /v2 API that package httperr defines ([httperr.Refusal]), with
// "Cache-Control: no-store": for 401 invalid_token "Not authenticated" or
// "Invalid token" (token_expired "Token expired" for an expired token) with
// "WWW-Authenticate: Bearer" (RFC 6750 §3), error="invalid_token" when a
// bad token was sent; for 403 forbidden; for 503 unavailable with
// Retry-After; for [ErrCrossOrigin] 403 forbidden "Cross-origin request
// refused". err's text is never written.
func WriteError(w http.ResponseWriter, r *http.Request, status int, err error) {
	if status == http.StatusForbidden && errors.Is(err, ErrCrossOrigin) {
		httperr.Write(w, r, err, nil)
		return
	}
	httperr.Write(w, r, httperr.Refusal(status, err), nil)
}

// ClientFrom describes the client of r from the connection: the peer
// address of r.RemoteAddr and the User-Agent header (truncated). It never
// trusts X-Forwarded-For; see [Guard.Client] for servers behind proxies.
func ClientFrom(r *http.Request) auth.Client {
	c := auth.Client{UserAgent: r.UserAgent()}
	if len(c.UserAgent) > maxUserAgent {
		c.UserAgent = strings.ToValidUTF8(c.UserAgent[:maxUserAgent], "")
	}
	c.IP = peerIP(r)
	return c
}

func peerIP(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return ip.Unmap()
}

// Client describes the client of r. Without Config.TrustedProxies it is
// [ClientFrom]. With them, when the connection's peer is a trusted proxy,
// X-Forwarded-For is walked from the right, past trusted proxies, to the
// first address that is not one: that is the client. When the header is
// missing, or the address found there does not parse, the client's IP is
// unknown (the zero [netip.Addr]) rather than the proxy's, so that such
// requests never share one rate-limit bucket.
func (g *Guard) Client(r *http.Request) auth.Client {
	c := ClientFrom(r)
	if len(g.cfg.TrustedProxies) == 0 || !c.IP.IsValid() || !g.trusted(c.IP) {
		return c
	}
	c.IP = netip.Addr{}
	hops := r.Header.Values("X-Forwarded-For")
	for i := len(hops) - 1; i >= 0; i-- {
		parts := strings.Split(hops[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			ip, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				return c
			}
			ip = ip.Unmap()
			if !g.trusted(ip) {
				c.IP = ip
				return c
			}
		}
	}
	return c
}

func (g *Guard) trusted(ip netip.Addr) bool {
	for _, p := range g.cfg.TrustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// WithClient records the client of each request (see [Guard.Client]) in
// its context for the Manager, unless one is already there. Mount it
// outermost on routes that do not authenticate (login, register, reset),
// so that their per-IP limits see the real client.
func (g *Guard) WithClient(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ctx, added := g.clientContext(r); added {
			r = r.WithContext(ctx)
		}
		next.ServeHTTP(w, r)
	})
}

// clientContext returns the context of r with the client of r recorded
// (see [Guard.Client]), and whether it added it: false, and the context
// unchanged, when one is already there.
func (g *Guard) clientContext(r *http.Request) (context.Context, bool) {
	ctx := r.Context()
	if _, ok := auth.ClientFromContext(ctx); ok {
		return ctx, false
	}
	return auth.ContextWithClient(ctx, g.Client(r)), true
}
