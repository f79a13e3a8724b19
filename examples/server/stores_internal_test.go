package main

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
)

// TestParseDB: -db is a SQLite file, a PostgreSQL URL or a MySQL DSN
// (translated to go-sql-driver's form); anything else is refused with
// errBadDSN and a message that says what is wanted and never shows a
// password.
func TestParseDB(t *testing.T) {
	ok := []struct {
		name, in string
		kind     dbKind
		check    func(t *testing.T, d dbTarget)
	}{
		{"sqlite file", "data/gatehouse.db", dbSQLite, func(t *testing.T, d dbTarget) {
			if d.path != "data/gatehouse.db" {
				t.Errorf("path %q", d.path)
			}
		}},
		{"postgres URL", "postgres://gh:pw@db.example.com:5433/app?sslmode=disable&search_path=auth", dbPostgres, func(t *testing.T, d dbTarget) {
			if d.pg.Host != "db.example.com" || d.pg.Port != 5433 || d.pg.Database != "app" || d.pg.RuntimeParams["search_path"] != "auth" {
				t.Errorf("config %+v", d.pg)
			}
		}},
		{"postgresql URL", "postgresql://gh@localhost/app", dbPostgres, nil},
		{"mysql driver form", "mysql://gh:pw@tcp(db.example.com:3307)/app?timeout=5s", dbMySQL, func(t *testing.T, d dbTarget) {
			if d.my.Addr != "db.example.com:3307" || d.my.DBName != "app" || d.my.User != "gh" || d.my.Passwd != "pw" || !d.my.ParseTime {
				t.Errorf("config %+v", d.my)
			}
		}},
		{"mysql URL form", "mysql://gh:pw@db.example.com:3307/app", dbMySQL, func(t *testing.T, d dbTarget) {
			if d.my.Net != "tcp" || d.my.Addr != "db.example.com:3307" || d.my.DBName != "app" || !d.my.ParseTime {
				t.Errorf("config %+v", d.my)
			}
		}},
	}
	for _, c := range ok {
		t.Run(c.name, func(t *testing.T) {
			d, err := parseDB(c.in)
			if err != nil {
				t.Fatal(err)
			}
			if d.kind != c.kind {
				t.Fatalf("kind %v, want %v", d.kind, c.kind)
			}
			if strings.Contains(d.shown, ":pw@") {
				t.Errorf("shown %q holds the password", d.shown)
			}
			if c.check != nil {
				c.check(t, d)
			}
		})
	}
	bad := []struct{ name, in, want string }{
		{"empty", "", "-db is empty"},
		{"unknown scheme", "redis://127.0.0.1:6379", `unknown scheme "redis://"`},
		{"mysql without scheme", "gh:secret@tcp(127.0.0.1:3306)/app", "write it as mysql://gh:xxxxx@tcp(127.0.0.1:3306)/app"},
		{"mysql without database", "mysql://gh:secret@tcp(127.0.0.1:3306)/", "no database name"},
		{"mysql bad DSN", "mysql://gh:secret@tcp(127.0.0.1:3306", "want mysql://"},
		{"postgres bad URL", "postgres://gh:secret@db.example.com:port/app", "-db postgres://"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseDB(c.in)
			if !errors.Is(err, errBadDSN) {
				t.Fatalf("err %v, want errBadDSN", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("err %q lacks %q", err, c.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("err %q shows the password", err)
			}
		})
	}
}

// TestOpenBackendRefusals: a bad -store, and a server database without
// GATEHOUSE_SIGNING_KEY, are refused before anything is served.
func TestOpenBackendRefusals(t *testing.T) {
	if _, err := openBackend(context.Background(), options{store: "disk"}); err == nil || !strings.Contains(err.Error(), `invalid -store "disk"`) {
		t.Errorf("-store disk: %v", err)
	}
	b := &backend{shown: "postgres://db/app"}
	t.Setenv(envSigningKey, "")
	if _, err := signingKey(b); err == nil || !strings.Contains(err.Error(), "set but empty") {
		t.Errorf("empty variable: %v", err)
	}
	os.Unsetenv(envSigningKey) // restored by t.Setenv's clean-up
	if _, err := signingKey(b); err == nil || !strings.Contains(err.Error(), "-db postgres://db/app: set "+envSigningKey) {
		t.Errorf("no variable on a server database: %v", err)
	}
	if key, err := signingKey(&backend{memory: true}); err != nil || len(key) != 32 {
		t.Errorf("memory store: key of %d bytes, %v", len(key), err)
	}
}
