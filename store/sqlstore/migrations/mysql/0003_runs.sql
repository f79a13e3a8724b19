-- Gatehouse schema for MySQL and MariaDB, version 3: the audit log
-- (store.Runs).
--
-- seq is a run's place in append order and type_seq its place among the
-- runs of its type; both are gapless (runs are only ever deleted from the
-- front), so ListRuns skips by Offset with arithmetic instead of scanning.
-- Types, keys and values are binary strings: they group and sort byte by
-- byte, with no trailing-space padding (values group on their first
-- max_sort_length bytes, 1024 by default).

CREATE TABLE IF NOT EXISTS gatehouse_runs (
	seq      BIGINT         NOT NULL,
	id       VARBINARY(128) NOT NULL,
	run_type VARBINARY(128) NOT NULL,
	type_seq BIGINT         NOT NULL,
	user_id  VARBINARY(128) NOT NULL,
	at       DATETIME(6)    NOT NULL,
	PRIMARY KEY (seq),
	UNIQUE KEY gatehouse_runs_id (id),
	UNIQUE KEY gatehouse_runs_type_seq (run_type, type_seq),
	KEY gatehouse_runs_type (run_type, seq),
	KEY gatehouse_runs_user (user_id, seq),
	KEY gatehouse_runs_at (at)
) ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS gatehouse_run_entries (
	run_seq     BIGINT         NOT NULL,
	idx         INT            NOT NULL,
	entry_key   VARBINARY(255) NOT NULL,
	entry_value MEDIUMBLOB     NOT NULL,
	number      DOUBLE         NOT NULL,
	is_numeric  BOOLEAN        NOT NULL,
	at          DATETIME(6),
	PRIMARY KEY (run_seq, idx),
	KEY gatehouse_run_entries_key (entry_key, run_seq),
	CONSTRAINT gatehouse_run_entries_run_fk FOREIGN KEY (run_seq)
		REFERENCES gatehouse_runs (seq) ON DELETE CASCADE
) ENGINE = InnoDB;

-- The last seq handed out, overall (run_type '') and per type.
CREATE TABLE IF NOT EXISTS gatehouse_run_seqs (
	run_type VARBINARY(128) NOT NULL,
	last     BIGINT         NOT NULL,
	PRIMARY KEY (run_type)
) ENGINE = InnoDB;
INSERT INTO gatehouse_run_seqs (run_type, last) VALUES ('', 0) ON DUPLICATE KEY UPDATE last = last;
