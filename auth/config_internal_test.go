package auth

import (
	"crypto/rand"
	"reflect"
	"runtime"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/auth/password"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/memstore"
)

// randomKey returns a fresh 32-byte HS256 key (SECURITY.md #31: no key is
// written into the code).
func randomKey(t *testing.T) []byte {
	t.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	return key
}

// TestConfigDefaults: a Config with only Store, Mailer and
// Tokens.SigningKey — every group left at its zero value — gets the
// defaults its documentation states. The expected values are written out
// rather than taken from the constants, so that a changed constant shows
// here next to the documentation it must match.
func TestConfigDefaults(t *testing.T) {
	st := memstore.New()
	m, err := New(Config{Store: st, Mailer: mail.Discard{}, Tokens: TokenConfig{SigningKey: randomKey(t)}})
	if err != nil {
		t.Fatal(err)
	}
	c := m.cfg
	check := func(path string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Config.%s = %v, want %v", path, got, want)
		}
	}
	check("ServiceName", c.ServiceName, "Gatehouse")
	check("BaseURL", c.BaseURL, "")
	check("Rand", c.Rand, rand.Reader)
	if c.Now == nil || c.Logger == nil {
		t.Errorf("Config.Now or Config.Logger left nil")
	}

	if _, ok := c.Tokens.Issuer.(jwtIssuer); !ok || m.tokens != c.Tokens.Issuer {
		t.Errorf("Config.Tokens.Issuer = %T, want the built-in JWT issuer", c.Tokens.Issuer)
	}
	check("Tokens.SigningKey", c.Tokens.SigningKey, []byte(nil)) // the issuer holds its copy
	check("Tokens.IssuerName", c.Tokens.IssuerName, "gatehouse")
	check("Tokens.Audience", c.Tokens.Audience, "gatehouse")
	check("Tokens.AccessTTL", c.Tokens.AccessTTL, 15*time.Minute)
	check("Tokens.VerifiedCacheSize", c.Tokens.VerifiedCacheSize, 4096)
	if m.tokenCache == nil || m.tokenCache.Max() != 4096 {
		t.Errorf("the verified-token cache is not on with 4096 entries")
	}

	check("Sessions", c.Sessions, SessionConfig{TTL: 30 * 24 * time.Hour, IdleTimeout: 7 * 24 * time.Hour})

	argon2, err := password.NewArgon2id(password.Argon2Params{Time: 3, MemoryKiB: 64 << 10, Threads: 4})
	if err != nil {
		t.Fatal(err)
	}
	bcrypt, err := password.NewBcrypt(12)
	if err != nil {
		t.Fatal(err)
	}
	check("Password.Hasher", c.Password.Hasher, Hasher(argon2))
	check("Password.LegacyHashers", c.Password.LegacyHashers, []Hasher{bcrypt})
	slots := max(runtime.GOMAXPROCS(0)/4, 1) // argon2id's p=4
	check("Password.MaxConcurrentHashes", c.Password.MaxConcurrentHashes, slots)
	check("hash slots", cap(m.hashSlots), slots)
	check("Password.ResetTTL", c.Password.ResetTTL, 30*time.Minute)
	check("Password.Policy", c.Password.Policy, password.Policy{MinLength: 8, MaxLength: 256})

	check("Verification", c.Verification, VerificationConfig{CodeTTL: 10 * time.Minute, LinkTTL: 24 * time.Hour, MaxCodeAttempts: 5})
	check("Accounts", c.Accounts, AccountConfig{})
	check("Passwordless", c.Passwordless, PasswordlessConfig{})

	if c.Mail.Templates == nil || reflect.TypeOf(c.Mail.Templates) != reflect.TypeOf(mail.DefaultTemplates()) {
		t.Errorf("Config.Mail.Templates = %T, want mail.DefaultTemplates()", c.Mail.Templates)
	}
	check("Mail.From", c.Mail.From, mail.Address{})
	check("Mail.Locale is nil", c.Mail.Locale == nil, true)
	check("Mail.Attempts", c.Mail.Attempts, 4)
	check("Mail.RetryDelay", c.Mail.RetryDelay, 2*time.Second)

	check("Limits", c.Limits, Limits{
		Store:                    st,
		LoginFreeFailures:        5,
		LoginMaxDelay:            15 * time.Minute,
		LoginHardStop:            100,
		LoginForgetAfter:         12 * time.Hour,
		IPLoginFailuresPerMinute: 20,
		IPLoginFailuresPerHour:   100,
		IPRegistrationsPerHour:   10,
		IPResetRequestsPerHour:   20,
		IPVerificationsPerHour:   30,
		IPEmailLoginsPerHour:     20,
		IPPasskeyLoginsPerHour:   120,
		MailPerMinute:            1,
		MailPerHour:              5,
	})
	check("limiter", m.limiter, store.Counters(st))
}

// TestConfigGroupDefaultsIndependent: setting one field of a group leaves
// the defaults of the others in it, and Sessions.TTL cuts the default idle
// timeout.
func TestConfigGroupDefaultsIndependent(t *testing.T) {
	m, err := New(Config{
		Store: memstore.New(), Mailer: mail.Discard{},
		Tokens:       TokenConfig{SigningKey: randomKey(t), AccessTTL: 30 * time.Minute},
		Sessions:     SessionConfig{TTL: time.Hour},
		Verification: VerificationConfig{Required: true},
		Mail:         MailConfig{Attempts: 2},
		Limits:       Limits{MailPerHour: -1},
	})
	if err != nil {
		t.Fatal(err)
	}
	c := m.cfg
	if c.Tokens.AccessTTL != 30*time.Minute || c.Tokens.IssuerName != "gatehouse" || c.Tokens.VerifiedCacheSize != 4096 {
		t.Errorf("Tokens = %+v", c.Tokens)
	}
	if c.Sessions != (SessionConfig{TTL: time.Hour, IdleTimeout: time.Hour}) {
		t.Errorf("Sessions = %+v, want the idle timeout cut to the 1h TTL", c.Sessions)
	}
	if c.Verification != (VerificationConfig{Required: true, CodeTTL: 10 * time.Minute, LinkTTL: 24 * time.Hour, MaxCodeAttempts: 5}) {
		t.Errorf("Verification = %+v", c.Verification)
	}
	if c.Mail.Attempts != 2 || c.Mail.RetryDelay != 2*time.Second {
		t.Errorf("Mail = %+v", c.Mail)
	}
	if c.Limits.MailPerHour != -1 || c.Limits.MailPerMinute != 1 || c.Limits.LoginHardStop != 100 {
		t.Errorf("Limits = %+v", c.Limits)
	}
}

// threadsHasher is a Hasher that reports threads per hash.
type threadsHasher struct {
	Hasher
	threads int
}

func (h threadsHasher) Threads() int { return h.threads }

// TestDefaultHashSlots: the default number of concurrent hashes keeps
// their threads together at about GOMAXPROCS (SECURITY.md #12): one
// argon2id hash of p=4 at a time on 2 cores, where two would be 8
// CPU-bound goroutines that every other request waits behind.
func TestDefaultHashSlots(t *testing.T) {
	argon2, err := password.NewArgon2id(password.Argon2Params{})
	if err != nil {
		t.Fatal(err)
	}
	argon2p1, err := password.NewArgon2id(password.Argon2Params{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	bcrypt, err := password.NewBcrypt(10)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		procs int
		h     Hasher
		want  int
	}{
		{"argon2id p=4 on 1 core", 1, argon2, 1},
		{"argon2id p=4 on 2 cores", 2, argon2, 1},
		{"argon2id p=4 on 7 cores", 7, argon2, 1},
		{"argon2id p=4 on 8 cores", 8, argon2, 2},
		{"argon2id p=4 on 64 cores", 64, argon2, 16},
		{"argon2id p=1 on 2 cores", 2, argon2p1, 2},
		{"bcrypt on 2 cores", 2, bcrypt, 2},
		{"bcrypt on 16 cores", 16, bcrypt, 16},
		{"threads 0 count as 1", 4, threadsHasher{bcrypt, 0}, 4},
		{"threads -3 count as 1", 4, threadsHasher{bcrypt, -3}, 4},
		{"more threads than cores", 4, threadsHasher{bcrypt, 16}, 1},
	} {
		if got := defaultHashSlots(c.procs, c.h); got != c.want {
			t.Errorf("%s: defaultHashSlots(%d) = %d, want %d", c.name, c.procs, got, c.want)
		}
	}

	// New takes the configured Hasher's threads, and an explicit value
	// as it is.
	for _, c := range []struct {
		name string
		cfg  PasswordConfig
		want int
	}{
		{"bcrypt hasher", PasswordConfig{Hasher: bcrypt}, runtime.GOMAXPROCS(0)},
		{"argon2id p=1", PasswordConfig{Hasher: argon2p1}, runtime.GOMAXPROCS(0)},
		{"explicit", PasswordConfig{Hasher: argon2, MaxConcurrentHashes: 5}, 5},
	} {
		p := c.cfg
		if err := p.fill(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if p.MaxConcurrentHashes != c.want {
			t.Errorf("%s: MaxConcurrentHashes = %d, want %d", c.name, p.MaxConcurrentHashes, c.want)
		}
	}
}
