package auth

import (
	"context"
	"net/netip"

	"github.com/gatehouse-go/gatehouse/store"
)

// Identity is an authenticated caller: the user and session an access token
// belongs to, as loaded from the store when the token was checked.
type Identity struct {
	User    *store.User
	Session *store.Session
	// Claims are the verified claims of the access token.
	Claims *Claims
}

// Client describes where a request comes from. Middleware puts it in the
// request context; the Manager records it on sessions and events and uses
// it for per-client limits.
type Client struct {
	// IP is the client's address; the zero value means unknown.
	IP netip.Addr
	// UserAgent is the client's User-Agent header, possibly truncated.
	UserAgent string
}

type ctxKey int

const (
	identityKey ctxKey = iota
	clientKey
)

// ContextWithIdentity returns a copy of ctx carrying id.
func ContextWithIdentity(ctx context.Context, id *Identity) context.Context {
	return context.WithValue(ctx, identityKey, id)
}

// IdentityFromContext returns the identity stored by [ContextWithIdentity].
func IdentityFromContext(ctx context.Context) (*Identity, bool) {
	id, ok := ctx.Value(identityKey).(*Identity)
	return id, ok && id != nil && id.User != nil
}

// ContextWithUser returns a copy of ctx carrying an identity made of u
// alone. It is meant for tests of handlers that read [UserFromContext];
// real requests get a full identity from the middleware.
func ContextWithUser(ctx context.Context, u *store.User) context.Context {
	return ContextWithIdentity(ctx, &Identity{User: u})
}

// UserFromContext returns the authenticated user stored in ctx.
func UserFromContext(ctx context.Context) (*store.User, bool) {
	id, ok := IdentityFromContext(ctx)
	if !ok {
		return nil, false
	}
	return id.User, true
}

// ContextWithClient returns a copy of ctx carrying c.
func ContextWithClient(ctx context.Context, c Client) context.Context {
	return context.WithValue(ctx, clientKey, c)
}

// ClientFromContext returns the client stored by [ContextWithClient].
func ClientFromContext(ctx context.Context) (Client, bool) {
	c, ok := ctx.Value(clientKey).(Client)
	return c, ok
}
