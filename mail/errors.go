package mail

import "errors"

// Errors returned by this package. Test for them with [errors.Is]; the
// returned errors wrap them with the reason. No error built by this package
// contains a message body, a token, a code or a link.
var (
	// ErrInvalidMessage means a [Message] cannot be sent as it is: a
	// missing or malformed address, a control character (such as CR or LF)
	// in a header value, a missing Subject or Text, or a value over a
	// length limit. See [Message.Validate].
	ErrInvalidMessage = errors.New("mail: invalid message")

	// ErrInvalidTemplate means a [Template] given to [Templates.Set] (or its
	// locale) was refused: it does not parse, fails to execute against
	// sample data, uses a secret in the subject, or renders an invalid
	// message.
	ErrInvalidTemplate = errors.New("mail: invalid template")

	// ErrUnknownKind means a [Kind] is not one of the kinds this package
	// knows (the Kind constants).
	ErrUnknownKind = errors.New("mail: unknown kind")

	// ErrNoTemplate means [Templates.Render] found no template for the kind
	// in the requested locale, its base language or the default locale.
	ErrNoTemplate = errors.New("mail: no template")
)

// Errors about delivery. Mailers wrap [ErrPermanent] (or return an error
// whose Is method matches it, as [*SMTPError] does) for failures that
// retrying cannot fix; the auth Manager then stops retrying at once.
var (
	// ErrPermanent marks a delivery failure that another attempt with the
	// same message and configuration would meet again: a 5xx reply from an
	// SMTP server, or a server without an extension the configuration
	// requires. Test for it with [errors.Is]. Mailers of your own can wrap
	// it too.
	ErrPermanent = errors.New("mail: permanent delivery failure")

	// ErrInvalidConfig means [NewSMTP] refused an [SMTPConfig], or that
	// [SMTP.Send] found the connection at odds with it (credentials over
	// plain text to a server that turned out not to be on loopback). It
	// matches [ErrPermanent] too.
	ErrInvalidConfig error = &permanentError{"mail: invalid SMTP configuration"}

	// ErrSTARTTLSUnavailable means the server did not offer STARTTLS while
	// [SMTPConfig].TLS is [TLSStartTLS]. [SMTP] never falls back to plain
	// text: without TLS, credentials and message bodies would cross the
	// network readable, and an attacker on the path can strip the offer.
	// It matches [ErrPermanent].
	ErrSTARTTLSUnavailable error = &permanentError{"mail: smtp: server does not offer STARTTLS"}

	// ErrAuthUnavailable means credentials are configured but the server
	// offers neither AUTH PLAIN nor AUTH LOGIN. It matches [ErrPermanent].
	ErrAuthUnavailable error = &permanentError{"mail: smtp: server offers neither AUTH PLAIN nor AUTH LOGIN"}

	// ErrSMTPUTF8Unavailable means a message has a sender or recipient
	// address that is not ASCII and the server does not offer SMTPUTF8
	// (RFC 6531), without which such an address cannot be sent. It
	// matches [ErrPermanent].
	ErrSMTPUTF8Unavailable error = &permanentError{"mail: smtp: address is not ASCII and the server does not offer SMTPUTF8"}
)

// permanentError is a sentinel that also matches ErrPermanent.
type permanentError struct{ msg string }

func (e *permanentError) Error() string { return e.msg }

func (e *permanentError) Is(target error) bool { return target == ErrPermanent }
