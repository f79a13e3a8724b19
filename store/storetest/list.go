package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

// listCreationOrder creates users 1-7 out of email order.
var listCreationOrder = []int{4, 1, 7, 3, 6, 2, 5}

// listFixture stores users 1-7 and returns them in email order, as
// ListUsers must list them.
func listFixture(tb testing.TB, s store.Store) []store.User {
	tb.Helper()
	for _, n := range listCreationOrder {
		u := newUser(n)
		u.CreatedAt = at(time.Duration(n) * time.Minute).In(elsewhere)
		mustCreateUser(tb, s, u)
	}
	want := make([]store.User, 0, len(listCreationOrder))
	for n := 1; n <= len(listCreationOrder); n++ {
		u := newUser(n)
		u.CreatedAt = at(time.Duration(n) * time.Minute)
		want = append(want, *u)
	}
	return want
}

func summaries(users []store.User) []store.UserSummary {
	out := make([]store.UserSummary, len(users))
	for i, u := range users {
		out[i] = store.UserSummary{User: u}
	}
	return out
}

func listTests() []test {
	// between1And2 sorts after email(1) and before email(2), in byte order
	// and in collations that ignore punctuation alike.
	const between1And2 = "user001z@example.com"
	cases := []struct {
		name  string
		query store.UserQuery
		want  func(all []store.User) []store.User
		total int
	}{
		{"All", store.UserQuery{}, func(all []store.User) []store.User { return all }, 7},
		{"Limit", store.UserQuery{Limit: 3}, func(all []store.User) []store.User { return all[:3] }, 7},
		{"Offset", store.UserQuery{Offset: 2, Limit: 3}, func(all []store.User) []store.User { return all[2:5] }, 7},
		{"OffsetToEnd", store.UserQuery{Offset: 5}, func(all []store.User) []store.User { return all[5:] }, 7},
		{"After", store.UserQuery{After: email(3)}, func(all []store.User) []store.User { return all[3:] }, 7},
		{"AfterNonMember", store.UserQuery{After: between1And2}, func(all []store.User) []store.User { return all[1:] }, 7},
		{"AfterWithLimit", store.UserQuery{After: email(2), Limit: 2}, func(all []store.User) []store.User { return all[2:4] }, 7},
		{"AfterWithOffset", store.UserQuery{After: email(2), Offset: 2, Limit: 2}, func(all []store.User) []store.User { return all[4:6] }, 7},
		{"AfterLast", store.UserQuery{After: email(7)}, func([]store.User) []store.User { return nil }, 7},
		{"PastEnd", store.UserQuery{Offset: 7, Limit: 5}, func([]store.User) []store.User { return nil }, 7},
		{"FarPastEnd", store.UserQuery{Offset: 1000}, func([]store.User) []store.User { return nil }, 7},
		{"IDs", store.UserQuery{IDs: []string{userID(5), unknownID, userID(1), userID(3)}}, func(all []store.User) []store.User {
			return []store.User{all[0], all[2], all[4]}
		}, 3},
		{"IDsDuplicated", store.UserQuery{IDs: []string{userID(2), userID(2), userID(6)}}, func(all []store.User) []store.User {
			return []store.User{all[1], all[5]}
		}, 2},
		{"IDsWithPaging", store.UserQuery{IDs: []string{userID(6), userID(2), userID(4), userID(7)}, After: email(2), Limit: 2}, func(all []store.User) []store.User {
			return []store.User{all[3], all[5]}
		}, 4},
		{"IDsWithOffset", store.UserQuery{IDs: []string{userID(6), userID(2), userID(4), userID(7)}, Offset: 3}, func(all []store.User) []store.User {
			return []store.User{all[6]}
		}, 4},
		{"IDsAllUnknown", store.UserQuery{IDs: []string{unknownID}}, func([]store.User) []store.User { return nil }, 0},
	}
	var tests []test
	for _, tc := range cases {
		tests = append(tests, test{name: tc.name, run: func(t *testing.T, s store.Store) {
			all := listFixture(t, s)
			page, err := s.ListUsers(t.Context(), tc.query)
			if err != nil {
				t.Fatalf("ListUsers(%+v): %v", tc.query, err)
			}
			if page == nil {
				t.Fatal("ListUsers returned a nil page")
			}
			checkEqual(t, "Users", page.Users, summaries(tc.want(all)))
			if page.Total != tc.total {
				t.Errorf("Total = %d, want %d", page.Total, tc.total)
			}
		}})
	}
	return append(tests,
		test{name: "Empty", run: testListEmpty},
		test{name: "DefaultLimit", run: testListDefaultLimit},
		test{name: "KeysetWalk", run: testListKeysetWalk},
		test{name: "SessionCounts", run: testListSessionCounts},
	)
}

func testListEmpty(t *testing.T, s store.Store) {
	page, err := s.ListUsers(t.Context(), store.UserQuery{})
	if err != nil {
		t.Fatalf("ListUsers: %v", err)
	}
	if len(page.Users) != 0 || page.Total != 0 {
		t.Errorf("ListUsers on an empty store = %d users, Total %d; want none, 0", len(page.Users), page.Total)
	}
}

// testListDefaultLimit: a Limit of zero or below means 100.
func testListDefaultLimit(t *testing.T, s store.Store) {
	const n = 105
	for i := n; i >= 1; i-- {
		mustCreateUser(t, s, newUser(i))
	}
	for _, limit := range []int{0, -1} {
		t.Run(fmt.Sprint("Limit", limit), func(t *testing.T) {
			page, err := s.ListUsers(t.Context(), store.UserQuery{Limit: limit})
			if err != nil {
				t.Fatalf("ListUsers: %v", err)
			}
			if len(page.Users) != 100 || page.Total != n {
				t.Fatalf("ListUsers(Limit %d) = %d users, Total %d; want 100, %d", limit, len(page.Users), page.Total, n)
			}
			for i, sum := range page.Users {
				if sum.User.Email != email(i+1) {
					t.Fatalf("Users[%d].Email = %s, want %s", i, sum.User.Email, email(i+1))
				}
			}
		})
	}
}

// testListKeysetWalk pages through all users with After and checks that
// every user appears exactly once, in order.
func testListKeysetWalk(t *testing.T, s store.Store) {
	all := listFixture(t, s)
	var got []store.UserSummary
	after := ""
	for range len(all) + 1 {
		page, err := s.ListUsers(t.Context(), store.UserQuery{After: after, Limit: 3})
		if err != nil {
			t.Fatalf("ListUsers(After %q): %v", after, err)
		}
		if page.Total != len(all) {
			t.Errorf("ListUsers(After %q).Total = %d, want %d", after, page.Total, len(all))
		}
		if len(page.Users) == 0 {
			break
		}
		got = append(got, page.Users...)
		after = page.Users[len(page.Users)-1].User.Email
	}
	checkEqual(t, "all pages", got, summaries(all))
}

// testListSessionCounts: Sessions counts the sessions each user has.
func testListSessionCounts(t *testing.T, s store.Store) {
	mustCreateUser(t, s, newUser(1))
	mustCreateUser(t, s, newUser(2))
	mustCreateUser(t, s, newUser(3))
	mustCreateSession(t, s, newSession(1, userID(1), base), refresh(1, 0))
	mustCreateSession(t, s, newSession(2, userID(1), at(time.Hour)), refresh(2, 0))
	mustCreateSession(t, s, newSession(3, userID(1), at(2*time.Hour)), refresh(3, 0))
	mustCreateSession(t, s, newSession(4, userID(3), base), refresh(4, 0))
	if err := s.RevokeSession(t.Context(), userID(1), sessionID(3)); err != nil {
		t.Fatalf("RevokeSession: %v", err)
	}
	page, err := s.ListUsers(t.Context(), store.UserQuery{})
	if err != nil {
		t.Fatalf("ListUsers: %v", err)
	}
	want := []int{2, 0, 1}
	if len(page.Users) != len(want) {
		t.Fatalf("ListUsers = %d users, want %d", len(page.Users), len(want))
	}
	for i, sum := range page.Users {
		if sum.User.ID != userID(i+1) || sum.Sessions != want[i] {
			t.Errorf("Users[%d] = %s with %d sessions, want %s with %d", i, sum.User.ID, sum.Sessions, userID(i+1), want[i])
		}
	}
	u := newUser(1)
	u.LastLoginAt = at(2 * time.Hour)
	checkEqual(t, "Users[0].User", &page.Users[0].User, u)
}
