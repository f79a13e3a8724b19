package sqlstore_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/internal/passkeytest"
	"github.com/gatehouse-go/gatehouse/internal/testhash"
	"github.com/gatehouse-go/gatehouse/mail"
)

// TestManagerPasskeys registers a passkey and logs in with it, as a second
// factor and without a password, through the Manager on each dialect; a
// replayed assertion and a counter that went back are refused (SECURITY.md
// #83).
func TestManagerPasskeys(t *testing.T) {
	const email, pw, origin = "ada@example.com", "correct horse battery staple", "https://example.com"
	for _, tdb := range dialects() {
		t.Run(tdb.name, func(t *testing.T) {
			ctx := t.Context()
			m, err := auth.New(auth.Config{
				Store:    newStore(t, tdb.open(t), tdb.dialect),
				Mailer:   mail.Discard{},
				Tokens:   auth.TokenConfig{SigningKey: bytes.Repeat([]byte{3}, 32)},
				Password: auth.PasswordConfig{Hasher: testhash.Fast{}, LegacyHashers: []auth.Hasher{}},
				Factors: auth.FactorConfig{Enabled: true, Keys: []auth.FactorKey{{ID: "k1", Key: bytes.Repeat([]byte{5}, 32)}},
					Passkeys: auth.PasskeyConfig{RPID: "example.com", Origins: []string{origin}}},
			})
			if err != nil {
				t.Fatal(err)
			}
			id := signedIn(t, m, email, pw)
			key := passkeytest.New(origin)
			c, err := m.BeginPasskeyRegistration(ctx, id, pw, "laptop")
			if err != nil {
				t.Fatalf("BeginPasskeyRegistration: %v", err)
			}
			cred, _ := key.Register(c.Options, passkeytest.Forge{})
			if _, err := m.FinishPasskeyRegistration(ctx, id, c.ID, string(cred)); err != nil {
				t.Fatalf("FinishPasskeyRegistration: %v", err)
			}
			login := func(f passkeytest.Forge) error {
				l, err := m.BeginPasskeyLogin(ctx)
				if err != nil {
					t.Fatalf("BeginPasskeyLogin: %v", err)
				}
				a, _ := key.Assert(l.Options, f)
				_, err = m.PasskeyLogin(ctx, l.ID, string(a))
				return err
			}
			if err := login(passkeytest.Forge{}); err != nil {
				t.Fatalf("PasskeyLogin: %v", err)
			}
			stale := uint32(0)
			if err := login(passkeytest.Forge{SignCount: &stale}); !errors.Is(err, auth.ErrInvalidPasskey) {
				t.Errorf("PasskeyLogin(counter back to 0) = %v, want ErrInvalidPasskey", err)
			}

			pwRes, err := m.Login(ctx, email, pw)
			if err != nil || pwRes.Challenge == nil {
				t.Fatalf("Login = %+v, %v; want a challenge", pwRes, err)
			}
			opts, err := m.PasskeyChallengeOptions(ctx, pwRes.Challenge.Token)
			if err != nil {
				t.Fatalf("PasskeyChallengeOptions: %v", err)
			}
			a, _ := key.Assert(opts.Options, passkeytest.Forge{})
			if _, err := m.CompleteLogin(ctx, pwRes.Challenge.Token, auth.MethodPasskey, string(a)); err != nil {
				t.Fatalf("CompleteLogin(passkey): %v", err)
			}
			if _, err := m.CompleteLogin(ctx, pwRes.Challenge.Token, auth.MethodPasskey, string(a)); !errors.Is(err, auth.ErrInvalidChallenge) {
				t.Errorf("CompleteLogin(replayed) = %v, want ErrInvalidChallenge", err)
			}
			fs, err := m.Factors(ctx, id)
			if err != nil || len(fs) != 1 || fs[0].LastUsedAt.IsZero() || time.Since(fs[0].LastUsedAt) > time.Hour {
				t.Errorf("Factors = %+v, %v; want the used passkey", fs, err)
			}
		})
	}
}
