-- Gatehouse schema for SQLite, version 10: passkeys (store.Passkeys) and
-- WebAuthn ceremonies (store.Ceremonies). A passkey is a gatehouse_factors
-- row whose credential_id, the WebAuthn credential ID, is unique (NULL for
-- other factors); the credential itself arrives sealed in secret.
-- Ceremonies hold only the hash of their token.

ALTER TABLE gatehouse_factors ADD COLUMN credential_id BLOB;
CREATE UNIQUE INDEX IF NOT EXISTS gatehouse_factors_credential ON gatehouse_factors (credential_id);

CREATE TABLE IF NOT EXISTS gatehouse_ceremonies (
	hash       BLOB    NOT NULL PRIMARY KEY,
	purpose    text    NOT NULL,
	user_id    text    NOT NULL DEFAULT '',
	data       BLOB    NOT NULL,
	created_at INTEGER,
	expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS gatehouse_ceremonies_expires ON gatehouse_ceremonies (expires_at);
