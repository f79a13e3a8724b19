-- Gatehouse schema for MySQL and MariaDB, version 5: when a pending email
-- change expires (store.User.PendingEmailExpiresAt), so that a change
-- nobody confirmed stops showing as pending once its link is dead. NULL
-- means none is pending.
--
-- Existing pending changes take the expiry of their confirmation secret;
-- a pending address without one (its link already gone: dropped by a
-- password change, or purged) can never be confirmed and is cleared.
--
-- MySQL has no ADD COLUMN IF NOT EXISTS (MariaDB has), and it commits
-- after each DDL statement, so the column is added only when
-- information_schema does not list it yet; the updates may run again too:
-- the file can be applied again.

SET @gatehouse_ddl = IF(
	(SELECT COUNT(*) FROM information_schema.columns
	 WHERE table_schema = DATABASE() AND table_name = 'gatehouse_users'
	   AND column_name = 'pending_email_expires_at') = 0,
	'ALTER TABLE gatehouse_users ADD COLUMN pending_email_expires_at DATETIME(6)',
	'DO 0');
PREPARE gatehouse_ddl FROM @gatehouse_ddl;
EXECUTE gatehouse_ddl;
DEALLOCATE PREPARE gatehouse_ddl;

UPDATE gatehouse_users u SET u.pending_email_expires_at = (
	SELECT s.expires_at FROM gatehouse_secrets s
	WHERE s.user_id = u.id AND s.purpose = 'change_email' AND s.email = u.pending_email
) WHERE u.pending_email <> '';

UPDATE gatehouse_users SET pending_email = '' WHERE pending_email <> '' AND pending_email_expires_at IS NULL;
