-- Gatehouse schema for PostgreSQL, version 1.
--
-- Times are timestamptz (microseconds, UTC instants); NULL means "never"
-- (the zero time.Time). Hashes are bytea. Emails use the "C" collation, so
-- they match and sort byte by byte.

CREATE TABLE gatehouse_users (
	id                 text        NOT NULL PRIMARY KEY,
	email              text        COLLATE "C" NOT NULL,
	pending_email      text        NOT NULL DEFAULT '',
	password_hash      text        NOT NULL DEFAULT '',
	name               text        NOT NULL DEFAULT '',
	bio                text        NOT NULL DEFAULT '',
	profile_picture    text        NOT NULL DEFAULT '',
	is_superuser       boolean     NOT NULL DEFAULT FALSE,
	is_active          boolean     NOT NULL DEFAULT FALSE,
	is_verified        boolean     NOT NULL DEFAULT FALSE,
	created_at         timestamptz,
	updated_at         timestamptz,
	last_login_at      timestamptz,
	tokens_valid_after timestamptz
);

-- Lookup by normalized email, uniqueness, and ListUsers' keyset order.
CREATE UNIQUE INDEX gatehouse_users_email ON gatehouse_users (email COLLATE "C");

-- The last-superuser guard reads the active superusers.
CREATE INDEX gatehouse_users_active_superusers ON gatehouse_users (id)
	WHERE is_superuser = TRUE AND is_active = TRUE;

-- The exact number of users, kept in the transactions that insert and
-- delete users, so that ListUsers' Total does not count a million rows.
CREATE TABLE gatehouse_user_count (
	id integer NOT NULL PRIMARY KEY CHECK (id = 1),
	n  bigint  NOT NULL
);
INSERT INTO gatehouse_user_count (id, n) SELECT 1, COUNT(*) FROM gatehouse_users;

CREATE TABLE gatehouse_sessions (
	id               text        NOT NULL PRIMARY KEY,
	user_id          text        NOT NULL REFERENCES gatehouse_users (id) ON DELETE CASCADE,
	created_at       timestamptz NOT NULL,
	authenticated_at timestamptz NOT NULL,
	last_used_at     timestamptz NOT NULL,
	expires_at       timestamptz NOT NULL,
	idle_expires_at  timestamptz NOT NULL,
	ip               text        NOT NULL DEFAULT '',
	user_agent       text        NOT NULL DEFAULT ''
);

-- A user's sessions, newest first; per-user session counts.
CREATE INDEX gatehouse_sessions_user ON gatehouse_sessions (user_id, created_at);
-- DeleteExpired.
CREATE INDEX gatehouse_sessions_expires ON gatehouse_sessions (expires_at);
CREATE INDEX gatehouse_sessions_idle_expires ON gatehouse_sessions (idle_expires_at);

-- Every refresh token of a session: the current one (rotated_at NULL) and
-- the ones rotated away, kept to detect reuse.
CREATE TABLE gatehouse_refresh_tokens (
	hash       bytea       NOT NULL PRIMARY KEY,
	session_id text        NOT NULL REFERENCES gatehouse_sessions (id) ON DELETE CASCADE,
	rotated_at timestamptz
);
CREATE INDEX gatehouse_refresh_tokens_session ON gatehouse_refresh_tokens (session_id);

CREATE TABLE gatehouse_secrets (
	hash            bytea       NOT NULL PRIMARY KEY,
	user_id         text        NOT NULL REFERENCES gatehouse_users (id) ON DELETE CASCADE,
	purpose         text        NOT NULL,
	code_hash       bytea,
	email           text        NOT NULL DEFAULT '',
	created_at      timestamptz,
	expires_at      timestamptz NOT NULL,
	code_expires_at timestamptz,
	attempts        integer     NOT NULL DEFAULT 0
);
-- At most one secret per user and purpose; ReserveCodeAttempt's lookup.
CREATE UNIQUE INDEX gatehouse_secrets_user_purpose ON gatehouse_secrets (user_id, purpose);
-- DeleteExpired.
CREATE INDEX gatehouse_secrets_expires ON gatehouse_secrets (expires_at);
