package memstore

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

// loginData holds passwordless email logins. It is guarded by Store.mu.
type loginData struct {
	byID   map[string]*store.EmailLogin // by ID
	byHash map[string]*store.EmailLogin // by Hash
	byUser map[string]*store.EmailLogin // at most one per user
}

func (d *loginData) init() {
	if d.byID == nil {
		d.byID = make(map[string]*store.EmailLogin)
		d.byHash = make(map[string]*store.EmailLogin)
		d.byUser = make(map[string]*store.EmailLogin)
	}
}

// drop removes l from every index. Callers hold the write lock.
func (d *loginData) drop(l *store.EmailLogin) {
	delete(d.byID, l.ID)
	delete(d.byHash, string(l.Hash))
	if d.byUser[l.UserID] == l {
		delete(d.byUser, l.UserID)
	}
}

// PutEmailLogin stores a copy of l, replacing the user's previous email
// login; see [store.EmailLogins].
func (s *Store) PutEmailLogin(ctx context.Context, l *store.EmailLogin) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c := emailLoginIn(l)
	s.lock()
	defer s.mu.Unlock()
	s.logins.init()
	if _, ok := s.users[c.UserID]; !ok {
		return fmt.Errorf("memstore: put email login: user: %w", store.ErrNotFound)
	}
	if _, ok := s.logins.byID[c.ID]; ok {
		return fmt.Errorf("memstore: put email login: id taken: %w", store.ErrConflict)
	}
	if _, ok := s.logins.byHash[string(c.Hash)]; ok {
		return fmt.Errorf("memstore: put email login: hash taken: %w", store.ErrConflict)
	}
	if old, ok := s.logins.byUser[c.UserID]; ok {
		s.logins.drop(old)
	}
	s.logins.byID[c.ID] = &c
	s.logins.byHash[string(c.Hash)] = &c
	s.logins.byUser[c.UserID] = &c
	return nil
}

// ReserveEmailLoginAttempt spends one code attempt on an email login; see
// [store.EmailLogins].
func (s *Store) ReserveEmailLoginAttempt(ctx context.Context, id string, now time.Time, maxAttempts int) (*store.EmailLogin, *store.User, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	s.lock()
	defer s.mu.Unlock()
	l, ok := s.logins.byID[id]
	if !ok || !now.Before(l.CodeExpiresAt) {
		return nil, nil, fmt.Errorf("memstore: reserve email login attempt: %w", store.ErrNotFound)
	}
	rec, ok := s.users[l.UserID]
	if !ok {
		return nil, nil, fmt.Errorf("memstore: reserve email login attempt: %w", store.ErrNotFound)
	}
	if l.Attempts >= maxAttempts {
		return nil, nil, fmt.Errorf("memstore: reserve email login attempt: %w", store.ErrExhausted)
	}
	l.Attempts++
	out := emailLoginIn(l)
	u := rec.u
	return &out, &u, nil
}

// TakeEmailLogin deletes and returns the live email login whose Hash is
// hash, with its user; see [store.EmailLogins].
func (s *Store) TakeEmailLogin(ctx context.Context, hash []byte, now time.Time) (*store.EmailLogin, *store.User, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	s.lock()
	defer s.mu.Unlock()
	l, ok := s.logins.byHash[string(hash)]
	if !ok || !now.Before(l.ExpiresAt) {
		return nil, nil, fmt.Errorf("memstore: take email login: %w", store.ErrNotFound)
	}
	rec, ok := s.users[l.UserID]
	if !ok {
		return nil, nil, fmt.Errorf("memstore: take email login: %w", store.ErrNotFound)
	}
	s.logins.drop(l)
	out := emailLoginIn(l)
	u := rec.u
	return &out, &u, nil
}

// DeleteEmailLogin deletes an email login; see [store.EmailLogins].
func (s *Store) DeleteEmailLogin(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.lock()
	defer s.mu.Unlock()
	l, ok := s.logins.byID[id]
	if !ok {
		return fmt.Errorf("memstore: delete email login: %w", store.ErrNotFound)
	}
	s.logins.drop(l)
	return nil
}

// dropEmailLogins deletes the user's email login. Callers hold the write
// lock.
func (s *Store) dropEmailLogins(userID string) {
	if l, ok := s.logins.byUser[userID]; ok {
		s.logins.drop(l)
	}
}

// deleteExpiredEmailLogins deletes email logins whose ExpiresAt is not
// after before and returns how many. Callers hold the write lock.
func (s *Store) deleteExpiredEmailLogins(before time.Time) int {
	n := 0
	for _, l := range s.logins.byID {
		if !before.Before(l.ExpiresAt) {
			s.logins.drop(l)
			n++
		}
	}
	return n
}

func emailLoginIn(l *store.EmailLogin) store.EmailLogin {
	c := *l
	c.Hash, c.CodeHash = slices.Clone(l.Hash), slices.Clone(l.CodeHash)
	c.CreatedAt, c.ExpiresAt, c.CodeExpiresAt = c.CreatedAt.UTC(), c.ExpiresAt.UTC(), c.CodeExpiresAt.UTC()
	return c
}
