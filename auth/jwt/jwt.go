package jwt

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	gojwt "github.com/golang-jwt/jwt/v5"
)

// Limits and defaults of [Issuer].
const (
	// MaxTokenLen is the longest access token [Issuer.Verify] will look at, in
	// bytes; longer ones are refused before any decoding. It matches the
	// 8 KiB cap on the Authorization header.
	MaxTokenLen = 8192

	// MinHS256SecretLen is the shortest secret [HS256Key] accepts, in bytes
	// (the HMAC-SHA-256 output size, RFC 7518 §3.2).
	MinHS256SecretLen = 32

	// DefaultLeeway is the clock skew [Issuer] allows on exp, nbf and iat
	// when [Config].Leeway is zero; it is also the largest allowed.
	DefaultLeeway = 30 * time.Second

	// maxKeyIDLen bounds a key id, which travels in every token header.
	maxKeyIDLen = 256
)

// Key is one key of an [Issuer]: a signing key (which can also verify) or a
// verification-only key. Build one with [HS256Key], [Ed25519Key] or
// [Ed25519PublicKey]; the zero value is not a usable key.
//
// A Key holds its own copy of the key material and never exposes it. It
// is an immutable value and safe to copy and share.
type Key struct {
	id     string
	method gojwt.SigningMethod
	// sign is what method.Sign takes: a []byte secret or an
	// ed25519.PrivateKey; nil for a verification-only key.
	sign any
	// verify is what method.Verify takes, boxed once so that handing it to
	// the parser does not allocate: the same []byte secret for HS256, an
	// ed25519.PublicKey for EdDSA. It never holds a []byte for EdDSA.
	verify any
}

// HS256Key returns a key that signs and verifies with HMAC-SHA-256. The
// secret must be at least [MinHS256SecretLen] random bytes (never a
// password) and not all zero; HS256Key copies it. id is the key id written
// to the token's "kid" header; it may be empty when the issuer has only
// this one key.
func HS256Key(id string, secret []byte) (Key, error) {
	if err := checkKeyID(id); err != nil {
		return Key{}, err
	}
	if len(secret) < MinHS256SecretLen {
		return Key{}, &ConfigError{Field: "secret", Reason: fmt.Sprintf("an HS256 secret must be at least %d bytes", MinHS256SecretLen)}
	}
	zero := make([]byte, len(secret))
	if subtle.ConstantTimeCompare(secret, zero) == 1 {
		return Key{}, &ConfigError{Field: "secret", Reason: "the HS256 secret is all zero bytes"}
	}
	s := bytes.Clone(secret)
	return Key{id: id, method: gojwt.SigningMethodHS256, sign: s, verify: s}, nil
}

// Ed25519Key returns a key that signs with priv and verifies with its
// public half (the JWS "EdDSA" algorithm, RFC 8037). priv must be a full
// 64-byte [ed25519.PrivateKey] whose public half matches its seed;
// Ed25519Key copies it. id is as for [HS256Key].
func Ed25519Key(id string, priv ed25519.PrivateKey) (Key, error) {
	if err := checkKeyID(id); err != nil {
		return Key{}, err
	}
	if len(priv) != ed25519.PrivateKeySize {
		return Key{}, &ConfigError{Field: "priv", Reason: fmt.Sprintf("an Ed25519 private key must be %d bytes", ed25519.PrivateKeySize)}
	}
	k := ed25519.NewKeyFromSeed(priv.Seed())
	if !bytes.Equal(k, priv) {
		return Key{}, &ConfigError{Field: "priv", Reason: "the Ed25519 private key's public half does not match its seed"}
	}
	return Key{id: id, method: gojwt.SigningMethodEdDSA, sign: k, verify: k.Public().(ed25519.PublicKey)}, nil
}

// Ed25519PublicKey returns a verification-only key for tokens signed by the
// matching Ed25519 private key, such as a retired signing key or one held
// by another service. pub must be 32 bytes; Ed25519PublicKey copies it. id
// is as for [HS256Key].
func Ed25519PublicKey(id string, pub ed25519.PublicKey) (Key, error) {
	if err := checkKeyID(id); err != nil {
		return Key{}, err
	}
	if len(pub) != ed25519.PublicKeySize {
		return Key{}, &ConfigError{Field: "pub", Reason: fmt.Sprintf("an Ed25519 public key must be %d bytes", ed25519.PublicKeySize)}
	}
	return Key{id: id, method: gojwt.SigningMethodEdDSA, verify: ed25519.PublicKey(bytes.Clone(pub))}, nil
}

// ID returns the key id given to the constructor.
func (k Key) ID() string { return k.id }

func checkKeyID(id string) error {
	if len(id) > maxKeyIDLen {
		return &ConfigError{Field: "id", Reason: fmt.Sprintf("a key id must be at most %d bytes", maxKeyIDLen)}
	}
	if !utf8.ValidString(id) {
		return &ConfigError{Field: "id", Reason: "a key id must be valid UTF-8"}
	}
	return nil
}

// sameKey reports whether a and b are the same key under the same id.
func sameKey(a, b Key) bool {
	if a.id != b.id || a.method != b.method {
		return false
	}
	switch av := a.verify.(type) {
	case []byte:
		bv, ok := b.verify.([]byte)
		return ok && bytes.Equal(av, bv)
	case ed25519.PublicKey:
		bv, ok := b.verify.(ed25519.PublicKey)
		return ok && av.Equal(bv)
	}
	return false
}

// Config configures [New]. Issuer, Audience and SigningKey are
// required; the other fields have defaults.
type Config struct {
	// Issuer is written to the "iss" claim and must match on Verify.
	// Required.
	Issuer string
	// Audience is written to the "aud" claim (as a single string) and must
	// be among the token's audiences on Verify. Required.
	Audience string
	// SigningKey signs every issued token and verifies tokens whose header
	// names its id, or no id. It must be a signing key. Required.
	SigningKey Key
	// VerifyKeys are further keys accepted for verification only, looked up
	// by the token's "kid" header; keep a retired signing key here until
	// the tokens it signed have expired. When the issuer has more than one
	// key, every key needs a non-empty id and the ids must be unique (an
	// entry identical to SigningKey is allowed and ignored).
	VerifyKeys []Key
	// Leeway is the clock skew allowed when checking exp, nbf and iat. Zero
	// means [DefaultLeeway]; negative values and values over
	// DefaultLeeway are refused.
	Leeway time.Duration
	// Now returns the current time. Nil means [time.Now].
	Now func() time.Time
}

// Issuer issues and verifies access tokens as signed JWTs (RFC 7519, with
// the "at+jwt" type of RFC 9068) using github.com/golang-jwt/jwt/v5; in a
// Manager it serves through auth.JWT. Build one with [New]. An Issuer is
// immutable and safe for concurrent use.
//
// Issued tokens carry exactly the claims iss, sub, aud, exp, iat, jti and
// sid, and the headers alg, typ and, when the signing key has an id, kid.
// Verify trusts nothing in the header beyond choosing among the configured
// keys: the algorithm must be the chosen key's own, and jku, x5u, jwk and
// x5c are ignored.
type Issuer struct {
	issuer, audience string
	signer           Key
	// header is the encoded first segment of every issued token.
	header string
	// keys maps a kid to its key; noKid is the key for tokens without one.
	keys map[string]Key
	// ordered is every key, the signing key first and then the verify keys
	// in Config order, for PublicJWKS.
	ordered []Key
	noKid   Key
	parser  *gojwt.Parser
	keyfunc gojwt.Keyfunc
}

// New checks cfg and returns an Issuer. Configuration errors are
// *[ConfigError] values naming the field, such as
// "Config.SigningKey". New does no I/O.
func New(cfg Config) (*Issuer, error) {
	if cfg.Issuer == "" || !utf8.ValidString(cfg.Issuer) {
		return nil, &ConfigError{Field: "Config.Issuer", Reason: "required, as valid UTF-8"}
	}
	if cfg.Audience == "" || !utf8.ValidString(cfg.Audience) {
		return nil, &ConfigError{Field: "Config.Audience", Reason: "required, as valid UTF-8"}
	}
	if cfg.SigningKey.method == nil {
		return nil, &ConfigError{Field: "Config.SigningKey", Reason: "required; build it with HS256Key or Ed25519Key"}
	}
	if cfg.SigningKey.sign == nil {
		return nil, &ConfigError{Field: "Config.SigningKey", Reason: "is a verification-only key"}
	}
	leeway := cfg.Leeway
	switch {
	case leeway == 0:
		leeway = DefaultLeeway
	case leeway < 0 || leeway > DefaultLeeway:
		return nil, &ConfigError{Field: "Config.Leeway", Reason: fmt.Sprintf("must be between 0 and %v", DefaultLeeway)}
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}

	type namedKey struct {
		field string
		key   Key
	}
	all := []namedKey{{"Config.SigningKey", cfg.SigningKey}}
	for i, k := range cfg.VerifyKeys {
		field := fmt.Sprintf("Config.VerifyKeys[%d]", i)
		if k.method == nil {
			return nil, &ConfigError{Field: field, Reason: "is the zero JWTKey; build it with a key constructor"}
		}
		if !sameKey(k, cfg.SigningKey) {
			all = append(all, namedKey{field, k})
		}
	}
	keys := make(map[string]Key, len(all))
	var methods []string
	for _, nk := range all {
		k := nk.key
		if len(all) > 1 && k.id == "" {
			return nil, &ConfigError{Field: nk.field, Reason: "every key needs an id when there is more than one key"}
		}
		if _, dup := keys[k.id]; dup {
			return nil, &ConfigError{Field: nk.field, Reason: fmt.Sprintf("key id %q is already used by another key", k.id)}
		}
		keys[k.id] = k
		if alg := k.method.Alg(); !slices.Contains(methods, alg) {
			methods = append(methods, alg)
		}
	}
	if len(all) == 1 && cfg.SigningKey.id == "" {
		// A lone key without an id only verifies tokens without a kid.
		clear(keys)
	}

	hdr, err := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid,omitempty"`
		Typ string `json:"typ"`
	}{cfg.SigningKey.method.Alg(), cfg.SigningKey.id, accessTokenType})
	if err != nil {
		return nil, fmt.Errorf("auth: encode JWT header: %w", err)
	}

	opts := append(baseParserOptions(methods, leeway, now),
		gojwt.WithIssuer(cfg.Issuer),
		gojwt.WithAudience(cfg.Audience),
	)
	j := &Issuer{
		issuer:   cfg.Issuer,
		audience: cfg.Audience,
		signer:   cfg.SigningKey,
		header:   base64.RawURLEncoding.EncodeToString(hdr),
		keys:     keys,
		noKid:    cfg.SigningKey,
		parser:   gojwt.NewParser(opts...),
	}
	for _, nk := range all {
		j.ordered = append(j.ordered, nk.key)
	}
	j.keyfunc = j.lookupKey
	return j, nil
}

// baseParserOptions are the parser options every Issuer uses, apart from the
// issuer and audience checks.
func baseParserOptions(methods []string, leeway time.Duration, now func() time.Time) []gojwt.ParserOption {
	return []gojwt.ParserOption{
		gojwt.WithValidMethods(methods),
		gojwt.WithExpirationRequired(),
		gojwt.WithIssuedAt(),
		gojwt.WithLeeway(leeway),
		gojwt.WithStrictDecoding(),
		gojwt.WithTimeFunc(now),
	}
}

// accessTokenType is the "typ" header of access tokens (RFC 9068 §2.1).
const accessTokenType = "at+jwt"

// issuedClaims is the payload Issue writes, in this order.
type issuedClaims struct {
	Issuer    string `json:"iss"`
	Subject   string `json:"sub"`
	Audience  string `json:"aud"`
	ExpiresAt int64  `json:"exp"`
	IssuedAt  int64  `json:"iat"`
	ID        string `json:"jti"`
	SessionID string `json:"sid"`
}

// Issue returns a signed access token asserting c. c.UserID, c.SessionID
// and c.ID must be non-empty valid UTF-8, and c.ExpiresAt must be at least
// a second after c.IssuedAt (both are truncated to whole seconds). Refusals
// are *[ConfigError] values naming the field ("Claims.UserID"). ctx is
// not used: issuing does no I/O.
func (j *Issuer) Issue(_ context.Context, c Claims) (string, error) {
	for _, f := range [...]struct{ name, v string }{
		{"Claims.UserID", c.UserID},
		{"Claims.SessionID", c.SessionID},
		{"Claims.ID", c.ID},
	} {
		if f.v == "" || !utf8.ValidString(f.v) {
			return "", &ConfigError{Field: f.name, Reason: "required, as valid UTF-8"}
		}
	}
	if len(c.UserID)+len(c.SessionID)+len(c.ID) > MaxTokenLen {
		return "", claimsTooLong()
	}
	if c.IssuedAt.IsZero() {
		return "", &ConfigError{Field: "Claims.IssuedAt", Reason: "required"}
	}
	iat, exp := c.IssuedAt.Unix(), c.ExpiresAt.Unix()
	if c.ExpiresAt.IsZero() || exp <= iat {
		return "", &ConfigError{Field: "Claims.ExpiresAt", Reason: "must be at least a second after IssuedAt"}
	}
	payload, err := json.Marshal(issuedClaims{
		Issuer:    j.issuer,
		Subject:   c.UserID,
		Audience:  j.audience,
		ExpiresAt: exp,
		IssuedAt:  iat,
		ID:        c.ID,
		SessionID: c.SessionID,
	})
	if err != nil {
		return "", fmt.Errorf("auth: encode JWT claims: %w", err)
	}
	enc := base64.RawURLEncoding
	buf := make([]byte, 0, len(j.header)+1+enc.EncodedLen(len(payload))+1+enc.EncodedLen(ed25519.SignatureSize))
	buf = append(buf, j.header...)
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, payload)
	sig, err := j.signer.method.Sign(string(buf), j.signer.sign)
	if err != nil {
		return "", fmt.Errorf("auth: sign JWT: %w", err)
	}
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, sig)
	if len(buf) > MaxTokenLen {
		return "", claimsTooLong()
	}
	return string(buf), nil
}

func claimsTooLong() error {
	return &ConfigError{Field: "Claims", Reason: fmt.Sprintf("the token would be longer than %d bytes", MaxTokenLen)}
}

// verified is what Verify decodes a token into: the parsed claims and the
// result, in one allocation.
type verified struct {
	claims accessClaims
	out    Claims
}

// Verify checks token and returns its claims. It returns an error matching
// [ErrExpired] only when the token is genuine (good signature, known
// key, right type, issuer and audience) and its expiry, plus leeway, has
// passed; every other failure matches [ErrInvalid] and never
// ErrExpired. The error text names the reason, for logs; it holds
// nothing taken from the token. The returned times are in UTC. ctx is not
// used: verifying does no I/O.
func (j *Issuer) Verify(_ context.Context, token string) (*Claims, error) {
	if len(token) > MaxTokenLen {
		return nil, errTokenTooLong
	}
	if strings.Count(token, ".") != 2 {
		return nil, errTokenSegments
	}
	v := new(verified)
	t, err := j.parser.ParseWithClaims(token, &v.claims, j.keyfunc)
	if err != nil {
		return nil, mapParseError(err)
	}
	if !t.Valid {
		return nil, errTokenUnverified
	}
	v.out = Claims{
		UserID:    v.claims.Subject,
		SessionID: v.claims.SessionID,
		ID:        v.claims.ID,
		IssuedAt:  v.claims.IssuedAt.UTC(),
		ExpiresAt: v.claims.ExpiresAt.UTC(),
	}
	return &v.out, nil
}

// lookupKey is the parser's Keyfunc. The parser has already checked that
// the alg is one of ours; lookupKey checks the header and picks the key by
// kid from our own map only, then insists that the alg is that key's.
func (j *Issuer) lookupKey(t *gojwt.Token) (any, error) {
	if _, ok := t.Header["crit"]; ok {
		return nil, errTokenCrit
	}
	if !isAccessTokenType(t.Header["typ"]) {
		return nil, errTokenType
	}
	k := j.noKid
	if raw, ok := t.Header["kid"]; ok {
		kid, ok := raw.(string)
		if !ok {
			return nil, errTokenUnknownKey
		}
		if k, ok = j.keys[kid]; !ok {
			return nil, errTokenUnknownKey
		}
	}
	if t.Method == nil || t.Method.Alg() != k.method.Alg() {
		return nil, errTokenKeyAlg
	}
	return k.verify, nil
}

// isAccessTokenType reports whether a typ header value names an access
// token: "at+jwt", or "application/at+jwt", in any case (RFC 7515 §4.1.9).
func isAccessTokenType(v any) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	const prefix = "application/"
	if len(s) > len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		s = s[len(prefix):]
	}
	return strings.EqualFold(s, accessTokenType)
}

// accessClaims is the payload Verify decodes. It implements gojwt.Claims
// with value dates (a zero date means absent) so that decoding allocates
// less than gojwt.RegisteredClaims.
type accessClaims struct {
	Issuer    string             `json:"iss"`
	Subject   string             `json:"sub"`
	Audience  gojwt.ClaimStrings `json:"aud"`
	ExpiresAt numericDate        `json:"exp"`
	NotBefore numericDate        `json:"nbf"`
	IssuedAt  numericDate        `json:"iat"`
	ID        string             `json:"jti"`
	SessionID string             `json:"sid"`
}

// numericDate is a gojwt.NumericDate that decodes only from a JSON number.
// RFC 7519 §2 defines NumericDate as a JSON numeric value; golang-jwt's
// own type also takes a string that spells a number ("exp": "2796559616"),
// which no issuer of ours writes and a verifier must not accept.
type numericDate struct{ gojwt.NumericDate }

var errDateNotNumber = errors.New("auth: a NumericDate claim must be a JSON number")

func (d *numericDate) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || (b[0] != '-' && (b[0] < '0' || b[0] > '9')) {
		return errDateNotNumber
	}
	return d.NumericDate.UnmarshalJSON(b)
}

func presentDate(d *gojwt.NumericDate) *gojwt.NumericDate {
	if d.IsZero() {
		return nil
	}
	return d
}

// The gojwt.Claims methods. A token's claims cannot be of the wrong type
// here: decoding has already refused those.

func (c *accessClaims) GetExpirationTime() (*gojwt.NumericDate, error) {
	return presentDate(&c.ExpiresAt.NumericDate), nil
}

func (c *accessClaims) GetIssuedAt() (*gojwt.NumericDate, error) {
	return presentDate(&c.IssuedAt.NumericDate), nil
}

func (c *accessClaims) GetNotBefore() (*gojwt.NumericDate, error) {
	return presentDate(&c.NotBefore.NumericDate), nil
}

func (c *accessClaims) GetIssuer() (string, error) { return c.Issuer, nil }

func (c *accessClaims) GetSubject() (string, error) { return c.Subject, nil }

func (c *accessClaims) GetAudience() (gojwt.ClaimStrings, error) { return c.Audience, nil }

// Validate adds our own requirements to the parser's claim checks.
func (c *accessClaims) Validate() error {
	if c.Subject == "" || c.SessionID == "" || c.ID == "" || c.IssuedAt.IsZero() {
		return errTokenMissingClaim
	}
	return nil
}

// tokenError is a Verify failure: a sentinel and a fixed reason.
type tokenError struct {
	sentinel error
	reason   string
}

func (e *tokenError) Error() string { return e.sentinel.Error() + ": " + e.reason }
func (e *tokenError) Unwrap() error { return e.sentinel }

// The Verify failures. They are allocated once, so rejecting a token costs
// no allocation for the error.
var (
	errTokenTooLong      = &tokenError{ErrInvalid, "token too long"}
	errTokenSegments     = &tokenError{ErrInvalid, "not three segments"}
	errTokenMalformed    = &tokenError{ErrInvalid, "malformed"}
	errTokenAlg          = &tokenError{ErrInvalid, "unknown algorithm"}
	errTokenAlgNotUsed   = &tokenError{ErrInvalid, "algorithm not allowed"}
	errTokenSignature    = &tokenError{ErrInvalid, "bad signature"}
	errTokenCrit         = &tokenError{ErrInvalid, "crit header not supported"}
	errTokenType         = &tokenError{ErrInvalid, "not an access token (typ)"}
	errTokenUnknownKey   = &tokenError{ErrInvalid, "unknown key id"}
	errTokenKeyAlg       = &tokenError{ErrInvalid, "algorithm does not match the key"}
	errTokenMissingClaim = &tokenError{ErrInvalid, "missing required claim"}
	errTokenClaimType    = &tokenError{ErrInvalid, "claim of the wrong type"}
	errTokenIssuer       = &tokenError{ErrInvalid, "wrong issuer"}
	errTokenAudience     = &tokenError{ErrInvalid, "wrong audience"}
	errTokenNotYetValid  = &tokenError{ErrInvalid, "not valid yet (nbf)"}
	errTokenIssuedLater  = &tokenError{ErrInvalid, "issued in the future (iat)"}
	errTokenClaims       = &tokenError{ErrInvalid, "invalid claims"}
	errTokenUnverified   = &tokenError{ErrInvalid, "not verified"}
	errTokenExpired      = &tokenError{ErrExpired, "past its expiry"}
)

// mapParseError turns a golang-jwt error into one of ours. Only a token
// whose signature checked out reaches claim validation, and only one whose
// sole failure is expiry is reported as expired.
func mapParseError(err error) error {
	var te *tokenError
	switch {
	case errors.As(err, &te): // from lookupKey or Validate
		return te
	case errors.Is(err, gojwt.ErrTokenMalformed):
		return errTokenMalformed
	case errors.Is(err, gojwt.ErrSignatureInvalid), errors.Is(err, gojwt.ErrEd25519Verification):
		return errTokenSignature
	case errors.Is(err, gojwt.ErrTokenSignatureInvalid):
		// Without a failed verification inside, the parser refused the
		// alg before looking for a key (WithValidMethods).
		return errTokenAlgNotUsed
	case errors.Is(err, gojwt.ErrTokenUnverifiable):
		return errTokenAlg
	case !errors.Is(err, gojwt.ErrTokenInvalidClaims):
		return errTokenUnverified
	case onlyExpired(err):
		return errTokenExpired
	case errors.Is(err, gojwt.ErrTokenRequiredClaimMissing):
		return errTokenMissingClaim
	case errors.Is(err, gojwt.ErrInvalidType):
		return errTokenClaimType
	case errors.Is(err, gojwt.ErrTokenInvalidIssuer):
		return errTokenIssuer
	case errors.Is(err, gojwt.ErrTokenInvalidAudience):
		return errTokenAudience
	case errors.Is(err, gojwt.ErrTokenNotValidYet):
		return errTokenNotYetValid
	case errors.Is(err, gojwt.ErrTokenUsedBeforeIssued):
		return errTokenIssuedLater
	}
	return errTokenClaims
}

// onlyExpired reports whether the claim validation error err says the
// token is expired and nothing else: every leaf of its error tree must be
// gojwt.ErrTokenInvalidClaims or gojwt.ErrTokenExpired, and the latter present.
func onlyExpired(err error) bool {
	expired, ok := expiryLeaves(err)
	return ok && expired
}

func expiryLeaves(err error) (expired, ok bool) {
	switch e := err.(type) {
	case interface{ Unwrap() []error }:
		ok = true
		for _, inner := range e.Unwrap() {
			x, y := expiryLeaves(inner)
			expired, ok = expired || x, ok && y
		}
		return expired, ok
	case interface{ Unwrap() error }:
		return expiryLeaves(e.Unwrap())
	}
	// The leaves are compared by identity on purpose: a wrapper that is
	// not itself one of these two is an unknown failure.
	switch err { //nolint:errorlint
	case gojwt.ErrTokenExpired:
		return true, true
	case gojwt.ErrTokenInvalidClaims:
		return false, true
	}
	return false, false
}
