package sqlstore

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

var _ store.SecondFactors = (*Store)(nil)

func (s *Store) factorDest(f *store.Factor) []any {
	return []any{
		&f.ID, &f.UserID, (*string)(&f.Type), &f.Name, &f.Secret,
		timeCol{s.d, &f.CreatedAt}, timeCol{s.d, &f.ConfirmedAt}, timeCol{s.d, &f.LastUsedAt}, &f.LastStep,
		&f.CredentialID,
	}
}

func (s *Store) challengeDest(c *store.LoginChallenge) []any {
	return []any{
		&c.Hash, &c.UserID, &c.Binding, timeCol{s.d, &c.AuthenticatedAt}, timeCol{s.d, &c.ExpiresAt}, &c.Attempts,
	}
}

// CreateFactor stores f; see [store.Factors]. A confirmed factor also sets
// the user's has_factors, in one transaction that locks the user first.
func (s *Store) CreateFactor(ctx context.Context, f *store.Factor) error {
	args := []any{f.ID, f.UserID, string(f.Type), f.Name, bytes.Clone(f.Secret),
		s.d.nullable(f.CreatedAt), s.d.nullable(f.ConfirmedAt), s.d.nullable(f.LastUsedAt), f.LastStep,
		credentialArg(f.CredentialID)}
	if !f.Confirmed() {
		_, err := s.writeOne(ctx, qFactorInsert, args...)
		return wrap("create factor", conflict(err))
	}
	err := s.write(ctx, func(q querier) error {
		var id string
		if err := q.row(ctx, qLockUser, f.UserID).Scan(&id); err != nil {
			return notFound(err)
		}
		if _, err := q.exec(ctx, qFactorInsert, args...); err != nil {
			return conflict(err)
		}
		_, err := q.exec(ctx, qSetHasFactors, true, f.UserID)
		return err
	})
	return wrap("create factor", err)
}

// UserFactors returns the user's factors; see [store.Factors].
func (s *Store) UserFactors(ctx context.Context, userID string) ([]store.Factor, error) {
	q, err := s.read(ctx)
	if err != nil {
		return nil, wrap("user factors", err)
	}
	rows, err := q.query(ctx, qFactorsOfUser, userID)
	if err != nil {
		return nil, wrap("user factors", err)
	}
	defer rows.Close()
	var out []store.Factor
	for rows.Next() {
		var f store.Factor
		if err := rows.Scan(s.factorDest(&f)...); err != nil {
			return nil, wrap("user factors", err)
		}
		out = append(out, f)
	}
	return out, wrap("user factors", rows.Err())
}

// UseFactor advances the factor's last accepted step with one conditional
// UPDATE (last_step < the new step), so of concurrent calls with one step
// exactly one passes; see [store.Factors]. Confirming a pending factor
// also sets the user's has_factors: then the user is locked before the
// factor, in the order every transaction takes them (a user's deletion
// locks the user and then, by cascade, the factors).
func (s *Store) UseFactor(ctx context.Context, u store.FactorUse) (*store.Factor, error) {
	now := s.d.instant(u.Now)
	var f *store.Factor
	err := s.write(ctx, func(q querier) error {
		f = nil
		found := new(store.Factor)
		if err := q.row(ctx, qFactorByID, u.ID, u.UserID).Scan(s.factorDest(found)...); err != nil {
			return notFound(err)
		}
		pending := !found.Confirmed()
		if pending {
			var id string
			if err := q.row(ctx, qLockUser, u.UserID).Scan(&id); err != nil {
				return notFound(err)
			}
		}
		n, err := q.execN(ctx, qFactorUse, u.Step, now, now, u.ID, u.UserID, u.Step)
		if err != nil {
			return err
		}
		if n == 0 {
			// A later step was accepted, or the factor is gone: either way
			// this code cannot be used.
			return store.ErrReplayed
		}
		if pending {
			if _, err := q.exec(ctx, qSetHasFactors, true, u.UserID); err != nil {
				return err
			}
		}
		if err := q.row(ctx, qFactorByID, u.ID, u.UserID).Scan(s.factorDest(found)...); err != nil {
			return notFound(err)
		}
		f = found
		return nil
	})
	if err != nil {
		return nil, wrap("use factor", err)
	}
	return f, nil
}

// DeleteFactor deletes one factor and recomputes the user's has_factors,
// in one transaction that locks the user first; see [store.Factors].
func (s *Store) DeleteFactor(ctx context.Context, userID, id string) error {
	err := s.write(ctx, func(q querier) error {
		var uid string
		if err := q.row(ctx, qLockUser, userID).Scan(&uid); err != nil {
			return notFound(err)
		}
		n, err := q.execN(ctx, qFactorDelete, id, userID)
		if err != nil {
			return err
		}
		if n == 0 {
			return store.ErrNotFound
		}
		_, err = q.exec(ctx, qSyncHasFactors, userID, userID)
		return err
	})
	return wrap("delete factor", err)
}

// DeleteUserFactors deletes the user's factors, recovery codes and
// challenges and clears their has_factors, in one transaction; see
// [store.Factors].
func (s *Store) DeleteUserFactors(ctx context.Context, userID string) (int, error) {
	var n int64
	err := s.write(ctx, func(q querier) error {
		// The user first: the lock order of every transaction.
		if _, err := q.exec(ctx, qSetHasFactors, false, userID); err != nil {
			return err
		}
		var err error
		if n, err = q.execN(ctx, qFactorsDeleteUser, userID); err != nil {
			return err
		}
		if _, err := q.exec(ctx, qRecoveryDeleteUser, userID); err != nil {
			return err
		}
		_, err = q.exec(ctx, qChallengesDeleteUser, userID)
		return err
	})
	if err != nil {
		return 0, wrap("delete user factors", err)
	}
	return int(n), nil
}

// ReplaceRecoveryCodes replaces the user's recovery codes in one
// transaction; see [store.RecoveryCodes].
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes [][]byte) error {
	seen := make(map[string]bool, len(hashes))
	for _, h := range hashes {
		if seen[string(h)] {
			return wrap("replace recovery codes", fmt.Errorf("duplicate hash: %w", store.ErrConflict))
		}
		seen[string(h)] = true
	}
	err := s.write(ctx, func(q querier) error {
		var id string
		if err := q.row(ctx, qLockUser, userID).Scan(&id); err != nil {
			return notFound(err)
		}
		if _, err := q.exec(ctx, qRecoveryDeleteUser, userID); err != nil {
			return err
		}
		for _, h := range hashes {
			if _, err := q.exec(ctx, qRecoveryInsert, userID, bytes.Clone(h)); err != nil {
				return conflict(err)
			}
		}
		return nil
	})
	return wrap("replace recovery codes", err)
}

// ConsumeRecoveryCode deletes one code and counts the rest; see
// [store.RecoveryCodes].
func (s *Store) ConsumeRecoveryCode(ctx context.Context, userID string, hash []byte) (int, error) {
	var left int
	err := s.write(ctx, func(q querier) error {
		n, err := q.execN(ctx, qRecoveryDelete, userID, hash)
		if err != nil {
			return err
		}
		if n == 0 {
			return store.ErrNotFound
		}
		return q.row(ctx, qRecoveryCount, userID).Scan(&left)
	})
	if err != nil {
		return 0, wrap("consume recovery code", err)
	}
	return left, nil
}

// CountRecoveryCodes counts the user's codes; see [store.RecoveryCodes].
func (s *Store) CountRecoveryCodes(ctx context.Context, userID string) (int, error) {
	q, err := s.read(ctx)
	if err != nil {
		return 0, wrap("count recovery codes", err)
	}
	var n int
	err = q.row(ctx, qRecoveryCount, userID).Scan(&n)
	return n, wrap("count recovery codes", err)
}

// PutChallenge stores c; see [store.Challenges].
func (s *Store) PutChallenge(ctx context.Context, c *store.LoginChallenge) error {
	_, err := s.writeOne(ctx, qChallengeInsert, bytes.Clone(c.Hash), c.UserID, bytes.Clone(c.Binding),
		s.d.nullable(c.AuthenticatedAt), s.d.instant(c.ExpiresAt), c.Attempts)
	return wrap("put challenge", conflict(err))
}

// ReserveChallengeAttempt spends one attempt with a conditional UPDATE
// (attempts < maxAttempts); see [store.Challenges].
func (s *Store) ReserveChallengeAttempt(ctx context.Context, hash []byte, now time.Time, maxAttempts int) (*store.LoginChallenge, *store.User, error) {
	at := s.d.instant(now)
	var (
		c *store.LoginChallenge
		u *store.User
	)
	err := s.write(ctx, func(q querier) error {
		c, u = nil, nil
		n, err := q.execN(ctx, qChallengeReserve, hash, at, maxAttempts)
		if err != nil {
			return err
		}
		fc, fu := new(store.LoginChallenge), new(store.User)
		if err := q.row(ctx, qChallengeGet, hash, at).Scan(append(s.challengeDest(fc), s.userDest(fu)...)...); err != nil {
			return notFound(err)
		}
		if n == 0 {
			return store.ErrExhausted
		}
		c, u = fc, fu
		return nil
	})
	if err != nil {
		return nil, nil, wrap("reserve challenge attempt", err)
	}
	return c, u, nil
}

// DeleteChallenge deletes a challenge; see [store.Challenges].
func (s *Store) DeleteChallenge(ctx context.Context, hash []byte) error {
	n, err := s.writeOne(ctx, qChallengeDelete, hash)
	if err == nil && n == 0 {
		err = store.ErrNotFound
	}
	return wrap("delete challenge", err)
}
