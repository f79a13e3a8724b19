package auth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"image/png"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"

	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/store"
)

// TOTP parameters (SECURITY.md #77): RFC 6238 with SHA-1, 6 digits, 30 s
// steps, 160-bit secrets, ±1 step of drift.
const (
	totpPeriod     = 30
	totpSecretSize = 20
	totpDrift      = 1
	qrSize         = 256
)

// Methods a login [Challenge] can be answered with.
const (
	MethodTOTP         = "totp"
	MethodRecoveryCode = "recovery_code"
)

// TOTPEnrollment is a pending TOTP factor: what the user's authenticator
// app needs. It is shown once; the secret is never returned again.
type TOTPEnrollment struct {
	FactorID string
	// Secret is the shared secret in base32, for manual entry.
	Secret string
	// URI is the otpauth:// URI of the secret, and QRPNG a PNG image of
	// its QR code.
	URI   string
	QRPNG []byte
}

// TOTPConfirmation is the outcome of [Manager.ConfirmTOTP].
type TOTPConfirmation struct {
	FactorID string
	// RecoveryCodes is set when this was the user's first factor: the
	// codes, shown once.
	RecoveryCodes []string
}

// FactorInfo describes a confirmed factor; it never carries a secret.
type FactorInfo struct {
	ID         string
	Type       store.FactorType
	Name       string
	CreatedAt  time.Time
	LastUsedAt time.Time
}

// mfaStore returns the store's second-factor capability, or
// [ErrFactorsUnavailable].
func (m *Manager) mfaStore() (store.SecondFactors, error) {
	if m.factors == nil {
		return nil, ErrFactorsUnavailable
	}
	return m.factors, nil
}

// factorOp runs an operation on id's own factors: it checks the session
// and the capability, loads the user and reports one event of type t.
func (m *Manager) factorOp(ctx context.Context, id *Identity, t EventType, work func(fs store.SecondFactors, u *store.User, ev *Event) error) error {
	start := m.cfg.Now()
	if err := requireSession(id); err != nil {
		return err
	}
	ev := Event{Type: t, Outcome: OutcomeFailure, UserID: id.User.ID, SessionID: id.Session.ID}
	err := func() error {
		fs, err := m.mfaStore()
		if err != nil {
			ev.Reason = "unavailable"
			return err
		}
		u, err := m.store.UserByID(ctx, id.User.ID)
		if errors.Is(err, store.ErrNotFound) {
			ev.Reason = "unknown_user"
			return ErrUnauthenticated
		}
		if err != nil {
			ev.Reason = "store_error"
			return fmt.Errorf("auth: %s: %w", t, err)
		}
		return work(fs, u, &ev)
	}()
	if err == nil {
		ev.Outcome = OutcomeSuccess
	}
	m.emit(ctx, ev, start)
	return err
}

// factorName is the user's label for a new factor, trimmed, or def when
// it is empty; longer than 64 characters or not UTF-8 is a
// *[ValidationError].
func factorName(name, def string, ev *Event) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return def, nil
	}
	if utf8.RuneCountInString(name) > 64 || !utf8.ValidString(name) {
		ev.Reason = "invalid_name"
		return "", &ValidationError{Field: "name", Reason: "must be at most 64 characters"}
	}
	return name, nil
}

// EnrollTOTP starts enrolling a TOTP authenticator for id's user, after
// checking currentPassword (not needed within Config.Factors.RecentLogin
// of the session's login), and returns its secret, otpauth URI and QR
// code. The factor stays pending — Login does not ask for it — until
// [Manager.ConfirmTOTP] sees a first valid code; a newer enrolment replaces
// a pending one. name labels the factor (default "Authenticator"; at most
// 64 characters).
//
// Errors: [ErrUnauthenticated]; [ErrFactorsUnavailable];
// [ErrReauthRequired] without a password when the login is not recent,
// [ErrInvalidPassword] for a wrong one, [ErrThrottled]; a
// *[ValidationError] for a bad name.
func (m *Manager) EnrollTOTP(ctx context.Context, id *Identity, currentPassword, name string) (*TOTPEnrollment, error) {
	var out *TOTPEnrollment
	err := m.factorOp(ctx, id, EventFactorEnroll, func(fs store.SecondFactors, u *store.User, ev *Event) error {
		name, err := factorName(name, "Authenticator", ev)
		if err != nil {
			return err
		}
		if err := m.reauthenticateFactor(ctx, id, u, currentPassword, ev); err != nil {
			return err
		}
		out, err = m.enrollTOTP(ctx, fs, u, name)
		if err != nil {
			ev.Reason = "store_error"
		}
		return err
	})
	return out, err
}

func (m *Manager) enrollTOTP(ctx context.Context, fs store.SecondFactors, u *store.User, name string) (*TOTPEnrollment, error) {
	existing, err := fs.UserFactors(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("auth: enrol totp: %w", err)
	}
	for _, f := range existing {
		if !f.Confirmed() {
			if err := fs.DeleteFactor(ctx, u.ID, f.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, fmt.Errorf("auth: enrol totp: %w", err)
			}
		}
	}
	issuer := m.cfg.Factors.Issuer
	if issuer == "" {
		issuer = m.cfg.ServiceName
	}
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer: issuer, AccountName: u.Email, Period: totpPeriod, SecretSize: totpSecretSize,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1, Rand: m.cfg.Rand,
	})
	if err != nil {
		return nil, fmt.Errorf("auth: enrol totp: %w", err)
	}
	fid, err := m.newID()
	if err != nil {
		return nil, err
	}
	sealed, err := m.sealer.seal(m.cfg.Rand, factorAAD(u.ID, fid), []byte(key.Secret()))
	if err != nil {
		return nil, err
	}
	if err := fs.CreateFactor(ctx, &store.Factor{
		ID: fid, UserID: u.ID, Type: store.FactorTOTP, Name: name, Secret: sealed, CreatedAt: m.now(),
	}); err != nil {
		return nil, fmt.Errorf("auth: enrol totp: %w", err)
	}
	img, err := key.Image(qrSize, qrSize)
	if err != nil {
		return nil, fmt.Errorf("auth: enrol totp: QR code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("auth: enrol totp: QR code: %w", err)
	}
	return &TOTPEnrollment{FactorID: fid, Secret: key.Secret(), URI: key.URL(), QRPNG: buf.Bytes()}, nil
}

// ConfirmTOTP completes a pending TOTP enrolment with a first valid code;
// only then does the factor count. On the user's first factor it also
// issues a set of [RecoveryCodeCount] recovery codes, returned once, and,
// for a superuser under Config.Factors.RequireForSuperusers, ends the
// user's other sessions: this session now has superuser powers, and those
// never passed the factor. The user is mailed a notice.
//
// Errors: [ErrUnauthenticated]; [ErrFactorsUnavailable]; [ErrNotFound]
// when the user has no such pending factor (or it waited over an hour);
// [ErrInvalidCode] for a wrong or reused code.
func (m *Manager) ConfirmTOTP(ctx context.Context, id *Identity, factorID, code string) (*TOTPConfirmation, error) {
	var out *TOTPConfirmation
	err := m.factorOp(ctx, id, EventFactorConfirm, func(fs store.SecondFactors, u *store.User, ev *Event) error {
		all, err := fs.UserFactors(ctx, u.ID)
		if err != nil {
			ev.Reason = "store_error"
			return fmt.Errorf("auth: confirm totp: %w", err)
		}
		var pending *store.Factor
		first := true
		for i := range all {
			switch f := &all[i]; {
			case f.Confirmed():
				first = false
			case f.ID == factorID && f.Type == store.FactorTOTP:
				pending = f
			}
		}
		now := m.now()
		if pending == nil || !now.Before(pending.CreatedAt.Add(pendingFactorTTL)) {
			ev.Reason = "unknown_factor"
			return ErrNotFound
		}
		if err := m.useTOTP(ctx, fs, pending, code, now, ev); err != nil {
			return err
		}
		out = &TOTPConfirmation{FactorID: pending.ID}
		if first {
			codes, err := m.replaceRecoveryCodes(ctx, fs, u.ID)
			if err != nil {
				ev.Reason = "store_error"
				return err
			}
			out.RecoveryCodes = codes
			if m.cfg.Factors.RequireForSuperusers && u.IsSuperuser {
				// The superuser's other sessions never passed the factor
				// that now gives this one superuser powers: end them.
				_, err := m.store.RevokeUserSessions(ctx, u.ID, id.Session.ID)
				m.changed(ctx, userKey(u.ID))
				if err != nil {
					ev.Reason = "store_error"
					return fmt.Errorf("auth: confirm totp: %w", err)
				}
			}
		}
		m.notifyFactor(ctx, u, mail.KindFactorAdded, now, false)
		return nil
	})
	return out, err
}

// useTOTP checks code against f at now, with ±1 step of drift, and
// records the matching step so that it is accepted once (SECURITY.md #77,
// #78).
func (m *Manager) useTOTP(ctx context.Context, fs store.SecondFactors, f *store.Factor, code string, now time.Time, ev *Event) error {
	secret, err := m.sealer.open(factorAAD(f.UserID, f.ID), f.Secret)
	if err != nil {
		ev.Reason = "unsealable"
		m.log.ErrorContext(ctx, "gatehouse: a TOTP secret cannot be decrypted (missing key in Config.Factors.Keys?)", "user_id", f.UserID)
		return ErrInvalidCode
	}
	step, ok := matchTOTP(string(secret), code, now)
	if !ok {
		ev.Reason = "wrong_code"
		return ErrInvalidCode
	}
	_, err = fs.UseFactor(ctx, store.FactorUse{UserID: f.UserID, ID: f.ID, Step: step, Now: now})
	m.changed(ctx, userKey(f.UserID)) // a confirmation sets HasFactors
	switch {
	case errors.Is(err, store.ErrReplayed):
		ev.Reason = "reused_code"
		return ErrInvalidCode
	case errors.Is(err, store.ErrNotFound):
		ev.Reason = "unknown_factor"
		return ErrInvalidCode
	case err != nil:
		ev.Reason = "store_error"
		return fmt.Errorf("auth: using a factor: %w", err)
	}
	return nil
}

// matchTOTP returns the latest time step, within ±1 of now's, whose code
// equals code: the latest, so that when two neighbouring steps happen to
// share a code the one not yet used is not refused as a replay. Every
// candidate is computed and compared in constant time.
func matchTOTP(secret, code string, now time.Time) (int64, bool) {
	code = strings.TrimSpace(code)
	if len(code) != 6 {
		return 0, false
	}
	cur := now.Unix() / totpPeriod
	var found int64
	ok := false
	for step := cur - totpDrift; step <= cur+totpDrift; step++ {
		want, err := totpCode(secret, step, otp.DigitsSix)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			found, ok = step, true
		}
	}
	return found, ok
}

// totpCode is the code of secret (base32) at a time step.
func totpCode(secret string, step int64, digits otp.Digits) (string, error) {
	if step < 0 {
		return "", errors.New("auth: negative time step")
	}
	return hotp.GenerateCodeCustom(secret, uint64(step), hotp.ValidateOpts{Digits: digits, Algorithm: otp.AlgorithmSHA1})
}

// Factors lists id's user's confirmed factors, oldest first, without
// their secrets.
//
// Errors: [ErrUnauthenticated]; [ErrFactorsUnavailable].
func (m *Manager) Factors(ctx context.Context, id *Identity) ([]FactorInfo, error) {
	if err := requireSession(id); err != nil {
		return nil, err
	}
	fs, err := m.mfaStore()
	if err != nil {
		return nil, err
	}
	all, err := fs.UserFactors(ctx, id.User.ID)
	if err != nil {
		return nil, fmt.Errorf("auth: factors: %w", err)
	}
	out := []FactorInfo{}
	for _, f := range all {
		if f.Confirmed() {
			out = append(out, FactorInfo{ID: f.ID, Type: f.Type, Name: f.Name, CreatedAt: f.CreatedAt, LastUsedAt: f.LastUsedAt})
		}
	}
	return out, nil
}

// MFAEnabled reports whether u has a confirmed second factor that Login
// asks for: second factors are available and u.HasFactors is set (the
// store keeps it). It does no I/O; [Manager.HasFactors] reads the
// factors themselves.
func (m *Manager) MFAEnabled(u *store.User) bool {
	return m.factors != nil && u != nil && u.HasFactors
}

// HasFactors reports whether the user has a confirmed second factor (false
// when factors are unavailable), reading the user's factors.
func (m *Manager) HasFactors(ctx context.Context, userID string) (bool, error) {
	if m.factors == nil {
		return false, nil
	}
	fs, err := m.confirmedFactors(ctx, userID)
	return len(fs) > 0, err
}

func (m *Manager) confirmedFactors(ctx context.Context, userID string) ([]store.Factor, error) {
	all, err := m.factors.UserFactors(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("auth: factors: %w", err)
	}
	out := all[:0]
	for _, f := range all {
		if f.Confirmed() {
			out = append(out, f)
		}
	}
	return out, nil
}

// RemoveFactor deletes one of id's user's factors (a pending one too),
// after checking currentPassword (not needed within
// Config.Factors.RecentLogin of the session's login), and mails the user. Removing the last
// factor also deletes the recovery codes: Login then asks for none.
//
// Errors: [ErrUnauthenticated]; [ErrFactorsUnavailable];
// [ErrReauthRequired] without a password when the login is not recent,
// [ErrInvalidPassword], [ErrThrottled]; [ErrNotFound]
// when the user has no such factor.
func (m *Manager) RemoveFactor(ctx context.Context, id *Identity, factorID, currentPassword string) error {
	return m.factorOp(ctx, id, EventFactorRemove, func(fs store.SecondFactors, u *store.User, ev *Event) error {
		if err := m.reauthenticateFactor(ctx, id, u, currentPassword, ev); err != nil {
			return err
		}
		err := fs.DeleteFactor(ctx, u.ID, factorID)
		m.changed(ctx, userKey(u.ID)) // may clear HasFactors
		if errors.Is(err, store.ErrNotFound) {
			ev.Reason = "unknown_factor"
			return ErrNotFound
		}
		if err != nil {
			ev.Reason = "store_error"
			return fmt.Errorf("auth: remove factor: %w", err)
		}
		left, err := m.confirmedFactors(ctx, u.ID)
		if err == nil && len(left) == 0 {
			err = fs.ReplaceRecoveryCodes(ctx, u.ID, nil)
		}
		if err != nil {
			ev.Reason = "store_error"
			return fmt.Errorf("auth: remove factor: %w", err)
		}
		m.notifyFactor(ctx, u, mail.KindFactorRemoved, m.now(), false)
		return nil
	})
}

// RegenerateRecoveryCodes replaces id's user's recovery codes with a new
// set of [RecoveryCodeCount], after checking currentPassword (not needed
// within Config.Factors.RecentLogin of the session's login), and returns
// them (shown once); the old set stops working at once. The user is mailed
// a notice.
//
// Errors: [ErrUnauthenticated]; [ErrFactorsUnavailable];
// [ErrReauthRequired] without a password when the login is not recent,
// [ErrInvalidPassword], [ErrThrottled]; [ErrNotFound]
// when the user has no confirmed factor.
func (m *Manager) RegenerateRecoveryCodes(ctx context.Context, id *Identity, currentPassword string) ([]string, error) {
	var codes []string
	err := m.factorOp(ctx, id, EventRecoveryCodesRegenerate, func(fs store.SecondFactors, u *store.User, ev *Event) error {
		if err := m.reauthenticateFactor(ctx, id, u, currentPassword, ev); err != nil {
			return err
		}
		have, err := m.confirmedFactors(ctx, u.ID)
		if err != nil {
			ev.Reason = "store_error"
			return err
		}
		if len(have) == 0 {
			ev.Reason = "no_factor"
			return ErrNotFound
		}
		codes, err = m.replaceRecoveryCodes(ctx, fs, u.ID)
		if err != nil {
			ev.Reason = "store_error"
			return err
		}
		m.notifyFactor(ctx, u, mail.KindRecoveryCodesRegenerated, m.now(), false)
		return nil
	})
	return codes, err
}

// ResetFactors removes every second factor and recovery code of another
// user, for a superuser helping someone who lost their device. It never
// reveals them. Pending login challenges die too. The user is mailed.
//
// Errors: [ErrUnauthenticated], [ErrForbidden] for a non-superuser;
// [ErrFactorsUnavailable]; [ErrNotFound].
func (m *Manager) ResetFactors(ctx context.Context, id *Identity, userID string) error {
	start := m.cfg.Now()
	if err := m.AuthorizeSuperuser(ctx, id); err != nil {
		return err
	}
	ev := Event{Type: EventFactorsReset, Outcome: OutcomeFailure, UserID: userID, ActorID: id.User.ID, SessionID: sessionID(id)}
	err := func() error {
		fs, err := m.mfaStore()
		if err != nil {
			ev.Reason = "unavailable"
			return err
		}
		u, err := m.store.UserByID(ctx, userID)
		if errors.Is(err, store.ErrNotFound) {
			ev.Reason = "unknown_user"
			return ErrNotFound
		}
		if err == nil {
			_, err = fs.DeleteUserFactors(ctx, userID)
			m.changed(ctx, userKey(userID)) // clears HasFactors
		}
		if err != nil {
			ev.Reason = "store_error"
			return fmt.Errorf("auth: reset factors: %w", err)
		}
		m.notifyFactor(ctx, u, mail.KindFactorRemoved, m.now(), true)
		return nil
	}()
	if err == nil {
		ev.Outcome = OutcomeSuccess
	}
	m.emit(ctx, ev, start)
	return err
}

// recoveryEncoding renders recovery codes: lowercase base32 without
// padding, which avoids 0/O and 1/l confusion.
var recoveryEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// replaceRecoveryCodes makes a new set of recovery codes for the user,
// stores their hashes in place of the old set and returns the codes. Each
// has 128 random bits, so a SHA-256 suffices to store it (SECURITY.md
// #81).
func (m *Manager) replaceRecoveryCodes(ctx context.Context, fs store.SecondFactors, userID string) ([]string, error) {
	codes := make([]string, RecoveryCodeCount)
	hashes := make([][]byte, RecoveryCodeCount)
	for i := range codes {
		b, err := m.randomBytes(16)
		if err != nil {
			return nil, err
		}
		s := recoveryEncoding.EncodeToString(b) // 26 characters
		codes[i] = s[:5] + "-" + s[5:10] + "-" + s[10:15] + "-" + s[15:20] + "-" + s[20:]
		hashes[i] = recoveryHash(userID, b)
	}
	if err := fs.ReplaceRecoveryCodes(ctx, userID, hashes); err != nil {
		return nil, fmt.Errorf("auth: recovery codes: %w", err)
	}
	return codes, nil
}

// recoveryHash is what the store keeps of a recovery code's bytes, bound
// to the user.
func recoveryHash(userID string, code []byte) []byte {
	h := sha256.New()
	h.Write([]byte("gatehouse recovery\x00" + userID + "\x00"))
	h.Write(code)
	return h.Sum(nil)
}

// parseRecoveryCode decodes a code as the user may type it: case, dashes
// and spaces do not matter.
func parseRecoveryCode(code string) ([]byte, bool) {
	if len(code) > 64 {
		return nil, false
	}
	s := strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ':
			return -1
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return r
	}, code)
	if len(s) != 26 {
		return nil, false
	}
	b, err := recoveryEncoding.DecodeString(s)
	if err != nil || len(b) != 16 || recoveryEncoding.EncodeToString(b) != s {
		return nil, false
	}
	return b, true
}

// notifyFactor mails the user a notice of a change of their factors
// (SECURITY.md #82).
func (m *Manager) notifyFactor(ctx context.Context, u *store.User, kind mail.Kind, at time.Time, bySuperuser bool) {
	m.mail(ctx, u, mail.Data{Kind: kind, To: mail.Address{Name: u.Name, Email: u.Email}, Time: at, BySuperuser: bySuperuser})
}
