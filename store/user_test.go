package store_test

import (
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

func TestUserPendingEmailAt(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		pending string
		expires time.Time
		want    string
	}{
		{"none pending", "", now.Add(time.Hour), ""},
		{"pending", "new@example.com", now.Add(time.Nanosecond), "new@example.com"},
		{"expired at the instant", "new@example.com", now, ""},
		{"expired", "new@example.com", now.Add(-time.Hour), ""},
		{"no expiry known", "new@example.com", time.Time{}, "new@example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := &store.User{PendingEmail: tt.pending, PendingEmailExpiresAt: tt.expires}
			if got := u.PendingEmailAt(now); got != tt.want {
				t.Errorf("PendingEmailAt = %q, want %q", got, tt.want)
			}
		})
	}
}
