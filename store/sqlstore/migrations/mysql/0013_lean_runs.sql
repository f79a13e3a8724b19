-- Gatehouse schema for MySQL and MariaDB, version 13: a leaner audit log,
-- cheaper to append to. The entries lose their foreign key to
-- gatehouse_runs: entries are only ever written with their run, and
-- DeleteRunsBefore deletes a run's entries itself, in the transaction that
-- deletes the run, so an append no longer looks each entry's run up.
--
-- MySQL has no DROP FOREIGN KEY IF EXISTS (MariaDB has), and it commits
-- after each DDL statement, so the key is dropped only when
-- information_schema still lists it: the file can be applied again.

SET @gatehouse_ddl = IF(
	(SELECT COUNT(*) FROM information_schema.table_constraints
	 WHERE constraint_schema = DATABASE() AND table_name = 'gatehouse_run_entries'
	   AND constraint_name = 'gatehouse_run_entries_run_fk' AND constraint_type = 'FOREIGN KEY') > 0,
	'ALTER TABLE gatehouse_run_entries DROP FOREIGN KEY gatehouse_run_entries_run_fk',
	'DO 0');
PREPARE gatehouse_ddl FROM @gatehouse_ddl;
EXECUTE gatehouse_ddl;
DEALLOCATE PREPARE gatehouse_ddl;
