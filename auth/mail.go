package auth

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/store"
)

// mail renders d for user u and delivers it in the background. The
// recipient is d.To (u's stored address, or the new address of an email
// change); u supplies the locale (Config.Mail.Locale) and the user ID for the
// log.
func (m *Manager) mail(ctx context.Context, u *store.User, d mail.Data) {
	d.AppName = m.cfg.ServiceName
	if m.cfg.Mail.Locale != nil {
		d.Locale = m.cfg.Mail.Locale(ctx, u)
	}
	msg, err := m.cfg.Mail.Templates.Render(ctx, d)
	if err != nil {
		m.log.LogAttrs(ctx, slog.LevelError, "gatehouse: rendering mail failed",
			slog.String("kind", string(d.Kind)), slog.String("user_id", u.ID), slog.String("error", err.Error()))
		return
	}
	if msg.Kind == "" {
		msg.Kind = d.Kind
	}
	if msg.From == (mail.Address{}) {
		msg.From = m.cfg.Mail.From
	}
	msg.To = []mail.Address{d.To}

	m.outbox.Deliver(ctx, msg, u.ID)
}

// Flush waits until all mail queued so far has been delivered (or given up
// on) and all deferred request work has finished, or until ctx ends. Call it
// during a graceful shutdown.
//
// When ctx ends first, nothing is dropped silently: Flush logs, at error
// level, every message still undelivered (by kind and user ID, with the
// attempts made) and the number of tasks pending; those messages then stop
// being retried (a sleeping retry ends at once, an attempt in flight has
// its context canceled), so a process may exit right after Flush returns.
// It returns ctx's cause. The Manager stays usable: mail queued afterwards
// is delivered as usual.
//
// Then, when Config.Audit is a [Flusher] (as package audit's Recorder
// is), Flush waits for the events it is still recording, since the
// background work above reports events too.
func (m *Manager) Flush(ctx context.Context) error {
	err := m.outbox.Flush(ctx)
	if f, ok := m.cfg.Audit.(Flusher); ok {
		err = errors.Join(err, f.Flush(ctx))
	}
	return err
}

// Flusher is implemented by an [EventSink] that records events in the
// background or in batches; [Manager.Flush] waits for it.
type Flusher interface {
	// Flush returns once every event recorded before it has its outcome,
	// or when ctx ends, with ctx's error.
	Flush(ctx context.Context) error
}

// answerNow runs a request whose answer must not reveal whether an account
// exists (password reset, resent verification; SECURITY.md #15, #22): it
// checks the address and the client's IP limit (ipKind, ipLimit) on the
// request path and returns at once; work looks the account up and mails it
// in the background (see [Manager.Flush]), for a request made at now. work
// fills ev (UserID, and Reason when it did not mail), which is emitted as one
// event of type t when it returns; an error it returns is logged.
func (m *Manager) answerNow(ctx context.Context, t EventType, email, ipKind string, ipLimit int, work func(ctx context.Context, now time.Time, email string, ev *Event) error) error {
	start := m.cfg.Now()
	norm, err := NormalizeEmail(email)
	if err != nil {
		return err
	}
	if err := m.limitIP(ctx, ipKind, ipLimit); err != nil {
		m.emit(ctx, Event{Type: t, Outcome: OutcomeFailure, Reason: "throttled"}, start)
		return err
	}
	now := m.now()
	m.outbox.Go(ctx, string(t), func(ctx context.Context) {
		ev := Event{Type: t, Outcome: OutcomeFailure}
		if err := work(ctx, now, norm, &ev); err != nil {
			m.log.ErrorContext(ctx, "gatehouse: background "+string(t)+" failed", "user_id", ev.UserID, "error", err.Error())
			if ev.Reason == "" {
				ev.Reason = "store_error"
			}
		} else if ev.Reason == "" {
			ev.Outcome = OutcomeSuccess
		}
		m.emit(ctx, ev, start)
	})
	return nil
}
