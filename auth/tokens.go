package auth

import (
	"context"

	"github.com/gatehouse-go/gatehouse/auth/jwt"
)

// JWT adapts a *jwt.Issuer of package auth/jwt to a [TokenIssuer], for
// Config.Tokens when the default (HS256 from Config.SigningKey) is not
// enough: Ed25519 keys, or key rotation.
//
//	j, err := jwt.New(jwt.Config{Issuer: "myapp", Audience: "myapp", SigningKey: key})
//	...
//	m, err := auth.New(auth.Config{Tokens: auth.JWT(j), ...})
//
// Errors from the issuer match [ErrTokenInvalid] and [ErrTokenExpired] (they
// are jwt.ErrInvalid and jwt.ErrExpired). [New] refuses JWT(nil).
func JWT(j *jwt.Issuer) TokenIssuer {
	return jwtIssuer{j}
}

type jwtIssuer struct{ j *jwt.Issuer }

func (t jwtIssuer) Issue(ctx context.Context, c Claims) (string, error) {
	return t.j.Issue(ctx, jwt.Claims(c))
}

func (t jwtIssuer) Verify(ctx context.Context, token string) (*Claims, error) {
	c, err := t.j.Verify(ctx, token)
	if err != nil {
		return nil, err
	}
	return (*Claims)(c), nil
}
