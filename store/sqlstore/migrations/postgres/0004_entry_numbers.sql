-- Gatehouse schema for PostgreSQL, version 4: an index that covers the
-- numeric entries of a key in order, with their runs, so that statistics
-- over one key (AggregateEntries) read the index alone: sums in one range
-- scan, a quantile by skipping along it, the mode grouped without a sort;
-- a run filter tests each entry's run_seq against the selected runs. Only
-- numeric entries are indexed (most audit entries are text), so appends of
-- text entries do not pay for it.
--
-- Building it blocks writes to gatehouse_run_entries while it runs. On a
-- large audit log, create it beforehand without blocking, outside a
-- transaction, and this migration will find it there:
--   CREATE INDEX CONCURRENTLY gatehouse_run_entries_number
--     ON gatehouse_run_entries (entry_key, is_numeric, number, run_seq)
--     WHERE is_numeric = TRUE;

CREATE INDEX IF NOT EXISTS gatehouse_run_entries_number ON gatehouse_run_entries (entry_key, is_numeric, number, run_seq)
	WHERE is_numeric = TRUE;
