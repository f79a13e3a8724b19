package auth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/store"
)

// MethodPasskey answers a login [Challenge] with a passkey assertion: see
// [Manager.PasskeyChallengeOptions].
const MethodPasskey = "passkey"

// Ceremony purposes (store.Ceremony.Purpose).
const (
	ceremonyRegister = "passkey_register"
	ceremonyLogin    = "passkey_login"
	ceremonyMFA      = "passkey_mfa"
)

// maxCredentialID is the longest credential ID accepted (WebAuthn §5.8.3).
const maxCredentialID = 1023

// PasskeyCeremony is a started WebAuthn ceremony: what the browser needs.
type PasskeyCeremony struct {
	// ID names the ceremony for its finish call (the registration or
	// login ID); it is a secret, stored only as a hash. Empty for the
	// options of a login challenge, which the challenge token names.
	ID string
	// Options is the JSON for the browser, {"publicKey": {...}}: pass it
	// (its base64url fields decoded) to navigator.credentials.create for a
	// registration, navigator.credentials.get for a login.
	Options json.RawMessage
	// ExpiresAt ends the ceremony.
	ExpiresAt time.Time
}

// PasskeyRegistration is the outcome of [Manager.FinishPasskeyRegistration].
type PasskeyRegistration struct {
	FactorID string
	// RecoveryCodes is set when this was the user's first factor: the
	// codes, shown once.
	RecoveryCodes []string
}

// passkeySetup is the Manager's passkey machinery, nil when passkeys are
// off.
type passkeySetup struct {
	wa         *webauthn.WebAuthn
	keys       store.Passkeys
	ceremonies store.Ceremonies
	timeout    time.Duration
}

// newPasskeys builds the passkey machinery for cfg, or nil when passkeys
// are off.
func newPasskeys(cfg *Config, factors store.SecondFactors) (*passkeySetup, error) {
	p := &cfg.Factors.Passkeys
	if !p.on() {
		return nil, nil
	}
	keys, ok1 := cfg.Store.(store.Passkeys)
	cer, ok2 := cfg.Store.(store.Ceremonies)
	if factors == nil || !ok1 || !ok2 {
		return nil, cfgErr("Factors.Passkeys", "needs a Store that implements store.SecondFactors, store.Passkeys and store.Ceremonies")
	}
	wa, err := webauthn.New(&webauthn.Config{
		RPID:                  p.RPID,
		RPDisplayName:         p.RPDisplayName,
		RPOrigins:             append([]string(nil), p.Origins...),
		AttestationPreference: protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			RequireResidentKey: protocol.ResidentKeyRequired(),
			UserVerification:   protocol.VerificationPreferred,
		},
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: p.Timeout, TimeoutUVD: p.Timeout},
			Registration: webauthn.TimeoutConfig{Timeout: p.Timeout, TimeoutUVD: p.Timeout},
		},
	})
	if err != nil {
		return nil, cfgErr("Factors.Passkeys", err.Error())
	}
	return &passkeySetup{wa: wa, keys: keys, ceremonies: cer, timeout: p.Timeout}, nil
}

// passkeyUser is a user as go-webauthn sees it.
type passkeyUser struct {
	handle      []byte
	name, shown string
	creds       []webauthn.Credential
}

func (u *passkeyUser) WebAuthnID() []byte                         { return u.handle }
func (u *passkeyUser) WebAuthnName() string                       { return u.name }
func (u *passkeyUser) WebAuthnDisplayName() string                { return u.shown }
func (u *passkeyUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// userHandle is the WebAuthn user handle of a user: a digest of the ID, so
// that it has a fixed length and says nothing about the account.
func userHandle(userID string) []byte {
	sum := sha256.Sum256([]byte("gatehouse passkey user\x00" + userID))
	return sum[:]
}

func webauthnUser(u *store.User, creds []webauthn.Credential) *passkeyUser {
	shown := u.Name
	if shown == "" {
		shown = u.Email
	}
	return &passkeyUser{handle: userHandle(u.ID), name: u.Email, shown: shown, creds: creds}
}

// passkeyRecord is the credential as sealed in store.Factor.Secret. The
// signature counter found at registration is kept here; the current one is
// the factor's LastStep, which the store advances atomically.
type passkeyRecord struct {
	ID         []byte   `json:"id"`
	PublicKey  []byte   `json:"pk"`
	SignCount  uint32   `json:"sc"`
	Flags      byte     `json:"fl"`
	Transports []string `json:"tr,omitempty"`
	AAGUID     []byte   `json:"aaguid,omitempty"`
	AttType    string   `json:"at,omitempty"`
	AttFormat  string   `json:"af,omitempty"`
	Attachment string   `json:"aa,omitempty"`
}

func recordOf(c *webauthn.Credential) passkeyRecord {
	r := passkeyRecord{
		ID: c.ID, PublicKey: c.PublicKey, SignCount: c.Authenticator.SignCount, Flags: c.Flags.MsgpByte(),
		AAGUID: c.Authenticator.AAGUID, AttType: c.AttestationType, AttFormat: c.AttestationFormat,
		Attachment: string(c.Authenticator.Attachment),
	}
	for _, t := range c.Transport {
		r.Transports = append(r.Transports, string(t))
	}
	return r
}

func (r *passkeyRecord) credential(signCount int64) webauthn.Credential {
	c := webauthn.Credential{
		ID: r.ID, PublicKey: r.PublicKey, AttestationType: r.AttType, AttestationFormat: r.AttFormat,
		Flags: webauthn.CredentialFlagsFromMsgpByte(r.Flags),
		Authenticator: webauthn.Authenticator{
			AAGUID: r.AAGUID, SignCount: uint32(signCount), Attachment: protocol.AuthenticatorAttachment(r.Attachment),
		},
	}
	for _, t := range r.Transports {
		c.Transport = append(c.Transport, protocol.AuthenticatorTransport(t))
	}
	return c
}

// openPasskey decrypts a passkey factor's credential.
func (m *Manager) openPasskey(f *store.Factor) (webauthn.Credential, error) {
	plain, err := m.sealer.open(factorAAD(f.UserID, f.ID), f.Secret)
	if err != nil {
		return webauthn.Credential{}, err
	}
	var r passkeyRecord
	if err := json.Unmarshal(plain, &r); err != nil || !bytes.Equal(r.ID, f.CredentialID) {
		return webauthn.Credential{}, errUnsealable
	}
	return r.credential(f.LastStep), nil
}

// passkeyStore returns the passkey machinery, or [ErrFactorsUnavailable].
func (m *Manager) passkeyStore() (*passkeySetup, error) {
	if m.passkeys == nil {
		return nil, ErrFactorsUnavailable
	}
	return m.passkeys, nil
}

// PasskeysEnabled reports whether passkeys are configured and available.
func (m *Manager) PasskeysEnabled() bool { return m.passkeys != nil }

// ceremonyState is what a stored ceremony holds: go-webauthn's session
// data, and for a registration the passkey's name.
type ceremonyState struct {
	Session webauthn.SessionData `json:"session"`
	Name    string               `json:"name,omitempty"`
}

// putCeremony stores session (and name) under a new token (or under hash,
// when given) and returns the token.
func (m *Manager) putCeremony(ctx context.Context, pk *passkeySetup, purpose, userID string, hash []byte, session *webauthn.SessionData, name string, expires time.Time) (string, error) {
	token := ""
	if hash == nil {
		var err error
		if token, hash, err = m.newToken(); err != nil {
			return "", err
		}
	}
	// Expiry is the store's (by the Manager's clock), not go-webauthn's,
	// which reads the wall clock.
	session.Expires = time.Time{}
	data, err := json.Marshal(ceremonyState{Session: *session, Name: name})
	if err != nil {
		return "", fmt.Errorf("auth: passkey ceremony: %w", err)
	}
	if err := pk.ceremonies.PutCeremony(ctx, &store.Ceremony{
		Hash: hash, Purpose: purpose, UserID: userID, Data: data, CreatedAt: m.now(), ExpiresAt: expires,
	}); err != nil {
		return "", fmt.Errorf("auth: passkey ceremony: %w", err)
	}
	return token, nil
}

// takeCeremony spends the ceremony named by hash, which must be of purpose
// and (when userID is set) of that user: else [ErrInvalidChallenge].
func (m *Manager) takeCeremony(ctx context.Context, pk *passkeySetup, hash []byte, purpose, userID string, ev *Event) (*ceremonyState, error) {
	c, err := pk.ceremonies.TakeCeremony(ctx, hash, m.now())
	if errors.Is(err, store.ErrNotFound) {
		ev.Reason = "invalid_ceremony"
		return nil, ErrInvalidChallenge
	}
	if err != nil {
		ev.Reason = "store_error"
		return nil, fmt.Errorf("auth: passkey ceremony: %w", err)
	}
	if c.Purpose != purpose || (userID != "" && c.UserID != userID) {
		ev.Reason = "invalid_ceremony"
		return nil, ErrInvalidChallenge
	}
	var s ceremonyState
	if err := json.Unmarshal(c.Data, &s); err != nil {
		ev.Reason = "invalid_ceremony"
		return nil, ErrInvalidChallenge
	}
	return &s, nil
}

// BeginPasskeyRegistration starts registering a passkey for id's user,
// after checking currentPassword (not needed within
// Config.Factors.RecentLogin of the session's login), and returns the creation options for the
// browser and the registration ID that [Manager.FinishPasskeyRegistration]
// takes, usable once within Config.Factors.Passkeys.Timeout. name labels
// the passkey (default "Passkey"; at most 64 characters). The user's other
// passkeys are excluded, so one authenticator is not registered twice.
//
// Errors: [ErrUnauthenticated]; [ErrFactorsUnavailable] when passkeys are
// off; [ErrReauthRequired] without a password when the login is not
// recent, [ErrInvalidPassword] for a wrong one, [ErrThrottled]; a
// *[ValidationError] for a bad name.
func (m *Manager) BeginPasskeyRegistration(ctx context.Context, id *Identity, currentPassword, name string) (*PasskeyCeremony, error) {
	var out *PasskeyCeremony
	err := m.factorOp(ctx, id, EventFactorEnroll, func(fs store.SecondFactors, u *store.User, ev *Event) error {
		pk, err := m.passkeyStore()
		if err != nil {
			ev.Reason = "unavailable"
			return err
		}
		if name, err = factorName(name, "Passkey", ev); err != nil {
			return err
		}
		if err := m.reauthenticateFactor(ctx, id, u, currentPassword, ev); err != nil {
			return err
		}
		all, err := fs.UserFactors(ctx, u.ID)
		if err != nil {
			ev.Reason = "store_error"
			return fmt.Errorf("auth: begin passkey registration: %w", err)
		}
		var exclude []protocol.CredentialDescriptor
		for _, f := range all {
			if f.Type == store.FactorPasskey {
				exclude = append(exclude, protocol.CredentialDescriptor{Type: protocol.PublicKeyCredentialType, CredentialID: f.CredentialID})
			}
		}
		creation, session, err := pk.wa.BeginRegistration(webauthnUser(u, nil),
			webauthn.WithExclusions(exclude), webauthn.WithConveyancePreference(protocol.PreferNoAttestation))
		if err != nil {
			ev.Reason = "webauthn_error"
			return fmt.Errorf("auth: begin passkey registration: %w", err)
		}
		options, err := json.Marshal(creation)
		if err != nil {
			return fmt.Errorf("auth: begin passkey registration: %w", err)
		}
		expires := m.now().Add(pk.timeout)
		token, err := m.putCeremony(ctx, pk, ceremonyRegister, u.ID, nil, session, name, expires)
		if err != nil {
			ev.Reason = "store_error"
			return err
		}
		out = &PasskeyCeremony{ID: token, Options: options, ExpiresAt: expires}
		return nil
	})
	return out, err
}

// FinishPasskeyRegistration completes a registration begun with
// [Manager.BeginPasskeyRegistration]: credentialJSON is the browser's
// PublicKeyCredential (base64url fields). The passkey counts at once. On the
// user's first factor it also issues recovery codes, returned once, and,
// for a superuser under Config.Factors.RequireForSuperusers, ends the
// user's other sessions, as [Manager.ConfirmTOTP] does. The user is mailed.
// The registration ID is spent whatever the outcome.
//
// Errors: [ErrUnauthenticated]; [ErrFactorsUnavailable]; [ErrInvalidChallenge]
// for an unknown, used, expired or foreign registration ID;
// [ErrInvalidPasskey] for a credential that does not verify (another
// origin, RP ID or challenge, a malformed one) or is already registered.
func (m *Manager) FinishPasskeyRegistration(ctx context.Context, id *Identity, registrationID, credentialJSON string) (*PasskeyRegistration, error) {
	var out *PasskeyRegistration
	err := m.factorOp(ctx, id, EventFactorConfirm, func(fs store.SecondFactors, u *store.User, ev *Event) error {
		pk, err := m.passkeyStore()
		if err != nil {
			ev.Reason = "unavailable"
			return err
		}
		hash, ok := tokenHash(registrationID)
		if !ok {
			ev.Reason = "invalid_ceremony"
			return ErrInvalidChallenge
		}
		state, err := m.takeCeremony(ctx, pk, hash, ceremonyRegister, u.ID, ev)
		if err != nil {
			return err
		}
		parsed, err := protocol.ParseCredentialCreationResponseBytes([]byte(credentialJSON))
		if err != nil {
			ev.Reason = "malformed_credential"
			return ErrInvalidPasskey
		}
		cred, err := pk.wa.CreateCredential(webauthnUser(u, nil), state.Session, parsed)
		if err != nil {
			ev.Reason = "credential_refused"
			m.log.DebugContext(ctx, "gatehouse: a passkey registration was refused", "error", err.Error())
			return ErrInvalidPasskey
		}
		if len(cred.ID) == 0 || len(cred.ID) > maxCredentialID {
			ev.Reason = "credential_refused"
			return ErrInvalidPasskey
		}
		all, err := fs.UserFactors(ctx, u.ID)
		if err != nil {
			ev.Reason = "store_error"
			return fmt.Errorf("auth: finish passkey registration: %w", err)
		}
		first := true
		for _, f := range all {
			if f.Confirmed() {
				first = false
			}
		}
		fid, err := m.newID()
		if err != nil {
			return err
		}
		plain, err := json.Marshal(recordOf(cred))
		if err != nil {
			return fmt.Errorf("auth: finish passkey registration: %w", err)
		}
		sealed, err := m.sealer.seal(m.cfg.Rand, factorAAD(u.ID, fid), plain)
		if err != nil {
			return err
		}
		now := m.now()
		err = fs.CreateFactor(ctx, &store.Factor{
			ID: fid, UserID: u.ID, Type: store.FactorPasskey, Name: state.Name, Secret: sealed,
			CreatedAt: now, ConfirmedAt: now, LastStep: int64(cred.Authenticator.SignCount), CredentialID: cred.ID,
		})
		if errors.Is(err, store.ErrConflict) {
			ev.Reason = "credential_taken"
			return ErrInvalidPasskey
		}
		if err != nil {
			ev.Reason = "store_error"
			return fmt.Errorf("auth: finish passkey registration: %w", err)
		}
		out = &PasskeyRegistration{FactorID: fid}
		if first {
			codes, err := m.replaceRecoveryCodes(ctx, fs, u.ID)
			if err != nil {
				ev.Reason = "store_error"
				return err
			}
			out.RecoveryCodes = codes
			if m.cfg.Factors.RequireForSuperusers && u.IsSuperuser {
				// As in ConfirmTOTP: the other sessions never passed a factor.
				if _, err := m.store.RevokeUserSessions(ctx, u.ID, id.Session.ID); err != nil {
					ev.Reason = "store_error"
					return fmt.Errorf("auth: finish passkey registration: %w", err)
				}
			}
		}
		m.notifyFactor(ctx, u, mail.KindPasskeyAdded, now, false)
		return nil
	})
	return out, err
}

// mfaCeremonyHash is the ceremony key of a login challenge's passkey
// options: derived from the challenge's hash, so the challenge token names
// both.
func mfaCeremonyHash(challengeHash []byte) []byte {
	h := sha256.New()
	h.Write([]byte("gatehouse passkey challenge\x00"))
	h.Write(challengeHash)
	return h.Sum(nil)
}

// PasskeyChallengeOptions returns the request options for answering a
// login [Challenge] with one of the user's passkeys ([MethodPasskey] in
// its Methods); pass the browser's assertion to [Manager.CompleteLogin]
// with MethodPasskey. Asking spends one of the challenge's
// [MaxChallengeAttempts]; asking again replaces the options.
//
// Errors: [ErrFactorsUnavailable]; [ErrInvalidChallenge] for an unknown,
// used, expired, exhausted or outdated challenge; [ErrNotFound] when the
// user has no passkey; [ErrAccountDisabled].
func (m *Manager) PasskeyChallengeOptions(ctx context.Context, challengeToken string) (*PasskeyCeremony, error) {
	pk, err := m.passkeyStore()
	if err != nil {
		return nil, err
	}
	fs := m.factors
	hash, ok := tokenHash(challengeToken)
	if !ok {
		return nil, ErrInvalidChallenge
	}
	now := m.now()
	ch, u, err := fs.ReserveChallengeAttempt(ctx, hash, now, MaxChallengeAttempts)
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrExhausted):
		return nil, ErrInvalidChallenge
	case err != nil:
		return nil, fmt.Errorf("auth: passkey options: %w", err)
	}
	if !constantTimeEqual(ch.Binding, passwordBinding(u)) || ch.AuthenticatedAt.Before(u.TokensValidAfter) {
		m.dropChallenge(ctx, fs, hash)
		return nil, ErrInvalidChallenge
	}
	if !u.IsActive {
		m.dropChallenge(ctx, fs, hash)
		return nil, ErrAccountDisabled
	}
	creds, err := m.passkeyIDs(ctx, u.ID, nil)
	if err != nil {
		return nil, err
	}
	if len(creds) == 0 {
		return nil, ErrNotFound
	}
	assertion, session, err := pk.wa.BeginLogin(webauthnUser(u, creds), webauthn.WithUserVerification(protocol.VerificationPreferred))
	if err != nil {
		return nil, fmt.Errorf("auth: passkey options: %w", err)
	}
	options, err := json.Marshal(assertion)
	if err != nil {
		return nil, fmt.Errorf("auth: passkey options: %w", err)
	}
	expires := now.Add(pk.timeout)
	if ch.ExpiresAt.Before(expires) {
		expires = ch.ExpiresAt
	}
	key := mfaCeremonyHash(hash)
	if _, err := pk.ceremonies.TakeCeremony(ctx, key, now); err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("auth: passkey options: %w", err)
	}
	if _, err := m.putCeremony(ctx, pk, ceremonyMFA, u.ID, key, session, "", expires); err != nil {
		return nil, err
	}
	return &PasskeyCeremony{Options: options, ExpiresAt: expires}, nil
}

// passkeyIDs returns the user's passkeys as credentials that carry only
// their IDs, except the one whose factor is full, which is decrypted.
func (m *Manager) passkeyIDs(ctx context.Context, userID string, full *store.Factor) ([]webauthn.Credential, error) {
	all, err := m.factors.UserFactors(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("auth: passkeys: %w", err)
	}
	var out []webauthn.Credential
	for i := range all {
		f := &all[i]
		if f.Type != store.FactorPasskey {
			continue
		}
		if full != nil && f.ID == full.ID {
			c, err := m.openPasskey(full)
			if err != nil {
				m.log.ErrorContext(ctx, "gatehouse: a passkey cannot be decrypted (missing key in Config.Factors.Keys?)", "user_id", userID)
				return nil, ErrInvalidPasskey
			}
			out = append(out, c)
			continue
		}
		out = append(out, webauthn.Credential{ID: f.CredentialID})
	}
	return out, nil
}

// answerPasskey checks a passkey assertion for u's login challenge (its
// hash is challengeHash) against the options PasskeyChallengeOptions made.
func (m *Manager) answerPasskey(ctx context.Context, u *store.User, challengeHash []byte, credentialJSON string, ev *Event) error {
	pk, err := m.passkeyStore()
	if err != nil {
		ev.Reason = "unavailable"
		return ErrInvalidCode
	}
	state, err := m.takeCeremony(ctx, pk, mfaCeremonyHash(challengeHash), ceremonyMFA, u.ID, ev)
	if err != nil {
		return err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes([]byte(credentialJSON))
	if err != nil {
		ev.Reason = "malformed_credential"
		return ErrInvalidPasskey
	}
	f, owner, err := pk.keys.PasskeyByCredentialID(ctx, parsed.RawID)
	if errors.Is(err, store.ErrNotFound) {
		ev.Reason = "unknown_credential"
		return ErrInvalidPasskey
	}
	if err != nil {
		ev.Reason = "store_error"
		return fmt.Errorf("auth: passkey: %w", err)
	}
	if owner.ID != u.ID {
		ev.Reason = "foreign_credential"
		return ErrInvalidPasskey
	}
	creds, err := m.passkeyIDs(ctx, u.ID, f)
	if err != nil {
		ev.Reason = "unsealable"
		return err
	}
	cred, err := pk.wa.ValidateLogin(webauthnUser(u, creds), state.Session, parsed)
	if err != nil {
		ev.Reason = "assertion_refused"
		m.log.DebugContext(ctx, "gatehouse: a passkey assertion was refused", "error", err.Error())
		return ErrInvalidPasskey
	}
	return m.usePasskey(ctx, pk, f, cred, ev)
}

// usePasskey records a verified assertion: the signature counter must move
// forward (SECURITY.md #83), else the passkey may be cloned and the login
// is refused and reported.
func (m *Manager) usePasskey(ctx context.Context, pk *passkeySetup, f *store.Factor, cred *webauthn.Credential, ev *Event) error {
	use := Event{Type: EventPasskeyUse, Outcome: OutcomeFailure, UserID: f.UserID, Reason: "sign_count_regressed"}
	var err error
	if !cred.Authenticator.CloneWarning {
		_, err = pk.keys.UsePasskey(ctx, store.PasskeyUse{UserID: f.UserID, ID: f.ID, SignCount: int64(cred.Authenticator.SignCount), Now: m.now()})
		switch {
		case err == nil:
			use.Outcome, use.Reason = OutcomeSuccess, ""
		case errors.Is(err, store.ErrReplayed):
		case errors.Is(err, store.ErrNotFound):
			ev.Reason = "unknown_credential"
			return ErrInvalidPasskey
		default:
			ev.Reason = "store_error"
			return fmt.Errorf("auth: passkey: %w", err)
		}
	}
	m.emit(ctx, use, time.Time{})
	if use.Outcome != OutcomeSuccess {
		ev.Reason = "sign_count_regressed"
		m.log.WarnContext(ctx, "gatehouse: a passkey's signature counter went back: a cloned authenticator?", "user_id", f.UserID)
		return ErrInvalidPasskey
	}
	return nil
}

// BeginPasskeyLogin starts a passwordless login: it returns request options
// for any discoverable passkey of this site, with user verification
// required, and the login ID that [Manager.PasskeyLogin] takes, usable
// once within Config.Factors.Passkeys.Timeout. A client IP over its limits
// of failed logins, or that has begun Limits.IPPasskeyLoginsPerHour
// logins this hour, is refused.
//
// Errors: [ErrFactorsUnavailable]; [ErrThrottled].
func (m *Manager) BeginPasskeyLogin(ctx context.Context) (*PasskeyCeremony, error) {
	pk, err := m.passkeyStore()
	if err != nil {
		return nil, err
	}
	if err := m.checkLoginIP(ctx); err != nil {
		return nil, err
	}
	// Every ceremony is a row in the store until it expires: cap how many
	// one client IP begins.
	if err := m.limitIP(ctx, "passkey-login", m.cfg.Limits.IPPasskeyLoginsPerHour); err != nil {
		return nil, err
	}
	assertion, session, err := pk.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, fmt.Errorf("auth: begin passkey login: %w", err)
	}
	options, err := json.Marshal(assertion)
	if err != nil {
		return nil, fmt.Errorf("auth: begin passkey login: %w", err)
	}
	expires := m.now().Add(pk.timeout)
	token, err := m.putCeremony(ctx, pk, ceremonyLogin, "", nil, session, "", expires)
	if err != nil {
		return nil, err
	}
	return &PasskeyCeremony{ID: token, Options: options, ExpiresAt: expires}, nil
}

// PasskeyLogin completes a passwordless login begun with
// [Manager.BeginPasskeyLogin]: credentialJSON is the browser's assertion.
// A passkey verified by the user (PIN or biometrics) is two factors in
// one, so a right assertion starts the session and returns its tokens, as
// [Manager.Login] does, without a [Challenge]. The login ID is spent
// whatever the outcome. Wrong assertions count against the account, under
// the limits of wrong passwords, and against the client IP ([Limits]).
//
// Errors: [ErrFactorsUnavailable]; [ErrInvalidChallenge] for an unknown,
// used or expired login ID; [ErrInvalidPasskey] for an assertion that does
// not verify (unknown credential, another origin, RP ID or challenge, no
// user verification, a signature counter that went back); [ErrThrottled];
// [ErrAccountDisabled]; [ErrEmailNotVerified].
func (m *Manager) PasskeyLogin(ctx context.Context, loginID, credentialJSON string) (*LoginResult, error) {
	start := m.cfg.Now()
	ev := Event{Type: EventLogin, Outcome: OutcomeFailure}
	res, err := m.passkeyLogin(ctx, loginID, credentialJSON, &ev)
	if err == nil {
		ev.Outcome = OutcomeSuccess
	}
	m.emit(ctx, ev, start)
	return res, err
}

func (m *Manager) passkeyLogin(ctx context.Context, loginID, credentialJSON string, ev *Event) (*LoginResult, error) {
	authAt := m.now()
	pk, err := m.passkeyStore()
	if err != nil {
		ev.Reason = "unavailable"
		return nil, err
	}
	hash, ok := tokenHash(loginID)
	if !ok {
		ev.Reason = "invalid_ceremony"
		return nil, ErrInvalidChallenge
	}
	state, err := m.takeCeremony(ctx, pk, hash, ceremonyLogin, "", ev)
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes([]byte(credentialJSON))
	if err != nil {
		ev.Reason = "malformed_credential"
		m.ipLoginFailed(ctx)
		return nil, ErrInvalidPasskey
	}
	f, u, err := pk.keys.PasskeyByCredentialID(ctx, parsed.RawID)
	if errors.Is(err, store.ErrNotFound) {
		ev.Reason = "unknown_credential"
		m.ipLoginFailed(ctx)
		return nil, ErrInvalidPasskey
	}
	if err != nil {
		ev.Reason = "store_error"
		return nil, fmt.Errorf("auth: passkey login: %w", err)
	}
	ev.UserID = u.ID
	gate, err := m.openPasswordGate(ctx, u.Email, true)
	if err != nil {
		ev.Reason = "throttled"
		if !errors.Is(err, ErrThrottled) {
			ev.Reason = "store_error"
		}
		return nil, err
	}
	cred, err := m.openPasskey(f)
	if err != nil {
		ev.Reason = "unsealable"
		m.log.ErrorContext(ctx, "gatehouse: a passkey cannot be decrypted (missing key in Config.Factors.Keys?)", "user_id", u.ID)
		return nil, ErrInvalidPasskey
	}
	wu := webauthnUser(u, []webauthn.Credential{cred})
	_, verified, err := pk.wa.ValidatePasskeyLogin(func(rawID, handle []byte) (webauthn.User, error) {
		return wu, nil
	}, state.Session, parsed)
	if err != nil {
		ev.Reason = "assertion_refused"
		m.log.DebugContext(ctx, "gatehouse: a passkey assertion was refused", "error", err.Error())
		gate.failed(ctx)
		return nil, ErrInvalidPasskey
	}
	if err := m.usePasskey(ctx, pk, f, verified, ev); err != nil {
		if errors.Is(err, ErrInvalidPasskey) {
			gate.failed(ctx)
		}
		return nil, err
	}
	gate.succeeded(ctx)
	if err := m.mayLogIn(u, ev); err != nil {
		return nil, err
	}
	return m.finishLogin(ctx, u, authAt, ev)
}

// loginIPGate is a gate on the client IP's login-failure counters alone.
func (m *Manager) loginIPGate(ctx context.Context) *passwordGate {
	g := &passwordGate{m: m, now: m.now()}
	if ip, ok := clientAddr(ctx); ok && m.limiter != nil {
		g.ipMinute, g.ipHour = loginIPKeys(ip)
	}
	return g
}

// checkLoginIP refuses a client IP that has used up a limit of failed
// logins, without counting anything.
func (m *Manager) checkLoginIP(ctx context.Context) error {
	g := m.loginIPGate(ctx)
	for _, w := range g.ipWindows() {
		if err := m.checkCounter(ctx, w.key, w.limit, g.now); err != nil {
			return err
		}
	}
	return nil
}

// ipLoginFailed counts a failed login against the client IP only: the
// assertion named no account.
func (m *Manager) ipLoginFailed(ctx context.Context) {
	m.loginIPGate(ctx).failed(ctx)
}
