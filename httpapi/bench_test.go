package httpapi_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/httpapi"
	"github.com/gatehouse-go/gatehouse/internal/testhash"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/memstore"
)

// benchAPI returns an API over memstore and the access token of a
// logged-in user; cacheSize is auth.Config.Tokens.VerifiedCacheSize.
func benchAPI(b *testing.B, cacheSize int) (*httpapi.API, string) {
	return benchAPIOn(b, memstore.New(), cacheSize)
}

func benchAPIOn(b *testing.B, st store.Store, cacheSize int) (*httpapi.API, string) {
	b.Helper()
	m, err := auth.New(auth.Config{
		Store:    st,
		Mailer:   mail.Discard{},
		Tokens:   auth.TokenConfig{SigningKey: key, VerifiedCacheSize: cacheSize},
		Password: auth.PasswordConfig{Hasher: testhash.Fast{}, LegacyHashers: []auth.Hasher{}},
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := m.Register(ctx, auth.Registration{Email: "bench@example.com", Password: alicePW}); err != nil {
		b.Fatal(err)
	}
	res, err := m.Login(ctx, "bench@example.com", alicePW)
	if err != nil {
		b.Fatal(err)
	}
	api, err := httpapi.New(m, httpapi.Config{})
	if err != nil {
		b.Fatal(err)
	}
	return api, res.Tokens.AccessToken
}

// BenchmarkLoopback compares an authenticated GET /v2/user (token check,
// session and user read from the store, user encoded) with the same
// server's GET /v2/health, over loopback with keep-alive connections,
// with the verified-token cache off and on
// (auth.Config.Tokens.VerifiedCacheSize; on by default). Compare the paths
// with benchstat's -col /path:
//
//	go test ./httpapi -run '^$' -bench Loopback -count 10 > bench.txt
//	benchstat -col /path bench.txt
//
// On a machine shared with other work, compare cpu-ns/op (the process's
// CPU time per request, client included) rather than sec/op and req/s.
//
// The store=sqlite runs do the same over an SQLite file through sqlstore.
func BenchmarkLoopback(b *testing.B) {
	for _, st := range []string{"memstore", "sqlite"} {
		for _, cache := range []struct {
			name string
			size int
		}{{"cache=off", -1}, {"cache=on", 0}} { // 0: the default, on
			b.Run("store="+st+"/"+cache.name, func(b *testing.B) {
				s := store.Store(memstore.New())
				if st == "sqlite" {
					s = openSQLite(b)
				}
				benchLoopback(b, s, cache.size)
			})
		}
	}
}

func benchLoopback(b *testing.B, st store.Store, cacheSize int) {
	api, token := benchAPIOn(b, st, cacheSize)
	srv := httptest.NewServer(api)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer client.CloseIdleConnections()

	for _, bc := range []struct{ name, path, token string }{
		{"path=health", "/v2/health", ""},
		{"path=user", "/v2/user", token},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetParallelism(4)
			cpu0, cpuOK := cpuTime()
			b.RunParallel(func(pb *testing.PB) {
				req, err := http.NewRequest("GET", srv.URL+bc.path, nil)
				if err != nil {
					b.Error(err)
					return
				}
				req.Header.Set("Content-Type", "application/json")
				if bc.token != "" {
					req.Header.Set("Authorization", "Bearer "+bc.token)
				}
				for pb.Next() {
					res, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode != http.StatusOK {
						b.Errorf("status %d", res.StatusCode)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
			// CPU per request, client and server together: on a shared
			// machine it varies far less than the wall-clock figures, and
			// at saturation the requests per second are inversely
			// proportional to it.
			if cpu1, ok := cpuTime(); ok && cpuOK {
				b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
			}
		})
	}
}

// BenchmarkHandler is the server side alone, in-process, with the default
// Config: what GET /v2/user costs on top of GET /v2/health without the
// network and client.
func BenchmarkHandler(b *testing.B) {
	api, token := benchAPI(b, 0)
	for _, bc := range []struct{ name, path, token string }{
		{"path=health", "/v2/health", ""},
		{"path=user", "/v2/user", token},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest("GET", bc.path, nil)
				if bc.token != "" {
					req.Header.Set("Authorization", "Bearer "+bc.token)
				}
				rec := httptest.NewRecorder()
				api.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d", rec.Code)
				}
			}
		})
	}
}
