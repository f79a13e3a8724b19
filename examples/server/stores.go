package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
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

// errFileInUse is wrapped by the refusal to start on a SQLite file that
// another process holds the lock of (see lockSQLite).
var errFileInUse = errors.New("the SQLite file is in use by another server")

// errLocked is lockFile's answer when another process holds a conflicting
// lock.
var errLocked = errors.New("locked by another process")

// lockSuffix names the lock file beside a SQLite database: DB.lock.
const lockSuffix = ".lock"

// lockSQLite takes the lock beside the SQLite file at path (the file's
// real path, symbolic links resolved, followed by .lock), for as long as
// the server runs: exclusive when this server keeps sessions in memory
// with nothing to tell it of another process's changes (-session-cache
// without -redis), else shared. So any number of servers without the
// cache may share a file, as always, but a server with it refuses to start
// beside any other, and any other beside it. It protects only against
// processes that take the same lock: another program writing the file
// (the sqlite3 shell, an application of your own) is not stopped, and its
// changes reach the cache only when the entries expire (-session-cache's
// TTL). Where the platform has no lockFile it takes nothing (cacheTransport
// has refused the cache there already). The file is created (mode 0600)
// if need be.
func lockSQLite(t dbTarget, exclusive bool) (*os.File, error) {
	if !fileLocks {
		return nil, nil
	}
	f, err := os.OpenFile(t.path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	f.Close()
	real, err := filepath.EvalSymlinks(t.path)
	if err != nil {
		return nil, err
	}
	path := real + lockSuffix
	lock, err := lockFile(path, exclusive)
	switch {
	case errors.Is(err, errLocked) && exclusive:
		return nil, fmt.Errorf("-session-cache with the SQLite file %s: %w: another process holds %s (another examples/server on the same file, with or without the cache); "+
			"with the cache on and no -redis, this server must be the file's only one, since it would not hear of another's logouts for up to the TTL: "+
			"stop the other server, give every instance the same -redis, or leave the cache off", t.shown, errFileInUse, path)
	case errors.Is(err, errLocked):
		return nil, fmt.Errorf("the SQLite file %s: %w: an examples/server with -session-cache and no -redis holds %s, and must be the file's only server, since it would not hear of this one's logouts: "+
			"stop it, or run every instance with the same -redis", t.shown, errFileInUse, path)
	case err != nil:
		return nil, err
	}
	return lock, nil
}

// backend is the storage the server runs on.
type backend struct {
	store store.Store
	// runs is the audit log's store: the store's own, or the SQLite file
	// of -audit-db.
	runs store.Runs
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
	shown string
	// sqlite is the SQLite file of -db, or "".
	sqlite string
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

// openBackend opens and migrates the store that -store and -db name, the
// audit file of -audit-db, and the Redis counters of -redis. A SQLite file
// is locked first (lockSQLite): exclusively when -session-cache keeps its
// invalidations in this process.
func openBackend(ctx context.Context, o options) (*backend, error) {
	via, err := cacheTransport(o)
	if err != nil {
		return nil, err
	}
	audit, err := auditFile(o)
	if err != nil {
		return nil, err
	}
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
		if err := b.openSQL(ctx, o.db, via == transportFileLock); err != nil {
			return nil, err
		}
		if audit != "" {
			if err := b.openAudit(ctx, audit); err != nil {
				return nil, err
			}
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

// openSQL opens, checks and migrates the database of -db; a SQLite file
// is locked first, exclusively when exclusive is set (lockSQLite).
func (b *backend) openSQL(ctx context.Context, v string, exclusive bool) error {
	t, err := parseDB(v)
	if err != nil {
		return err
	}
	b.shown = t.shown
	var db *sql.DB
	var d sqlstore.Dialect
	switch t.kind {
	case dbSQLite:
		// The lock outlives the database handle: closed after it.
		lock, err := lockSQLite(t, exclusive)
		if err != nil {
			return err
		}
		if lock != nil {
			b.closer = append(b.closer, lock.Close)
		}
		if db, err = openSQLite(t.path); err != nil {
			return err
		}
		d, b.keyFile, b.sqlite = sqlstore.SQLite, t.path+".key", t.path
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

// envAuditDB is the default of -audit-db.
const envAuditDB = "GATEHOUSE_AUDIT_DB"

// errAuditDB is wrapped by every refusal of an -audit-db value.
var errAuditDB = errors.New("-audit-db needs a SQLite -db and a SQLite file of its own")

// auditFile checks -audit-db against the other flags, with no I/O, and
// returns its SQLite file ("" without it). The audit log has a file of its
// own only beside a SQLite -db, whose single write lock the log's appends
// would otherwise share with every login and refresh: on PostgreSQL or
// MySQL it belongs in the database every instance shares (a file per
// instance would split the log, each instance's /v2/logs showing its own
// part), and -store memory keeps everything in memory.
func auditFile(o options) (string, error) {
	if o.auditDB == "" {
		return "", nil
	}
	if o.store == storeMemory {
		return "", fmt.Errorf("-audit-db with -store memory: %w: the memory store keeps its audit log in memory, with the accounts it names; drop -audit-db, or use a SQLite -db", errAuditDB)
	}
	a, err := parseDB(o.auditDB)
	if err != nil || a.kind != dbSQLite {
		return "", fmt.Errorf("-audit-db %s: %w: give a file path (audit.db), not a URL or DSN", maskURL(o.auditDB), errAuditDB)
	}
	t, err := parseDB(o.db)
	if err != nil {
		return "", err
	}
	if t.kind != dbSQLite {
		return "", fmt.Errorf("-audit-db with -db %s: %w: on PostgreSQL or MySQL the audit log stays in the database every instance shares, as one log; drop -audit-db", t.shown, errAuditDB)
	}
	if filepath.Clean(a.path) == filepath.Clean(t.path) {
		return "", fmt.Errorf("-audit-db %s is -db itself: %w; name another file, or drop -audit-db to keep the log in -db", a.path, errAuditDB)
	}
	return a.path, nil
}

// openAudit opens and migrates the SQLite file of -audit-db, the audit
// log's store from now on. The file gets sqlstore's whole schema (one
// migration history for both files); only its audit tables are used.
func (b *backend) openAudit(ctx context.Context, path string) error {
	db, err := openSQLite(path)
	if err != nil {
		return fmt.Errorf("-audit-db %s: %w", path, err)
	}
	b.closer = append(b.closer, db.Close)
	// The same file by another name (a link): refused as auditFile refuses
	// the same name.
	main, err1 := os.Stat(b.sqlite)
	audit, err2 := os.Stat(path)
	if err1 == nil && err2 == nil && os.SameFile(main, audit) {
		return fmt.Errorf("-audit-db %s is the file of -db %s: %w; name another file, or drop -audit-db to keep the log in -db", path, b.sqlite, errAuditDB)
	}
	if err := sqlstore.Migrate(ctx, db, sqlstore.SQLite); err != nil {
		return fmt.Errorf("migrating -audit-db %s: %w", path, err)
	}
	st, err := sqlstore.New(db, sqlstore.SQLite)
	if err != nil {
		return err
	}
	b.runs = st
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
