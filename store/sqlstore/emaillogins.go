package sqlstore

import (
	"bytes"
	"context"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

var _ store.EmailLogins = (*Store)(nil)

func (s *Store) emailLoginDest(l *store.EmailLogin) []any {
	return []any{
		&l.ID, &l.Hash, &l.CodeHash, &l.UserID, &l.Email,
		timeCol{s.d, &l.CreatedAt}, timeCol{s.d, &l.ExpiresAt}, timeCol{s.d, &l.CodeExpiresAt}, &l.Attempts,
	}
}

// PutEmailLogin stores l in place of the user's previous email login, in
// one transaction that locks the user first; see [store.EmailLogins].
func (s *Store) PutEmailLogin(ctx context.Context, l *store.EmailLogin) error {
	args := []any{l.ID, bytes.Clone(l.Hash), bytes.Clone(l.CodeHash), l.UserID, l.Email,
		s.d.nullable(l.CreatedAt), s.d.instant(l.ExpiresAt), s.d.instant(l.CodeExpiresAt), l.Attempts}
	err := s.write(ctx, func(q querier) error {
		var uid string
		if err := q.row(ctx, qLockUser, l.UserID).Scan(&uid); err != nil {
			return notFound(err)
		}
		if _, err := q.exec(ctx, qEmailLoginDeleteUser, l.UserID); err != nil {
			return err
		}
		_, err := q.exec(ctx, qEmailLoginInsert, args...)
		return conflict(err)
	})
	return wrap("put email login", err)
}

// ReserveEmailLoginAttempt spends one code attempt with a conditional
// UPDATE (attempts < maxAttempts); see [store.EmailLogins].
func (s *Store) ReserveEmailLoginAttempt(ctx context.Context, id string, now time.Time, maxAttempts int) (*store.EmailLogin, *store.User, error) {
	at := s.d.instant(now)
	var (
		l *store.EmailLogin
		u *store.User
	)
	err := s.write(ctx, func(q querier) error {
		l, u = nil, nil
		n, err := q.execN(ctx, qEmailLoginReserve, id, at, maxAttempts)
		if err != nil {
			return err
		}
		fl, fu := new(store.EmailLogin), new(store.User)
		if err := q.row(ctx, qEmailLoginByID, id, at).Scan(append(s.emailLoginDest(fl), s.userDest(fu)...)...); err != nil {
			return notFound(err)
		}
		if n == 0 {
			return store.ErrExhausted
		}
		l, u = fl, fu
		return nil
	})
	if err != nil {
		return nil, nil, wrap("reserve email login attempt", err)
	}
	return l, u, nil
}

// TakeEmailLogin reads the live email login and deletes it, in one
// transaction; the caller whose DELETE removed the row is the one that
// took it; see [store.EmailLogins].
func (s *Store) TakeEmailLogin(ctx context.Context, hash []byte, now time.Time) (*store.EmailLogin, *store.User, error) {
	at := s.d.instant(now)
	var (
		l *store.EmailLogin
		u *store.User
	)
	err := s.write(ctx, func(q querier) error {
		l, u = nil, nil
		fl, fu := new(store.EmailLogin), new(store.User)
		if err := q.row(ctx, qEmailLoginByHash, hash, at).Scan(append(s.emailLoginDest(fl), s.userDest(fu)...)...); err != nil {
			return notFound(err)
		}
		n, err := q.execN(ctx, qEmailLoginTake, hash, at)
		if err != nil {
			return err
		}
		if n == 0 {
			return store.ErrNotFound
		}
		l, u = fl, fu
		return nil
	})
	if err != nil {
		return nil, nil, wrap("take email login", err)
	}
	return l, u, nil
}

// DeleteEmailLogin deletes an email login; see [store.EmailLogins].
func (s *Store) DeleteEmailLogin(ctx context.Context, id string) error {
	n, err := s.writeOne(ctx, qEmailLoginDelete, id)
	if err == nil && n == 0 {
		err = store.ErrNotFound
	}
	return wrap("delete email login", err)
}
