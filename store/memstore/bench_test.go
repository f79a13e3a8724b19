package memstore_test

import (
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/memstore"
)

// benchStore returns a store with users users, each with one session, and
// the ID of one of those sessions.
func benchStore(b *testing.B, users int) (*memstore.Store, string) {
	b.Helper()
	s := memstore.New()
	for i := range users {
		id := fmt.Sprintf("user-%d", i)
		if err := s.CreateUser(b.Context(), &store.User{ID: id, Email: id + "@example.com", IsActive: true}); err != nil {
			b.Fatal(err)
		}
		sess := &store.Session{
			ID: fmt.Sprintf("session-%d", i), UserID: id, CreatedAt: now,
			ExpiresAt: now.Add(30 * 24 * time.Hour), IdleExpiresAt: now.Add(7 * 24 * time.Hour),
		}
		if err := s.CreateSession(b.Context(), sess, []byte(sess.ID)); err != nil {
			b.Fatal(err)
		}
	}
	return s, fmt.Sprintf("session-%d", users/2)
}

// BenchmarkSessionUser measures the lookup done on every authenticated
// request.
func BenchmarkSessionUser(b *testing.B) {
	s, id := benchStore(b, 10_000)
	ctx := b.Context()
	b.Run("Serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := s.SessionUser(ctx, id); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, _, err := s.SessionUser(ctx, id); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkRotateRefreshToken measures one refresh. Every 1000 rotations
// the session is replaced (off the clock), so the family stays realistic.
func BenchmarkRotateRefreshToken(b *testing.B) {
	s, _ := benchStore(b, 10_000)
	ctx := b.Context()
	const family = 1000
	var old, next [32]byte
	n, gen := uint64(0), 0
	session := func() {
		n++
		id := fmt.Sprintf("bench-%d", n)
		binary.BigEndian.PutUint64(old[:], n<<32)
		sess := &store.Session{
			ID: id, UserID: "user-1", CreatedAt: now,
			ExpiresAt: now.Add(30 * 24 * time.Hour), IdleExpiresAt: now.Add(7 * 24 * time.Hour),
		}
		if err := s.CreateSession(ctx, sess, old[:]); err != nil {
			b.Fatal(err)
		}
		if n > 1 {
			if err := s.RevokeSession(ctx, "user-1", fmt.Sprintf("bench-%d", n-1)); err != nil {
				b.Fatal(err)
			}
		}
		gen = 0
	}
	session()
	b.ReportAllocs()
	for b.Loop() {
		if gen == family {
			b.StopTimer()
			session()
			b.StartTimer()
		}
		gen++
		binary.BigEndian.PutUint64(next[:], n<<32|uint64(gen))
		_, _, err := s.RotateRefreshToken(ctx, store.Rotation{
			Old: old[:], New: next[:], Now: now, IdleExpiresAt: now.Add(7 * 24 * time.Hour),
		})
		if err != nil {
			b.Fatal(err)
		}
		old = next
	}
}
