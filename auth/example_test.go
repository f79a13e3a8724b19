package auth_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/store/memstore"
)

// exampleKey stands in for a key loaded from configuration: at least 32
// random bytes, never a password.
var exampleKey = testKey

func Example() {
	ctx := context.Background()
	m, err := auth.New(auth.Config{
		Store:  memstore.New(),
		Mailer: mail.NewCapture(),
		Tokens: auth.TokenConfig{SigningKey: exampleKey},
		Now:    func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	u, err := m.Register(ctx, auth.Registration{Email: "Ada@Example.com", Password: "correct horse battery staple"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("registered", u.Email)

	res, err := m.Login(ctx, "ada@example.com", "correct horse battery staple")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("access token valid until", res.Tokens.AccessTokenExpiresAt.Format(time.RFC3339))

	// On every request: check the access token from the Authorization header.
	id, err := m.Authenticate(ctx, res.Tokens.AccessToken)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("authenticated", id.User.Email)

	// Logging out ends the session: its tokens stop working at once.
	if err := m.Logout(ctx, id); err != nil {
		fmt.Println(err)
		return
	}
	_, err = m.Authenticate(ctx, res.Tokens.AccessToken)
	fmt.Println("after logout:", errors.Is(err, auth.ErrTokenInvalid))
	// Output:
	// registered ada@example.com
	// access token valid until 2026-01-02T03:19:05Z
	// authenticated ada@example.com
	// after logout: true
}

// Callers tell failures apart with errors.Is; the messages are for logs.
// Every error Login documents has its case. After five wrong passwords the
// account is throttled, and even the right password waits (the clock here
// stands still, so the wait never passes).
func ExampleManager_Login_errorChecking() {
	ctx := context.Background()
	m, err := auth.New(auth.Config{
		Store: memstore.New(), Mailer: mail.Discard{}, Tokens: auth.TokenConfig{SigningKey: exampleKey},
		Now: func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := m.Register(ctx, auth.Registration{Email: "ada@example.com", Password: "correct horse battery staple"}); err != nil {
		fmt.Println(err)
		return
	}

	const right, wrong = "correct horse battery staple", "wrong horse battery staple"
	attempts := []struct{ email, password string }{
		{"ada@example.com", right},
		{"ada(at)example.com", right},
		{"ada@example.com", wrong}, {"ada@example.com", wrong}, {"ada@example.com", wrong},
		{"ada@example.com", wrong}, {"ada@example.com", wrong},
		{"ada@example.com", right},
	}
	for _, a := range attempts {
		res, err := m.Login(ctx, a.email, a.password)
		var throttled *auth.ThrottledError
		switch {
		case err == nil && res.Challenge != nil:
			fmt.Println("second factor needed") // none exist yet; see LoginResult.Challenge
		case err == nil:
			fmt.Println("logged in")
		case errors.Is(err, auth.ErrInvalidCredentials):
			fmt.Println("wrong email or password") // the same answer for both
		case errors.Is(err, auth.ErrInvalidEmail):
			fmt.Println("not an email address")
		case errors.As(err, &throttled):
			fmt.Println("too many attempts, retry in", throttled.RetryAfter) // HTTP: 429 with Retry-After
		case errors.Is(err, auth.ErrThrottled):
			fmt.Println("too many attempts") // a custom limiter that gives no wait
		case errors.Is(err, auth.ErrEmailNotVerified):
			fmt.Println("verify your email first")
		case errors.Is(err, auth.ErrAccountDisabled):
			fmt.Println("account disabled")
		case errors.Is(err, auth.ErrBusy):
			fmt.Println("try again later")
		default:
			fmt.Println("internal error") // log err; answer generically
		}
	}
	// Output:
	// logged in
	// not an email address
	// wrong email or password
	// wrong email or password
	// wrong email or password
	// wrong email or password
	// wrong email or password
	// too many attempts, retry in 1s
}

// Optional settings are grouped by concern, and a zero field or group
// keeps its default. An invalid field is named by its full path.
func ExampleNew() {
	cfg := auth.Config{
		Store:        memstore.New(),
		Mailer:       mail.Discard{},
		Tokens:       auth.TokenConfig{SigningKey: exampleKey, AccessTTL: 5 * time.Minute},
		Sessions:     auth.SessionConfig{TTL: 24 * time.Hour, IdleTimeout: time.Hour},
		Verification: auth.VerificationConfig{Required: true},
	}
	if _, err := auth.New(cfg); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("configured")

	cfg.Sessions.IdleTimeout = 2 * time.Minute // shorter than an access token lives
	_, err := auth.New(cfg)
	var ve *auth.ValidationError
	if errors.As(err, &ve) {
		fmt.Println(ve.Field)
	}
	fmt.Println(err)
	// Output:
	// configured
	// Config.Sessions.IdleTimeout
	// auth: Config.Sessions.IdleTimeout: must be at least Tokens.AccessTTL (5m0s)
}
