-- Gatehouse schema for PostgreSQL, version 2: named counters for
-- throttling (store.Counters).

CREATE TABLE gatehouse_counters (
	name       text        COLLATE "C" NOT NULL PRIMARY KEY,
	count      integer     NOT NULL,
	start_at   timestamptz NOT NULL,
	last_at    timestamptz NOT NULL,
	expires_at timestamptz NOT NULL
);
-- DeleteExpired.
CREATE INDEX gatehouse_counters_expires ON gatehouse_counters (expires_at);
