-- Gatehouse schema for SQLite, version 5: when a pending email change
-- expires (store.User.PendingEmailExpiresAt), so that a change nobody
-- confirmed stops showing as pending once its link is dead. NULL means
-- none is pending.
--
-- Existing pending changes take the expiry of their confirmation secret;
-- a pending address without one (its link already gone: dropped by a
-- password change, or purged) can never be confirmed and is cleared.

ALTER TABLE gatehouse_users ADD COLUMN pending_email_expires_at INTEGER;

UPDATE gatehouse_users SET pending_email_expires_at = (
	SELECT s.expires_at FROM gatehouse_secrets s
	WHERE s.user_id = gatehouse_users.id AND s.purpose = 'change_email' AND s.email = gatehouse_users.pending_email
) WHERE pending_email <> '';

UPDATE gatehouse_users SET pending_email = '' WHERE pending_email <> '' AND pending_email_expires_at IS NULL;
