package memstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/memstore"
	"github.com/gatehouse-go/gatehouse/store/storetest"
)

// SECURITY.md #76: memstore passes the shared contract suite.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(*testing.T) store.Store { return memstore.New() })
}

// TestConformanceZeroValue runs the suite against the zero Store, which the
// documentation promises is ready to use.
func TestConformanceZeroValue(t *testing.T) {
	storetest.Run(t, func(*testing.T) store.Store { return new(memstore.Store) })
}

// TestCanceledContext: every method reports a context that is already done
// and changes nothing.
func TestCanceledContext(t *testing.T) {
	s := memstore.New()
	u := &store.User{ID: "u1", Email: "u1@example.com", IsActive: true}
	if err := s.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	calls := []struct {
		name string
		call func() error
	}{
		{"CreateUser", func() error { return s.CreateUser(ctx, &store.User{ID: "u2", Email: "u2@example.com"}) }},
		{"UserByID", func() error { _, err := s.UserByID(ctx, "u1"); return err }},
		{"UserByEmail", func() error { _, err := s.UserByEmail(ctx, "u1@example.com"); return err }},
		{"UpdateUser", func() error { _, err := s.UpdateUser(ctx, "u1", store.UserUpdate{UpdatedAt: now}); return err }},
		{"DeleteUser", func() error { return s.DeleteUser(ctx, "u1") }},
		{"ListUsers", func() error { _, err := s.ListUsers(ctx, store.UserQuery{}); return err }},
		{"CreateSession", func() error {
			return s.CreateSession(ctx, &store.Session{ID: "s1", UserID: "u1", ExpiresAt: now.Add(time.Hour), IdleExpiresAt: now.Add(time.Hour)}, []byte("r"))
		}},
		{"SessionUser", func() error { _, _, err := s.SessionUser(ctx, "s1"); return err }},
		{"UserSessions", func() error { _, err := s.UserSessions(ctx, "u1", now); return err }},
		{"RevokeSession", func() error { return s.RevokeSession(ctx, "u1", "s1") }},
		{"RevokeUserSessions", func() error { _, err := s.RevokeUserSessions(ctx, "u1", ""); return err }},
		{"RotateRefreshToken", func() error {
			_, _, err := s.RotateRefreshToken(ctx, store.Rotation{Old: []byte("r"), New: []byte("r2"), Now: now})
			return err
		}},
		{"PutSecret", func() error {
			return s.PutSecret(ctx, &store.Secret{Hash: []byte("h"), UserID: "u1", Purpose: store.PurposeVerifyEmail, ExpiresAt: now.Add(time.Hour)})
		}},
		{"ConsumeSecret", func() error { _, _, err := s.ConsumeSecret(ctx, store.Consume{Hash: []byte("h")}); return err }},
		{"ReserveCodeAttempt", func() error {
			_, err := s.ReserveCodeAttempt(ctx, "u1", store.PurposeVerifyEmail, now, 5)
			return err
		}},
		{"DeleteExpired", func() error { _, err := s.DeleteExpired(ctx, now); return err }},
	}
	for _, tc := range calls {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); !errors.Is(err, context.Canceled) {
				t.Errorf("err = %v, want context.Canceled", err)
			}
		})
	}
	page, err := s.ListUsers(t.Context(), store.UserQuery{})
	if err != nil || page.Total != 1 {
		t.Fatalf("ListUsers = %v, %v; want the one user", page, err)
	}
	got, err := s.UserByID(t.Context(), "u1")
	if err != nil || *got != *u {
		t.Errorf("UserByID = %+v, %v; want %+v unchanged", got, err, u)
	}
}
