-- Gatehouse schema for MySQL and MariaDB, version 2: named counters for
-- throttling (store.Counters). Names are VARBINARY: compared byte by byte.

CREATE TABLE IF NOT EXISTS gatehouse_counters (
	name       VARBINARY(255) NOT NULL,
	count      INT            NOT NULL,
	start_at   DATETIME(6)    NOT NULL,
	last_at    DATETIME(6)    NOT NULL,
	expires_at DATETIME(6)    NOT NULL,
	PRIMARY KEY (name),
	-- DeleteExpired.
	KEY gatehouse_counters_expires (expires_at)
) ENGINE = InnoDB;
