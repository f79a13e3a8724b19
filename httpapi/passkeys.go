package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/gatehouse-go/gatehouse/auth"
)

// The passkey endpoints of docs/http-api.md ("Passkeys"). Registration
// needs the current password, as every factor change does; the login
// endpoints are public and throttled by the Manager.

// credentialField checks the "credential" member: a PublicKeyCredential
// object, as the browser gives it (base64url fields).
func credentialField(raw json.RawMessage) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return required("credential")
	}
	if raw[0] != '{' {
		return invalidRequest(`Field "credential" must be the PublicKeyCredential object`)
	}
	return nil
}

// decodeCeremony reads the body of a ceremony's finish call: the
// ceremony's ID under idField and the browser's "credential", both
// required. It answers the error itself and reports false on bad input.
func (a *API) decodeCeremony(w http.ResponseWriter, r *http.Request, idField string) (id, credential string, ok bool) {
	var ceremony optString
	var raw json.RawMessage
	if !a.decodeBody(w, r, []field{
		{idField, kindString, &ceremony},
		{"credential", kindRaw, &raw},
	}, idField) {
		return "", "", false
	}
	if err := credentialField(raw); err != nil {
		a.fail(w, r, err, opDefault)
		return "", "", false
	}
	return ceremony.v, string(raw), true
}

// beginPasskeyRegistration answers POST /mfa/passkeys/register/begin
// {"current_password"?, "name"?}: the creation options and the
// registration ID for the finish call.
func (a *API) beginPasskeyRegistration(w http.ResponseWriter, r *http.Request) {
	current, name, good := a.decodeNewFactor(w, r)
	if !good {
		return
	}
	id, _ := auth.IdentityFromContext(r.Context())
	c, err := a.m.BeginPasskeyRegistration(r.Context(), id, current, name)
	if err != nil {
		a.failFactor(w, r, err)
		return
	}
	ok(w, struct {
		RegistrationID string          `json:"registration_id"`
		Options        json.RawMessage `json:"options"`
	}{c.ID, c.Options})
}

// finishPasskeyRegistration answers POST /mfa/passkeys/register/finish
// {"registration_id", "credential"}: the new passkey's ID, and recovery
// codes when it is the first factor.
func (a *API) finishPasskeyRegistration(w http.ResponseWriter, r *http.Request) {
	regID, credential, valid := a.decodeCeremony(w, r, "registration_id")
	if !valid {
		return
	}
	id, _ := auth.IdentityFromContext(r.Context())
	reg, err := a.m.FinishPasskeyRegistration(r.Context(), id, regID, credential)
	if err != nil {
		a.failFactor(w, r, err)
		return
	}
	ok(w, struct {
		FactorID      string   `json:"factor_id"`
		RecoveryCodes []string `json:"recovery_codes,omitempty"`
	}{reg.FactorID, reg.RecoveryCodes})
}

// passkeyChallengeOptions answers POST /login/mfa/passkey/options
// {"challenge_token"}: request options for answering the challenge with
// a passkey at POST /login/mfa.
func (a *API) passkeyChallengeOptions(w http.ResponseWriter, r *http.Request) {
	var token optString
	if !a.decodeBody(w, r, []field{{"challenge_token", kindString, &token}}, "challenge_token") {
		return
	}
	c, err := a.m.PasskeyChallengeOptions(r.Context(), token.v)
	if err != nil {
		a.fail(w, r, err, opMFA)
		return
	}
	ok(w, struct {
		Options json.RawMessage `json:"options"`
	}{c.Options})
}

// beginPasskeyLogin answers POST /login/passkey/begin {}: request options
// for a passwordless login and the login ID for the finish call.
func (a *API) beginPasskeyLogin(w http.ResponseWriter, r *http.Request) {
	if !a.optionalObject(w, r, nil) {
		return
	}
	c, err := a.m.BeginPasskeyLogin(r.Context())
	if err != nil {
		a.fail(w, r, err, opDefault)
		return
	}
	ok(w, struct {
		LoginID string          `json:"login_id"`
		Options json.RawMessage `json:"options"`
	}{c.ID, c.Options})
}

// finishPasskeyLogin answers POST /login/passkey/finish {"login_id",
// "credential"}: a token pair, as POST /login gives.
func (a *API) finishPasskeyLogin(w http.ResponseWriter, r *http.Request) {
	loginID, credential, valid := a.decodeCeremony(w, r, "login_id")
	if !valid {
		return
	}
	res, err := a.m.PasskeyLogin(r.Context(), loginID, credential)
	if err != nil {
		a.fail(w, r, err, opMFA)
		return
	}
	ok(w, newTokenPairJSON(res.Tokens))
}
