package auth_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/signal"
	"time"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/store/memstore"
)

// An application starts housekeeping once, in a goroutine of its own, and
// ends it with the context at shutdown.
func ExampleManager_Housekeep() {
	m, err := auth.New(auth.Config{Store: memstore.New(), Mailer: mail.Discard{}, Tokens: auth.TokenConfig{SigningKey: exampleKey}})
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.Housekeep(ctx, time.Hour) // returns when ctx ends
	}()
	// ... serve until ctx ends ...
	<-ctx.Done()
	<-done
}

// HousekeepOnce suits a scheduler of the application's own (a cron job, a
// leader-elected worker).
func ExampleManager_HousekeepOnce() {
	ctx := context.Background()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	m, err := auth.New(auth.Config{
		Store:  memstore.New(),
		Mailer: mail.Discard{},
		Tokens: auth.TokenConfig{SigningKey: exampleKey},
		Now:    func() time.Time { return now },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := m.Register(ctx, auth.Registration{Email: "ada@example.com", Password: "correct horse battery staple"}); err != nil {
		fmt.Println(err)
		return
	}
	if _, err := m.Login(ctx, "ada@example.com", "correct horse battery staple"); err != nil {
		fmt.Println(err)
		return
	}
	h, err := m.HousekeepOnce(ctx)
	fmt.Println("now:", h.Expired, err)

	now = now.Add(auth.DefaultRefreshTokenTTL) // the session has run its course
	h, err = m.HousekeepOnce(ctx)
	fmt.Println("a month later:", h.Expired, err)
	// Output:
	// now: 0 <nil>
	// a month later: 1 <nil>
}
