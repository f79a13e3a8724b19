package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-go/gatehouse/auth/jwt"
	"github.com/gatehouse-go/gatehouse/auth/password"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/store"
)

// Config configures a [Manager]. The zero value of every optional field
// means its documented default; [New] validates the whole struct once and
// copies it, so changing a Config after New has no effect.
type Config struct {
	// Store keeps users, sessions and one-time secrets. Required.
	Store store.Store

	// Mailer delivers verification, reset and notice mail. Required; use
	// mail.Discard or mail.Log explicitly for an application that sends no
	// mail.
	Mailer Mailer

	// SigningKey is the HS256 key for access tokens: at least 32 random
	// bytes, never a human password. Required unless Tokens is set.
	SigningKey []byte

	// Tokens signs and verifies access tokens. Default: an HS256 jwt.Issuer
	// built from SigningKey, Issuer and Audience. For Ed25519 keys or key
	// rotation build one with jwt.New and pass it through [JWT].
	Tokens TokenIssuer

	// Issuer and Audience go into, and are required from, every access token
	// the default TokenIssuer handles. Default "gatehouse" for both.
	Issuer   string
	Audience string

	// Hasher hashes new passwords. Default: argon2id with t=3, m=64 MiB,
	// p=4 ([password.NewArgon2id] with zero params).
	Hasher Hasher

	// LegacyHashers verify stored hashes the Hasher does not recognise;
	// after a successful login such a password is re-hashed with Hasher.
	// Default: bcrypt (cost 12) — so imported bcrypt hashes keep working
	// and are upgraded — unless Hasher is itself a *password.Bcrypt.
	LegacyHashers []Hasher

	// MaxConcurrentHashes bounds how many password hashes run at once
	// (argon2id's memory is per hash). Callers beyond it wait for a slot
	// until their context ends, then get [ErrBusy]. Default GOMAXPROCS.
	MaxConcurrentHashes int

	// Password is the policy for every new password (register, change,
	// reset, first superuser).
	Password password.Policy

	// AccessTokenTTL is the lifetime of access tokens. Default 15 minutes;
	// allowed 1 minute to 1 hour.
	AccessTokenTTL time.Duration

	// RefreshTokenTTL is the absolute lifetime of a session, from login.
	// Default 30 days.
	RefreshTokenTTL time.Duration

	// RefreshIdleTimeout ends a session that has not refreshed for this
	// long. Default 7 days; at least AccessTokenTTL and at most
	// RefreshTokenTTL.
	RefreshIdleTimeout time.Duration

	// RefreshReuseGrace lets a refresh token that was just rotated be
	// presented again for this long without revoking its session (the
	// retry itself still fails). Default 0: any reuse revokes the session,
	// as RFC 9700 recommends. A few seconds tolerate clients that retry a
	// refresh whose response was lost; at most 1 minute.
	RefreshReuseGrace time.Duration

	// RequireEmailVerification makes new users verify their email before
	// they can log in. A code and a link are mailed at registration.
	RequireEmailVerification bool

	// VerificationCodeTTL is how long the short verification code is valid
	// (default 10 minutes, at most 1 hour); VerificationLinkTTL how long the
	// long token and link are (default 24 hours, at most 7 days).
	VerificationCodeTTL time.Duration
	VerificationLinkTTL time.Duration

	// MaxCodeAttempts is how many guesses a short code allows before it is
	// dead. Default 5; at most 10.
	MaxCodeAttempts int

	// ResetTokenTTL is how long a password-reset token is valid. Default 30
	// minutes; at most 24 hours.
	ResetTokenTTL time.Duration

	// DisableEmailChange refuses email changes by users themselves
	// (superusers can still change other users' addresses).
	DisableEmailChange bool

	// ServiceName names the application in mail, and a password equal to
	// it is refused. Default "Gatehouse".
	ServiceName string

	// BaseURL is the application's public base URL (for example
	// "https://app.example.com"). When set, verification, reset and
	// email-change mail carry links built from it: BaseURL + "/verify-email?token=…",
	// "/reset-password?token=…", "/confirm-email?token=…" and, in the notice
	// to the old address, "/cancel-email-change?token=…" (the application
	// serves these pages; [Manager.CancelEmailChange] takes the last token).
	// Links never use a request's Host header.
	BaseURL string

	// Templates renders mail. Default mail.DefaultTemplates().
	Templates mail.Renderer

	// MailFrom is the sender of every message. Default: empty, meaning the
	// Mailer's own default sender.
	MailFrom mail.Address

	// Locale, when set, returns the language of mail to u as a language
	// tag ("de", "pt-BR"); the Manager puts it in the Locale of the
	// mail.Data of every message to u, and the Templates choose by it (see
	// mail.Templates). "" means the Templates' default locale. It runs
	// when the mail is queued, usually on the request path, so it must be
	// quick. Default: nil, meaning "" for everyone.
	Locale func(ctx context.Context, u *store.User) string

	// MailAttempts is how many times a failed delivery is tried in all
	// (default 4, at most 20). The wait after the n-th failure is
	// MailRetryDelay·2^(n−1) (default 2 s; at most 1 hour), less a random
	// part of up to half. A permanent failure (one matching
	// mail.ErrPermanent, such as an SMTP 5xx reply, or mail.ErrInvalidMessage)
	// is not retried. Failures are logged without secrets; see
	// [Manager.Flush] for shutdown.
	MailAttempts   int
	MailRetryDelay time.Duration

	// Limits configures brute-force throttling and rate limits (see
	// [Limits]); the zero value means the defaults of SECURITY.md §2.
	Limits Limits

	// Limiter keeps the counters behind Limits. Default: the Store, when it
	// implements store.Counters (memstore and sqlstore do), so that every
	// instance sharing the database shares the limits. Set a memstore to
	// keep them per process.
	Limiter store.Counters

	// DisableThrottling switches all of Limits off. Not recommended; New
	// refuses to run without throttling unless this is set.
	DisableThrottling bool

	// UniformRegistration makes registering an email that is already taken
	// answer exactly like a successful registration (a user record that is
	// never stored) and mail the existing owner a notice instead, so that
	// registration does not reveal which emails have accounts (SECURITY.md
	// #16). Off by default: a duplicate gets [ErrEmailTaken].
	UniformRegistration bool

	// Now is the clock. Default time.Now.
	Now func() time.Time

	// Rand is the source of every secret (tokens, codes, IDs). Default
	// crypto/rand.Reader. Replace it only in tests.
	Rand io.Reader

	// Logger receives one record per event and errors worth an operator's
	// attention. Secrets never reach it. Default: discard.
	Logger *slog.Logger

	// VerifiedTokenCacheSize is how many recently used access tokens
	// [Manager.Authenticate] remembers as verified (a least-recently-used
	// cache keyed by the SHA-256 of the exact token), so that a token
	// presented again skips the signature check and claim decoding until
	// its own expiry. Only the TokenIssuer's verdict is cached: the session
	// and user are still read from the store on every call, so logout,
	// revocation, password changes, deactivation and demotion take effect
	// at once, as without the cache. An entry is never used at or after the
	// token's ExpiresAt, and only tokens that verified are stored.
	//
	// Default: [DefaultVerifiedTokenCacheSize] when Tokens is not set or is
	// a jwt.Issuer through [JWT] (its verdict on a token cannot change
	// before its expiry, since its keys are fixed), off for any other
	// TokenIssuer: give a size to opt in with one whose verdict is as
	// stable. A negative
	// value turns the cache off. Each entry takes about 350 bytes; at most
	// [MaxVerifiedTokenCacheSize].
	VerifiedTokenCacheSize int

	// OnEvent, when set, is called synchronously with every [Event] (after
	// it is logged). It must be quick and must not call the Manager.
	OnEvent func(ctx context.Context, e Event)

	// Audit receives every [Event] after the Logger and OnEvent, for an
	// audit log: wire an *audit.Recorder (package audit) here, which
	// stores each event as a run that superusers read back. Nil keeps no
	// audit log; the Manager works the same either way.
	Audit EventSink
}

// Defaults, limits and floors.
const (
	DefaultAccessTokenTTL      = 15 * time.Minute
	DefaultRefreshTokenTTL     = 30 * 24 * time.Hour
	DefaultRefreshIdleTimeout  = 7 * 24 * time.Hour
	DefaultVerificationCodeTTL = 10 * time.Minute
	DefaultVerificationLinkTTL = 24 * time.Hour
	DefaultResetTokenTTL       = 30 * time.Minute
	DefaultMaxCodeAttempts     = 5
	DefaultPageSize            = 100
	MaxPageSize                = 1000
)

func (c *Config) fill() error {
	if c.Store == nil {
		return cfgErr("Store", "is required")
	}
	if c.Mailer == nil {
		return cfgErr("Mailer", "is required (use mail.Discard to send nothing)")
	}
	if c.Issuer == "" {
		c.Issuer = "gatehouse"
	}
	if c.Audience == "" {
		c.Audience = "gatehouse"
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	ji, isJWT := c.Tokens.(jwtIssuer)
	if isJWT && ji.j == nil {
		return cfgErr("Tokens", "is auth.JWT(nil); build the issuer with jwt.New")
	}
	builtInTokens := c.Tokens == nil || isJWT
	if c.Tokens == nil {
		if len(c.SigningKey) == 0 {
			return cfgErr("SigningKey", "is required when Tokens is not set")
		}
		key, err := jwt.HS256Key("", c.SigningKey)
		if err != nil {
			return cfgErr("SigningKey", "must be at least 32 random bytes")
		}
		j, err := jwt.New(jwt.Config{Issuer: c.Issuer, Audience: c.Audience, SigningKey: key, Now: c.Now})
		if err != nil {
			return err
		}
		c.Tokens = JWT(j)
	}
	if c.Hasher == nil {
		h, err := password.NewArgon2id(password.Argon2Params{})
		if err != nil {
			return err
		}
		c.Hasher = h
	}
	if c.LegacyHashers == nil {
		if _, isBcrypt := c.Hasher.(*password.Bcrypt); !isBcrypt {
			b, err := password.NewBcrypt(0)
			if err != nil {
				return err
			}
			c.LegacyHashers = []Hasher{b}
		}
	}
	for i, h := range c.LegacyHashers {
		if h == nil {
			return cfgErr("LegacyHashers", "entry "+strconv.Itoa(i)+" is nil")
		}
	}
	if c.MaxConcurrentHashes == 0 {
		c.MaxConcurrentHashes = runtime.GOMAXPROCS(0)
	}
	if c.MaxConcurrentHashes < 0 {
		return cfgErr("MaxConcurrentHashes", "must not be negative")
	}
	if err := c.Password.Validate(); err != nil {
		var ce *password.ConfigError
		if errors.As(err, &ce) {
			return cfgErr("Password."+strings.TrimPrefix(ce.Field, "Policy."), ce.Reason)
		}
		return err
	}
	c.Password.MinLength, c.Password.MaxLength = c.Password.Bounds()
	durations := []struct {
		field    string
		v        *time.Duration
		def      time.Duration
		min, max time.Duration
	}{
		{"AccessTokenTTL", &c.AccessTokenTTL, DefaultAccessTokenTTL, time.Minute, time.Hour},
		{"RefreshTokenTTL", &c.RefreshTokenTTL, DefaultRefreshTokenTTL, time.Minute, 365 * 24 * time.Hour},
		{"RefreshIdleTimeout", &c.RefreshIdleTimeout, DefaultRefreshIdleTimeout, time.Minute, 365 * 24 * time.Hour},
		{"VerificationCodeTTL", &c.VerificationCodeTTL, DefaultVerificationCodeTTL, time.Minute, time.Hour},
		{"VerificationLinkTTL", &c.VerificationLinkTTL, DefaultVerificationLinkTTL, time.Minute, 7 * 24 * time.Hour},
		{"ResetTokenTTL", &c.ResetTokenTTL, DefaultResetTokenTTL, time.Minute, 24 * time.Hour},
		{"MailRetryDelay", &c.MailRetryDelay, 2 * time.Second, time.Millisecond, time.Hour},
	}
	for _, d := range durations {
		if *d.v == 0 {
			*d.v = d.def
		}
		if *d.v < d.min || *d.v > d.max {
			return cfgErr(d.field, "must be between "+d.min.String()+" and "+d.max.String())
		}
	}
	if c.RefreshIdleTimeout > c.RefreshTokenTTL {
		c.RefreshIdleTimeout = c.RefreshTokenTTL
	}
	if c.RefreshIdleTimeout < c.AccessTokenTTL {
		return cfgErr("RefreshIdleTimeout", "must be at least AccessTokenTTL")
	}
	if c.RefreshReuseGrace < 0 || c.RefreshReuseGrace > time.Minute {
		return cfgErr("RefreshReuseGrace", "must be between 0 and 1m0s")
	}
	if c.MaxCodeAttempts == 0 {
		c.MaxCodeAttempts = DefaultMaxCodeAttempts
	}
	if c.MaxCodeAttempts < 1 || c.MaxCodeAttempts > 10 {
		return cfgErr("MaxCodeAttempts", "must be between 1 and 10")
	}
	switch {
	case c.VerifiedTokenCacheSize > MaxVerifiedTokenCacheSize:
		return cfgErr("VerifiedTokenCacheSize", "must be at most "+strconv.Itoa(MaxVerifiedTokenCacheSize))
	case c.VerifiedTokenCacheSize < 0:
		c.VerifiedTokenCacheSize = 0 // off
	case c.VerifiedTokenCacheSize == 0 && builtInTokens:
		c.VerifiedTokenCacheSize = DefaultVerifiedTokenCacheSize
	}
	if c.MailAttempts == 0 {
		c.MailAttempts = 4
	}
	if c.MailAttempts < 1 || c.MailAttempts > 20 {
		return cfgErr("MailAttempts", "must be between 1 and 20")
	}
	if c.ServiceName == "" {
		c.ServiceName = "Gatehouse"
	}
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return cfgErr("BaseURL", "must be an absolute http(s) URL without query or fragment")
		}
		c.BaseURL = strings.TrimRight(u.String(), "/")
	}
	if c.Templates == nil {
		c.Templates = mail.DefaultTemplates()
	}
	if c.DisableThrottling {
		c.Limiter = nil
		return nil
	}
	if c.Limiter == nil {
		counters, ok := c.Store.(store.Counters)
		if !ok {
			return cfgErr("Limiter", "is required: the store does not implement store.Counters (set a Limiter, or DisableThrottling)")
		}
		c.Limiter = counters
	}
	return c.Limits.fill()
}

func cfgErr(field, reason string) error {
	return &ValidationError{Field: "Config." + field, Reason: reason}
}

// Bounds of Config.VerifiedTokenCacheSize.
const (
	// DefaultVerifiedTokenCacheSize is the cache size with the built-in
	// JWT: about 1.4 MB when full.
	DefaultVerifiedTokenCacheSize = 4096
	// MaxVerifiedTokenCacheSize is the largest size accepted.
	MaxVerifiedTokenCacheSize = 1 << 20
)
