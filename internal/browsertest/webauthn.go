package browsertest

import (
	"context"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// Authenticator is a DevTools virtual authenticator attached to a
// [Browser]'s tab: navigator.credentials.create and .get in that tab talk
// to it instead of a real device, with no prompt.
type Authenticator struct {
	b *Browser
	// ID names the authenticator in the DevTools protocol.
	ID webauthn.AuthenticatorID
}

// AddAuthenticator enables the tab's WebAuthn domain and adds a virtual
// platform authenticator like a phone's or laptop's: CTAP 2.1 over the
// internal transport, with resident keys (discoverable credentials, for a
// login without a username), user verification that succeeds, and user
// presence given automatically. It fails the test when the browser
// refuses.
func (b *Browser) AddAuthenticator() *Authenticator {
	b.t.Helper()
	id := Get(b.t, b, func(ctx context.Context, tg *chromedp.Target) (webauthn.AuthenticatorID, error) {
		if _, err := cdp.Call(ctx, tg, webauthn.Enable, webauthn.EnableParams{EnableUI: new(false)}); err != nil {
			return "", err
		}
		res, err := cdp.Call(ctx, tg, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
			Options: &webauthn.VirtualAuthenticatorOptions{
				Protocol:                    webauthn.AuthenticatorProtocolCtap2,
				Ctap2version:                webauthn.Ctap2versionCtap21,
				Transport:                   webauthn.AuthenticatorTransportInternal,
				HasResidentKey:              true,
				HasUserVerification:         true,
				IsUserVerified:              true,
				AutomaticPresenceSimulation: true,
			},
		})
		return res.AuthenticatorID, err
	})
	return &Authenticator{b: b, ID: id}
}

// Credentials returns the credentials the authenticator holds.
func (a *Authenticator) Credentials() []*webauthn.Credential {
	a.b.t.Helper()
	return Get(a.b.t, a.b, func(ctx context.Context, tg *chromedp.Target) ([]*webauthn.Credential, error) {
		res, err := cdp.Call(ctx, tg, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: a.ID})
		return res.Credentials, err
	})
}
