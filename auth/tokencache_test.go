package auth_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/auth/jwt"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/store/memstore"
)

// countingIssuer counts the Verify calls that reach the real issuer.
type countingIssuer struct {
	auth.TokenIssuer
	verifies atomic.Int64
}

func (c *countingIssuer) Verify(ctx context.Context, token string) (*auth.Claims, error) {
	c.verifies.Add(1)
	return c.TokenIssuer.Verify(ctx, token)
}

// cachedEnv is an env whose Manager has the verified-token cache on, with
// an issuer that counts verifications.
func cachedEnv(t testing.TB, size int) (*env, *countingIssuer) {
	t.Helper()
	issuer := &countingIssuer{}
	e := newEnv(t, func(c *auth.Config) {
		key, err := jwt.HS256Key("", testKey)
		if err != nil {
			t.Fatal(err)
		}
		j, err := jwt.New(jwt.Config{Issuer: "gatehouse", Audience: "gatehouse", SigningKey: key, Now: c.Now})
		if err != nil {
			t.Fatal(err)
		}
		issuer.TokenIssuer = auth.JWT(j)
		c.Tokens.Issuer = issuer
		c.Tokens.VerifiedCacheSize = size
	})
	return e, issuer
}

func TestVerifiedTokenCache(t *testing.T) {
	ctx := context.Background()

	t.Run("a repeated token is verified once", func(t *testing.T) {
		e, issuer := cachedEnv(t, 10)
		e.register(t, "alice@example.com")
		tok := e.login(t, "alice@example.com").Tokens.AccessToken
		first := e.identity(t, tok)
		first.Claims.UserID = "mutated by the caller"
		second := e.identity(t, tok)
		if n := issuer.verifies.Load(); n != 1 {
			t.Fatalf("%d verifications, want 1", n)
		}
		if second.Claims.UserID != second.User.ID || second.Claims.SessionID != second.Session.ID {
			t.Fatalf("cached claims %+v do not match the identity", second.Claims)
		}
	})

	t.Run("revocation still takes effect at once", func(t *testing.T) {
		e, _ := cachedEnv(t, 10)
		e.register(t, "alice@example.com")
		tok := e.login(t, "alice@example.com").Tokens.AccessToken
		id := e.identity(t, tok) // now cached
		if err := e.m.Logout(ctx, id); err != nil {
			t.Fatal(err)
		}
		_, err := e.m.Authenticate(ctx, tok)
		wantErr(t, "Authenticate after logout", err, auth.ErrTokenInvalid)
	})

	t.Run("an expired token goes back to the issuer", func(t *testing.T) {
		e, issuer := cachedEnv(t, 10)
		e.register(t, "alice@example.com")
		res := e.login(t, "alice@example.com")
		e.identity(t, res.Tokens.AccessToken)
		e.clock.Advance(res.Tokens.AccessTokenExpiresAt.Sub(e.clock.Now()) + jwt.DefaultLeeway + time.Second)
		_, err := e.m.Authenticate(ctx, res.Tokens.AccessToken)
		wantErr(t, "Authenticate after expiry", err, auth.ErrTokenExpired)
		if n := issuer.verifies.Load(); n != 2 {
			t.Fatalf("%d verifications, want 2", n)
		}
	})

	t.Run("an entry is not used at its expiry, even within the leeway", func(t *testing.T) {
		e, issuer := cachedEnv(t, 10)
		e.register(t, "alice@example.com")
		res := e.login(t, "alice@example.com")
		e.identity(t, res.Tokens.AccessToken)
		e.clock.Advance(res.Tokens.AccessTokenExpiresAt.Sub(e.clock.Now()))
		// The issuer still accepts it within its leeway; the cache does not
		// answer for it.
		_, err := e.m.Authenticate(ctx, res.Tokens.AccessToken)
		wantErr(t, "Authenticate at expiry", err, nil)
		if n := issuer.verifies.Load(); n != 2 {
			t.Fatalf("%d verifications, want 2", n)
		}
	})

	t.Run("bad tokens are never remembered", func(t *testing.T) {
		e, issuer := cachedEnv(t, 10)
		for range 3 {
			_, err := e.m.Authenticate(ctx, "eyJhbGciOiJIUzI1NiJ9.e30.AAAA")
			wantErr(t, "Authenticate", err, auth.ErrTokenInvalid)
		}
		if n := issuer.verifies.Load(); n != 3 {
			t.Fatalf("%d verifications, want 3", n)
		}
	})

	t.Run("least recently used is evicted", func(t *testing.T) {
		e, issuer := cachedEnv(t, 2)
		e.register(t, "alice@example.com")
		var toks []string
		for range 3 {
			toks = append(toks, e.login(t, "alice@example.com").Tokens.AccessToken)
		}
		for _, tok := range toks { // a, b, c: a is evicted
			e.identity(t, tok)
		}
		e.identity(t, toks[2]) // hit
		e.identity(t, toks[1]) // hit
		if n := issuer.verifies.Load(); n != 3 {
			t.Fatalf("%d verifications after hits, want 3", n)
		}
		e.identity(t, toks[0]) // miss: evicts c, the least recently used
		e.identity(t, toks[1]) // hit
		e.identity(t, toks[2]) // miss
		if n := issuer.verifies.Load(); n != 5 {
			t.Fatalf("%d verifications, want 5", n)
		}
	})

	for _, size := range []int{0, -1} {
		t.Run(fmt.Sprintf("off with a custom issuer and size %d", size), func(t *testing.T) {
			e, issuer := cachedEnv(t, size)
			e.register(t, "alice@example.com")
			tok := e.login(t, "alice@example.com").Tokens.AccessToken
			e.identity(t, tok)
			e.identity(t, tok)
			if n := issuer.verifies.Load(); n != 2 {
				t.Fatalf("%d verifications, want 2", n)
			}
		})
	}

	t.Run("concurrent use", func(t *testing.T) {
		e, _ := cachedEnv(t, 3)
		e.register(t, "alice@example.com")
		var toks []string
		for range 5 {
			toks = append(toks, e.login(t, "alice@example.com").Tokens.AccessToken)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 8*50)
		for g := range 8 {
			wg.Go(func() {
				for i := range 50 {
					if _, err := e.m.Authenticate(ctx, toks[(g+i)%len(toks)]); err != nil {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	})
}

func TestVerifiedTokenCacheConfig(t *testing.T) {
	_, err := auth.New(auth.Config{Store: memstore.New(), Mailer: mail.Discard{}, Tokens: auth.TokenConfig{
		SigningKey:        testKey,
		VerifiedCacheSize: auth.MaxVerifiedTokenCacheSize + 1,
	}})
	var ve *auth.ValidationError
	if !errors.As(err, &ve) || ve.Field != "Config.Tokens.VerifiedCacheSize" {
		t.Errorf("size over the maximum: error %v", err)
	}
}

// BenchmarkAuthenticateCached is BenchmarkAuthenticate with the
// verified-token cache on: the store lookup remains, the signature check
// and decoding go.
func BenchmarkAuthenticateCached(b *testing.B) {
	e, _ := cachedEnv(b, 1000)
	e.register(b, "bench@example.com")
	tok := e.login(b, "bench@example.com").Tokens.AccessToken
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.m.Authenticate(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}
