package sqlstore_test

import (
	"context"
	"crypto/rand"
	"testing"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/internal/testhash"
	"github.com/gatehouse-go/gatehouse/mail"
)

// BenchmarkManagerAuthenticateSessionCache is Authenticate of one access
// token, with the session cache off (a store read per call, the default)
// and on, same run. Compare the two ns/op: the ratio is the cache's gain.
// queries/op on PostgreSQL shows the store reads that remain.
func BenchmarkManagerAuthenticateSessionCache(b *testing.B) {
	for _, bdb := range benchDBs[:2] {
		for _, mode := range []string{"off", "on"} {
			b.Run(bdb.name+"/cache="+mode, func(b *testing.B) {
				db, queries := bdb.open(b)
				key := make([]byte, 32)
				rand.Read(key)
				cfg := auth.Config{
					Store:    newStore(b, db, bdb.dialect),
					Mailer:   mail.Discard{},
					Tokens:   auth.TokenConfig{SigningKey: key},
					Password: auth.PasswordConfig{Hasher: testhash.Fast{}, LegacyHashers: []auth.Hasher{}},
				}
				if mode == "on" {
					cfg.SessionCache = auth.SessionCacheConfig{Invalidator: auth.LocalInvalidator{}}
				}
				m, err := auth.New(cfg)
				if err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithCancel(b.Context())
				done := make(chan struct{})
				go func() { m.ListenInvalidations(ctx); close(done) }()
				b.Cleanup(func() { cancel(); <-done })
				if _, err := m.Register(ctx, auth.Registration{Email: benchEmail, Password: benchPassword}); err != nil {
					b.Fatal(err)
				}
				res, err := m.Login(ctx, benchEmail, benchPassword)
				if err != nil {
					b.Fatal(err)
				}
				tok := res.Tokens.AccessToken
				for range 2 { // warm: the verified-token cache, and the session cache once subscribed
					if _, err := m.Authenticate(ctx, tok); err != nil {
						b.Fatal(err)
					}
				}
				var before int64
				if queries != nil {
					before = queries.Load()
				}
				b.ReportAllocs()
				for b.Loop() {
					if _, err := m.Authenticate(ctx, tok); err != nil {
						b.Fatal(err)
					}
				}
				reportQueries(b, queries, before)
			})
		}
	}
}
