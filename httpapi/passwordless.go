package httpapi

import (
	"errors"
	"net/http"

	"github.com/gatehouse-go/gatehouse/auth"
)

// msgEmailLoginSent is the answer to every email-login request, whether or
// not the email has an account (SECURITY.md #15).
const msgEmailLoginSent = "If the email has an account, a sign-in link and code have been sent"

// emailLoginJSON is the answer of POST /login/email.
type emailLoginJSON struct {
	LoginID   string `json:"login_id"`
	ExpiresAt string `json:"expires_at"`
	Message   string `json:"message"`
}

// requestEmailLogin answers POST /login/email, ours: {"email"} or the bare
// string. The answer has the same shape and fields for every address: a
// fresh random login_id, the code's expiry and one message.
func (a *API) requestEmailLogin(w http.ResponseWriter, r *http.Request) {
	email, read := a.emailBody(w, r)
	if !read {
		return
	}
	l, err := a.m.RequestEmailLogin(r.Context(), email)
	if err != nil {
		a.fail(w, r, err, opDefault)
		return
	}
	ok(w, emailLoginJSON{LoginID: l.LoginID, ExpiresAt: timestamp(l.ExpiresAt), Message: msgEmailLoginSent})
}

// emailLoginVerify answers POST /login/email/verify, ours: {"token"} from
// the link, or {"login_id","code"}. It gives the token pair, or 401
// mfa_required as /login does.
func (a *API) emailLoginVerify(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r, a.maxBody)
	if err != nil {
		a.fail(w, r, err, opDefault)
		return
	}
	var token, loginID, code optString
	err = decodeObject(body, []field{
		{"token", kindString, &token},
		{"login_id", kindString, &loginID},
		{"code", kindString, &code},
	})
	if err == nil {
		switch {
		case token.set && (loginID.set || code.set):
			err = invalidRequest(`Give either "token" or "login_id" and "code", not both`)
		case token.set && token.v == "":
			err = required("token")
		case !token.set && (!loginID.set || loginID.v == ""):
			err = required("login_id")
		case !token.set && (!code.set || code.v == ""):
			err = required("code")
		}
	}
	if err != nil {
		a.fail(w, r, err, opDefault)
		return
	}
	var res *auth.LoginResult
	if token.set {
		res, err = a.m.EmailLoginWithLink(r.Context(), token.v)
	} else {
		res, err = a.m.EmailLoginWithCode(r.Context(), loginID.v, code.v)
	}
	if err != nil {
		a.fail(w, r, err, opMFA)
		return
	}
	if res.Challenge != nil {
		writeMFARequired(w, res.Challenge)
		return
	}
	if res.Tokens == nil {
		a.fail(w, r, errors.New("httpapi: email login returned neither tokens nor a challenge"), opDefault)
		return
	}
	ok(w, newTokenPairJSON(res.Tokens))
}
