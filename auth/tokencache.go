package auth

import (
	"context"

	"github.com/gatehouse-go/gatehouse/auth/internal/tokencache"
)

// Bounds of Config.VerifiedTokenCacheSize.
const (
	// DefaultVerifiedTokenCacheSize is the cache size with the built-in
	// JWT: about 1.4 MB when full.
	DefaultVerifiedTokenCacheSize = 4096
	// MaxVerifiedTokenCacheSize is the largest size accepted.
	MaxVerifiedTokenCacheSize = 1 << 20
)

// verifyAccessToken checks an access token with the TokenIssuer, or, when
// the verified-token cache is on, takes the claims it verified earlier for
// the same token bytes, as long as they have not expired. An expired token
// always goes to the TokenIssuer, which reports it as such.
func (m *Manager) verifyAccessToken(ctx context.Context, token string) (*Claims, error) {
	if m.tokenCache == nil {
		return m.tokens.Verify(ctx, token)
	}
	key := tokencache.KeyOf(token)
	if c, ok := m.tokenCache.Get(key, m.cfg.Now()); ok {
		return &c, nil
	}
	c, err := m.tokens.Verify(ctx, token)
	if err != nil {
		return nil, err
	}
	m.tokenCache.Put(key, *c, c.ExpiresAt)
	return c, nil
}
