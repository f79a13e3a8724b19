package middleware

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/httperr"
)

// DefaultCookieName is the session cookie's name when CookieConfig.Name is
// empty ("gatehouse" with CookieConfig.Insecure).
const DefaultCookieName = "__Host-gatehouse"

// hostPrefix makes browsers refuse the cookie unless it is Secure, has
// Path=/ and no Domain, so that no other host (a sibling subdomain) and
// no plain-HTTP response can set or shadow it.
const hostPrefix = "__Host-"

// MaxCookieBytes is the most a session cookie's name and value may hold
// together: browsers drop longer cookies (RFC 6265bis §5.6). The cookie
// holds a 43-byte refresh token and the access token; the default JWTs
// are about 350 bytes, so only a custom auth.TokenIssuer can come near the
// limit, and then starting a session fails with an error instead of a
// cookie the browser would throw away.
const MaxCookieBytes = 4096

// RefreshMemory is how long a Guard in cookie mode remembers the outcome of
// a refresh it made: a request that presents the same, now rotated,
// refresh token within this time (one of a page's concurrent requests, or
// one sent just after) gets the same new tokens instead of being taken for
// a replay. Time is the Manager's clock ([auth.Manager.Now]).
const RefreshMemory = 10 * time.Second

// refreshTokenLen is the length of the Manager's refresh tokens: 32 bytes
// in unpadded base64url.
const refreshTokenLen = 43

// CookieConfig turns on cookie mode (Config.Cookies): sessions for browsers,
// in a cookie the Guard sets, refreshes and clears, beside bearer tokens.
// The zero value is ready to use, for an application served over HTTPS
// from one origin.
//
// The cookie is named "__Host-…" and is HttpOnly (scripts cannot read it),
// Secure (HTTPS only), SameSite=Lax (not sent with cross-site subrequests
// or form posts, but sent when the user follows a link to the site), with
// Path=/ and no Domain (this host only), and a Max-Age that ends with the
// session's idle deadline, which never passes its absolute end. It holds
// the session's refresh token and access token. See [Guard.StartSession]
// for how one is started and the package documentation for the whole
// flow.
type CookieConfig struct {
	// Name is the cookie's name. Default [DefaultCookieName]. The
	// "__Host-" prefix is added when missing (and removed with Insecure);
	// a name that is not a valid cookie name is logged by [New], which
	// then uses the default.
	Name string

	// Insecure is for development over plain http://localhost only: the
	// cookie loses the Secure attribute and the "__Host-" prefix (which
	// browsers accept only on Secure cookies), so anyone on the network
	// path can read and replay it. [New] logs a warning when it is set.
	// Never set it in production, even behind a TLS-terminating proxy:
	// there the browser talks HTTPS and Secure cookies work.
	Insecure bool

	// TrustedOrigins lists origins ("https://admin.example.com", scheme,
	// host and port only) whose cross-origin requests may use the cookie
	// with unsafe methods: see [Guard.Authenticate] on CSRF. The
	// application's own origin needs no entry, unless a proxy in front
	// rewrites the Host header (then add the public origin). An entry that
	// does not parse is logged by [New] and ignored.
	TrustedOrigins []string
}

// ErrCrossOrigin is why the Guard refuses a cookie-authenticated request
// with an unsafe method (POST, PUT, PATCH, DELETE, …) that a browser sent
// from another origin: a cross-site request forgery, unless the origin is
// one of CookieConfig.TrustedOrigins. [Failure] reports it, [Guard.RequireAuth]
// answers it 403, and the Guard's session methods return it.
//
// It carries its own answer: [httperr.Write] and [WriteError] answer it
// 403 forbidden "Cross-origin request refused" (errors.As finds an
// *httperr.Error in it).
var ErrCrossOrigin error = crossOriginError{}

type crossOriginError struct{}

func (crossOriginError) Error() string { return "middleware: cross-origin request refused" }

// As gives httperr its answer: a fresh *httperr.Error on each call, so
// that nobody can change the answer for everyone.
func (crossOriginError) As(target any) bool {
	p, ok := target.(**httperr.Error)
	if ok {
		*p = &httperr.Error{Status: http.StatusForbidden, Type: httperr.TypeForbidden, Message: "Cross-origin request refused"}
	}
	return ok
}

// errNoCookieMode is returned by the session methods of a Guard without
// Config.Cookies.
var errNoCookieMode = errors.New("middleware: the Guard is not in cookie mode (Config.Cookies is nil)")

// cookieMode is a Guard's cookie configuration, checked once by New.
type cookieMode struct {
	name    string
	secure  bool
	origins *http.CrossOriginProtection
	refresh refresher
}

func newCookieMode(c *CookieConfig, cfg *Config) *cookieMode {
	cm := &cookieMode{secure: !c.Insecure, origins: http.NewCrossOriginProtection()}
	name := c.Name
	if name == "" {
		name = DefaultCookieName
	}
	if probe := (&http.Cookie{Name: name, Value: "x"}); probe.Valid() != nil {
		cfg.Logger.Error("gatehouse: middleware: Config.Cookies.Name is not a valid cookie name; using the default", "default", DefaultCookieName)
		name = DefaultCookieName
	}
	name = strings.TrimPrefix(name, hostPrefix)
	if cm.secure {
		name = hostPrefix + name
	}
	cm.name = name
	for i, o := range c.TrustedOrigins {
		if err := cm.origins.AddTrustedOrigin(o); err != nil {
			cfg.Logger.Error("gatehouse: middleware: Config.Cookies.TrustedOrigins has an invalid origin; it is ignored", "index", i, "error", err.Error())
		}
	}
	if c.Insecure {
		cfg.Logger.Warn("gatehouse: middleware: INSECURE cookie mode (Config.Cookies.Insecure): the session cookie is not Secure and travels over plain HTTP; for development on localhost only, never in production",
			"cookie", cm.name)
	}
	return cm
}

// CookieName returns the name of the session cookie, as [New] settled it
// from CookieConfig.Name and Insecure, or "" when the Guard is not in
// cookie mode.
func (g *Guard) CookieName() string {
	if g.cookies == nil {
		return ""
	}
	return g.cookies.name
}

// CookieSecure reports whether the Guard's session cookie is Secure: true
// in cookie mode unless CookieConfig.Insecure, false without cookie mode.
func (g *Guard) CookieSecure() bool { return g.cookies != nil && g.cookies.secure }

// cookie returns the session cookie with value and the given Max-Age
// (negative: delete).
func (cm *cookieMode) cookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     cm.name,
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		Secure:   cm.secure,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	}
}

// setCookie writes c as the response's only Set-Cookie for the session
// cookie (replacing one written earlier in the same request, for example
// by a refresh before a login), and marks the response uncacheable.
func (cm *cookieMode) setCookie(w http.ResponseWriter, c *http.Cookie) {
	h := w.Header()
	prefix := cm.name + "="
	var kept []string
	for _, v := range h.Values("Set-Cookie") {
		if !strings.HasPrefix(v, prefix) {
			kept = append(kept, v)
		}
	}
	h["Set-Cookie"] = append(kept, c.String())
	// A shared cache must never store or replay a session cookie.
	h.Set("Cache-Control", "no-store")
}

// writePair sets the cookie for pair.
func (g *Guard) writePair(w http.ResponseWriter, pair *auth.TokenPair) error {
	cm := g.cookies
	maxAge := int(pair.RefreshTokenExpiresAt.Sub(g.m.Now()) / time.Second)
	if maxAge < 1 {
		return fmt.Errorf("middleware: the session ends within a second: %w", auth.ErrTokenInvalid)
	}
	if len(pair.RefreshToken) != refreshTokenLen {
		return errors.New("middleware: the refresh token is not one of the Manager's")
	}
	c := cm.cookie(pair.RefreshToken+"."+pair.AccessToken, maxAge)
	if len(c.Name)+len(c.Value) > MaxCookieBytes {
		return fmt.Errorf("middleware: the session cookie would be %d bytes, over MaxCookieBytes (%d): the access token is too large", len(c.Name)+len(c.Value), MaxCookieBytes)
	}
	if err := c.Valid(); err != nil {
		// Cookie.String would drop the bad bytes and log through package log.
		return fmt.Errorf("middleware: the access token cannot travel in a cookie: %w", err)
	}
	cm.setCookie(w, c)
	return nil
}

// clearCookie tells the browser to delete the session cookie: the same
// name and attributes, an empty value and Max-Age=0.
func (g *Guard) clearCookie(w http.ResponseWriter) {
	g.cookies.setCookie(w, g.cookies.cookie("", -1))
}

// splitCookie parses a session cookie's value: the refresh token, a dot,
// the access token.
func splitCookie(v string) (refresh, access string, ok bool) {
	if len(v) < refreshTokenLen+2 || v[refreshTokenLen] != '.' {
		return "", "", false
	}
	return v[:refreshTokenLen], v[refreshTokenLen+1:], true
}

// sessionCookie returns the request's session cookie, or nil.
func (g *Guard) sessionCookie(r *http.Request) *http.Cookie {
	c, err := r.Cookie(g.cookies.name)
	if err != nil {
		return nil
	}
	return c
}

// sameOrigin checks r as http.CrossOriginProtection checks an unsafe
// request, whatever r's method: the session methods change what the
// browser holds, so even a GET (a link to /logout on another site) must
// come from the application's own pages.
func (g *Guard) sameOrigin(r *http.Request) error {
	probe := *r
	probe.Method = http.MethodPost
	if g.cookies.origins.Check(&probe) != nil {
		return ErrCrossOrigin
	}
	return nil
}

// cookieAuth authenticates a request by its session cookie: the access
// token when it is good, else a refresh (shared by concurrent requests,
// see [RefreshMemory]) whose new cookie goes on the response. It returns
// the context with the identity when it succeeds.
func (g *Guard) cookieAuth(ctx context.Context, w http.ResponseWriter, r *http.Request, value string) (context.Context, *attempt) {
	a := &attempt{cookie: true}
	if g.cookies.origins.Check(r) != nil {
		// Checked before anything else: a forged request neither uses
		// nor refreshes the session.
		a.err = ErrCrossOrigin
		return ctx, a
	}
	refresh, access, ok := splitCookie(value)
	if !ok || len(g.cookies.name)+len(value) > MaxCookieBytes {
		g.clearCookie(w)
		a.err = auth.ErrTokenInvalid
		return ctx, a
	}
	id, err := g.m.Authenticate(ctx, access)
	if err == nil {
		return auth.ContextWithIdentity(ctx, id), a
	}
	if !errors.Is(err, auth.ErrTokenExpired) && !errors.Is(err, auth.ErrTokenInvalid) {
		g.cfg.Logger.ErrorContext(ctx, "gatehouse: authenticating a request failed", "error", err.Error())
		a.err = err
		return ctx, a
	}
	// Expired, or no longer valid (a rotated signing key, a revoked
	// session): the refresh token decides, as it would for Refresh.
	pair, err := g.cookies.refresh.do(ctx, g.m, refresh)
	switch {
	case err == nil:
	case errors.Is(err, auth.ErrRefreshTokenReused):
		// Rotated by a request to another instance (ReuseGrace), or a
		// replay the Manager has just answered by revoking the session.
		// Leave the cookie: the browser may already hold the new one, and
		// clearing it here could overwrite that.
		a.err = err
		return ctx, a
	case errors.Is(err, auth.ErrTokenInvalid):
		// The session is over (logged out, revoked, expired).
		g.clearCookie(w)
		a.err = err
		return ctx, a
	default:
		g.cfg.Logger.ErrorContext(ctx, "gatehouse: refreshing a cookie session failed", "error", err.Error())
		a.err = err
		return ctx, a
	}
	// The browser gets the new tokens even if this request fails now:
	// its old refresh token is spent.
	if err := g.writePair(w, pair); err != nil {
		g.cfg.Logger.ErrorContext(ctx, "gatehouse: writing the session cookie failed", "error", err.Error())
		a.err = err
		return ctx, a
	}
	id, err = g.m.Authenticate(ctx, pair.AccessToken)
	if err != nil {
		if !errors.Is(err, auth.ErrTokenExpired) && !errors.Is(err, auth.ErrTokenInvalid) {
			g.cfg.Logger.ErrorContext(ctx, "gatehouse: authenticating a request failed", "error", err.Error())
		}
		a.err = err
		return ctx, a
	}
	return auth.ContextWithIdentity(ctx, id), a
}

// cookieIdentity returns the identity r's session cookie stands for,
// authenticating r first unless the Guard's middleware already did.
// Requests with an Authorization header have none: they are bearer
// requests.
func (g *Guard) cookieIdentity(w http.ResponseWriter, r *http.Request) (*http.Request, *auth.Identity, error) {
	r = g.authenticate(w, r)
	a, _ := r.Context().Value(attemptKey{}).(*attempt)
	if a == nil || !a.cookie {
		return r, nil, auth.ErrUnauthenticated
	}
	if a.err != nil {
		return r, nil, a.err
	}
	id, ok := auth.IdentityFromContext(r.Context())
	if !ok {
		return r, nil, auth.ErrUnauthenticated
	}
	return r, id, nil
}

// isTokenError reports whether err says the credential was bad (as
// opposed to the check failing).
func isTokenError(err error) bool {
	return errors.Is(err, auth.ErrTokenInvalid) || errors.Is(err, auth.ErrTokenExpired) || errors.Is(err, auth.ErrUnauthenticated)
}

// LogIn checks email and password with [auth.Manager.Login] and, when the
// login is complete, starts the browser's cookie session with
// [Guard.StartSession] (which also ends the session of any cookie the
// browser brought). It returns the Manager's result and errors, which the
// caller answers (httperr.Write for JSON; a form with a message for
// HTML).
//
// When the result has a Challenge instead of tokens (a second factor is
// due), no cookie is set: complete the login and pass its result to
// StartSession.
//
// The request must come from the application's own pages, whatever its
// method (login CSRF: another site must not log the browser into an
// account of its choosing): otherwise LogIn returns [ErrCrossOrigin]
// without checking the password. Per-IP limits see the client as
// [Guard.Client] finds it.
func (g *Guard) LogIn(w http.ResponseWriter, r *http.Request, email, password string) (*auth.LoginResult, error) {
	if g.cookies == nil {
		return nil, errNoCookieMode
	}
	if err := g.sameOrigin(r); err != nil {
		return nil, err
	}
	ctx, _ := g.clientContext(r)
	res, err := g.m.Login(ctx, email, password)
	if err != nil {
		return nil, err
	}
	if res.Tokens == nil {
		return res, nil
	}
	if err := g.StartSession(w, r.WithContext(ctx), res); err != nil {
		return nil, err
	}
	return res, nil
}

// StartSession hands the session of a completed login (res from
// [auth.Manager.Login], [auth.Manager.RenewSession] or a second-factor
// step) to the browser: it sets the session cookie, replacing any the
// browser had, and ends the session of that earlier cookie when it still
// worked (logging in anew never leaves the old session alive, so a cookie
// planted before the login is worth nothing after it: no session
// fixation, SECURITY.md #67). The response gets "Cache-Control: no-store".
//
// The request must come from the application's own pages, whatever its
// method; otherwise StartSession ends res's session and returns
// [ErrCrossOrigin]. It also fails (and ends res's session) when res has
// no tokens, or when they do not fit in a cookie (see [MaxCookieBytes]).
// Call it before writing the response's header.
func (g *Guard) StartSession(w http.ResponseWriter, r *http.Request, res *auth.LoginResult) error {
	return g.startSession(w, r, res, true)
}

// StartRedirectedSession is [Guard.StartSession] for the one request that
// arrives from another site by design: the redirect back from an identity
// provider to a federated login's callback. It skips the same-origin
// check; the caller must have bound the request to this browser otherwise
// (package auth/federation's state and browser-secret cookie, checked
// before the code exchange), which is what stops login CSRF there.
func (g *Guard) StartRedirectedSession(w http.ResponseWriter, r *http.Request, res *auth.LoginResult) error {
	return g.startSession(w, r, res, false)
}

func (g *Guard) startSession(w http.ResponseWriter, r *http.Request, res *auth.LoginResult, checkOrigin bool) error {
	if g.cookies == nil {
		return errNoCookieMode
	}
	if res == nil || res.Tokens == nil || res.User == nil || res.Session == nil {
		return errors.New("middleware: StartSession needs a completed login (a LoginResult with User, Session and Tokens)")
	}
	ctx, _ := g.clientContext(r)
	fresh := &auth.Identity{User: res.User, Session: res.Session}
	if checkOrigin {
		if err := g.sameOrigin(r); err != nil {
			g.endQuietly(ctx, fresh)
			return err
		}
	}
	if _, prev, _ := g.cookieIdentity(w, r); prev != nil && prev.Session.ID != res.Session.ID {
		g.endQuietly(ctx, prev)
	}
	if err := g.writePair(w, res.Tokens); err != nil {
		g.endQuietly(ctx, fresh)
		return err
	}
	return nil
}

// endQuietly logs out id, logging a failure.
func (g *Guard) endQuietly(ctx context.Context, id *auth.Identity) {
	if err := g.m.Logout(ctx, id); err != nil {
		g.cfg.Logger.ErrorContext(ctx, "gatehouse: ending a session failed", "user_id", id.User.ID, "error", err.Error())
	}
}

// RenewSession gives the browser a new session in place of the one its
// cookie holds ([auth.Manager.RenewSession]): a new session ID and tokens,
// the old ones dead at once. Call it after any change of the privileges
// behind the session that the request itself made — a second factor
// added, a superuser grant to oneself — so that a copy of the old cookie
// is worth nothing (SECURITY.md #67); for a password change use
// [Guard.ChangePassword], which does it for you. The request's context
// still names the old session: answer with a redirect.
//
// Errors: [ErrCrossOrigin] unless the request comes from the
// application's own pages; [auth.ErrUnauthenticated] (or the token error)
// when the request has no working cookie session; the store's errors, and
// then the old session goes on.
func (g *Guard) RenewSession(w http.ResponseWriter, r *http.Request) (*auth.LoginResult, error) {
	if g.cookies == nil {
		return nil, errNoCookieMode
	}
	if err := g.sameOrigin(r); err != nil {
		return nil, err
	}
	r, id, err := g.cookieIdentity(w, r)
	if err != nil {
		return nil, err
	}
	res, err := g.m.RenewSession(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if err := g.writePair(w, res.Tokens); err != nil {
		g.endQuietly(r.Context(), &auth.Identity{User: res.User, Session: res.Session})
		g.clearCookie(w)
		return nil, err
	}
	return res, nil
}

// ChangePassword changes the password of the user of the request's cookie
// session ([auth.Manager.ChangePassword]: the current password is checked,
// every other session of the user ends) and then moves the browser to a
// fresh session ([Guard.RenewSession]), so that a copy of the cookie from
// before the change no longer works. Should the renewal fail after the
// password has changed, the session is ended and the cookie cleared
// instead (the user logs in again with the new password), and the error
// is returned.
//
// Errors: those of [auth.Manager.ChangePassword] (nothing changed), those
// of [Guard.RenewSession].
func (g *Guard) ChangePassword(w http.ResponseWriter, r *http.Request, current, next string) error {
	if g.cookies == nil {
		return errNoCookieMode
	}
	if err := g.sameOrigin(r); err != nil {
		return err
	}
	r, id, err := g.cookieIdentity(w, r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	if err := g.m.ChangePassword(ctx, id, current, next); err != nil {
		return err
	}
	res, err := g.m.RenewSession(ctx, id)
	if err == nil {
		err = g.writePair(w, res.Tokens)
		if err != nil {
			g.endQuietly(ctx, &auth.Identity{User: res.User, Session: res.Session})
		}
	}
	if err != nil {
		g.endQuietly(ctx, id)
		g.clearCookie(w)
		return fmt.Errorf("middleware: the password changed, but the session could not be renewed and has ended: %w", err)
	}
	return nil
}

// EndSession logs the browser out: it ends the session of the request's
// cookie ([auth.Manager.Logout]) and clears the cookie (the same name and
// attributes, Max-Age=0). A request whose cookie no longer works, or that
// has none, just gets the cookie cleared. Once it returns nil the old
// cookie authenticates nothing, even if the browser (or a thief) keeps a
// copy.
//
// Errors: [ErrCrossOrigin] unless the request comes from the
// application's own pages, whatever its method (so that a link on another
// site cannot log the user out); the store's errors, and then the cookie
// is left so that the user can try again.
func (g *Guard) EndSession(w http.ResponseWriter, r *http.Request) error {
	if g.cookies == nil {
		return errNoCookieMode
	}
	if err := g.sameOrigin(r); err != nil {
		return err
	}
	r, id, err := g.cookieIdentity(w, r)
	if err != nil {
		if !isTokenError(err) {
			return err
		}
		g.clearCookie(w)
		return nil
	}
	if err := g.m.Logout(r.Context(), id); err != nil {
		return err
	}
	g.clearCookie(w)
	return nil
}
