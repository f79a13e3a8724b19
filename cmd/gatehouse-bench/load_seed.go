package main

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/auth/password"
	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/sqlstore"
)

// seedAccounts creates the SQLite database at path (migrated as
// examples/server migrates it at start) and writes accts into it as
// active, verified users, through the store, before the server is
// started on that file. Registering a thousand accounts over HTTP costs a
// thousand argon2id hashes (some 15 minutes on a 2-core machine); here
// one hash of the shared password, made with h, is stored for every
// account. It is a real hash with h's parameters, so every login to any of
// these accounts still runs one full verification, and none asks for a
// rehash.
func seedAccounts(ctx context.Context, path string, accts []*account, h auth.Hasher) error {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_txlock=immediate")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if err := sqlstore.Migrate(ctx, db, sqlstore.SQLite); err != nil {
		return fmt.Errorf("seeding: %w", err)
	}
	st, err := sqlstore.New(db, sqlstore.SQLite)
	if err != nil {
		return fmt.Errorf("seeding: %w", err)
	}
	hashes := map[string]string{} // one hash per distinct password
	now := time.Now().UTC().Truncate(time.Microsecond)
	for _, a := range accts {
		email, err := auth.NormalizeEmail(a.email)
		if err != nil {
			return fmt.Errorf("seeding %s: %w", a.email, err)
		}
		hash, ok := hashes[a.pass]
		if !ok {
			if hash, err = h.Hash(password.Normalize(a.pass)); err != nil {
				return fmt.Errorf("seeding: hashing: %w", err)
			}
			hashes[a.pass] = hash
		}
		u := &store.User{
			ID: uuid.NewString(), Email: email, PasswordHash: hash,
			IsActive: true, IsVerified: true, CreatedAt: now, UpdatedAt: now,
		}
		if err := st.CreateUser(ctx, u); err != nil {
			return fmt.Errorf("seeding %s: %w", email, err)
		}
	}
	return nil
}

// floodAccounts are n accounts of one run, all with one password, not
// yet registered and without clients.
func floodAccounts(n int) []*account {
	run := newRunID()
	accts := make([]*account, n)
	for i := range accts {
		accts[i] = &account{
			email: fmt.Sprintf("load-%s-%d@example.com", run, i),
			pass:  "load-pass-" + run + "-correct-horse",
		}
	}
	return accts
}
