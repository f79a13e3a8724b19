// Command webapp is a small server-rendered web application on Gatehouse:
// HTML forms, no JavaScript, sessions in a cookie the middleware manages.
//
//	go run ./examples/webapp
//
// then open http://127.0.0.1:8080. Visitors register, verify their email
// (with the mailed code or link), log in and out, reset a forgotten
// password, edit their profile, change their email address and password,
// see and end their sessions, and delete their account; superusers also
// get a page with the users, the audit log and a chart of its events.
//
// Data lives in an SQLite file (-db, default webapp.db). Mail is written as
// .eml files into a folder (-maildir, default webapp-mail): open the
// newest one to read the code or follow the link, which points back at
// this server (-base-url to change it).
//
// Flags:
//
//	-addr string        address to listen on (default "127.0.0.1:8080")
//	-db string          SQLite database file (default "webapp.db")
//	-maildir string     folder for outgoing mail (default "webapp-mail")
//	-base-url string    public URL of the application, for links in mail
//	                    (default: the listener's own address)
//	-tls-cert, -tls-key serve HTTPS with this PEM certificate and key
//
// Cookies: with -tls-cert and -tls-key (or a -base-url starting with
// https://, for a TLS-terminating proxy in front) the session cookie is
// __Host-gatehouse, Secure. On plain HTTP the browser would drop a Secure
// cookie, so the application then uses the middleware's development
// switch (CookieConfig.Insecure) and says so loudly in its log — and only
// when it listens on a loopback address; anywhere else it refuses to start.
//
// Environment:
//
//	GATEHOUSE_ADMIN_EMAIL, GATEHOUSE_ADMIN_PASSWORD
//	    the superuser to ensure at start. Without a password, an account
//	    that does not exist yet is created with a random password, printed
//	    once after the listener is bound; an existing account is promoted
//	    and keeps its password (a given password only creates accounts).
//	    Default email: admin@example.com.
//	GATEHOUSE_SIGNING_KEY
//	    the access-token signing key (at least 32 bytes, hex: openssl rand
//	    -hex 32). Default: generated once and kept beside the database in
//	    DB.key (mode 0600).
//	GATEHOUSE_FACTOR_KEY
//	    the key that encrypts TOTP secrets at rest (32 bytes, hex).
//	    Default: generated once and kept beside the database in
//	    DB.factorkey (mode 0600). Second factors are on: a user with one
//	    answers a TOTP or recovery code after the password (/login/code).
//	    The application has no enrolment page; see examples/server's
//	    /login and the /v2/mfa endpoints.
package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"database/sql"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
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
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/sqlstore"
)

// appName names the application in pages and mail.
const appName = "Gatehouse Demo"

// defaultAdmin is the superuser created when the environment names none.
const defaultAdmin = "admin@example.com"

// options are the command line and the environment.
type options struct {
	addr, db, maildir, baseURL string
	tlsCert, tlsKey            string
	adminEmail, adminPassword  string
	// hasher replaces the default password hasher (argon2id); nil keeps
	// it. Only the tests set it, to a quick one.
	hasher auth.Hasher
}

func main() {
	o := options{
		adminEmail:    strings.TrimSpace(os.Getenv("GATEHOUSE_ADMIN_EMAIL")),
		adminPassword: os.Getenv("GATEHOUSE_ADMIN_PASSWORD"),
	}
	flag.StringVar(&o.addr, "addr", "127.0.0.1:8080", "address to listen on")
	flag.StringVar(&o.db, "db", "webapp.db", "SQLite database file")
	flag.StringVar(&o.maildir, "maildir", "webapp-mail", "folder for outgoing mail as .eml files")
	flag.StringVar(&o.baseURL, "base-url", "", "public URL of the application, for links in mail (default: the listener's address)")
	flag.StringVar(&o.tlsCert, "tls-cert", "", "serve HTTPS with this PEM certificate `file` (with -tls-key)")
	flag.StringVar(&o.tlsKey, "tls-key", "", "the PEM `file` of the -tls-cert certificate's private key")
	flag.Parse()

	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, os.Stdout, logger); err != nil {
		fmt.Fprintln(os.Stderr, "webapp:", err)
		os.Exit(1)
	}
}

// run serves the application until ctx ends, then shuts down cleanly. It
// prints "listening on URL" to stdout once it accepts connections.
func run(ctx context.Context, o options, stdout io.Writer, logger *slog.Logger) error {
	var cert *tls.Certificate
	if o.tlsCert != "" || o.tlsKey != "" {
		if o.tlsCert == "" || o.tlsKey == "" {
			return errors.New("-tls-cert and -tls-key go together: give both or neither")
		}
		c, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
		if err != nil {
			return fmt.Errorf("-tls-cert, -tls-key: %w", err)
		}
		cert = &c
	}
	db, err := openSQLite(o.db)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := sqlstore.Migrate(ctx, db, sqlstore.SQLite); err != nil {
		return fmt.Errorf("migrating %s: %w", o.db, err)
	}
	st, err := sqlstore.New(db, sqlstore.SQLite)
	if err != nil {
		return err
	}
	key, err := signingKey(o.db)
	if err != nil {
		return err
	}
	fkey, err := factorKey(o.db)
	if err != nil {
		return err
	}

	// Bind first: the links in mail point at the address actually bound,
	// and a random admin password is printed only once the start cannot
	// fail any more.
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("-addr %s: %w", o.addr, err)
	}
	defer ln.Close()
	baseURL := strings.TrimSuffix(o.baseURL, "/")
	if baseURL == "" {
		baseURL = listenerURL(ln.Addr(), cert != nil)
	}
	secure := cert != nil || strings.HasPrefix(baseURL, "https://")
	if !secure && !(isLoopback(ln.Addr().String()) && isLoopbackURL(baseURL)) {
		return fmt.Errorf("plain HTTP on %s (base URL %s) would send the session cookie unencrypted: "+
			"serve HTTPS with -tls-cert and -tls-key, or put an HTTPS proxy in front and set -base-url https://…; "+
			"plain HTTP is for development on a loopback address only", ln.Addr(), baseURL)
	}

	// The audit log: every event of the Manager, stored in the same
	// database, read back on the superuser page.
	rec, err := audit.New(audit.Config{Runs: st, Logger: logger})
	if err != nil {
		return err
	}
	from := mail.Address{Name: appName, Email: "no-reply@example.com"}
	m, err := auth.New(auth.Config{
		Store:        st,
		Audit:        rec,
		Mailer:       mail.NewFolder(o.maildir, from),
		ServiceName:  appName,
		BaseURL:      baseURL, // mail links open this application's own pages
		Tokens:       auth.TokenConfig{SigningKey: key},
		Password:     auth.PasswordConfig{Hasher: o.hasher},
		Verification: auth.VerificationConfig{Required: true},
		// Second factors: a user with one answers a code after the
		// password (/login/code).
		Factors: auth.FactorConfig{Enabled: true, Keys: []auth.FactorKey{{ID: "k1", Key: fkey}}},
		// A taken email registers "successfully" (its owner is told by
		// mail), so the form does not reveal who has an account.
		Accounts: auth.AccountConfig{UniformRegistration: true},
		Logger:   logger,
	})
	if err != nil {
		return err
	}
	reader, err := audit.NewReader(m, st)
	if err != nil {
		return err
	}

	a, err := newApp(m, reader, logger, secure)
	if err != nil {
		return err
	}
	// Cookie mode: the Guard keeps the session in a cookie, refreshes it,
	// refuses cross-origin form posts (403) and renews the session at
	// login and password change. Refusals become pages (a.refused).
	a.guard = middleware.New(m, middleware.Config{
		Logger:       logger,
		Cookies:      &middleware.CookieConfig{Insecure: !secure},
		ErrorHandler: a.refused,
	})
	if !secure {
		logger.Warn("DEVELOPMENT MODE: plain HTTP, so the session cookie is not Secure and has no __Host- prefix; " +
			"use -tls-cert and -tls-key (or an HTTPS proxy and -base-url https://…) anywhere but your own machine")
	}

	if err := ensureAdmin(ctx, m, st, o, stdout); err != nil {
		return err
	}

	srv := &http.Server{
		Handler:           a.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	if cert != nil {
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*cert}, MinVersion: tls.VersionTLS12}
		go func() { served <- srv.ServeTLS(ln, "", "") }()
	} else {
		go func() { served <- srv.Serve(ln) }()
	}
	// Expired sessions, secrets, counters and old audit runs are purged
	// hourly until shutdown.
	hctx, stopHousekeeping := context.WithCancel(context.Background())
	housekept := make(chan struct{})
	go func() { defer close(housekept); m.Housekeep(hctx, time.Hour) }()
	defer func() { stopHousekeeping(); <-housekept }()
	fmt.Fprintf(stdout, "listening on %s\n", listenerURL(ln.Addr(), cert != nil))

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
	return m.Flush(sctx) // deliver the mail still queued
}

// listenerURL is the URL of the server at addr; an unspecified host
// (":8080", "0.0.0.0:8080") becomes localhost.
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

// isLoopback reports whether the host of hostport is a loopback address
// or localhost.
func isLoopback(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// isLoopbackURL reports whether u is an http URL of a loopback host.
func isLoopbackURL(u string) bool {
	p, err := url.Parse(u)
	return err == nil && p.Scheme == "http" && isLoopback(p.Host)
}

// openSQLite opens the database file with the settings package sqlstore
// recommends: WAL, a busy timeout, foreign keys, immediate transactions.
func openSQLite(path string) (*sql.DB, error) {
	// The database holds password hashes: readable by its owner only.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	f.Close()
	return sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate")
}

// signingKey returns the key from GATEHOUSE_SIGNING_KEY (hex), or the one
// kept beside the database, generated on the first start.
func signingKey(dbPath string) ([]byte, error) {
	return keyFile("GATEHOUSE_SIGNING_KEY", dbPath+".key", "the signing key")
}

// factorKey returns the key that encrypts TOTP secrets at rest, from
// GATEHOUSE_FACTOR_KEY (hex), or the one kept beside the database
// (webapp.db.factorkey), generated on the first start.
func factorKey(dbPath string) ([]byte, error) {
	key, err := keyFile("GATEHOUSE_FACTOR_KEY", dbPath+".factorkey", "the factor key")
	if err != nil {
		return nil, err
	}
	return key[:32], nil
}

// keyFile returns the key (hex, at least 32 bytes) from the environment
// variable env, or else from the file at path, generated when missing.
func keyFile(env, path, what string) ([]byte, error) {
	decode := func(where, v string) ([]byte, error) {
		key, err := hex.DecodeString(strings.TrimSpace(v))
		if err != nil || len(key) < 32 {
			return nil, fmt.Errorf("%s: %s must be at least 32 bytes in hex (openssl rand -hex 32)", where, what)
		}
		return key, nil
	}
	if v, ok := os.LookupEnv(env); ok {
		return decode(env, v)
	}
	b, err := os.ReadFile(path)
	if err == nil {
		return decode(path, string(b))
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	key := make([]byte, 32)
	rand.Read(key)
	if err := os.WriteFile(path, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
		return nil, err
	}
	return key, nil
}

// ensureAdmin makes sure the superuser of the environment exists. A new
// account without a given password gets a random one, printed once.
func ensureAdmin(ctx context.Context, m *auth.Manager, st store.Users, o options, stdout io.Writer) error {
	email := o.adminEmail
	if email == "" {
		if o.adminPassword != "" {
			return errors.New("GATEHOUSE_ADMIN_PASSWORD is set without GATEHOUSE_ADMIN_EMAIL")
		}
		email = defaultAdmin
	}
	norm, err := auth.NormalizeEmail(email)
	if err != nil {
		return fmt.Errorf("GATEHOUSE_ADMIN_EMAIL: %w", err)
	}
	_, err = st.UserByEmail(ctx, norm)
	exists := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if exists && o.adminEmail == "" {
		return nil // the default admin, created on an earlier start
	}
	pw := o.adminPassword
	if pw == "" {
		pw = rand.Text()
	}
	// EnsureSuperuser creates the account with pw, or promotes the
	// existing one and leaves its password alone.
	if _, err := m.EnsureSuperuser(ctx, norm, pw); err != nil {
		return fmt.Errorf("superuser %s: %w", norm, err)
	}
	switch {
	case !exists && o.adminPassword == "":
		fmt.Fprintf(stdout, "created superuser %s with password %s (shown only now)\n", norm, pw)
	case exists && o.adminPassword != "":
		fmt.Fprintf(stdout, "superuser %s already exists and keeps its password: GATEHOUSE_ADMIN_PASSWORD only creates accounts\n", norm)
	}
	return nil
}
