package mail

import (
	"context"
	"log/slog"
	"strings"
)

// Log is a mailer that writes one record per message to a [*slog.Logger]
// instead of sending it, for development without a mail server.
//
// Each record is logged at [slog.LevelInfo] with the message "mail not
// sent (logged)" and the attributes kind, from (the address only, empty for
// the default sender), to (the addresses, comma-separated), subject and
// html (whether an HTML body is present). Log never logs the Text or HTML
// body, nor display names: bodies carry tokens, codes and links (see
// SECURITY.md #49 and #63), so with Log those secrets are not available
// anywhere; use [Folder] or [Capture] to read them. Addresses are personal
// data; choose the logger's destination accordingly.
//
// Log is safe for concurrent use.
type Log struct {
	logger *slog.Logger
}

// NewLog returns a [Log] mailer writing to logger. A nil logger discards the
// records; Log never falls back to [slog.Default].
func NewLog(logger *slog.Logger) *Log {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Log{logger: logger}
}

// Send logs m as described on [Log]. It returns ctx's error if ctx is done
// and an error wrapping [ErrInvalidMessage] if m is invalid, logging nothing
// in either case.
func (l *Log) Send(ctx context.Context, m Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := m.Validate(); err != nil {
		return err
	}
	to := make([]string, len(m.To))
	for i, a := range m.To {
		to[i] = a.Email
	}
	l.logger.LogAttrs(ctx, slog.LevelInfo, "mail not sent (logged)",
		slog.String("kind", string(m.Kind)),
		slog.String("from", m.From.Email),
		slog.String("to", strings.Join(to, ", ")),
		slog.String("subject", m.Subject),
		slog.Bool("html", m.HTML != ""),
	)
	return nil
}
