package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"testing"

	"github.com/gatehouse-go/gatehouse/internal/passkeytest"
)

// BenchmarkPasskeyVerify times the finish step of a passwordless passkey
// login (parse, ceremony take, credential lookup, decryption, WebAuthn
// verification, counter update and the session) beside a bare ECDSA P-256
// verification in the same run. Target: at most 1 ms per finish.
func BenchmarkPasskeyVerify(b *testing.B) {
	b.Run("finish", func(b *testing.B) {
		e := newEnv(b, withPasskeys, noLimits)
		u := e.registerPasskey(b, "ada@example.com")
		ctx := context.Background()
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			b.StopTimer()
			c, err := e.m.BeginPasskeyLogin(ctx)
			if err != nil {
				b.Fatal(err)
			}
			cred, err := u.key.Assert(c.Options, passkeytest.Forge{})
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if _, err := e.m.PasskeyLogin(ctx, c.ID, string(cred)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ecdsa.Verify", func(b *testing.B) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		digest := sha256.Sum256([]byte("authenticator data and client data hash"))
		sig, _ := ecdsa.SignASN1(rand.Reader, key, digest[:])
		b.ReportAllocs()
		for b.Loop() {
			if !ecdsa.VerifyASN1(&key.PublicKey, digest[:], sig) {
				b.Fatal("verify failed")
			}
		}
	})
}
