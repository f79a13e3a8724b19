package main

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// TestSessionCacheFlag: -session-cache takes a TTL within auth's bounds or
// off, defaults to $GATEHOUSE_SESSION_CACHE, and a bad variable is reported
// by its name unless the flag replaces it.
func TestSessionCacheFlag(t *testing.T) {
	parse := func(t *testing.T, env *string, args ...string) (options, error) {
		t.Helper()
		if env == nil {
			t.Setenv(envSessionCache, "")
			os.Unsetenv(envSessionCache) // restored by t.Setenv's clean-up
		} else {
			t.Setenv(envSessionCache, *env)
		}
		var o options
		fs := newFlagSet(&o)
		fs.Init("server", 0) // ContinueOnError
		fs.SetOutput(new(strings.Builder))
		return o, fs.Parse(args)
	}
	str := func(s string) *string { return &s }
	for _, c := range []struct {
		name string
		env  *string
		args []string
		want time.Duration
	}{
		{"default off", nil, nil, 0},
		{"flag", nil, []string{"-session-cache", "1m"}, time.Minute},
		{"flag off", str("30s"), []string{"-session-cache", "off"}, 0},
		{"flag 0", nil, []string{"-session-cache", "0"}, 0},
		{"variable", str("45s"), nil, 45 * time.Second},
		{"variable off", str("off"), nil, 0},
		{"flag over variable", str("45s"), []string{"-session-cache", "2m"}, 2 * time.Minute},
		{"flag over a bad variable", str("soon"), []string{"-session-cache", "2m"}, 2 * time.Minute},
	} {
		t.Run(c.name, func(t *testing.T) {
			o, err := parse(t, c.env, c.args...)
			if err != nil || o.sessionCache.err != nil {
				t.Fatalf("parse: %v, %v", err, o.sessionCache.err)
			}
			if o.sessionCache.ttl != c.want {
				t.Errorf("TTL %v, want %v", o.sessionCache.ttl, c.want)
			}
		})
	}
	for _, c := range []struct {
		name, value, want string
	}{
		{"not a duration", "soon", `"soon" is not a duration`},
		{"below 1s", "500ms", "between 1s and 10m"},
		{"above 10m", "1h", "between 1s and 10m"},
		{"negative", "-1m", "between 1s and 10m"},
	} {
		t.Run("flag "+c.name, func(t *testing.T) {
			_, err := parse(t, nil, "-session-cache", c.value)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("-session-cache %s: %v, want %q", c.value, err, c.want)
			}
		})
		t.Run("variable "+c.name, func(t *testing.T) {
			o, err := parse(t, &c.value)
			if err != nil {
				t.Fatal(err)
			}
			err = run(context.Background(), o, nil, nil)
			if err == nil || !strings.Contains(err.Error(), envSessionCache+": ") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s=%s: run: %v, want %q by the variable's name", envSessionCache, c.value, err, c.want)
			}
		})
	}
}

// TestCacheTransport: the memory store keeps invalidations in-process,
// and so does a SQLite file without -redis (where the platform can lock
// it), -redis carries them whatever the database, PostgreSQL carries them
// itself, and MySQL without -redis is refused with what to do instead;
// without -session-cache nothing is chosen or refused.
func TestCacheTransport(t *testing.T) {
	const (
		pg    = "postgres://gh:pw@db.example.com/app"
		my    = "mysql://gh:pw@tcp(db.example.com:3306)/app"
		lite  = "data/gatehouse.db"
		redis = "127.0.0.1:6379"
	)
	on := cacheFlag{ttl: time.Minute}
	for _, c := range []struct {
		name string
		o    options
		want transport
	}{
		{"off", options{db: my}, transportNone},
		{"memory", options{store: storeMemory, sessionCache: on}, transportLocal},
		{"memory with -redis", options{store: storeMemory, redis: redis, sessionCache: on}, transportLocal},
		{"postgres", options{store: storeSQL, db: pg, sessionCache: on}, transportPostgres},
		{"postgres with -redis", options{store: storeSQL, db: pg, redis: redis, sessionCache: on}, transportRedis},
		{"mysql with -redis", options{store: storeSQL, db: my, redis: redis, sessionCache: on}, transportRedis},
		{"sqlite with -redis", options{db: lite, redis: redis, sessionCache: on}, transportRedis},
		{"sqlite", options{db: lite, sessionCache: on}, transportFileLock},
	} {
		if c.name == "sqlite" && !fileLocks {
			continue // refused below
		}
		t.Run(c.name, func(t *testing.T) {
			got, err := cacheTransport(c.o)
			if err != nil || got != c.want {
				t.Errorf("cacheTransport = %v, %v; want %v", got, err, c.want)
			}
		})
	}
	refusals := []struct {
		name string
		o    options
		want []string
	}{
		{"mysql", options{store: storeSQL, db: my, sessionCache: on}, []string{"MySQL has no LISTEN/NOTIFY", "-redis"}},
	}
	if !fileLocks {
		refusals = append(refusals, struct {
			name string
			o    options
			want []string
		}{"sqlite", options{db: lite, sessionCache: on}, []string{"SQLite file " + lite, "cannot lock the file", "-redis", "PostgreSQL", "-store memory"}})
	}
	for _, c := range refusals {
		t.Run("refuses "+c.name, func(t *testing.T) {
			_, err := cacheTransport(c.o)
			if !errors.Is(err, errCacheTransport) {
				t.Fatalf("cacheTransport = %v, want errCacheTransport", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), ":pw@") {
				t.Errorf("%q shows the password", err)
			}
			// run refuses before it opens anything.
			if err := run(context.Background(), c.o, nil, nil); !errors.Is(err, errCacheTransport) {
				t.Errorf("run: %v, want the refusal", err)
			}
		})
	}
}
