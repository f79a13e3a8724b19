// Package federation logs users in through an OpenID Connect provider
// found by discovery, or GitHub's plain OAuth 2.0 (the authorization code
// flow with PKCE S256, state, and for OpenID Connect a nonce and the RFC
// 9207 iss check), over golang.org/x/oauth2 and github.com/coreos/go-oidc/v3.
// It is opt-in: package auth never imports it. The login ends in
// [auth.Manager.FederatedLogin], so the application gets its own
// [auth.LoginResult], second factor included.
//
// A flow is bound to the browser by a secret the caller keeps in a
// short-lived cookie: the store holds only the SHA-256 of the state and of
// that secret ([store.FederationFlow]); the PKCE verifier and the nonce
// are derived from the secret, so the flow row alone opens nothing. The
// state is used once and checked before the code is exchanged.
package federation

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/store"
)

// The errors of a callback. Each wraps [auth.ErrFederationFailed], which
// package httperr answers 400 federation_failed without the reason.
var (
	// ErrInvalidState means the callback's state is missing, unknown,
	// already used, expired, or bound to another browser.
	ErrInvalidState = fmt.Errorf("federation: invalid or expired login state: %w", auth.ErrFederationFailed)

	// ErrInvalidIDToken means the provider's ID token failed validation
	// (signature, algorithm, issuer, audience, azp, expiry or nonce).
	ErrInvalidIDToken = fmt.Errorf("federation: invalid ID token: %w", auth.ErrFederationFailed)

	// ErrIssuerMismatch means the authorization response named another
	// issuer in its iss parameter, or lacked one from a provider whose
	// discovery says it sends it (RFC 9207, against mix-up attacks).
	ErrIssuerMismatch = fmt.Errorf("federation: the authorization response is from another issuer: %w", auth.ErrFederationFailed)

	// ErrProvider means the provider answered the callback with an error,
	// refused the code, or failed to describe the account.
	ErrProvider = fmt.Errorf("federation: the provider refused or failed: %w", auth.ErrFederationFailed)
)

// Provider is an identity provider the application configures: an OpenID
// Connect provider found by discovery, or, with GitHub set, GitHub's plain
// OAuth 2.0. Both run the same flow behind [Client].
type Provider struct {
	// Name is the application's name for it ("google"), used in paths
	// such as /v2/oauth/{provider}/authorize.
	Name string
	// Issuer is the issuer URL; its discovery document is fetched once.
	// For GitHub it is [GitHubIssuer], which only names the provider.
	Issuer       string
	ClientID     string
	ClientSecret string
	// RedirectURL is the exact callback URL registered at the provider.
	RedirectURL string
	// Scopes are requested besides "openid"; nil means email and profile
	// (for GitHub: read:user and user:email).
	Scopes []string
	// KeepTokens keeps the provider's access and refresh tokens with the
	// identity, sealed by the Manager with Config.Factors.Keys (New fails
	// without them), for [Client.Tokens]. Off by default: nothing is kept
	// (SECURITY.md #89). They never reach the browser either way.
	KeepTokens bool
	// GitHub, when set, makes the provider GitHub's plain OAuth 2.0 (no
	// discovery, no ID token): the account is GET /user and its email the
	// primary verified one of GET /user/emails. [GitHub] sets it.
	GitHub *GitHubEndpoints
}

// GitHubIssuer is the issuer recorded for GitHub identities: a fixed URL
// naming the provider, since plain OAuth 2.0 has no issuer.
const GitHubIssuer = "https://github.com"

// GitHubEndpoints are GitHub's URLs; a test or a GitHub Enterprise server
// points them elsewhere.
type GitHubEndpoints struct {
	// AuthURL and TokenURL are the OAuth 2.0 authorization and token
	// endpoints.
	AuthURL  string
	TokenURL string
	// APIURL is the REST API's base, without a trailing slash.
	APIURL string
}

// GitHub returns the GitHub preset. The subject of its identities is the
// numeric user ID (never the login name, which the user may change).
func GitHub(clientID, clientSecret, redirectURL string) Provider {
	return Provider{
		Name: "github", Issuer: GitHubIssuer, ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirectURL,
		GitHub: &GitHubEndpoints{
			AuthURL:  "https://github.com/login/oauth/authorize",
			TokenURL: "https://github.com/login/oauth/access_token",
			APIURL:   "https://api.github.com",
		},
	}
}

// Google returns the Google preset.
func Google(clientID, clientSecret, redirectURL string) Provider {
	return Provider{Name: "google", Issuer: "https://accounts.google.com", ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirectURL}
}

// Microsoft returns the Microsoft Entra preset for one tenant (a tenant ID;
// the multi-tenant "common" endpoint has no single issuer to check).
func Microsoft(tenant, clientID, clientSecret, redirectURL string) Provider {
	return Provider{Name: "microsoft", Issuer: "https://login.microsoftonline.com/" + tenant + "/v2.0", ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirectURL}
}

// Options tune a [Client].
type Options struct {
	// ReturnPaths are the local paths a login may return to; any other
	// "return to" value is ignored for DefaultReturn.
	ReturnPaths []string
	// DefaultReturn is where a login lands otherwise; "/" when empty.
	DefaultReturn string
	// FlowTTL bounds a started login; 10 minutes when zero.
	FlowTTL time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// SigningAlgs are the ID token algorithms accepted: never "none", never
// HMAC.
var SigningAlgs = []string{oidc.RS256, oidc.PS256, oidc.ES256, oidc.EdDSA}

// Client runs federated logins with one provider.
type Client struct {
	m        *auth.Manager
	flows    store.Identities
	p        Provider
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier // nil for GitHub
	// issRequired: the provider's discovery says it sends iss in the
	// authorization response (RFC 9207).
	issRequired bool
	opts        Options
}

// New discovers p (for OpenID Connect) and returns its Client. s is the
// Manager's store, which must implement [store.Identities].
func New(ctx context.Context, m *auth.Manager, s store.Store, p Provider, opts Options) (*Client, error) {
	flows, ok := s.(store.Identities)
	if !ok {
		return nil, auth.ErrFederationUnavailable
	}
	if p.Name == "" || p.Issuer == "" || p.ClientID == "" || p.RedirectURL == "" {
		return nil, errors.New("federation: Provider needs Name, Issuer, ClientID and RedirectURL")
	}
	if p.KeepTokens && !m.CanSealTokens() {
		return nil, fmt.Errorf("federation: Provider.KeepTokens needs the Manager's Config.Factors.Keys: %w", auth.ErrTokensUnsealable)
	}
	if opts.DefaultReturn == "" {
		opts.DefaultReturn = "/"
	}
	if opts.FlowTTL <= 0 {
		opts.FlowTTL = 10 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	c := &Client{m: m, flows: flows, p: p, opts: opts}
	scopes := p.Scopes
	if gh := p.GitHub; gh != nil {
		if gh.AuthURL == "" || gh.TokenURL == "" || gh.APIURL == "" {
			return nil, errors.New("federation: Provider.GitHub needs AuthURL, TokenURL and APIURL")
		}
		if scopes == nil {
			scopes = []string{"read:user", "user:email"}
		}
		c.oauth = oauth2.Config{
			ClientID: p.ClientID, ClientSecret: p.ClientSecret, RedirectURL: p.RedirectURL,
			Endpoint: oauth2.Endpoint{AuthURL: gh.AuthURL, TokenURL: gh.TokenURL, AuthStyle: oauth2.AuthStyleInParams},
			Scopes:   scopes,
		}
		return c, nil
	}
	op, err := oidc.NewProvider(ctx, p.Issuer)
	if err != nil {
		return nil, fmt.Errorf("federation: discovery of %s: %w", p.Issuer, err)
	}
	var meta struct {
		IssParameter bool `json:"authorization_response_iss_parameter_supported"`
	}
	if err := op.Claims(&meta); err != nil {
		return nil, fmt.Errorf("federation: discovery of %s: %w", p.Issuer, err)
	}
	if scopes == nil {
		scopes = []string{"email", "profile"}
	}
	c.issRequired = meta.IssParameter
	c.oauth = oauth2.Config{
		ClientID: p.ClientID, ClientSecret: p.ClientSecret, RedirectURL: p.RedirectURL,
		Endpoint: op.Endpoint(), Scopes: append([]string{oidc.ScopeOpenID}, scopes...),
	}
	c.verifier = op.Verifier(&oidc.Config{ClientID: p.ClientID, SupportedSigningAlgs: SigningAlgs, Now: opts.Now})
	return c, nil
}

// Name returns the provider's name (Provider.Name).
func (c *Client) Name() string { return c.p.Name }

// FlowTTL returns how long a started flow lasts (Options.FlowTTL, 10
// minutes by default): httpapi's browser-binding cookie lives as long.
func (c *Client) FlowTTL() time.Duration { return c.opts.FlowTTL }

// Started is a login in progress.
type Started struct {
	// URL is the provider's authorization URL to redirect the browser to.
	URL string
	// BrowserSecret binds the flow to this browser: keep it in a
	// short-lived __Host- cookie (Secure, HttpOnly, SameSite=Lax) and hand
	// it back to [Client.Callback]. Never log it.
	BrowserSecret string
}

// Start begins a login. returnTo is honoured only when it is one of
// Options.ReturnPaths exactly.
func (c *Client) Start(ctx context.Context, returnTo string) (*Started, error) {
	return c.start(ctx, "", returnTo)
}

// StartLink begins linking an identity at the provider to userID, a user
// logged in to that account (the caller checked the session): the
// callback of this flow links instead of logging in.
func (c *Client) StartLink(ctx context.Context, userID, returnTo string) (*Started, error) {
	if userID == "" {
		return nil, errors.New("federation: StartLink needs the logged-in user's ID")
	}
	return c.start(ctx, userID, returnTo)
}

// Authorize is [Client.Start] when linkUserID is empty and
// [Client.StartLink] otherwise, with plain results: the shape package
// httpapi's FederatedProvider asks for.
func (c *Client) Authorize(ctx context.Context, linkUserID, returnTo string) (authURL, browserSecret string, err error) {
	s, err := c.start(ctx, linkUserID, returnTo)
	if err != nil {
		return "", "", err
	}
	return s.URL, s.BrowserSecret, nil
}

func (c *Client) start(ctx context.Context, userID, returnTo string) (*Started, error) {
	state, secret := rand.Text(), rand.Text()
	if !slices.Contains(c.opts.ReturnPaths, returnTo) {
		returnTo = c.opts.DefaultReturn
	}
	now := c.opts.Now()
	err := c.flows.PutFlow(ctx, &store.FederationFlow{
		Hash: digest(state), Binding: digest(secret), Provider: c.p.Name, ReturnTo: returnTo,
		UserID: userID, CreatedAt: now, ExpiresAt: now.Add(c.opts.FlowTTL),
	})
	if err != nil {
		return nil, fmt.Errorf("federation: start: %w", err)
	}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(derive("pkce", secret))}
	if c.verifier != nil {
		opts = append(opts, oidc.Nonce(derive("nonce", secret)))
	}
	return &Started{URL: c.oauth.AuthCodeURL(state, opts...), BrowserSecret: secret}, nil
}

// Callback finishes a flow from the query of the provider's redirect to
// the callback URL (state, code, and iss or error): it takes the flow of
// state (once), checks it is this browser's and that iss names this
// provider (RFC 9207), exchanges code with the PKCE verifier, validates
// the ID token (or, for GitHub, reads the account) and logs the user in.
// It returns the result and the checked path to land on. A flow begun by
// [Client.StartLink] links the identity to its user instead and returns
// a nil result with no error.
//
// Errors: [ErrInvalidState], [ErrIssuerMismatch], [ErrProvider],
// [ErrInvalidIDToken] (all wrapping [auth.ErrFederationFailed]), and those
// of [auth.Manager.FederatedLogin] and [auth.Manager.LinkIdentity].
func (c *Client) Callback(ctx context.Context, browserSecret string, query url.Values) (*auth.LoginResult, string, error) {
	state := query.Get("state")
	if state == "" || browserSecret == "" {
		return nil, "", ErrInvalidState
	}
	f, err := c.flows.TakeFlow(ctx, digest(state), c.opts.Now())
	if errors.Is(err, store.ErrNotFound) {
		return nil, "", ErrInvalidState
	}
	if err != nil {
		return nil, "", fmt.Errorf("federation: callback: %w", err)
	}
	if f.Provider != c.p.Name || subtle.ConstantTimeCompare(f.Binding, digest(browserSecret)) != 1 {
		return nil, "", ErrInvalidState
	}
	if iss, ok := query["iss"]; ok && (len(iss) != 1 || iss[0] != c.p.Issuer) || !ok && c.issRequired {
		return nil, "", ErrIssuerMismatch
	}
	if query.Get("error") != "" {
		return nil, "", fmt.Errorf("%w: authorization error %q", ErrProvider, query.Get("error"))
	}
	tok, err := c.oauth.Exchange(ctx, query.Get("code"), oauth2.VerifierOption(derive("pkce", browserSecret)))
	if err != nil {
		return nil, "", fmt.Errorf("%w: code exchange: %v", ErrProvider, err)
	}
	var fi auth.FederatedIdentity
	if c.verifier != nil {
		fi, err = c.validate(ctx, tok, derive("nonce", browserSecret))
	} else {
		fi, err = c.gitHubAccount(ctx, tok)
	}
	if err != nil {
		return nil, "", err
	}
	if c.p.KeepTokens {
		if fi.Tokens, err = json.Marshal(keptToken{AccessToken: tok.AccessToken, TokenType: tok.TokenType, RefreshToken: tok.RefreshToken, Expiry: tok.Expiry}); err != nil {
			return nil, "", fmt.Errorf("federation: callback: %w", err)
		}
	}
	if f.UserID != "" {
		if err := c.m.LinkIdentity(ctx, f.UserID, fi); err != nil {
			return nil, "", err
		}
		return nil, f.ReturnTo, nil
	}
	res, err := c.m.FederatedLogin(ctx, fi)
	if err != nil {
		return nil, "", err
	}
	return res, f.ReturnTo, nil
}

// keptToken is what KeepTokens keeps: the OAuth 2.0 token without the ID
// token.
type keptToken struct {
	AccessToken  string    `json:"access_token"`
	TokenType    string    `json:"token_type,omitempty"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	Expiry       time.Time `json:"expiry,omitzero"`
}

// Tokens returns the provider tokens kept (Provider.KeepTokens) for the
// user's identity subject at this provider, or nil when none are kept.
// Errors: those of [auth.Manager.ProviderTokens].
func (c *Client) Tokens(ctx context.Context, userID, subject string) (*oauth2.Token, error) {
	b, err := c.m.ProviderTokens(ctx, userID, c.p.Issuer, subject)
	if err != nil || b == nil {
		return nil, err
	}
	var k keptToken
	if err := json.Unmarshal(b, &k); err != nil {
		return nil, fmt.Errorf("federation: kept tokens: %w", err)
	}
	return &oauth2.Token{AccessToken: k.AccessToken, TokenType: k.TokenType, RefreshToken: k.RefreshToken, Expiry: k.Expiry}, nil
}

func (c *Client) validate(ctx context.Context, tok *oauth2.Token, nonce string) (auth.FederatedIdentity, error) {
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return auth.FederatedIdentity{}, fmt.Errorf("%w: no id_token", ErrInvalidIDToken)
	}
	idt, err := c.verifier.Verify(ctx, raw)
	if err != nil {
		return auth.FederatedIdentity{}, fmt.Errorf("%w: %v", ErrInvalidIDToken, err)
	}
	var claims struct {
		Email         string `json:"email"`
		EmailVerified bool   `json:"email_verified"`
		Name          string `json:"name"`
		Azp           string `json:"azp"`
	}
	if err := idt.Claims(&claims); err != nil {
		return auth.FederatedIdentity{}, fmt.Errorf("%w: claims: %v", ErrInvalidIDToken, err)
	}
	if len(idt.Audience) > 1 && claims.Azp != c.p.ClientID {
		return auth.FederatedIdentity{}, fmt.Errorf("%w: azp", ErrInvalidIDToken)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return auth.FederatedIdentity{}, fmt.Errorf("%w: nonce", ErrInvalidIDToken)
	}
	return auth.FederatedIdentity{
		Provider: c.p.Name, Issuer: idt.Issuer, Subject: idt.Subject,
		Email: claims.Email, EmailVerified: claims.EmailVerified, Name: claims.Name,
	}, nil
}

// maxAPIBytes bounds an answer of GitHub's API.
const maxAPIBytes = 1 << 20

// gitHubAccount reads the account of tok from GitHub's API: the numeric
// ID as the subject, and the primary email only when GitHub verified it.
func (c *Client) gitHubAccount(ctx context.Context, tok *oauth2.Token) (auth.FederatedIdentity, error) {
	hc := c.oauth.Client(ctx, tok)
	var user struct {
		ID    int64  `json:"id"`
		Login string `json:"login"`
		Name  string `json:"name"`
	}
	if err := c.gitHubGet(ctx, hc, "/user", &user); err != nil {
		return auth.FederatedIdentity{}, err
	}
	if user.ID <= 0 {
		return auth.FederatedIdentity{}, fmt.Errorf("%w: GET /user has no id", ErrProvider)
	}
	var emails []struct {
		Email    string `json:"email"`
		Primary  bool   `json:"primary"`
		Verified bool   `json:"verified"`
	}
	if err := c.gitHubGet(ctx, hc, "/user/emails", &emails); err != nil {
		return auth.FederatedIdentity{}, err
	}
	fi := auth.FederatedIdentity{Provider: c.p.Name, Issuer: c.p.Issuer, Subject: strconv.FormatInt(user.ID, 10), Name: user.Name}
	for _, e := range emails {
		if e.Primary && e.Verified {
			fi.Email, fi.EmailVerified = e.Email, true
		}
	}
	if fi.Name == "" {
		fi.Name = user.Login
	}
	return fi, nil
}

func (c *Client) gitHubGet(ctx context.Context, hc *http.Client, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.p.GitHub.APIURL+path, nil)
	if err != nil {
		return fmt.Errorf("federation: GitHub: %w", err)
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("%w: GET %s: %v", ErrProvider, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: GET %s: status %d", ErrProvider, path, resp.StatusCode)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxAPIBytes)).Decode(v); err != nil {
		return fmt.Errorf("%w: GET %s: %v", ErrProvider, path, err)
	}
	return nil
}

func digest(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// derive returns a value of the flow derived from the browser secret.
func derive(label, secret string) string {
	h := sha256.Sum256([]byte("gatehouse federation " + label + "\x00" + secret))
	return base64.RawURLEncoding.EncodeToString(h[:])
}
