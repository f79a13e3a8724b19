// Package jwt issues and verifies Gatehouse's access tokens: short-lived
// JWTs signed with HS256 or Ed25519 (EdDSA), with key rotation by key id.
// It is a leaf package; package auth uses it through auth.JWT, and package
// httpapi serves its public keys to other services (httpapi.NewJWKS).
//
// # Quick start
//
//	key, err := jwt.Ed25519Key(kid, priv) // or jwt.HS256Key("", secret)
//	j, err := jwt.New(jwt.Config{Issuer: "https://auth.example.com", Audience: "api", SigningKey: key})
//	m, err := auth.New(auth.Config{Tokens: auth.TokenConfig{Issuer: auth.JWT(j)}, ...})
//
// An HS256 secret verifies as well as signs, so only services that may
// also mint tokens can check them. With Ed25519, other services verify
// with the public keys alone: [Issuer.PublicJWKS] is the JWK Set document
// (RFC 7517, RFC 8037) that httpapi.NewJWKS serves at
// /.well-known/jwks.json. It lists the signing key and every verify-only
// key by kid, never an HS256 secret. [Ed25519Thumbprint] gives a key a
// stable id (its RFC 7638 thumbprint).
//
// # Rotating an Ed25519 key
//
// A token names the key that signed it in its "kid" header, and an
// [Issuer] accepts the signing key and [Config].VerifyKeys. A consumer of
// the JWKS caches it for up to the Cache-Control max-age it was served
// with (httpapi.JWKSConfig.MaxAge, default 10 minutes). Rotate in five
// steps, each a restart (or a new Issuer and Manager) of every instance:
//
//  1. Make the new key pair and add its public half, with its own kid, to
//     VerifyKeys ([Ed25519PublicKey]). Nothing is signed with it yet.
//  2. Once every instance runs with it, the JWKS lists it: wait at least
//     the max-age, so that every consumer's cached copy has it.
//  3. Switch: the new private key becomes SigningKey, and the old key stays
//     in VerifyKeys as [Ed25519PublicKey] (verify-only). New tokens carry
//     the new kid and verify everywhere; the old key's tokens still do.
//  4. Keep the old key until the last token it signed has expired: the
//     access-token lifetime (auth.TokenConfig.AccessTTL) plus the leeway
//     ([DefaultLeeway]) after the last instance switched.
//  5. Remove the old key from VerifyKeys. Its tokens are now refused here
//     and, after one more max-age, by every consumer.
//
// A key that leaked skips the waits: remove it at once (tokens it signed
// fail here at once, elsewhere within the max-age), sign with a new key,
// and let clients refresh; refresh tokens are opaque and signed by no key,
// so sessions survive.
//
// # Security
//
// Verify pins each key's algorithm and never trusts the token's header
// beyond choosing among the configured keys by kid; jku, x5u, jwk and x5c
// are ignored, and crit is refused. Tokens longer than [MaxTokenLen] are
// refused before decoding. Errors match [ErrInvalid] or, only for a
// genuine token past its expiry, [ErrExpired].
package jwt
