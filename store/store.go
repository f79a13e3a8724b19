package store

import (
	"context"
	"time"
)

// User is an account. IDs are opaque strings chosen by the caller (Gatehouse
// uses random UUIDs); Email is stored in the normalized form the caller gives
// and is unique among users.
type User struct {
	ID    string
	Email string
	// PendingEmail is an address the user asked to change to and has not yet
	// confirmed. It is not unique; uniqueness is checked when it becomes Email.
	PendingEmail string
	// PendingEmailExpiresAt is when the confirmation of PendingEmail
	// expires; zero means no expiry is known (see [User.PendingEmailAt]).
	PendingEmailExpiresAt time.Time
	// PasswordHash is a self-describing hash (a PHC or bcrypt string). An
	// empty hash means the account has no usable password.
	PasswordHash   string
	Name           string
	Bio            string
	ProfilePicture string
	IsSuperuser    bool
	IsActive       bool
	IsVerified     bool
	CreatedAt      time.Time
	UpdatedAt      time.Time
	// LastLoginAt is the CreatedAt of the user's newest session; zero if the
	// user never logged in. [Sessions.CreateSession] maintains it.
	LastLoginAt time.Time
	// TokensValidAfter invalidates every session authenticated before it: a
	// session whose AuthenticatedAt is earlier is dead. Password changes and
	// resets move it forward.
	TokensValidAfter time.Time
	// HasFactors reports whether the user has at least one confirmed second
	// factor ([Factor.Confirmed]) of any type, so that a login or a profile
	// read needs no factor read. A store that implements [Factors] keeps it
	// in step, in the same transaction as the change: creating a confirmed
	// factor or confirming a pending one ([Factors.UseFactor]) sets it;
	// [Factors.DeleteFactor] and [Factors.DeleteUserFactors] clear it when
	// no confirmed factor is left. [Users.CreateUser] ignores it (a new
	// user has no factors), [UserUpdate] cannot change it, and stores
	// without [Factors] leave it false.
	HasFactors bool
}

// PendingEmailAt returns the address an email change awaits confirmation
// for at now: PendingEmail while now is before PendingEmailExpiresAt (or
// when that is zero), and "" once the change has expired or when none is
// pending.
func (u *User) PendingEmailAt(now time.Time) string {
	if u.PendingEmail == "" || !u.PendingEmailExpiresAt.IsZero() && !now.Before(u.PendingEmailExpiresAt) {
		return ""
	}
	return u.PendingEmail
}

// Session is one login: the family of refresh tokens that descends from it
// and the access tokens that carry its ID. Revoking the session ends all of
// them.
type Session struct {
	ID     string
	UserID string
	// CreatedAt is when the login happened.
	CreatedAt time.Time
	// AuthenticatedAt is when the user last proved a credential in this
	// session: the login, or a later re-authentication such as a password
	// change made from it.
	AuthenticatedAt time.Time
	// LastUsedAt is the time of the last refresh (CreatedAt until then).
	LastUsedAt time.Time
	// ExpiresAt is the absolute end of the session, fixed at login.
	ExpiresAt time.Time
	// IdleExpiresAt is the time by which the next refresh must happen; it
	// never exceeds ExpiresAt.
	IdleExpiresAt time.Time
	// IP and UserAgent describe the client at login (and, once refreshed,
	// at the last refresh).
	IP        string
	UserAgent string
}

// Live reports whether s is usable at now: strictly before both IdleExpiresAt
// and ExpiresAt.
func (s *Session) Live(now time.Time) bool {
	return now.Before(s.ExpiresAt) && now.Before(s.IdleExpiresAt)
}

// Purpose says what a one-time [Secret] is for. A secret is only ever
// consumed for its own purpose.
type Purpose string

// The purposes Gatehouse uses. Other values are allowed; stores treat the
// purpose as an opaque string.
const (
	PurposeVerifyEmail   Purpose = "verify_email"
	PurposeResetPassword Purpose = "reset_password"
	PurposeChangeEmail   Purpose = "change_email"
	// PurposeCancelEmailChange is mailed to the old address with the
	// notice of a pending email change, to stop it.
	PurposeCancelEmailChange Purpose = "cancel_email_change"
)

// Secret is a one-time secret mailed to a user: an email verification, a
// password reset or an email-change confirmation. Only hashes are stored.
// A user has at most one secret per purpose; storing a new one replaces the
// old.
type Secret struct {
	// Hash is the SHA-256 of the long token and the lookup key. It is unique.
	Hash []byte
	// CodeHash, when set, is the hash of a short code that may be used
	// instead of the token together with the user's email. The store never
	// compares it; see [Secrets.ReserveCodeAttempt].
	CodeHash []byte
	Purpose  Purpose
	UserID   string
	// Email is the address the secret was sent to.
	Email     string
	CreatedAt time.Time
	// ExpiresAt ends the token: it is usable strictly before this instant.
	ExpiresAt time.Time
	// CodeExpiresAt ends the short code (usually sooner than the token).
	CodeExpiresAt time.Time
	// Attempts counts reserved code attempts.
	Attempts int
}

// UserUpdate is a partial update of a user: nil fields are left alone. The
// side-effect fields below it run in the same transaction as the update.
type UserUpdate struct {
	Email            *string
	PendingEmail     *string
	PasswordHash     *string
	Name             *string
	Bio              *string
	ProfilePicture   *string
	IsSuperuser      *bool
	IsActive         *bool
	IsVerified       *bool
	TokensValidAfter *time.Time
	// PendingEmailExpiresAt sets the user's PendingEmailExpiresAt (the zero
	// time clears it).
	PendingEmailExpiresAt *time.Time
	// UpdatedAt is stored as the user's UpdatedAt. It must be set.
	UpdatedAt time.Time

	// RevokeSessions deletes every session of the user except KeepSession
	// (when non-empty); the kept session's AuthenticatedAt becomes UpdatedAt,
	// so it survives a TokensValidAfter set to the same instant.
	RevokeSessions bool
	KeepSession    string
	// DropSecrets deletes every one-time secret of the user.
	DropSecrets bool
}

// Apply sets the fields of dst that u sets (its non-nil pointers), and
// dst.UpdatedAt to u.UpdatedAt, with times in UTC: the record a store keeps
// after [Users.UpdateUser]. Apply only computes the record. The checks
// (a taken Email gives [ErrConflict], the last active superuser
// [ErrLastSuperuser]) and the side effects (RevokeSessions, KeepSession,
// DropSecrets) remain the store's, which compares dst before and after to
// find them. Stores with coarser clocks round the times afterwards.
func (u UserUpdate) Apply(dst *User) {
	set(&dst.Email, u.Email)
	set(&dst.PendingEmail, u.PendingEmail)
	set(&dst.PasswordHash, u.PasswordHash)
	set(&dst.Name, u.Name)
	set(&dst.Bio, u.Bio)
	set(&dst.ProfilePicture, u.ProfilePicture)
	set(&dst.IsSuperuser, u.IsSuperuser)
	set(&dst.IsActive, u.IsActive)
	set(&dst.IsVerified, u.IsVerified)
	if u.TokensValidAfter != nil {
		dst.TokensValidAfter = u.TokensValidAfter.UTC()
	}
	if u.PendingEmailExpiresAt != nil {
		dst.PendingEmailExpiresAt = u.PendingEmailExpiresAt.UTC()
	}
	dst.UpdatedAt = u.UpdatedAt.UTC()
}

// set copies *src to *dst unless src is nil.
func set[T any](dst, src *T) {
	if src != nil {
		*dst = *src
	}
}

// Rotation asks [RefreshTokens.RotateRefreshToken] to replace one refresh
// token with the next.
type Rotation struct {
	// Old is the SHA-256 of the presented token, New of its replacement.
	Old []byte
	New []byte
	// Now is the time of the rotation (the store never reads a clock).
	Now time.Time
	// IdleExpiresAt is the session's new idle deadline; the store caps it at
	// the session's ExpiresAt.
	IdleExpiresAt time.Time
	// ReuseGrace is how long after a rotation the rotated token may be
	// presented again without revoking the session (the retry still fails).
	// Zero means none.
	ReuseGrace time.Duration
	// IP and UserAgent, when non-empty, replace the session's.
	IP        string
	UserAgent string
}

// UserQuery selects a page of users ordered by Email.
type UserQuery struct {
	// IDs, when non-empty, restricts the result to these user IDs. Unknown
	// IDs are ignored.
	IDs []string
	// After, when non-empty, starts the page strictly after this email
	// (keyset paging: its cost does not grow with the page's depth). Offset
	// then counts from there.
	After string
	// Offset skips that many users. Limit caps the page; stores treat a
	// Limit ≤ 0 as 100.
	Offset int
	Limit  int
}

// UserPage is one page of [UserLister.ListUsers].
type UserPage struct {
	Users []UserSummary
	// Total is the number of users that match the query's IDs filter,
	// ignoring After, Offset and Limit.
	Total int
}

// UserSummary is a user with activity figures, for listings.
type UserSummary struct {
	User User
	// Sessions is the number of sessions the user has stored. Stores do not
	// know the time, so expired sessions count until [Expirer.DeleteExpired]
	// purges them.
	Sessions int
}

// Users stores accounts.
//
// Every method is safe for concurrent use. Records passed in are copied;
// records returned are fresh copies the caller may keep and change.
type Users interface {
	// CreateUser stores a new user. It returns [ErrConflict] when the ID or
	// the Email is already taken; of many concurrent calls with the same
	// email exactly one succeeds.
	CreateUser(ctx context.Context, u *User) error

	// UserByID returns the user with that ID, or [ErrNotFound].
	UserByID(ctx context.Context, id string) (*User, error)

	// UserByEmail returns the user whose Email equals email exactly, or
	// [ErrNotFound].
	UserByEmail(ctx context.Context, email string) (*User, error)

	// UpdateUser applies u to the user with that ID and returns the updated
	// user. It returns [ErrNotFound] for an unknown ID, [ErrConflict] when a
	// new Email is taken, and [ErrLastSuperuser] when the update would
	// demote or deactivate the last active superuser. On error nothing
	// changes, side effects included.
	UpdateUser(ctx context.Context, id string, u UserUpdate) (*User, error)

	// DeleteUser deletes the user together with all of their sessions,
	// refresh tokens and secrets, atomically. It returns [ErrNotFound] for an
	// unknown ID and [ErrLastSuperuser] when the user is the last active
	// superuser.
	DeleteUser(ctx context.Context, id string) error
}

// UserLister lists users for administrators.
type UserLister interface {
	// ListUsers returns a page of users ordered by Email ascending, byte by
	// byte (a binary collation). A page past the end is empty, not an error,
	// and still carries Total.
	ListUsers(ctx context.Context, q UserQuery) (*UserPage, error)
}

// Sessions stores logins.
//
// Every method is safe for concurrent use, and copies records in and out.
// Stores never read a clock: times come from the caller. Stores judge a
// session's liveness with [Session.Live] only; the user's TokensValidAfter
// is the caller's to check.
type Sessions interface {
	// CreateSession stores s with refreshHash as its current refresh token
	// and sets the user's LastLoginAt to s.CreatedAt. It returns
	// [ErrNotFound] when the user does not exist and [ErrConflict] when the
	// session ID or the refresh hash is already in use.
	CreateSession(ctx context.Context, s *Session, refreshHash []byte) error

	// SessionUser returns the session with that ID and its user, in one
	// step. It returns [ErrNotFound] when the session does not exist (it
	// was revoked or the user deleted). Liveness is the caller's to check
	// with [Session.Live].
	SessionUser(ctx context.Context, id string) (*Session, *User, error)

	// UserSessions returns the user's sessions that are live at now, newest
	// first. An unknown user has none.
	UserSessions(ctx context.Context, userID string, now time.Time) ([]Session, error)

	// RevokeSession deletes the session and its refresh tokens. It returns
	// [ErrNotFound] unless a session with that ID belongs to userID.
	RevokeSession(ctx context.Context, userID, id string) error

	// RevokeUserSessions deletes every session of the user except the one
	// whose ID is except (none when empty) and returns how many it deleted.
	RevokeUserSessions(ctx context.Context, userID, except string) (int, error)
}

// RefreshTokens rotates refresh tokens.
type RefreshTokens interface {
	// RotateRefreshToken replaces the session's current refresh token r.Old
	// with r.New, in one atomic step, and returns the updated session and
	// its user. It also sets LastUsedAt to r.Now and IdleExpiresAt to
	// r.IdleExpiresAt (capped at ExpiresAt), and the client fields when
	// given. Of many concurrent rotations of one token exactly one succeeds.
	//
	// When r.Old was current once but has been rotated away, it returns a
	// [*ReuseError] (matching [ErrTokenReused]) — even when the session is
	// no longer live — and, unless r.Now is strictly before that rotation's
	// time plus r.ReuseGrace, revokes the whole session first. When r.Old
	// is unknown, or is current but its session is not live at r.Now, it
	// returns [ErrNotFound]. When r.New is already in use it returns
	// [ErrConflict] and changes nothing.
	RotateRefreshToken(ctx context.Context, r Rotation) (*Session, *User, error)
}

// Secrets stores one-time secrets.
//
// Every method is safe for concurrent use, and copies records in and out.
type Secrets interface {
	// PutSecret stores s, replacing (deleting) any secret the user has for
	// the same purpose. It returns [ErrNotFound] when the user does not
	// exist and [ErrConflict] when s.Hash is already in use.
	PutSecret(ctx context.Context, s *Secret) error

	// ConsumeSecret finds the secret whose Hash is c.Hash, whose purpose is
	// one of c.Purposes and whose ExpiresAt is after c.Now, deletes it and
	// applies the update c.Apply returns to the secret's user, all in one
	// transaction. It returns the secret and the (updated) user. Of many
	// concurrent calls with one hash exactly one succeeds; the others, and
	// every later call, get [ErrNotFound]. When Apply or the update fails
	// (ErrConflict, ErrLastSuperuser) the secret is not consumed.
	ConsumeSecret(ctx context.Context, c Consume) (*Secret, *User, error)

	// ReserveCodeAttempt spends one attempt on the short code of the user's
	// secret for purpose p and returns the secret (with Attempts counting
	// this one) so the caller can compare the code. It returns [ErrNotFound]
	// when the user has no such secret with a CodeHash and CodeExpiresAt
	// after now, and [ErrExhausted] when maxAttempts attempts have already
	// been reserved. Attempts are counted atomically: of any number of
	// concurrent calls at most maxAttempts succeed.
	ReserveCodeAttempt(ctx context.Context, userID string, p Purpose, now time.Time, maxAttempts int) (*Secret, error)
}

// Consume describes a [Secrets.ConsumeSecret] call.
type Consume struct {
	Hash     []byte
	Purposes []Purpose
	Now      time.Time
	// Apply, when non-nil, is called inside the transaction with the secret
	// and its user, after both are found and before anything changes. The
	// update it returns (nil for none) is applied to the user as by
	// [Users.UpdateUser], side effects included, and the secret is deleted.
	// When Apply returns an error, nothing changes, the secret stays, and
	// ConsumeSecret returns that error unwrapped. Apply must not block or
	// call the store; it may be called more than once if the store retries
	// the transaction.
	Apply func(s *Secret, u *User) (*UserUpdate, error)
}

// Store is everything the auth Manager needs. Implementations assert it at
// compile time:
//
//	var _ store.Store = (*Store)(nil)
type Store interface {
	Users
	UserLister
	Sessions
	RefreshTokens
	Secrets
}

// Expirer is implemented by stores that can purge rows nobody can use any
// more. Applications schedule it; stores never start goroutines.
type Expirer interface {
	// DeleteExpired deletes sessions that are not live at before (with their
	// refresh tokens), secrets whose ExpiresAt is not after before, in
	// stores that implement [Challenges], login challenges whose ExpiresAt
	// is not after before, in stores that implement [Identities],
	// federation flows whose ExpiresAt is not after before, in stores that
	// implement [EmailLogins], email logins whose ExpiresAt is not after
	// before, and, in stores that implement [Counters],
	// counters that have expired at before. It returns how many sessions,
	// secrets, challenges, flows, email logins and counters it deleted
	// (refresh tokens are not counted).
	DeleteExpired(ctx context.Context, before time.Time) (int, error)
}
