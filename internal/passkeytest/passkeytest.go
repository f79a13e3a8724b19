// Package passkeytest is a software WebAuthn authenticator for tests: it
// answers the options a relying party sends for navigator.credentials.create
// and navigator.credentials.get with registrations (attestation "none") and
// assertions signed by an ECDSA P-256 key, as a browser would encode them,
// and can forge what a hostile client might send instead: another origin,
// another RP ID, another challenge, a lower signature counter, no user
// verification.
//
// It imports only the standard library, and only tests import it.
package passkeytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
)

// Authenticator holds one credential: a P-256 key, its credential ID and
// the user handle it was registered for. It is not safe for concurrent
// use.
type Authenticator struct {
	// Origin is the origin the simulated browser reports in its client
	// data.
	Origin string
	// Key and CredentialID are the credential; Register sets UserHandle.
	Key          *ecdsa.PrivateKey
	CredentialID []byte
	UserHandle   []byte
	// SignCount is the signature counter: each assertion increments it
	// first, unless it is 0 and Counterless is set.
	SignCount   uint32
	Counterless bool
}

// New returns an authenticator with a fresh key and a 32-byte credential
// ID, reporting origin.
func New(origin string) *Authenticator {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	id := make([]byte, 32)
	if _, err := rand.Read(id); err != nil {
		panic(err)
	}
	return &Authenticator{Origin: origin, Key: key, CredentialID: id}
}

// WithHandle sets the user handle the authenticator sends, as if it had
// been registered for that user, and returns a.
func (a *Authenticator) WithHandle(handle []byte) *Authenticator {
	a.UserHandle = append([]byte(nil), handle...)
	return a
}

// Forge changes what one ceremony sends; the zero value is an honest
// authenticator with user verification.
type Forge struct {
	// Origin replaces the authenticator's origin in the client data.
	Origin string
	// RPID replaces the RP ID whose hash the authenticator data carries.
	RPID string
	// Challenge replaces the challenge the client data carries.
	Challenge []byte
	// SignCount, when set, is sent instead of the next counter value.
	SignCount *uint32
	// NoUV clears the user-verified flag.
	NoUV bool
	// Type replaces the client data's type ("webauthn.create" or
	// "webauthn.get").
	Type string
}

var b64 = base64.RawURLEncoding

type creationOptions struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		RP        struct {
			ID string `json:"id"`
		} `json:"rp"`
		User struct {
			ID string `json:"id"`
		} `json:"user"`
	} `json:"publicKey"`
}

type requestOptions struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		RPID      string `json:"rpId"`
	} `json:"publicKey"`
}

// Register answers creation options (the JSON of {"publicKey": {...}}) with
// the PublicKeyCredential JSON of a new registration of the
// authenticator's credential, attestation "none".
func (a *Authenticator) Register(options []byte, f Forge) ([]byte, error) {
	var o creationOptions
	if err := json.Unmarshal(options, &o); err != nil {
		return nil, fmt.Errorf("passkeytest: creation options: %w", err)
	}
	challenge, err := b64.DecodeString(o.PublicKey.Challenge)
	if err != nil {
		return nil, fmt.Errorf("passkeytest: challenge: %w", err)
	}
	if a.UserHandle, err = b64.DecodeString(o.PublicKey.User.ID); err != nil {
		return nil, fmt.Errorf("passkeytest: user id: %w", err)
	}
	clientData := a.clientData("webauthn.create", challenge, f)
	var att []byte
	att = append(att, a.authData(o.PublicKey.RP.ID, f, true)...)
	att = append(att, make([]byte, 16)...) // AAGUID: zero
	att = binary.BigEndian.AppendUint16(att, uint16(len(a.CredentialID)))
	att = append(att, a.CredentialID...)
	att = append(att, a.coseKey()...)
	obj := cborMap(3)
	obj = append(obj, cborText("fmt")...)
	obj = append(obj, cborText("none")...)
	obj = append(obj, cborText("attStmt")...)
	obj = append(obj, cborMap(0)...)
	obj = append(obj, cborText("authData")...)
	obj = append(obj, cborBytes(att)...)
	return json.Marshal(map[string]any{
		"id": b64.EncodeToString(a.CredentialID), "rawId": b64.EncodeToString(a.CredentialID), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(clientData),
			"attestationObject": b64.EncodeToString(obj),
			"transports":        []string{"internal"},
		},
		"clientExtensionResults": map[string]any{},
	})
}

// Assert answers request options with the PublicKeyCredential JSON of an
// assertion by the authenticator's credential, carrying its user handle.
func (a *Authenticator) Assert(options []byte, f Forge) ([]byte, error) {
	var o requestOptions
	if err := json.Unmarshal(options, &o); err != nil {
		return nil, fmt.Errorf("passkeytest: request options: %w", err)
	}
	challenge, err := b64.DecodeString(o.PublicKey.Challenge)
	if err != nil {
		return nil, fmt.Errorf("passkeytest: challenge: %w", err)
	}
	if a.UserHandle == nil {
		return nil, errors.New("passkeytest: assert before register")
	}
	if !a.Counterless || a.SignCount != 0 {
		a.SignCount++
	}
	clientData := a.clientData("webauthn.get", challenge, f)
	authData := a.authData(o.PublicKey.RPID, f, false)
	sum := sha256.Sum256(clientData)
	digest := sha256.Sum256(append(append([]byte(nil), authData...), sum[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.Key, digest[:])
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"id": b64.EncodeToString(a.CredentialID), "rawId": b64.EncodeToString(a.CredentialID), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(clientData),
			"authenticatorData": b64.EncodeToString(authData),
			"signature":         b64.EncodeToString(sig),
			"userHandle":        b64.EncodeToString(a.UserHandle),
		},
		"clientExtensionResults": map[string]any{},
	})
}

func (a *Authenticator) clientData(typ string, challenge []byte, f Forge) []byte {
	origin := a.Origin
	if f.Origin != "" {
		origin = f.Origin
	}
	if f.Challenge != nil {
		challenge = f.Challenge
	}
	if f.Type != "" {
		typ = f.Type
	}
	b, _ := json.Marshal(map[string]any{
		"type": typ, "challenge": b64.EncodeToString(challenge), "origin": origin, "crossOrigin": false,
	})
	return b
}

// authData is the authenticator data up to the attested credential data:
// RP ID hash, flags (user present, user verified, attested data) and the
// counter.
func (a *Authenticator) authData(rpID string, f Forge, attested bool) []byte {
	if f.RPID != "" {
		rpID = f.RPID
	}
	h := sha256.Sum256([]byte(rpID))
	flags := byte(0x01) // UP
	if !f.NoUV {
		flags |= 0x04
	}
	if attested {
		flags |= 0x40
	}
	count := a.SignCount
	if f.SignCount != nil {
		count = *f.SignCount
	}
	out := append(h[:], flags)
	return binary.BigEndian.AppendUint32(out, count)
}

// coseKey is the credential's public key as a COSE_Key (EC2, ES256, P-256).
func (a *Authenticator) coseKey() []byte {
	x, y := make([]byte, 32), make([]byte, 32)
	pub, err := a.Key.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		panic(err)
	}
	copy(x, pub[1:33])
	copy(y, pub[33:65])
	out := cborMap(5)
	out = append(out, cborInt(1)...)
	out = append(out, cborInt(2)...)
	out = append(out, cborInt(3)...)
	out = append(out, cborInt(-7)...)
	out = append(out, cborInt(-1)...)
	out = append(out, cborInt(1)...)
	out = append(out, cborInt(-2)...)
	out = append(out, cborBytes(x)...)
	out = append(out, cborInt(-3)...)
	out = append(out, cborBytes(y)...)
	return out
}

// The few CBOR items the encodings need (RFC 8949), lengths below 2^16.

func cborHead(major byte, n int) []byte {
	switch {
	case n < 24:
		return []byte{major<<5 | byte(n)}
	case n < 256:
		return []byte{major<<5 | 24, byte(n)}
	default:
		return binary.BigEndian.AppendUint16([]byte{major<<5 | 25}, uint16(n))
	}
}

func cborInt(v int) []byte {
	if v < 0 {
		return cborHead(1, -1-v)
	}
	return cborHead(0, v)
}

func cborBytes(b []byte) []byte { return append(cborHead(2, len(b)), b...) }
func cborText(s string) []byte  { return append(cborHead(3, len(s)), s...) }
func cborMap(pairs int) []byte  { return cborHead(5, pairs) }
