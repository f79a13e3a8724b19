package sqlstore_test

import (
	"bytes"
	"testing"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/internal/testhash"
	"github.com/gatehouse-go/gatehouse/mail"
)

// TestManagerProviderTokens keeps provider tokens through the auth
// Manager on each dialect and reads the row back. SECURITY.md #89: the
// identity row holds ciphertext, never the token; a login without tokens
// leaves the column empty.
func TestManagerProviderTokens(t *testing.T) {
	const iss = "https://op.example.com"
	secret := []byte(`{"access_token":"provider-access-token-1","refresh_token":"provider-refresh-token-1"}`)
	for _, tdb := range dialects() {
		t.Run(tdb.name, func(t *testing.T) {
			ctx := t.Context()
			db := tdb.open(t)
			m, err := auth.New(auth.Config{
				Store:    newStore(t, db, tdb.dialect),
				Mailer:   mail.Discard{},
				Tokens:   auth.TokenConfig{SigningKey: bytes.Repeat([]byte{3}, 32)},
				Password: auth.PasswordConfig{Hasher: testhash.Fast{}, LegacyHashers: []auth.Hasher{}},
				Factors:  auth.FactorConfig{Keys: []auth.FactorKey{{ID: "k1", Key: bytes.Repeat([]byte{5}, 32)}}},
				Limits:   auth.Limits{Disabled: true},
			})
			if err != nil {
				t.Fatal(err)
			}
			fi := auth.FederatedIdentity{Provider: "op", Issuer: iss, Subject: "s-1", Email: "fed@example.org", EmailVerified: true, Tokens: secret}
			res, err := m.FederatedLogin(ctx, fi)
			if err != nil {
				t.Fatalf("FederatedLogin: %v", err)
			}
			var sealed []byte
			if err := db.QueryRowContext(ctx, "SELECT tokens FROM gatehouse_identities").Scan(&sealed); err != nil {
				t.Fatal(err)
			}
			if len(sealed) == 0 || bytes.Contains(sealed, []byte("provider-access-token-1")) || bytes.Contains(sealed, []byte("provider-refresh-token-1")) {
				t.Fatalf("the identity row holds %q, want ciphertext", sealed)
			}
			got, err := m.ProviderTokens(ctx, res.User.ID, iss, "s-1")
			if err != nil || !bytes.Equal(got, secret) {
				t.Fatalf("ProviderTokens = %q, %v", got, err)
			}
			fi.Tokens = nil
			if _, err := m.FederatedLogin(ctx, fi); err != nil {
				t.Fatal(err)
			}
			sealed = nil
			if err := db.QueryRowContext(ctx, "SELECT tokens FROM gatehouse_identities").Scan(&sealed); err != nil {
				t.Fatal(err)
			}
			if len(sealed) != 0 {
				t.Errorf("after a login without tokens the row holds %d bytes", len(sealed))
			}
		})
	}
}
