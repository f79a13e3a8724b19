package sqlstore

import (
	"bytes"
	"context"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

var (
	_ store.Passkeys   = (*Store)(nil)
	_ store.Ceremonies = (*Store)(nil)
)

// credentialArg is a factor's credential ID as a column value: NULL for
// factors without one, so that the unique index admits any number of them.
func credentialArg(id []byte) any {
	if len(id) == 0 {
		return nil
	}
	return bytes.Clone(id)
}

// PasskeyByCredentialID finds a passkey by its credential ID through the
// unique index, with its user; see [store.Passkeys].
func (s *Store) PasskeyByCredentialID(ctx context.Context, id []byte) (*store.Factor, *store.User, error) {
	if len(id) == 0 {
		return nil, nil, wrap("passkey by credential id", store.ErrNotFound)
	}
	q, err := s.read(ctx)
	if err != nil {
		return nil, nil, wrap("passkey by credential id", err)
	}
	f, u := new(store.Factor), new(store.User)
	if err := q.row(ctx, qPasskeyByCredential, id).Scan(append(s.factorDest(f), s.userDest(u)...)...); err != nil {
		return nil, nil, wrap("passkey by credential id", notFound(err))
	}
	return f, u, nil
}

// UsePasskey advances the passkey's signature counter with one
// conditional UPDATE, so of concurrent calls with one counter exactly one
// passes; see [store.Passkeys].
func (s *Store) UsePasskey(ctx context.Context, u store.PasskeyUse) (*store.Factor, error) {
	now := s.d.instant(u.Now)
	same := int64(-1) // matches no stored counter
	if u.SignCount == 0 {
		same = 0
	}
	var f *store.Factor
	err := s.write(ctx, func(q querier) error {
		f = nil
		found := new(store.Factor)
		if err := q.row(ctx, qPasskeyGet, u.ID, u.UserID).Scan(s.factorDest(found)...); err != nil {
			return notFound(err)
		}
		n, err := q.execN(ctx, qPasskeyUse, u.SignCount, now, u.ID, u.UserID, u.SignCount, same)
		if err != nil {
			return err
		}
		// MySQL counts changed rows, not matched ones: a counterless use
		// at the instant of the last one changes nothing, yet is allowed.
		if n == 0 && !(u.SignCount == 0 && found.LastStep == 0) {
			return store.ErrReplayed
		}
		if err := q.row(ctx, qPasskeyGet, u.ID, u.UserID).Scan(s.factorDest(found)...); err != nil {
			return notFound(err)
		}
		f = found
		return nil
	})
	if err != nil {
		return nil, wrap("use passkey", err)
	}
	return f, nil
}

// PutCeremony stores c; see [store.Ceremonies].
func (s *Store) PutCeremony(ctx context.Context, c *store.Ceremony) error {
	_, err := s.writeOne(ctx, qCeremonyInsert, bytes.Clone(c.Hash), c.Purpose, c.UserID, bytes.Clone(c.Data),
		s.d.nullable(c.CreatedAt), s.d.instant(c.ExpiresAt))
	return wrap("put ceremony", conflict(err))
}

// TakeCeremony reads the ceremony and deletes it; the delete that affects
// the row is its one use. See [store.Ceremonies].
func (s *Store) TakeCeremony(ctx context.Context, hash []byte, now time.Time) (*store.Ceremony, error) {
	var c *store.Ceremony
	err := s.write(ctx, func(q querier) error {
		c = nil // an expired ceremony is deleted, committed, and not returned
		found := new(store.Ceremony)
		err := q.row(ctx, qCeremonyGet, hash).Scan(&found.Hash, &found.Purpose, &found.UserID, &found.Data,
			timeCol{s.d, &found.CreatedAt}, timeCol{s.d, &found.ExpiresAt})
		if err != nil {
			return notFound(err)
		}
		n, err := q.execN(ctx, qCeremonyDelete, hash)
		if err != nil {
			return err
		}
		if n == 0 {
			return store.ErrNotFound
		}
		if now.Before(found.ExpiresAt) {
			c = found
		}
		return nil
	})
	if err == nil && c == nil {
		err = store.ErrNotFound
	}
	if err != nil {
		return nil, wrap("take ceremony", err)
	}
	return c, nil
}
