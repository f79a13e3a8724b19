package memstore

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

// mfaData holds second factors, recovery codes and login challenges. It is
// guarded by Store.mu.
type mfaData struct {
	factors    map[string]*store.Factor         // by ID
	codes      map[string]map[string]struct{}   // user ID → set of code hashes
	challenges map[string]*store.LoginChallenge // by Hash
	// byCredential indexes passkeys: credential ID → factor ID.
	byCredential map[string]string
	ceremonies   map[string]*store.Ceremony // by Hash
}

func (d *mfaData) init() {
	if d.factors == nil {
		d.factors = make(map[string]*store.Factor)
		d.codes = make(map[string]map[string]struct{})
		d.challenges = make(map[string]*store.LoginChallenge)
		d.byCredential = make(map[string]string)
		d.ceremonies = make(map[string]*store.Ceremony)
	}
}

// CreateFactor stores a copy of f; see [store.Factors].
func (s *Store) CreateFactor(ctx context.Context, f *store.Factor) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c := factorIn(f)
	s.lock()
	defer s.mu.Unlock()
	s.mfa.init()
	rec, ok := s.users[c.UserID]
	if !ok {
		return fmt.Errorf("memstore: create factor: user: %w", store.ErrNotFound)
	}
	if _, ok := s.mfa.factors[c.ID]; ok {
		return fmt.Errorf("memstore: create factor: id taken: %w", store.ErrConflict)
	}
	if len(c.CredentialID) > 0 {
		if _, ok := s.mfa.byCredential[string(c.CredentialID)]; ok {
			return fmt.Errorf("memstore: create factor: credential id taken: %w", store.ErrConflict)
		}
		s.mfa.byCredential[string(c.CredentialID)] = c.ID
	}
	s.mfa.factors[c.ID] = &c
	if c.Confirmed() {
		rec.u.HasFactors = true
	}
	return nil
}

// syncHasFactors sets the user's HasFactors from their factors. Callers
// hold the write lock.
func (s *Store) syncHasFactors(userID string) {
	rec, ok := s.users[userID]
	if !ok {
		return
	}
	rec.u.HasFactors = false
	for _, f := range s.mfa.factors {
		if f.UserID == userID && f.Confirmed() {
			rec.u.HasFactors = true
			return
		}
	}
}

// UserFactors returns copies of the user's factors; see [store.Factors].
func (s *Store) UserFactors(ctx context.Context, userID string) ([]store.Factor, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []store.Factor
	for _, f := range s.mfa.factors {
		if f.UserID == userID {
			out = append(out, *factorOut(f))
		}
	}
	slices.SortFunc(out, func(a, b store.Factor) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		if a.ID < b.ID {
			return -1
		}
		if a.ID > b.ID {
			return 1
		}
		return 0
	})
	return out, nil
}

// UseFactor advances the factor's last accepted step; see [store.Factors].
func (s *Store) UseFactor(ctx context.Context, u store.FactorUse) (*store.Factor, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.lock()
	defer s.mu.Unlock()
	f, ok := s.mfa.factors[u.ID]
	if !ok || f.UserID != u.UserID {
		return nil, fmt.Errorf("memstore: use factor: %w", store.ErrNotFound)
	}
	if u.Step <= f.LastStep {
		return nil, fmt.Errorf("memstore: use factor: %w", store.ErrReplayed)
	}
	now := u.Now.UTC()
	f.LastStep, f.LastUsedAt = u.Step, now
	if f.ConfirmedAt.IsZero() {
		f.ConfirmedAt = now
		if rec, ok := s.users[f.UserID]; ok {
			rec.u.HasFactors = true
		}
	}
	return factorOut(f), nil
}

// DeleteFactor deletes one factor; see [store.Factors].
func (s *Store) DeleteFactor(ctx context.Context, userID, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.lock()
	defer s.mu.Unlock()
	f, ok := s.mfa.factors[id]
	if !ok || f.UserID != userID {
		return fmt.Errorf("memstore: delete factor: %w", store.ErrNotFound)
	}
	s.deleteFactorRec(f)
	if f.Confirmed() {
		s.syncHasFactors(userID)
	}
	return nil
}

// DeleteUserFactors deletes the user's factors, recovery codes and
// challenges; see [store.Factors].
func (s *Store) DeleteUserFactors(ctx context.Context, userID string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.lock()
	defer s.mu.Unlock()
	return s.dropSecondFactors(userID), nil
}

// dropSecondFactors deletes everything second-factor of the user and
// returns how many factors it deleted. Callers hold the write lock.
func (s *Store) dropSecondFactors(userID string) int {
	n := 0
	for _, f := range s.mfa.factors {
		if f.UserID == userID {
			s.deleteFactorRec(f)
			n++
		}
	}
	if rec, ok := s.users[userID]; ok {
		rec.u.HasFactors = false
	}
	delete(s.mfa.codes, userID)
	for h, c := range s.mfa.challenges {
		if c.UserID == userID {
			delete(s.mfa.challenges, h)
		}
	}
	return n
}

// deleteFactorRec removes f from every index. Callers hold the write lock.
func (s *Store) deleteFactorRec(f *store.Factor) {
	delete(s.mfa.factors, f.ID)
	if len(f.CredentialID) > 0 {
		delete(s.mfa.byCredential, string(f.CredentialID))
	}
}

// ReplaceRecoveryCodes replaces the user's recovery codes; see
// [store.RecoveryCodes].
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes [][]byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	set := make(map[string]struct{}, len(hashes))
	for _, h := range hashes {
		if _, ok := set[string(h)]; ok {
			return fmt.Errorf("memstore: replace recovery codes: duplicate: %w", store.ErrConflict)
		}
		set[string(h)] = struct{}{}
	}
	s.lock()
	defer s.mu.Unlock()
	s.mfa.init()
	if _, ok := s.users[userID]; !ok {
		return fmt.Errorf("memstore: replace recovery codes: user: %w", store.ErrNotFound)
	}
	s.mfa.codes[userID] = set
	return nil
}

// ConsumeRecoveryCode spends one recovery code; see [store.RecoveryCodes].
func (s *Store) ConsumeRecoveryCode(ctx context.Context, userID string, hash []byte) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.lock()
	defer s.mu.Unlock()
	set := s.mfa.codes[userID]
	if _, ok := set[string(hash)]; !ok {
		return 0, fmt.Errorf("memstore: consume recovery code: %w", store.ErrNotFound)
	}
	delete(set, string(hash))
	return len(set), nil
}

// CountRecoveryCodes counts the user's unused recovery codes; see
// [store.RecoveryCodes].
func (s *Store) CountRecoveryCodes(ctx context.Context, userID string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.mfa.codes[userID]), nil
}

// PutChallenge stores a copy of c; see [store.Challenges].
func (s *Store) PutChallenge(ctx context.Context, c *store.LoginChallenge) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	cp := challengeIn(c)
	s.lock()
	defer s.mu.Unlock()
	s.mfa.init()
	if _, ok := s.users[cp.UserID]; !ok {
		return fmt.Errorf("memstore: put challenge: user: %w", store.ErrNotFound)
	}
	if _, ok := s.mfa.challenges[string(cp.Hash)]; ok {
		return fmt.Errorf("memstore: put challenge: hash taken: %w", store.ErrConflict)
	}
	s.mfa.challenges[string(cp.Hash)] = &cp
	return nil
}

// ReserveChallengeAttempt spends one attempt on a challenge; see
// [store.Challenges].
func (s *Store) ReserveChallengeAttempt(ctx context.Context, hash []byte, now time.Time, maxAttempts int) (*store.LoginChallenge, *store.User, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	s.lock()
	defer s.mu.Unlock()
	c, ok := s.mfa.challenges[string(hash)]
	if !ok || !now.Before(c.ExpiresAt) {
		return nil, nil, fmt.Errorf("memstore: reserve challenge attempt: %w", store.ErrNotFound)
	}
	rec, ok := s.users[c.UserID]
	if !ok {
		return nil, nil, fmt.Errorf("memstore: reserve challenge attempt: %w", store.ErrNotFound)
	}
	if c.Attempts >= maxAttempts {
		return nil, nil, fmt.Errorf("memstore: reserve challenge attempt: %w", store.ErrExhausted)
	}
	c.Attempts++
	out := challengeIn(c)
	u := rec.u
	return &out, &u, nil
}

// DeleteChallenge deletes a challenge; see [store.Challenges].
func (s *Store) DeleteChallenge(ctx context.Context, hash []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.lock()
	defer s.mu.Unlock()
	if _, ok := s.mfa.challenges[string(hash)]; !ok {
		return fmt.Errorf("memstore: delete challenge: %w", store.ErrNotFound)
	}
	delete(s.mfa.challenges, string(hash))
	return nil
}

// deleteExpiredChallenges deletes challenges whose ExpiresAt is not after
// before and returns how many. Callers hold the write lock.
func (s *Store) deleteExpiredChallenges(before time.Time) int {
	n := 0
	for h, c := range s.mfa.challenges {
		if !before.Before(c.ExpiresAt) {
			delete(s.mfa.challenges, h)
			n++
		}
	}
	return n
}

func factorIn(f *store.Factor) store.Factor {
	c := *f
	c.Secret, c.CredentialID = slices.Clone(f.Secret), slices.Clone(f.CredentialID)
	c.CreatedAt, c.ConfirmedAt, c.LastUsedAt = c.CreatedAt.UTC(), c.ConfirmedAt.UTC(), c.LastUsedAt.UTC()
	return c
}

func factorOut(f *store.Factor) *store.Factor {
	c := *f
	c.Secret, c.CredentialID = slices.Clone(f.Secret), slices.Clone(f.CredentialID)
	return &c
}

func challengeIn(c *store.LoginChallenge) store.LoginChallenge {
	cp := *c
	cp.Hash, cp.Binding = slices.Clone(c.Hash), slices.Clone(c.Binding)
	cp.AuthenticatedAt, cp.ExpiresAt = cp.AuthenticatedAt.UTC(), cp.ExpiresAt.UTC()
	return cp
}
