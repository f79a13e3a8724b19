package middleware_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/httperr"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/store/memstore"
)

// A server-rendered application in cookie mode: a login form, a page for
// signed-in users, a form that changes something, and logout. Browsers that
// are not signed in (or bring a stale cookie) are sent to the login page
// by the ErrorHandler; a forged cross-site POST gets 403.
func Example_cookies() {
	m, err := auth.New(auth.Config{Store: memstore.New(), Mailer: mail.Discard{}, Tokens: auth.TokenConfig{SigningKey: key}})
	if err != nil {
		fmt.Println(err)
		return
	}
	m.Register(context.Background(), auth.Registration{Email: "ada@example.com", Password: "correct horse battery staple"})

	g := middleware.New(m, middleware.Config{
		Cookies: &middleware.CookieConfig{}, // __Host-gatehouse, Secure, HttpOnly, SameSite=Lax
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, status int, err error) {
			if status == http.StatusUnauthorized && r.Method == http.MethodGet {
				http.Redirect(w, r, "/login", http.StatusSeeOther)
				return
			}
			middleware.WriteError(w, r, status, err) // 403 for a forged request, 503, ...
		},
	})

	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "the login form")
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		if _, err := g.LogIn(w, r, r.PostFormValue("email"), r.PostFormValue("password")); err != nil {
			httperr.Write(w, r, err, nil) // an HTML app would show the form again
			return
		}
		http.Redirect(w, r, "/profile", http.StatusSeeOther)
	})
	mux.Handle("GET /profile", g.RequireAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := auth.UserFromContext(r.Context())
		io.WriteString(w, "the profile of "+u.Email)
	})))
	mux.Handle("POST /profile", g.RequireAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "saved")
	})))
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if err := g.EndSession(w, r); err != nil {
			httperr.Write(w, r, err, nil)
			return
		}
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	})

	// A browser: HTTPS (the cookie is Secure) and a cookie jar.
	srv := httptest.NewTLSServer(g.WithClient(mux))
	defer srv.Close()
	browser := srv.Client()
	browser.Jar, _ = cookiejar.New(nil)
	show := func(what string) func(*http.Response, error) {
		return func(resp *http.Response, err error) {
			if err != nil {
				fmt.Println(what, err)
				return
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			fmt.Printf("%s: %d %s (%s)\n", what, resp.StatusCode, strings.TrimSpace(string(body)), resp.Request.URL.Path)
		}
	}

	show("log in")(browser.PostForm(srv.URL+"/login", url.Values{"email": {"ada@example.com"}, "password": {"correct horse battery staple"}}))
	site, _ := url.Parse(srv.URL)
	stale := browser.Jar.Cookies(site) // what a thief might copy

	forged, _ := http.NewRequest("POST", srv.URL+"/profile", nil)
	forged.Header.Set("Sec-Fetch-Site", "cross-site") // as a browser marks a form posted from another site
	show("forged POST")(browser.Do(forged))

	show("log out")(browser.PostForm(srv.URL+"/logout", nil))
	show("profile")(browser.Get(srv.URL + "/profile"))

	browser.Jar.SetCookies(site, stale)
	show("stale cookie")(browser.Get(srv.URL + "/profile"))
	// Output:
	// log in: 200 the profile of ada@example.com (/profile)
	// forged POST: 403 {"detail":{"message":"Cross-origin request refused","error_type":"forbidden"},"message":"Cross-origin request refused","error_type":"forbidden"} (/profile)
	// log out: 200 the login form (/login)
	// profile: 200 the login form (/login)
	// stale cookie: 200 the login form (/login)
}
