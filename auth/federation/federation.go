// Package federation logs users in through an OpenID Connect provider
// found by discovery (the authorization code flow with PKCE S256, state
// and nonce), over golang.org/x/oauth2 and github.com/coreos/go-oidc/v3.
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
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/store"
)

// ErrInvalidState means the callback's state is missing, unknown, already
// used, expired, or bound to another browser.
var ErrInvalidState = errors.New("federation: invalid or expired login state")

// ErrInvalidIDToken means the provider's ID token failed validation
// (signature, algorithm, issuer, audience, azp, expiry or nonce).
var ErrInvalidIDToken = errors.New("federation: invalid ID token")

// Provider is an OpenID Connect provider the application configures.
type Provider struct {
	// Name is the application's name for it ("google").
	Name string
	// Issuer is the issuer URL; its discovery document is fetched once.
	Issuer       string
	ClientID     string
	ClientSecret string
	// RedirectURL is the exact callback URL registered at the provider.
	RedirectURL string
	// Scopes are requested besides "openid"; nil means email and profile.
	Scopes []string
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
	verifier *oidc.IDTokenVerifier
	opts     Options
}

// New discovers p and returns its Client. s is the Manager's store, which
// must implement [store.Identities].
func New(ctx context.Context, m *auth.Manager, s store.Store, p Provider, opts Options) (*Client, error) {
	flows, ok := s.(store.Identities)
	if !ok {
		return nil, auth.ErrFederationUnavailable
	}
	if p.Name == "" || p.Issuer == "" || p.ClientID == "" || p.RedirectURL == "" {
		return nil, errors.New("federation: Provider needs Name, Issuer, ClientID and RedirectURL")
	}
	op, err := oidc.NewProvider(ctx, p.Issuer)
	if err != nil {
		return nil, fmt.Errorf("federation: discovery of %s: %w", p.Issuer, err)
	}
	scopes := p.Scopes
	if scopes == nil {
		scopes = []string{"email", "profile"}
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
	return &Client{
		m: m, flows: flows, p: p, opts: opts,
		oauth: oauth2.Config{
			ClientID: p.ClientID, ClientSecret: p.ClientSecret, RedirectURL: p.RedirectURL,
			Endpoint: op.Endpoint(), Scopes: append([]string{oidc.ScopeOpenID}, scopes...),
		},
		verifier: op.Verifier(&oidc.Config{ClientID: p.ClientID, SupportedSigningAlgs: SigningAlgs, Now: opts.Now}),
	}, nil
}

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
	state, secret := rand.Text(), rand.Text()
	if !slices.Contains(c.opts.ReturnPaths, returnTo) {
		returnTo = c.opts.DefaultReturn
	}
	now := c.opts.Now()
	err := c.flows.PutFlow(ctx, &store.FederationFlow{
		Hash: digest(state), Binding: digest(secret), Provider: c.p.Name, ReturnTo: returnTo,
		CreatedAt: now, ExpiresAt: now.Add(c.opts.FlowTTL),
	})
	if err != nil {
		return nil, fmt.Errorf("federation: start: %w", err)
	}
	u := c.oauth.AuthCodeURL(state,
		oauth2.S256ChallengeOption(derive("pkce", secret)),
		oidc.Nonce(derive("nonce", secret)))
	return &Started{URL: u, BrowserSecret: secret}, nil
}

// Callback finishes a login: it takes the flow of state (once), checks it
// is this browser's, exchanges code with the PKCE verifier, validates the
// ID token and logs the user in. It returns the result and the checked
// path to land on.
//
// Errors: [ErrInvalidState], [ErrInvalidIDToken], and those of
// [auth.Manager.FederatedLogin].
func (c *Client) Callback(ctx context.Context, browserSecret, state, code string) (*auth.LoginResult, string, error) {
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
	tok, err := c.oauth.Exchange(ctx, code, oauth2.VerifierOption(derive("pkce", browserSecret)))
	if err != nil {
		return nil, "", fmt.Errorf("federation: code exchange: %w", err)
	}
	fi, err := c.validate(ctx, tok, derive("nonce", browserSecret))
	if err != nil {
		return nil, "", err
	}
	res, err := c.m.FederatedLogin(ctx, fi)
	if err != nil {
		return nil, "", err
	}
	return res, f.ReturnTo, nil
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

func digest(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// derive returns a value of the flow derived from the browser secret.
func derive(label, secret string) string {
	h := sha256.Sum256([]byte("gatehouse federation " + label + "\x00" + secret))
	return base64.RawURLEncoding.EncodeToString(h[:])
}
