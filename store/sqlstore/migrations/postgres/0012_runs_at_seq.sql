-- Gatehouse schema for PostgreSQL, version 12: an index on the runs' times
-- with their seqs, so that a time window of the audit log (the analytics'
-- Since and Until) is translated into a range of seqs by one index-only
-- scan (COUNT, MIN and MAX of seq over the window) instead of a read of
-- every run in it. SQLite and MySQL need none: their index on at already
-- holds the primary key, seq.
--
-- Building it blocks writes to gatehouse_runs while it runs. On a large
-- audit log, create it beforehand without blocking, outside a
-- transaction, and this migration will find it there:
--   CREATE INDEX CONCURRENTLY gatehouse_runs_at_seq ON gatehouse_runs (at, seq);

CREATE INDEX IF NOT EXISTS gatehouse_runs_at_seq ON gatehouse_runs (at, seq);
