package memstore

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

var (
	_ store.Passkeys   = (*Store)(nil)
	_ store.Ceremonies = (*Store)(nil)
)

// PasskeyByCredentialID returns a copy of the passkey with that credential
// ID and of its user; see [store.Passkeys].
func (s *Store) PasskeyByCredentialID(ctx context.Context, id []byte) (*store.Factor, *store.User, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	fid, ok := s.mfa.byCredential[string(id)]
	if !ok || len(id) == 0 {
		return nil, nil, fmt.Errorf("memstore: passkey by credential id: %w", store.ErrNotFound)
	}
	f := s.mfa.factors[fid]
	rec, ok := s.users[f.UserID]
	if !ok {
		return nil, nil, fmt.Errorf("memstore: passkey by credential id: %w", store.ErrNotFound)
	}
	u := rec.u
	return factorOut(f), &u, nil
}

// UsePasskey advances the passkey's signature counter; see
// [store.Passkeys].
func (s *Store) UsePasskey(ctx context.Context, u store.PasskeyUse) (*store.Factor, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.lock()
	defer s.mu.Unlock()
	f, ok := s.mfa.factors[u.ID]
	if !ok || f.UserID != u.UserID || f.Type != store.FactorPasskey {
		return nil, fmt.Errorf("memstore: use passkey: %w", store.ErrNotFound)
	}
	if !signCountAdvances(f.LastStep, u.SignCount) {
		return nil, fmt.Errorf("memstore: use passkey: %w", store.ErrReplayed)
	}
	f.LastStep, f.LastUsedAt = u.SignCount, u.Now.UTC()
	return factorOut(f), nil
}

// signCountAdvances reports whether a signature counter may follow the
// stored one: it grows, or the authenticator keeps none (both 0).
func signCountAdvances(stored, next int64) bool {
	return next > stored || (next == 0 && stored == 0)
}

// PutCeremony stores a copy of c; see [store.Ceremonies].
func (s *Store) PutCeremony(ctx context.Context, c *store.Ceremony) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	cp := ceremonyCopy(c)
	s.lock()
	defer s.mu.Unlock()
	s.mfa.init()
	if _, ok := s.mfa.ceremonies[string(cp.Hash)]; ok {
		return fmt.Errorf("memstore: put ceremony: hash taken: %w", store.ErrConflict)
	}
	s.mfa.ceremonies[string(cp.Hash)] = &cp
	return nil
}

// TakeCeremony deletes and returns a live ceremony; see [store.Ceremonies].
func (s *Store) TakeCeremony(ctx context.Context, hash []byte, now time.Time) (*store.Ceremony, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.lock()
	defer s.mu.Unlock()
	c, ok := s.mfa.ceremonies[string(hash)]
	if !ok {
		return nil, fmt.Errorf("memstore: take ceremony: %w", store.ErrNotFound)
	}
	delete(s.mfa.ceremonies, string(hash))
	if !now.Before(c.ExpiresAt) {
		return nil, fmt.Errorf("memstore: take ceremony: %w", store.ErrNotFound)
	}
	out := ceremonyCopy(c)
	return &out, nil
}

// deleteExpiredCeremonies deletes ceremonies whose ExpiresAt is not after
// before and returns how many. Callers hold the write lock.
func (s *Store) deleteExpiredCeremonies(before time.Time) int {
	n := 0
	for h, c := range s.mfa.ceremonies {
		if !before.Before(c.ExpiresAt) {
			delete(s.mfa.ceremonies, h)
			n++
		}
	}
	return n
}

// userHasPasskey reports whether the user has a passkey. Callers hold the
// lock.
func (s *Store) userHasPasskey(userID string) bool {
	for _, f := range s.mfa.factors {
		if f.UserID == userID && f.Type == store.FactorPasskey {
			return true
		}
	}
	return false
}

func ceremonyCopy(c *store.Ceremony) store.Ceremony {
	cp := *c
	cp.Hash, cp.Data = slices.Clone(c.Hash), slices.Clone(c.Data)
	cp.CreatedAt, cp.ExpiresAt = cp.CreatedAt.UTC(), cp.ExpiresAt.UTC()
	return cp
}
