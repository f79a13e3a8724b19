package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"unicode/utf8"

	"github.com/gatehouse-go/gatehouse/audit"
	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/httperr"
)

// R2R's confirmation messages, kept word for word where R2R had one.
const (
	msgVerified    = "Email verified successfully"
	msgLoggedOut   = "Logged out successfully"
	msgPasswordSet = "Password changed successfully"
	msgResetSent   = "If the email exists, a reset link has been sent"
	msgResetDone   = "Password reset successfully"
	// Ours.
	msgEmailChangeCancelled = "Email change cancelled; every session has been signed out"
	msgVerificationSent     = "If the email exists and is unverified, a verification email has been sent"
)

// maxAfterBytes bounds the users_overview "after" cursor (an email).
const maxAfterBytes = 1024

func required(name string) error {
	return invalidRequest("Field %q is required", name)
}

// decodeBody reads the request body as one JSON object of fields (see
// [decodeObject]), then checks that each of need, names of string fields
// among fields, was given, in that order. On failure it has answered the
// request and returns false.
func (a *API) decodeBody(w http.ResponseWriter, r *http.Request, fields []field, need ...string) bool {
	body, err := readBody(w, r, a.maxBody)
	if err == nil {
		err = decodeObject(body, fields)
	}
	for i := 0; err == nil && i < len(need); i++ {
		if f, _ := lookup(fields, need[i]); !f.dst.(*optString).set {
			err = required(need[i])
		}
	}
	if err != nil {
		a.fail(w, r, err, opDefault)
		return false
	}
	return true
}

// health answers GET /health.
func (a *API) health(w http.ResponseWriter, r *http.Request) {
	ok(w, struct {
		Response string `json:"response"`
	}{"ok"})
}

// register answers POST /register: {"email", "password"} and, as an
// addition of ours, the optional profile fields "name", "bio" and
// "profile_picture".
func (a *API) register(w http.ResponseWriter, r *http.Request) {
	var email, password, name, bio, picture optString
	if !a.decodeBody(w, r, []field{
		{"email", kindEmail, &email},
		{"password", kindString, &password},
		{"name", kindString, &name},
		{"bio", kindString, &bio},
		{"profile_picture", kindString, &picture},
	}, "email", "password") {
		return
	}
	u, err := a.m.Register(r.Context(), auth.Registration{
		Email: email.v, Password: password.v,
		Name: name.v, Bio: bio.v, ProfilePicture: picture.v,
	})
	if err != nil {
		a.fail(w, r, err, opDefault)
		return
	}
	ok(w, newUserJSON(u, a.m.Now(), false)) // a new account has no factor
}

// verifyEmail answers POST /verify_email: {"email", "verification_code"},
// {"verification_code"} alone, or the code as a bare JSON string. A long
// token from the link works alone; a short code needs the email.
func (a *API) verifyEmail(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r, a.maxBody)
	if err != nil {
		a.fail(w, r, err, opDefault)
		return
	}
	var email, code optString
	if firstByte(body) == '"' {
		code.v, err = decodeBareString(body, kindString, "verification_code")
		code.set = code.v != ""
	} else {
		err = decodeObject(body, []field{
			{"email", kindEmail, &email},
			{"verification_code", kindString, &code},
		})
	}
	if err == nil && !code.set {
		err = required("verification_code")
	}
	if err != nil {
		a.fail(w, r, err, opDefault)
		return
	}
	if _, err := a.m.VerifyEmail(r.Context(), auth.Verification{Email: email.v, Code: code.v}); err != nil {
		a.fail(w, r, err, opDefault)
		return
	}
	ok(w, message{msgVerified})
}

// login answers POST /login: an OAuth2 password-grant form ("username" is
// the email; "grant_type", "scope", "client_id" and "client_secret" are
// ignored) or JSON with "email" or "username" and "password".
func (a *API) login(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r, a.maxBody)
	if err != nil {
		a.fail(w, r, err, opDefault)
		return
	}
	var email, username, password optString
	fields := []field{
		{"username", kindEmail, &username},
		{"email", kindEmail, &email},
		{"password", kindString, &password},
		{"grant_type", kindIgnore, nil},
		{"scope", kindIgnore, nil},
		{"client_id", kindIgnore, nil},
		{"client_secret", kindIgnore, nil},
	}
	mt := mediaType(r)
	switch {
	case mt == "application/x-www-form-urlencoded":
		err = formValues(body, fields)
	case isJSONType(mt):
		err = decodeObject(body, fields)
	case mt == "multipart/form-data":
		err = invalidRequest("Send the login as application/x-www-form-urlencoded or as JSON")
	case firstByte(body) == '{':
		err = decodeObject(body, fields)
	default:
		err = formValues(body, fields)
	}
	if err == nil {
		switch {
		case email.set && username.set && email.v != username.v:
			err = invalidRequest(`Give the email as "username" or as "email", not both`)
		case !email.set && !username.set:
			err = required("username")
		case !password.set:
			err = required("password")
		}
	}
	if err != nil {
		a.fail(w, r, err, opDefault)
		return
	}
	if username.set {
		email = username
	}
	res, err := a.m.Login(r.Context(), email.v, password.v)
	if err != nil {
		a.fail(w, r, err, opDefault)
		return
	}
	if res.Challenge != nil {
		writeMFARequired(w, res.Challenge)
		return
	}
	if res.Tokens == nil {
		a.fail(w, r, errors.New("httpapi: login returned neither tokens nor a challenge"), opDefault)
		return
	}
	ok(w, newTokenPairJSON(res.Tokens))
}

// mfaFields are what a 401 mfa_required adds to the error body, at the top
// level and inside "detail" (docs/http-api.md, "Second factors").
type mfaFields struct {
	ChallengeToken string   `json:"challenge_token"`
	Methods        []string `json:"methods"`
	ExpiresAt      string   `json:"expires_at"`
}

// writeMFARequired answers a login whose password was right for a user
// with a second factor: 401 mfa_required with the challenge, no tokens.
func writeMFARequired(w http.ResponseWriter, c *auth.Challenge) {
	const msg = "A second factor is required"
	f := mfaFields{ChallengeToken: c.Token, Methods: c.Methods, ExpiresAt: timestamp(c.ExpiresAt)}
	if f.Methods == nil {
		f.Methods = []string{}
	}
	body := struct {
		Detail struct {
			Message   string `json:"message"`
			ErrorType string `json:"error_type"`
			mfaFields
		} `json:"detail"`
		Message   string `json:"message"`
		ErrorType string `json:"error_type"`
		mfaFields
	}{Message: msg, ErrorType: httperr.TypeMFARequired, mfaFields: f}
	body.Detail.Message, body.Detail.ErrorType, body.Detail.mfaFields = msg, httperr.TypeMFARequired, f
	b, err := json.Marshal(body)
	if err != nil {
		writeError(w, errorFor(err, opDefault))
		return
	}
	w.Header().Set("WWW-Authenticate", "Bearer")
	writeBody(w, http.StatusUnauthorized, b)
}

// loginMFA answers POST /login/mfa: the second step of a login that
// answered mfa_required. A right code gives the token pair, as /login.
func (a *API) loginMFA(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r, a.maxBody)
	if err != nil {
		a.fail(w, r, err, opDefault)
		return
	}
	var token, method, code optString
	var credential json.RawMessage
	err = decodeObject(body, []field{
		{"challenge_token", kindString, &token},
		{"method", kindString, &method},
		{"code", kindString, &code},
		{"credential", kindRaw, &credential},
	})
	if err == nil {
		switch {
		case !token.set || token.v == "":
			err = required("challenge_token")
		case !method.set || method.v == "":
			err = required("method")
		case method.v == auth.MethodPasskey:
			// The answer is the browser's assertion, an object.
			if err = credentialField(credential); err == nil {
				code = optString{v: string(credential), set: true}
			}
		case method.v != auth.MethodTOTP && method.v != auth.MethodRecoveryCode:
			err = invalidRequest(`Field "method" must be %q, %q or %q`, auth.MethodTOTP, auth.MethodRecoveryCode, auth.MethodPasskey)
		case !code.set || code.v == "":
			err = required("code")
		}
	}
	if err != nil {
		a.fail(w, r, err, opDefault)
		return
	}
	res, err := a.m.CompleteLogin(r.Context(), token.v, method.v, code.v)
	if err != nil {
		a.fail(w, r, err, opMFA)
		return
	}
	ok(w, newTokenPairJSON(res.Tokens))
}

// logout answers POST /logout: the session ends, so its refresh token and
// every access token of it stop working. Any body is ignored.
func (a *API) logout(w http.ResponseWriter, r *http.Request) {
	id, _ := auth.IdentityFromContext(r.Context())
	if err := a.m.Logout(r.Context(), id); err != nil {
		a.fail(w, r, err, opDefault)
		return
	}
	ok(w, message{msgLoggedOut})
}

// getUser answers GET /user with the caller, as read from the store for
// this request.
func (a *API) getUser(w http.ResponseWriter, r *http.Request) {
	u, _ := auth.UserFromContext(r.Context())
	// The store keeps the factor flag on the user: no store read more.
	writeBody(w, http.StatusOK, appendUserResult(make([]byte, 0, 512), u, a.m.Now(), a.m.MFAEnabled(u)))
}

// putUser answers PUT /user. The accepted fields are the whole allowlist
// (SECURITY.md #55): "user_id", "email", "is_superuser", "name", "bio",
// "profile_picture" and, additions of ours, "current_password" to confirm
// a change of one's own email and "is_active" for a superuser to
// deactivate or reactivate another user.
func (a *API) putUser(w http.ResponseWriter, r *http.Request) {
	var userID, email, name, bio, picture, current optString
	var super, active optBool
	if !a.decodeBody(w, r, []field{
		{"user_id", kindUUID, &userID},
		{"email", kindEmail, &email},
		{"is_superuser", kindBool, &super},
		{"is_active", kindBool, &active},
		{"name", kindString, &name},
		{"bio", kindString, &bio},
		{"profile_picture", kindString, &picture},
		{"current_password", kindString, &current},
	}) {
		return
	}
	p := auth.ProfileUpdate{
		UserID:          userID.v,
		Name:            strPtr(name),
		Bio:             strPtr(bio),
		ProfilePicture:  strPtr(picture),
		Email:           strPtr(email),
		CurrentPassword: current.v,
	}
	if super.set {
		p.IsSuperuser = &super.v
	}
	if active.set {
		p.IsActive = &active.v
	}
	id, _ := auth.IdentityFromContext(r.Context())
	u, err := a.m.UpdateProfile(r.Context(), id, p)
	if err != nil {
		a.fail(w, r, err, opDefault)
		return
	}
	ok(w, newUserJSON(u, a.m.Now(), a.m.MFAEnabled(u)))
}

func strPtr(s optString) *string {
	if !s.set {
		return nil
	}
	return &s.v
}

// deleteUser answers DELETE /user/{user_id} with an optional body
// {"password", "delete_vector_data"}: a user deletes themselves with their
// password, a superuser anyone else without it. delete_vector_data is
// accepted for R2R clients and has nothing to act on here.
func (a *API) deleteUser(w http.ResponseWriter, r *http.Request) {
	target, err := pathUserID(r)
	if err != nil {
		a.fail(w, r, err, opDefault)
		return
	}
	a.deleteCommon(w, r, target, false)
}

// deleteUserByBody answers DELETE /user with {"user_id", "password"?,
// "delete_vector_data"?}, the form r2r-js sends.
func (a *API) deleteUserByBody(w http.ResponseWriter, r *http.Request) {
	a.deleteCommon(w, r, "", true)
}

func (a *API) deleteCommon(w http.ResponseWriter, r *http.Request, target string, idInBody bool) {
	body, err := readBody(w, r, a.maxBody)
	if err != nil {
		a.fail(w, r, err, opDefault)
		return
	}
	var userID, password optString
	var vectors optBool
	fields := []field{
		{"password", kindString, &password},
		{"delete_vector_data", kindBool, &vectors},
	}
	if idInBody {
		fields = append(fields, field{"user_id", kindUUID, &userID})
	}
	if idInBody || len(bytes.TrimSpace(body)) > 0 {
		err = decodeObject(body, fields)
	}
	if err == nil && idInBody {
		if !userID.set {
			err = required("user_id")
		}
		target = userID.v
	}
	if err != nil {
		a.fail(w, r, err, opDefault)
		return
	}
	id, _ := auth.IdentityFromContext(r.Context())
	if err := a.m.DeleteUser(r.Context(), id, target, password.v); err != nil {
		if errors.Is(err, auth.ErrInvalidPassword) && password.v == "" {
			// The Manager refuses an empty password without checking it
			// (and without counting a failure); say what is missing.
			err = errPasswordRequired
		}
		a.fail(w, r, err, opDefault)
		return
	}
	ok(w, message{"User account " + target + " deleted successfully."})
}

// refresh answers POST /refresh_access_token. The refresh token comes as a
// bare JSON string, as {"refresh_token": ...}, as a form field
// "refresh_token", or as the raw body with any content type. A bearer
// token on the request is ignored.
func (a *API) refresh(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r, a.maxBody)
	if err != nil {
		a.fail(w, r, err, opDefault)
		return
	}
	trimmed := bytes.TrimSpace(body)
	var token optString
	switch {
	case len(trimmed) == 0:
	case trimmed[0] == '"':
		token.v, err = decodeBareString(trimmed, kindString, "refresh_token")
		token.set = token.v != ""
	case trimmed[0] == '{':
		err = decodeObject(trimmed, []field{{"refresh_token", kindString, &token}})
	case mediaType(r) == "application/x-www-form-urlencoded" && bytes.IndexByte(trimmed, '=') >= 0:
		err = formValues(trimmed, []field{
			{"refresh_token", kindString, &token},
			{"grant_type", kindIgnore, nil},
			{"scope", kindIgnore, nil},
			{"client_id", kindIgnore, nil},
			{"client_secret", kindIgnore, nil},
		})
	default:
		if !utf8.Valid(trimmed) {
			err = invalidRequest("The refresh token must be valid UTF-8")
		}
		token = optString{v: string(trimmed), set: true}
	}
	if err == nil && !token.set {
		err = required("refresh_token")
	}
	if err != nil {
		a.fail(w, r, err, opDefault)
		return
	}
	pair, err := a.m.Refresh(r.Context(), token.v)
	if err != nil {
		a.fail(w, r, err, opRefresh)
		return
	}
	ok(w, newTokenPairJSON(pair))
}

// changePassword answers POST /change_password:
// {"current_password", "new_password"}. The caller's session goes on; the
// user's other sessions end.
func (a *API) changePassword(w http.ResponseWriter, r *http.Request) {
	var current, next optString
	if !a.decodeBody(w, r, []field{
		{"current_password", kindString, &current},
		{"new_password", kindString, &next},
	}, "current_password", "new_password") {
		return
	}
	id, _ := auth.IdentityFromContext(r.Context())
	if err := a.m.ChangePassword(r.Context(), id, current.v, next.v); err != nil {
		a.fail(w, r, err, opDefault)
		return
	}
	ok(w, message{msgPasswordSet})
}

// requestPasswordReset answers POST /request_password_reset: the email as
// a bare JSON string or {"email"}. The answer is the same whether or not
// the account exists.
func (a *API) requestPasswordReset(w http.ResponseWriter, r *http.Request) {
	email, read := a.emailBody(w, r)
	if !read {
		return
	}
	if err := a.m.RequestPasswordReset(r.Context(), email); err != nil {
		a.fail(w, r, err, opDefault)
		return
	}
	ok(w, message{msgResetSent})
}

// sendVerificationEmail answers POST /send_verification_email, ours: the
// email as a bare JSON string or {"email"}. A new code and link go to the
// account with that address if it exists and is not verified yet; the
// answer is the same in every case (SECURITY.md #15), also when
// verification is switched off (then nothing is sent: no account needs
// it), so that it never depends on an account.
func (a *API) sendVerificationEmail(w http.ResponseWriter, r *http.Request) {
	email, read := a.emailBody(w, r)
	if !read {
		return
	}
	err := a.m.ResendVerification(r.Context(), email)
	if err != nil && !errors.Is(err, auth.ErrVerificationNotRequired) {
		a.fail(w, r, err, opDefault)
		return
	}
	ok(w, message{msgVerificationSent})
}

// emailBody reads a body that holds only an email: a bare JSON string or
// {"email"}. On failure it has answered the request and returns false.
func (a *API) emailBody(w http.ResponseWriter, r *http.Request) (string, bool) {
	body, err := readBody(w, r, a.maxBody)
	if err != nil {
		a.fail(w, r, err, opDefault)
		return "", false
	}
	var email optString
	if firstByte(body) == '"' {
		email.v, err = decodeBareString(body, kindEmail, "email")
		email.set = email.v != ""
	} else {
		err = decodeObject(body, []field{{"email", kindEmail, &email}})
	}
	if err == nil && !email.set {
		err = required("email")
	}
	if err != nil {
		a.fail(w, r, err, opDefault)
		return "", false
	}
	return email.v, true
}

// resetPassword answers POST /reset_password: {"reset_token",
// "new_password"}.
func (a *API) resetPassword(w http.ResponseWriter, r *http.Request) {
	var token, next optString
	if !a.decodeBody(w, r, []field{
		{"reset_token", kindString, &token},
		{"new_password", kindString, &next},
	}, "reset_token", "new_password") {
		return
	}
	a.reset(w, r, token.v, next.v)
}

// resetPasswordByPath answers POST /reset_password/{token}:
// {"new_password"}, the form older clients send.
func (a *API) resetPasswordByPath(w http.ResponseWriter, r *http.Request) {
	var next optString
	if !a.decodeBody(w, r, []field{{"new_password", kindString, &next}}, "new_password") {
		return
	}
	a.reset(w, r, r.PathValue("token"), next.v)
}

func (a *API) reset(w http.ResponseWriter, r *http.Request, token, password string) {
	if err := a.m.ResetPassword(r.Context(), token, password); err != nil {
		a.fail(w, r, err, opReset)
		return
	}
	ok(w, message{msgResetDone})
}

// cancelEmailChange answers POST /cancel_email_change, ours: {"token"},
// the token from the notice mailed to the old address.
func (a *API) cancelEmailChange(w http.ResponseWriter, r *http.Request) {
	var token optString
	if !a.decodeBody(w, r, []field{{"token", kindString, &token}}, "token") {
		return
	}
	if err := a.m.CancelEmailChange(r.Context(), token.v); err != nil {
		a.fail(w, r, err, opCancel)
		return
	}
	ok(w, message{msgEmailChangeCancelled})
}

// usersOverview answers GET /users_overview for superusers, each row with
// its activity figures (sessions, last login, failed logins in the last 24
// hours). Query:
// "user_ids" (repeatable UUIDs; empty values are ignored), "offset" (≥ 0,
// default 0), "limit" (1 to 1000, default 100) and, an addition of ours,
// "after" (an email: the page starts after it, for keyset paging). Other
// parameters are ignored.
func (a *API) usersOverview(w http.ResponseWriter, r *http.Request) {
	q, err := overviewQuery(r.URL.RawQuery)
	if err != nil {
		a.fail(w, r, err, opDefault)
		return
	}
	id, _ := auth.IdentityFromContext(r.Context())
	page, err := a.m.UsersOverview(r.Context(), id, q)
	if err != nil {
		a.fail(w, r, err, opDefault)
		return
	}
	ids := make([]string, 0, len(page.Users))
	for _, s := range page.Users {
		ids = append(ids, s.User.ID)
	}
	// One grouped query for the page's figures from the audit log; none
	// (null figures) without one (Config.Audit).
	var activity map[string]audit.Activity
	if a.audit != nil {
		activity, err = a.audit.UserActivity(r.Context(), id, audit.ActivityQuery{UserIDs: ids})
		if err != nil {
			a.fail(w, r, err, opDefault)
			return
		}
	}
	rows := make([]userRowJSON, 0, len(page.Users))
	for _, s := range page.Users {
		row := newUserRowJSON(s)
		if activity != nil {
			n := activity[s.User.ID].FailedLogins
			row.FailedLogins24h = &n
		}
		rows = append(rows, row)
	}
	writeJSON(w, http.StatusOK, pageEnvelope[userRowJSON]{Results: rows, TotalEntries: page.Total})
}

func overviewQuery(raw string) (auth.UsersQuery, error) {
	q := auth.UsersQuery{Limit: auth.DefaultPageSize}
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return q, invalidRequest("Malformed query string")
	}
	for _, v := range vals["user_ids"] {
		if v == "" {
			continue
		}
		id, err := parseUUID(v)
		if err != nil {
			return q, invalidRequest(`Query parameter "user_ids" must hold UUIDs`)
		}
		q.IDs = append(q.IDs, id)
	}
	if q.Offset, err = intParam(vals, "offset", 0, 0, math.MaxInt32); err != nil {
		return q, err
	}
	if q.Limit, err = intParam(vals, "limit", auth.DefaultPageSize, 1, auth.MaxPageSize); err != nil {
		return q, err
	}
	q.After, err = textParam(vals, "after", maxAfterBytes, "an email address")
	return q, err
}

// intParam reads an optional integer query parameter within [lo, hi]; an
// empty value counts as absent.
func intParam(vals url.Values, name string, def, lo, hi int) (int, error) {
	v, err := oneParam(vals, name)
	if err != nil {
		return 0, err
	}
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, invalidRequest("Query parameter %q must be an integer from %d to %d", name, lo, hi)
	}
	return n, nil
}
