package auth

import (
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Second-factor limits and defaults.
const (
	// DefaultChallengeTTL is how long a login challenge lasts by default
	// (Config.Factors.ChallengeTTL); it may be at most 5 minutes
	// (SECURITY.md #80).
	DefaultChallengeTTL = 5 * time.Minute

	// MaxChallengeAttempts is how many answers a login challenge takes;
	// the next is refused even when right (SECURITY.md #79).
	MaxChallengeAttempts = 5

	// DefaultRecentLogin is how long after a login a session may change
	// its own second factors without the current password by default
	// (Config.Factors.RecentLogin; SECURITY.md #82).
	DefaultRecentLogin = 5 * time.Minute

	// MaxRecentLogin is the longest Config.Factors.RecentLogin allowed.
	MaxRecentLogin = time.Hour

	// RecoveryCodeCount is how many recovery codes a set has.
	RecoveryCodeCount = 10

	// pendingFactorTTL is how long an enrolment may wait for its first
	// code.
	pendingFactorTTL = time.Hour
)

// FactorConfig configures second factors (Config.Factors). The zero value
// means off: the factor operations return [ErrFactorsUnavailable] and
// Login never asks for a second factor. Turning factors off again after
// users enrolled makes Login ignore their factors.
type FactorConfig struct {
	// Enabled turns second factors on: TOTP enrolment, login challenges
	// and recovery codes. They also need a Store that implements
	// store.SecondFactors; without one the factor operations return
	// [ErrFactorsUnavailable].
	Enabled bool

	// Keys encrypt TOTP secrets at rest with AES-256-GCM, and the provider
	// tokens federated login keeps when asked to
	// ([FederatedIdentity.Tokens]; Enabled is not needed for those). The
	// first key encrypts new secrets; every key decrypts the secrets sealed
	// with it, found by its ID, so a new key goes first and an old one
	// stays until no secret uses it. Required (at least one) when Enabled.
	// New copies the keys.
	Keys []FactorKey

	// Issuer names the account in authenticator apps (the otpauth URI's
	// issuer). Default Config.ServiceName.
	Issuer string

	// ChallengeTTL is how long the second step of a login may wait after
	// the password. Default [DefaultChallengeTTL] (5 minutes); allowed 30
	// seconds to 5 minutes.
	ChallengeTTL time.Duration

	// RequireForSuperusers denies superuser powers to a superuser without
	// a confirmed second factor (SECURITY.md #84): [Manager.AuthorizeSuperuser],
	// every superuser-only Manager operation, acting on another user's
	// profile, sessions or account, and middleware.Guard.RequireSuperuser
	// answer [ErrMFAEnrollmentRequired] until they have one. They can still
	// log in, use their own account and enrol a factor. The check reads
	// store.User.HasFactors, which the store keeps, so it costs no store
	// call. Confirming the first factor ends the superuser's other sessions
	// (they never passed the factor; the session that confirmed it keeps
	// going, now with superuser powers); removing the last factor, or a
	// reset of their factors, withdraws the powers from every session at
	// the next request until a factor is confirmed again. Requires Enabled
	// and a Store with store.SecondFactors; New refuses it otherwise.
	RequireForSuperusers bool

	// RecentLogin is how long after a session's login (store.Session.
	// AuthenticatedAt: the password or factor check, or a later password
	// change made from the session; a refresh keeps it) the session may
	// enrol or remove its user's factors and regenerate recovery codes
	// without the current password (SECURITY.md #82). A current password
	// that is given is checked all the same. Only factor changes are
	// exempt: a password change, an email change and deleting the account
	// always ask for the password. Default [DefaultRecentLogin] (5
	// minutes); at most [MaxRecentLogin]; a negative value means always
	// ask for the password.
	RecentLogin time.Duration

	// Passkeys turns on WebAuthn passkeys, as a second factor and, with
	// user verification, as a passwordless login ([PasskeyConfig]). Off
	// while RPID is empty.
	Passkeys PasskeyConfig
}

// PasskeyConfig configures passkeys (Config.Factors.Passkeys). They need
// Factors.Enabled (the credentials are sealed with Factors.Keys) and a
// Store that implements store.SecondFactors, store.Passkeys and
// store.Ceremonies; New refuses them otherwise. Attestation is "none".
type PasskeyConfig struct {
	// RPID is the WebAuthn relying party ID: the host of the site, or a
	// registrable suffix of it ("example.com" for "https://login.example.com").
	// Passkeys are bound to it; changing it orphans them. Setting it turns
	// passkeys on.
	RPID string

	// RPDisplayName names the site in the browser's passkey dialogs.
	// Default Config.ServiceName.
	RPDisplayName string

	// Origins are the exact origins ("https://example.com", no path) the
	// browser may report; each host must be RPID or end in "." + RPID, and
	// use https, except http for localhost. At least one is required.
	Origins []string

	// Timeout is how long a ceremony (from its options to the browser's
	// answer) may take. Default and maximum 5 minutes, minimum 30 seconds.
	Timeout time.Duration
}

// on reports whether passkeys are configured.
func (p *PasskeyConfig) on() bool { return p.RPID != "" }

func (p *PasskeyConfig) fill(enabled bool, serviceName string) error {
	if !p.on() {
		if len(p.Origins) > 0 {
			return cfgErr("Factors.Passkeys.RPID", "is required when Origins are set")
		}
		return nil
	}
	if !enabled {
		return cfgErr("Factors.Passkeys", "needs Factors.Enabled (and Factors.Keys, which seal the credentials)")
	}
	if p.RPID != strings.ToLower(p.RPID) || strings.ContainsAny(p.RPID, ":/ ") || strings.Trim(p.RPID, ".") != p.RPID {
		return cfgErr("Factors.Passkeys.RPID", "must be a lowercase host name without scheme, port or path")
	}
	if p.RPDisplayName == "" {
		p.RPDisplayName = serviceName
	}
	if p.Timeout == 0 {
		p.Timeout = DefaultChallengeTTL
	}
	if p.Timeout < 30*time.Second || p.Timeout > 5*time.Minute {
		return cfgErr("Factors.Passkeys.Timeout", "must be between 30s and 5m0s")
	}
	if len(p.Origins) == 0 {
		return cfgErr("Factors.Passkeys.Origins", "needs at least one origin, such as https://"+p.RPID)
	}
	origins := make([]string, len(p.Origins))
	for i, o := range p.Origins {
		field := "Factors.Passkeys.Origins[" + strconv.Itoa(i) + "]"
		u, err := url.Parse(o)
		if err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return cfgErr(field, "must be an origin such as https://"+p.RPID)
		}
		host := u.Hostname()
		switch {
		case u.Scheme == "https":
		case u.Scheme == "http" && (host == "localhost" || strings.HasSuffix(host, ".localhost")):
		default:
			return cfgErr(field, "must use https (http only for localhost)")
		}
		if host != p.RPID && !strings.HasSuffix(host, "."+p.RPID) {
			return cfgErr(field, "host "+host+" is not Factors.Passkeys.RPID ("+p.RPID+") or a subdomain of it")
		}
		origins[i] = u.Scheme + "://" + u.Host
	}
	p.Origins = origins
	return nil
}

// FactorKey is one application key for second-factor secrets.
type FactorKey struct {
	// ID names the key in every secret it seals: 1 to 32 bytes, unique
	// among Config.Factors.Keys. It is not secret.
	ID string
	// Key is 32 random bytes (AES-256). It is a secret: keep it out of
	// the database that holds the factors.
	Key []byte
}

func (f *FactorConfig) fill() error {
	if f.ChallengeTTL == 0 {
		f.ChallengeTTL = DefaultChallengeTTL
	}
	if f.ChallengeTTL < 30*time.Second || f.ChallengeTTL > 5*time.Minute {
		return cfgErr("Factors.ChallengeTTL", "must be between 30s and 5m0s")
	}
	if f.RecentLogin == 0 {
		f.RecentLogin = DefaultRecentLogin
	}
	if f.RecentLogin > MaxRecentLogin {
		return cfgErr("Factors.RecentLogin", "must be at most 1h0m0s")
	}
	if !f.Enabled && f.RequireForSuperusers {
		return cfgErr("Factors.RequireForSuperusers", "needs Factors.Enabled")
	}
	if f.Enabled && len(f.Keys) == 0 {
		return cfgErr("Factors.Keys", "is required when Factors.Enabled is set (32 random bytes to encrypt TOTP secrets)")
	}
	keys := make([]FactorKey, len(f.Keys))
	seen := make(map[string]bool, len(f.Keys))
	for i, k := range f.Keys {
		field := "Factors.Keys[" + strconv.Itoa(i) + "]"
		if k.ID == "" || len(k.ID) > 32 {
			return cfgErr(field+".ID", "must be 1 to 32 bytes")
		}
		if seen[k.ID] {
			return cfgErr(field+".ID", "is used twice")
		}
		seen[k.ID] = true
		if len(k.Key) != 32 {
			return cfgErr(field+".Key", "must be 32 random bytes")
		}
		keys[i] = FactorKey{ID: k.ID, Key: append([]byte(nil), k.Key...)}
	}
	f.Keys = keys
	return nil
}

// sealer encrypts and decrypts factor secrets and kept provider tokens.
type sealer struct {
	current string
	aeads   map[string]cipher.AEAD
}

func newSealer(keys []FactorKey) (*sealer, error) {
	s := &sealer{current: keys[0].ID, aeads: make(map[string]cipher.AEAD, len(keys))}
	for _, k := range keys {
		block, err := aes.NewCipher(k.Key)
		if err != nil {
			return nil, fmt.Errorf("auth: factor key %q: %w", k.ID, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("auth: factor key %q: %w", k.ID, err)
		}
		s.aeads[k.ID] = aead
	}
	return s, nil
}

// sealVersion is the first byte of every sealed secret.
const sealVersion = 1

var errUnsealable = errors.New("auth: a factor secret cannot be decrypted (unknown key or tampered)")

// factorAAD binds a sealed secret to its factor, so that a ciphertext
// moved to another row does not open.
func factorAAD(userID, factorID string) []byte {
	return []byte("gatehouse factor\x00" + userID + "\x00" + factorID)
}

// providerTokensAAD binds sealed provider tokens to their identity.
func providerTokensAAD(issuer, subject string) []byte {
	return []byte("gatehouse provider tokens\x00" + issuer + "\x00" + subject)
}

// seal encrypts secret with the current key, bound to aad: version, key
// ID length, key ID, nonce, ciphertext.
func (s *sealer) seal(rand io.Reader, aad, secret []byte) ([]byte, error) {
	aead := s.aeads[s.current]
	nonce := make([]byte, aead.NonceSize())
	if _, err := io.ReadFull(rand, nonce); err != nil {
		return nil, fmt.Errorf("auth: reading randomness: %w", err)
	}
	out := make([]byte, 0, 2+len(s.current)+len(nonce)+len(secret)+aead.Overhead())
	out = append(out, sealVersion, byte(len(s.current)))
	out = append(out, s.current...)
	out = append(out, nonce...)
	return aead.Seal(out, nonce, secret, aad), nil
}

// open decrypts what seal made with aad, with whichever configured key
// sealed it.
func (s *sealer) open(aad, sealed []byte) ([]byte, error) {
	if len(sealed) < 2 || sealed[0] != sealVersion || len(sealed) < 2+int(sealed[1]) {
		return nil, errUnsealable
	}
	n := int(sealed[1])
	aead, ok := s.aeads[string(sealed[2:2+n])]
	if !ok {
		return nil, errUnsealable
	}
	rest := sealed[2+n:]
	if len(rest) < aead.NonceSize()+aead.Overhead() {
		return nil, errUnsealable
	}
	plain, err := aead.Open(nil, rest[:aead.NonceSize()], rest[aead.NonceSize():], aad)
	if err != nil {
		return nil, errUnsealable
	}
	return plain, nil
}
