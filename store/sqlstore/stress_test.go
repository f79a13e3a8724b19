package sqlstore_test

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

// TestConcurrentMix runs the operations that lock the same user's rows in
// different combinations (logins, rotations, revocations, secrets consumed
// with an update that revokes sessions and drops secrets, profile updates,
// purges) at once on one user. Whatever the database does to settle them
// (row locks, deadlock detection, SQLite's write lock), callers only ever
// see the contract's errors: deadlocks and busy databases are retried
// inside the store.
func TestConcurrentMix(t *testing.T) {
	for _, tdb := range dialects() {
		if tdb.name == "SQLiteMemory" {
			continue
		}
		t.Run(tdb.name, func(t *testing.T) {
			s := newStore(t, tdb.open(t), tdb.dialect)
			ctx := t.Context()
			u := benchUser(1)
			u.IsSuperuser = true
			if err := s.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
			other := benchUser(2)
			other.IsSuperuser = true
			if err := s.CreateUser(ctx, other); err != nil {
				t.Fatal(err)
			}
			const rounds = 15
			hash := func(parts ...any) []byte {
				h := sha256.Sum256(fmt.Append(nil, parts...))
				return h[:]
			}
			var (
				mu     sync.Mutex
				failed []error
			)
			// check records err unless it is one the contract allows here.
			check := func(op string, err error, allowed ...error) {
				if err == nil {
					return
				}
				for _, a := range allowed {
					if errors.Is(err, a) {
						return
					}
				}
				mu.Lock()
				failed = append(failed, fmt.Errorf("%s: %w", op, err))
				mu.Unlock()
			}
			now := benchBase.Add(time.Minute)
			var wg sync.WaitGroup
			for w := range 4 { // logins that refresh twice and log out
				wg.Go(func() {
					for r := range rounds {
						n := 1000*w + r
						sess := benchSession(n, u.ID)
						if err := s.CreateSession(ctx, sess, hash("r", n, 0)); err != nil {
							check("CreateSession", err)
							continue
						}
						for gen := range 2 {
							_, _, err := s.RotateRefreshToken(ctx, store.Rotation{Old: hash("r", n, gen), New: hash("r", n, gen+1), Now: now, IdleExpiresAt: now.Add(time.Hour)})
							check("RotateRefreshToken", err, store.ErrNotFound) // revoked meanwhile
						}
						check("RevokeSession", s.RevokeSession(ctx, u.ID, sess.ID), store.ErrNotFound)
					}
				})
			}
			for w := range 2 { // password resets
				wg.Go(func() {
					for r := range rounds {
						sec := &store.Secret{Hash: hash("s", w, r), Purpose: store.PurposeResetPassword, UserID: u.ID, CreatedAt: benchBase, ExpiresAt: now.Add(time.Hour)}
						if err := s.PutSecret(ctx, sec); err != nil {
							check("PutSecret", err)
							continue
						}
						_, _, err := s.ConsumeSecret(ctx, store.Consume{Hash: sec.Hash, Purposes: []store.Purpose{store.PurposeResetPassword}, Now: now,
							Apply: func(*store.Secret, *store.User) (*store.UserUpdate, error) {
								pw := fmt.Sprint("hash ", w, r)
								return &store.UserUpdate{PasswordHash: &pw, UpdatedAt: now, RevokeSessions: true, DropSecrets: true}, nil
							}})
						check("ConsumeSecret", err, store.ErrNotFound) // replaced or dropped by the other resetter
					}
				})
			}
			wg.Go(func() { // profile updates and demotion attempts
				for r := range rounds {
					name := fmt.Sprint("name ", r)
					_, err := s.UpdateUser(ctx, u.ID, store.UserUpdate{Name: &name, UpdatedAt: now, DropSecrets: r%2 == 0, RevokeSessions: r%3 == 0})
					check("UpdateUser", err)
					demote, promote := false, true
					_, err = s.UpdateUser(ctx, other.ID, store.UserUpdate{IsSuperuser: &demote, UpdatedAt: now})
					check("UpdateUser demote", err, store.ErrLastSuperuser)
					_, err = s.UpdateUser(ctx, other.ID, store.UserUpdate{IsSuperuser: &promote, UpdatedAt: now})
					check("UpdateUser promote", err)
				}
			})
			wg.Go(func() { // purges
				for range rounds {
					_, err := s.DeleteExpired(ctx, now)
					check("DeleteExpired", err)
				}
			})
			wg.Wait()
			for _, err := range failed {
				t.Error(err)
			}
			// Both superusers are still there and active.
			for _, id := range []string{u.ID, other.ID} {
				got, err := s.UserByID(ctx, id)
				if err != nil || !got.IsSuperuser || !got.IsActive {
					t.Errorf("UserByID(%s) = %+v, %v; want an active superuser", id, got, err)
				}
			}
		})
	}
}
