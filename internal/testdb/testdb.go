// Package testdb gives tests databases of their own on the servers the
// tests use: a fresh PostgreSQL schema or MySQL database per call, dropped
// in a clean-up, and the addresses of those servers and of Redis.
//
// The servers are read from environment variables, with this machine's
// local defaults: AUTH_TEST_POSTGRES_DSN, AUTH_TEST_MYSQL_DSN and
// AUTH_TEST_REDIS_ADDR. When a server cannot be reached the test is skipped
// with a message saying how to provide it — except under CI=true, where it
// fails ([skipnote.Unavailable]).
//
// The package is internal and imported only by tests, benchmarks and tools.
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/gatehouse-go/gatehouse/internal/skipnote"
)

// The environment variables that name the servers, and their defaults.
const (
	PostgresEnv        = "AUTH_TEST_POSTGRES_DSN"
	MySQLEnv           = "AUTH_TEST_MYSQL_DSN"
	RedisEnv           = "AUTH_TEST_REDIS_ADDR"
	DefaultPostgresDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	DefaultMySQLDSN    = "root@tcp(127.0.0.1:3306)/test?parseTime=true"
	DefaultRedisAddr   = "127.0.0.1:6379"
)

// PostgresDSN returns the PostgreSQL server's DSN: $AUTH_TEST_POSTGRES_DSN
// or the default.
func PostgresDSN() string { return env(PostgresEnv, DefaultPostgresDSN) }

// MySQLDSN returns the MySQL server's DSN: $AUTH_TEST_MYSQL_DSN or the
// default.
func MySQLDSN() string { return env(MySQLEnv, DefaultMySQLDSN) }

// RedisAddr returns the Redis server's address: $AUTH_TEST_REDIS_ADDR or
// the default.
func RedisAddr() string { return env(RedisEnv, DefaultRedisAddr) }

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// Unreachable skips tb, or fails it under CI=true, because the server what
// named by env cannot be used.
func Unreachable(tb testing.TB, what, env string, err error) {
	tb.Helper()
	skipnote.Unavailable(tb, what, "start it or set "+env+" to its address", err)
}

// Name returns a fresh name for a schema or database: "gh_" and 16 hex
// digits.
func Name(tb testing.TB) string {
	tb.Helper()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return "gh_" + hex.EncodeToString(b)
}

// PostgresSchema creates an empty schema of its own on the PostgreSQL
// server, dropped (with everything in it) in a clean-up, and returns a DSN
// whose connections use it through search_path — one that other processes
// can be given.
func PostgresSchema(tb testing.TB) (dsn string) {
	tb.Helper()
	_, schema := postgresSchema(tb)
	u, err := url.Parse(PostgresDSN())
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		tb.Fatalf("%s: PostgresSchema needs a postgres:// URL, got %q", PostgresEnv, PostgresDSN())
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// EmptyPostgres returns a pool (at most 8 connections) on a new empty
// schema of its own, selected through search_path and dropped in a
// clean-up. edit, when not nil, is applied to the configuration of the
// pool's connections.
func EmptyPostgres(tb testing.TB, edit func(*pgx.ConnConfig)) *sql.DB {
	tb.Helper()
	cfg, schema := postgresSchema(tb)
	scoped := cfg.Copy()
	scoped.RuntimeParams["search_path"] = schema
	if edit != nil {
		edit(scoped)
	}
	db := stdlib.OpenDB(*scoped)
	db.SetMaxOpenConns(8)
	tb.Cleanup(func() { db.Close() }) // runs before the schema is dropped
	return db
}

// postgresSchema creates the schema and registers its removal.
func postgresSchema(tb testing.TB) (*pgx.ConnConfig, string) {
	tb.Helper()
	cfg, err := pgx.ParseConfig(PostgresDSN())
	if err != nil {
		tb.Fatalf("%s: %v", PostgresEnv, err)
	}
	admin := stdlib.OpenDB(*cfg)
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		Unreachable(tb, "PostgreSQL", PostgresEnv, err)
	}
	schema := Name(tb)
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		admin := stdlib.OpenDB(*cfg)
		defer admin.Close()
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			tb.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	return cfg, schema
}

// MySQLDatabase creates an empty database of its own on the MySQL server,
// dropped in a clean-up, and returns a DSN for it.
func MySQLDatabase(tb testing.TB) (dsn string) {
	tb.Helper()
	cfg, name := mysqlDatabase(tb)
	scoped := cfg.Clone()
	scoped.DBName = name
	return scoped.FormatDSN()
}

// EmptyMySQL returns a pool (at most 8 connections) on a new empty database
// of its own, dropped in a clean-up.
func EmptyMySQL(tb testing.TB) *sql.DB {
	tb.Helper()
	cfg, name := mysqlDatabase(tb)
	scoped := cfg.Clone()
	scoped.DBName = name
	c, err := mysql.NewConnector(scoped)
	if err != nil {
		tb.Fatal(err)
	}
	db := sql.OpenDB(c)
	db.SetMaxOpenConns(8)
	tb.Cleanup(func() { db.Close() })
	return db
}

func mysqlDatabase(tb testing.TB) (*mysql.Config, string) {
	tb.Helper()
	cfg, err := mysql.ParseDSN(MySQLDSN())
	if err != nil {
		tb.Fatalf("%s: %v", MySQLEnv, err)
	}
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	admin := sql.OpenDB(connector)
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		Unreachable(tb, "MySQL", MySQLEnv, err)
	}
	name := Name(tb)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		admin := sql.OpenDB(connector)
		defer admin.Close()
		if _, err := admin.Exec("DROP DATABASE " + name); err != nil {
			tb.Errorf("dropping database %s: %v", name, err)
		}
	})
	return cfg, name
}

// String describes the servers, for a test's log.
func String() string {
	return fmt.Sprintf("PostgreSQL %s, MySQL %s, Redis %s", PostgresDSN(), MySQLDSN(), RedisAddr())
}
