-- Gatehouse schema for MySQL and MariaDB, version 4: an index that covers
-- the numeric entries of a key in order, with their runs, so that statistics
-- over one key (AggregateEntries) read the index alone: sums in one range
-- scan, a quantile by skipping along it, the mode grouped without a sort;
-- a run filter tests each entry's run_seq against the selected runs. MySQL
-- has no partial indexes, so text entries are indexed too (SQLite and
-- PostgreSQL index only the numeric ones).
--
-- MySQL has no CREATE INDEX IF NOT EXISTS (MariaDB has), and it commits
-- after each DDL statement, so the index is created only when
-- information_schema does not list it yet: the file can be applied again.

SET @gatehouse_ddl = IF(
	(SELECT COUNT(*) FROM information_schema.statistics
	 WHERE table_schema = DATABASE() AND table_name = 'gatehouse_run_entries'
	   AND index_name = 'gatehouse_run_entries_number') = 0,
	'CREATE INDEX gatehouse_run_entries_number ON gatehouse_run_entries (entry_key, is_numeric, number, run_seq)',
	'DO 0');
PREPARE gatehouse_ddl FROM @gatehouse_ddl;
EXECUTE gatehouse_ddl;
DEALLOCATE PREPARE gatehouse_ddl;
