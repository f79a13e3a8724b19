-- Gatehouse schema for PostgreSQL, version 10: passkeys (store.Passkeys)
-- and WebAuthn ceremonies (store.Ceremonies). A passkey is a
-- gatehouse_factors row whose credential_id, the WebAuthn credential ID,
-- is unique (NULL for other factors); the credential itself arrives sealed
-- in secret. Ceremonies hold only the hash of their token.

ALTER TABLE gatehouse_factors ADD COLUMN IF NOT EXISTS credential_id bytea;
CREATE UNIQUE INDEX IF NOT EXISTS gatehouse_factors_credential ON gatehouse_factors (credential_id);

CREATE TABLE IF NOT EXISTS gatehouse_ceremonies (
	hash       bytea       NOT NULL PRIMARY KEY,
	purpose    text        NOT NULL,
	user_id    text        NOT NULL DEFAULT '',
	data       bytea       NOT NULL,
	created_at timestamptz,
	expires_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS gatehouse_ceremonies_expires ON gatehouse_ceremonies (expires_at);
