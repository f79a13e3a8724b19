-- Gatehouse schema for MySQL and MariaDB, version 7: whether a user has a
-- confirmed second factor of any type (store.User.HasFactors), kept by the
-- factor operations, so that a login or a profile read needs no factor
-- read. Existing users take it from their confirmed factors.
--
-- MySQL has no ADD COLUMN IF NOT EXISTS (MariaDB has), and it commits
-- after each DDL statement, so the column is added only when
-- information_schema does not list it yet; the backfill may run again
-- too: the file can be applied again.

SET @gatehouse_ddl = IF(
	(SELECT COUNT(*) FROM information_schema.columns
	 WHERE table_schema = DATABASE() AND table_name = 'gatehouse_users'
	   AND column_name = 'has_factors') = 0,
	'ALTER TABLE gatehouse_users ADD COLUMN has_factors BOOLEAN NOT NULL DEFAULT FALSE',
	'DO 0');
PREPARE gatehouse_ddl FROM @gatehouse_ddl;
EXECUTE gatehouse_ddl;
DEALLOCATE PREPARE gatehouse_ddl;

UPDATE gatehouse_users u SET u.has_factors = EXISTS (
	SELECT 1 FROM gatehouse_factors f
	WHERE f.user_id = u.id AND f.confirmed_at IS NOT NULL
);
