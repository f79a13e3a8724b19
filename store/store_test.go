package store_test

import (
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

var (
	t0        = time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)
	elsewhere = time.FixedZone("UTC-03:00", -3*60*60)
)

func ptr[T any](v T) *T { return &v }

// before is the user every Apply case starts from.
func before() store.User {
	return store.User{
		ID:               "a0000000-0000-4000-8000-000000000001",
		Email:            "ada@example.com",
		PendingEmail:     "pending@example.com",
		PasswordHash:     "$argon2id$old",
		Name:             "Ada",
		Bio:              "Engines.",
		ProfilePicture:   "https://example.com/ada.png",
		IsSuperuser:      true,
		IsActive:         true,
		IsVerified:       true,
		CreatedAt:        t0.Add(-48 * time.Hour),
		UpdatedAt:        t0.Add(-24 * time.Hour),
		LastLoginAt:      t0.Add(-time.Hour),
		TokensValidAfter: t0.Add(-12 * time.Hour),
	}
}

func TestUserUpdateApply(t *testing.T) {
	later := t0.Add(time.Hour)
	tests := []struct {
		name   string
		update store.UserUpdate
		want   func(u *store.User) // the changes from before(), UpdatedAt aside
	}{
		{"Nothing", store.UserUpdate{}, func(*store.User) {}},
		{"Email", store.UserUpdate{Email: ptr("grace@example.com")}, func(u *store.User) { u.Email = "grace@example.com" }},
		{"PendingEmailCleared", store.UserUpdate{PendingEmail: ptr("")}, func(u *store.User) { u.PendingEmail = "" }},
		{"PasswordHash", store.UserUpdate{PasswordHash: ptr("$argon2id$new")}, func(u *store.User) { u.PasswordHash = "$argon2id$new" }},
		{"PasswordHashCleared", store.UserUpdate{PasswordHash: ptr("")}, func(u *store.User) { u.PasswordHash = "" }},
		{"Name", store.UserUpdate{Name: ptr("Grace")}, func(u *store.User) { u.Name = "Grace" }},
		{"Bio", store.UserUpdate{Bio: ptr("")}, func(u *store.User) { u.Bio = "" }},
		{"ProfilePicture", store.UserUpdate{ProfilePicture: ptr("https://example.com/g.png")}, func(u *store.User) { u.ProfilePicture = "https://example.com/g.png" }},
		{"IsSuperuser", store.UserUpdate{IsSuperuser: ptr(false)}, func(u *store.User) { u.IsSuperuser = false }},
		{"IsActive", store.UserUpdate{IsActive: ptr(false)}, func(u *store.User) { u.IsActive = false }},
		{"IsVerified", store.UserUpdate{IsVerified: ptr(false)}, func(u *store.User) { u.IsVerified = false }},
		{"TokensValidAfterInUTC", store.UserUpdate{TokensValidAfter: ptr(later.In(elsewhere))}, func(u *store.User) { u.TokensValidAfter = later }},
		{"PendingEmailExpiresAtInUTC", store.UserUpdate{PendingEmail: ptr("new@example.com"), PendingEmailExpiresAt: ptr(later.In(elsewhere))}, func(u *store.User) {
			u.PendingEmail, u.PendingEmailExpiresAt = "new@example.com", later
		}},
		{"Several", store.UserUpdate{Name: ptr("N"), IsActive: ptr(false), IsVerified: ptr(true)}, func(u *store.User) {
			u.Name, u.IsActive = "N", false
		}},
		{"SideEffectsAreNotFields", store.UserUpdate{RevokeSessions: true, KeepSession: "b0000000-0000-4000-8000-000000000001", DropSecrets: true}, func(*store.User) {}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.update.UpdatedAt = later.In(elsewhere)
			got := before()
			tc.update.Apply(&got)
			want := before()
			tc.want(&want)
			want.UpdatedAt = later
			if !equalUsers(got, want) {
				t.Fatalf("after Apply:\n got %+v\nwant %+v", got, want)
			}
			if got.UpdatedAt.Location() != time.UTC || got.TokensValidAfter.Location() != time.UTC {
				t.Fatalf("times not in UTC: UpdatedAt %v, TokensValidAfter %v", got.UpdatedAt, got.TokensValidAfter)
			}
		})
	}
	t.Run("NoAliasing", func(t *testing.T) {
		name, tva := "Grace", later
		u := store.UserUpdate{Name: &name, TokensValidAfter: &tva, UpdatedAt: later}
		got := before()
		u.Apply(&got)
		name, tva = "changed", t0
		if got.Name != "Grace" || !got.TokensValidAfter.Equal(later) {
			t.Fatalf("the user changed with the update's values: %+v", got)
		}
	})
}

// equalUsers compares users field by field, times with Equal.
func equalUsers(a, b store.User) bool {
	ta := []time.Time{a.CreatedAt, a.UpdatedAt, a.LastLoginAt, a.TokensValidAfter}
	tb := []time.Time{b.CreatedAt, b.UpdatedAt, b.LastLoginAt, b.TokensValidAfter}
	for i := range ta {
		if !ta[i].Equal(tb[i]) {
			return false
		}
	}
	a.CreatedAt, a.UpdatedAt, a.LastLoginAt, a.TokensValidAfter = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	b.CreatedAt, b.UpdatedAt, b.LastLoginAt, b.TokensValidAfter = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	return a == b
}

func TestCounterLive(t *testing.T) {
	c := store.Counter{Count: 2, Start: t0, Last: t0.Add(time.Minute), ExpiresAt: t0.Add(time.Hour)}
	tests := []struct {
		name string
		c    store.Counter
		now  time.Time
		want bool
	}{
		{"Zero", store.Counter{}, t0, false},
		{"Live", c, t0.Add(30 * time.Minute), true},
		{"JustBeforeExpiry", c, t0.Add(time.Hour - time.Nanosecond), true},
		{"AtExpiry", c, t0.Add(time.Hour), false},
		{"AfterExpiry", c, t0.Add(2 * time.Hour), false},
		{"NoHits", store.Counter{ExpiresAt: t0.Add(time.Hour)}, t0, false},
		{"OtherLocation", c, t0.Add(30 * time.Minute).In(elsewhere), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.c.Live(tc.now); got != tc.want {
				t.Fatalf("%+v.Live(%v) = %v, want %v", tc.c, tc.now, got, tc.want)
			}
		})
	}
}

func TestCounterNext(t *testing.T) {
	live := store.Counter{Count: 3, Start: t0, Last: t0.Add(10 * time.Minute), ExpiresAt: t0.Add(time.Hour)}
	tests := []struct {
		name    string
		c       store.Counter
		now     time.Time
		sliding bool
		want    store.Counter
	}{
		{"FirstHitFixed", store.Counter{}, t0, false,
			store.Counter{Count: 1, Start: t0, Last: t0, ExpiresAt: t0.Add(time.Hour)}},
		{"FirstHitSliding", store.Counter{}, t0, true,
			store.Counter{Count: 1, Start: t0, Last: t0, ExpiresAt: t0.Add(time.Hour)}},
		{"FixedKeepsItsEnd", live, t0.Add(20 * time.Minute), false,
			store.Counter{Count: 4, Start: t0, Last: t0.Add(20 * time.Minute), ExpiresAt: t0.Add(time.Hour)}},
		{"SlidingMovesItsEnd", live, t0.Add(20 * time.Minute), true,
			store.Counter{Count: 4, Start: t0, Last: t0.Add(20 * time.Minute), ExpiresAt: t0.Add(80 * time.Minute)}},
		{"JustBeforeTheEnd", live, t0.Add(time.Hour - time.Microsecond), false,
			store.Counter{Count: 4, Start: t0, Last: t0.Add(time.Hour - time.Microsecond), ExpiresAt: t0.Add(time.Hour)}},
		{"AtTheEndANewLife", live, t0.Add(time.Hour), false,
			store.Counter{Count: 1, Start: t0.Add(time.Hour), Last: t0.Add(time.Hour), ExpiresAt: t0.Add(2 * time.Hour)}},
		{"DeadRowANewLife", store.Counter{Count: 0, Start: t0, Last: t0, ExpiresAt: t0.Add(time.Hour)}, t0.Add(time.Minute), false,
			store.Counter{Count: 1, Start: t0.Add(time.Minute), Last: t0.Add(time.Minute), ExpiresAt: t0.Add(61 * time.Minute)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.c.Next(tc.now, time.Hour, tc.sliding)
			if got.Count != tc.want.Count || !got.Start.Equal(tc.want.Start) || !got.Last.Equal(tc.want.Last) || !got.ExpiresAt.Equal(tc.want.ExpiresAt) {
				t.Fatalf("Next:\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}
