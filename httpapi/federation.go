package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/httperr"
	"github.com/gatehouse-go/gatehouse/store"
)

// The federated-login endpoints are ours; docs/http-api.md, "Federated
// login", describes them.

// FederatedProvider is one provider of federated login, as package
// auth/federation's *Client implements it (this package does not import
// it, so an application without federated login does not link the OAuth
// libraries).
type FederatedProvider interface {
	// Name is the provider's name in the paths /oauth/{provider}/….
	Name() string
	// Authorize begins a login (linkUserID empty) or a link to
	// linkUserID, and returns the provider's authorization URL and the
	// secret that binds the flow to the browser.
	Authorize(ctx context.Context, linkUserID, returnTo string) (authURL, browserSecret string, err error)
	// Callback finishes the flow from the callback's query: the login's
	// result (nil after a link) and the path to land on.
	Callback(ctx context.Context, browserSecret string, query url.Values) (*auth.LoginResult, string, error)
}

// defaultFlowMaxAge is the binding cookie's lifetime in seconds for a
// provider that does not tell its flows' (see flowMaxAge): the 10 minutes a
// flow lasts by default in package auth/federation.
const defaultFlowMaxAge = 600

// flowMaxAge is the binding cookie's lifetime in seconds for p's flows:
// as long as a flow lasts, when p tells it with a FlowTTL method (as
// auth/federation's *Client does), so that a longer Options.FlowTTL is
// not cut short by the cookie.
func flowMaxAge(p FederatedProvider) int {
	if l, ok := p.(interface{ FlowTTL() time.Duration }); ok {
		if ttl := l.FlowTTL(); ttl > 0 {
			return int((ttl + time.Second - 1) / time.Second)
		}
	}
	return defaultFlowMaxAge
}

const msgIdentityLinked = "Identity linked"

var errIdentityNotFound = &apiError{Status: http.StatusNotFound, Type: httperr.TypeNotFound, Message: "Identity not found"}

// identityJSON describes a linked identity to its user. Provider tokens
// have no field.
type identityJSON struct {
	Provider    string  `json:"provider"`
	Issuer      string  `json:"issuer"`
	Subject     string  `json:"subject"`
	Email       *string `json:"email"`
	CreatedAt   string  `json:"created_at"`
	LastLoginAt string  `json:"last_login_at"`
}

func (a *API) provider(w http.ResponseWriter, r *http.Request) FederatedProvider {
	p := a.providers[r.PathValue("provider")]
	if p == nil {
		a.fail(w, r, errNotFound, opDefault)
	}
	return p
}

// flowCookie returns the browser-binding cookie with value, living
// maxAge seconds (an empty value deletes it): __Host-, Secure, HttpOnly,
// SameSite=Lax, unless Config.Guard's cookie mode is Insecure
// (development over plain HTTP).
func (a *API) flowCookie(value string, maxAge int) *http.Cookie {
	c := &http.Cookie{Name: "__Host-gatehouse-oauth", Value: value, Path: "/", MaxAge: maxAge, Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode}
	if a.cookieGuard && !a.clients.CookieSecure() {
		c.Name, c.Secure = "gatehouse-oauth", false
	}
	if value == "" {
		c.MaxAge = -1
	}
	return c
}

// beginFlow starts a flow of p and sets the binding cookie; it returns the
// authorization URL, or "" after answering an error.
func (a *API) beginFlow(w http.ResponseWriter, r *http.Request, p FederatedProvider, userID string) string {
	u, secret, err := p.Authorize(r.Context(), userID, r.URL.Query().Get("return_to"))
	if err != nil {
		a.fail(w, r, err, opDefault)
		return ""
	}
	http.SetCookie(w, a.flowCookie(secret, flowMaxAge(p)))
	w.Header().Set("Cache-Control", "no-store")
	return u
}

// oauthAuthorize answers GET /oauth/{provider}/authorize?return_to=: a
// 302 to the provider, with the browser-binding cookie.
func (a *API) oauthAuthorize(w http.ResponseWriter, r *http.Request) {
	p := a.provider(w, r)
	if p == nil {
		return
	}
	if u := a.beginFlow(w, r, p, ""); u != "" {
		http.Redirect(w, r, u, http.StatusFound)
	}
}

// oauthLink answers POST /oauth/{provider}/link for a logged-in user: the
// authorization URL of a flow that links the identity to the caller, with
// the binding cookie. Any body is ignored.
func (a *API) oauthLink(w http.ResponseWriter, r *http.Request) {
	p := a.provider(w, r)
	if p == nil {
		return
	}
	id, _ := auth.IdentityFromContext(r.Context())
	if u := a.beginFlow(w, r, p, id.User.ID); u != "" {
		ok(w, struct {
			AuthorizationURL string `json:"authorization_url"`
		}{u})
	}
}

// oauthCallback answers GET /oauth/{provider}/callback: the provider's
// redirect. The binding cookie is deleted whatever happens. With a
// cookie-mode Config.Guard a login sets the session cookie and a 302 goes
// to the checked return path; otherwise the answer is the token pair, and
// after a link {"message"}. A user with a second factor gets 401
// mfa_required in both modes.
func (a *API) oauthCallback(w http.ResponseWriter, r *http.Request) {
	p := a.provider(w, r)
	if p == nil {
		return
	}
	var secret string
	if c, err := r.Cookie(a.flowCookie("", 0).Name); err == nil {
		secret = c.Value
	}
	http.SetCookie(w, a.flowCookie("", 0))
	w.Header().Set("Cache-Control", "no-store")
	res, to, err := p.Callback(r.Context(), secret, r.URL.Query())
	if err != nil {
		if errors.Is(err, auth.ErrFederationFailed) {
			// The reason is for the operator only.
			a.log.LogAttrs(r.Context(), slog.LevelInfo, "httpapi: federated login refused",
				slog.String("provider", p.Name()), slog.String("error", err.Error()))
		}
		a.fail(w, r, err, opDefault)
		return
	}
	switch {
	case res == nil && a.cookieGuard:
		http.Redirect(w, r, to, http.StatusFound)
	case res == nil:
		ok(w, message{msgIdentityLinked})
	case res.Challenge != nil:
		writeMFARequired(w, res.Challenge)
	case res.Tokens == nil:
		a.fail(w, r, errors.New("httpapi: federated login returned neither tokens nor a challenge"), opDefault)
	case a.cookieGuard:
		if err := a.clients.StartRedirectedSession(w, r, res); err != nil {
			a.fail(w, r, err, opDefault)
			return
		}
		http.Redirect(w, r, to, http.StatusFound)
	default:
		ok(w, newTokenPairJSON(res.Tokens))
	}
}

// listIdentities answers GET /user/identities: the caller's linked
// identities, oldest first.
func (a *API) listIdentities(w http.ResponseWriter, r *http.Request) {
	id, _ := auth.IdentityFromContext(r.Context())
	list, err := a.m.Identities(r.Context(), id.User.ID)
	if err != nil {
		a.fail(w, r, err, opDefault)
		return
	}
	ok(w, newIdentitiesJSON(list))
}

func newIdentitiesJSON(list []store.Identity) []identityJSON {
	out := make([]identityJSON, 0, len(list))
	for _, i := range list {
		out = append(out, identityJSON{
			Provider: i.Provider, Issuer: i.Issuer, Subject: i.Subject, Email: nullable(i.Email),
			CreatedAt: timestamp(i.CreatedAt), LastLoginAt: timestamp(i.LastLoginAt),
		})
	}
	return out
}

// unlinkIdentity answers DELETE /user/identities {"issuer", "subject"}.
func (a *API) unlinkIdentity(w http.ResponseWriter, r *http.Request) {
	var issuer, subject optString
	if !a.decodeBody(w, r, []field{
		{"issuer", kindString, &issuer},
		{"subject", kindString, &subject},
	}, "issuer", "subject") {
		return
	}
	id, _ := auth.IdentityFromContext(r.Context())
	err := a.m.UnlinkIdentity(r.Context(), id.User.ID, issuer.v, subject.v)
	if errors.Is(err, auth.ErrNotFound) {
		err = errIdentityNotFound
	}
	if err != nil {
		a.fail(w, r, err, opDefault)
		return
	}
	ok(w, message{"Identity unlinked"})
}
