package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"html/template"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/auth/password"
)

// The pages that the links in mail open: auth.Config.BaseURL followed by
// "/verify-email?token=…", "/reset-password?token=…", "/confirm-email?token=…"
// and "/cancel-email-change?token=…". A GET shows a small form that carries
// the link's token and changes nothing, so a mail scanner that follows
// links spends no token; the form's POST comes back here and asks the
// Manager. None of them asks for a second factor: none logs the user in,
// and a reset keeps the factors, so the next login still asks for one
// (SECURITY.md #82). The pages need no script and load nothing else: their
// Content Security Policy allows only their own inline style and form
// posts to this origin, and no Referer ever carries a token away. Tokens
// are never logged.

// pageStyle is the inline style of every page; the Content Security Policy
// allows exactly it, by hash.
const pageStyle = `body{font-family:system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem;line-height:1.5;color:#111;background:#fff}` +
	`label{display:block;font-weight:600;margin-top:1rem}input{font:inherit;width:100%;box-sizing:border-box;padding:.4rem}` +
	`button{font:inherit;margin-top:1.2rem;padding:.4rem 1.2rem}.error{color:#a00000;font-weight:600}`

// pageCSP is the Content Security Policy of the pages.
var pageCSP = func() string {
	sum := sha256.Sum256([]byte(pageStyle))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; " +
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
}()

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex">
<title>{{.Title}}</title>
<style>` + pageStyle + `</style>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
{{with .Done}}<p role="status">{{.}}</p>
{{end}}{{with .Error}}<p class="error" role="alert">{{.}}</p>
{{end}}{{if .Form}}<p>{{.Intro}}</p>
<form method="post" action="{{.Action}}">
{{if .Email}}<label for="email">Email address</label>
<input type="email" id="email" name="email" required autocomplete="email">
{{else if .Token}}<input type="hidden" name="token" value="{{.Token}}">
{{else}}<label for="token">Token from the email</label>
<input id="token" name="token" required autocomplete="off" spellcheck="false">
{{end}}{{if .NewPassword}}<label for="new_password">New password</label>
<input type="password" id="new_password" name="new_password" required minlength="{{.MinLength}}" maxlength="{{.MaxLength}}" autocomplete="new-password" aria-describedby="password_hint">
<p id="password_hint">At least {{.MinLength}} characters. A few unrelated words make a strong password that is easy to remember.</p>
<label for="confirm_password">New password, again</label>
<input type="password" id="confirm_password" name="confirm_password" required minlength="{{.MinLength}}" maxlength="{{.MaxLength}}" autocomplete="new-password">
{{end}}<button type="submit">{{.Button}}</button>
</form>
{{end}}</main>
</body>
</html>
`))

// pageData fills pageTemplate.
type pageData struct {
	Title, Intro, Button, Action string
	Done, Error                  string
	Form                         bool
	Token                        string
	NewPassword                  bool
	// Email asks for an email address instead of a token.
	Email                bool
	MinLength, MaxLength int
}

// page is one of the pages.
type page struct {
	path   string // "/verify-email"
	title  string
	intro  string
	button string
	done   string // what the user reads after success
	// invalid is what a wrong, used or expired token means here.
	invalid string
	// newPassword adds the new-password fields.
	newPassword bool
	// use spends the token with the Manager; form is the posted form.
	use func(ctx context.Context, m *auth.Manager, token string, form url.Values) error
}

// maxTokenLen bounds a token taken from a link: the Manager's are 43
// characters, and nothing longer is echoed into a page.
const maxTokenLen = 128

// maxFormBytes bounds a posted form.
const maxFormBytes = 16 << 10

// errPasswordsDiffer: the two new-password fields differ.
var errPasswordsDiffer = errors.New("the two passwords differ")

// verifyByToken spends a verification or email-change token.
func verifyByToken(ctx context.Context, m *auth.Manager, token string, _ url.Values) error {
	_, err := m.VerifyEmail(ctx, auth.Verification{Code: token})
	return err
}

var pageList = []*page{
	{
		path:    "/verify-email",
		title:   "Verify your email address",
		intro:   "Confirm that this email address is yours to finish setting up your account.",
		button:  "Verify my email address",
		done:    "Your email address is verified. You can log in now.",
		invalid: "This link is wrong, expired or already used. Log in or ask for a new verification email.",
		use:     verifyByToken,
	},
	{
		path:        "/reset-password",
		title:       "Choose a new password",
		intro:       "Choose the new password of your account. Every session of the account ends when it changes.",
		button:      "Set the new password",
		done:        "Your password is changed, and every session of your account has ended. Log in with the new password; an account with a second factor still asks for its code.",
		invalid:     "This link is wrong, expired or already used. Ask for a new password reset email.",
		newPassword: true,
		use: func(ctx context.Context, m *auth.Manager, token string, form url.Values) error {
			next := form.Get("new_password")
			if next != form.Get("confirm_password") {
				return errPasswordsDiffer
			}
			return m.ResetPassword(ctx, token, next)
		},
	},
	{
		path:    "/confirm-email",
		title:   "Confirm your new email address",
		intro:   "Confirm that this address is yours to make it your account's email address.",
		button:  "Confirm my new email address",
		done:    "Your new email address is confirmed. Log in with it from now on.",
		invalid: "This link is wrong, expired or already used, or the change was cancelled. Change your email address again to get a new link.",
		use:     verifyByToken,
	},
	{
		path:    "/cancel-email-change",
		title:   "Cancel the change of your email address",
		intro:   "Someone who knows your password asked to move your account to another email address. If it was not you, cancel the change: the account keeps this address, and every session of it ends.",
		button:  "Cancel the email change",
		done:    "The change is cancelled: your account keeps this email address, and every session of it has ended. If you did not ask for the change, reset your password now, since whoever asked knew it.",
		invalid: "This link is wrong, expired or already used, or the change was already confirmed or cancelled.",
		use: func(ctx context.Context, m *auth.Manager, token string, _ url.Values) error {
			return m.CancelEmailChange(ctx, token)
		},
	},
}

// emailLoginPage is the landing page of the link a passwordless email
// login mails (with -passwordless). This server keeps no browser session,
// so a successful sign-in only says so; an application sets its own
// session cookie here (middleware's cookie mode).
var emailLoginPage = &page{
	path:    "/login/email",
	title:   "Sign in",
	intro:   "Sign in to your account with the link from the email. The link works once.",
	button:  "Sign in",
	done:    "You are signed in. This example server keeps no browser session: an application would start its own here.",
	invalid: "This link is wrong, expired or already used. Ask for a new sign-in email.",
	use: func(ctx context.Context, m *auth.Manager, token string, _ url.Values) error {
		res, err := m.EmailLoginWithLink(ctx, token)
		if err == nil && res.Challenge != nil {
			return errSecondFactor
		}
		return err
	},
}

// errSecondFactor: the sign-in needs a second factor, which these pages
// do not ask for.
var errSecondFactor = errors.New("a second factor is required")

// signInPage is the "email me a sign-in link" page (with -passwordless).
var signInPage = &page{
	path:   "/sign-in",
	title:  "Sign in by email",
	intro:  "We email you a link and a code to sign in with, no password needed.",
	button: "Email me a sign-in link",
	done:   "If the address has an account, a sign-in link and code are on their way. The link works for 15 minutes, once.",
}

// pages serves pageList for a Manager.
type pages struct {
	m   *auth.Manager
	log *slog.Logger
	// passwordless adds the passwordless email login's pages.
	passwordless bool
	// minLen and maxLen are the password policy's bounds: the server uses
	// the default policy (auth.Config.Password.Policy is zero).
	minLen, maxLen int
}

func newPages(m *auth.Manager, log *slog.Logger) *pages {
	minLen, maxLen := password.Policy{}.Bounds()
	return &pages{m: m, log: log, minLen: minLen, maxLen: maxLen}
}

// mount registers every page on mux: GET shows it, POST (wrapped in
// withClient, which records the client for the Manager's per-IP limits)
// uses its token. A POST a browser sends from another site is refused: a
// token is all a form needs, so forgery could only spend the forger's own
// tokens, but nothing is lost by refusing it.
func (p *pages) mount(mux *http.ServeMux, withClient func(http.Handler) http.Handler) {
	list := pageList
	if p.passwordless {
		list = append(slices.Clip(list), emailLoginPage)
		csrf := http.NewCrossOriginProtection()
		mux.Handle("GET "+signInPage.path, p.showSignIn())
		mux.Handle("POST "+signInPage.path, csrf.Handler(withClient(p.requestSignIn())))
	}
	for _, pg := range list {
		csrf := http.NewCrossOriginProtection()
		csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			d := p.form(pg, "")
			d.Form = false
			d.Error = "This form was sent from another site, so it was refused. Open the link from the email again."
			p.render(w, http.StatusForbidden, d)
		}))
		mux.Handle("GET "+pg.path, p.show(pg))
		mux.Handle("POST "+pg.path, csrf.Handler(withClient(p.submit(pg))))
	}
}

func (p *pages) form(pg *page, token string) pageData {
	return pageData{
		Title: pg.title, Intro: pg.intro, Button: pg.button,
		Action: path.Base(pg.path), // relative, so the pages work under a -base-url path too
		Form:   true, Token: token, NewPassword: pg.newPassword,
		MinLength: p.minLen, MaxLength: p.maxLen,
	}
}

// show answers GET: the form, with the link's token in it.
func (p *pages) show(pg *page) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := r.URL.Query().Get("token")
		if len(token) > maxTokenLen {
			token = ""
		}
		p.render(w, http.StatusOK, p.form(pg, token))
	})
}

// showSignIn answers GET /sign-in: the email form.
func (p *pages) showSignIn() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := p.form(signInPage, "")
		d.Email = true
		p.render(w, http.StatusOK, d)
	})
}

// requestSignIn answers POST /sign-in: it asks for an email login. The
// answer is the same for every address.
func (p *pages) requestSignIn() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		d := p.form(signInPage, "")
		d.Email = true
		if err := r.ParseForm(); err != nil {
			d.Error = "The form could not be read. Try again."
			p.render(w, http.StatusBadRequest, d)
			return
		}
		_, err := p.m.RequestEmailLogin(r.Context(), r.PostForm.Get("email"))
		if err == nil {
			p.render(w, http.StatusOK, pageData{Title: signInPage.title, Done: signInPage.done})
			return
		}
		if errors.Is(err, auth.ErrInvalidEmail) {
			d.Error = "That is not an email address."
			p.render(w, http.StatusBadRequest, d)
			return
		}
		status, msg, retryAfter, again := p.failure(signInPage, err)
		if retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		}
		d.Error, d.Form = msg, again
		p.render(w, status, d)
	})
}

// submit answers POST: it spends the posted token.
func (p *pages) submit(pg *page) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			d := p.form(pg, "")
			d.Error = "The form could not be read. Open the link from the email again."
			p.render(w, http.StatusBadRequest, d)
			return
		}
		// Only the posted token counts, never one in the URL.
		token := r.PostForm.Get("token")
		d := p.form(pg, token)
		if token == "" || len(token) > maxTokenLen {
			d.Token = ""
			d.Error = "The token is missing. Open the link from the email again, or paste the token from it."
			p.render(w, http.StatusBadRequest, d)
			return
		}
		err := pg.use(r.Context(), p.m, token, r.PostForm)
		if err == nil {
			p.render(w, http.StatusOK, pageData{Title: pg.title, Done: pg.done})
			return
		}
		status, msg, retryAfter, again := p.failure(pg, err)
		if retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		}
		d.Error, d.Form = msg, again
		p.render(w, status, d)
	})
}

// failure says how a page answers err from the Manager: the status, the
// message, the Retry-After seconds, and whether the form may be sent again
// (not when the token itself is bad).
func (p *pages) failure(pg *page, err error) (status int, msg string, retryAfter int, again bool) {
	var pe *password.PolicyError
	var te *auth.ThrottledError
	switch {
	case errors.Is(err, errPasswordsDiffer):
		return http.StatusBadRequest, "The two passwords differ. Type the same new password twice.", 0, true
	case errors.As(err, &pe):
		return http.StatusBadRequest, policyMessage(pe), 0, true
	case errors.As(err, &te):
		secs := int(math.Ceil(te.RetryAfter.Seconds()))
		return http.StatusTooManyRequests, "Too many attempts. Try again in " + waitText(secs) + ".", max(secs, 1), true
	case errors.Is(err, auth.ErrThrottled):
		return http.StatusTooManyRequests, "Too many attempts. Try again later.", 60, true
	case errors.Is(err, errSecondFactor):
		return http.StatusUnauthorized, "This account has a second factor, which this page does not ask for: sign in through the app, with the code from the email.", 0, false
	case errors.Is(err, auth.ErrAccountDisabled):
		return http.StatusForbidden, "This account is disabled.", 0, false
	case errors.Is(err, auth.ErrInvalidCode), errors.Is(err, auth.ErrTokenInvalid), errors.Is(err, auth.ErrTokenExpired), errors.Is(err, auth.ErrInvalidEmailLogin):
		return http.StatusBadRequest, pg.invalid, 0, false
	case errors.Is(err, auth.ErrEmailTaken):
		return http.StatusConflict, "That email address now belongs to another account, so the change cannot be confirmed.", 0, false
	case errors.Is(err, auth.ErrVerificationNotRequired):
		return http.StatusBadRequest, "This server does not ask for email verification: the account can log in already.", 0, false
	case errors.Is(err, auth.ErrBusy), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return http.StatusServiceUnavailable, "The server is busy. Try again in a moment.", 1, true
	}
	// The Manager's errors carry no token or password.
	p.log.Error("page failed", "page", pg.path, "err", err)
	return http.StatusInternalServerError, "Something went wrong. Try again later.", 0, true
}

// policyMessage says why the password policy refused a password.
func policyMessage(pe *password.PolicyError) string {
	switch pe.Reason {
	case password.TooShort:
		return "The password is too short: use at least " + strconv.Itoa(pe.Min) + " characters."
	case password.TooLong:
		return "The password is too long: use at most " + strconv.Itoa(pe.Max) + " characters."
	case password.Common:
		return "The password is too common or too easy to guess. Choose another."
	case password.Contextual:
		return "The password must not be your email address or the name of the service."
	default:
		return "The password contains characters that are not allowed."
	}
}

// waitText says secs seconds in words.
func waitText(secs int) string {
	switch {
	case secs <= 1:
		return "a second"
	case secs < 120:
		return strconv.Itoa(secs) + " seconds"
	default:
		return strconv.Itoa((secs+59)/60) + " minutes"
	}
}

// render writes a page with the headers every page gets.
func (p *pages) render(w http.ResponseWriter, status int, d pageData) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	if err := pageTemplate.Execute(w, d); err != nil {
		p.log.Warn("page not written", "err", err)
	}
}
