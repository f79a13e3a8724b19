package sqlstore_test

import (
	"errors"
	"testing"

	"github.com/gatehouse-go/gatehouse/store"
)

// TestTotalCounter: ListUsers' Total without a filter comes from a counter
// row, which must follow every way users come and go, and not move when an
// operation is refused and rolled back.
func TestTotalCounter(t *testing.T) {
	for _, tdb := range dialects() {
		t.Run(tdb.name, func(t *testing.T) {
			ctx := t.Context()
			s := newStore(t, tdb.open(t), tdb.dialect)
			total := func(want int, after string) {
				t.Helper()
				page, err := s.ListUsers(ctx, store.UserQuery{})
				if err != nil {
					t.Fatalf("ListUsers: %v", err)
				}
				if page.Total != want || len(page.Users) != want {
					t.Errorf("after %s: Total = %d with %d users listed, want %d", after, page.Total, len(page.Users), want)
				}
			}
			total(0, "nothing")
			for i := 1; i <= 3; i++ {
				u := benchUser(i)
				u.IsSuperuser = i == 1
				if err := s.CreateUser(ctx, u); err != nil {
					t.Fatal(err)
				}
			}
			total(3, "three CreateUser")
			dup := benchUser(4)
			dup.Email = benchUser(1).Email
			if err := s.CreateUser(ctx, dup); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("CreateUser with a taken email: %v", err)
			}
			total(3, "a refused CreateUser")
			if err := s.DeleteUser(ctx, benchUser(1).ID); !errors.Is(err, store.ErrLastSuperuser) {
				t.Fatalf("DeleteUser of the last superuser: %v", err)
			}
			if err := s.DeleteUser(ctx, "unknown"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("DeleteUser(unknown): %v", err)
			}
			total(3, "refused DeleteUser calls")
			if err := s.DeleteUser(ctx, benchUser(2).ID); err != nil {
				t.Fatal(err)
			}
			total(2, "a DeleteUser")
		})
	}
}
