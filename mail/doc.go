// Package mail builds and delivers the emails that Gatehouse sends: address
// verification, password resets and the notices that go with account
// changes.
//
// The [github.com/gatehouse-go/gatehouse/auth] Manager turns each event
// into a [Data], asks a [Renderer] for the [Message] and hands it to a
// [github.com/gatehouse-go/gatehouse/auth.Mailer] (any type with a
// Send(ctx, Message) error method) from its own goroutines, retrying
// failures. This package supplies:
//
//   - [Templates] is the Renderer: English defaults for every [Kind] from
//     [DefaultTemplates], overridable per kind and locale with
//     [Templates.Set].
//   - [Compose] writes a Message as an RFC 5322 / MIME message, and
//     [Message.Validate] checks one; every mailer that produces real mail
//     uses them.
//   - Mailers, all safe for concurrent use. All but [Discard] return the
//     context's error, without sending, when the context is done.
//
// Which mailer to use:
//
//   - [Folder] in development: each message becomes an .eml file you can
//     open in a mail client, links and codes included.
//   - [Log] in development without a writable directory, or to see that
//     mail would have been sent: it logs who and what, never the body.
//   - [Capture] in tests: it records messages, waits for them
//     ([Capture.Wait]) and fails on demand ([Capture.FailNext]).
//   - [Discard] where mail must be configured but is not wanted.
//   - In production, a mailer that delivers over SMTP or through your mail
//     provider's API; one of your own needs only a Send method, and
//     [Compose] writes the message for it.
//
// # Quick start
//
//	renderer := mail.DefaultTemplates()
//	mailer := mail.NewFolder("tmp/mail", mail.Address{Name: "Example", Email: "no-reply@example.com"})
//	// Pass renderer and mailer to auth.New in its Config.
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
