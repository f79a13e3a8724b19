package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

// EventType names something that happened to an account or a session.
type EventType string

// The events the Manager reports. Every operation reports exactly one event,
// success or failure.
const (
	EventRegister             EventType = "register"
	EventVerificationSent     EventType = "verification_sent"
	EventVerifyEmail          EventType = "verify_email"
	EventLogin                EventType = "login"
	EventRefresh              EventType = "refresh"
	EventRefreshReuse         EventType = "refresh_reuse_detected"
	EventLogout               EventType = "logout"
	EventLogoutEverywhere     EventType = "logout_everywhere"
	EventSessionRevoked       EventType = "session_revoked"
	EventSessionRenewed       EventType = "session_renewed"
	EventPasswordChange       EventType = "password_change"
	EventResetRequested       EventType = "password_reset_requested"
	EventResetCompleted       EventType = "password_reset_completed"
	EventProfileUpdate        EventType = "profile_update"
	EventEmailChangeRequested EventType = "email_change_requested"
	EventEmailChanged         EventType = "email_changed"
	EventEmailChangeCancelled EventType = "email_change_cancelled"
	EventDeleteUser           EventType = "delete_user"
	EventUsersOverview        EventType = "users_overview"
	EventEnsureSuperuser      EventType = "ensure_superuser"
	EventForbidden            EventType = "forbidden"
	// EventUserDeactivated and EventUserReactivated follow the
	// profile_update event of a superuser's change of a user's IsActive
	// (UserID the user, ActorID the superuser).
	EventUserDeactivated EventType = "user_deactivated"
	EventUserReactivated EventType = "user_reactivated"

	// EventLoginChallenge is a login whose password was right and that now
	// waits for a second factor; [Manager.CompleteLogin] reports the login
	// event that follows.
	EventLoginChallenge EventType = "login_challenge"
	// Second-factor changes (SECURITY.md #82).
	EventFactorEnroll            EventType = "factor_enroll"
	EventFactorConfirm           EventType = "factor_confirm"
	EventFactorRemove            EventType = "factor_remove"
	EventRecoveryCodesRegenerate EventType = "recovery_codes_regenerate"
	// EventRecoveryCodeUsed is reported by a login completed with a
	// recovery code, just before its login event.
	EventRecoveryCodeUsed EventType = "recovery_code_used"
	// EventFactorsReset is a superuser's removal of another user's
	// factors (UserID the user, ActorID the superuser).
	EventFactorsReset EventType = "factors_reset"
	// EventPasskeyUse is reported for each verified passkey assertion: a
	// success, or a failure with Reason "sign_count_regressed" when the
	// signature counter went back (a cloned authenticator?) and the login
	// was refused.
	EventPasskeyUse EventType = "passkey_use"
)

// Outcome is how an operation ended.
type Outcome string

// Outcomes.
const (
	OutcomeSuccess Outcome = "success"
	OutcomeFailure Outcome = "failure"
)

// Event is one record of what happened, for audit logs and metrics. It never
// carries a secret: no password, token, code or hash.
type Event struct {
	Time    time.Time
	Type    EventType
	Outcome Outcome
	// Reason is a short machine code for failures ("wrong_password",
	// "unknown_email", "reused", ...). It is for operators: never show it to
	// the client, it would reveal what the uniform answers hide.
	Reason string
	// UserID is the account the event is about, when known.
	UserID string
	// ActorID is who acted, when it is not UserID (a superuser acting on
	// another account).
	ActorID string
	// SessionID is the session involved, when there is one.
	SessionID string
	// Client is where the request came from, as found in the context.
	Client Client
	// Latency is how long the operation took.
	Latency time.Duration
	// SessionTag is a salted hash of SessionID, the same in every record
	// of one session and useless for finding the session (SECURITY.md
	// #63): what logs and audit records keep instead of the ID.
	SessionTag string
}

// emit completes e, logs it, hands it to Config.OnEvent and records it as
// a run (see recordEvent).
func (m *Manager) emit(ctx context.Context, e Event, start time.Time) {
	e.Time = m.now()
	if !start.IsZero() {
		e.Latency = m.cfg.Now().Sub(start)
	}
	if c, ok := ClientFromContext(ctx); ok {
		e.Client = c
	}
	if e.SessionID != "" {
		e.SessionTag = m.sessionTag(e.SessionID)
	}
	if m.log.Enabled(ctx, slog.LevelInfo) {
		attrs := make([]slog.Attr, 0, 9)
		attrs = append(attrs,
			slog.String("event", string(e.Type)),
			slog.String("outcome", string(e.Outcome)))
		if e.Reason != "" {
			attrs = append(attrs, slog.String("reason", e.Reason))
		}
		if e.UserID != "" {
			attrs = append(attrs, slog.String("user_id", e.UserID))
		}
		if e.ActorID != "" {
			attrs = append(attrs, slog.String("actor_id", e.ActorID))
		}
		if e.SessionID != "" {
			attrs = append(attrs, slog.String("session", e.SessionTag))
		}
		if e.Client.IP.IsValid() {
			attrs = append(attrs, slog.String("ip", e.Client.IP.String()))
		}
		if e.Client.UserAgent != "" {
			attrs = append(attrs, slog.String("user_agent", e.Client.UserAgent))
		}
		attrs = append(attrs, slog.Duration("latency", e.Latency))
		m.log.LogAttrs(ctx, slog.LevelInfo, "gatehouse event", attrs...)
	}
	deferred := m.deferral != nil && store.CommitsDeferred(ctx)
	ctx = store.DurableCommits(ctx)
	if m.cfg.OnEvent != nil {
		m.cfg.OnEvent(ctx, e)
	}
	switch {
	case m.durable != nil:
		if err := m.durable.RecordEventDurably(ctx, e); err != nil && deferred {
			// The append that was to make the operation's writes durable
			// failed: make them durable by other means.
			if err := m.deferral.Sync(ctx); err != nil {
				m.log.ErrorContext(ctx, "gatehouse: making an operation's writes durable failed", "event", string(e.Type), "error", err.Error())
			}
		}
	case m.cfg.Audit != nil:
		m.cfg.Audit.RecordEvent(ctx, e)
	}
}

// deferCommits returns ctx for the store writes of an operation that ends
// by emitting its event: when the audit log appends durably to the
// operation's database (store.CommitDeferral), the writes commit without
// waiting for the disk, and the event's append, before the operation
// returns, makes them durable with it (or emit calls Sync when it fails).
// Otherwise it returns ctx without the mark, should the caller have set
// it. Only operations whose outcome reaches no one before their final
// emit may use it: Login, CompleteLogin, Refresh and Logout.
func (m *Manager) deferCommits(ctx context.Context) context.Context {
	if m.deferral == nil {
		return store.DurableCommits(ctx)
	}
	return store.DeferCommits(ctx)
}

// Report reports an event of an operation done on the Manager's behalf
// outside it, such as a superuser's read of the audit log (package audit):
// like the Manager's own events, e is completed (Time, Client from ctx,
// SessionTag), logged, passed to Config.OnEvent and to Config.Audit. e.Type
// and e.Outcome must be set; e.Latency, how long the operation took, is
// the caller's to measure (with [Manager.Now]) and is kept as given.
func (m *Manager) Report(ctx context.Context, e Event) {
	m.emit(ctx, e, time.Time{})
}

// EventSink receives the Manager's events (Config.Audit). RecordEvent is
// called synchronously, once per event, after the event is logged and
// passed to Config.OnEvent; the operation's answer waits for it, so an
// event it has recorded is durable before the caller hears of the
// outcome. It must not call the Manager, and it reports its own failures
// (they never fail the operation). Implementations must be safe for
// concurrent use.
type EventSink interface {
	RecordEvent(ctx context.Context, e Event)
}

// DurableSink is an [EventSink] that tells the Manager whether each
// recording is durable and which store it goes to; *audit.Recorder is one.
// When the sink appends to the Manager's own database and the Store
// implements store.CommitDeferral (sqlstore on PostgreSQL), the writes of
// Login, CompleteLogin, Refresh and Logout commit without waiting for the
// disk, and the durable append of their event, before they return, makes
// them durable too: one wait for the disk per operation instead of two.
// When that append fails, the Manager makes the writes durable with
// store.CommitDeferral's Sync. What an operation acknowledged is never
// lost either way.
type DurableSink interface {
	EventSink
	// RecordEventDurably records e as RecordEvent does, and returns nil
	// only once its record is durable; otherwise the reason it is not.
	RecordEventDurably(ctx context.Context, e Event) error
	// EventStore returns the store the records are appended to.
	EventStore() store.Runs
}

// sessionTag is a salted hash of a session ID, so logs can correlate the
// records of one session without naming it (SECURITY.md #63).
func (m *Manager) sessionTag(id string) string {
	h := sha256.New()
	h.Write(m.logSalt[:])
	h.Write([]byte(id))
	return hex.EncodeToString(h.Sum(nil)[:8])
}
