// Command server is Gatehouse's example server: a complete authentication
// server, wire-compatible with R2R's /v2 auth API, that runs with no set-up.
//
//	go run ./examples/server
//
// It keeps its data in an embedded SQLite database (-db, default
// gatehouse.db) and writes outgoing mail as .eml files into a folder
// (-maildir, default gatehouse-mail) unless an SMTP server is given
// (-smtp-addr). It prints "listening on http://ADDR" when it is ready and
// shuts down cleanly on SIGINT or SIGTERM.
//
// Flags:
//
//	-addr string                   address to listen on (default "127.0.0.1:7272")
//	-db string                     SQLite database file (default "gatehouse.db")
//	-maildir string                folder for outgoing mail as .eml files (default "gatehouse-mail")
//	-require-email-verification    new users verify their email before they can log in
//	-access-ttl duration           access-token lifetime (default 15m0s)
//	-refresh-ttl duration          session (refresh-token) lifetime (default 720h0m0s)
//	-base-url string               public URL of the application, for links in mail
//	-smtp-addr string              deliver mail through this SMTP server (host:port)
//	-smtp-from string              sender address, e.g. "Example <no-reply@example.com>"
//	-smtp-user string              SMTP user name
//	-smtp-password string          SMTP password (or the environment variable SMTP_PASSWORD)
//	-smtp-tls starttls|tls|none    SMTP transport security (default starttls)
//	-trusted-proxies list          reverse proxies whose X-Forwarded-For is believed:
//	                               comma-separated CIDR prefixes or addresses
//
// Behind a reverse proxy (a load balancer, a CDN), list it in
// -trusted-proxies, or every client shares the proxy's per-IP limits. The
// server gives that one setting to its middleware.Guard, which the API
// (httpapi.Config.Guard) and any route of the application's own use alike.
//
// Environment:
//
//	GATEHOUSE_ADMIN_EMAIL, GATEHOUSE_ADMIN_PASSWORD
//	    ensure this superuser at start. Without them, a superuser
//	    admin@example.com is created once with a random password, which is
//	    printed once.
//	GATEHOUSE_SIGNING_KEY
//	    the access-token signing key: at least 32 bytes, hex or base64.
//	    Without it, a key is generated once and kept beside the database
//	    (DB.key, mode 0600), so restarts keep sessions valid.
package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	netmail "net/mail"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	_ "modernc.org/sqlite"

	"github.com/gatehouse-go/gatehouse/audit"
	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/httpapi"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/sqlstore"
)

// defaultAdmin is the superuser created when the environment names none.
const defaultAdmin = "admin@example.com"

// options are the command line.
type options struct {
	addr, db, maildir, baseURL           string
	requireVerification                  bool
	accessTTL, refreshTTL                time.Duration
	smtpAddr, smtpFrom, smtpUser, smtpPW string
	smtpTLS                              mail.TLSMode
	trustedProxies                       []netip.Prefix
}

func main() {
	var o options
	fs := flag.NewFlagSet("server", flag.ExitOnError)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:7272", "address to listen on")
	fs.StringVar(&o.db, "db", "gatehouse.db", "SQLite database file")
	fs.StringVar(&o.maildir, "maildir", "gatehouse-mail", "folder for outgoing mail as .eml files")
	fs.BoolVar(&o.requireVerification, "require-email-verification", false, "new users verify their email before they can log in")
	fs.DurationVar(&o.accessTTL, "access-ttl", auth.DefaultAccessTokenTTL, "access-token lifetime")
	fs.DurationVar(&o.refreshTTL, "refresh-ttl", auth.DefaultRefreshTokenTTL, "session (refresh-token) lifetime")
	fs.StringVar(&o.baseURL, "base-url", "", "public URL of the application, for links in mail")
	fs.StringVar(&o.smtpAddr, "smtp-addr", "", "deliver mail through this SMTP server (host:port) instead of -maildir")
	fs.StringVar(&o.smtpFrom, "smtp-from", "", `sender address, e.g. "Example <no-reply@example.com>"`)
	fs.StringVar(&o.smtpUser, "smtp-user", "", "SMTP user name")
	fs.StringVar(&o.smtpPW, "smtp-password", os.Getenv("SMTP_PASSWORD"), "SMTP password (default $SMTP_PASSWORD)")
	fs.TextVar(&o.smtpTLS, "smtp-tls", mail.TLSStartTLS, "SMTP transport security: starttls, tls or none")
	fs.Func("trusted-proxies", "reverse proxies whose X-Forwarded-For is believed: comma-separated CIDR prefixes or addresses, e.g. 10.0.0.0/8,192.0.2.7", func(v string) error {
		var err error
		o.trustedProxies, err = parseProxies(v)
		return err
	})
	fs.Parse(os.Args[1:])

	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, os.Stdout, logger); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends, then shuts down cleanly.
func run(ctx context.Context, o options, stdout io.Writer, logger *slog.Logger) error {
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
	mailer, from, err := newMailer(o)
	if err != nil {
		return err
	}
	// The audit log: every auth event stored in the same database, read
	// back by superusers at /v2/logs and /v2/analytics.
	rec, err := audit.New(audit.Config{Runs: st, Logger: logger})
	if err != nil {
		return err
	}
	m, err := auth.New(auth.Config{
		Store:        st,
		Audit:        rec,
		Mailer:       mailer,
		Mail:         auth.MailConfig{From: from},
		Tokens:       auth.TokenConfig{SigningKey: key, AccessTTL: o.accessTTL},
		Sessions:     auth.SessionConfig{TTL: o.refreshTTL},
		Verification: auth.VerificationConfig{Required: o.requireVerification},
		BaseURL:      o.baseURL,
		Logger:       logger,
	})
	if err != nil {
		return err
	}
	if err := ensureAdmin(ctx, m, st, stdout); err != nil {
		return err
	}
	reader, err := audit.NewReader(m, st)
	if err != nil {
		return err
	}
	// One Guard finds every request's client: the proxies are set here
	// once, for the API and for any route of the application's own.
	guard := middleware.New(m, middleware.Config{Logger: logger, TrustedProxies: o.trustedProxies})
	api, err := httpapi.New(m, httpapi.Config{Logger: logger, Audit: reader, Guard: guard})
	if err != nil {
		return err
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "Gatehouse example server: the auth API is under /v2/ (try /v2/health).")
	})
	api.Mount(mux)

	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	// Expired sessions, secrets and counters, and audit runs past their
	// retention, are purged hourly until shutdown.
	hctx, stopHousekeeping := context.WithCancel(context.Background())
	housekept := make(chan struct{})
	go func() { defer close(housekept); m.Housekeep(hctx, time.Hour) }()
	defer func() { stopHousekeeping(); <-housekept }()
	fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())

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
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	return db, nil
}

// signingKey returns the key from GATEHOUSE_SIGNING_KEY, or the one kept
// beside the database, generating it on the first start.
func signingKey(dbPath string) ([]byte, error) {
	if v := strings.TrimSpace(os.Getenv("GATEHOUSE_SIGNING_KEY")); v != "" {
		key, err := decodeKey(v)
		if err != nil {
			return nil, fmt.Errorf("GATEHOUSE_SIGNING_KEY: %w", err)
		}
		return key, nil
	}
	path := dbPath + ".key"
	b, err := os.ReadFile(path)
	if err == nil {
		key, err := decodeKey(strings.TrimSpace(string(b)))
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

// decodeKey reads a key written in hex or base64 (standard or URL, padded
// or not) and insists on at least 32 bytes.
func decodeKey(s string) ([]byte, error) {
	decoders := []func(string) ([]byte, error){
		hex.DecodeString,
		base64.StdEncoding.DecodeString,
		base64.RawStdEncoding.DecodeString,
		base64.URLEncoding.DecodeString,
		base64.RawURLEncoding.DecodeString,
	}
	for _, d := range decoders {
		if key, err := d(s); err == nil {
			if len(key) < 32 {
				return nil, errors.New("the key must be at least 32 bytes")
			}
			return key, nil
		}
	}
	return nil, errors.New("the key must be hex or base64")
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
		return nil, from, err
	}
	return s, from, nil
}

// ensureAdmin makes sure a superuser exists: the one the environment names,
// or admin@example.com with a random password printed once, when it is
// first created.
func ensureAdmin(ctx context.Context, m *auth.Manager, st store.Users, stdout io.Writer) error {
	email, password := os.Getenv("GATEHOUSE_ADMIN_EMAIL"), os.Getenv("GATEHOUSE_ADMIN_PASSWORD")
	if email != "" || password != "" {
		if email == "" || password == "" {
			return errors.New("set both GATEHOUSE_ADMIN_EMAIL and GATEHOUSE_ADMIN_PASSWORD, or neither")
		}
		_, err := m.EnsureSuperuser(ctx, email, password)
		return err
	}
	if _, err := st.UserByEmail(ctx, defaultAdmin); err == nil {
		return nil // created on an earlier start; its password was printed then
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	password = rand.Text()
	if _, err := m.EnsureSuperuser(ctx, defaultAdmin, password); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created superuser %s with password %s (shown only now)\n", defaultAdmin, password)
	return nil
}
