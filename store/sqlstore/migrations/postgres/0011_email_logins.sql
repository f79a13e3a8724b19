-- Gatehouse schema for PostgreSQL, version 11: passwordless email logins
-- (store.EmailLogins). A login holds only the SHA-256 of its link token
-- and the caller's keyed hash of its short code; a user has at most one.

CREATE TABLE IF NOT EXISTS gatehouse_email_logins (
	id              text        NOT NULL PRIMARY KEY,
	hash            bytea       NOT NULL UNIQUE,
	code_hash       bytea       NOT NULL,
	user_id         text        NOT NULL UNIQUE REFERENCES gatehouse_users (id) ON DELETE CASCADE,
	email           text        NOT NULL DEFAULT '',
	created_at      timestamptz,
	expires_at      timestamptz NOT NULL,
	code_expires_at timestamptz NOT NULL,
	attempts        integer     NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS gatehouse_email_logins_expires ON gatehouse_email_logins (expires_at);
