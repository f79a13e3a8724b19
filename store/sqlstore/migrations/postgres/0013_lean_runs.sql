-- Gatehouse schema for PostgreSQL, version 13: a leaner audit log, cheaper
-- to append to. The entries lose their foreign key to gatehouse_runs
-- (entries are only ever written with their run, and DeleteRunsBefore
-- deletes a run's entries itself, in the transaction that deletes the
-- run), so an append no longer looks each entry's run up; and the index
-- gatehouse_runs_at goes: gatehouse_runs_at_seq (at, seq) of version 12
-- serves every query it served.

ALTER TABLE gatehouse_run_entries DROP CONSTRAINT IF EXISTS gatehouse_run_entries_run_seq_fkey;
DROP INDEX IF EXISTS gatehouse_runs_at;
