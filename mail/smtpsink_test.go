package mail_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// This file runs a real SMTP server in the test process: emersion/go-smtp's
// server on 127.0.0.1, with a backend that records every envelope and the
// raw DATA, and that can be told to offer STARTTLS or implicit TLS, AUTH
// PLAIN and LOGIN, SMTPUTF8, to hide 8BITMIME, to fail chosen commands and
// to stall.

// sinkTLS is how a sink offers TLS.
type sinkTLS int

const (
	sinkPlain    sinkTLS = iota // no TLS at all: STARTTLS is not offered
	sinkSTARTTLS                // STARTTLS offered
	sinkImplicit                // TLS from the first byte
)

// sinkOptions configure a sink.
type sinkOptions struct {
	TLS sinkTLS
	// Mechs are the AUTH mechanisms offered (after TLS, or at once with
	// AllowInsecureAuth); the sink implements PLAIN and LOGIN.
	Mechs []string
	// Username and Password are the credentials the sink accepts; when
	// set, MAIL requires a successful AUTH.
	Username, Password string
	// AuthReply, when set, is the error returned for wrong credentials.
	AuthReply *smtp.SMTPError
	// AllowInsecureAuth offers AUTH without TLS.
	AllowInsecureAuth bool
	// SMTPUTF8 advertises SMTPUTF8.
	SMTPUTF8 bool
	// No8BitMIME hides the 8BITMIME extension, which go-smtp always
	// offers, from the EHLO reply (a sinkPlain sink only: the reply is
	// rewritten on the wire).
	No8BitMIME bool
	// Fail, when set, is asked before each MAIL, RCPT and DATA (after the
	// data is read); a non-nil error is the reply. attempt counts MAIL
	// commands from 1.
	Fail func(attempt int, cmd, arg string) error
	// Stall, when set, makes MAIL signal Stalled and wait until Stall is
	// closed.
	Stall chan struct{}
	// RefuseSessions makes every EHLO and HELO fail with a 421 reply.
	RefuseSessions bool
}

// received is one message the sink accepted.
type received struct {
	Hello    string
	TLS      bool
	AuthMech string
	AuthUser string
	From     string
	UTF8     bool   // MAIL FROM carried SMTPUTF8
	Body     string // MAIL FROM's BODY parameter ("8BITMIME"), if any
	To       []string
	Data     []byte
}

// sink is a running SMTP server that records what it receives.
type sink struct {
	Addr    string
	RootCAs *x509.CertPool
	// Stalled receives once per MAIL that stalls (see sinkOptions.Stall).
	Stalled chan struct{}

	opt sinkOptions

	mu       sync.Mutex
	mails    []received
	conns    int
	attempts int
	commands []string
}

// startSink starts a sink and stops it when the test ends.
func startSink(tb testing.TB, opt sinkOptions) *sink {
	tb.Helper()
	cert, pool := testCert(tb)
	s := &sink{opt: opt, RootCAs: pool, Stalled: make(chan struct{}, 16)}
	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Domain = "sink.test"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	srv.AllowInsecureAuth = opt.AllowInsecureAuth
	srv.EnableSMTPUTF8 = opt.SMTPUTF8
	if opt.No8BitMIME && opt.TLS != sinkPlain {
		tb.Fatalf("No8BitMIME needs a plain-text sink")
	}
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listen: %v", err)
	}
	switch opt.TLS {
	case sinkSTARTTLS:
		srv.TLSConfig = tlsCfg
	case sinkImplicit:
		l = tls.NewListener(l, tlsCfg)
	}
	l = &countingListener{Listener: l, s: s}
	s.Addr = l.Addr().String()
	served := make(chan struct{})
	go func() {
		defer close(served)
		srv.Serve(l)
	}()
	tb.Cleanup(func() {
		// Close the listener too: Close misses it if Serve has not
		// registered it yet.
		srv.Close()
		l.Close()
		<-served
	})
	if opt.Stall != nil {
		// Runs before srv.Close (cleanups run last-in first-out), so a
		// stalled session can end.
		tb.Cleanup(func() {
			select {
			case <-opt.Stall:
			default:
				close(opt.Stall)
			}
		})
	}
	return s
}

// Mails returns copies of the accepted messages.
func (s *sink) Mails() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]received, len(s.mails))
	for i, m := range s.mails {
		m.To = slices.Clone(m.To)
		m.Data = slices.Clone(m.Data)
		out[i] = m
	}
	return out
}

// Conns is how many connections the server accepted.
func (s *sink) Conns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// countingListener counts the connections it accepts.
type countingListener struct {
	net.Listener
	s *sink
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.s.mu.Lock()
		l.s.conns++
		l.s.mu.Unlock()
		if l.s.opt.No8BitMIME {
			c = hide8BitMIME{c}
		}
	}
	return c, err
}

// hide8BitMIME drops the 8BITMIME line from the server's EHLO reply. go-smtp
// writes each reply line with a Write of its own, and 8BITMIME is never the
// last line, so the reply stays well-formed.
type hide8BitMIME struct{ net.Conn }

func (c hide8BitMIME) Write(p []byte) (int, error) {
	if string(p) == "250-8BITMIME\r\n" {
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// Attempts is how many MAIL commands arrived.
func (s *sink) Attempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts
}

// Commands lists the transaction commands received, such as "MAIL" and
// "RCPT".
func (s *sink) Commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.commands)
}

func (s *sink) newSession(c *smtp.Conn) (smtp.Session, error) {
	if s.opt.RefuseSessions {
		return nil, &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "service not available"}
	}
	_, isTLS := c.TLSConnectionState()
	return &sinkSession{sink: s, conn: c, cur: received{Hello: c.Hostname(), TLS: isTLS}}, nil
}

type sinkSession struct {
	sink    *sink
	conn    *smtp.Conn
	authed  bool
	cur     received
	attempt int
}

var _ smtp.AuthSession = (*sinkSession)(nil)

func (ss *sinkSession) AuthMechanisms() []string { return ss.sink.opt.Mechs }

func (ss *sinkSession) Auth(mech string) (sasl.Server, error) {
	if !slices.Contains(ss.sink.opt.Mechs, mech) {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	check := func(user, pass string) error {
		o := ss.sink.opt
		if user != o.Username || pass != o.Password {
			if o.AuthReply != nil {
				return o.AuthReply
			}
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication credentials invalid"}
		}
		ss.authed = true
		ss.cur.AuthMech, ss.cur.AuthUser = mech, user
		return nil
	}
	if mech == sasl.Plain {
		return sasl.NewPlainServer(func(identity, user, pass string) error {
			if identity != "" && identity != user {
				return errors.New("identity differs from user name")
			}
			return check(user, pass)
		}), nil
	}
	return &loginServer{check: check}, nil
}

// loginServer is the server side of AUTH LOGIN, which go-sasl lacks.
type loginServer struct {
	check func(user, pass string) error
	step  int
	user  string
}

func (l *loginServer) Next(response []byte) ([]byte, bool, error) {
	l.step++
	switch l.step {
	case 1:
		if response != nil {
			return nil, false, errors.New("unexpected initial response")
		}
		return []byte("Username:"), false, nil
	case 2:
		l.user = string(response)
		return []byte("Password:"), false, nil
	case 3:
		return nil, true, l.check(l.user, string(response))
	}
	return nil, false, errors.New("too many steps")
}

func (ss *sinkSession) record(cmd string) {
	ss.sink.mu.Lock()
	ss.sink.commands = append(ss.sink.commands, cmd)
	ss.sink.mu.Unlock()
}

func (ss *sinkSession) fail(cmd, arg string) error {
	if f := ss.sink.opt.Fail; f != nil {
		return f(ss.attempt, cmd, arg)
	}
	return nil
}

func (ss *sinkSession) Mail(from string, opts *smtp.MailOptions) error {
	ss.record("MAIL")
	ss.sink.mu.Lock()
	ss.sink.attempts++
	ss.attempt = ss.sink.attempts
	ss.sink.mu.Unlock()
	if ss.sink.opt.Username != "" && !ss.authed {
		return smtp.ErrAuthRequired
	}
	if stall := ss.sink.opt.Stall; stall != nil {
		ss.sink.Stalled <- struct{}{}
		<-stall
	}
	if err := ss.fail("MAIL", from); err != nil {
		return err
	}
	ss.cur.From = from
	ss.cur.UTF8 = opts != nil && opts.UTF8
	if opts != nil {
		ss.cur.Body = string(opts.Body)
	}
	return nil
}

func (ss *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.record("RCPT")
	if err := ss.fail("RCPT", to); err != nil {
		return err
	}
	ss.cur.To = append(ss.cur.To, to)
	return nil
}

func (ss *sinkSession) Data(r io.Reader) error {
	ss.record("DATA")
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if err := ss.fail("DATA", ""); err != nil {
		return err
	}
	m := ss.cur
	m.Data = data
	ss.sink.mu.Lock()
	ss.sink.mails = append(ss.sink.mails, m)
	ss.sink.mu.Unlock()
	return nil
}

func (ss *sinkSession) Reset() {
	ss.cur = received{Hello: ss.cur.Hello, TLS: ss.cur.TLS, AuthMech: ss.cur.AuthMech, AuthUser: ss.cur.AuthUser}
}

func (ss *sinkSession) Logout() error { return nil }

// replyError returns the reply a sink sends for code, such as 451 or 550.
func replyError(code int) *smtp.SMTPError {
	return &smtp.SMTPError{
		Code:         code,
		EnhancedCode: smtp.EnhancedCode{code / 100, 0, 0},
		Message:      "test reply",
	}
}

var testCertOnce = sync.OnceValues(func() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "gatehouse test SMTP server"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
})

// testCert returns a self-signed certificate for 127.0.0.1, ::1 and
// localhost, and a pool that trusts it.
func testCert(tb testing.TB) (tls.Certificate, *x509.CertPool) {
	tb.Helper()
	cert, err := testCertOnce()
	if err != nil {
		tb.Fatalf("generating a test certificate: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert.Leaf)
	return cert, pool
}
