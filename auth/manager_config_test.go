package auth_test

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/auth/password"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/store/memstore"
)

func TestNewValidatesConfig(t *testing.T) {
	valid := func() auth.Config {
		return auth.Config{Store: memstore.New(), Mailer: mail.Discard{}, SigningKey: testKey, Hasher: newSpyHasher()}
	}
	tests := []struct {
		name  string
		edit  func(*auth.Config)
		field string
	}{
		{"missing store", func(c *auth.Config) { c.Store = nil }, "Config.Store"},
		{"missing mailer", func(c *auth.Config) { c.Mailer = nil }, "Config.Mailer"},
		{"missing signing key", func(c *auth.Config) { c.SigningKey = nil }, "Config.SigningKey"},
		// SECURITY.md #31: short or empty HMAC keys are refused.
		{"16-byte signing key", func(c *auth.Config) { c.SigningKey = make([]byte, 16) }, "Config.SigningKey"},
		{"access TTL too long", func(c *auth.Config) { c.AccessTokenTTL = 2 * time.Hour }, "Config.AccessTokenTTL"},
		{"access TTL too short", func(c *auth.Config) { c.AccessTokenTTL = time.Second }, "Config.AccessTokenTTL"},
		{"reset TTL over 24h", func(c *auth.Config) { c.ResetTokenTTL = 25 * time.Hour }, "Config.ResetTokenTTL"},
		{"code TTL over 1h", func(c *auth.Config) { c.VerificationCodeTTL = 2 * time.Hour }, "Config.VerificationCodeTTL"},
		{"negative grace", func(c *auth.Config) { c.RefreshReuseGrace = -time.Second }, "Config.RefreshReuseGrace"},
		{"idle below access TTL", func(c *auth.Config) { c.RefreshIdleTimeout = 2 * time.Minute }, "Config.RefreshIdleTimeout"},
		{"too many code attempts", func(c *auth.Config) { c.MaxCodeAttempts = 11 }, "Config.MaxCodeAttempts"},
		{"negative hash slots", func(c *auth.Config) { c.MaxConcurrentHashes = -1 }, "Config.MaxConcurrentHashes"},
		{"base URL with query", func(c *auth.Config) { c.BaseURL = "https://app.example.com/?x=1" }, "Config.BaseURL"},
		{"relative base URL", func(c *auth.Config) { c.BaseURL = "/app" }, "Config.BaseURL"},
		// SECURITY.md #5: a minimum under 8 is a configuration error.
		{"password minimum 7", func(c *auth.Config) { c.Password.MinLength = 7 }, "Config.Password.MinLength"},
		{"JWT of nil", func(c *auth.Config) { c.Tokens = auth.JWT(nil) }, "Config.Tokens"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid()
			tt.edit(&cfg)
			m, err := auth.New(cfg)
			if m != nil || err == nil {
				t.Fatalf("New accepted the config")
			}
			var ve *auth.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error %T %v, want *auth.ValidationError", err, err)
			}
			if ve.Field != tt.field {
				t.Fatalf("error names field %q, want %q", ve.Field, tt.field)
			}
		})
	}
	t.Run("valid", func(t *testing.T) {
		if _, err := auth.New(valid()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("argon2 below floor", func(t *testing.T) {
		// SECURITY.md #2: configuration below the floor is refused.
		_, err := password.NewArgon2id(password.Argon2Params{Time: 1, MemoryKiB: 8192})
		var ce *password.ConfigError
		if !errors.As(err, &ce) || ce.Field != "Argon2Params.MemoryKiB" {
			t.Fatalf("NewArgon2id(t=1, m=8192) = %v, want a *password.ConfigError naming Argon2Params.MemoryKiB", err)
		}
	})
}

func TestNewDoesNotKeepCallerConfig(t *testing.T) {
	cfg := auth.Config{Store: memstore.New(), Mailer: mail.Discard{}, SigningKey: append([]byte(nil), testKey...), Hasher: newSpyHasher()}
	m, err := auth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Mutating the caller's key after New must not change the Manager's.
	for i := range cfg.SigningKey {
		cfg.SigningKey[i] = 0
	}
	u, err := m.Register(t.Context(), auth.Registration{Email: "a@example.com", Password: goodPassword})
	if err != nil {
		t.Fatal(err)
	}
	res, err := m.Login(t.Context(), "a@example.com", goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	id, err := m.Authenticate(t.Context(), res.Tokens.AccessToken)
	if err != nil || id.User.ID != u.ID {
		t.Fatalf("Authenticate after the caller zeroed its key: %v", err)
	}
}

// TestNewCopiesBlocklist: the policy's extra blocklist is the caller's
// slice; changing it after New must not change what the Manager refuses.
func TestNewCopiesBlocklist(t *testing.T) {
	cfg := auth.Config{Store: memstore.New(), Mailer: mail.Discard{}, SigningKey: testKey, Hasher: newSpyHasher(),
		Password: password.Policy{Blocklist: []string{"wonderland"}}}
	m, err := auth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Password.Blocklist[0] = "unrelated"
	_, err = m.Register(t.Context(), auth.Registration{Email: "a@example.com", Password: "wonderland"})
	if !errors.Is(err, auth.ErrWeakPassword) {
		t.Fatalf("Register with the blocked word after the caller changed its slice: %v, want ErrWeakPassword", err)
	}
}
