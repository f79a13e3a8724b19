// Command server is Gatehouse's example server: a complete authentication
// server, wire-compatible with R2R's /v2 auth API, that runs with no set-up.
//
//	go run ./examples/server
//
// It keeps its data in an embedded SQLite database (-db, default
// gatehouse.db), or in PostgreSQL or MySQL (-db with a URL), or in memory
// (-store memory), and writes outgoing mail as .eml files into a folder
// (-maildir, default gatehouse-mail) unless an SMTP server is given
// (-smtp-addr). It also serves the pages that the links in that mail open
// (see Pages below). It prints "listening on http://ADDR" (https with
// -tls-cert) when it is ready and shuts down cleanly on SIGINT or SIGTERM.
//
// Flags:
//
//	-addr string                   address to listen on (default "127.0.0.1:7272")
//	-db string                     the database: a SQLite file (default "gatehouse.db"), a
//	                               PostgreSQL URL (postgres://user:pw@host:5432/db) or a MySQL
//	                               DSN (mysql://user:pw@tcp(host:3306)/db)
//	-store sql|memory              sql: the database of -db (default); memory: a throwaway
//	                               store, lost on exit
//	-redis string                  keep the throttling counters in this Redis (host:port or
//	                               redis://host:port), the rest in the database
//	-session-cache TTL             keep sessions in memory for up to TTL (1s to 10m; default
//	                               $GATEHOUSE_SESSION_CACHE, else off); see Session cache below
//	-audit-db file                 keep the audit log in this SQLite file of its own, beside a
//	                               SQLite -db (default $GATEHOUSE_AUDIT_DB); see Audit log below
//	-maildir string                folder for outgoing mail as .eml files (default "gatehouse-mail")
//	-require-email-verification    new users verify their email before they can log in
//	-access-ttl duration           access-token lifetime (default 15m0s)
//	-refresh-ttl duration          session (refresh-token) lifetime (default 720h0m0s)
//	-idle-timeout duration         a session ends after this long without a refresh (default 168h0m0s, at most -refresh-ttl)
//	-base-url string               public URL of the pages below, for links in mail (default: the listener's own address)
//	-tls-cert, -tls-key file       serve HTTPS with this PEM certificate (chain) and key; both or neither
//	-smtp-addr string              deliver mail through this SMTP server (host:port)
//	-smtp-from string              sender address, e.g. "Example <no-reply@example.com>"
//	-smtp-user string              SMTP user name
//	-smtp-password string          SMTP password (or the environment variable SMTP_PASSWORD)
//	-smtp-tls starttls|tls|none    SMTP transport security (default starttls)
//	-trusted-proxies list          reverse proxies whose X-Forwarded-For is believed:
//	                               comma-separated CIDR prefixes or addresses
//	-ed25519-key file              sign access tokens with this Ed25519 private key (PEM,
//	                               PKCS #8: openssl genpkey -algorithm ed25519) instead of
//	                               GATEHOUSE_SIGNING_KEY, and serve /.well-known/jwks.json
//	-ed25519-verify-keys files     also accept tokens of these Ed25519 public keys (PEM files,
//	                               comma-separated), and publish them: keys being rotated
//	-jwks-max-age duration         Cache-Control max-age of the JWKS (default 10m0s)
//	-request-timeout duration      each request's deadline (default 10s, up to 25s; 0: none)
//	-max-concurrent-hashes int     password hashes run at once (default 0: GOMAXPROCS/4, at least 1)
//	-debug-addr string             serve net/http/pprof (/debug/pprof/) on this loopback
//	                               address, e.g. 127.0.0.1:6060; off by default
//	-oidc-issuer string            offer "Sign in with …" through this OpenID Connect
//	                               provider (its issuer URL; discovery at start)
//	-oidc-client-id string         the client ID registered at the provider
//	-oidc-client-secret string     its client secret
//	-oidc-name string              the provider's name in /v2/oauth/NAME/… (default "oidc")
//
// Each -oidc-* flag defaults to the environment variable GATEHOUSE_OIDC_*
// of the same name (GATEHOUSE_OIDC_ISSUER, …). The callback URL to register
// at the provider is the server's public base URL (-base-url) followed by
// /v2/oauth/NAME/callback; the home page then shows a "Sign in with NAME"
// button. Federated logins, links and unlinks are audit events like the
// others.
//
// With -ed25519-key, other services verify the access tokens with the
// public keys alone, from the JWK Set at /.well-known/jwks.json; each key's
// id (kid) is its RFC 7638 thumbprint. The README's "Rotating an Ed25519
// key" gives the steps.
//
// With -session-cache TTL (or GATEHOUSE_SESSION_CACHE=TTL), an
// authenticated request takes its session and user from memory instead of
// the database (auth.Config.SessionCache), for at most TTL, and every
// instance hears of the others' logouts, revocations and account changes:
//
//   - -store memory: in the process itself (there is no other instance);
//   - with -redis: over Redis pub/sub, on the Redis every instance shares;
//   - a PostgreSQL -db: over LISTEN/NOTIFY, on a connection of its own named
//     "APP session-cache listener" in pg_stat_activity (APP is the URL's
//     application_name, else gatehouse);
//   - a SQLite file without -redis: in the process itself, which therefore
//     holds an exclusive lock for as long as it runs (flock(2) on DB.lock
//     beside the database, DB being its real path), and refuses to start
//     when another process holds it; every server on a SQLite file takes
//     that lock, shared without the cache, so a second server on the same
//     file, with the cache or without, refuses to start beside one with
//     it (and one with it beside any other), while servers without the
//     cache still share a file as before. The lock binds only the
//     processes that take it: another program writing the file (the
//     sqlite3 shell, an application of your own, a restored backup copied
//     over it) is not stopped, and its changes to sessions and users reach
//     the cache only when the entries expire, up to the TTL later. On a
//     platform without flock(2) (Windows), the cache on a SQLite file
//     needs -redis, and no lock is taken;
//   - a MySQL -db without -redis: refused at start, since MySQL carries no
//     notifications and other instances may share the database.
//
// While that subscription is down every request reads the database, as
// without the cache. README.md's "Session cache" has the measured bound.
//
// # Audit log
//
// Every auth event is a run in the audit log, which superusers read at
// /v2/logs and /v2/analytics. It is kept in the database of -db, or with
// -audit-db FILE (or GATEHOUSE_AUDIT_DB=FILE) in a SQLite file of its own,
// created and migrated at start like the main one: its appends then take
// that file's write lock instead of the main file's, which every login,
// refresh and logout needs too. -audit-db is accepted only with a SQLite
// -db: on PostgreSQL or MySQL the log stays in the database every instance
// shares (a file per instance would split it), and -store memory keeps it
// in memory. Back the audit file up as the main one (VACUUM INTO); the
// servers that share a SQLite -db should share its -audit-db too, or each
// shows only its own part of the log.
//
// Behind a reverse proxy (a load balancer, a CDN), list it in
// -trusted-proxies, or every client shares the proxy's per-IP limits. The
// server gives that one setting to its middleware.Guard, which the API
// (httpapi.Config.Guard) and any route of the application's own use alike.
//
// An invalid setting is reported by the flag (or variable) that sets it.
//
// Environment:
//
//	GATEHOUSE_ADMIN_EMAIL, GATEHOUSE_ADMIN_PASSWORD
//	    ensure this superuser at start. The password is used only to
//	    create the account: when the account exists and its password is
//	    another, the server refuses to start rather than ignore it or
//	    replace it. A weak password is always refused. With the email
//	    alone, that account is promoted, or created with a random password
//	    that is printed once. With neither, a superuser admin@example.com
//	    is created once with a random password that is printed once. A
//	    random password is printed only after the listener is bound, so a
//	    failed start never loses it.
//	GATEHOUSE_SESSION_CACHE
//	    the default of -session-cache: a TTL such as 1m, or off.
//	GATEHOUSE_SIGNING_KEY
//	    the access-token signing key: at least 32 bytes, hex or base64
//	    (openssl rand -hex 32). Without it, a key is generated once and
//	    kept beside the SQLite database (DB.key, mode 0600), so restarts
//	    keep sessions valid; on PostgreSQL or MySQL it is required (every
//	    instance needs the same key). Set but empty is an error, and so is setting it
//	    together with -ed25519-key.
//
// Pages (for the links in mail; an application that mounts the API itself
// must serve these paths under the BaseURL of its auth.Config):
//
//	/verify-email?token=…         confirms a new account's address
//	/reset-password?token=…       sets a new password
//	/confirm-email?token=…        confirms a new address after an email change
//	/cancel-email-change?token=…  lets the old address stop an email change
//	/sign-in                      with -passwordless: "email me a sign-in link"
//	/login/email?token=…          with -passwordless: signs in with the mailed link
//
// And /login, a one-page client of the API to try the logins in a browser
// (password, the second-factor step, passkeys).
package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	netmail "net/mail"
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	_ "modernc.org/sqlite"

	"github.com/gatehouse-go/gatehouse/audit"
	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/auth/federation"
	"github.com/gatehouse-go/gatehouse/auth/jwt"
	"github.com/gatehouse-go/gatehouse/auth/password"
	"github.com/gatehouse-go/gatehouse/httpapi"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/store"
)

// defaultAdmin is the superuser created when the environment names none.
const defaultAdmin = "admin@example.com"

// The environment variables the server reads.
const (
	envAdminEmail    = "GATEHOUSE_ADMIN_EMAIL"
	envAdminPassword = "GATEHOUSE_ADMIN_PASSWORD"
	envSigningKey    = "GATEHOUSE_SIGNING_KEY"
	envOIDCPrefix    = "GATEHOUSE_OIDC_"
	envFactorKey     = "GATEHOUSE_FACTOR_KEY"
)

// keyAdvice says how to make a good signing key.
const keyAdvice = "make one with: openssl rand -hex 32"

// hsts is the Strict-Transport-Security value sent when serving HTTPS: two
// years, subdomains included.
const hsts = "max-age=63072000; includeSubDomains"

// options are the command line.
type options struct {
	addr, db, maildir, baseURL           string
	store, redis                         string
	requireVerification                  bool
	accessTTL, refreshTTL, idleTimeout   time.Duration
	tlsCert, tlsKey                      string
	smtpAddr, smtpFrom, smtpUser, smtpPW string
	smtpTLS                              mail.TLSMode
	trustedProxies                       []netip.Prefix
	ed25519Key, ed25519VerifyKeys        string
	jwksMaxAge                           time.Duration
	debugAddr                            string
	// The OpenID Connect provider of -oidc-*.
	oidcIssuer, oidcClientID, oidcClientSecret, oidcName string
	passwordless                                         bool
	requestTimeout                                       time.Duration
	// sessionCache is -session-cache: the session cache's TTL (0: off).
	sessionCache cacheFlag
	maxHashes    int
	// auditDB is -audit-db: the audit log's SQLite file, "" for -db's.
	auditDB string
}

// defaultRequestTimeout is the default of -request-timeout, and
// maxRequestTimeout its limit: below the server's WriteTimeout, so that a
// request past its deadline still gets its 503.
const (
	defaultRequestTimeout = 10 * time.Second
	maxRequestTimeout     = 25 * time.Second
)

func main() {
	var o options
	fs := newFlagSet(&o)
	fs.Parse(os.Args[1:])

	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, os.Stdout, logger); err != nil {
		fmt.Fprintln(os.Stderr, "server:", explain(err, fs))
		os.Exit(1)
	}
}

// newFlagSet returns the command line's flags, which fill o.
func newFlagSet(o *options) *flag.FlagSet {
	fs := flag.NewFlagSet("server", flag.ExitOnError)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:7272", "address to listen on")
	fs.StringVar(&o.db, "db", "gatehouse.db", "the database: a SQLite `file`, a PostgreSQL URL (postgres://user:pw@host:5432/db) or a MySQL DSN (mysql://user:pw@tcp(host:3306)/db); created or migrated at start")
	fs.StringVar(&o.store, "store", storeSQL, "where data is kept: "+storeSQL+" (the database of -db) or "+storeMemory+" (a throwaway store, lost on exit; -db is not used)")
	fs.StringVar(&o.redis, "redis", "", "keep the throttling counters in this Redis (host:port or redis://host:port) instead of the database")
	fs.StringVar(&o.maildir, "maildir", "gatehouse-mail", "folder for outgoing mail as .eml files")
	fs.BoolVar(&o.requireVerification, "require-email-verification", false, "new users verify their email before they can log in")
	fs.DurationVar(&o.accessTTL, "access-ttl", auth.DefaultAccessTokenTTL, "access-token lifetime (1m to 1h)")
	fs.DurationVar(&o.refreshTTL, "refresh-ttl", auth.DefaultRefreshTokenTTL, "session (refresh-token) lifetime, from login")
	fs.DurationVar(&o.idleTimeout, "idle-timeout", auth.DefaultRefreshIdleTimeout, "a session ends after this long without a refresh (at least -access-ttl; cut to -refresh-ttl)")
	fs.StringVar(&o.baseURL, "base-url", "", "public URL of the pages that links in mail open (default: the listener's own address)")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "serve HTTPS with this PEM `file`: the certificate and its chain (with -tls-key)")
	fs.StringVar(&o.tlsKey, "tls-key", "", "the PEM `file` of the -tls-cert certificate's private key")
	fs.StringVar(&o.smtpAddr, "smtp-addr", "", "deliver mail through this SMTP server (host:port) instead of -maildir")
	fs.StringVar(&o.smtpFrom, "smtp-from", "", `sender address, e.g. "Example <no-reply@example.com>"`)
	fs.StringVar(&o.smtpUser, "smtp-user", "", "SMTP user name")
	fs.StringVar(&o.smtpPW, "smtp-password", os.Getenv("SMTP_PASSWORD"), "SMTP password (default $SMTP_PASSWORD)")
	fs.TextVar(&o.smtpTLS, "smtp-tls", mail.TLSStartTLS, "SMTP transport security `mode`: starttls, tls or none")
	fs.Func("trusted-proxies", "reverse proxies whose X-Forwarded-For is believed: comma-separated CIDR prefixes or addresses, e.g. 10.0.0.0/8,192.0.2.7", func(v string) error {
		var err error
		o.trustedProxies, err = parseProxies(v)
		return err
	})
	fs.StringVar(&o.ed25519Key, "ed25519-key", "", "sign access tokens with this Ed25519 private key `file` (PEM, PKCS #8: openssl genpkey -algorithm ed25519) instead of "+envSigningKey+", and serve "+httpapi.JWKSPath)
	fs.StringVar(&o.ed25519VerifyKeys, "ed25519-verify-keys", "", "also accept, and publish, tokens of the Ed25519 public keys in these PEM `files` (comma-separated; openssl pkey -in KEY -pubout): the keys of a rotation")
	fs.DurationVar(&o.jwksMaxAge, "jwks-max-age", httpapi.DefaultJWKSMaxAge, "Cache-Control max-age of "+httpapi.JWKSPath+" (1s to 24h; with -ed25519-key)")
	fs.BoolVar(&o.passwordless, "passwordless", false, "let users sign in with a link or code mailed to them (passwordless email login, POST /v2/login/email; the pages /sign-in and /login/email)")
	fs.DurationVar(&o.requestTimeout, "request-timeout", defaultRequestTimeout, "each request's deadline (up to 25s; 0: none): a login that finds every password-hash slot taken waits for one until then, then gets 503 with Retry-After")
	o.sessionCache = cacheFlagFromEnv()
	fs.Var(&o.sessionCache, "session-cache", "keep sessions in memory for up to this `TTL` (1s to 10m, e.g. 1m; default $"+envSessionCache+", else off): an authenticated request then reads no database. "+
		"Other instances' changes arrive over PostgreSQL LISTEN/NOTIFY, or Redis pub/sub with -redis; MySQL needs -redis; -store memory keeps them in-process, and so does a SQLite file without -redis, which this server then locks for itself alone")
	fs.StringVar(&o.auditDB, "audit-db", os.Getenv(envAuditDB), "keep the audit log in this SQLite `file` of its own (created and migrated at start), beside a SQLite -db, so that its appends do not wait for the main file's write lock (default $"+envAuditDB+"; only with a SQLite -db)")
	fs.IntVar(&o.maxHashes, "max-concurrent-hashes", 0, "password hashes run at once (each argon2id hash holds 64 MiB); the logins beyond wait for a slot until -request-timeout. 0: the library's default, GOMAXPROCS divided by argon2id's 4 threads, at least 1")
	fs.StringVar(&o.debugAddr, "debug-addr", "", "serve net/http/pprof (/debug/pprof/) on this loopback `address`, e.g. 127.0.0.1:6060 (off by default; never exposed beyond loopback)")
	fs.StringVar(&o.oidcIssuer, "oidc-issuer", os.Getenv(envOIDCPrefix+"ISSUER"), "offer \"Sign in with …\" through the OpenID Connect provider of this issuer `URL` (default $"+envOIDCPrefix+"ISSUER)")
	fs.StringVar(&o.oidcClientID, "oidc-client-id", os.Getenv(envOIDCPrefix+"CLIENT_ID"), "the client ID registered at the -oidc-issuer provider (default $"+envOIDCPrefix+"CLIENT_ID)")
	fs.StringVar(&o.oidcClientSecret, "oidc-client-secret", os.Getenv(envOIDCPrefix+"CLIENT_SECRET"), "its client secret (default $"+envOIDCPrefix+"CLIENT_SECRET)")
	oidcName := os.Getenv(envOIDCPrefix + "NAME")
	if oidcName == "" {
		oidcName = "oidc"
	}
	fs.StringVar(&o.oidcName, "oidc-name", oidcName, "the provider's `name` in /v2/oauth/NAME/… and on the sign-in button (default $"+envOIDCPrefix+"NAME, else oidc)")
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprint(out, usageHead)
		fs.PrintDefaults()
		fmt.Fprint(out, usageTail)
	}
	return fs
}

const usageHead = `Usage: server [flags]

Gatehouse's example server: the /v2 auth API on SQLite, PostgreSQL or MySQL,
mail written to a folder (or sent over SMTP), and the pages mail links open.

Flags:
`

const usageTail = `
Environment:
  GATEHOUSE_ADMIN_EMAIL, GATEHOUSE_ADMIN_PASSWORD
    	ensure this superuser at start. The password only creates the account:
    	if the account exists with another password, the start is refused;
    	a weak password is always refused. With the email alone, the account is
    	promoted, or created with a random password printed once. With neither,
    	admin@example.com is created once with a random password, printed once.
    	Random passwords are printed after the listener is bound.
  GATEHOUSE_SIGNING_KEY
    	access-token signing key, at least 32 bytes in hex or base64
    	(openssl rand -hex 32); default: generated once, kept in DB.key
    	beside a SQLite file. Required with a PostgreSQL or MySQL -db.
    	Not used with -ed25519-key (setting both is refused)
  SMTP_PASSWORD
    	the default of -smtp-password
  GATEHOUSE_SESSION_CACHE
    	the default of -session-cache (a TTL such as 1m, or off)
  GATEHOUSE_AUDIT_DB
    	the default of -audit-db (a SQLite file)
  GATEHOUSE_OIDC_ISSUER, _CLIENT_ID, _CLIENT_SECRET, _NAME
    	the defaults of -oidc-issuer, -oidc-client-id, -oidc-client-secret,
    	-oidc-name; the callback URL to register is -base-url followed by
    	/v2/oauth/NAME/callback

Pages for the links in mail, served here under -base-url (an application
that mounts the /v2 API itself must serve these paths under the BaseURL of
its auth.Config):
  /verify-email?token=…          confirms a new account's address
  /reset-password?token=…        sets a new password
  /confirm-email?token=…         confirms the new address of an email change
  /cancel-email-change?token=…   lets the old address stop an email change
  /sign-in                       with -passwordless: "email me a sign-in link"
  /login/email?token=…           with -passwordless: signs in with the mailed link
And /login, a page to try the logins (password, second factor, passkeys).
`

// admin is the superuser the environment asks for.
type admin struct {
	email    string // "" means defaultAdmin, created once
	password string // "" means a random one, printed when it is created
}

// adminFromEnv reads GATEHOUSE_ADMIN_EMAIL and GATEHOUSE_ADMIN_PASSWORD.
func adminFromEnv() (admin, error) {
	a := admin{email: strings.TrimSpace(os.Getenv(envAdminEmail)), password: os.Getenv(envAdminPassword)}
	if a.password != "" && a.email == "" {
		return a, errors.New(envAdminPassword + " is set without " + envAdminEmail + ": set the email of the superuser it is for")
	}
	if a.email != "" {
		if _, err := auth.NormalizeEmail(a.email); err != nil {
			return a, fmt.Errorf("%s: %w", envAdminEmail, err)
		}
	}
	return a, nil
}

// run serves until ctx ends, then shuts down cleanly.
func run(ctx context.Context, o options, stdout io.Writer, logger *slog.Logger) error {
	if o.requestTimeout < 0 || o.requestTimeout > maxRequestTimeout {
		return fmt.Errorf("invalid -request-timeout %v: must be between 0 (none) and %v", o.requestTimeout, maxRequestTimeout)
	}
	if o.sessionCache.err != nil {
		return o.sessionCache.err
	}
	cacheVia, err := cacheTransport(o)
	if err != nil {
		return err
	}
	var cert *tls.Certificate
	if o.tlsCert != "" || o.tlsKey != "" {
		if o.tlsCert == "" || o.tlsKey == "" {
			return errors.New("-tls-cert and -tls-key go together: give both (the certificate and its private key, PEM files) or neither")
		}
		c, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
		if err != nil {
			return fmt.Errorf("-tls-cert %s, -tls-key %s: %w", o.tlsCert, o.tlsKey, err)
		}
		cert = &c
	}
	adm, err := adminFromEnv()
	if err != nil {
		return err
	}
	mailer, from, err := newMailer(o)
	if err != nil {
		return err
	}
	be, err := openBackend(ctx, o)
	if err != nil {
		return err
	}
	defer be.Close()
	st := be.store
	inv, err := be.invalidator(cacheVia, logger)
	if err != nil {
		return err
	}
	if o.auditDB != "" {
		logger.Info("audit log in a file of its own", "audit-db", o.auditDB)
	}
	if be.memory {
		fmt.Fprintln(stdout, "storing everything in memory (-store memory): every account, session and log entry is lost when the server exits")
	}
	// The access-token keys: Ed25519 from -ed25519-key, with its JWKS, or
	// else the HS256 key.
	issuer, err := ed25519Issuer(o, logger)
	if err != nil {
		return err
	}
	var key []byte
	var keySet *httpapi.JWKS
	if issuer != nil {
		if o.jwksMaxAge < time.Second || o.jwksMaxAge > httpapi.MaxJWKSMaxAge {
			return fmt.Errorf("invalid -jwks-max-age %v: must be between 1s and %v", o.jwksMaxAge, httpapi.MaxJWKSMaxAge)
		}
		if keySet, err = httpapi.NewJWKS(issuer, httpapi.JWKSConfig{MaxAge: o.jwksMaxAge}); err != nil {
			return err
		}
	} else if key, err = signingKey(be); err != nil {
		return err
	}
	// Second factors are on; their secrets are sealed with this key.
	fkey, err := factorKey(be)
	if err != nil {
		return err
	}
	// The audit log: every auth event stored in the same database, or in
	// the file of -audit-db, read back by superusers at /v2/logs and
	// /v2/analytics.
	rec, err := audit.New(audit.Config{Runs: be.runs, Logger: logger})
	if err != nil {
		return err
	}

	// Bind before anything is created that has to be shown once (a random
	// admin password), and so that the links in mail can point at the
	// address actually bound.
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("-addr %s: %w", o.addr, err)
	}
	defer ln.Close()
	baseURL := o.baseURL
	if baseURL == "" {
		baseURL = listenerURL(ln.Addr(), cert != nil)
		if strings.Contains(baseURL, "://localhost:") {
			logger.Warn("links in mail point at " + baseURL + "; set -base-url to the address your users reach")
		}
	}

	m, err := auth.New(managerConfig(o, deps{
		store: st, counters: be.counters, audit: rec, mailer: mailer, from: from, key: key, factor: fkey, issuer: issuer, baseURL: baseURL, logger: logger,
		invalidator: inv,
	}))
	if err != nil {
		return err
	}
	if inv != nil {
		// The cache is used only once this has subscribed, and while the
		// subscription is up; until then every request reads the store.
		lctx, stopListening := context.WithCancel(context.Background())
		listened := make(chan struct{})
		go func() { defer close(listened); m.ListenInvalidations(lctx) }()
		defer func() { stopListening(); <-listened }()
		logger.Info("session cache on", "ttl", o.sessionCache.ttl, "invalidations", cacheVia.String())
	}
	if err := ensureAdmin(ctx, m, st, adm, stdout); err != nil {
		return err
	}
	reader, err := audit.NewReader(m, be.runs)
	if err != nil {
		return err
	}
	// One Guard finds every request's client: the proxies are set here
	// once, for the API and for any route of the application's own.
	guard := middleware.New(m, middleware.Config{Logger: logger, TrustedProxies: o.trustedProxies})
	providers, err := oidcProviders(ctx, o, m, st, baseURL)
	if err != nil {
		return err
	}
	api, err := httpapi.New(m, httpapi.Config{Logger: logger, Audit: reader, Guard: guard, Federation: providers})
	if err != nil {
		return err
	}

	mux := http.NewServeMux()
	mux.Handle("GET /{$}", home(providers))
	api.Mount(mux)
	if keySet != nil {
		keySet.Mount(mux)
	}
	// The pages record the client for the Manager's per-IP limits through
	// the same Guard as the API's routes.
	pg := newPages(m, logger)
	pg.passwordless = o.passwordless
	pg.mount(mux, guard.WithClient)
	// A page to try the logins (password, second factor, passkeys) in a
	// browser.
	mux.HandleFunc("GET /login", serveSignIn)

	var handler http.Handler = mux
	if o.requestTimeout > 0 {
		handler = withDeadline(handler, o.requestTimeout)
	}
	if cert != nil {
		handler = withHSTS(handler)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	scheme := "http"
	served := make(chan error, 1)
	if cert != nil {
		scheme = "https"
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*cert}, MinVersion: tls.VersionTLS12}
		go func() { served <- srv.ServeTLS(ln, "", "") }()
	} else {
		go func() { served <- srv.Serve(ln) }()
	}
	// Expired sessions, secrets and counters, and audit runs past their
	// retention, are purged hourly until shutdown.
	hctx, stopHousekeeping := context.WithCancel(context.Background())
	housekept := make(chan struct{})
	go func() { defer close(housekept); m.Housekeep(hctx, time.Hour) }()
	defer func() { stopHousekeeping(); <-housekept }()
	if o.debugAddr != "" {
		dln, err := listenDebug(o.debugAddr)
		if err != nil {
			return err
		}
		dsrv := &http.Server{Handler: debugHandler(), ReadHeaderTimeout: 10 * time.Second}
		go dsrv.Serve(dln)
		defer dsrv.Close()
		fmt.Fprintf(stdout, "debug listening on http://%s\n", dln.Addr())
	}
	fmt.Fprintf(stdout, "listening on %s://%s\n", scheme, ln.Addr())

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	return m.Flush(sctx)
}

// parseProxies reads -trusted-proxies: CIDR prefixes or single addresses,
// separated by commas.
func parseProxies(v string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q is neither a CIDR prefix (10.0.0.0/8) nor an address (192.0.2.7)", f)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// deps are what the Manager gets from elsewhere than a flag's value.
type deps struct {
	store    store.Store
	counters store.Counters // the throttling counters of -redis, or nil for the store's
	audit    auth.EventSink
	mailer   auth.Mailer
	from     mail.Address
	key      []byte      // the HS256 key, when issuer is nil
	factor   []byte      // the key of TOTP secrets at rest (32 bytes)
	issuer   *jwt.Issuer // the Ed25519 issuer of -ed25519-key, or nil
	baseURL  string
	logger   *slog.Logger
	// invalidator carries the session cache's invalidations (-session-cache);
	// nil leaves the cache off.
	invalidator auth.Invalidator
}

// managerConfig is the Manager's configuration. Every field it sets is
// listed in configSources, so that an error about it names its flag.
func managerConfig(o options, d deps) auth.Config {
	return auth.Config{
		Store:        d.store,
		Audit:        d.audit,
		Mailer:       d.mailer,
		Mail:         auth.MailConfig{From: d.from},
		Tokens:       tokenConfig(o, d),
		Sessions:     auth.SessionConfig{TTL: o.refreshTTL, IdleTimeout: o.idleTimeout},
		Verification: auth.VerificationConfig{Required: o.requireVerification},
		Passwordless: auth.PasswordlessConfig{Enabled: o.passwordless},
		Limits:       auth.Limits{Store: d.counters},
		Password:     auth.PasswordConfig{MaxConcurrentHashes: o.maxHashes},
		Factors: auth.FactorConfig{
			Enabled:  true,
			Keys:     []auth.FactorKey{{ID: "k1", Key: d.factor}},
			Passkeys: passkeyConfig(d.baseURL),
		},
		SessionCache: sessionCacheConfig(o, d),
		BaseURL:      d.baseURL,
		Logger:       d.logger,
	}
}

// sessionCacheConfig is Config.SessionCache: off without an invalidator.
func sessionCacheConfig(o options, d deps) auth.SessionCacheConfig {
	if d.invalidator == nil {
		return auth.SessionCacheConfig{}
	}
	return auth.SessionCacheConfig{Invalidator: d.invalidator, TTL: o.sessionCache.ttl}
}

// passkeyConfig is Config.Factors.Passkeys for the pages at baseURL: its
// host is the RP ID and its origin the one origin. WebAuthn refuses IP
// addresses, so a loopback address (the default listener) becomes
// localhost on the same port, where the /login page works; on another IP
// address, or on plain http beyond localhost, passkeys stay off.
func passkeyConfig(baseURL string) auth.PasskeyConfig {
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" {
		return auth.PasskeyConfig{}
	}
	host, port := u.Hostname(), u.Port()
	if ip, err := netip.ParseAddr(host); err == nil {
		if !ip.IsLoopback() {
			return auth.PasskeyConfig{}
		}
		host = "localhost"
	}
	local := host == "localhost" || strings.HasSuffix(host, ".localhost")
	if u.Scheme != "https" && !local {
		return auth.PasskeyConfig{}
	}
	origin := u.Scheme + "://" + host
	if port != "" {
		origin += ":" + port
	}
	return auth.PasskeyConfig{RPID: strings.ToLower(host), Origins: []string{strings.ToLower(origin)}}
}

// tokenConfig is Config.Tokens: the Ed25519 issuer when there is one,
// else the HS256 key.
func tokenConfig(o options, d deps) auth.TokenConfig {
	t := auth.TokenConfig{SigningKey: d.key, AccessTTL: o.accessTTL}
	if d.issuer != nil {
		t.Issuer = auth.JWT(d.issuer)
	}
	return t
}

// listenerURL is the base URL of the server at addr. An unspecified host
// (":7272", "0.0.0.0:7272") becomes localhost.
func listenerURL(addr net.Addr, tls bool) string {
	scheme := "http"
	if tls {
		scheme = "https"
	}
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return scheme + "://" + addr.String()
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// withDeadline gives every request's context a deadline d from its start:
// what waits on it (a login queued for a password-hash slot, a store call)
// gives up then, and the client gets 503 with Retry-After instead of an
// ever longer queue (SECURITY.md #12).
func withDeadline(next http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// withHSTS tells browsers to use only HTTPS for this host from now on.
func withHSTS(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", hsts)
		next.ServeHTTP(w, r)
	})
}

// sqliteURI is the file: URI of the database file at path, before its
// query: SQLite decodes %HH escapes in a URI's path, and '?' and '#' would
// end it, so a path holding any of the three opened another file (the one
// named by what came before), without the settings of the query.
func sqliteURI(path string) string {
	return "file:" + strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
}

// openSQLite opens the database file with the settings package sqlstore
// recommends: WAL, a busy timeout, foreign keys and immediate transactions.
func openSQLite(path string) (*sql.DB, error) {
	// The database holds password hashes: create it readable by its owner
	// only (SQLite gives its WAL files the same mode).
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	f.Close()
	dsn := sqliteURI(path) + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	return db, nil
}

// signingKey returns the key from GATEHOUSE_SIGNING_KEY, or the one kept
// beside a SQLite database, generating it on the first start. A variable
// that is set must hold a key: set but empty (or blank) is refused rather
// than silently replaced by the file's key. On a PostgreSQL or MySQL
// database the variable is required (there is no file to keep a key in,
// and every instance needs the same key); the memory store, whose data
// dies with the process, gets a key of its own.
func signingKey(b *backend) ([]byte, error) {
	return envOrFileKey(b, envSigningKey, b.keyFile, ", or use -ed25519-key")
}

// factorKey is the key that encrypts TOTP secrets at rest, found as the
// signing key is: GATEHOUSE_FACTOR_KEY, or else the file
// gatehouse.db.factorkey beside a SQLite database, generated on the first
// start (required on a server database; the memory store makes its own).
// Keep it out of the database's backups: without it the stored secrets
// are useless.
func factorKey(b *backend) ([]byte, error) {
	path := ""
	if b.keyFile != "" {
		path = strings.TrimSuffix(b.keyFile, ".key") + ".factorkey"
	}
	key, err := envOrFileKey(b, envFactorKey, path, "")
	if err != nil {
		return nil, err
	}
	return key[:32], nil // AES-256
}

// envOrFileKey reads a key from the environment variable env, or else from
// the file at path, which it creates with a new random key (mode 0600)
// when it does not exist; the memory store gets a random key, and a
// server database (path "") needs the variable. alt ends the message that
// says so.
func envOrFileKey(b *backend, env, path, alt string) ([]byte, error) {
	if v, set := os.LookupEnv(env); set {
		v = strings.TrimSpace(v)
		if v == "" {
			if path == "" {
				return nil, fmt.Errorf("%s is set but empty: set it to a key (%s)", env, keyAdvice)
			}
			return nil, fmt.Errorf("%s is set but empty: set it to a key (%s), or unset it to use the key kept in %s", env, keyAdvice, path)
		}
		key, err := decodeKey(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", env, err)
		}
		return key, nil
	}
	if b.memory {
		key := make([]byte, 32)
		rand.Read(key)
		return key, nil
	}
	if path == "" {
		return nil, fmt.Errorf("-db %s: set %s (%s), the same on every instance%s: a key cannot be kept beside a server database", b.shown, env, keyAdvice, alt)
	}
	data, err := os.ReadFile(path)
	if err == nil {
		v := strings.TrimSpace(string(data))
		if v == "" {
			return nil, fmt.Errorf("%s is empty: write a key into it (%s), or delete it to have a new one generated", path, keyAdvice)
		}
		key, err := decodeKey(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return key, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	key := make([]byte, 32)
	rand.Read(key)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	if _, err := fmt.Fprintln(f, hex.EncodeToString(key)); err != nil {
		f.Close()
		return nil, err
	}
	return key, f.Close()
}

// minKeyBytes is the shortest signing key accepted.
const minKeyBytes = 32

// decodeKey reads a key written in hex or base64 (standard or URL, padded
// or not) and insists on at least 32 bytes, saying how many it found.
func decodeKey(s string) ([]byte, error) {
	decoders := []struct {
		name   string
		decode func(string) ([]byte, error)
	}{
		{"hex", hex.DecodeString},
		{"base64", base64.StdEncoding.DecodeString},
		{"base64", base64.RawStdEncoding.DecodeString},
		{"base64", base64.URLEncoding.DecodeString},
		{"base64", base64.RawURLEncoding.DecodeString},
	}
	for _, d := range decoders {
		if key, err := d.decode(s); err == nil {
			if len(key) < minKeyBytes {
				return nil, fmt.Errorf("the key decodes (as %s) to %d bytes, and at least %d random bytes are needed: %s", d.name, len(key), minKeyBytes, keyAdvice)
			}
			return key, nil
		}
	}
	return nil, fmt.Errorf("the key is neither hex nor base64: %s", keyAdvice)
}

// newMailer returns the SMTP mailer when -smtp-addr is set, else the folder
// mailer, and the sender address for the Manager.
func newMailer(o options) (auth.Mailer, mail.Address, error) {
	var from mail.Address
	if o.smtpFrom != "" {
		a, err := netmail.ParseAddress(o.smtpFrom)
		if err != nil {
			return nil, from, fmt.Errorf("-smtp-from: %w", err)
		}
		from = mail.Address{Name: a.Name, Email: a.Address}
	}
	if o.smtpAddr == "" {
		if from == (mail.Address{}) {
			from = mail.Address{Name: "Gatehouse", Email: "no-reply@example.com"}
		}
		return mail.NewFolder(o.maildir, from), from, nil
	}
	s, err := mail.NewSMTP(mail.SMTPConfig{
		Addr:     o.smtpAddr,
		From:     from,
		Username: o.smtpUser,
		Password: o.smtpPW,
		TLS:      o.smtpTLS,
	})
	if err != nil {
		return nil, from, fmt.Errorf("%w (the settings are the -smtp-* flags: Addr is -smtp-addr, From -smtp-from, Username -smtp-user, Password -smtp-password, TLS -smtp-tls)", err)
	}
	return s, from, nil
}

// ensureAdmin makes sure the superuser a asks for exists, printing a random
// password when it creates an account with one. It runs after the listener
// is bound, so that a printed password is not lost to a failed start.
func ensureAdmin(ctx context.Context, m *auth.Manager, st store.Users, a admin, stdout io.Writer) error {
	email := a.email
	if email == "" {
		email = defaultAdmin
	}
	norm, err := auth.NormalizeEmail(email)
	if err != nil {
		return err
	}
	u, err := st.UserByEmail(ctx, norm)
	exists := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	switch {
	case a.password != "":
		if exists && !isPassword(u.PasswordHash, a.password) {
			return fmt.Errorf("%s is not the password of %s, which already exists (its password was changed, or it was registered, since): "+
				"the variable only sets the password of an account it creates, and this server never replaces one. "+
				"Unset %s to start with the account as it is (%s alone keeps it a superuser); "+
				"to recover a lost password, see \"Lost admin password\" in the README", envAdminPassword, norm, envAdminPassword, envAdminEmail)
		}
		if _, err := m.EnsureSuperuser(ctx, norm, a.password); err != nil {
			if errors.Is(err, auth.ErrWeakPassword) {
				return fmt.Errorf("%s is refused: %w; choose a long passphrase", envAdminPassword, err)
			}
			return fmt.Errorf("%s %s: %w", envAdminEmail, norm, err)
		}
		return nil
	case exists && a.email == "":
		return nil // the default admin, created on an earlier start; its password was printed then
	}
	// A random password: it creates the account, or is ignored by
	// EnsureSuperuser when the account exists and is promoted.
	pw := rand.Text()
	u, err = m.EnsureSuperuser(ctx, norm, pw)
	if err != nil {
		return fmt.Errorf("superuser %s: %w", norm, err)
	}
	// Print the password only when this start created the account with it:
	// instances starting together on one database all find it missing,
	// and all but the one that creates it promote that one's account.
	if !exists && isPassword(u.PasswordHash, pw) {
		fmt.Fprintf(stdout, "created superuser %s with password %s (shown only now)\n", norm, pw)
	}
	return nil
}

// isPassword reports whether hash was made from pw, for the hashes the
// Manager writes (argon2id) and accepts (bcrypt). Every argon2id or bcrypt
// hasher checks any hash of its kind: the parameters are in the hash.
func isPassword(hash, pw string) bool {
	pw = password.Normalize(pw)
	argon, err := password.NewArgon2id(password.Argon2Params{})
	if err == nil && argon.Compare(hash, pw) == nil {
		return true
	}
	bcrypt, err := password.NewBcrypt(0)
	return err == nil && bcrypt.Compare(hash, pw) == nil
}

// oidcProviders is the provider of the -oidc-* flags, or none without
// -oidc-issuer. Its callback is baseURL/v2/oauth/NAME/callback.
func oidcProviders(ctx context.Context, o options, m *auth.Manager, st store.Store, baseURL string) ([]httpapi.FederatedProvider, error) {
	if o.oidcIssuer == "" {
		if o.oidcClientID != "" || o.oidcClientSecret != "" {
			return nil, errors.New("-oidc-client-id and -oidc-client-secret need -oidc-issuer (the provider's issuer URL)")
		}
		return nil, nil
	}
	if o.oidcClientID == "" {
		return nil, errors.New("-oidc-issuer needs -oidc-client-id (the client ID registered at the provider)")
	}
	name := o.oidcName
	c, err := federation.New(ctx, m, st, federation.Provider{
		Name: name, Issuer: o.oidcIssuer, ClientID: o.oidcClientID, ClientSecret: o.oidcClientSecret,
		RedirectURL: strings.TrimSuffix(baseURL, "/") + "/v2/oauth/" + url.PathEscape(name) + "/callback",
	}, federation.Options{})
	if err != nil {
		return nil, fmt.Errorf("-oidc-issuer %s: %w", o.oidcIssuer, err)
	}
	return []httpapi.FederatedProvider{c}, nil
}

var homePage = template.Must(template.New("home").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Gatehouse</title></head>
<body><p>Gatehouse example server: the auth API is under /v2/ (try <a href="/v2/health">/v2/health</a>).</p>
{{range .}}<p><a role="button" href="/v2/oauth/{{.}}/authorize">Sign in with {{.}}</a></p>
{{end}}</body></html>
`))

// home is the home page: a line about the API and, for each provider of
// federated login, its "Sign in with …" button.
func home(providers []httpapi.FederatedProvider) http.Handler {
	var names []string
	for _, p := range providers {
		names = append(names, p.Name())
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = homePage.Execute(w, names)
	})
}
