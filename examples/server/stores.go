package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/memstore"
	"github.com/gatehouse-go/gatehouse/store/redisstore"
	"github.com/gatehouse-go/gatehouse/store/sqlstore"
)

// The values of -store.
const (
	storeSQL    = "sql"    // the database -db names
	storeMemory = "memory" // a throwaway memstore
)

// poolSize bounds the connections of a PostgreSQL or MySQL pool, so that
// several instances on one server stay well within its connection limit.
const poolSize = 20

// connectTimeout bounds the first contact with a database or Redis at
// start, so that an unreachable server is reported rather than waited for.
const connectTimeout = 10 * time.Second

// errBadDSN is wrapped by every refusal of a -db value that names no
// database this server can open.
var errBadDSN = errors.New("not a database this server can open")

// dbKind is the kind of database a -db value names.
type dbKind int

const (
	dbSQLite dbKind = iota
	dbPostgres
	dbMySQL
)

// dbTarget is a parsed -db value.
type dbTarget struct {
	kind dbKind
	// path is the SQLite file.
	path string
	// pg is the PostgreSQL configuration.
	pg *pgx.ConnConfig
	// my is the MySQL configuration, in go-sql-driver's terms.
	my *mysql.Config
	// shown is the value with any password masked, for messages.
	shown string
}

// dbUsage says which -db values are understood.
const dbUsage = "give a SQLite file (gatehouse.db), a PostgreSQL URL (postgres://user:pw@host:5432/db) or a MySQL DSN (mysql://user:pw@tcp(host:3306)/db)"

// parseDB reads a -db value: a PostgreSQL URL (postgres:// or
// postgresql://), a MySQL DSN (mysql://, followed by go-sql-driver's form
// user:pw@tcp(host:port)/db or by host:port/db), or else a SQLite file.
// It does no I/O. Its errors never show a password.
func parseDB(v string) (dbTarget, error) {
	if strings.TrimSpace(v) == "" {
		return dbTarget{}, fmt.Errorf("-db is empty: %w; %s", errBadDSN, dbUsage)
	}
	scheme, rest, hasScheme := strings.Cut(v, "://")
	if !hasScheme {
		// go-sql-driver's own form, which would otherwise become an odd
		// SQLite file name.
		if strings.Contains(v, "@tcp(") || strings.Contains(v, "@unix(") {
			return dbTarget{}, fmt.Errorf("-db %s looks like a MySQL DSN without its scheme: %w; write it as mysql://%s", maskMySQL(v), errBadDSN, maskMySQL(v))
		}
		return dbTarget{kind: dbSQLite, path: v, shown: v}, nil
	}
	switch strings.ToLower(scheme) {
	case "postgres", "postgresql":
		shown := maskURL(v)
		if _, err := url.Parse(v); err != nil {
			return dbTarget{}, fmt.Errorf("-db %s: %w: the PostgreSQL URL does not parse", shown, errBadDSN)
		}
		cfg, err := pgx.ParseConfig(v)
		if err != nil {
			// pgx's message masks the password.
			return dbTarget{}, fmt.Errorf("-db %s: %w: %v", shown, errBadDSN, err)
		}
		return dbTarget{kind: dbPostgres, pg: cfg, shown: shown}, nil
	case "mysql":
		cfg, err := mysqlConfig(rest)
		shown := "mysql://" + maskMySQL(rest)
		if err != nil {
			return dbTarget{}, fmt.Errorf("-db %s: %w: %v (want mysql://user:pw@tcp(host:3306)/db)", shown, errBadDSN, err)
		}
		return dbTarget{kind: dbMySQL, my: cfg, shown: shown}, nil
	default:
		return dbTarget{}, fmt.Errorf("-db: unknown scheme %q: %w; %s", scheme+"://", errBadDSN, dbUsage)
	}
}

// mysqlConfig reads what follows mysql://: go-sql-driver's DSN
// (user:pw@tcp(host:port)/db?params), or the URL form user:pw@host:port/db,
// which becomes tcp(host:port). The database name is required. parseTime
// is set: sqlstore writes and reads UTC itself and needs neither it nor
// loc, but the driver's DATETIME values are then time.Time.
func mysqlConfig(rest string) (*mysql.Config, error) {
	dsn := rest
	if at := strings.LastIndex(rest, "@"); at >= 0 && !strings.HasPrefix(rest[at+1:], "tcp(") && !strings.HasPrefix(rest[at+1:], "unix(") {
		// user:pw@host:port/db → user:pw@tcp(host:port)/db
		host, path, _ := strings.Cut(rest[at+1:], "/")
		dsn = rest[:at+1] + "tcp(" + host + ")/" + path
	} else if at < 0 && !strings.HasPrefix(rest, "tcp(") && !strings.HasPrefix(rest, "unix(") {
		host, path, _ := strings.Cut(rest, "/")
		dsn = "tcp(" + host + ")/" + path
	}
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	if cfg.DBName == "" {
		return nil, errors.New("no database name")
	}
	cfg.ParseTime = true
	return cfg, nil
}

// maskURL returns a URL with its password, if any, masked.
func maskURL(v string) string {
	u, err := url.Parse(v)
	if err != nil {
		// Unparsable: keep only the scheme and the host part's end, never
		// what may hold a password.
		if at := strings.LastIndex(v, "@"); at >= 0 {
			scheme, _, _ := strings.Cut(v, "://")
			return scheme + "://…@" + v[at+1:]
		}
		return v
	}
	return u.Redacted()
}

// maskMySQL returns a go-sql-driver DSN with its password masked: the part
// between the first ':' and the last '@' before the address.
func maskMySQL(dsn string) string {
	at := strings.LastIndex(dsn, "@")
	if at < 0 {
		return dsn
	}
	user, _, hasPW := strings.Cut(dsn[:at], ":")
	if !hasPW {
		return dsn
	}
	return user + ":xxxxx" + dsn[at:]
}

// backend is the storage the server runs on.
type backend struct {
	store store.Store
	runs  store.Runs
	// counters holds the throttling counters when they are not in store
	// (-redis); nil means the store's own.
	counters store.Counters
	// keyFile is where a generated signing key is kept when
	// GATEHOUSE_SIGNING_KEY is unset: beside a SQLite file. "" means
	// nowhere: a server database (every instance needs the variable) or
	// the memory store (a key of the process's own).
	keyFile string
	// memory is set for -store memory.
	memory bool
	// pgDB and pgConfig are the PostgreSQL database of -db and its
	// configuration, for the session cache's LISTEN connection; redis is
	// the client of -redis. Each is nil when not in use.
	pgDB     *sql.DB
	pgConfig *pgx.ConnConfig
	redis    *redis.Client
	// shown names the storage for messages, with no password.
	shown  string
	closer []func() error
}

// Close closes what openBackend opened.
func (b *backend) Close() error {
	var errs []error
	for i := len(b.closer) - 1; i >= 0; i-- {
		errs = append(errs, b.closer[i]())
	}
	return errors.Join(errs...)
}

// openBackend opens and migrates the store that -store and -db name, and
// the Redis counters of -redis.
func openBackend(ctx context.Context, o options) (*backend, error) {
	b := &backend{}
	ok := false
	defer func() {
		if !ok {
			b.Close()
		}
	}()
	switch o.store {
	case storeMemory:
		m := memstore.New()
		b.store, b.runs, b.memory, b.shown = m, m, true, "memory"
	case storeSQL, "":
		if err := b.openSQL(ctx, o.db); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("invalid -store %q: want %q (the database of -db) or %q (a throwaway store in memory)", o.store, storeSQL, storeMemory)
	}
	if o.redis != "" {
		c, err := openRedis(ctx, o.redis)
		if err != nil {
			return nil, err
		}
		b.closer = append(b.closer, c.Close)
		b.redis = c
		if b.counters, err = redisstore.New(c, redisstore.Config{}); err != nil {
			return nil, err
		}
	}
	ok = true
	return b, nil
}

// openSQL opens, checks and migrates the database of -db.
func (b *backend) openSQL(ctx context.Context, v string) error {
	t, err := parseDB(v)
	if err != nil {
		return err
	}
	b.shown = t.shown
	var db *sql.DB
	var d sqlstore.Dialect
	switch t.kind {
	case dbSQLite:
		if db, err = openSQLite(t.path); err != nil {
			return err
		}
		d, b.keyFile = sqlstore.SQLite, t.path+".key"
	case dbPostgres:
		db, d = stdlib.OpenDB(*t.pg), sqlstore.Postgres
		db.SetMaxOpenConns(poolSize)
		b.pgDB, b.pgConfig = db, t.pg
	case dbMySQL:
		c, err := mysql.NewConnector(t.my)
		if err != nil {
			return fmt.Errorf("-db %s: %w", t.shown, err)
		}
		db, d = sql.OpenDB(c), sqlstore.MySQL
		db.SetMaxOpenConns(poolSize)
		db.SetConnMaxLifetime(time.Hour)
	}
	b.closer = append(b.closer, db.Close)
	if t.kind != dbSQLite {
		pctx, cancel := context.WithTimeout(ctx, connectTimeout)
		err := db.PingContext(pctx)
		cancel()
		if err != nil {
			return fmt.Errorf("-db %s: connecting: %w", t.shown, err)
		}
	}
	// Migrate is safe when several instances start at once: it takes a
	// lock of the database's own for the whole run.
	if err := sqlstore.Migrate(ctx, db, d); err != nil {
		return fmt.Errorf("migrating %s: %w", t.shown, err)
	}
	st, err := sqlstore.New(db, d)
	if err != nil {
		return err
	}
	b.store, b.runs = st, st
	return nil
}

// openRedis connects to the Redis of -redis: host:port, or a URL
// (redis://user:pw@host:port/db, rediss:// for TLS).
func openRedis(ctx context.Context, v string) (*redis.Client, error) {
	shown := v
	var opt *redis.Options
	if strings.Contains(v, "://") {
		shown = maskURL(v)
		var err error
		if opt, err = redis.ParseURL(v); err != nil {
			return nil, fmt.Errorf("-redis %s: %w (want host:port or redis://host:port)", shown, err)
		}
	} else {
		opt = &redis.Options{Addr: v}
	}
	c := redis.NewClient(opt)
	pctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	if err := c.Ping(pctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("-redis %s: connecting: %w", shown, err)
	}
	return c, nil
}
