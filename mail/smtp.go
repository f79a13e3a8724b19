package mail

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/smtp"
	"net/textproto"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// TLSMode says how an [SMTP] mailer protects its connection. Its text form
// (see [TLSMode.UnmarshalText]) is "starttls", "tls" or "none", so a
// TLSMode can be a command-line flag through [flag.TextVar].
type TLSMode int

const (
	// TLSStartTLS connects in plain text and upgrades the connection with
	// STARTTLS (RFC 3207) before anything else is sent; the usual port is
	// 587. A server that does not offer STARTTLS is an error
	// ([ErrSTARTTLSUnavailable]): there is no fallback to plain text. This
	// is the default.
	TLSStartTLS TLSMode = iota

	// TLSImplicit speaks TLS from the first byte ("implicit TLS", RFC 8314
	// §3.3); the usual port is 465.
	TLSImplicit

	// TLSNone sends everything in plain text, for a relay on the same host
	// or a network you trust; the usual port is 25. Credentials are then
	// refused unless the server is on a loopback address.
	TLSNone
)

// String returns the text form of m: "starttls", "tls" or "none".
func (m TLSMode) String() string {
	switch m {
	case TLSStartTLS:
		return "starttls"
	case TLSImplicit:
		return "tls"
	case TLSNone:
		return "none"
	}
	return "TLSMode(" + strconv.Itoa(int(m)) + ")"
}

// MarshalText returns the text form of m, or an error for an unknown mode.
func (m TLSMode) MarshalText() ([]byte, error) {
	if m < TLSStartTLS || m > TLSNone {
		return nil, fmt.Errorf("%w: unknown TLS mode %d", ErrInvalidConfig, int(m))
	}
	return []byte(m.String()), nil
}

// UnmarshalText sets m from "starttls", "tls" or "none" (in any case). It
// returns an error wrapping [ErrInvalidConfig] for anything else, leaving m
// unchanged.
func (m *TLSMode) UnmarshalText(text []byte) error {
	switch strings.ToLower(string(text)) {
	case "starttls":
		*m = TLSStartTLS
	case "tls":
		*m = TLSImplicit
	case "none":
		*m = TLSNone
	default:
		return fmt.Errorf("%w: TLS mode %q is not starttls, tls or none", ErrInvalidConfig, text)
	}
	return nil
}

// defaultPort is the port [NewSMTP] adds to an Addr without one.
func (m TLSMode) defaultPort() string {
	switch m {
	case TLSImplicit:
		return "465"
	case TLSNone:
		return "25"
	}
	return "587"
}

// DefaultSMTPTimeout bounds one [SMTP.Send] when neither the context nor
// [SMTPConfig].Timeout sets a shorter limit.
const DefaultSMTPTimeout = time.Minute

// SMTPConfig configures an [SMTP] mailer. Only Addr is required.
type SMTPConfig struct {
	// Addr is the server's "host:port", for example "smtp.example.com:587".
	// Without a port, the usual one for the TLS mode is used: 587 for
	// TLSStartTLS, 465 for TLSImplicit, 25 for TLSNone.
	Addr string

	// From is the sender of messages whose From is empty; it is also the
	// envelope sender (MAIL FROM) of those messages. Messages that name
	// their own From are sent from that address. Optional, but a message
	// without a From then cannot be sent.
	From Address

	// Username and Password, when set, authenticate with AUTH PLAIN, or
	// AUTH LOGIN when the server offers only that. They are sent only over
	// TLS, or in plain text to a server on a loopback address when TLS is
	// TLSNone. Set both or neither.
	Username string
	Password string

	// TLS is how the connection is protected. Default TLSStartTLS.
	TLS TLSMode

	// TLSConfig is used for STARTTLS and implicit TLS. Default: one that
	// verifies the server's certificate for the host of Addr and requires
	// TLS 1.2 or later. A given config is cloned; an empty ServerName is
	// set to the host of Addr and a zero MinVersion to TLS 1.2. It must be
	// nil with TLSNone.
	TLSConfig *tls.Config

	// HelloName is the name sent with EHLO: the client's fully qualified
	// domain name. Default: the connection's local IP address as an
	// address literal ("[192.0.2.1]"), as RFC 5321 §4.1.4 allows for a
	// client without a meaningful name.
	HelloName string

	// Timeout bounds one Send, from dialling to the server's acceptance of
	// the message, when the context has no earlier deadline. Default
	// [DefaultSMTPTimeout].
	Timeout time.Duration
}

// SMTP is a mailer that delivers messages to an SMTP submission server (RFC
// 6409) or relay. Build one with [NewSMTP].
//
// Each Send opens its own connection, delivers one message and closes it
// (QUIT). The auth Manager sends a few messages per user action, for which
// a pool of connections would buy little and cost much (idle connections
// closed by the server, broken ones to detect and retry). SMTP is immutable
// and safe for concurrent use; concurrent Sends use separate connections.
//
// A Send goes:
//
//  1. [Compose] the message (nothing is dialled for an invalid one);
//  2. dial, with TLS from the start under TLSImplicit; EHLO;
//  3. under TLSStartTLS, STARTTLS and EHLO again, or fail with
//     [ErrSTARTTLSUnavailable] if the server does not offer it;
//  4. when an address is not ASCII, require SMTPUTF8
//     ([ErrSMTPUTF8Unavailable]);
//  5. with credentials, AUTH PLAIN (or LOGIN when only LOGIN is offered;
//     [ErrAuthUnavailable] when neither is);
//  6. MAIL FROM (with SMTPUTF8 and BODY=8BITMIME when the server offers
//     them), RCPT TO for each recipient, DATA, QUIT.
//
// Bodies that are not ASCII go 8bit (see [Compose]) when the server offers
// 8BITMIME, and quoted-printable when it does not.
//
// The envelope recipients are the message's To addresses. If the server
// refuses any of them, nothing is sent. Once the server has accepted the
// message, Send reports success even if QUIT then fails, so that a retry
// cannot deliver the message twice.
type SMTP struct {
	addr     string // host:port
	from     Address
	username string
	password string
	mode     TLSMode
	tls      *tls.Config // nil under TLSNone
	hello    string
	timeout  time.Duration
}

// NewSMTP checks cfg and returns an [SMTP] mailer. It does no I/O: a wrong
// address or password shows up at the first Send. It returns an error
// wrapping [ErrInvalidConfig] when Addr is missing or malformed, From is
// set but invalid, only one of Username and Password is set (or either
// holds a NUL byte), TLS is unknown, TLSConfig is set with TLSNone,
// credentials are set with TLSNone and the host is not a loopback address
// ("localhost", "127.0.0.1", "::1" and the like), HelloName is not a domain
// name or an address literal, or Timeout is negative.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	bad := func(format string, args ...any) (*SMTP, error) {
		return nil, fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, args...))
	}
	if cfg.TLS < TLSStartTLS || cfg.TLS > TLSNone {
		return bad("unknown TLS mode %d", int(cfg.TLS))
	}
	if cfg.Addr == "" {
		return bad("Addr is required")
	}
	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		// Add the default port, unless the address is an IPv6 literal
		// without brackets ("::1"), which gains no port this way.
		host, port, err = net.SplitHostPort(cfg.Addr + ":" + cfg.TLS.defaultPort())
		if err != nil {
			return bad("Addr is not host:port")
		}
	}
	if host == "" || strings.ContainsAny(host, " \t\r\n/") {
		return bad("Addr has no valid host")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return bad("Addr has no valid port")
	}
	if cfg.From != (Address{}) {
		if err := cfg.From.validate("From"); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
		}
	}
	if (cfg.Username == "") != (cfg.Password == "") {
		return bad("set both Username and Password, or neither")
	}
	if strings.ContainsRune(cfg.Username, 0) || strings.ContainsRune(cfg.Password, 0) {
		return bad("Username and Password must not contain NUL")
	}
	if cfg.TLS == TLSNone {
		if cfg.TLSConfig != nil {
			return bad("TLSConfig is set but TLS is none")
		}
		if cfg.Username != "" && !isLoopbackHost(host) {
			return bad("credentials over plain text (TLS none) are allowed only to a loopback host")
		}
	}
	if cfg.HelloName != "" && !validHelloName(cfg.HelloName) {
		return bad("HelloName is neither a domain name nor an address literal")
	}
	if cfg.Timeout < 0 {
		return bad("Timeout is negative")
	}
	s := &SMTP{
		addr:     net.JoinHostPort(host, port),
		from:     cfg.From,
		username: cfg.Username,
		password: cfg.Password,
		mode:     cfg.TLS,
		hello:    cfg.HelloName,
		timeout:  cfg.Timeout,
	}
	if s.timeout == 0 {
		s.timeout = DefaultSMTPTimeout
	}
	if cfg.TLS != TLSNone {
		if cfg.TLSConfig == nil {
			s.tls = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
		} else {
			s.tls = cfg.TLSConfig.Clone()
			if s.tls.ServerName == "" {
				s.tls.ServerName = host
			}
			if s.tls.MinVersion == 0 {
				s.tls.MinVersion = tls.VersionTLS12
			}
		}
	}
	return s, nil
}

// Send delivers m as described on [SMTP]. The connection's deadline is the
// context's deadline or now plus [SMTPConfig].Timeout, whichever is
// earlier, and the connection is closed at once if the context ends.
//
// Errors, all of which name the failing step and none of which contains a
// message body or a credential:
//
//   - an error wrapping [ErrInvalidMessage] for an invalid message or one
//     without a sender; nothing is dialled;
//   - an [*SMTPError] when the server answers with a 4xx or 5xx reply;
//     [SMTPError.Temporary] tells them apart, and 5xx replies match
//     [ErrPermanent];
//   - [ErrSTARTTLSUnavailable], [ErrAuthUnavailable],
//     [ErrSMTPUTF8Unavailable] or [ErrInvalidConfig] (wrapped) when the
//     server lacks what the configuration or message needs;
//   - an error wrapping [context.Canceled] or [context.DeadlineExceeded]
//     when the context or the timeout ended the attempt;
//   - otherwise the network or TLS error, wrapped. A certificate that does
//     not verify is such an error.
//
// Only the [ErrPermanent] ones are worth not retrying; the others may pass.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	msg, eightBit, err := compose(m, ComposeOptions{DefaultFrom: s.from})
	if err != nil {
		return fmt.Errorf("mail: smtp: %w", err)
	}
	from := m.From.Email
	if m.From == (Address{}) {
		from = s.from.Email
	}
	rcpts := make([]string, len(m.To))
	utf8 := !isASCII(from)
	for i, a := range m.To {
		rcpts[i] = a.Email
		utf8 = utf8 || !isASCII(a.Email)
	}

	deadline := time.Now().Add(s.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	st := &sendState{s: s, ctx: ctx}

	conn, err := s.dial(ctx)
	if err != nil {
		return st.fail("dial", err)
	}
	defer conn.Close()
	// Closing the connection is what interrupts a read or write blocked
	// on the network when the context ends.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if err := conn.SetDeadline(deadline); err != nil {
		return st.fail("dial", err)
	}

	c, err := smtp.NewClient(conn, s.tlsServerName())
	if err != nil {
		return st.fail("greeting", err)
	}
	st.c = c
	defer c.Close()
	hello := s.hello
	if hello == "" {
		hello = addressLiteral(conn.LocalAddr())
	}
	if err := c.Hello(hello); err != nil {
		return st.fail("EHLO", err)
	}
	if s.mode == TLSStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return st.refuse(fmt.Errorf("%w (%s)", ErrSTARTTLSUnavailable, s.addr))
		}
		if err := c.StartTLS(s.tls); err != nil {
			return st.fail("STARTTLS", err)
		}
	}
	if utf8 {
		if ok, _ := c.Extension("SMTPUTF8"); !ok {
			return st.refuse(fmt.Errorf("%w (%s)", ErrSMTPUTF8Unavailable, s.addr))
		}
	}
	if eightBit {
		if ok, _ := c.Extension("8BITMIME"); !ok {
			// 8-bit bodies need 8BITMIME (RFC 6152): without it they go
			// quoted-printable.
			if msg, _, err = compose(m, ComposeOptions{DefaultFrom: s.from, SevenBit: true}); err != nil {
				return st.refuse(fmt.Errorf("mail: smtp: %w", err))
			}
		}
	}
	if s.username != "" {
		if err := st.auth(conn.RemoteAddr()); err != nil {
			return err
		}
	}
	if err := c.Mail(from); err != nil {
		return st.fail("MAIL", err)
	}
	for _, r := range rcpts {
		if err := c.Rcpt(r); err != nil {
			return st.fail("RCPT", err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return st.fail("DATA", err)
	}
	if _, err := w.Write(msg); err != nil {
		return st.fail("DATA", err)
	}
	if err := w.Close(); err != nil {
		return st.fail("DATA", err)
	}
	// The server has taken the message: a failed QUIT changes nothing.
	_ = c.Quit()
	return nil
}

// tlsServerName is the name net/smtp checks its own auth mechanisms
// against; ours do not use it, but it should be the server's.
func (s *SMTP) tlsServerName() string {
	host, _, _ := net.SplitHostPort(s.addr)
	return host
}

func (s *SMTP) dial(ctx context.Context) (net.Conn, error) {
	d := &net.Dialer{}
	if s.mode == TLSImplicit {
		return (&tls.Dialer{NetDialer: d, Config: s.tls}).DialContext(ctx, "tcp", s.addr)
	}
	return d.DialContext(ctx, "tcp", s.addr)
}

// sendState is one Send in progress.
type sendState struct {
	s   *SMTP
	ctx context.Context
	c   *smtp.Client // nil until the greeting has been read
}

// auth authenticates with the configured credentials.
func (st *sendState) auth(remote net.Addr) error {
	s := st.s
	plainText := s.mode == TLSNone
	if plainText && !isLoopbackAddr(remote) {
		// NewSMTP accepted the host as loopback ("localhost"), but it
		// resolved elsewhere.
		return st.refuse(fmt.Errorf("%w: refusing to send credentials in plain text to %s, which is not a loopback address", ErrInvalidConfig, remote))
	}
	ok, list := st.c.Extension("AUTH")
	var a smtp.Auth
	if ok {
		mechs := strings.Fields(strings.ToUpper(list))
		switch {
		case slices.Contains(mechs, "PLAIN"):
			a = &plainAuth{username: s.username, password: s.password, plainText: plainText}
		case slices.Contains(mechs, "LOGIN"):
			a = &loginAuth{username: s.username, password: s.password, plainText: plainText}
		}
	}
	if a == nil {
		return st.refuse(fmt.Errorf("%w (%s)", ErrAuthUnavailable, s.addr))
	}
	if err := st.c.Auth(a); err != nil {
		return st.fail("AUTH", err)
	}
	return nil
}

// refuse ends the session politely for a reason of ours and returns err.
func (st *sendState) refuse(err error) error {
	if st.ctx.Err() == nil {
		_ = st.c.Quit()
	}
	return err
}

// fail turns an error from step op into the error Send returns.
func (st *sendState) fail(op string, err error) error {
	if ctxErr := st.ctx.Err(); ctxErr != nil {
		// The context or the timeout ended the attempt (the error itself is
		// then usually "use of closed network connection").
		return fmt.Errorf("mail: smtp: %s: %w", op, ctxErr)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("mail: smtp: %s: %w", op, context.DeadlineExceeded)
	}
	var te *textproto.Error
	if errors.As(err, &te) {
		se := &SMTPError{Op: op, Code: te.Code, Message: st.scrub(te.Msg)}
		if st.c != nil {
			_ = st.c.Quit()
		}
		return se
	}
	return fmt.Errorf("mail: smtp: %s: %w", op, err)
}

// maxReplyLen bounds the server text kept in an SMTPError.
const maxReplyLen = 512

// scrub removes the credentials, plain or base64-encoded, from a server
// reply (a server might echo what it was sent), joins its lines and bounds
// its length.
func (st *sendState) scrub(msg string) string {
	s := st.s
	if s.password != "" {
		for _, secret := range []string{
			s.password,
			base64.StdEncoding.EncodeToString([]byte(s.password)),
			base64.StdEncoding.EncodeToString([]byte("\x00" + s.username + "\x00" + s.password)),
		} {
			msg = strings.ReplaceAll(msg, secret, "[redacted]")
		}
	}
	msg = strings.Join(strings.Fields(msg), " ")
	if len(msg) > maxReplyLen {
		msg = strings.ToValidUTF8(msg[:maxReplyLen], "") + "…"
	}
	return msg
}

// SMTPError is a 4xx or 5xx reply from an SMTP server, as returned by
// [SMTP.Send]. It never holds a message body or a credential: Message is
// the server's reply text (with any credential the server echoed removed),
// which may name an address.
type SMTPError struct {
	// Op is the step the server refused: "greeting", "EHLO", "STARTTLS",
	// "AUTH", "MAIL", "RCPT" or "DATA".
	Op string
	// Code is the reply code, such as 451 or 550.
	Code int
	// Message is the reply text, usually starting with an enhanced status
	// code (RFC 3463) such as "5.1.1".
	Message string
}

// Error returns "mail: smtp: <Op>: <Code> <Message>".
func (e *SMTPError) Error() string {
	return fmt.Sprintf("mail: smtp: %s: %d %s", e.Op, e.Code, e.Message)
}

// Temporary reports whether the reply is a transient failure (4xx), which
// a later attempt may get past. A 5xx reply is permanent.
func (e *SMTPError) Temporary() bool { return e.Code >= 400 && e.Code < 500 }

// Is reports whether target is [ErrPermanent] and the reply is a permanent
// failure (5xx), so that errors.Is(err, mail.ErrPermanent) holds for it.
func (e *SMTPError) Is(target error) bool {
	return target == ErrPermanent && e.Code >= 500 && e.Code < 600
}

// plainAuth is AUTH PLAIN (RFC 4616) with an initial response.
// net/smtp.PlainAuth would do over TLS, but it decides for itself when
// plain text is acceptable; this one follows the SMTP mailer's rules.
type plainAuth struct {
	username, password string
	plainText          bool // Send checked that plain text is acceptable
}

func (a *plainAuth) Start(server *smtp.ServerInfo) (string, []byte, error) {
	if !server.TLS && !a.plainText {
		return "", nil, errors.New("mail: smtp: refusing AUTH without TLS")
	}
	return "PLAIN", []byte("\x00" + a.username + "\x00" + a.password), nil
}

func (a *plainAuth) Next(_ []byte, more bool) ([]byte, error) {
	if more {
		return nil, errors.New("mail: smtp: unexpected AUTH PLAIN challenge")
	}
	return nil, nil
}

// loginAuth is AUTH LOGIN (draft-murchison-sasl-login): the server prompts
// for the user name, then the password. The prompts' wording varies between
// servers, so they are told apart by order, not by text.
type loginAuth struct {
	username, password string
	plainText          bool
	step               int
}

func (a *loginAuth) Start(server *smtp.ServerInfo) (string, []byte, error) {
	if !server.TLS && !a.plainText {
		return "", nil, errors.New("mail: smtp: refusing AUTH without TLS")
	}
	a.step = 0
	return "LOGIN", nil, nil
}

func (a *loginAuth) Next(_ []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	a.step++
	switch a.step {
	case 1:
		return []byte(a.username), nil
	case 2:
		return []byte(a.password), nil
	}
	return nil, errors.New("mail: smtp: unexpected AUTH LOGIN challenge")
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// isLoopbackHost reports whether host names the local machine: "localhost"
// or a loopback IP address.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

func isLoopbackAddr(a net.Addr) bool {
	tcp, ok := a.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

// addressLiteral returns a's IP as an RFC 5321 address literal:
// "[192.0.2.1]" or "[IPv6:2001:db8::1]".
func addressLiteral(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return "localhost"
	}
	ip, ok := netip.AddrFromSlice(tcp.IP)
	if !ok {
		return "localhost"
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is4() {
		return "[" + ip.String() + "]"
	}
	return "[IPv6:" + ip.String() + "]"
}

// validHelloName accepts an ASCII domain name or an address literal.
func validHelloName(name string) bool {
	if len(name) > 255 {
		return false
	}
	if strings.HasPrefix(name, "[") && strings.HasSuffix(name, "]") {
		lit := name[1 : len(name)-1]
		if v6, ok := strings.CutPrefix(lit, "IPv6:"); ok {
			ip, err := netip.ParseAddr(v6)
			return err == nil && ip.Is6() && ip.Zone() == ""
		}
		ip, err := netip.ParseAddr(lit)
		return err == nil && ip.Is4()
	}
	if !isASCII(name) {
		return false
	}
	return checkDomain(strings.TrimSuffix(name, ".")) == nil
}
