-- Gatehouse schema for SQLite, version 13: a leaner audit log, cheaper to
-- append to in batches. Both tables are rebuilt WITHOUT ROWID, their rows
-- copied over:
--
-- - gatehouse_runs: its seq, given by the store, was the rowid, and SQLite
--   checks a given rowid with an instruction that may abort the statement,
--   so every multi-row INSERT of runs kept a statement journal (a copy of
--   each page it changed, in a temporary file past 64 KiB). As the primary
--   key of a WITHOUT ROWID table seq is an ordinary column, and the store's
--   INSERT OR ROLLBACK then needs no journal at all.
-- - gatehouse_run_entries: its rows live in the B-tree of their primary
--   key (run_seq, idx), where a rowid table kept a second B-tree for that
--   key, so each entry costs one B-tree insert fewer. It also loses its
--   foreign key to gatehouse_runs (which made every batch of entries keep
--   a statement journal too): entries are only ever written with their
--   run, and DeleteRunsBefore deletes a run's entries itself, in the
--   transaction that deletes the run.

CREATE TABLE gatehouse_runs_lean (
	seq      INTEGER NOT NULL PRIMARY KEY,
	id       TEXT    NOT NULL,
	run_type TEXT    NOT NULL,
	type_seq INTEGER NOT NULL,
	user_id  TEXT    NOT NULL DEFAULT '',
	at       INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO gatehouse_runs_lean (seq, id, run_type, type_seq, user_id, at)
	SELECT seq, id, run_type, type_seq, user_id, at FROM gatehouse_runs;

CREATE TABLE gatehouse_run_entries_lean (
	run_seq     INTEGER NOT NULL,
	idx         INTEGER NOT NULL,
	entry_key   TEXT    NOT NULL,
	entry_value TEXT    NOT NULL,
	number      REAL    NOT NULL,
	is_numeric  INTEGER NOT NULL,
	at          INTEGER,
	PRIMARY KEY (run_seq, idx)
) WITHOUT ROWID;
INSERT INTO gatehouse_run_entries_lean (run_seq, idx, entry_key, entry_value, number, is_numeric, at)
	SELECT run_seq, idx, entry_key, entry_value, number, is_numeric, at FROM gatehouse_run_entries;

DROP TABLE gatehouse_run_entries;
DROP TABLE gatehouse_runs;
ALTER TABLE gatehouse_runs_lean RENAME TO gatehouse_runs;
ALTER TABLE gatehouse_run_entries_lean RENAME TO gatehouse_run_entries;

CREATE UNIQUE INDEX gatehouse_runs_id ON gatehouse_runs (id);
CREATE UNIQUE INDEX gatehouse_runs_type_seq ON gatehouse_runs (run_type, type_seq);
CREATE INDEX gatehouse_runs_type ON gatehouse_runs (run_type, seq);
CREATE INDEX gatehouse_runs_user ON gatehouse_runs (user_id, seq);
CREATE INDEX gatehouse_runs_at ON gatehouse_runs (at);
CREATE INDEX gatehouse_run_entries_key ON gatehouse_run_entries (entry_key, run_seq);
CREATE INDEX gatehouse_run_entries_number ON gatehouse_run_entries (entry_key, is_numeric, number, run_seq)
	WHERE is_numeric = TRUE;
