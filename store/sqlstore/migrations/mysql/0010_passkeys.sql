-- Gatehouse schema for MySQL and MariaDB, version 10: passkeys
-- (store.Passkeys) and WebAuthn ceremonies (store.Ceremonies). A passkey
-- is a gatehouse_factors row whose credential_id, the WebAuthn credential
-- ID, is unique (NULL for other factors); the credential itself arrives
-- sealed in secret. Ceremonies hold only the hash of their token.
--
-- MySQL has no ADD COLUMN IF NOT EXISTS (MariaDB has), and it commits
-- after each DDL statement, so the column and its index are added only
-- when information_schema does not list them yet: the file can be applied
-- again.

SET @gatehouse_ddl = IF(
	(SELECT COUNT(*) FROM information_schema.columns
	 WHERE table_schema = DATABASE() AND table_name = 'gatehouse_factors'
	   AND column_name = 'credential_id') = 0,
	'ALTER TABLE gatehouse_factors ADD COLUMN credential_id VARBINARY(1023) NULL',
	'DO 0');
PREPARE gatehouse_ddl FROM @gatehouse_ddl;
EXECUTE gatehouse_ddl;
DEALLOCATE PREPARE gatehouse_ddl;

SET @gatehouse_ddl = IF(
	(SELECT COUNT(*) FROM information_schema.statistics
	 WHERE table_schema = DATABASE() AND table_name = 'gatehouse_factors'
	   AND index_name = 'gatehouse_factors_credential') = 0,
	'CREATE UNIQUE INDEX gatehouse_factors_credential ON gatehouse_factors (credential_id)',
	'DO 0');
PREPARE gatehouse_ddl FROM @gatehouse_ddl;
EXECUTE gatehouse_ddl;
DEALLOCATE PREPARE gatehouse_ddl;

CREATE TABLE IF NOT EXISTS gatehouse_ceremonies (
	hash       VARBINARY(64)  NOT NULL,
	purpose    VARBINARY(64)  NOT NULL,
	user_id    VARBINARY(128) NOT NULL DEFAULT '',
	data       BLOB           NOT NULL,
	created_at DATETIME(6),
	expires_at DATETIME(6)    NOT NULL,
	PRIMARY KEY (hash),
	KEY gatehouse_ceremonies_expires (expires_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
