package sqlstore

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

// PutSecret stores sec, replacing any secret its user has for the same
// purpose, in one transaction. It returns [store.ErrNotFound] for an
// unknown user and [store.ErrConflict] when sec.Hash belongs to another
// stored secret (a secret may be stored again under its own hash, replacing
// itself).
func (s *Store) PutSecret(ctx context.Context, sec *store.Secret) error {
	c := *sec
	c.Hash, c.CodeHash = bytes.Clone(sec.Hash), bytes.Clone(sec.CodeHash)
	args := s.secretArgs(&c)
	err := s.write(ctx, func(q querier) error {
		// Locking the user serializes the secrets of one user, so two
		// concurrent calls for one purpose cannot both insert.
		var id string
		if err := q.row(ctx, qLockUser, c.UserID).Scan(&id); err != nil {
			return notFound(err)
		}
		if _, err := q.exec(ctx, qDeleteSecretPurpose, c.UserID, string(c.Purpose)); err != nil {
			return err
		}
		if _, err := q.exec(ctx, qInsertSecret, args...); err != nil {
			return conflict(err) // the rollback restores the replaced secret
		}
		return nil
	})
	return wrap("put secret", err)
}

// ConsumeSecret finds, checks and deletes the secret and applies the update
// c.Apply returns, all in one transaction, as [store.Secrets] describes.
// The user's row and then the secret's are locked before c.Apply runs, so
// of concurrent calls with one hash exactly one finds the secret. c.Apply
// may run more than once when the database asks for the transaction to be
// retried (a deadlock or a busy SQLite database); only the last run's
// update is kept.
func (s *Store) ConsumeSecret(ctx context.Context, c store.Consume) (*store.Secret, *store.User, error) {
	now := c.Now.UTC().Truncate(time.Microsecond) // the precision of the stored times
	var (
		sec      *store.Secret
		u        *store.User
		applyErr error
	)
	err := s.write(ctx, func(q querier) error {
		sec, u, applyErr = nil, nil, nil
		// Lock the user, then the secret: the order of every path that
		// locks both (UpdateUser's DropSecrets, PutSecret), so that they
		// cannot deadlock. The first read only finds the user.
		var userID string
		if err := q.row(ctx, qSecretOwner, c.Hash).Scan(&userID); err != nil {
			return notFound(err)
		}
		owner, err := s.lockUser(ctx, q, userID)
		if err != nil {
			return err
		}
		found := new(store.Secret)
		if err := q.row(ctx, qSecretLock, c.Hash).Scan(s.secretDest(found)...); err != nil {
			return notFound(err) // consumed or replaced meanwhile
		}
		if found.UserID != userID || !slices.Contains(c.Purposes, found.Purpose) || !now.Before(found.ExpiresAt) {
			return store.ErrNotFound
		}
		var upd *store.UserUpdate
		if c.Apply != nil {
			argSec, argUser := *found, *owner
			argSec.Hash, argSec.CodeHash = bytes.Clone(found.Hash), bytes.Clone(found.CodeHash)
			if upd, applyErr = c.Apply(&argSec, &argUser); applyErr != nil {
				return applyErr
			}
		}
		if upd != nil {
			if owner, err = s.applyUpdate(ctx, q, owner, upd, nil, false); err != nil {
				return err
			}
		}
		if _, err := q.exec(ctx, qDeleteSecret, found.Hash); err != nil {
			return err
		}
		sec, u = found, owner
		return nil
	})
	if applyErr != nil && errors.Is(err, applyErr) {
		return nil, nil, applyErr // unwrapped, as the contract says
	}
	if err != nil {
		return nil, nil, wrap("consume secret", err)
	}
	return sec, u, nil
}

// ReserveCodeAttempt spends one attempt on the short code of the user's
// secret for purpose p, as [store.Secrets] describes, and returns the secret
// with Attempts counting this one. The attempt is counted by a conditional
// UPDATE (attempts < maxAttempts), so concurrent calls never exceed the
// allowance.
func (s *Store) ReserveCodeAttempt(ctx context.Context, userID string, p store.Purpose, now time.Time, maxAttempts int) (*store.Secret, error) {
	at := s.d.instant(now)
	var sec *store.Secret
	err := s.write(ctx, func(q querier) error {
		sec = nil
		n, err := q.execN(ctx, qReserveAttempt, userID, string(p), at, maxAttempts)
		if err != nil {
			return err
		}
		found := new(store.Secret)
		if err := q.row(ctx, qCodeSecret, userID, string(p), at).Scan(s.secretDest(found)...); err != nil {
			return notFound(err)
		}
		if n == 0 {
			return store.ErrExhausted
		}
		sec = found
		return nil
	})
	if err != nil {
		return nil, wrap("reserve code attempt", err)
	}
	return sec, nil
}
