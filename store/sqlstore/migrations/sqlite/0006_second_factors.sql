-- Gatehouse schema for SQLite, version 6: second factors
-- (store.SecondFactors). Secrets arrive sealed by the caller; recovery
-- codes and challenges only as hashes.

CREATE TABLE IF NOT EXISTS gatehouse_factors (
	id           text        NOT NULL PRIMARY KEY,
	user_id      text        NOT NULL REFERENCES gatehouse_users (id) ON DELETE CASCADE,
	type         text        NOT NULL,
	name         text        NOT NULL DEFAULT '',
	secret       BLOB        NOT NULL,
	created_at   INTEGER,
	confirmed_at INTEGER,
	last_used_at INTEGER,
	last_step    INTEGER     NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS gatehouse_factors_user ON gatehouse_factors (user_id);

CREATE TABLE IF NOT EXISTS gatehouse_recovery_codes (
	user_id text  NOT NULL REFERENCES gatehouse_users (id) ON DELETE CASCADE,
	hash    BLOB  NOT NULL,
	PRIMARY KEY (user_id, hash)
);

CREATE TABLE IF NOT EXISTS gatehouse_challenges (
	hash             BLOB        NOT NULL PRIMARY KEY,
	user_id          text        NOT NULL REFERENCES gatehouse_users (id) ON DELETE CASCADE,
	binding          BLOB        NOT NULL,
	authenticated_at INTEGER,
	expires_at       INTEGER NOT NULL,
	attempts         integer     NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS gatehouse_challenges_user ON gatehouse_challenges (user_id);
CREATE INDEX IF NOT EXISTS gatehouse_challenges_expires ON gatehouse_challenges (expires_at);
