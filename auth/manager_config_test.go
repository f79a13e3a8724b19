package auth_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/auth/password"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/memstore"
)

// TestNewValidatesConfig: a bad field, nested or not, gives a
// *ValidationError whose Field is the field's full path from Config, and
// whose message starts with it; cross-field rules name the field that has
// to change.
func TestNewValidatesConfig(t *testing.T) {
	valid := func() auth.Config {
		return auth.Config{Store: memstore.New(), Mailer: mail.Discard{}, Tokens: auth.TokenConfig{SigningKey: testKey}, Password: auth.PasswordConfig{Hasher: newSpyHasher()}}
	}
	tests := []struct {
		name  string
		edit  func(*auth.Config)
		field string
	}{
		{"missing store", func(c *auth.Config) { c.Store = nil }, "Config.Store"},
		{"missing mailer", func(c *auth.Config) { c.Mailer = nil }, "Config.Mailer"},
		{"relative base URL", func(c *auth.Config) { c.BaseURL = "/app" }, "Config.BaseURL"},
		{"base URL with query", func(c *auth.Config) { c.BaseURL = "https://app.example.com/?x=1" }, "Config.BaseURL"},

		{"missing signing key", func(c *auth.Config) { c.Tokens.SigningKey = nil }, "Config.Tokens.SigningKey"},
		// SECURITY.md #31: short or empty HMAC keys are refused.
		{"16-byte signing key", func(c *auth.Config) { c.Tokens.SigningKey = make([]byte, 16) }, "Config.Tokens.SigningKey"},
		{"JWT of nil", func(c *auth.Config) { c.Tokens.Issuer = auth.JWT(nil) }, "Config.Tokens.Issuer"},
		{"access TTL too long", func(c *auth.Config) { c.Tokens.AccessTTL = 2 * time.Hour }, "Config.Tokens.AccessTTL"},
		{"access TTL too short", func(c *auth.Config) { c.Tokens.AccessTTL = time.Second }, "Config.Tokens.AccessTTL"},
		{"token cache too big", func(c *auth.Config) { c.Tokens.VerifiedCacheSize = auth.MaxVerifiedTokenCacheSize + 1 }, "Config.Tokens.VerifiedCacheSize"},

		{"session TTL over a year", func(c *auth.Config) { c.Sessions.TTL = 366 * 24 * time.Hour }, "Config.Sessions.TTL"},
		{"idle timeout under a minute", func(c *auth.Config) { c.Sessions.IdleTimeout = time.Second }, "Config.Sessions.IdleTimeout"},
		// Cross-field: Sessions.IdleTimeout is at least Tokens.AccessTTL,
		// whether the access TTL is the default or set.
		{"idle below default access TTL", func(c *auth.Config) { c.Sessions.IdleTimeout = 2 * time.Minute }, "Config.Sessions.IdleTimeout"},
		{"idle below set access TTL", func(c *auth.Config) {
			c.Tokens.AccessTTL = time.Hour
			c.Sessions.IdleTimeout = 59 * time.Minute
		}, "Config.Sessions.IdleTimeout"},
		// Sessions.TTL cuts the idle timeout, here below the access TTL.
		{"session TTL below access TTL", func(c *auth.Config) { c.Sessions.TTL = 5 * time.Minute }, "Config.Sessions.IdleTimeout"},
		{"negative grace", func(c *auth.Config) { c.Sessions.ReuseGrace = -time.Second }, "Config.Sessions.ReuseGrace"},
		{"grace over a minute", func(c *auth.Config) { c.Sessions.ReuseGrace = 61 * time.Second }, "Config.Sessions.ReuseGrace"},

		// SECURITY.md #5: a minimum under 8 is a configuration error.
		{"password minimum 7", func(c *auth.Config) { c.Password.Policy.MinLength = 7 }, "Config.Password.Policy.MinLength"},
		{"password maximum 63", func(c *auth.Config) { c.Password.Policy.MaxLength = 63 }, "Config.Password.Policy.MaxLength"},
		{"nil legacy hasher", func(c *auth.Config) { c.Password.LegacyHashers = []auth.Hasher{nil} }, "Config.Password.LegacyHashers"},
		{"negative hash slots", func(c *auth.Config) { c.Password.MaxConcurrentHashes = -1 }, "Config.Password.MaxConcurrentHashes"},
		{"reset TTL over 24h", func(c *auth.Config) { c.Password.ResetTTL = 25 * time.Hour }, "Config.Password.ResetTTL"},

		{"code TTL over 1h", func(c *auth.Config) { c.Verification.CodeTTL = 2 * time.Hour }, "Config.Verification.CodeTTL"},
		{"link TTL over 7 days", func(c *auth.Config) { c.Verification.LinkTTL = 8 * 24 * time.Hour }, "Config.Verification.LinkTTL"},
		{"too many code attempts", func(c *auth.Config) { c.Verification.MaxCodeAttempts = 11 }, "Config.Verification.MaxCodeAttempts"},

		{"too many mail attempts", func(c *auth.Config) { c.Mail.Attempts = 21 }, "Config.Mail.Attempts"},
		{"negative mail attempts", func(c *auth.Config) { c.Mail.Attempts = -1 }, "Config.Mail.Attempts"},
		{"mail retry delay over 1h", func(c *auth.Config) { c.Mail.RetryDelay = 2 * time.Hour }, "Config.Mail.RetryDelay"},

		{"store without counters", func(c *auth.Config) { c.Store = struct{ store.Store }{memstore.New()} }, "Config.Limits.Store"},
		{"hard stop over 100", func(c *auth.Config) { c.Limits.LoginHardStop = 101 }, "Config.Limits.LoginHardStop"},
		{"no free failures", func(c *auth.Config) { c.Limits.LoginFreeFailures = -1 }, "Config.Limits.LoginFreeFailures"},
		// Cross-field: more than Limits.LoginFreeFailures.
		{"hard stop at free failures", func(c *auth.Config) { c.Limits.LoginFreeFailures, c.Limits.LoginHardStop = 10, 10 }, "Config.Limits.LoginHardStop"},
		{"max delay under a second", func(c *auth.Config) { c.Limits.LoginMaxDelay = time.Millisecond }, "Config.Limits.LoginMaxDelay"},
		// Cross-field: at least Limits.LoginMaxDelay (default 15 minutes).
		{"forget before the delay", func(c *auth.Config) { c.Limits.LoginForgetAfter = time.Minute }, "Config.Limits.LoginForgetAfter"},
		{"mail per hour too high", func(c *auth.Config) { c.Limits.MailPerHour = 1<<20 + 1 }, "Config.Limits.MailPerHour"},
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
			if want := "auth: " + tt.field + ": "; !strings.HasPrefix(err.Error(), want) || ve.Reason == "" {
				t.Fatalf("error %q, want it to start %q and give a reason", err, want)
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
	cfg := auth.Config{Store: memstore.New(), Mailer: mail.Discard{}, Tokens: auth.TokenConfig{SigningKey: append([]byte(nil), testKey...)}, Password: auth.PasswordConfig{Hasher: newSpyHasher()}}
	m, err := auth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Mutating the caller's key after New must not change the Manager's.
	for i := range cfg.Tokens.SigningKey {
		cfg.Tokens.SigningKey[i] = 0
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
	cfg := auth.Config{
		Store:  memstore.New(),
		Mailer: mail.Discard{},
		Tokens: auth.TokenConfig{SigningKey: testKey},
		Password: auth.PasswordConfig{
			Hasher: newSpyHasher(),
			Policy: password.Policy{Blocklist: []string{"wonderland"}},
		},
	}
	m, err := auth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Password.Policy.Blocklist[0] = "unrelated"
	_, err = m.Register(t.Context(), auth.Registration{Email: "a@example.com", Password: "wonderland"})
	if !errors.Is(err, auth.ErrWeakPassword) {
		t.Fatalf("Register with the blocked word after the caller changed its slice: %v, want ErrWeakPassword", err)
	}
}
