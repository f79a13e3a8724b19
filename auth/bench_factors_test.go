package auth_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/store/memstore"
)

// BenchmarkLoginSecondFactor is what a TOTP factor adds to a login beyond
// the password hash (the hasher is the fast spy, so the hash costs next to
// nothing): factor=none is a login of a user without a factor, factor=totp
// the password step plus CompleteLogin with a TOTP code (decrypting the
// secret, three HMAC-SHA1 steps, the challenge round trip and the step's
// atomic update). Both run with factors on, throttling on and a clock
// that moves one TOTP step per login. Compare with
// benchstat -col /factor.
func BenchmarkLoginSecondFactor(b *testing.B) {
	for _, withFactor := range []bool{false, true} {
		name := "factor=none"
		if withFactor {
			name = "factor=totp"
		}
		b.Run(name, func(b *testing.B) {
			var mu sync.Mutex
			now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
			st := memstore.New()
			m, err := auth.New(auth.Config{
				Store: st, Mailer: mail.Discard{}, Tokens: auth.TokenConfig{SigningKey: testKey},
				Password: auth.PasswordConfig{Hasher: newSpyHasher(), LegacyHashers: []auth.Hasher{}},
				Factors:  auth.FactorConfig{Enabled: true, Keys: []auth.FactorKey{factorKey}},
				Now:      clock,
			})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			if _, err := m.Register(ctx, auth.Registration{Email: "bench@example.com", Password: goodPassword}); err != nil {
				b.Fatal(err)
			}
			var secret string
			if withFactor {
				res, err := m.Login(ctx, "bench@example.com", goodPassword)
				if err != nil {
					b.Fatal(err)
				}
				id, err := m.Authenticate(ctx, res.Tokens.AccessToken)
				if err != nil {
					b.Fatal(err)
				}
				enr, err := m.EnrollTOTP(ctx, id, goodPassword, "")
				if err != nil {
					b.Fatal(err)
				}
				secret = enr.Secret
				code, _ := totp.GenerateCode(secret, clock())
				if _, err := m.ConfirmTOTP(ctx, id, enr.FactorID, code); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				mu.Lock()
				now = now.Add(30 * time.Second)
				mu.Unlock()
				var code string
				if withFactor {
					code, _ = totp.GenerateCode(secret, clock())
				}
				b.StartTimer()
				res, err := m.Login(ctx, "bench@example.com", goodPassword)
				if err != nil {
					b.Fatal(err)
				}
				if withFactor {
					if res, err = m.CompleteLogin(ctx, res.Challenge.Token, auth.MethodTOTP, code); err != nil {
						b.Fatal(err)
					}
				}
				if res.Tokens == nil {
					b.Fatal("no tokens")
				}
			}
		})
	}
}
