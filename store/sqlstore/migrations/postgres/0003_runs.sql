-- Gatehouse schema for PostgreSQL, version 3: the audit log (store.Runs).
--
-- seq is a run's place in append order and type_seq its place among the
-- runs of its type; both are gapless (runs are only ever deleted from the
-- front), so ListRuns skips by Offset with arithmetic instead of scanning.

CREATE TABLE gatehouse_runs (
	seq      bigint      NOT NULL PRIMARY KEY,
	id       text        NOT NULL,
	run_type text        COLLATE "C" NOT NULL,
	type_seq bigint      NOT NULL,
	user_id  text        NOT NULL DEFAULT '',
	at       timestamptz NOT NULL
);
CREATE UNIQUE INDEX gatehouse_runs_id ON gatehouse_runs (id);
CREATE UNIQUE INDEX gatehouse_runs_type_seq ON gatehouse_runs (run_type, type_seq);
CREATE INDEX gatehouse_runs_type ON gatehouse_runs (run_type, seq);
CREATE INDEX gatehouse_runs_user ON gatehouse_runs (user_id, seq);
CREATE INDEX gatehouse_runs_at ON gatehouse_runs (at);

CREATE TABLE gatehouse_run_entries (
	run_seq     bigint           NOT NULL REFERENCES gatehouse_runs (seq) ON DELETE CASCADE,
	idx         integer          NOT NULL,
	entry_key   text             COLLATE "C" NOT NULL,
	entry_value text             COLLATE "C" NOT NULL,
	number      double precision NOT NULL,
	is_numeric  boolean          NOT NULL,
	at          timestamptz,
	PRIMARY KEY (run_seq, idx)
);
CREATE INDEX gatehouse_run_entries_key ON gatehouse_run_entries (entry_key, run_seq);

-- The last seq handed out, overall (run_type '') and per type.
CREATE TABLE gatehouse_run_seqs (
	run_type text   COLLATE "C" NOT NULL PRIMARY KEY,
	last     bigint NOT NULL
);
INSERT INTO gatehouse_run_seqs (run_type, last) VALUES ('', 0);
