package mail

import "context"

// Discard is a mailer that drops every message. Use it where mail must be
// configured but is not wanted, such as benchmarks; messages are not even
// validated. The zero value is ready to use and safe for concurrent use.
type Discard struct{}

// Send drops m and returns nil.
func (Discard) Send(context.Context, Message) error { return nil }
