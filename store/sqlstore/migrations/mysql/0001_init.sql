-- Gatehouse schema for MySQL and MariaDB, version 1.
--
-- Times are DATETIME(6) holding UTC wall-clock time; NULL means "never"
-- (the zero time.Time). Hashes are VARBINARY. IDs, emails and purposes are
-- VARBINARY too: they compare and sort byte by byte, with no case folding
-- and no trailing-space padding ("A@x" and "a@x " are both different from
-- "a@x").
--
-- MySQL commits implicitly after each CREATE TABLE, so this file cannot be
-- applied atomically; every statement is idempotent instead, and a failed
-- run of Migrate can simply be repeated.

CREATE TABLE IF NOT EXISTS gatehouse_users (
	id                 VARBINARY(128) NOT NULL,
	email              VARBINARY(320) NOT NULL,
	pending_email      TEXT           NOT NULL,
	password_hash      TEXT           NOT NULL,
	name               TEXT           NOT NULL,
	bio                TEXT           NOT NULL,
	profile_picture    TEXT           NOT NULL,
	is_superuser       BOOLEAN        NOT NULL DEFAULT FALSE,
	is_active          BOOLEAN        NOT NULL DEFAULT FALSE,
	is_verified        BOOLEAN        NOT NULL DEFAULT FALSE,
	created_at         DATETIME(6),
	updated_at         DATETIME(6),
	last_login_at      DATETIME(6),
	tokens_valid_after DATETIME(6),
	PRIMARY KEY (id),
	-- Lookup by normalized email, uniqueness, and ListUsers' keyset order.
	UNIQUE KEY gatehouse_users_email (email),
	-- The last-superuser guard reads the active superusers.
	KEY gatehouse_users_active_superusers (is_superuser, is_active, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- The exact number of users, kept in the transactions that insert and
-- delete users, so that ListUsers' Total does not count a million rows.
CREATE TABLE IF NOT EXISTS gatehouse_user_count (
	id INT    NOT NULL,
	n  BIGINT NOT NULL,
	PRIMARY KEY (id)
) ENGINE = InnoDB;
INSERT IGNORE INTO gatehouse_user_count (id, n) SELECT 1, COUNT(*) FROM gatehouse_users;

CREATE TABLE IF NOT EXISTS gatehouse_sessions (
	id               VARBINARY(128) NOT NULL,
	user_id          VARBINARY(128) NOT NULL,
	created_at       DATETIME(6)    NOT NULL,
	authenticated_at DATETIME(6)    NOT NULL,
	last_used_at     DATETIME(6)    NOT NULL,
	expires_at       DATETIME(6)    NOT NULL,
	idle_expires_at  DATETIME(6)    NOT NULL,
	ip               TEXT           NOT NULL,
	user_agent       TEXT           NOT NULL,
	PRIMARY KEY (id),
	-- A user's sessions, newest first; per-user session counts.
	KEY gatehouse_sessions_user (user_id, created_at),
	-- DeleteExpired.
	KEY gatehouse_sessions_expires (expires_at),
	KEY gatehouse_sessions_idle_expires (idle_expires_at),
	CONSTRAINT gatehouse_sessions_user_fk FOREIGN KEY (user_id)
		REFERENCES gatehouse_users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Every refresh token of a session: the current one (rotated_at NULL) and
-- the ones rotated away, kept to detect reuse.
CREATE TABLE IF NOT EXISTS gatehouse_refresh_tokens (
	hash       VARBINARY(64)  NOT NULL,
	session_id VARBINARY(128) NOT NULL,
	rotated_at DATETIME(6),
	PRIMARY KEY (hash),
	KEY gatehouse_refresh_tokens_session (session_id),
	CONSTRAINT gatehouse_refresh_tokens_session_fk FOREIGN KEY (session_id)
		REFERENCES gatehouse_sessions (id) ON DELETE CASCADE
) ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS gatehouse_secrets (
	hash            VARBINARY(64)  NOT NULL,
	user_id         VARBINARY(128) NOT NULL,
	purpose         VARBINARY(64)  NOT NULL,
	code_hash       VARBINARY(64),
	email           TEXT           NOT NULL,
	created_at      DATETIME(6),
	expires_at      DATETIME(6)    NOT NULL,
	code_expires_at DATETIME(6),
	attempts        INT            NOT NULL DEFAULT 0,
	PRIMARY KEY (hash),
	-- At most one secret per user and purpose; ReserveCodeAttempt's lookup.
	UNIQUE KEY gatehouse_secrets_user_purpose (user_id, purpose),
	-- DeleteExpired.
	KEY gatehouse_secrets_expires (expires_at),
	CONSTRAINT gatehouse_secrets_user_fk FOREIGN KEY (user_id)
		REFERENCES gatehouse_users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
