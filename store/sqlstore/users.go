package sqlstore

import (
	"context"
	"slices"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

// CreateUser stores u. It returns [store.ErrConflict] when u.ID or u.Email
// is already taken; the unique indexes decide between concurrent calls.
func (s *Store) CreateUser(ctx context.Context, u *store.User) error {
	args := s.userArgs(u)
	err := s.write(ctx, func(q querier) error {
		if _, err := q.exec(ctx, qCreateUser, args...); err != nil {
			return conflict(err)
		}
		_, err := q.exec(ctx, qCountAdd, 1)
		return err
	})
	return wrap("create user", err)
}

// UserByID returns the user with that ID, or [store.ErrNotFound].
func (s *Store) UserByID(ctx context.Context, id string) (*store.User, error) {
	u, err := s.userBy(ctx, qUserByID, id)
	return u, wrap("user by id", err)
}

// UserByEmail returns the user whose Email is exactly email (byte for byte:
// no case folding, no trimming), or [store.ErrNotFound].
func (s *Store) UserByEmail(ctx context.Context, email string) (*store.User, error) {
	u, err := s.userBy(ctx, qUserByEmail, email)
	return u, wrap("user by email", err)
}

func (s *Store) userBy(ctx context.Context, id qid, key string) (*store.User, error) {
	q, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	u := new(store.User)
	if err := q.row(ctx, id, key).Scan(s.userDest(u)...); err != nil {
		return nil, notFound(err)
	}
	return u, nil
}

// UpdateUser applies u to the user with that ID, with its side effects, in
// one transaction, and returns the updated user. It returns
// [store.ErrNotFound], [store.ErrConflict] or [store.ErrLastSuperuser] as
// [store.Users] describes, and then changes nothing.
func (s *Store) UpdateUser(ctx context.Context, id string, u store.UserUpdate) (*store.User, error) {
	var out *store.User
	err := s.write(ctx, func(q querier) error {
		var err error
		lockSupers := mayDemote(&u)
		var supers []string
		if lockSupers {
			if supers, err = s.lockActiveSupers(ctx, q); err != nil {
				return err
			}
		}
		cur, err := s.lockUser(ctx, q, id)
		if err != nil {
			return err
		}
		out, err = s.applyUpdate(ctx, q, cur, &u, supers, lockSupers)
		return err
	})
	return out, wrap("update user", err)
}

// mayDemote reports whether u can turn an active superuser into something
// else, so that the last-superuser guard must run.
func mayDemote(u *store.UserUpdate) bool {
	return (u.IsSuperuser != nil && !*u.IsSuperuser) || (u.IsActive != nil && !*u.IsActive)
}

func activeSuper(u *store.User) bool { return u.IsSuperuser && u.IsActive }

// lockActiveSupers write-locks every active superuser, in ID order, and
// returns their IDs. Every operation that may remove an active superuser
// takes these locks before locking its own user, so two superusers demoting
// each other run one after the other and the second sees the first's
// result.
func (s *Store) lockActiveSupers(ctx context.Context, q querier) ([]string, error) {
	rows, err := q.query(ctx, qActiveSupersLock)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// lockUser reads and write-locks the user with that ID.
func (s *Store) lockUser(ctx context.Context, q querier, id string) (*store.User, error) {
	u := new(store.User)
	if err := q.row(ctx, qUserByIDLock, id).Scan(s.userDest(u)...); err != nil {
		return nil, notFound(err)
	}
	return u, nil
}

// lastSuper reports whether removing u from the active superusers would
// leave none: u is one, and no other ID is among supers (the locked active
// superusers).
func lastSuper(u *store.User, supers []string) bool {
	if !activeSuper(u) {
		return false
	}
	return !slices.ContainsFunc(supers, func(id string) bool { return id != u.ID })
}

// applyUpdate applies upd to cur, a locked user, with its side effects.
// supers are the locked active superusers, which the caller must have
// taken (guarded true) whenever mayDemote(upd).
func (s *Store) applyUpdate(ctx context.Context, q querier, cur *store.User, upd *store.UserUpdate, supers []string, guarded bool) (*store.User, error) {
	next := *cur
	upd.Apply(&next)
	// Stored times have microsecond precision; return them as stored.
	next.TokensValidAfter = next.TokensValidAfter.Truncate(time.Microsecond)
	next.PendingEmailExpiresAt = next.PendingEmailExpiresAt.Truncate(time.Microsecond)
	next.UpdatedAt = next.UpdatedAt.Truncate(time.Microsecond)

	if activeSuper(cur) && !activeSuper(&next) {
		if !guarded {
			// Only reachable through ConsumeSecret, whose Apply decides the
			// update after the user is locked: take the guard's locks now.
			var err error
			if supers, err = s.lockActiveSupers(ctx, q); err != nil {
				return nil, err
			}
		}
		if lastSuper(cur, supers) {
			return nil, store.ErrLastSuperuser
		}
	}

	_, err := q.exec(ctx, qUpdateUser,
		next.Email, next.PendingEmail, next.PasswordHash, next.Name, next.Bio, next.ProfilePicture,
		next.IsSuperuser, next.IsActive, next.IsVerified,
		s.d.nullable(next.UpdatedAt), s.d.nullable(next.TokensValidAfter), s.d.nullable(next.PendingEmailExpiresAt), next.ID)
	if err != nil {
		return nil, conflict(err)
	}
	if upd.RevokeSessions {
		if _, err := s.revokeSessions(ctx, q, next.ID, upd.KeepSession); err != nil {
			return nil, err
		}
		if upd.KeepSession != "" {
			if _, err := q.exec(ctx, qReauthSession, s.d.instant(next.UpdatedAt), upd.KeepSession, next.ID); err != nil {
				return nil, err
			}
		}
	}
	if upd.DropSecrets {
		if _, err := q.exec(ctx, qDeleteUserSecrets, next.ID); err != nil {
			return nil, err
		}
	}
	return &next, nil
}

// DeleteUser deletes the user with all of their sessions, refresh tokens
// and secrets, in one transaction. It returns [store.ErrNotFound] for an
// unknown ID and [store.ErrLastSuperuser] when the user is the last active
// superuser.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	err := s.write(ctx, func(q querier) error {
		supers, err := s.lockActiveSupers(ctx, q)
		if err != nil {
			return err
		}
		u, err := s.lockUser(ctx, q, id)
		if err != nil {
			return err
		}
		if lastSuper(u, supers) {
			return store.ErrLastSuperuser
		}
		if _, err := s.revokeSessions(ctx, q, id, ""); err != nil {
			return err
		}
		if _, err := q.exec(ctx, qDeleteUserSecrets, id); err != nil {
			return err
		}
		if _, err := q.exec(ctx, qDeleteUser, id); err != nil {
			return err
		}
		_, err = q.exec(ctx, qCountAdd, -1)
		return err
	})
	return wrap("delete user", err)
}
