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

// Config configures a [Manager]. Store, Mailer and Tokens.SigningKey (or
// Tokens.Issuer) are required; everything else is optional, and the zero
// value of every optional field, or of a whole group such as Sessions,
// means its documented default. [New] validates the whole struct once and
// copies it, so changing a Config after New has no effect. An invalid field
// gives a *[ValidationError] whose Field is the field's full path, such as
// "Config.Sessions.IdleTimeout".
type Config struct {
	// Store keeps users, sessions and one-time secrets. Required.
	Store store.Store

	// Mailer delivers verification, reset and notice mail. Required; use
	// mail.Discard or mail.Log explicitly for an application that sends no
	// mail.
	Mailer Mailer

	// ServiceName names the application in mail, and a password equal to
	// it is refused. Default "Gatehouse".
	ServiceName string

	// BaseURL is the application's public base URL (for example
	// "https://app.example.com"). When set, verification, reset and
	// email-change mail carry links built from it: BaseURL + "/verify-email?token=…",
	// "/reset-password?token=…", "/confirm-email?token=…" and, in the notice
	// to the old address, "/cancel-email-change?token=…" (the application
	// serves these pages; [Manager.CancelEmailChange] takes the last token).
	// Links never use a request's Host header. It must be an absolute
	// http(s) URL without query or fragment; a trailing slash is dropped.
	BaseURL string

	// Tokens configures access tokens: their signing key or issuer, claims,
	// lifetime and the verified-token cache.
	Tokens TokenConfig

	// Sessions configures sessions and their refresh tokens.
	Sessions SessionConfig

	// Password configures password hashing, the password policy and
	// password reset.
	Password PasswordConfig

	// Verification configures email verification.
	Verification VerificationConfig

	// Accounts configures what registration and self-service reveal and
	// allow.
	Accounts AccountConfig

	// Mail configures how mail is rendered, addressed and delivered.
	Mail MailConfig

	// Limits configures brute-force throttling and rate limits (see
	// [Limits]); the zero value means the defaults of SECURITY.md §2.
	Limits Limits

	// Factors configures second factors (TOTP and recovery codes). Off by
	// default.
	Factors FactorConfig

	// Federation configures federated login ([Manager.FederatedLogin]).
	Federation FederationConfig

	// Passwordless configures passwordless email login: a link and a
	// 6-digit code by mail ([Manager.RequestEmailLogin]). Off by default.
	Passwordless PasswordlessConfig

	// SessionCache turns on the session cache: Authenticate then takes
	// sessions and users from memory, invalidated across instances by an
	// [Invalidator]. Off by default (every Authenticate reads the store).
	SessionCache SessionCacheConfig

	// Audit receives every [Event] after the Logger and OnEvent, for an
	// audit log: wire an *audit.Recorder (package audit) here, which
	// stores each event as a run that superusers read back. Nil keeps no
	// audit log; the Manager works the same either way.
	Audit EventSink

	// OnEvent, when set, is called synchronously with every [Event] (after
	// it is logged). It must be quick and must not call the Manager.
	OnEvent func(ctx context.Context, e Event)

	// Now is the clock. Default time.Now.
	Now func() time.Time

	// Rand is the source of every secret (tokens, codes, IDs). Default
	// crypto/rand.Reader. Replace it only in tests.
	Rand io.Reader

	// Logger receives one record per event and errors worth an operator's
	// attention. Secrets never reach it. Default: discard.
	Logger *slog.Logger
}

// TokenConfig configures access tokens (Config.Tokens). With only
// SigningKey set, access tokens are HS256 JWTs whose iss and aud are
// "gatehouse", valid for 15 minutes, and the verified-token cache is on.
type TokenConfig struct {
	// Issuer signs and verifies access tokens. Default: an HS256
	// jwt.Issuer built from SigningKey, IssuerName and Audience. For
	// Ed25519 keys or key rotation build one with jwt.New and pass it
	// through [JWT]; SigningKey, IssuerName and Audience are then unused.
	Issuer TokenIssuer

	// SigningKey is the HS256 key for access tokens: at least 32 random
	// bytes, never a human password. Required unless Issuer is set. New
	// copies it.
	SigningKey []byte

	// IssuerName and Audience go into, and are required from, every access
	// token the default Issuer handles (the iss and aud claims). Default
	// "gatehouse" for both.
	IssuerName string
	Audience   string

	// AccessTTL is the lifetime of access tokens. Default
	// [DefaultAccessTokenTTL] (15 minutes); allowed 1 minute to 1 hour.
	AccessTTL time.Duration

	// VerifiedCacheSize is how many recently used access tokens
	// [Manager.Authenticate] remembers as verified (a least-recently-used
	// cache keyed by the SHA-256 of the exact token), so that a token
	// presented again skips the signature check and claim decoding until
	// its own expiry. Only the Issuer's verdict is cached: the session and
	// user are still read from the store on every call, so logout,
	// revocation, password changes, deactivation and demotion take effect
	// at once, as without the cache. An entry is never used at or after the
	// token's ExpiresAt, and only tokens that verified are stored.
	//
	// Default: [DefaultVerifiedTokenCacheSize] when Issuer is not set or is
	// a jwt.Issuer through [JWT] (its verdict on a token cannot change
	// before its expiry, since its keys are fixed), off for any other
	// TokenIssuer: give a size to opt in with one whose verdict is as
	// stable. A negative value turns the cache off. Each entry takes about
	// 350 bytes; at most [MaxVerifiedTokenCacheSize].
	VerifiedCacheSize int
}

// SessionConfig configures sessions (Config.Sessions): a login starts a
// session, and each refresh rotates its refresh token. The zero value
// means sessions that last 30 days from login, end after 7 days without a
// refresh, and are revoked when a rotated refresh token is presented again.
type SessionConfig struct {
	// TTL is the absolute lifetime of a session (and so of every refresh
	// token it hands out), from login. Default [DefaultRefreshTokenTTL]
	// (30 days); allowed 1 minute to 365 days.
	TTL time.Duration

	// IdleTimeout ends a session that has not refreshed for this long.
	// Default [DefaultRefreshIdleTimeout] (7 days); at least
	// Tokens.AccessTTL and at most Sessions.TTL (a longer value, the
	// default included, is cut to Sessions.TTL).
	IdleTimeout time.Duration

	// ReuseGrace lets a refresh token that was just rotated be presented
	// again for this long without revoking its session (the retry itself
	// still fails). Default 0: any reuse revokes the session, as RFC 9700
	// recommends. A few seconds tolerate clients that retry a refresh
	// whose response was lost, and several instances serving one browser
	// in the middleware's cookie mode (each coalesces the refreshes of its
	// own requests; a request that loses the race on another instance is
	// then refused without revoking the session). At most 1 minute.
	ReuseGrace time.Duration
}

// PasswordConfig configures passwords (Config.Password): how they are
// hashed, which are accepted, and how long a reset token lasts. The zero
// value means argon2id for new hashes, bcrypt accepted for imported ones,
// the default [password.Policy] and 30-minute reset tokens.
type PasswordConfig struct {
	// Policy is the policy for every new password (register, change,
	// reset, first superuser). Default: the zero [password.Policy].
	Policy password.Policy

	// Hasher hashes new passwords. Default: argon2id with t=3, m=64 MiB,
	// p=4 ([password.NewArgon2id] with zero params).
	Hasher Hasher

	// LegacyHashers verify stored hashes the Hasher does not recognise;
	// after a successful login such a password is re-hashed with Hasher.
	// Default: bcrypt (cost 12) — so imported bcrypt hashes keep working
	// and are upgraded — unless Hasher is itself a *password.Bcrypt. No
	// entry may be nil. New copies the slice.
	LegacyHashers []Hasher

	// MaxConcurrentHashes bounds how many password hashes run at once
	// (argon2id's memory is per hash). Callers beyond it wait for a slot
	// until their context ends, then get [ErrBusy]; a waiter whose slot
	// comes with less time left before its context's deadline than a slot
	// is held on average gets [ErrBusy] then (its hash would end too late).
	// Default: GOMAXPROCS divided by the threads of one hash of Hasher
	// ([ParallelHasher]), at least 1: with the default argon2id (p=4), 1
	// on up to 7 cores, 2 on 8; with bcrypt, GOMAXPROCS. More slots than
	// that add no logins per second (the cores are already busy) but add
	// memory, and make every other request wait behind the hashes'
	// goroutines (BENCHMARKS.md, "Login flood"). Must not be negative.
	MaxConcurrentHashes int

	// ResetTTL is how long a password-reset token is valid. Default
	// [DefaultResetTokenTTL] (30 minutes); allowed 1 minute to 24 hours.
	ResetTTL time.Duration
}

// VerificationConfig configures email verification (Config.Verification)
// and the lifetime of email-change links. The zero value means no
// verification: new users count as verified at registration. With
// Required, the mail carries a code valid for 10 minutes that allows 5
// guesses and a link valid for 24 hours.
type VerificationConfig struct {
	// Required makes new users verify their email before they can log in.
	// A code and a link are mailed at registration. Off by default.
	Required bool

	// CodeTTL is how long the short verification code is valid. Default
	// [DefaultVerificationCodeTTL] (10 minutes); allowed 1 minute to 1
	// hour.
	CodeTTL time.Duration

	// LinkTTL is how long the long verification token and its link are
	// valid; email-change confirmations use it too. Default
	// [DefaultVerificationLinkTTL] (24 hours); allowed 1 minute to 7 days.
	LinkTTL time.Duration

	// MaxCodeAttempts is how many guesses a short code allows before it is
	// dead. Default [DefaultMaxCodeAttempts] (5); allowed 1 to 10.
	MaxCodeAttempts int
}

// AccountConfig configures registration and account self-service
// (Config.Accounts). The zero value answers a duplicate registration with
// [ErrEmailTaken] and lets users change their own email.
type AccountConfig struct {
	// UniformRegistration makes registering an email that is already taken
	// answer exactly like a successful registration (a user record that is
	// never stored) and mail the existing owner a notice instead, so that
	// registration does not reveal which emails have accounts (SECURITY.md
	// #16). Off by default: a duplicate gets [ErrEmailTaken].
	UniformRegistration bool

	// DisableEmailChange refuses email changes by users themselves
	// (superusers can still change other users' addresses).
	DisableEmailChange bool
}

// MailConfig configures mail (Config.Mail): rendering, the sender and
// delivery retries. The zero value renders with mail.DefaultTemplates()
// from the Mailer's default sender and tries each message up to 4 times.
type MailConfig struct {
	// Templates renders mail. Default mail.DefaultTemplates().
	Templates mail.Renderer

	// From is the sender of every message. Default: empty, meaning the
	// Mailer's own default sender.
	From mail.Address

	// Locale, when set, returns the language of mail to u as a language
	// tag ("de", "pt-BR"); the Manager puts it in the Locale of the
	// mail.Data of every message to u, and the Templates choose by it (see
	// mail.Templates). "" means the Templates' default locale. It runs
	// when the mail is queued, usually on the request path, so it must be
	// quick. Default: nil, meaning "" for everyone.
	Locale func(ctx context.Context, u *store.User) string

	// Attempts is how many times a failed delivery is tried in all.
	// Default 4; allowed 1 to 20. The wait after the n-th failure is
	// RetryDelay·2^(n−1), less a random part of up to half. A permanent
	// failure (one matching mail.ErrPermanent, such as an SMTP 5xx reply,
	// or mail.ErrInvalidMessage) is not retried. Failures are logged
	// without secrets; see [Manager.Flush] for shutdown.
	Attempts int

	// RetryDelay is the wait after the first failed delivery (see
	// Attempts). Default 2 seconds; allowed 1 millisecond to 1 hour.
	RetryDelay time.Duration
}

// Limits configures throttling and rate limits (Config.Limits). The zero
// value of each limit means its default (SECURITY.md §2); a negative value
// switches that one limit off, except that Limits.LoginFreeFailures must be
// at least 1. Counters live in Store, so every instance sharing it enforces
// the same limits.
type Limits struct {
	// Store keeps the counters behind the limits. Default: Config.Store,
	// when it implements store.Counters (memstore and sqlstore do), so that
	// every instance sharing the database shares the limits; New refuses a
	// Config.Store without it unless Store or Disabled is set. Set a
	// memstore to keep the counters per process.
	Store store.Counters

	// Disabled switches all limits off; the other fields are then ignored.
	// Not recommended.
	Disabled bool

	// Per account — keyed on the normalized email, whether or not an
	// account has it, so answers reveal nothing — failed password checks
	// (logins, and the current password when changing the password,
	// deleting the account or changing the email) are throttled: after
	// LoginFreeFailures failures (default 5, allowed 1 to 50) each attempt
	// must wait 1s·2^(failures−LoginFreeFailures), at most LoginMaxDelay
	// (default 15 minutes, allowed 1 second to 24 hours); at LoginHardStop
	// consecutive failures (default 100; more than Limits.LoginFreeFailures
	// and at most 100) attempts stop until a successful password reset or
	// until LoginForgetAfter (default 12 hours; at least
	// Limits.LoginMaxDelay and at most 30 days) passes without failures. A
	// success resets the count.
	LoginFreeFailures int
	LoginMaxDelay     time.Duration
	LoginHardStop     int
	LoginForgetAfter  time.Duration

	// Per client IP (ignored when the IP is unknown, so that such requests
	// never share one bucket): failed logins per minute (default 20) and
	// per hour (default 100); registrations per hour (default 10); password
	// reset requests per hour (default 20); verification requests — resends
	// and wrong codes, and wrong or dead passwordless email logins — per
	// hour (default 30); passwordless email-login requests per hour
	// (default 20); passwordless passkey logins begun per hour (default
	// 120: each keeps a ceremony in the store for up to 5 minutes). Each
	// at most 2^20.
	IPLoginFailuresPerMinute int
	IPLoginFailuresPerHour   int
	IPRegistrationsPerHour   int
	IPResetRequestsPerHour   int
	IPVerificationsPerHour   int
	IPEmailLoginsPerHour     int
	IPPasskeyLoginsPerHour   int

	// Per account and purpose (verification, reset, email change), mail
	// sent per minute (default 1) and per hour (default 5), each at most
	// 2^20. Requests over the limit get the usual answer but send nothing
	// (SECURITY.md #22).
	MailPerMinute int
	MailPerHour   int
}

// Defaults, limits and floors. The names predate the grouping of [Config]:
// DefaultAccessTokenTTL is the default of Tokens.AccessTTL,
// DefaultRefreshTokenTTL of Sessions.TTL, DefaultRefreshIdleTimeout of
// Sessions.IdleTimeout, DefaultVerificationCodeTTL, DefaultVerificationLinkTTL
// and DefaultMaxCodeAttempts of Verification.CodeTTL, LinkTTL and
// MaxCodeAttempts, and DefaultResetTokenTTL of Password.ResetTTL.
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

// Bounds of Config.Tokens.VerifiedCacheSize.
const (
	// DefaultVerifiedTokenCacheSize is the cache size with the built-in
	// JWT: about 1.4 MB when full.
	DefaultVerifiedTokenCacheSize = 4096
	// MaxVerifiedTokenCacheSize is the largest size accepted.
	MaxVerifiedTokenCacheSize = 1 << 20
)

// fill validates c and fills in its defaults. Every error is a
// *ValidationError naming the field's path from Config (see cfgErr).
func (c *Config) fill() error {
	if c.Store == nil {
		return cfgErr("Store", "is required")
	}
	if c.Mailer == nil {
		return cfgErr("Mailer", "is required (use mail.Discard to send nothing)")
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
	if err := c.Tokens.fill(c.Now); err != nil {
		return err
	}
	if err := c.SessionCache.fill(); err != nil {
		return err
	}
	if err := c.Password.fill(); err != nil {
		return err
	}
	if err := c.Factors.fill(); err != nil {
		return err
	}
	if err := c.Passwordless.fill(c.Store); err != nil {
		return err
	}
	if c.ServiceName == "" {
		c.ServiceName = "Gatehouse"
	}
	if err := c.Factors.Passkeys.fill(c.Factors.Enabled, c.ServiceName); err != nil {
		return err
	}
	durations := []struct {
		field    string
		v        *time.Duration
		def      time.Duration
		min, max time.Duration
	}{
		{"Tokens.AccessTTL", &c.Tokens.AccessTTL, DefaultAccessTokenTTL, time.Minute, time.Hour},
		{"Sessions.TTL", &c.Sessions.TTL, DefaultRefreshTokenTTL, time.Minute, 365 * 24 * time.Hour},
		{"Sessions.IdleTimeout", &c.Sessions.IdleTimeout, DefaultRefreshIdleTimeout, time.Minute, 365 * 24 * time.Hour},
		{"Verification.CodeTTL", &c.Verification.CodeTTL, DefaultVerificationCodeTTL, time.Minute, time.Hour},
		{"Verification.LinkTTL", &c.Verification.LinkTTL, DefaultVerificationLinkTTL, time.Minute, 7 * 24 * time.Hour},
		{"Password.ResetTTL", &c.Password.ResetTTL, DefaultResetTokenTTL, time.Minute, 24 * time.Hour},
		{"Mail.RetryDelay", &c.Mail.RetryDelay, 2 * time.Second, time.Millisecond, time.Hour},
	}
	for _, d := range durations {
		if *d.v == 0 {
			*d.v = d.def
		}
		if *d.v < d.min || *d.v > d.max {
			return cfgErr(d.field, "must be between "+d.min.String()+" and "+d.max.String())
		}
	}
	s := &c.Sessions
	cut := s.IdleTimeout > s.TTL
	if cut {
		s.IdleTimeout = s.TTL
	}
	if s.IdleTimeout < c.Tokens.AccessTTL {
		reason := "must be at least Tokens.AccessTTL (" + c.Tokens.AccessTTL.String() + ")"
		if cut {
			reason += ", but is cut to Sessions.TTL (" + s.TTL.String() + ")"
		}
		return cfgErr("Sessions.IdleTimeout", reason)
	}
	if s.ReuseGrace < 0 || s.ReuseGrace > time.Minute {
		return cfgErr("Sessions.ReuseGrace", "must be between 0 and 1m0s")
	}
	v := &c.Verification
	if v.MaxCodeAttempts == 0 {
		v.MaxCodeAttempts = DefaultMaxCodeAttempts
	}
	if v.MaxCodeAttempts < 1 || v.MaxCodeAttempts > 10 {
		return cfgErr("Verification.MaxCodeAttempts", "must be between 1 and 10")
	}
	if c.Mail.Attempts == 0 {
		c.Mail.Attempts = 4
	}
	if c.Mail.Attempts < 1 || c.Mail.Attempts > 20 {
		return cfgErr("Mail.Attempts", "must be between 1 and 20")
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
	if c.Mail.Templates == nil {
		c.Mail.Templates = mail.DefaultTemplates()
	}
	return c.Limits.fill(c.Store)
}

// fill validates Config.Tokens and fills in its defaults, building the
// default Issuer with the clock now.
func (t *TokenConfig) fill(now func() time.Time) error {
	if t.IssuerName == "" {
		t.IssuerName = "gatehouse"
	}
	if t.Audience == "" {
		t.Audience = "gatehouse"
	}
	ji, isJWT := t.Issuer.(jwtIssuer)
	if isJWT && ji.j == nil {
		return cfgErr("Tokens.Issuer", "is auth.JWT(nil); build the issuer with jwt.New")
	}
	builtIn := t.Issuer == nil || isJWT
	if t.Issuer == nil {
		if len(t.SigningKey) == 0 {
			return cfgErr("Tokens.SigningKey", "is required when Tokens.Issuer is not set")
		}
		key, err := jwt.HS256Key("", t.SigningKey)
		if err != nil {
			return cfgErr("Tokens.SigningKey", "must be at least 32 random bytes")
		}
		j, err := jwt.New(jwt.Config{Issuer: t.IssuerName, Audience: t.Audience, SigningKey: key, Now: now})
		if err != nil {
			return err
		}
		t.Issuer = JWT(j)
	}
	switch {
	case t.VerifiedCacheSize > MaxVerifiedTokenCacheSize:
		return cfgErr("Tokens.VerifiedCacheSize", "must be at most "+strconv.Itoa(MaxVerifiedTokenCacheSize))
	case t.VerifiedCacheSize < 0:
		t.VerifiedCacheSize = 0 // off
	case t.VerifiedCacheSize == 0 && builtIn:
		t.VerifiedCacheSize = DefaultVerifiedTokenCacheSize
	}
	return nil
}

// fill validates Config.Password, except ResetTTL, and fills in its
// defaults.
func (p *PasswordConfig) fill() error {
	if p.Hasher == nil {
		h, err := password.NewArgon2id(password.Argon2Params{})
		if err != nil {
			return err
		}
		p.Hasher = h
	}
	if p.LegacyHashers == nil {
		if _, isBcrypt := p.Hasher.(*password.Bcrypt); !isBcrypt {
			b, err := password.NewBcrypt(0)
			if err != nil {
				return err
			}
			p.LegacyHashers = []Hasher{b}
		}
	}
	for i, h := range p.LegacyHashers {
		if h == nil {
			return cfgErr("Password.LegacyHashers", "entry "+strconv.Itoa(i)+" is nil")
		}
	}
	if p.MaxConcurrentHashes == 0 {
		p.MaxConcurrentHashes = defaultHashSlots(runtime.GOMAXPROCS(0), p.Hasher)
	}
	if p.MaxConcurrentHashes < 0 {
		return cfgErr("Password.MaxConcurrentHashes", "must not be negative")
	}
	if err := p.Policy.Validate(); err != nil {
		var ce *password.ConfigError
		if errors.As(err, &ce) {
			// ce.Field is "Policy.MinLength" and the like.
			return cfgErr("Password."+ce.Field, ce.Reason)
		}
		return err
	}
	p.Policy.MinLength, p.Policy.MaxLength = p.Policy.Bounds()
	return nil
}

// fill validates Config.Limits and fills in its defaults; st is
// Config.Store, the default counter store.
func (l *Limits) fill(st store.Store) error {
	if l.Disabled {
		l.Store = nil
		return nil
	}
	if l.Store == nil {
		counters, ok := st.(store.Counters)
		if !ok {
			return cfgErr("Limits.Store", "is required: Config.Store does not implement store.Counters (set Limits.Store, or Limits.Disabled)")
		}
		l.Store = counters
	}
	ints := []struct {
		field    string
		v        *int
		def, max int
	}{
		{"LoginFreeFailures", &l.LoginFreeFailures, 5, 50},
		{"LoginHardStop", &l.LoginHardStop, 100, 100},
		{"IPLoginFailuresPerMinute", &l.IPLoginFailuresPerMinute, 20, 1 << 20},
		{"IPLoginFailuresPerHour", &l.IPLoginFailuresPerHour, 100, 1 << 20},
		{"IPRegistrationsPerHour", &l.IPRegistrationsPerHour, 10, 1 << 20},
		{"IPResetRequestsPerHour", &l.IPResetRequestsPerHour, 20, 1 << 20},
		{"IPVerificationsPerHour", &l.IPVerificationsPerHour, 30, 1 << 20},
		{"IPEmailLoginsPerHour", &l.IPEmailLoginsPerHour, 20, 1 << 20},
		{"IPPasskeyLoginsPerHour", &l.IPPasskeyLoginsPerHour, 120, 1 << 20},
		{"MailPerMinute", &l.MailPerMinute, 1, 1 << 20},
		{"MailPerHour", &l.MailPerHour, 5, 1 << 20},
	}
	for _, f := range ints {
		if *f.v == 0 {
			*f.v = f.def
		}
		if *f.v > f.max {
			return cfgErr("Limits."+f.field, "must be at most "+strconv.Itoa(f.max))
		}
	}
	if l.LoginFreeFailures < 1 {
		return cfgErr("Limits.LoginFreeFailures", "must be at least 1 (failures are never unlimited)")
	}
	if l.LoginHardStop <= l.LoginFreeFailures {
		return cfgErr("Limits.LoginHardStop", "must be more than Limits.LoginFreeFailures")
	}
	if l.LoginMaxDelay == 0 {
		l.LoginMaxDelay = 15 * time.Minute
	}
	if l.LoginForgetAfter == 0 {
		l.LoginForgetAfter = 12 * time.Hour
	}
	if l.LoginMaxDelay < time.Second || l.LoginMaxDelay > 24*time.Hour {
		return cfgErr("Limits.LoginMaxDelay", "must be between 1s and 24h0m0s")
	}
	if l.LoginForgetAfter < l.LoginMaxDelay || l.LoginForgetAfter > 30*24*time.Hour {
		return cfgErr("Limits.LoginForgetAfter", "must be between Limits.LoginMaxDelay and 720h0m0s")
	}
	return nil
}

// cfgErr reports a bad Config field; path is the field's path from Config
// ("Sessions.IdleTimeout"), and the error names it in full
// ("Config.Sessions.IdleTimeout").
func cfgErr(path, reason string) error {
	return &ValidationError{Field: "Config." + path, Reason: reason}
}

// defaultHashSlots is the default of Password.MaxConcurrentHashes on procs
// cores with hasher h: procs divided by the threads of one of h's hashes,
// at least 1.
func defaultHashSlots(procs int, h Hasher) int {
	threads := 1
	if ph, ok := h.(ParallelHasher); ok {
		threads = max(ph.Threads(), 1)
	}
	return max(procs/threads, 1)
}
