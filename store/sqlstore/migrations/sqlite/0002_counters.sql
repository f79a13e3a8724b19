-- Gatehouse schema for SQLite, version 2: named counters for throttling
-- (store.Counters). Times are INTEGER Unix microseconds in UTC.

CREATE TABLE gatehouse_counters (
	name       TEXT    NOT NULL PRIMARY KEY,
	count      INTEGER NOT NULL,
	start_at   INTEGER NOT NULL,
	last_at    INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
);
-- DeleteExpired.
CREATE INDEX gatehouse_counters_expires ON gatehouse_counters (expires_at);
