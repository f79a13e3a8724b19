package memstore

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

// Compile-time checks that *Store fulfils the contract.
var (
	_ store.Store   = (*Store)(nil)
	_ store.Expirer = (*Store)(nil)
	_ store.Runs    = (*Store)(nil)

	_ store.SecondFactors = (*Store)(nil)
	_ store.Identities    = (*Store)(nil)
	_ store.EmailLogins   = (*Store)(nil)
)

// defaultLimit is the page size used when [store.UserQuery.Limit] is ≤ 0.
const defaultLimit = 100

// Store is an in-memory [store.Store], [store.Expirer], [store.Counters],
// [store.CounterBatch], [store.Runs], [store.SecondFactors],
// [store.Identities] and [store.EmailLogins]. Create one with [New]; the zero value is also an empty
// store ready to use. A Store must not be copied after first use.
//
// All methods are safe for concurrent use. Every method first returns the
// context's error if ctx is already done; otherwise the context is unused,
// since no operation blocks on anything but the store's own lock.
type Store struct {
	mu sync.RWMutex

	users   map[string]*userRec // by ID
	byEmail map[string]*userRec // by Email
	ordered []*userRec          // sorted by Email, for ListUsers
	supers  int                 // number of active superusers

	sessions map[string]*sessionRec // by ID
	tokens   map[string]*tokenRec   // refresh tokens by hash
	secrets  map[string]*secretRec  // by Hash

	mfa mfaData // second factors, under mu
	fed fedData // federated identities and flows, under mu
	// logins are passwordless email logins, under mu.
	logins loginData

	counters counters // under their own lock
	runs     runLog   // store.Runs, under its own lock
}

// userRec is a user with the indexes of what belongs to them.
type userRec struct {
	u        store.User
	sessions map[string]*sessionRec       // by session ID
	secrets  map[store.Purpose]*secretRec // at most one per purpose
}

// sessionRec is a session with its family of refresh tokens.
type sessionRec struct {
	s     store.Session
	owner *userRec
	// hashes holds every refresh token hash of the family, the current one
	// last, so revoking the session can delete them all.
	hashes []string
}

// tokenRec is one refresh token. It is current until rotated.
type tokenRec struct {
	sess      *sessionRec
	rotated   bool
	rotatedAt time.Time
}

// secretRec is a stored one-time secret and its owner.
type secretRec struct {
	s     store.Secret
	owner *userRec
}

// New returns an empty Store. It is equivalent to new(Store).
func New() *Store {
	s := new(Store)
	s.init()
	return s
}

// init allocates the maps of a zero Store. Callers hold the write lock.
func (s *Store) init() {
	if s.users != nil {
		return
	}
	s.users = make(map[string]*userRec)
	s.byEmail = make(map[string]*userRec)
	s.sessions = make(map[string]*sessionRec)
	s.tokens = make(map[string]*tokenRec)
	s.secrets = make(map[string]*secretRec)
}

// lock takes the write lock and makes the store ready to change.
func (s *Store) lock() {
	s.mu.Lock()
	s.init()
}

// CreateUser stores a copy of u. It returns [store.ErrConflict] when u.ID or
// u.Email is already taken.
func (s *Store) CreateUser(ctx context.Context, u *store.User) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	rec := &userRec{u: userIn(u)}
	rec.u.HasFactors = false // a new user has no factors
	s.lock()
	defer s.mu.Unlock()
	if _, ok := s.users[rec.u.ID]; ok {
		return fmt.Errorf("memstore: create user: id taken: %w", store.ErrConflict)
	}
	if _, ok := s.byEmail[rec.u.Email]; ok {
		return fmt.Errorf("memstore: create user: email taken: %w", store.ErrConflict)
	}
	s.users[rec.u.ID] = rec
	s.byEmail[rec.u.Email] = rec
	s.insertOrdered(rec)
	if activeSuper(&rec.u) {
		s.supers++
	}
	return nil
}

// UserByID returns a copy of the user with that ID, or [store.ErrNotFound].
func (s *Store) UserByID(ctx context.Context, id string) (*store.User, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	rec, ok := s.users[id]
	if !ok {
		return nil, fmt.Errorf("memstore: user by id: %w", store.ErrNotFound)
	}
	u := rec.u
	return &u, nil
}

// UserByEmail returns a copy of the user whose Email is exactly email, or
// [store.ErrNotFound].
func (s *Store) UserByEmail(ctx context.Context, email string) (*store.User, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	rec, ok := s.byEmail[email]
	if !ok {
		return nil, fmt.Errorf("memstore: user by email: %w", store.ErrNotFound)
	}
	u := rec.u
	return &u, nil
}

// UpdateUser applies u to the user with that ID, with its side effects, and
// returns a copy of the updated user. It returns [store.ErrNotFound],
// [store.ErrConflict] or [store.ErrLastSuperuser] as [store.Users] describes,
// and then changes nothing.
func (s *Store) UpdateUser(ctx context.Context, id string, u store.UserUpdate) (*store.User, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.lock()
	defer s.mu.Unlock()
	rec, ok := s.users[id]
	if !ok {
		return nil, fmt.Errorf("memstore: update user: %w", store.ErrNotFound)
	}
	next, err := s.checkUpdate(rec, &u)
	if err != nil {
		return nil, fmt.Errorf("memstore: update user: %w", err)
	}
	s.applyUpdate(rec, next, &u)
	out := rec.u
	return &out, nil
}

// checkUpdate returns the user rec becomes under u, or the error that
// forbids the update. It changes nothing.
func (s *Store) checkUpdate(rec *userRec, u *store.UserUpdate) (store.User, error) {
	next := rec.u
	u.Apply(&next)

	if next.Email != rec.u.Email {
		if _, taken := s.byEmail[next.Email]; taken {
			return next, store.ErrConflict
		}
	}
	if activeSuper(&rec.u) && !activeSuper(&next) && s.supers == 1 {
		return next, store.ErrLastSuperuser
	}
	return next, nil
}

// applyUpdate stores next as rec's user and runs the side effects of u. The
// update must have passed checkUpdate.
func (s *Store) applyUpdate(rec *userRec, next store.User, u *store.UserUpdate) {
	if activeSuper(&rec.u) {
		s.supers--
	}
	if activeSuper(&next) {
		s.supers++
	}
	if next.Email != rec.u.Email {
		s.removeOrdered(rec)
		delete(s.byEmail, rec.u.Email)
		rec.u = next
		s.byEmail[next.Email] = rec
		s.insertOrdered(rec)
	} else {
		rec.u = next
	}
	if u.RevokeSessions {
		for id, sr := range rec.sessions {
			if u.KeepSession != "" && id == u.KeepSession {
				sr.s.AuthenticatedAt = next.UpdatedAt
				continue
			}
			s.deleteSession(sr)
		}
	}
	if u.DropSecrets {
		for _, sec := range rec.secrets {
			s.deleteSecret(sec)
		}
	}
}

// DeleteUser deletes the user with all of their sessions, refresh tokens and
// secrets. It returns [store.ErrNotFound] for an unknown ID and
// [store.ErrLastSuperuser] when the user is the last active superuser.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.lock()
	defer s.mu.Unlock()
	rec, ok := s.users[id]
	if !ok {
		return fmt.Errorf("memstore: delete user: %w", store.ErrNotFound)
	}
	if activeSuper(&rec.u) {
		if s.supers == 1 {
			return fmt.Errorf("memstore: delete user: %w", store.ErrLastSuperuser)
		}
		s.supers--
	}
	for _, sr := range rec.sessions {
		s.deleteSession(sr)
	}
	for _, sec := range rec.secrets {
		s.deleteSecret(sec)
	}
	s.dropSecondFactors(id)
	s.dropIdentities(id)
	s.dropEmailLogins(id)
	s.removeOrdered(rec)
	delete(s.byEmail, rec.u.Email)
	delete(s.users, id)
	return nil
}

// ListUsers returns a page of users ordered by Email (byte-wise), as
// [store.UserLister] describes. Without an IDs filter, paging costs
// O(log n + Limit) whatever the page's depth; with one, it costs
// O(k log k) for k IDs. UserSummary.Sessions counts the user's stored
// sessions, since the store cannot tell which are live without a clock;
// [Store.DeleteExpired] purges the dead ones.
func (s *Store) ListUsers(ctx context.Context, q store.UserQuery) (*store.UserPage, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	limit := q.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	s.mu.RLock()
	defer s.mu.RUnlock()

	set := s.ordered
	if len(q.IDs) > 0 {
		set = make([]*userRec, 0, len(q.IDs))
		for _, id := range q.IDs {
			if rec, ok := s.users[id]; ok {
				set = append(set, rec)
			}
		}
		slices.SortFunc(set, func(a, b *userRec) int { return strings.Compare(a.u.Email, b.u.Email) })
		set = slices.Compact(set) // duplicate IDs are adjacent once sorted
	}
	page := &store.UserPage{Total: len(set)}

	start := 0
	if q.After != "" {
		i, found := slices.BinarySearchFunc(set, q.After, cmpEmail)
		if found {
			i++
		}
		start = i
	}
	rest := set[start:]
	if q.Offset > 0 {
		rest = rest[min(q.Offset, len(rest)):]
	}
	rest = rest[:min(limit, len(rest))]
	page.Users = make([]store.UserSummary, len(rest))
	for i, rec := range rest {
		page.Users[i] = store.UserSummary{User: rec.u, Sessions: len(rec.sessions)}
	}
	return page, nil
}

// CreateSession stores a copy of sess with refreshHash as its current
// refresh token and sets the user's LastLoginAt to sess.CreatedAt. It
// returns [store.ErrNotFound] for an unknown user and [store.ErrConflict]
// when the session ID or the refresh hash is in use.
func (s *Store) CreateSession(ctx context.Context, sess *store.Session, refreshHash []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sr := &sessionRec{s: sessionIn(sess), hashes: []string{string(refreshHash)}}
	s.lock()
	defer s.mu.Unlock()
	owner, ok := s.users[sr.s.UserID]
	if !ok {
		return fmt.Errorf("memstore: create session: user: %w", store.ErrNotFound)
	}
	if _, ok := s.sessions[sr.s.ID]; ok {
		return fmt.Errorf("memstore: create session: id taken: %w", store.ErrConflict)
	}
	if _, ok := s.tokens[sr.hashes[0]]; ok {
		return fmt.Errorf("memstore: create session: refresh hash taken: %w", store.ErrConflict)
	}
	sr.owner = owner
	s.sessions[sr.s.ID] = sr
	s.tokens[sr.hashes[0]] = &tokenRec{sess: sr}
	if owner.sessions == nil {
		owner.sessions = make(map[string]*sessionRec)
	}
	owner.sessions[sr.s.ID] = sr
	owner.u.LastLoginAt = sr.s.CreatedAt
	return nil
}

// SessionUser returns copies of the session with that ID and of its user,
// or [store.ErrNotFound]. It does not check liveness.
func (s *Store) SessionUser(ctx context.Context, id string) (*store.Session, *store.User, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	s.mu.RLock()
	sr, ok := s.sessions[id]
	if !ok {
		s.mu.RUnlock()
		return nil, nil, fmt.Errorf("memstore: session user: %w", store.ErrNotFound)
	}
	sess, u := sr.s, sr.owner.u
	s.mu.RUnlock()
	return &sess, &u, nil
}

// UserSessions returns copies of the user's sessions that are live at now,
// newest (by CreatedAt) first.
func (s *Store) UserSessions(ctx context.Context, userID string, now time.Time) ([]store.Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	var out []store.Session
	if rec, ok := s.users[userID]; ok {
		out = make([]store.Session, 0, len(rec.sessions))
		for _, sr := range rec.sessions {
			if sr.s.Live(now) {
				out = append(out, sr.s)
			}
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b store.Session) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// RevokeSession deletes the session and its refresh tokens. It returns
// [store.ErrNotFound] unless a session with that ID belongs to userID.
func (s *Store) RevokeSession(ctx context.Context, userID, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.lock()
	defer s.mu.Unlock()
	sr, ok := s.sessions[id]
	if !ok || sr.s.UserID != userID {
		return fmt.Errorf("memstore: revoke session: %w", store.ErrNotFound)
	}
	s.deleteSession(sr)
	return nil
}

// RevokeUserSessions deletes every session of the user except the one whose
// ID is except, and returns how many it deleted.
func (s *Store) RevokeUserSessions(ctx context.Context, userID, except string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.lock()
	defer s.mu.Unlock()
	rec, ok := s.users[userID]
	if !ok {
		return 0, nil
	}
	n := 0
	for id, sr := range rec.sessions {
		if except != "" && id == except {
			continue
		}
		s.deleteSession(sr)
		n++
	}
	return n, nil
}

// RotateRefreshToken replaces r.Old with r.New as [store.RefreshTokens]
// describes and returns copies of the updated session and its user.
//
// A rotated-away token is reported as reused (a [*store.ReuseError])
// whether or not its session is still live; a rotation within r.ReuseGrace
// means r.Now is strictly before that rotation's time plus r.ReuseGrace. A
// r.New already in use gives [store.ErrConflict] and changes nothing.
func (s *Store) RotateRefreshToken(ctx context.Context, r store.Rotation) (*store.Session, *store.User, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	now := r.Now.UTC()
	s.lock()
	defer s.mu.Unlock()
	tok, ok := s.tokens[string(r.Old)]
	if !ok {
		return nil, nil, fmt.Errorf("memstore: rotate refresh token: %w", store.ErrNotFound)
	}
	sr := tok.sess
	if tok.rotated {
		grace := r.ReuseGrace > 0 && now.Sub(tok.rotatedAt) < r.ReuseGrace
		if !grace {
			s.deleteSession(sr)
		}
		return nil, nil, &store.ReuseError{SessionID: sr.s.ID, UserID: sr.s.UserID, Revoked: !grace}
	}
	if !sr.s.Live(now) {
		return nil, nil, fmt.Errorf("memstore: rotate refresh token: session expired: %w", store.ErrNotFound)
	}
	newHash := string(r.New)
	if _, taken := s.tokens[newHash]; taken {
		return nil, nil, fmt.Errorf("memstore: rotate refresh token: new hash taken: %w", store.ErrConflict)
	}

	tok.rotated, tok.rotatedAt = true, now
	s.tokens[newHash] = &tokenRec{sess: sr}
	sr.hashes = append(sr.hashes, newHash)
	sr.s.LastUsedAt = now
	sr.s.IdleExpiresAt = r.IdleExpiresAt.UTC()
	if sr.s.IdleExpiresAt.After(sr.s.ExpiresAt) {
		sr.s.IdleExpiresAt = sr.s.ExpiresAt
	}
	if r.IP != "" {
		sr.s.IP = r.IP
	}
	if r.UserAgent != "" {
		sr.s.UserAgent = r.UserAgent
	}
	sess, u := sr.s, sr.owner.u
	return &sess, &u, nil
}

// PutSecret stores a copy of sec, replacing any secret its user has for the
// same purpose. It returns [store.ErrNotFound] for an unknown user and
// [store.ErrConflict] when sec.Hash belongs to another stored secret (a
// secret may be stored again under its own hash, replacing itself).
func (s *Store) PutSecret(ctx context.Context, sec *store.Secret) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	rec := &secretRec{s: secretIn(sec)}
	key := string(rec.s.Hash)
	s.lock()
	defer s.mu.Unlock()
	owner, ok := s.users[rec.s.UserID]
	if !ok {
		return fmt.Errorf("memstore: put secret: user: %w", store.ErrNotFound)
	}
	old := owner.secrets[rec.s.Purpose]
	if other, ok := s.secrets[key]; ok && other != old {
		return fmt.Errorf("memstore: put secret: hash taken: %w", store.ErrConflict)
	}
	if old != nil {
		s.deleteSecret(old)
	}
	rec.owner = owner
	s.secrets[key] = rec
	if owner.secrets == nil {
		owner.secrets = make(map[store.Purpose]*secretRec)
	}
	owner.secrets[rec.s.Purpose] = rec
	return nil
}

// ConsumeSecret finds, checks and deletes the secret and applies the update
// c.Apply returns, in one step, as [store.Secrets] describes. c.Apply runs
// under the store's write lock, on copies, exactly once per call that finds
// a usable secret.
func (s *Store) ConsumeSecret(ctx context.Context, c store.Consume) (*store.Secret, *store.User, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	s.lock()
	defer s.mu.Unlock()
	rec, ok := s.secrets[string(c.Hash)]
	if !ok || !slices.Contains(c.Purposes, rec.s.Purpose) || !c.Now.Before(rec.s.ExpiresAt) {
		return nil, nil, fmt.Errorf("memstore: consume secret: %w", store.ErrNotFound)
	}
	owner := rec.owner
	var upd *store.UserUpdate
	if c.Apply != nil {
		sec, u := secretOut(&rec.s), owner.u
		var err error
		if upd, err = c.Apply(sec, &u); err != nil {
			return nil, nil, err
		}
	}
	if upd != nil {
		next, err := s.checkUpdate(owner, upd)
		if err != nil {
			return nil, nil, fmt.Errorf("memstore: consume secret: update user: %w", err)
		}
		s.deleteSecret(rec)
		s.applyUpdate(owner, next, upd)
	} else {
		s.deleteSecret(rec)
	}
	u := owner.u
	return secretOut(&rec.s), &u, nil
}

// ReserveCodeAttempt spends one attempt on the short code of the user's
// secret for purpose p, as [store.Secrets] describes, and returns a copy of
// the secret.
func (s *Store) ReserveCodeAttempt(ctx context.Context, userID string, p store.Purpose, now time.Time, maxAttempts int) (*store.Secret, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.lock()
	defer s.mu.Unlock()
	var rec *secretRec
	if owner, ok := s.users[userID]; ok {
		rec = owner.secrets[p]
	}
	if rec == nil || len(rec.s.CodeHash) == 0 || !now.Before(rec.s.CodeExpiresAt) {
		return nil, fmt.Errorf("memstore: reserve code attempt: %w", store.ErrNotFound)
	}
	if rec.s.Attempts >= maxAttempts {
		return nil, fmt.Errorf("memstore: reserve code attempt: %w", store.ErrExhausted)
	}
	rec.s.Attempts++
	return secretOut(&rec.s), nil
}

// DeleteExpired deletes the sessions that are not live at before, with
// their refresh tokens, the secrets and login challenges whose ExpiresAt is
// not after before, the federation flows and email logins whose ExpiresAt
// is not after before and the counters expired at before. It returns the
// number of sessions, secrets, challenges, flows, email logins and counters
// deleted; refresh tokens are not counted.
func (s *Store) DeleteExpired(ctx context.Context, before time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.lock()
	defer s.mu.Unlock()
	n := 0
	for _, sr := range s.sessions {
		if !sr.s.Live(before) {
			s.deleteSession(sr)
			n++
		}
	}
	for _, rec := range s.secrets {
		if !before.Before(rec.s.ExpiresAt) {
			s.deleteSecret(rec)
			n++
		}
	}
	n += s.deleteExpiredChallenges(before)
	n += s.deleteExpiredFlows(before)
	n += s.deleteExpiredEmailLogins(before)
	return n + s.deleteExpiredCounters(before), nil
}

// deleteSession removes sr and its refresh tokens from every index.
// Callers hold the write lock.
func (s *Store) deleteSession(sr *sessionRec) {
	for _, h := range sr.hashes {
		delete(s.tokens, h)
	}
	delete(s.sessions, sr.s.ID)
	delete(sr.owner.sessions, sr.s.ID)
}

// deleteSecret removes rec from every index. Callers hold the write lock.
func (s *Store) deleteSecret(rec *secretRec) {
	delete(s.secrets, string(rec.s.Hash))
	if rec.owner.secrets[rec.s.Purpose] == rec {
		delete(rec.owner.secrets, rec.s.Purpose)
	}
}

// insertOrdered adds rec to s.ordered at its email's place.
func (s *Store) insertOrdered(rec *userRec) {
	i, _ := slices.BinarySearchFunc(s.ordered, rec.u.Email, cmpEmail)
	s.ordered = slices.Insert(s.ordered, i, rec)
}

// removeOrdered removes rec from s.ordered.
func (s *Store) removeOrdered(rec *userRec) {
	if i, ok := slices.BinarySearchFunc(s.ordered, rec.u.Email, cmpEmail); ok {
		s.ordered = slices.Delete(s.ordered, i, i+1)
	}
}

func cmpEmail(rec *userRec, email string) int { return cmp.Compare(rec.u.Email, email) }

func activeSuper(u *store.User) bool { return u.IsSuperuser && u.IsActive }

// userIn returns a copy of u with its times in UTC.
func userIn(u *store.User) store.User {
	c := *u
	c.CreatedAt = c.CreatedAt.UTC()
	c.UpdatedAt = c.UpdatedAt.UTC()
	c.LastLoginAt = c.LastLoginAt.UTC()
	c.TokensValidAfter = c.TokensValidAfter.UTC()
	c.PendingEmailExpiresAt = c.PendingEmailExpiresAt.UTC()
	return c
}

// sessionIn returns a copy of s with its times in UTC.
func sessionIn(s *store.Session) store.Session {
	c := *s
	c.CreatedAt = c.CreatedAt.UTC()
	c.AuthenticatedAt = c.AuthenticatedAt.UTC()
	c.LastUsedAt = c.LastUsedAt.UTC()
	c.ExpiresAt = c.ExpiresAt.UTC()
	c.IdleExpiresAt = c.IdleExpiresAt.UTC()
	return c
}

// secretIn returns a deep copy of s with its times in UTC.
func secretIn(s *store.Secret) store.Secret {
	c := *s
	c.Hash = bytes.Clone(s.Hash)
	c.CodeHash = bytes.Clone(s.CodeHash)
	c.CreatedAt = c.CreatedAt.UTC()
	c.ExpiresAt = c.ExpiresAt.UTC()
	c.CodeExpiresAt = c.CodeExpiresAt.UTC()
	return c
}

// secretOut returns a deep copy of s for a caller.
func secretOut(s *store.Secret) *store.Secret {
	c := *s
	c.Hash = bytes.Clone(s.Hash)
	c.CodeHash = bytes.Clone(s.CodeHash)
	return &c
}
