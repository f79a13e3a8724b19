package authtest_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/authtest"
	"github.com/gatehouse-go/gatehouse/middleware"
)

// exampleT stands in for the *testing.T of a test function, which examples
// do not have. In your tests, pass t.
type exampleT struct{ cleanups []func() }

func (t *exampleT) Helper()                           {}
func (t *exampleT) Cleanup(f func())                  { t.cleanups = append(t.cleanups, f) }
func (t *exampleT) Errorf(format string, args ...any) { fmt.Printf(format+"\n", args...) }
func (t *exampleT) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

// done runs the cleanups, as the testing package does when a test ends.
func (t *exampleT) done() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}

// noteHandler is an application's handler: it reads the user the Guard
// put into the context.
var noteHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	u, _ := auth.UserFromContext(r.Context())
	fmt.Fprintf(w, "the note of %s", u.Email)
})

// A handler test: a user, a logged-in request, the handler behind the
// kit's Guard.
func Example() {
	t := &exampleT{} // in a test: func TestNote(t *testing.T) { ...
	defer t.done()

	kit := authtest.New(t)
	kit.User(t, "ada@example.com")
	login := kit.LogIn(t, "ada@example.com")
	w := httptest.NewRecorder()
	kit.Guard.RequireAuth(noteHandler).ServeHTTP(w, login.Request("GET", "/note", nil))
	fmt.Println(w.Code, w.Body)

	w = httptest.NewRecorder()
	kit.Guard.RequireAuth(noteHandler).ServeHTTP(w, httptest.NewRequest("GET", "/note", nil))
	fmt.Println(w.Code)
	// Output:
	// 200 the note of ada@example.com
	// 401
}

// Mail: the verification code a registration sends, read back and used.
func ExampleKit_LastCode() {
	t := &exampleT{}
	defer t.done()

	kit := authtest.New(t, authtest.Configure(func(c *auth.Config) { c.Verification.Required = true }))
	kit.User(t, "ada@example.com", authtest.Unverified())
	code := kit.LastCode(t, "ada@example.com")
	u, err := kit.Manager.VerifyEmail(t.context(), auth.Verification{Email: "ada@example.com", Code: code})
	fmt.Println(len(code), u.IsVerified, err)

	kit.Manager.RequestPasswordReset(t.context(), "ada@example.com")
	link := kit.LastLink(t, "ada@example.com")
	fmt.Println(strings.HasPrefix(link, "https://example.com/reset-password?token="+kit.LastToken(t, "ada@example.com")))
	fmt.Println(kit.LastMail(t, "ada@example.com").Kind)
	// Output:
	// 6 true <nil>
	// true
	// reset_password
}

// The clock stands still until the test moves it: here past the access
// token's lifetime (and the 30 seconds of clock skew tokens allow).
func ExampleKit_Advance() {
	t := &exampleT{}
	defer t.done()

	kit := authtest.New(t)
	kit.User(t, "ada@example.com")
	login := kit.LogIn(t, "ada@example.com")
	fmt.Println(kit.Now())
	kit.Advance(auth.DefaultAccessTokenTTL + time.Minute)
	_, err := kit.Manager.Authenticate(t.context(), login.Tokens.AccessToken)
	fmt.Println(kit.Now(), err)
	// Output:
	// 2026-01-05 09:00:00 +0000 UTC
	// 2026-01-05 09:16:00 +0000 UTC auth: token expired
}

// Cookie mode: LogIn goes through Guard.LogIn and the requests carry the
// session cookie. When the access token has expired the Guard refreshes it
// and sends a new cookie, which Update takes, as a browser would.
func ExampleGuardConfig() {
	t := &exampleT{}
	defer t.done()

	kit := authtest.New(t, authtest.GuardConfig(middleware.Config{Cookies: &middleware.CookieConfig{}}))
	kit.User(t, "ada@example.com", authtest.Superuser())
	login := kit.LogIn(t, "ada@example.com")
	fmt.Println(login.Cookie.Name, login.Cookie.Secure, login.Cookie.HttpOnly)

	kit.Advance(time.Hour)
	w := httptest.NewRecorder()
	kit.Guard.RequireSuperuser(noteHandler).ServeHTTP(w, login.Request("POST", "/admin/note", nil))
	before := login.Cookie.Value
	login.Update(w.Result().Header)
	fmt.Println(w.Code, w.Body, login.Cookie.Value != before)
	// Output:
	// __Host-gatehouse true true
	// 200 the note of ada@example.com true
}

func (t *exampleT) context() context.Context { return context.Background() }
