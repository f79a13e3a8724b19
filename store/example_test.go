package store_test

import (
	"fmt"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

// A store applies a partial update with UserUpdate.Apply, so that every
// store computes the same record; the checks and side effects stay its own.
func ExampleUserUpdate_Apply() {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	u := store.User{ID: "7f8e2c1a-0b5d-4e6f-9a3b-2c1d0e9f8a7b", Email: "ada@example.com", Name: "Ada", IsActive: true}

	name, active := "Ada Lovelace", false
	update := store.UserUpdate{Name: &name, IsActive: &active, UpdatedAt: at.Add(time.Hour)}
	next := u
	update.Apply(&next)

	fmt.Println(next.Email, "|", next.Name, "|", next.IsActive, "|", next.UpdatedAt.Format(time.RFC3339))
	// A store compares the two records to find what its checks need, such
	// as an active superuser losing the role.
	fmt.Println("email changed:", next.Email != u.Email)
	// Output:
	// ada@example.com | Ada Lovelace | false | 2026-01-02T04:04:05Z
	// email changed: false
}

// Counter.Next is the window policy of every store: a fixed window keeps
// its end, a sliding one moves it with each hit, and a counter whose window
// has passed starts again.
func ExampleCounter_Next() {
	at := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	show := func(what string, c store.Counter) {
		fmt.Printf("%-20s count %d, expires %s\n", what, c.Count, c.ExpiresAt.Format("15:04"))
	}

	var fixed, sliding store.Counter
	for _, m := range []time.Duration{0, 20 * time.Minute, 40 * time.Minute} {
		fixed = fixed.Next(at.Add(m), time.Hour, false)
		sliding = sliding.Next(at.Add(m), time.Hour, true)
	}
	show("fixed:", fixed)
	show("sliding:", sliding)

	later := at.Add(time.Hour)
	fmt.Println("fixed live at 04:00:", fixed.Live(later))
	show("fixed, hit at 04:00:", fixed.Next(later, time.Hour, false))
	// Output:
	// fixed:               count 3, expires 04:00
	// sliding:             count 3, expires 04:40
	// fixed live at 04:00: false
	// fixed, hit at 04:00: count 1, expires 05:00
}
