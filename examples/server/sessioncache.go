package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/store/redisstore"
	"github.com/gatehouse-go/gatehouse/store/sqlstore/pgnotify"
)

// envSessionCache is the default of -session-cache.
const envSessionCache = "GATEHOUSE_SESSION_CACHE"

// cacheFlag is the value of -session-cache: the cache entries' TTL, 0
// for off. Its default comes from $GATEHOUSE_SESSION_CACHE; a bad value
// there is kept in err (for run to report) until the flag replaces it.
type cacheFlag struct {
	ttl time.Duration
	err error
}

func (c *cacheFlag) String() string {
	if c.ttl == 0 {
		return "off"
	}
	return c.ttl.String()
}

func (c *cacheFlag) Get() any { return c.ttl }

func (c *cacheFlag) Set(v string) error {
	d, err := parseCacheTTL(v)
	if err != nil {
		return err
	}
	c.ttl, c.err = d, nil
	return nil
}

// cacheFlagFromEnv is -session-cache's default: $GATEHOUSE_SESSION_CACHE,
// or off.
func cacheFlagFromEnv() cacheFlag {
	d, err := parseCacheTTL(os.Getenv(envSessionCache))
	if err != nil {
		return cacheFlag{err: fmt.Errorf("%s: %w", envSessionCache, err)}
	}
	return cacheFlag{ttl: d}
}

// parseCacheTTL reads a -session-cache value: "off", "0" or "" for off,
// else a duration within auth's bounds on SessionCache.TTL.
func parseCacheTTL(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if v == "" || v == "off" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (e.g. 1m) or off", v)
	}
	if d != 0 && (d < time.Second || d > 10*time.Minute) {
		return 0, fmt.Errorf("%v is out of range: the TTL must be between 1s and 10m (or off)", d)
	}
	return d, nil
}

// transport is how session-cache invalidations travel between instances.
type transport int

const (
	transportNone     transport = iota // the cache is off
	transportLocal                     // one process: -store memory
	transportPostgres                  // LISTEN/NOTIFY on the -db database
	transportRedis                     // pub/sub on the -redis server
	transportFileLock                  // one process: the SQLite file's exclusive lock
)

func (t transport) String() string {
	return [...]string{"off", "in-process (-store memory: one process)", "PostgreSQL LISTEN/NOTIFY", "Redis pub/sub", "in-process (the SQLite file's lock: one process)"}[t]
}

// errCacheTransport is wrapped by every refusal of -session-cache for a
// store whose instances it cannot keep in step.
var errCacheTransport = errors.New("no channel for the session cache's invalidations")

// cacheTransport chooses how -session-cache's invalidations travel, from
// the flags alone (no I/O), or refuses: the memory store is one process,
// so invalidations stay in it; otherwise -redis's pub/sub when it is
// given (every instance shares that Redis already), else PostgreSQL's
// LISTEN/NOTIFY. A SQLite file without -redis is kept to one process by
// an exclusive lock beside it (openBackend takes it, lockSQLite), so its
// invalidations stay in that process too; where the platform has no such
// lock, and on MySQL (no channel, and other instances may share the
// database), the flag is refused rather than trusted to a single process
// it cannot check.
func cacheTransport(o options) (transport, error) {
	if o.sessionCache.ttl == 0 {
		return transportNone, nil
	}
	if o.store == storeMemory {
		return transportLocal, nil
	}
	if o.redis != "" {
		return transportRedis, nil
	}
	if o.store != storeSQL && o.store != "" {
		return transportNone, nil // openBackend refuses the -store
	}
	t, err := parseDB(o.db)
	if err != nil {
		return transportNone, err
	}
	switch t.kind {
	case dbPostgres:
		return transportPostgres, nil
	case dbMySQL:
		return transportNone, fmt.Errorf("-session-cache with -db %s: %w: MySQL has no LISTEN/NOTIFY, so the other instances would never hear of a logout; give every instance the same -redis (its pub/sub carries them), or leave the cache off", t.shown, errCacheTransport)
	default:
		if !fileLocks {
			return transportNone, fmt.Errorf("-session-cache with the SQLite file %s: %w: on this platform the server cannot lock the file for itself alone, so other processes may open it, and this one would not hear of their logouts for up to the TTL; give -redis (its pub/sub carries them), use a PostgreSQL -db or -store memory, or leave the cache off", t.shown, errCacheTransport)
		}
		return transportFileLock, nil
	}
}

// invalidator returns the session cache's Invalidator over t, nil when the
// cache is off. It does no I/O.
func (b *backend) invalidator(t transport, logger *slog.Logger) (auth.Invalidator, error) {
	switch t {
	case transportLocal, transportFileLock:
		return auth.LocalInvalidator{}, nil
	case transportPostgres:
		listen := b.pgConfig.Copy()
		// The LISTEN connection, named for pg_stat_activity.
		name := listen.RuntimeParams["application_name"]
		if name == "" {
			name = "gatehouse"
		}
		listen.RuntimeParams["application_name"] = name + " session-cache listener"
		return pgnotify.New(b.pgDB, listen, pgnotify.Config{Logger: logger})
	case transportRedis:
		return redisstore.NewNotifier(b.redis, redisstore.NotifierConfig{Logger: logger})
	}
	return nil, nil
}
