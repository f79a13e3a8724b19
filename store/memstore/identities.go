package memstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

// fedData holds federated identities and started federated logins. It is
// guarded by Store.mu.
type fedData struct {
	identities map[idKey]*store.Identity        // by (issuer, subject)
	flows      map[string]*store.FederationFlow // by Hash
}

type idKey struct{ issuer, subject string }

func (d *fedData) init() {
	if d.identities == nil {
		d.identities = make(map[idKey]*store.Identity)
		d.flows = make(map[string]*store.FederationFlow)
	}
}

// CreateIdentity links a copy of id to its existing user; see
// [store.Identities].
func (s *Store) CreateIdentity(ctx context.Context, id *store.Identity) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c := identityIn(id)
	s.lock()
	defer s.mu.Unlock()
	s.fed.init()
	if _, ok := s.users[c.UserID]; !ok {
		return fmt.Errorf("memstore: create identity: user: %w", store.ErrNotFound)
	}
	k := idKey{c.Issuer, c.Subject}
	if _, ok := s.fed.identities[k]; ok {
		return fmt.Errorf("memstore: create identity: taken: %w", store.ErrConflict)
	}
	s.fed.identities[k] = &c
	return nil
}

// CreateUserWithIdentity stores u and links id to it, atomically; see
// [store.Identities].
func (s *Store) CreateUserWithIdentity(ctx context.Context, u *store.User, id *store.Identity) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	rec := &userRec{u: userIn(u)}
	c := identityIn(id)
	c.UserID = rec.u.ID
	s.lock()
	defer s.mu.Unlock()
	s.fed.init()
	if _, ok := s.users[rec.u.ID]; ok {
		return fmt.Errorf("memstore: create user with identity: id taken: %w", store.ErrConflict)
	}
	if _, ok := s.byEmail[rec.u.Email]; ok {
		return fmt.Errorf("memstore: create user with identity: email taken: %w", store.ErrConflict)
	}
	k := idKey{c.Issuer, c.Subject}
	if _, ok := s.fed.identities[k]; ok {
		return fmt.Errorf("memstore: create user with identity: identity taken: %w", store.ErrConflict)
	}
	s.users[rec.u.ID] = rec
	s.byEmail[rec.u.Email] = rec
	s.insertOrdered(rec)
	if activeSuper(&rec.u) {
		s.supers++
	}
	s.fed.identities[k] = &c
	return nil
}

// IdentityUser returns copies of the identity and its user; see
// [store.Identities].
func (s *Store) IdentityUser(ctx context.Context, issuer, subject string) (*store.Identity, *store.User, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	id, ok := s.fed.identities[idKey{issuer, subject}]
	if !ok {
		return nil, nil, fmt.Errorf("memstore: identity user: %w", store.ErrNotFound)
	}
	u := s.users[id.UserID].u
	return identityOut(id), &u, nil
}

// UserIdentities returns copies of the user's identities; see
// [store.Identities].
func (s *Store) UserIdentities(ctx context.Context, userID string) ([]store.Identity, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []store.Identity
	for _, id := range s.fed.identities {
		if id.UserID == userID {
			out = append(out, *identityOut(id))
		}
	}
	slices.SortFunc(out, func(a, b store.Identity) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.Issuer, b.Issuer), cmp.Compare(a.Subject, b.Subject))
	})
	return out, nil
}

// TouchIdentity records a login with the identity; see [store.Identities].
func (s *Store) TouchIdentity(ctx context.Context, l store.IdentityLogin) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.lock()
	defer s.mu.Unlock()
	id, ok := s.fed.identities[idKey{l.Issuer, l.Subject}]
	if !ok {
		return fmt.Errorf("memstore: touch identity: %w", store.ErrNotFound)
	}
	id.LastLoginAt = l.Now.UTC()
	id.Email, id.EmailVerified = l.Email, l.EmailVerified
	id.Tokens = slices.Clone(l.Tokens)
	return nil
}

// DeleteIdentity unlinks the identity unless it is the user's last way to
// log in; see [store.Identities].
func (s *Store) DeleteIdentity(ctx context.Context, userID, issuer, subject string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.lock()
	defer s.mu.Unlock()
	k := idKey{issuer, subject}
	id, ok := s.fed.identities[k]
	if !ok || id.UserID != userID {
		return fmt.Errorf("memstore: delete identity: %w", store.ErrNotFound)
	}
	if s.users[userID].u.PasswordHash == "" && !s.userHasPasskey(userID) {
		others := 0
		for _, o := range s.fed.identities {
			if o.UserID == userID {
				others++
			}
		}
		if others <= 1 {
			return fmt.Errorf("memstore: delete identity: %w", store.ErrLastLogin)
		}
	}
	delete(s.fed.identities, k)
	return nil
}

// PutFlow stores a copy of f; see [store.Identities].
func (s *Store) PutFlow(ctx context.Context, f *store.FederationFlow) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c := flowIn(f)
	s.lock()
	defer s.mu.Unlock()
	s.fed.init()
	if _, ok := s.fed.flows[string(c.Hash)]; ok {
		return fmt.Errorf("memstore: put flow: %w", store.ErrConflict)
	}
	s.fed.flows[string(c.Hash)] = &c
	return nil
}

// TakeFlow deletes and returns the live flow whose Hash is hash; see
// [store.Identities].
func (s *Store) TakeFlow(ctx context.Context, hash []byte, now time.Time) (*store.FederationFlow, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.lock()
	defer s.mu.Unlock()
	f, ok := s.fed.flows[string(hash)]
	if !ok || !now.Before(f.ExpiresAt) {
		return nil, fmt.Errorf("memstore: take flow: %w", store.ErrNotFound)
	}
	delete(s.fed.flows, string(hash))
	c := flowIn(f)
	return &c, nil
}

// dropIdentities deletes the user's identities. Callers hold the write
// lock.
func (s *Store) dropIdentities(userID string) {
	for k, id := range s.fed.identities {
		if id.UserID == userID {
			delete(s.fed.identities, k)
		}
	}
}

// deleteExpiredFlows deletes flows whose ExpiresAt is not after before and
// returns how many. Callers hold the write lock.
func (s *Store) deleteExpiredFlows(before time.Time) int {
	n := 0
	for h, f := range s.fed.flows {
		if !before.Before(f.ExpiresAt) {
			delete(s.fed.flows, h)
			n++
		}
	}
	return n
}

func identityIn(id *store.Identity) store.Identity {
	c := *id
	c.Tokens = slices.Clone(id.Tokens)
	c.CreatedAt, c.LastLoginAt = c.CreatedAt.UTC(), c.LastLoginAt.UTC()
	return c
}

func identityOut(id *store.Identity) *store.Identity {
	c := *id
	c.Tokens = slices.Clone(id.Tokens)
	return &c
}

func flowIn(f *store.FederationFlow) store.FederationFlow {
	c := *f
	c.Hash, c.Binding = slices.Clone(f.Hash), slices.Clone(f.Binding)
	c.CreatedAt, c.ExpiresAt = c.CreatedAt.UTC(), c.ExpiresAt.UTC()
	return c
}
