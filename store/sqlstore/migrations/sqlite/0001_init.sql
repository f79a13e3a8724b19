-- Gatehouse schema for SQLite, version 1.
--
-- Times are INTEGER Unix microseconds in UTC; NULL means "never" (the zero
-- time.Time). Hashes are BLOBs. TEXT compares with the BINARY collation, so
-- emails match and sort byte by byte.

CREATE TABLE gatehouse_users (
	id                 TEXT    NOT NULL PRIMARY KEY,
	email              TEXT    NOT NULL,
	pending_email      TEXT    NOT NULL DEFAULT '',
	password_hash      TEXT    NOT NULL DEFAULT '',
	name               TEXT    NOT NULL DEFAULT '',
	bio                TEXT    NOT NULL DEFAULT '',
	profile_picture    TEXT    NOT NULL DEFAULT '',
	is_superuser       INTEGER NOT NULL DEFAULT 0,
	is_active          INTEGER NOT NULL DEFAULT 0,
	is_verified        INTEGER NOT NULL DEFAULT 0,
	created_at         INTEGER,
	updated_at         INTEGER,
	last_login_at      INTEGER,
	tokens_valid_after INTEGER
);

-- Lookup by normalized email, uniqueness, and ListUsers' keyset order.
CREATE UNIQUE INDEX gatehouse_users_email ON gatehouse_users (email);

-- The last-superuser guard reads the active superusers.
CREATE INDEX gatehouse_users_active_superusers ON gatehouse_users (id)
	WHERE is_superuser = TRUE AND is_active = TRUE;

-- The exact number of users, kept in the transactions that insert and
-- delete users, so that ListUsers' Total does not count a million rows.
CREATE TABLE gatehouse_user_count (
	id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
	n  INTEGER NOT NULL
);
INSERT INTO gatehouse_user_count (id, n) SELECT 1, COUNT(*) FROM gatehouse_users;

CREATE TABLE gatehouse_sessions (
	id               TEXT    NOT NULL PRIMARY KEY,
	user_id          TEXT    NOT NULL REFERENCES gatehouse_users (id) ON DELETE CASCADE,
	created_at       INTEGER NOT NULL,
	authenticated_at INTEGER NOT NULL,
	last_used_at     INTEGER NOT NULL,
	expires_at       INTEGER NOT NULL,
	idle_expires_at  INTEGER NOT NULL,
	ip               TEXT    NOT NULL DEFAULT '',
	user_agent       TEXT    NOT NULL DEFAULT ''
);

-- A user's sessions, newest first; per-user session counts.
CREATE INDEX gatehouse_sessions_user ON gatehouse_sessions (user_id, created_at);
-- DeleteExpired.
CREATE INDEX gatehouse_sessions_expires ON gatehouse_sessions (expires_at);
CREATE INDEX gatehouse_sessions_idle_expires ON gatehouse_sessions (idle_expires_at);

-- Every refresh token of a session: the current one (rotated_at NULL) and
-- the ones rotated away, kept to detect reuse.
CREATE TABLE gatehouse_refresh_tokens (
	hash       BLOB    NOT NULL PRIMARY KEY,
	session_id TEXT    NOT NULL REFERENCES gatehouse_sessions (id) ON DELETE CASCADE,
	rotated_at INTEGER
);
CREATE INDEX gatehouse_refresh_tokens_session ON gatehouse_refresh_tokens (session_id);

CREATE TABLE gatehouse_secrets (
	hash            BLOB    NOT NULL PRIMARY KEY,
	user_id         TEXT    NOT NULL REFERENCES gatehouse_users (id) ON DELETE CASCADE,
	purpose         TEXT    NOT NULL,
	code_hash       BLOB,
	email           TEXT    NOT NULL DEFAULT '',
	created_at      INTEGER,
	expires_at      INTEGER NOT NULL,
	code_expires_at INTEGER,
	attempts        INTEGER NOT NULL DEFAULT 0
);
-- At most one secret per user and purpose; ReserveCodeAttempt's lookup.
CREATE UNIQUE INDEX gatehouse_secrets_user_purpose ON gatehouse_secrets (user_id, purpose);
-- DeleteExpired.
CREATE INDEX gatehouse_secrets_expires ON gatehouse_secrets (expires_at);
