package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // the application picks the driver

	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/sqlstore"
)

// An application opens its database with its own driver, migrates it at
// start and hands the Store to auth.New.
func ExampleNew() {
	dir, err := os.MkdirTemp("", "gatehouse-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "gatehouse.db")+
		"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	ctx := context.Background()
	if err := sqlstore.Migrate(ctx, db, sqlstore.SQLite); err != nil {
		log.Fatal(err)
	}
	s, err := sqlstore.New(db, sqlstore.SQLite)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	// auth.New(auth.Config{Store: s, ...}) would take it from here.

	err = s.CreateUser(ctx, &store.User{ID: "a0000000-0000-4000-8000-000000000001", Email: "ada@example.com", IsActive: true})
	if err != nil {
		log.Fatal(err)
	}
	u, err := s.UserByEmail(ctx, "ada@example.com")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(u.ID, u.IsActive)
	// Output: a0000000-0000-4000-8000-000000000001 true
}

// An application purges expired sessions and secrets every hour from a
// goroutine of its own, which stops with the application; the Store itself
// never starts one.
func ExampleStore_DeleteExpired() {
	db, err := sql.Open("sqlite", "file:gatehouse.db?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_txlock=immediate")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := sqlstore.Migrate(ctx, db, sqlstore.SQLite); err != nil {
		log.Fatal(err)
	}
	s, err := sqlstore.New(db, sqlstore.SQLite)
	if err != nil {
		log.Fatal(err)
	}

	go func() {
		tick := time.NewTicker(time.Hour)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-tick.C:
				n, err := s.DeleteExpired(ctx, now)
				if err != nil {
					slog.Error("purging expired sessions and secrets", "err", err)
					continue
				}
				slog.Info("purged expired sessions and secrets", "deleted", n)
			}
		}
	}()

	// … serve requests with auth.New(auth.Config{Store: s, …}) until ctx ends.
	<-ctx.Done()
}
