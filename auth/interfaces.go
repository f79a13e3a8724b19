package auth

import (
	"context"
	"time"

	"github.com/gatehouse-go/gatehouse/auth/password"
	"github.com/gatehouse-go/gatehouse/mail"
)

// Hasher turns passwords into self-describing hashes and checks them.
//
// Hashing is pure CPU work, so Hasher takes no context; the [Manager] bounds
// how many hashes run at once (Config.Password.MaxConcurrentHashes) and
// waits for a slot under the caller's context. Implementations must be safe for
// concurrent use. [password.NewArgon2id] and [password.NewBcrypt] build the two supplied ones.
type Hasher interface {
	// Hash returns a new hash of password with a fresh random salt.
	Hash(pass string) (string, error)
	// Compare returns nil when password matches hash, [ErrMismatchedHash]
	// when it does not, [ErrUnsupportedHash] (without hashing) when hash is
	// not in this Hasher's format, and [ErrInvalidHash] (without hashing)
	// when it is in this format but malformed or out of bounds.
	Compare(hash, pass string) error
}

// RehashChecker is implemented by hashers that can tell whether a hash they
// accept was made with weaker parameters than they would use now. The
// Manager re-hashes such passwords after a successful login.
type RehashChecker interface {
	NeedsRehash(hash string) bool
}

// ParallelHasher is implemented by hashers whose every hash runs on several
// threads at once, as argon2id does with its p lanes ([password.Argon2id]:
// 4 by default). New reads it once, for the default of
// Config.Password.MaxConcurrentHashes: so many hashes at once that their
// threads together are about GOMAXPROCS, and no more.
type ParallelHasher interface {
	// Threads returns how many threads one Hash keeps busy at once; less
	// than 1 counts as 1.
	Threads() int
}

// The hashers of package password are the ones New uses by default.
var (
	_ Hasher         = (*password.Argon2id)(nil)
	_ RehashChecker  = (*password.Argon2id)(nil)
	_ ParallelHasher = (*password.Argon2id)(nil)
	_ Hasher         = (*password.Bcrypt)(nil)
	_ RehashChecker  = (*password.Bcrypt)(nil)
)

// Claims is what an access token asserts.
type Claims struct {
	// UserID is the token's subject: the user's immutable ID (never the
	// email).
	UserID string
	// SessionID names the login the token belongs to; revoking the session
	// revokes the token.
	SessionID string
	// ID is unique per token (the JWT "jti").
	ID        string
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// TokenIssuer signs and verifies access tokens. [JWT] adapts the supplied
// one, a *jwt.Issuer of package auth/jwt. Implementations must be safe for concurrent use.
type TokenIssuer interface {
	// Issue returns a signed access token asserting c. It refuses claims
	// with an empty UserID, SessionID or ID, or an ExpiresAt not after
	// IssuedAt.
	Issue(ctx context.Context, c Claims) (string, error)
	// Verify checks token and returns its claims, which never have an empty
	// UserID, SessionID or ID. It returns [ErrTokenExpired] only for a
	// genuine token past its expiry, and [ErrTokenInvalid] for anything
	// else wrong with it.
	Verify(ctx context.Context, token string) (*Claims, error)
}

// Mailer delivers mail. The Manager calls Send from its own goroutines,
// outside the request path, and retries failures; see [Manager.Flush].
// Implementations must be safe for concurrent use. Package
// [github.com/gatehouse-go/gatehouse/mail] has SMTP, folder, log and capture
// mailers.
type Mailer interface {
	Send(ctx context.Context, m mail.Message) error
}
