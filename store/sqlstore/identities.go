package sqlstore

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

var _ store.Identities = (*Store)(nil)

func (s *Store) identityDest(id *store.Identity) []any {
	return []any{
		&id.Issuer, &id.Subject, &id.UserID, &id.Provider, &id.Email, &id.EmailVerified,
		timeCol{s.d, &id.CreatedAt}, timeCol{s.d, &id.LastLoginAt}, &id.Tokens,
	}
}

func (s *Store) identityArgs(id *store.Identity, userID string) []any {
	return []any{
		id.Issuer, id.Subject, userID, id.Provider, id.Email, id.EmailVerified,
		s.d.nullable(id.CreatedAt), s.d.nullable(id.LastLoginAt), bytes.Clone(id.Tokens),
	}
}

// CreateIdentity links id to its existing user; see [store.Identities].
func (s *Store) CreateIdentity(ctx context.Context, id *store.Identity) error {
	args := s.identityArgs(id, id.UserID)
	err := s.write(ctx, func(q querier) error {
		var uid string
		if err := q.row(ctx, qLockUser, id.UserID).Scan(&uid); err != nil {
			return notFound(err)
		}
		_, err := q.exec(ctx, qIdentityInsert, args...)
		return conflict(err)
	})
	return wrap("create identity", err)
}

// CreateUserWithIdentity stores u and links id to it in one transaction;
// see [store.Identities].
func (s *Store) CreateUserWithIdentity(ctx context.Context, u *store.User, id *store.Identity) error {
	uargs, iargs := s.userArgs(u), s.identityArgs(id, u.ID)
	err := s.write(ctx, func(q querier) error {
		if _, err := q.exec(ctx, qCreateUser, uargs...); err != nil {
			return conflict(err)
		}
		if _, err := q.exec(ctx, qCountAdd, 1); err != nil {
			return err
		}
		_, err := q.exec(ctx, qIdentityInsert, iargs...)
		return conflict(err)
	})
	return wrap("create user with identity", err)
}

// IdentityUser returns the identity and its user in one query; see
// [store.Identities].
func (s *Store) IdentityUser(ctx context.Context, issuer, subject string) (*store.Identity, *store.User, error) {
	q, err := s.read(ctx)
	if err != nil {
		return nil, nil, wrap("identity user", err)
	}
	id, u := new(store.Identity), new(store.User)
	if err := q.row(ctx, qIdentityUser, issuer, subject).Scan(append(s.identityDest(id), s.userDest(u)...)...); err != nil {
		return nil, nil, wrap("identity user", notFound(err))
	}
	return id, u, nil
}

// UserIdentities returns the user's identities; see [store.Identities].
func (s *Store) UserIdentities(ctx context.Context, userID string) ([]store.Identity, error) {
	q, err := s.read(ctx)
	if err != nil {
		return nil, wrap("user identities", err)
	}
	rows, err := q.query(ctx, qIdentitiesOfUser, userID)
	if err != nil {
		return nil, wrap("user identities", err)
	}
	defer rows.Close()
	var out []store.Identity
	for rows.Next() {
		var id store.Identity
		if err := rows.Scan(s.identityDest(&id)...); err != nil {
			return nil, wrap("user identities", err)
		}
		out = append(out, id)
	}
	return out, wrap("user identities", rows.Err())
}

// TouchIdentity records a login with the identity; see [store.Identities].
func (s *Store) TouchIdentity(ctx context.Context, l store.IdentityLogin) error {
	// MySQL counts only rows whose values change: look the row up instead
	// of trusting the affected count.
	err := s.write(ctx, func(q querier) error {
		var uid string
		if err := q.row(ctx, qIdentityOwner, l.Issuer, l.Subject).Scan(&uid); err != nil {
			return notFound(err)
		}
		_, err := q.exec(ctx, qIdentityTouch, s.d.instant(l.Now), l.Email, l.EmailVerified, bytes.Clone(l.Tokens), l.Issuer, l.Subject)
		return err
	})
	return wrap("touch identity", err)
}

// DeleteIdentity unlinks the identity unless it is the user's last way to
// log in (a password, another identity or a passkey). The user's row is locked first, so concurrent unlinks of one
// user's identities run one after the other; see [store.Identities].
func (s *Store) DeleteIdentity(ctx context.Context, userID, issuer, subject string) error {
	err := s.write(ctx, func(q querier) error {
		u := new(store.User)
		if err := q.row(ctx, qUserByIDLock, userID).Scan(s.userDest(u)...); err != nil {
			return notFound(err)
		}
		var owner string
		if err := q.row(ctx, qIdentityOwner, issuer, subject).Scan(&owner); err != nil {
			return notFound(err)
		}
		if owner != userID {
			return store.ErrNotFound
		}
		if u.PasswordHash == "" {
			var n, keys int
			if err := q.row(ctx, qIdentityCount, userID).Scan(&n); err != nil {
				return err
			}
			if err := q.row(ctx, qPasskeyCount, userID).Scan(&keys); err != nil {
				return err
			}
			if n <= 1 && keys == 0 {
				return store.ErrLastLogin
			}
		}
		_, err := q.exec(ctx, qIdentityDelete, issuer, subject, userID)
		return err
	})
	return wrap("delete identity", err)
}

// PutFlow stores f; see [store.Identities].
func (s *Store) PutFlow(ctx context.Context, f *store.FederationFlow) error {
	_, err := s.writeOne(ctx, qFlowInsert, bytes.Clone(f.Hash), bytes.Clone(f.Binding), f.Provider, f.ReturnTo, f.UserID,
		s.d.nullable(f.CreatedAt), s.d.instant(f.ExpiresAt))
	return wrap("put flow", conflict(err))
}

// TakeFlow reads the flow and deletes it, live, in one transaction; the
// caller whose DELETE removed the row is the one that took it; see
// [store.Identities].
func (s *Store) TakeFlow(ctx context.Context, hash []byte, now time.Time) (*store.FederationFlow, error) {
	at := s.d.instant(now)
	var f *store.FederationFlow
	err := s.write(ctx, func(q querier) error {
		f = nil
		found := new(store.FederationFlow)
		err := q.row(ctx, qFlowGet, hash).Scan(&found.Hash, &found.Binding, &found.Provider, &found.ReturnTo, &found.UserID,
			timeCol{s.d, &found.CreatedAt}, timeCol{s.d, &found.ExpiresAt})
		if err != nil {
			return notFound(err)
		}
		n, err := q.execN(ctx, qFlowDelete, hash, at)
		if err != nil {
			return err
		}
		if n == 0 {
			return store.ErrNotFound
		}
		f = found
		return nil
	})
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, wrap("take flow", store.ErrNotFound)
		}
		return nil, wrap("take flow", err)
	}
	return f, nil
}
