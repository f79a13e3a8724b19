package main

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-go/gatehouse/audit"
	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/auth/password"
	"github.com/gatehouse-go/gatehouse/httperr"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/store"
)

// The pages are html/template files in templates/: layout.html holds the
// frame (head, nav bar, flash message) and the shared snippets, and each
// other file defines the "content" of one page. They load nothing else —
// no script, no image, no font — and the Content Security Policy allows
// only the inline stylesheet (by its hash) and form posts to this origin.

//go:embed templates
var templateFiles embed.FS

// maxFormBytes bounds a posted form.
const maxFormBytes = 64 << 10

// flashCookie carries a message to the page after a redirect: the key of
// one of flashes, never text of its own.
const flashCookie = "flash"

// flashes are the messages a page can show after a redirect.
var flashes = map[string]string{
	"registered":        "Account created. We have emailed you a 6-digit code: enter it below, or open the link in the email.",
	"code-sent":         "If that address has an account waiting for verification, a new code is on its way.",
	"verified":          "Your email address is verified. You can log in now.",
	"logged-out":        "You are logged out.",
	"session-ended":     "Your session has ended. Log in again to continue.",
	"profile-saved":     "Your profile is saved.",
	"email-pending":     "Almost done: open the link we emailed to your new address to confirm it.",
	"email-confirmed":   "Your new email address is confirmed. Use it to log in from now on.",
	"email-cancelled":   "The email change is cancelled and every session has ended. If you did not ask for it, reset your password now.",
	"password-changed":  "Your password is changed, and every other device is signed out.",
	"password-reset":    "Your password is changed and every session has ended. Log in with your new password.",
	"reset-sent":        "If an account uses that address, we have emailed it a link to choose a new password. The link works for 30 minutes.",
	"device-signed-out": "That device is signed out.",
	"others-signed-out": "Every other device is signed out.",
	"deleted":           "Your account and everything in it are deleted. Goodbye!",
}

// app is the web application: its pages and the forms they post.
type app struct {
	m     *auth.Manager
	audit *audit.Reader
	// guard is the cookie-mode middleware; run sets it after newApp,
	// since its ErrorHandler is a.refused.
	guard  *middleware.Guard
	log    *slog.Logger
	secure bool // served over HTTPS: Secure cookies, HSTS
	pages  map[string]*template.Template
	css    template.CSS
	csp    string
	// anonymous refuses cross-origin posts of the forms used before
	// logging in (register, verify, reset), judged as the Guard judges
	// those of signed-in users.
	anonymous    *http.CrossOriginProtection
	minPW, maxPW int
}

func newApp(m *auth.Manager, reader *audit.Reader, logger *slog.Logger, secure bool) (*app, error) {
	css, err := fs.ReadFile(templateFiles, "templates/style.css")
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(css)
	a := &app{
		m: m, audit: reader, log: logger, secure: secure,
		pages: map[string]*template.Template{},
		css:   template.CSS(css),
		csp: "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; " +
			"form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
		anonymous: http.NewCrossOriginProtection(),
	}
	a.minPW, a.maxPW = password.Policy{}.Bounds() // the Manager's policy is the default one
	a.anonymous.SetDenyHandler(http.HandlerFunc(a.crossOrigin))
	funcs := template.FuncMap{"field": a.field, "optional": a.optional, "when": a.when}
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		name = strings.TrimPrefix(name, "templates/")
		if name == "layout.html" {
			continue
		}
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", "templates/"+name)
		if err != nil {
			return nil, err
		}
		a.pages[name] = t
	}
	return a, nil
}

// routes is the whole application. Every form posts; GET requests change
// nothing, so links (in mail too) are safe to follow.
func (a *app) routes() http.Handler {
	mux := http.NewServeMux()
	// Forms of visitors who are not logged in.
	public := func(pattern string, h http.HandlerFunc) { mux.Handle(pattern, a.anonymous.Handler(h)) }
	// Pages and forms of signed-in users: the Guard sends visitors without
	// a session to the login page and refuses cross-origin posts.
	user := func(pattern string, h http.HandlerFunc) { mux.Handle(pattern, a.guard.RequireAuth(h)) }

	mux.HandleFunc("GET /{$}", a.home)
	mux.HandleFunc("GET /register", a.show("register.html", "Create your account", "register"))
	public("POST /register", a.register)
	mux.HandleFunc("GET /verify", a.verifyForm)
	public("POST /verify", a.verify)
	public("POST /verify/resend", a.resend)
	mux.HandleFunc("GET /login", a.loginForm)
	mux.HandleFunc("POST /login", a.login) // Guard.LogIn checks the origin
	public("POST /login/code", a.loginCode)
	mux.HandleFunc("POST /logout", a.logout) // Guard.EndSession checks the origin
	mux.HandleFunc("GET /forgot-password", a.show("forgot.html", "Reset your password", "login"))
	public("POST /forgot-password", a.forgot)
	// The pages that the links in mail open (auth.Config.BaseURL + path).
	for _, lp := range linkPages {
		mux.HandleFunc("GET "+lp.Path, a.linkForm(lp))
		public("POST "+lp.Path, a.linkSubmit(lp))
	}

	user("GET /account", func(w http.ResponseWriter, r *http.Request) { a.showProfile(w, r, http.StatusOK, &view{}) })
	user("POST /account/profile", a.saveProfile)
	user("POST /account/email", a.changeEmail)
	user("GET /account/sessions", func(w http.ResponseWriter, r *http.Request) { a.showSessions(w, r, http.StatusOK, &view{}) })
	user("POST /account/sessions/revoke", a.revokeSession)
	user("POST /account/sessions/revoke-others", a.revokeOthers)
	user("GET /account/password", a.show("password.html", "Change your password", "password"))
	user("POST /account/password", a.changePassword)
	user("GET /account/delete", a.show("delete.html", "Delete your account", "profile"))
	user("POST /account/delete", a.deleteAccount)
	mux.Handle("GET /admin", a.guard.RequireSuperuser(http.HandlerFunc(a.admin)))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		a.message(w, r, http.StatusNotFound, "Page not found", "There is no page at this address.")
	})
	// Authenticate puts the user of the session cookie (refreshed when
	// needed) into every request, for the nav bar.
	return a.headers(a.guard.Authenticate(mux))
}

// headers sets what every response carries and bounds posted forms.
func (a *app) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", a.csp)
		// Not no-referrer: with it, browsers send "Origin: null" on form
		// posts, which the cross-origin check must refuse where
		// Sec-Fetch-Site is missing. same-origin still sends nothing (no
		// token in a link's URL) to any other site.
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		if a.secure {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		}
		next.ServeHTTP(w, r)
	})
}

// view is what every page template gets.
type view struct {
	Title  string
	Nav    string            // the nav bar entry of this page
	User   *store.User       // the signed-in user, or nil
	Flash  string            // a message left by the previous request
	Error  string            // a message about the whole form
	Errors map[string]string // messages next to fields, by field name
	Form   url.Values        // what was typed, to fill the form again
	Wide   bool              // a wide page (tables)
	CSS    template.CSS
	Data   any // the page's own data
}

// render writes a page. The flash message, if any, is shown once.
func (a *app) render(w http.ResponseWriter, r *http.Request, status int, name string, v *view) {
	v.User, _ = auth.UserFromContext(r.Context())
	v.CSS = a.css
	if c, err := r.Cookie(flashCookie); err == nil {
		v.Flash = flashes[c.Value]
		http.SetCookie(w, a.flash(""))
	}
	var buf bytes.Buffer
	if err := a.pages[name].ExecuteTemplate(&buf, "layout", v); err != nil {
		a.log.Error("rendering a page failed", "page", name, "error", err.Error())
		http.Error(w, "Something went wrong. Try again later.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// show serves a page that needs nothing but its template.
func (a *app) show(name, title, nav string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a.render(w, r, http.StatusOK, name, &view{Title: title, Nav: nav})
	}
}

// flash returns the cookie that carries the flash message key (or, for
// "", deletes it).
func (a *app) flash(key string) *http.Cookie {
	c := &http.Cookie{Name: flashCookie, Value: key, Path: "/", MaxAge: 60, HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteLaxMode}
	if key == "" {
		c.MaxAge = -1
	}
	return c
}

// redirect answers a form post with a redirect to path (303: the browser
// follows with GET), leaving the flash message of key for the next page.
func (a *app) redirect(w http.ResponseWriter, r *http.Request, path, key string) {
	if key != "" {
		http.SetCookie(w, a.flash(key))
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
}

// message shows a page with a title and one paragraph.
func (a *app) message(w http.ResponseWriter, r *http.Request, status int, title, text string) {
	a.render(w, r, status, "message.html", &view{Title: title, Data: text})
}

// crossOrigin answers a form that another site's page posted.
func (a *app) crossOrigin(w http.ResponseWriter, r *http.Request) {
	a.message(w, r, http.StatusForbidden, "Request refused",
		"This form was sent from another website, so nothing was changed. If you meant to do this, open this site yourself and try again.")
}

// refused is the Guard's ErrorHandler: how a page answers a request the
// middleware refused.
func (a *app) refused(w http.ResponseWriter, r *http.Request, status int, err error) {
	switch {
	case status == http.StatusUnauthorized:
		key := ""
		if _, err := r.Cookie(a.guard.CookieName()); err == nil {
			key = "session-ended" // the cookie no longer works (the Guard has cleared it)
		}
		a.redirect(w, r, "/login", key)
	case errors.Is(err, middleware.ErrCrossOrigin):
		a.crossOrigin(w, r)
	case status == http.StatusForbidden:
		a.message(w, r, status, "Administrators only", "This page is for administrators. Ask one of them if you need something from it.")
	default:
		w.Header().Set("Retry-After", "1")
		a.message(w, r, status, "Try again in a moment", "The server is busy right now. Reload the page in a moment.")
	}
}

// explain fills v with what a form shows about err, an error of the
// Manager or the Guard: a message next to the field it is about, or above
// the form. It returns the status of the answer, or done when it has
// answered already (a refused cross-origin post, a session that ended).
// The messages are the application's own; an error's text is never shown.
func (a *app) explain(w http.ResponseWriter, r *http.Request, err error, v *view) (status int, done bool) {
	field, msg := "", ""
	var pe *password.PolicyError
	var te *auth.ThrottledError
	var ve *auth.ValidationError
	switch {
	case errors.Is(err, middleware.ErrCrossOrigin):
		a.crossOrigin(w, r)
		return 0, true
	case errors.Is(err, auth.ErrUnauthenticated), errors.Is(err, auth.ErrTokenInvalid), errors.Is(err, auth.ErrTokenExpired):
		a.redirect(w, r, "/login", "session-ended")
		return 0, true
	case errors.As(err, &te):
		secs := max(1, int(math.Ceil(te.RetryAfter.Seconds())))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		msg = "Too many attempts. Try again in " + seconds(secs) + "."
	case errors.Is(err, auth.ErrThrottled):
		msg = "Too many attempts. Try again later."
	case errors.Is(err, auth.ErrInvalidCredentials):
		msg = "That email address and password do not match an account."
	case errors.Is(err, auth.ErrEmailNotVerified):
		msg = "Verify your email address first: enter the code we emailed you."
	case errors.Is(err, auth.ErrAccountDisabled):
		msg = "This account is disabled. Contact an administrator."
	case errors.Is(err, auth.ErrInvalidEmail):
		field, msg = "email", "Enter a valid email address, like name@example.com."
	case errors.Is(err, auth.ErrEmailTaken):
		field, msg = "email", "Another account already uses this email address."
	case errors.As(err, &pe):
		field, msg = "new_password", policyMessage(pe)
	case errors.Is(err, auth.ErrInvalidPassword):
		field, msg = "current_password", "That is not your current password."
	case errors.Is(err, auth.ErrReauthRequired):
		field, msg = "current_password", "Enter your current password to confirm."
	case errors.Is(err, auth.ErrInvalidCode):
		field, msg = "code", "That code is wrong or has expired. Check the newest email, or ask for a new code."
	case errors.Is(err, auth.ErrLastSuperuser):
		msg = "You are the last administrator, so this account cannot be deleted."
	case errors.Is(err, auth.ErrForbidden):
		msg = "You are not allowed to do that."
	case errors.As(err, &ve) && (ve.Field == "name" || ve.Field == "bio"):
		limit := auth.MaxNameLength
		if ve.Field == "bio" {
			limit = auth.MaxBioLength
		}
		field, msg = ve.Field, fmt.Sprintf("Use at most %d characters, without control characters.", limit)
	default:
		status := httperr.Status(err)
		if status >= 500 {
			if status == http.StatusServiceUnavailable {
				w.Header().Set("Retry-After", "1")
				msg = "The server is busy. Try again in a moment."
			} else {
				a.log.ErrorContext(r.Context(), "a form failed", "path", r.URL.Path, "error", err.Error())
				msg = "Something went wrong on our side. Try again later."
			}
			v.Error = msg
			return status, false
		}
		msg = httperr.From(err).Message // a fixed text, never the error's own
	}
	if field != "" {
		v.Errors = map[string]string{field: msg}
	} else {
		v.Error = msg
	}
	status = httperr.Status(err)
	if status == http.StatusUnauthorized {
		// A wrong password on a form: 401 is for HTTP authentication
		// and would need a WWW-Authenticate challenge.
		status = http.StatusBadRequest
	}
	return status, false
}

// policyMessage says why the password policy refused a password.
func policyMessage(pe *password.PolicyError) string {
	switch pe.Reason {
	case password.TooShort:
		return "Too short: use at least " + strconv.Itoa(pe.Min) + " characters."
	case password.TooLong:
		return "Too long: use at most " + strconv.Itoa(pe.Max) + " characters."
	case password.Common:
		return "This password is too common or too easy to guess. Choose another."
	case password.Contextual:
		return "Do not use your email address or the name of this site."
	default:
		return "This password contains characters that are not allowed."
	}
}

// seconds says n seconds in words.
func seconds(n int) string {
	if n == 1 {
		return "1 second"
	}
	if n < 120 {
		return strconv.Itoa(n) + " seconds"
	}
	return strconv.Itoa((n+59)/60) + " minutes"
}

// identity is the signed-in caller of a route behind RequireAuth.
func identity(r *http.Request) *auth.Identity {
	id, _ := auth.IdentityFromContext(r.Context())
	return id
}

func (a *app) home(w http.ResponseWriter, r *http.Request) {
	if identity(r) != nil {
		http.Redirect(w, r, "/account", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// Registration and email verification.

func (a *app) register(w http.ResponseWriter, r *http.Request) {
	email := r.PostFormValue("email")
	_, err := a.m.Register(r.Context(), auth.Registration{
		Email: email, Name: r.PostFormValue("name"), Password: r.PostFormValue("new_password"),
	})
	if err != nil {
		v := &view{Title: "Create your account", Nav: "register", Form: r.PostForm}
		if status, done := a.explain(w, r, err, v); !done {
			a.render(w, r, status, "register.html", v)
		}
		return
	}
	a.redirect(w, r, "/verify?email="+url.QueryEscape(email), "registered")
}

func (a *app) verifyForm(w http.ResponseWriter, r *http.Request) {
	a.render(w, r, http.StatusOK, "verify.html", &view{Title: "Verify your email address", Nav: "register",
		Form: url.Values{"email": {r.URL.Query().Get("email")}}})
}

func (a *app) verify(w http.ResponseWriter, r *http.Request) {
	email, code := r.PostFormValue("email"), strings.TrimSpace(r.PostFormValue("code"))
	if _, err := a.m.VerifyEmail(r.Context(), auth.Verification{Email: email, Code: code}); err != nil {
		v := &view{Title: "Verify your email address", Nav: "register", Form: r.PostForm}
		if status, done := a.explain(w, r, err, v); !done {
			a.render(w, r, status, "verify.html", v)
		}
		return
	}
	a.redirect(w, r, "/login?email="+url.QueryEscape(email), "verified")
}

func (a *app) resend(w http.ResponseWriter, r *http.Request) {
	email := r.PostFormValue("email")
	if err := a.m.ResendVerification(r.Context(), email); err != nil {
		v := &view{Title: "Verify your email address", Nav: "register", Form: r.PostForm}
		if status, done := a.explain(w, r, err, v); !done {
			a.render(w, r, status, "verify.html", v)
		}
		return
	}
	a.redirect(w, r, "/verify?email="+url.QueryEscape(email), "code-sent")
}

// Logging in and out.

func (a *app) loginForm(w http.ResponseWriter, r *http.Request) {
	a.render(w, r, http.StatusOK, "login.html", &view{Title: "Log in", Nav: "login",
		Form: url.Values{"email": {r.URL.Query().Get("email")}}})
}

func (a *app) login(w http.ResponseWriter, r *http.Request) {
	email := r.PostFormValue("email")
	// LogIn checks the password and sets a fresh session cookie, ending
	// the session of any cookie the browser brought (no fixation).
	res, err := a.guard.LogIn(w, r, email, r.PostFormValue("password"))
	if err == nil && res.Challenge != nil {
		// The password was right; the account has a second factor. No
		// session yet: the code form carries the challenge.
		a.render(w, r, http.StatusOK, "code.html", &view{Title: "Enter your code", Nav: "login", Data: res.Challenge.Token})
		return
	}
	if err != nil {
		v := &view{Title: "Log in", Nav: "login", Form: url.Values{"email": {email}}}
		status, done := a.explain(w, r, err, v)
		if done {
			return
		}
		if errors.Is(err, auth.ErrEmailNotVerified) {
			v.Data = email // the login page links to the code form
		}
		a.render(w, r, status, "login.html", v)
		return
	}
	a.redirect(w, r, "/account", "")
}

// loginCode answers the second step of a login: the challenge from the
// code form and a TOTP code (six digits) or a recovery code. Only then
// does the browser get a session cookie.
func (a *app) loginCode(w http.ResponseWriter, r *http.Request) {
	challenge, code := r.PostFormValue("challenge"), strings.TrimSpace(r.PostFormValue("code"))
	method := auth.MethodRecoveryCode
	if len(code) == 6 && strings.Trim(code, "0123456789") == "" {
		method = auth.MethodTOTP
	}
	res, err := a.m.CompleteLogin(r.Context(), challenge, method, code)
	if err == nil {
		err = a.guard.StartSession(w, r, res)
	}
	switch {
	case err == nil:
		a.redirect(w, r, "/account", "")
	case errors.Is(err, auth.ErrInvalidCode):
		a.render(w, r, http.StatusBadRequest, "code.html", &view{Title: "Enter your code", Nav: "login", Data: challenge,
			Error: "That code is wrong or was used already. Enter the current code from your app, or an unused recovery code."})
	case errors.Is(err, auth.ErrInvalidChallenge):
		a.render(w, r, http.StatusBadRequest, "login.html", &view{Title: "Log in", Nav: "login",
			Error: "This login took too long or had too many wrong codes. Log in again."})
	default:
		v := &view{Title: "Enter your code", Nav: "login", Data: challenge}
		if status, done := a.explain(w, r, err, v); !done {
			a.render(w, r, status, "code.html", v)
		}
	}
}

func (a *app) logout(w http.ResponseWriter, r *http.Request) {
	if err := a.guard.EndSession(w, r); err != nil {
		if status, done := a.explain(w, r, err, &view{}); !done {
			a.message(w, r, status, "Logging out failed", "You are still logged in. Try again in a moment.")
		}
		return
	}
	a.redirect(w, r, "/login", "logged-out")
}

// Password reset.

func (a *app) forgot(w http.ResponseWriter, r *http.Request) {
	// The answer is the same whether or not the address has an account.
	if err := a.m.RequestPasswordReset(r.Context(), r.PostFormValue("email")); err != nil {
		v := &view{Title: "Reset your password", Nav: "login", Form: r.PostForm}
		if status, done := a.explain(w, r, err, v); !done {
			a.render(w, r, status, "forgot.html", v)
		}
		return
	}
	a.redirect(w, r, "/forgot-password", "reset-sent")
}

// linkPage is a page that a link in mail opens. Its GET shows a form that
// carries the link's token and changes nothing, so that a mail scanner
// following links spends no token; the form's POST uses it.
type linkPage struct {
	Path, Title, Intro, Button string
	NewPassword                bool   // ask for a new password too
	Invalid                    string // what a bad token means here
	next, flash                string // where a success goes, with what message
	use                        func(a *app, r *http.Request, token string) error
}

var linkPages = []*linkPage{
	{
		Path: "/verify-email", Title: "Verify your email address",
		Intro:   "Confirm that this email address is yours to finish setting up your account.",
		Button:  "Verify my email address",
		Invalid: "This link is wrong, expired or already used. Log in, or ask for a new code on the verification page.",
		next:    "/login", flash: "verified",
		use: func(a *app, r *http.Request, token string) error {
			_, err := a.m.VerifyEmail(r.Context(), auth.Verification{Code: token})
			return err
		},
	},
	{
		Path: "/reset-password", Title: "Choose a new password",
		Intro:       "Choose the new password of your account. Every session of the account ends when it changes.",
		Button:      "Set the new password",
		NewPassword: true,
		Invalid:     "This link is wrong, expired or already used. Ask for a new one on the forgotten-password page.",
		next:        "/login", flash: "password-reset",
		use: func(a *app, r *http.Request, token string) error {
			return a.m.ResetPassword(r.Context(), token, r.PostFormValue("new_password"))
		},
	},
	{
		Path: "/confirm-email", Title: "Confirm your new email address",
		Intro:   "Confirm that this address is yours to make it your account's email address.",
		Button:  "Confirm my new address",
		Invalid: "This link is wrong, expired or already used, or the change was cancelled. Change your email address again for a new link.",
		next:    "/account", flash: "email-confirmed",
		use: func(a *app, r *http.Request, token string) error {
			_, err := a.m.VerifyEmail(r.Context(), auth.Verification{Code: token})
			return err
		},
	},
	{
		Path: "/cancel-email-change", Title: "Cancel the email change",
		Intro:   "Someone who knows your password asked to move your account to another email address. If it was not you, cancel it: the account keeps this address and every session of it ends.",
		Button:  "Cancel the email change",
		Invalid: "This link is wrong, expired or already used, or the change was already confirmed or cancelled.",
		next:    "/login", flash: "email-cancelled",
		use: func(a *app, r *http.Request, token string) error {
			return a.m.CancelEmailChange(r.Context(), token)
		},
	},
}

// linkData is what link.html shows.
type linkData struct {
	Page  *linkPage
	Token string
	Dead  bool // the token does not work: no form
}

// maxTokenLen bounds a token taken from a link (the Manager's have 43
// characters): nothing longer is echoed into a page.
const maxTokenLen = 128

func (a *app) linkForm(lp *linkPage) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token := r.URL.Query().Get("token")
		d := &linkData{Page: lp, Token: token}
		v := &view{Title: lp.Title, Data: d}
		if token == "" || len(token) > maxTokenLen {
			d.Token, d.Dead, v.Error = "", true, lp.Invalid
		}
		a.render(w, r, http.StatusOK, "link.html", v)
	}
}

func (a *app) linkSubmit(lp *linkPage) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token := r.PostFormValue("token") // only the posted token counts
		d := &linkData{Page: lp, Token: token}
		v := &view{Title: lp.Title, Data: d}
		var err error
		switch {
		case token == "" || len(token) > maxTokenLen:
			err = auth.ErrTokenInvalid
		case lp.NewPassword && r.PostFormValue("new_password") != r.PostFormValue("confirm_password"):
			v.Errors = map[string]string{"confirm_password": "The two passwords differ. Type the same new password twice."}
			a.render(w, r, http.StatusBadRequest, "link.html", v)
			return
		default:
			err = lp.use(a, r, token)
		}
		switch {
		case err == nil:
			a.redirect(w, r, lp.next, lp.flash)
		case errors.Is(err, auth.ErrTokenInvalid), errors.Is(err, auth.ErrTokenExpired), errors.Is(err, auth.ErrInvalidCode):
			d.Token, d.Dead, v.Error = "", true, lp.Invalid
			a.render(w, r, http.StatusBadRequest, "link.html", v)
		case errors.Is(err, auth.ErrEmailTaken):
			d.Token, d.Dead, v.Error = "", true, "That email address now belongs to another account, so the change cannot be confirmed."
			a.render(w, r, http.StatusConflict, "link.html", v)
		default:
			if status, done := a.explain(w, r, err, v); !done {
				a.render(w, r, status, "link.html", v)
			}
		}
	}
}

// The profile.

// profileData is what profile.html shows beside the user.
type profileData struct {
	Pending      string    // the address an email change awaits, or ""
	PendingUntil time.Time // when its link expires (zero: unknown)
}

func (a *app) showProfile(w http.ResponseWriter, r *http.Request, status int, v *view) {
	u := identity(r).User
	form := url.Values{"name": {u.Name}, "bio": {u.Bio}}
	for k, vs := range v.Form {
		form[k] = vs
	}
	v.Title, v.Nav, v.Form = "Your profile", "profile", form
	v.Data = profileData{Pending: u.PendingEmailAt(a.m.Now()), PendingUntil: u.PendingEmailExpiresAt}
	a.render(w, r, status, "profile.html", v)
}

func (a *app) saveProfile(w http.ResponseWriter, r *http.Request) {
	name, bio := r.PostFormValue("name"), r.PostFormValue("bio")
	_, err := a.m.UpdateProfile(r.Context(), identity(r), auth.ProfileUpdate{Name: &name, Bio: &bio})
	if err != nil {
		v := &view{Form: url.Values{"name": {name}, "bio": {bio}}}
		if status, done := a.explain(w, r, err, v); !done {
			a.showProfile(w, r, status, v)
		}
		return
	}
	a.redirect(w, r, "/account", "profile-saved")
}

func (a *app) changeEmail(w http.ResponseWriter, r *http.Request) {
	email := r.PostFormValue("email")
	// The current password is required: a stolen session alone never
	// moves the account to another mailbox.
	_, err := a.m.UpdateProfile(r.Context(), identity(r), auth.ProfileUpdate{Email: &email, CurrentPassword: r.PostFormValue("current_password")})
	if err != nil {
		v := &view{Form: url.Values{"email": {email}}}
		if status, done := a.explain(w, r, err, v); !done {
			a.showProfile(w, r, status, v)
		}
		return
	}
	a.redirect(w, r, "/account", "email-pending")
}

// Sessions.

// sessionRow is one line of sessions.html.
type sessionRow struct {
	ID, Device, IP      string
	Created, LastActive time.Time
	Current             bool
}

func (a *app) showSessions(w http.ResponseWriter, r *http.Request, status int, v *view) {
	id := identity(r)
	v.Title, v.Nav, v.Wide = "Your sessions", "sessions", true
	list, err := a.m.Sessions(r.Context(), id, "")
	if err != nil {
		var done bool
		if status, done = a.explain(w, r, err, v); done {
			return
		}
	}
	var rows []sessionRow
	for _, s := range list {
		row := sessionRow{ID: s.ID, Device: device(s.UserAgent), IP: s.IP, Created: s.CreatedAt, LastActive: s.LastUsedAt, Current: s.ID == id.Session.ID}
		if row.Current {
			rows = append([]sessionRow{row}, rows...) // this device first
		} else {
			rows = append(rows, row)
		}
	}
	v.Data = rows
	a.render(w, r, status, "sessions.html", v)
}

func (a *app) revokeSession(w http.ResponseWriter, r *http.Request) {
	id, sid := identity(r), r.PostFormValue("session")
	if sid == id.Session.ID {
		a.logout(w, r) // "sign out this device"
		return
	}
	err := a.m.RevokeSession(r.Context(), id, "", sid)
	if err != nil && !errors.Is(err, auth.ErrNotFound) { // gone already: fine
		v := &view{}
		if status, done := a.explain(w, r, err, v); !done {
			a.showSessions(w, r, status, v)
		}
		return
	}
	a.redirect(w, r, "/account/sessions", "device-signed-out")
}

func (a *app) revokeOthers(w http.ResponseWriter, r *http.Request) {
	if _, err := a.m.RevokeOtherSessions(r.Context(), identity(r), ""); err != nil {
		v := &view{}
		if status, done := a.explain(w, r, err, v); !done {
			a.showSessions(w, r, status, v)
		}
		return
	}
	a.redirect(w, r, "/account/sessions", "others-signed-out")
}

// device names the browser and system of a user agent, roughly.
func device(ua string) string {
	name := func(pairs ...string) string {
		for i := 0; i < len(pairs); i += 2 {
			if strings.Contains(ua, pairs[i]) {
				return pairs[i+1]
			}
		}
		return ""
	}
	browser := name("Edg/", "Edge", "OPR/", "Opera", "Firefox/", "Firefox", "Chrome/", "Chrome", "Safari/", "Safari")
	system := name("Windows", "Windows", "iPhone", "iPhone", "iPad", "iPad", "Android", "Android", "Mac OS X", "macOS", "CrOS", "ChromeOS", "Linux", "Linux")
	switch {
	case browser != "" && system != "":
		return browser + " on " + system
	case browser != "":
		return browser
	case ua == "":
		return "Unknown device"
	}
	if len(ua) > 40 {
		ua = ua[:40] + "…"
	}
	return ua
}

// Password change and account deletion.

func (a *app) changePassword(w http.ResponseWriter, r *http.Request) {
	v := &view{Title: "Change your password", Nav: "password"}
	next := r.PostFormValue("new_password")
	if next != r.PostFormValue("confirm_password") {
		v.Errors = map[string]string{"confirm_password": "The two new passwords differ. Type the same password twice."}
		a.render(w, r, http.StatusBadRequest, "password.html", v)
		return
	}
	// ChangePassword checks the current password, ends the user's other
	// sessions and moves this browser to a fresh session.
	if err := a.guard.ChangePassword(w, r, r.PostFormValue("current_password"), next); err != nil {
		if status, done := a.explain(w, r, err, v); !done {
			a.render(w, r, status, "password.html", v)
		}
		return
	}
	a.redirect(w, r, "/account", "password-changed")
}

func (a *app) deleteAccount(w http.ResponseWriter, r *http.Request) {
	if err := a.m.DeleteUser(r.Context(), identity(r), "", r.PostFormValue("current_password")); err != nil {
		v := &view{Title: "Delete your account", Nav: "profile"}
		if status, done := a.explain(w, r, err, v); !done {
			a.render(w, r, status, "delete.html", v)
		}
		return
	}
	// The sessions are gone with the account; this clears the cookie.
	if err := a.guard.EndSession(w, r); err != nil {
		a.log.WarnContext(r.Context(), "clearing the cookie of a deleted account failed", "error", err.Error())
	}
	a.redirect(w, r, "/login", "deleted")
}

// The superuser page.

// adminData is what admin.html shows.
type adminData struct {
	Users             []userRow
	TotalUsers        int
	Logins, FailedPct string // logins in the window, and the share that failed
	Chart             chart
	Logs              []logRow
	TotalLogs         int
	Since             time.Time
}

type userRow struct {
	Email, Name                 string
	Superuser, Active, Verified bool
	Sessions, FailedLogins      int
	LastLogin                   time.Time
}

type logRow struct {
	Time                     time.Time
	Event, Outcome, User, IP string
}

// analyticsWindow is how far back the superuser page counts.
const analyticsWindow = 7 * 24 * time.Hour

func (a *app) admin(w http.ResponseWriter, r *http.Request) {
	ctx, id := r.Context(), identity(r)
	since := a.m.Now().Add(-analyticsWindow)
	d := adminData{Since: since}
	fail := func(err error) {
		v := &view{}
		if status, done := a.explain(w, r, err, v); !done {
			a.message(w, r, status, "The overview is unavailable", v.Error)
		}
	}

	users, err := a.m.UsersOverview(ctx, id, auth.UsersQuery{Limit: 100})
	if err != nil {
		fail(err)
		return
	}
	ids := make([]string, len(users.Users))
	emails := map[string]string{}
	for i, s := range users.Users {
		ids[i], emails[s.User.ID] = s.User.ID, s.User.Email
	}
	activity, err := a.audit.UserActivity(ctx, id, audit.ActivityQuery{UserIDs: ids})
	if err != nil {
		fail(err)
		return
	}
	d.TotalUsers = users.Total
	for _, s := range users.Users {
		u := s.User
		d.Users = append(d.Users, userRow{
			Email: u.Email, Name: u.Name, Superuser: u.IsSuperuser, Active: u.IsActive, Verified: u.IsVerified,
			Sessions: s.Sessions, FailedLogins: activity[u.ID].FailedLogins, LastLogin: u.LastLoginAt,
		})
	}

	stats, err := a.audit.Analytics(ctx, id, audit.AnalyticsQuery{
		Populations: map[string]audit.Population{
			"events": {Key: "event"},
			"logins": {Key: "outcome", Where: map[string]string{"event": string(auth.EventLogin)}},
		},
		Analyses: map[string][]string{
			"events": {audit.AnalysisBarChart, "event"},
			"logins": {audit.AnalysisCounts, "outcome"},
		},
		RunTypes: []string{audit.RunTypeAuth},
		Since:    since,
		LogLimit: -1,
	})
	if err != nil {
		fail(err)
		return
	}
	if bc, ok := stats.Analyses["events"].(*audit.BarChart); ok {
		counts := make([]int, len(bc.Datasets))
		for i, ds := range bc.Datasets {
			if len(ds.Data) > 0 {
				counts[i] = ds.Data[0]
			}
		}
		d.Chart = barChart(bc.Labels, counts)
	}
	if c, ok := stats.Analyses["logins"].(*audit.Counts); ok {
		d.Logins = strconv.Itoa(c.Total)
		d.FailedPct = strconv.FormatFloat(100*c.Rates[string(auth.OutcomeFailure)], 'f', 0, 64) + " %"
	}

	logs, err := a.audit.Logs(ctx, id, audit.LogsQuery{Limit: 15})
	if err != nil {
		fail(err)
		return
	}
	d.TotalLogs = logs.Total
	for _, run := range logs.Runs {
		row := logRow{Time: run.Time, Event: run.Type, User: emails[run.UserID]}
		if row.User == "" && run.UserID != "" {
			row.User = "user " + run.UserID[:min(8, len(run.UserID))]
		}
		for _, e := range run.Entries {
			switch e.Key {
			case "event":
				row.Event = strings.ReplaceAll(e.Value, "_", " ")
			case "outcome":
				row.Outcome = e.Value
			case "ip":
				row.IP = e.Value
			}
		}
		d.Logs = append(d.Logs, row)
	}
	a.render(w, r, http.StatusOK, "admin.html", &view{Title: "Administration", Nav: "admin", Wide: true, Data: d})
}

// chart is a horizontal bar chart, drawn as inline SVG by admin.html:
// a column of labels, ending at LabelX, then a bar per label from BarX.
type chart struct {
	Width, Height, LabelX, BarX, BarH int
	Bars                              []bar
	Summary                           string // the figures in words, for screen readers
}

type bar struct {
	Label                      string
	Count, Y, TextY, W, CountX int
}

// barChart lays out one bar per label, the longest for the largest count.
func barChart(labels []string, counts []int) chart {
	const row, longest = 30, 400 // SVG user units
	c := chart{LabelX: 150, BarX: 160, BarH: 20}
	c.Width, c.Height = c.BarX+longest+60, len(labels)*row+8
	most := 1
	for _, n := range counts {
		most = max(most, n)
	}
	var words []string
	for i, l := range labels {
		l = strings.ReplaceAll(l, "_", " ")
		y, w := i*row+4, max(2, counts[i]*longest/most)
		c.Bars = append(c.Bars, bar{Label: l, Count: counts[i], Y: y, TextY: y + 15, W: w, CountX: c.BarX + w + 8})
		words = append(words, fmt.Sprintf("%s %d", l, counts[i]))
	}
	c.Summary = strings.Join(words, ", ")
	return c
}

// Template helpers.

// formField is what the "input" template draws: a label, an input, and
// its hint and error, tied together for screen readers.
type formField struct {
	Name, Label, Type, Autocomplete string
	Value, Hint, Error              string
	Required                        bool
	MinLength, MaxLength            int
}

// DescribedBy is the value of aria-describedby.
func (f formField) DescribedBy() string {
	var ids []string
	if f.Hint != "" {
		ids = append(ids, f.Name+"-hint")
	}
	if f.Error != "" {
		ids = append(ids, f.Name+"-error")
	}
	return strings.Join(ids, " ")
}

// field is the template function for a required input: field . name
// label type autocomplete [hint]. Passwords are never filled in again.
func (a *app) field(v *view, name, label, typ, autocomplete string, hint ...string) formField {
	f := formField{Name: name, Label: label, Type: typ, Autocomplete: autocomplete, Required: true, Error: v.Errors[name]}
	if typ != "password" {
		f.Value = v.Form.Get(name)
	}
	if len(hint) > 0 {
		f.Hint = hint[0]
	}
	if autocomplete == "new-password" {
		f.MinLength, f.MaxLength = a.minPW, a.maxPW
		if f.Hint == "" {
			f.Hint = fmt.Sprintf("At least %d characters. A few unrelated words make a strong password that is easy to remember.", a.minPW)
		}
	}
	return f
}

// optional is field for an input that may stay empty.
func (a *app) optional(v *view, name, label, typ, autocomplete string, hint ...string) formField {
	f := a.field(v, name, label, typ, autocomplete, hint...)
	f.Required = false
	return f
}

// when shows a time relative to now ("5 minutes ago"), or as a date.
func (a *app) when(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := a.m.Now().Sub(t)
	if d < 0 {
		d = -d.Round(time.Minute)
		switch {
		case d < time.Hour:
			return "in " + plural(int(d/time.Minute), "minute")
		case d < 48*time.Hour:
			return "in " + plural(int(d/time.Hour), "hour")
		}
		return t.UTC().Format("2 Jan 2006, 15:04 UTC")
	}
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute") + " ago"
	case d < 24*time.Hour:
		return plural(int(d/time.Hour), "hour") + " ago"
	}
	return t.UTC().Format("2 Jan 2006, 15:04 UTC")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}
