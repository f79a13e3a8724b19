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
