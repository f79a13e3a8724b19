package authtest

import (
	"time"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/middleware"
)

// Option configures [New]. The options are [Configure], [GuardConfig] and
// [Start]; the type is sealed.
type Option interface {
	apply(*settings)
}

type settings struct {
	edits []func(*auth.Config)
	guard middleware.Config
	start time.Time
}

type optionFunc func(*settings)

func (f optionFunc) apply(s *settings) { f(s) }

// Configure edits the Manager's auth.Config before auth.New sees it: turn
// on Config.Verification.Required, shorten Tokens.AccessTTL, add an
// OnEvent hook or your own Mail.Templates (the kit still records what
// they render). The kit has set Store, Mailer, BaseURL, Tokens.SigningKey,
// Password.Hasher, Mail.RetryDelay and Now; replacing Store, Mailer or Now
// unhooks [Kit.Store], the Last… helpers or [Kit.Advance]. Several
// Configure options apply in order.
func Configure(edit func(*auth.Config)) Option {
	return optionFunc(func(s *settings) { s.edits = append(s.edits, edit) })
}

// GuardConfig is the Config of Kit.Guard (default: the zero Config,
// bearer tokens). Set Cookies for cookie mode:
//
//	kit := authtest.New(t, authtest.GuardConfig(middleware.Config{Cookies: &middleware.CookieConfig{}}))
func GuardConfig(cfg middleware.Config) Option {
	return optionFunc(func(s *settings) { s.guard = cfg })
}

// Start sets the time the kit's clock starts at. Default 2026-01-05
// 09:00 UTC, so that examples and golden files do not change with the day.
func Start(t time.Time) Option {
	return optionFunc(func(s *settings) { s.start = t })
}

// UserOption configures [Kit.User]. The options are [Superuser],
// [Unverified], [Disabled], [WithPassword] and [Name]; the type is sealed.
type UserOption interface {
	applyUser(*userSettings)
}

type userSettings struct {
	password  string
	name      string
	superuser bool
	verified  bool
	active    bool
}

type userOptionFunc func(*userSettings)

func (f userOptionFunc) applyUser(s *userSettings) { f(s) }

// Superuser makes the user an (active, verified) superuser.
func Superuser() UserOption {
	return userOptionFunc(func(s *userSettings) { s.superuser = true })
}

// Unverified leaves the user's email unverified. Logging in still works
// unless Config.Verification.Required is set (see [Configure]).
func Unverified() UserOption {
	return userOptionFunc(func(s *userSettings) { s.verified = false })
}

// Disabled makes the account inactive: it cannot log in, and
// [Kit.LogIn] fails the test for it.
func Disabled() UserOption {
	return userOptionFunc(func(s *userSettings) { s.active = false })
}

// WithPassword gives the user this password instead of [Password]. It must
// pass the Manager's password policy.
func WithPassword(password string) UserOption {
	return userOptionFunc(func(s *userSettings) { s.password = password })
}

// Name sets the user's display name.
func Name(name string) UserOption {
	return userOptionFunc(func(s *userSettings) { s.name = name })
}
