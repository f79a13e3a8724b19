-- Gatehouse schema for SQLite, version 3: the audit log (store.Runs).
--
-- seq is a run's place in append order and type_seq its place among the
-- runs of its type; both are gapless (runs are only ever deleted from the
-- front), so ListRuns skips by Offset with arithmetic instead of scanning.

CREATE TABLE gatehouse_runs (
	seq      INTEGER NOT NULL PRIMARY KEY,
	id       TEXT    NOT NULL,
	run_type TEXT    NOT NULL,
	type_seq INTEGER NOT NULL,
	user_id  TEXT    NOT NULL DEFAULT '',
	at       INTEGER NOT NULL
);
CREATE UNIQUE INDEX gatehouse_runs_id ON gatehouse_runs (id);
CREATE UNIQUE INDEX gatehouse_runs_type_seq ON gatehouse_runs (run_type, type_seq);
CREATE INDEX gatehouse_runs_type ON gatehouse_runs (run_type, seq);
CREATE INDEX gatehouse_runs_user ON gatehouse_runs (user_id, seq);
CREATE INDEX gatehouse_runs_at ON gatehouse_runs (at);

CREATE TABLE gatehouse_run_entries (
	run_seq     INTEGER NOT NULL REFERENCES gatehouse_runs (seq) ON DELETE CASCADE,
	idx         INTEGER NOT NULL,
	entry_key   TEXT    NOT NULL,
	entry_value TEXT    NOT NULL,
	number      REAL    NOT NULL,
	is_numeric  INTEGER NOT NULL,
	at          INTEGER,
	PRIMARY KEY (run_seq, idx)
);
CREATE INDEX gatehouse_run_entries_key ON gatehouse_run_entries (entry_key, run_seq);

-- The last seq handed out, overall (run_type '') and per type.
CREATE TABLE gatehouse_run_seqs (
	run_type TEXT    NOT NULL PRIMARY KEY,
	last     INTEGER NOT NULL
);
INSERT INTO gatehouse_run_seqs (run_type, last) VALUES ('', 0);
