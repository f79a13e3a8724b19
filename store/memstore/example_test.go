package memstore_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/memstore"
)

// A fixed clock: stores never read the time themselves.
var now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func Example() {
	ctx := context.Background()
	s := memstore.New()

	err := s.CreateUser(ctx, &store.User{
		ID:        "7f8e2c1a-0b5d-4e6f-9a3b-2c1d0e9f8a7b",
		Email:     "ada@example.com",
		Name:      "Ada",
		IsActive:  true,
		CreatedAt: now,
		UpdatedAt: now,
	})
	if err != nil {
		fmt.Println("create:", err)
		return
	}

	u, err := s.UserByEmail(ctx, "ada@example.com")
	if err != nil {
		fmt.Println("lookup:", err)
		return
	}
	fmt.Println(u.ID, u.Name, u.IsActive, u.CreatedAt.Format(time.RFC3339))
	// Output: 7f8e2c1a-0b5d-4e6f-9a3b-2c1d0e9f8a7b Ada true 2026-01-02T03:04:05Z
}

// Store errors wrap the sentinels of package store; test them with
// errors.Is.
func ExampleStore_CreateUser() {
	ctx := context.Background()
	s := memstore.New()
	_ = s.CreateUser(ctx, &store.User{ID: "u1", Email: "ada@example.com"})

	err := s.CreateUser(ctx, &store.User{ID: "u2", Email: "ada@example.com"})
	switch {
	case err == nil:
		fmt.Println("registered")
	case errors.Is(err, store.ErrConflict):
		fmt.Println("email already registered")
	default:
		fmt.Println("store failure:", err)
	}
	// Output: email already registered
}

// Presenting a refresh token that was already rotated away revokes its
// session: both the thief's copy and the newest token stop working.
func ExampleStore_RotateRefreshToken() {
	ctx := context.Background()
	s := memstore.New()
	hash := func(token string) []byte { h := sha256.Sum256([]byte(token)); return h[:] }

	_ = s.CreateUser(ctx, &store.User{ID: "u1", Email: "ada@example.com", IsActive: true})
	_ = s.CreateSession(ctx, &store.Session{
		ID: "s1", UserID: "u1", CreatedAt: now, AuthenticatedAt: now, LastUsedAt: now,
		ExpiresAt: now.Add(30 * 24 * time.Hour), IdleExpiresAt: now.Add(7 * 24 * time.Hour),
	}, hash("token-0"))

	later := now.Add(time.Hour)
	sess, _, err := s.RotateRefreshToken(ctx, store.Rotation{
		Old: hash("token-0"), New: hash("token-1"), Now: later, IdleExpiresAt: later.Add(7 * 24 * time.Hour),
	})
	fmt.Println("rotated:", err == nil, sess.LastUsedAt.Equal(later))

	_, _, err = s.RotateRefreshToken(ctx, store.Rotation{
		Old: hash("token-0"), New: hash("token-x"), Now: later.Add(time.Minute), IdleExpiresAt: later.Add(7 * 24 * time.Hour),
	})
	var reuse *store.ReuseError
	if errors.As(err, &reuse) {
		fmt.Println("reuse detected; session", reuse.SessionID, "revoked:", reuse.Revoked)
	}

	_, _, err = s.SessionUser(ctx, "s1")
	fmt.Println("session found:", !errors.Is(err, store.ErrNotFound))
	// Output:
	// rotated: true true
	// reuse detected; session s1 revoked: true
	// session found: false
}

// Applications purge expired sessions and secrets on a schedule of their
// own; the store starts no goroutines.
func ExampleStore_DeleteExpired() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := memstore.New()

	go func() {
		ticker := time.NewTicker(10 * time.Minute)
		defer ticker.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case t := <-ticker.C:
				n, err := s.DeleteExpired(ctx, t)
				if err != nil {
					slog.Error("purging expired rows", "err", err)
					continue
				}
				slog.Debug("purged expired rows", "count", n)
			}
		}
	}()
	// ... serve requests until shutdown cancels ctx.
}
