package auth_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse-go/gatehouse/audit"
	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/auth/password"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/memstore"
)

// benchManager returns a Manager over memstore with the default hasher and
// HS256 tokens, and a logged-in user.
func benchManager(b *testing.B, hasher auth.Hasher, edit ...func(*auth.Config)) (*auth.Manager, *auth.LoginResult) {
	b.Helper()
	// The verified-token cache is off: BenchmarkAuthenticate measures the
	// full check (BenchmarkAuthenticateCached the cached one).
	cfg := auth.Config{Store: memstore.New(), Mailer: mail.Discard{}, Tokens: auth.TokenConfig{SigningKey: testKey, VerifiedCacheSize: -1}, Password: auth.PasswordConfig{Hasher: hasher}}
	for _, f := range edit {
		f(&cfg)
	}
	m, err := auth.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := m.Register(ctx, auth.Registration{Email: "bench@example.com", Password: goodPassword}); err != nil {
		b.Fatal(err)
	}
	res, err := m.Login(ctx, "bench@example.com", goodPassword)
	if err != nil {
		b.Fatal(err)
	}
	return m, res
}

// BenchmarkAuthenticate is the cost of checking an access token on a
// request (HS256, memstore), to compare with BenchmarkBareParseWithClaims.
func BenchmarkAuthenticate(b *testing.B) {
	m, res := benchManager(b, newSpyHasher())
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Authenticate(ctx, res.Tokens.AccessToken); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBareParseWithClaims is the baseline: golang-jwt alone verifying
// the same token with a minimal parser.
func BenchmarkBareParseWithClaims(b *testing.B) {
	_, res := benchManager(b, newSpyHasher())
	p := jwt.NewParser(jwt.WithValidMethods([]string{"HS256"}))
	keyfunc := func(*jwt.Token) (any, error) { return testKey, nil }
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.ParseWithClaims(res.Tokens.AccessToken, &jwt.RegisteredClaims{}, keyfunc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLogin is a whole login with the default hasher (argon2id), to
// compare with BenchmarkHashCompare.
func BenchmarkLogin(b *testing.B) {
	m, _ := benchManager(b, nil)
	ctx := context.Background()
	for b.Loop() {
		if _, err := m.Login(ctx, "bench@example.com", goodPassword); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHashCompare is the baseline: one comparison with the default
// hasher.
func BenchmarkHashCompare(b *testing.B) {
	h, err := password.NewArgon2id(password.Argon2Params{})
	if err != nil {
		b.Fatal(err)
	}
	hash, err := h.Hash(goodPassword)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := h.Compare(hash, goodPassword); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRefresh measures refresh-token rotation on memstore from many
// goroutines, each rotating its own session's chain: with the audit log
// off (runs=off), and with every refresh recorded as a run (runs=on; memstore
// keeps every run in memory, so the heap, and the garbage collector's work,
// grow with b.N).
func BenchmarkRefresh(b *testing.B) {
	for _, runs := range []string{"off", "on"} {
		b.Run("runs="+runs, func(b *testing.B) {
			benchRefresh(b, func(c *auth.Config) {
				if runs == "on" {
					rec, err := audit.New(audit.Config{Runs: c.Store.(store.Runs), Now: c.Now})
					if err != nil {
						b.Fatal(err)
					}
					c.Audit = rec
				}
			})
		})
	}
}

func benchRefresh(b *testing.B, edit func(*auth.Config)) {
	m, _ := benchManager(b, newSpyHasher(), edit)
	ctx := context.Background()
	var failures atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		res, err := m.Login(ctx, "bench@example.com", goodPassword)
		if err != nil {
			failures.Add(1)
			return
		}
		r := res.Tokens.RefreshToken
		for pb.Next() {
			p, err := m.Refresh(ctx, r)
			if err != nil {
				failures.Add(1)
				return
			}
			r = p.RefreshToken
		}
	})
	if n := failures.Load(); n > 0 {
		b.Fatalf("%d refresh failures", n)
	}
}

// BenchmarkLoginWithoutHashing is a whole login with a trivial hasher: the
// Manager's own overhead on top of the password hash.
func BenchmarkLoginWithoutHashing(b *testing.B) {
	m, _ := benchManager(b, newSpyHasher())
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Login(ctx, "bench@example.com", goodPassword); err != nil {
			b.Fatal(err)
		}
	}
}
