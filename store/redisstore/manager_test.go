package redisstore_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/internal/testhash"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/store/memstore"
	"github.com/gatehouse-go/gatehouse/store/redisstore"
)

// TestManagersShareLimits: two Managers (two instances of an application)
// with their counters in one Redis enforce one account limit: failed logins
// spread over both reach it, and then both refuse even the right password.
func TestManagersShareLimits(t *testing.T) {
	rdb := client(t)
	counters, _ := fresh(t, rdb)
	users := memstore.New()
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i + 1)
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	newManager := func() *auth.Manager {
		m, err := auth.New(auth.Config{
			Store:    users,
			Mailer:   mail.NewCapture(),
			Tokens:   auth.TokenConfig{SigningKey: key},
			Password: auth.PasswordConfig{Hasher: testhash.Fast{}, LegacyHashers: []auth.Hasher{}},
			Limits:   auth.Limits{Store: counters, LoginFreeFailures: 4},
			Now:      func() time.Time { return now },
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Flush(context.Background()) })
		return m
	}
	a, b := newManager(), newManager()
	ctx := context.Background()
	const email, pw = "ada@example.com", "correct horse battery staple"
	if _, err := a.Register(ctx, auth.Registration{Email: email, Password: pw}); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		m := []*auth.Manager{a, b}[i%2]
		if _, err := m.Login(ctx, email, "wrong password, attempt"); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Fatalf("failure %d: %v", i+1, err)
		}
	}
	for name, m := range map[string]*auth.Manager{"A": a, "B": b} {
		_, err := m.Login(ctx, email, pw)
		var te *auth.ThrottledError
		if !errors.Is(err, auth.ErrThrottled) || !errors.As(err, &te) || te.RetryAfter <= 0 {
			t.Fatalf("instance %s after 4 failures spread over both: %v, want ErrThrottled", name, err)
		}
	}
	now = now.Add(time.Hour)
	if _, err := b.Login(ctx, email, pw); err != nil {
		t.Fatalf("an hour later: %v", err)
	}
}

// TestUnreachableFailsClosed: without Redis, a login fails with the
// store's error rather than run unthrottled.
func TestUnreachableFailsClosed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	defer rdb.Close()
	counters, err := redisstore.New(rdb, redisstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i + 1)
	}
	m, err := auth.New(auth.Config{
		Store:    memstore.New(),
		Mailer:   mail.NewCapture(),
		Tokens:   auth.TokenConfig{SigningKey: key},
		Password: auth.PasswordConfig{Hasher: testhash.Fast{}, LegacyHashers: []auth.Hasher{}},
		Limits:   auth.Limits{Store: counters},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Flush(context.Background())
	ctx := context.Background()
	const email, pw = "ada@example.com", "correct horse battery staple"
	// The account need not exist: its counter is keyed on the email
	// whether or not it does.
	for _, p := range []string{pw, "wrong password"} {
		res, err := m.Login(ctx, email, p)
		if err == nil || res != nil || errors.Is(err, auth.ErrInvalidCredentials) {
			t.Fatalf("login with Redis down: %v, %v; want the store's error", res, err)
		}
	}
}
