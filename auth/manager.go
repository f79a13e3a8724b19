package auth

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-go/gatehouse/auth/internal/outbox"
	"github.com/gatehouse-go/gatehouse/auth/internal/tokencache"
	"github.com/gatehouse-go/gatehouse/auth/password"
	"github.com/gatehouse-go/gatehouse/store"
)

// Manager runs the whole user lifecycle over a [store.Store]: registration,
// email verification, login, access-token authentication, refresh-token
// rotation, password change and reset, profile updates, deletion, logout,
// sessions and the superuser overview.
//
// A Manager is immutable after [New] and safe for concurrent use. Every
// method that may do I/O takes a context first. Mail is delivered in the
// background; call [Manager.Flush] before the program exits.
type Manager struct {
	cfg    Config
	store  store.Store
	tokens TokenIssuer
	log    *slog.Logger
	// limiter keeps throttling counters; nil when throttling is off.
	limiter store.Counters
	// batch is limiter's multi-key operation, nil when it has none: the
	// password gate then reads and writes its counters one at a time.
	batch store.CounterBatch

	hashSlots chan struct{}
	// slotHeld is a moving average of how long a hash slot is held (in
	// nanoseconds; 0 before the first release): a caller that had to wait
	// and has less time than that left before its deadline is refused
	// rather than given a slot whose hash would finish too late.
	slotHeld atomic.Int64
	// hashers are Config.Password.Hasher and then its LegacyHashers, the
	// order in which a stored hash is offered to them.
	hashers []Hasher

	dummyOnce sync.Once
	dummyHash string
	dummyErr  error

	logSalt [16]byte

	outbox *outbox.Outbox

	// factors is the store's second-factor capability, nil when
	// Config.Factors is off or the store lacks it; sealer encrypts the
	// factors' secrets and kept provider tokens, nil without
	// Config.Factors.Keys.
	factors store.SecondFactors
	sealer  *sealer
	// passkeys is the WebAuthn machinery, nil when passkeys are off.
	passkeys *passkeySetup

	// emailLogins is the store's email-login capability, nil when
	// Config.Passwordless is off.
	emailLogins store.EmailLogins

	// tokenCache is the verified-token cache, nil when off.
	tokenCache *tokencache.Cache[Claims]

	// sessions is the session cache, nil when off.
	sessions *sessionCache

	// durable is Config.Audit when it is a DurableSink; deferral is the
	// store's CommitDeferral when durable appends to the same database,
	// else nil (see deferCommits).
	durable  DurableSink
	deferral store.CommitDeferral
}

// New validates cfg, fills in its defaults and returns a Manager. A missing
// or invalid field gives a *[ValidationError] naming its full path, such as
// "Config.Tokens.SigningKey". New does no I/O and starts no goroutines.
func New(cfg Config) (*Manager, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	cfg.Password.LegacyHashers = append([]Hasher(nil), cfg.Password.LegacyHashers...)
	cfg.Password.Policy.Blocklist = append([]string(nil), cfg.Password.Policy.Blocklist...)
	cfg.Tokens.SigningKey = nil // the issuer holds its own copy
	m := &Manager{
		cfg:       cfg,
		store:     cfg.Store,
		tokens:    cfg.Tokens.Issuer,
		log:       cfg.Logger,
		limiter:   cfg.Limits.Store,
		hashSlots: make(chan struct{}, cfg.Password.MaxConcurrentHashes),
		hashers:   append([]Hasher{cfg.Password.Hasher}, cfg.Password.LegacyHashers...),
	}
	m.batch, _ = cfg.Limits.Store.(store.CounterBatch)
	var err error
	if len(cfg.Factors.Keys) > 0 {
		if m.sealer, err = newSealer(cfg.Factors.Keys); err != nil {
			return nil, err
		}
	}
	if cfg.Factors.Enabled {
		m.factors, _ = cfg.Store.(store.SecondFactors)
		if m.factors == nil && cfg.Factors.RequireForSuperusers {
			return nil, cfgErr("Factors.RequireForSuperusers", "needs a Store that implements store.SecondFactors (no superuser could ever enrol)")
		}
		if m.passkeys, err = newPasskeys(&cfg, m.factors); err != nil {
			return nil, err
		}
	}
	if cfg.Passwordless.Enabled {
		m.emailLogins = cfg.Store.(store.EmailLogins) // checked by fill
	}
	if _, err := io.ReadFull(cfg.Rand, m.logSalt[:]); err != nil {
		return nil, fmt.Errorf("auth: reading Config.Rand: %w", err)
	}
	m.outbox = outbox.New(outbox.Config{Mailer: cfg.Mailer, Logger: cfg.Logger, Attempts: cfg.Mail.Attempts, RetryDelay: cfg.Mail.RetryDelay})
	if cfg.Tokens.VerifiedCacheSize > 0 {
		m.tokenCache = tokencache.New[Claims](cfg.Tokens.VerifiedCacheSize)
	}
	if cfg.SessionCache.Invalidator != nil {
		m.sessions = newSessionCache(cfg.SessionCache.Size, cfg.SessionCache.TTL)
	}
	if m.durable, _ = cfg.Audit.(DurableSink); m.durable != nil {
		if d, ok := cfg.Store.(store.CommitDeferral); ok && d.SyncsWith(m.durable.EventStore()) {
			m.deferral = d
		}
	}
	return m, nil
}

// Now reads the Manager's clock (Config.Now), for callers that time or
// date operations the way the Manager does, such as an audit log.
func (m *Manager) Now() time.Time { return m.cfg.Now() }

// now is the Manager's clock, in UTC and truncated to the microsecond so
// that every time it stores round-trips exactly through any store.
func (m *Manager) now() time.Time {
	return m.cfg.Now().UTC().Truncate(time.Microsecond)
}

// acquireHashSlot waits for one of the Config.Password.MaxConcurrentHashes
// slots until ctx ends, then fails with ErrBusy. A caller that had to wait
// and gets a slot with less time left before its deadline than a slot is
// held on average (m.slotHeld) is refused with ErrBusy too: its hash would
// end after the deadline, and the slot goes at once to the next waiter.
// (Waiters are served oldest first, so under a flood the oldest are those
// nearest their deadline.) A caller that finds a slot free always gets it,
// so the average keeps being measured. release gives the slot back;
// calling it again does nothing.
func (m *Manager) acquireHashSlot(ctx context.Context) (release func(), err error) {
	select {
	case m.hashSlots <- struct{}{}:
	default:
		select {
		case m.hashSlots <- struct{}{}:
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %w", ErrBusy, context.Cause(ctx))
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < time.Duration(m.slotHeld.Load()) {
			<-m.hashSlots
			return nil, fmt.Errorf("%w: %w", ErrBusy, errTooLate)
		}
	}
	start := time.Now()
	held := true
	return func() {
		if held {
			held = false
			<-m.hashSlots
			m.recordSlotHeld(time.Since(start))
		}
	}, nil
}

// errTooLate is why a waiter that got a hash slot too near its deadline
// was refused.
var errTooLate = errors.New("too little time left before the deadline for a password hash")

// recordSlotHeld adds d to the moving average of slot holding times, with
// weight 1/8.
func (m *Manager) recordSlotHeld(d time.Duration) {
	for {
		old := m.slotHeld.Load()
		next := int64(d)
		if old != 0 {
			next = old + (int64(d)-old)/8
		}
		if m.slotHeld.CompareAndSwap(old, next) {
			return
		}
	}
}

// withHashSlot runs f while holding one of the
// Config.Password.MaxConcurrentHashes slots.
func (m *Manager) withHashSlot(ctx context.Context, f func() error) error {
	release, err := m.acquireHashSlot(ctx)
	if err != nil {
		return err
	}
	defer release()
	return f()
}

// hashPassword hashes an already normalized password with the current
// Hasher.
func (m *Manager) hashPassword(ctx context.Context, pass string) (string, error) {
	var hash string
	err := m.withHashSlot(ctx, func() error {
		var err error
		hash, err = m.cfg.Password.Hasher.Hash(pass)
		return err
	})
	if errors.Is(err, ErrPasswordTooLong) {
		return "", &password.PolicyError{Reason: password.TooLong, Min: m.cfg.Password.Policy.MinLength, Max: m.cfg.Password.Policy.MaxLength}
	}
	return hash, err
}

// compareResult is the outcome of checking a password against a hash.
type compareResult struct {
	ok bool
	// rehash is set when the password matched a hash that should be
	// replaced by one from the current Hasher.
	rehash bool
}

// compareHeld checks password against hash with whichever configured
// hasher recognises it, running exactly one hash, for a caller that holds
// a hash slot (acquireHashSlot). An empty hash is compared against the
// dummy hash so that accounts without a password cost the same as others.
// Mismatches and unusable hashes are not errors: ok is false.
func (m *Manager) compareHeld(hash, pass string) (compareResult, error) {
	if hash == "" {
		return compareResult{}, m.dummyCompareHeld(pass)
	}
	var res compareResult
	err := func() error {
		for i, h := range m.hashers {
			err := h.Compare(hash, pass)
			if errors.Is(err, ErrUnsupportedHash) {
				continue
			}
			switch {
			case err == nil:
				res.ok = true
				if i > 0 {
					res.rehash = true
				} else if rc, ok := h.(RehashChecker); ok {
					res.rehash = rc.NeedsRehash(hash)
				}
			case errors.Is(err, ErrInvalidHash):
				m.log.Error("gatehouse: stored password hash is invalid")
			case errors.Is(err, ErrMismatchedHash), errors.Is(err, ErrPasswordTooLong):
			default:
				return err
			}
			return nil
		}
		m.log.Error("gatehouse: no configured hasher recognises a stored password hash")
		return nil
	}()
	return res, err
}

// dummyCompareHeld runs one hash comparison that always fails, so that a
// login for an unknown account costs what a real one does (SECURITY.md
// #14), for a caller that holds a hash slot. The first call makes the
// dummy hash, in that same slot (one hash after the other: the bound on
// memory holds).
func (m *Manager) dummyCompareHeld(pass string) error {
	m.dummyOnce.Do(func() {
		pw, err := m.randomBytes(16)
		if err != nil {
			m.dummyErr = err
			return
		}
		m.dummyHash, m.dummyErr = m.cfg.Password.Hasher.Hash(base64.RawURLEncoding.EncodeToString(pw))
	})
	if m.dummyErr != nil {
		return m.dummyErr
	}
	err := m.cfg.Password.Hasher.Compare(m.dummyHash, pass)
	if err == nil || errors.Is(err, ErrMismatchedHash) || errors.Is(err, ErrPasswordTooLong) {
		return nil
	}
	return err
}

// clientIP renders a client's address for storage ("" when unknown).
func clientIP(c Client) string {
	if !c.IP.IsValid() {
		return ""
	}
	return c.IP.String()
}
