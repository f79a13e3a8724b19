// Package mail builds and delivers the emails that Gatehouse sends, one
// [Kind] each: address verification, password resets, the confirmation of
// a new address, and the notices that go with account changes (password
// changed, email change, sign-up attempt with a known address, account
// deleted).
//
// The [github.com/gatehouse-go/gatehouse/auth] Manager turns each event
// into a [Data], asks a [Renderer] for the [Message] and hands it to a
// [github.com/gatehouse-go/gatehouse/auth.Mailer] (any type with a
// Send(ctx, Message) error method) from its own goroutines, retrying
// failures with backoff unless they match [ErrPermanent]. This package
// supplies:
//
//   - [Templates] is the Renderer: English and German defaults for every
//     [Kind] from [DefaultTemplates], overridable per kind and locale with
//     [Templates.Set], with a per-message language ([Data].Locale, which
//     the Manager fills from auth.Config.Mail.Locale) and a default locale
//     ([Templates.SetDefaultLocale]).
//   - [Compose] writes a Message as an RFC 5322 / MIME message, and
//     [Message.Validate] checks one; every mailer that produces real mail
//     uses them.
//   - Mailers, all safe for concurrent use. All but [Discard] return the
//     context's error, without sending, when the context is done.
//
// Which mailer to use:
//
//   - [SMTP] in production: it delivers to your mail provider's submission
//     server or a local relay.
//   - [Folder] in development: each message becomes an .eml file you can
//     open in a mail client, links and codes included, or grep for a
//     token (the recipe is on [Folder]).
//   - [Log] in development without a writable directory, or to see that
//     mail would have been sent: it logs who and what, never the body.
//   - [Capture] in tests: it records messages, waits for them
//     ([Capture.Wait]) and fails on demand ([Capture.FailNext]).
//   - [Discard] where mail must be configured but is not wanted.
//   - A mailer of your own for a provider's HTTP API needs only a Send
//     method; [Compose] writes the message for it, and wrapping
//     [ErrPermanent] in its errors stops pointless retries.
//
// # Quick start
//
//	renderer := mail.DefaultTemplates()
//	mailer := mail.NewFolder("tmp/mail", mail.Address{Name: "Example", Email: "no-reply@example.com"})
//	// Pass renderer and mailer to auth.New in its Config.
//
// In production:
//
//	mailer, err := mail.NewSMTP(mail.SMTPConfig{
//		Addr:     "smtp.example.com:587",
//		From:     mail.Address{Name: "Example", Email: "no-reply@example.com"},
//		Username: os.Getenv("SMTP_USER"),
//		Password: os.Getenv("SMTP_PASSWORD"),
//		// TLS: mail.TLSStartTLS is the default; mail.TLSImplicit for
//		// port 465; mail.TLSNone only for a relay you trust.
//	})
//	if err != nil {
//		log.Fatal(err) // a configuration mistake; NewSMTP does no I/O
//	}
//
// # SMTP
//
// [SMTP] opens a connection per message: it dials with the context, sets
// the connection's deadline from the context or [SMTPConfig].Timeout
// (default one minute) and closes the connection if the context ends.
//
// TLS is required unless it is switched off by name. [TLSStartTLS] (the
// default, port 587) upgrades the connection before anything else is said
// and fails with [ErrSTARTTLSUnavailable] when the server does not offer
// STARTTLS, rather than continue in plain text; [TLSImplicit] (port 465)
// speaks TLS from the start. Certificates are verified against the system
// roots (or [SMTPConfig].TLSConfig) for the host of the address, with TLS
// 1.2 or later. [TLSNone] (port 25) is for a relay on the same host or a
// network you trust; credentials are then refused, by [NewSMTP] and again
// once connected, unless the server is on a loopback address.
//
// With credentials, SMTP authenticates with AUTH PLAIN, or AUTH LOGIN when
// the server offers only that. Addresses that are not ASCII need the
// server's SMTPUTF8 extension ([ErrSMTPUTF8Unavailable] otherwise); display
// names and subjects that are not ASCII are encoded (RFC 2047) and need
// nothing from the server. Bodies that are not ASCII go 8bit when the
// server offers 8BITMIME (RFC 6152) and quoted-printable when it does not;
// ASCII bodies go 7bit.
//
// Failures are classified for the Manager's retries: a 4xx reply, a
// network or TLS error and a timeout are temporary; a 5xx reply (an
// [*SMTPError] whose Temporary method reports false) and a missing
// extension match [ErrPermanent]. Errors name the step that failed and the
// server's reply; they never hold a message body or a credential.
//
// SMTP is built on the standard library's [net/smtp]. That package is
// frozen, but what the Manager needs from a client is small and stable:
// EHLO, STARTTLS, AUTH, MAIL (with SMTPUTF8 and 8BITMIME when offered),
// RCPT and DATA with dot-stuffing. It takes the connection from the caller,
// so this package dials with the context and owns the deadlines; its only
// gap, AUTH LOGIN, is a few lines here, as is AUTH PLAIN with this
// package's own rule on when plain text is acceptable. A client library
// such as github.com/emersion/go-smtp would add a dependency (and its SASL
// package) to every application that imports this package, and it sets
// its own per-command deadlines on the connection, which would override
// the context's; it buys nothing the Manager uses. The tests run against
// that library's server, in-process, over real TCP and TLS.
//
// # Templates and languages
//
// [DefaultTemplates] has every kind in English ([DefaultLocale]) and German
// ([GermanLocale]). For a message, the template of its kind is looked up
// in the message's locale ("de-CH"), its language ("de"), the default
// locale set with [Templates.SetDefaultLocale] and its language, and
// finally English. [Templates.Set] replaces a kind in a locale or adds a
// language; subjects may not mention a code, token or link, and both bodies
// should show them (the text body in full, so that a user can copy them).
// Links are built by the Manager from auth.Config.BaseURL.
//
// # Security
//
// Message bodies carry secrets: verification codes, reset tokens and the
// links that contain them. Accordingly:
//
//   - Templates put Token, Code and Link in the bodies only. Subject
//     templates cannot even see them, because subjects are shown in
//     notifications and logged by [Log].
//   - [Log] never logs a body or a display name; errors from this package
//     never contain a body or a field's value (SECURITY.md #49, #63).
//   - [Folder] writes files with mode 0600 in a directory it creates with
//     mode 0700.
//   - [SMTP] sends credentials and bodies only over TLS, except to a
//     loopback relay under [TLSNone], never falls back to plain text, and
//     removes credentials a server echoes from its errors.
//   - [Message.Validate], which [Compose] and the mailers call, refuses
//     control characters in headers, so a CR or LF in a subject or a name
//     cannot inject a header (a Bcc, say).
//   - Mail goes to [Data].To, which the auth Manager always takes from the
//     store, never from the request (SECURITY.md #18).
//   - HTML bodies come from [html/template], so an application name or an
//     address in them is escaped.
//
// Throttling outbound mail (SECURITY.md #22) and keeping responses identical
// whether or not mail was sent (SECURITY.md #15) are the auth Manager's job:
// mailers send what they are given.
package mail
