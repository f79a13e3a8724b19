package jwt_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/auth/jwt"
)

// fuzzIssued is a token issued by one of the fuzz issuers.
type fuzzIssued struct {
	j      *jwt.Issuer
	token  string
	claims jwt.Claims
}

// fuzzFixture returns two issuers with fixed keys and clock (HS256 and
// EdDSA, both deterministic) and one token issued by each.
func fuzzFixture(tb testing.TB) (issuers []*jwt.Issuer, valid []fuzzIssued) {
	tb.Helper()
	issuers = []*jwt.Issuer{
		newJWT(tb, jwt.Config{SigningKey: hsKey(tb, "k1", "fuzz")}),
		newJWT(tb, jwt.Config{SigningKey: edKey(tb, "e1", "fuzz")}),
	}
	for i, j := range issuers {
		c := testClaims(t0.Add(-time.Minute))
		c.ID = fmt.Sprintf("fuzz-%d", i)
		valid = append(valid, fuzzIssued{j: j, token: issue(tb, j, c), claims: c})
	}
	return issuers, valid
}

// FuzzParseToken checks two properties of Verify (SECURITY.md §3 item 3):
//
//   - for any input it does not panic, fails only with ErrTokenInvalid
//     (nothing forged is ever "expired"), and succeeds only for a token the
//     issuer itself issued, byte for byte, returning that token's claims;
//   - a valid token with any single byte changed never verifies.
//
// pos picks the valid token and the byte to replace with b.
func FuzzParseToken(f *testing.F) {
	issuers, valid := fuzzFixture(f)
	for i, v := range valid {
		f.Add(v.token, uint16(i), byte('A'))
		f.Add(v.token, uint16(len(v.token)-1)*uint16(len(valid))+uint16(i), byte('B'))
	}
	f.Add("", uint16(0), byte('.'))

	f.Fuzz(func(t *testing.T, token string, pos uint16, b byte) {
		ctx := context.Background()
		for _, j := range issuers {
			c, err := j.Verify(ctx, token)
			if err != nil {
				if !errors.Is(err, jwt.ErrInvalid) || errors.Is(err, jwt.ErrExpired) {
					t.Fatalf("Verify(%q) = %v, want only ErrTokenInvalid", token, err)
				}
				continue
			}
			ok := false
			for _, v := range valid {
				if v.j == j && v.token == token {
					ok = sameClaims(*c, v.claims)
				}
			}
			if !ok {
				t.Fatalf("Verify(%q) accepted a token it did not issue, claims %+v", token, *c)
			}
		}

		v := valid[int(pos)%len(valid)]
		i := int(pos) / len(valid) % len(v.token)
		if v.token[i] == b {
			return
		}
		mutated := []byte(v.token)
		mutated[i] = b
		if c, err := v.j.Verify(ctx, string(mutated)); err == nil || !errors.Is(err, jwt.ErrInvalid) {
			t.Fatalf("Verify(%q) with byte %d changed to %q = %+v, %v; want ErrTokenInvalid", mutated, i, b, c, err)
		}
	})
}

func sameClaims(a, b jwt.Claims) bool {
	return a.UserID == b.UserID && a.SessionID == b.SessionID && a.ID == b.ID &&
		a.IssuedAt.Equal(b.IssuedAt) && a.ExpiresAt.Equal(b.ExpiresAt)
}
