package httpapi

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net/http"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/httperr"
)

// The second-factor endpoints of docs/http-api.md ("Second factors"). Every
// change of a user's factors needs the current password unless the
// session's login is recent (auth.FactorConfig.RecentLogin, 5 minutes by
// default; a refresh does not renew it): an access token stolen later
// never adds, removes or regenerates one (SECURITY.md #54, #82).

// errFactorReauth: a factor change without the current password, from a
// session whose login is not recent.
var errFactorReauth = &apiError{Status: http.StatusBadRequest, Type: httperr.TypeReauthRequired, Message: `Changing second factors needs "current_password" when the login is not recent`}

// optionalObject reads the body as a JSON object of fields; an empty body
// counts as {}. On failure it has answered the request and returns false.
func (a *API) optionalObject(w http.ResponseWriter, r *http.Request, fields []field) bool {
	body, err := readBody(w, r, a.maxBody)
	if err == nil && len(bytes.TrimSpace(body)) > 0 {
		err = decodeObject(body, fields)
	}
	if err != nil {
		a.fail(w, r, err, opDefault)
		return false
	}
	return true
}

var (
	errFactorNotFound = &apiError{Status: http.StatusNotFound, Type: httperr.TypeNotFound, Message: "Factor not found"}
	errFactorCode     = &apiError{Status: http.StatusBadRequest, Type: httperr.TypeInvalidCode, Message: "Wrong or already used code"}
)

// failFactor answers a factor operation's error in the factor's words: a
// missing current password, an unknown factor, a wrong code.
func (a *API) failFactor(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, auth.ErrReauthRequired):
		writeError(w, errFactorReauth)
	case errors.Is(err, auth.ErrNotFound):
		writeError(w, errFactorNotFound)
	case errors.Is(err, auth.ErrInvalidCode):
		writeError(w, errFactorCode)
	default:
		a.fail(w, r, err, opDefault)
	}
}

// enrollTOTP answers POST /mfa/totp/enroll {"current_password", "name"?}:
// a new, pending TOTP factor and its secret, shown this once.
func (a *API) enrollTOTP(w http.ResponseWriter, r *http.Request) {
	current, name, good := a.decodeNewFactor(w, r)
	if !good {
		return
	}
	id, _ := auth.IdentityFromContext(r.Context())
	enr, err := a.m.EnrollTOTP(r.Context(), id, current, name)
	if err != nil {
		a.failFactor(w, r, err)
		return
	}
	ok(w, struct {
		FactorID   string `json:"factor_id"`
		Secret     string `json:"secret"`
		OTPAuthURI string `json:"otpauth_uri"`
		QRPNG      string `json:"qr_png"`
	}{enr.FactorID, enr.Secret, enr.URI, base64.StdEncoding.EncodeToString(enr.QRPNG)})
}

// confirmTOTP answers POST /mfa/totp/confirm {"factor_id", "code"}: the
// factor counts from now on; the first one comes with recovery codes.
func (a *API) confirmTOTP(w http.ResponseWriter, r *http.Request) {
	var factorID, code optString
	if !a.decodeBody(w, r, []field{
		{"factor_id", kindString, &factorID},
		{"code", kindString, &code},
	}, "factor_id", "code") {
		return
	}
	id, _ := auth.IdentityFromContext(r.Context())
	c, err := a.m.ConfirmTOTP(r.Context(), id, factorID.v, code.v)
	if err != nil {
		a.failFactor(w, r, err)
		return
	}
	ok(w, struct {
		FactorID      string   `json:"factor_id"`
		RecoveryCodes []string `json:"recovery_codes,omitempty"`
	}{c.FactorID, c.RecoveryCodes})
}

// factorJSON is one entry of GET /mfa/factors: never a secret.
type factorJSON struct {
	ID         string  `json:"id"`
	Type       string  `json:"type"`
	Name       string  `json:"name"`
	CreatedAt  string  `json:"created_at"`
	LastUsedAt *string `json:"last_used_at"`
}

// listFactors answers GET /mfa/factors: the caller's confirmed factors.
func (a *API) listFactors(w http.ResponseWriter, r *http.Request) {
	id, _ := auth.IdentityFromContext(r.Context())
	fs, err := a.m.Factors(r.Context(), id)
	if err != nil {
		a.failFactor(w, r, err)
		return
	}
	out := make([]factorJSON, 0, len(fs))
	for _, f := range fs {
		j := factorJSON{ID: f.ID, Type: string(f.Type), Name: f.Name, CreatedAt: timestamp(f.CreatedAt)}
		if !f.LastUsedAt.IsZero() {
			s := timestamp(f.LastUsedAt)
			j.LastUsedAt = &s
		}
		out = append(out, j)
	}
	ok(w, out)
}

// removeFactor answers DELETE /mfa/factors/{id} {"current_password"}.
func (a *API) removeFactor(w http.ResponseWriter, r *http.Request) {
	var current optString
	if !a.optionalObject(w, r, []field{{"current_password", kindString, &current}}) {
		return
	}
	id, _ := auth.IdentityFromContext(r.Context())
	if err := a.m.RemoveFactor(r.Context(), id, r.PathValue("id"), current.v); err != nil {
		a.failFactor(w, r, err)
		return
	}
	ok(w, message{"Factor removed"})
}

// regenerateRecoveryCodes answers POST /mfa/recovery_codes
// {"current_password"}: a new set of 10; the old set is dead.
func (a *API) regenerateRecoveryCodes(w http.ResponseWriter, r *http.Request) {
	var current optString
	if !a.optionalObject(w, r, []field{{"current_password", kindString, &current}}) {
		return
	}
	id, _ := auth.IdentityFromContext(r.Context())
	codes, err := a.m.RegenerateRecoveryCodes(r.Context(), id, current.v)
	if err != nil {
		a.failFactor(w, r, err)
		return
	}
	ok(w, struct {
		RecoveryCodes []string `json:"recovery_codes"`
	}{codes})
}

// resetFactors answers POST /users/{user_id}/mfa/reset (superuser): every
// factor and recovery code of the user is removed. Any body is ignored.
func (a *API) resetFactors(w http.ResponseWriter, r *http.Request) {
	uid, err := pathUserID(r)
	if err != nil {
		a.fail(w, r, err, opDefault)
		return
	}
	id, _ := auth.IdentityFromContext(r.Context())
	if err := a.m.ResetFactors(r.Context(), id, uid); err != nil {
		a.fail(w, r, err, opDefault)
		return
	}
	ok(w, message{"Second factors removed"})
}

// decodeNewFactor decodes the body {"current_password"?, "name"?} of the
// calls that add a factor (TOTP enrolment, passkey registration); it
// answers the error itself and reports false on a bad body.
func (a *API) decodeNewFactor(w http.ResponseWriter, r *http.Request) (current, name string, good bool) {
	var c, n optString
	if !a.optionalObject(w, r, []field{
		{"current_password", kindString, &c},
		{"name", kindString, &n},
	}) {
		return "", "", false
	}
	return c.v, n.v, true
}
