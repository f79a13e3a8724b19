-- Gatehouse schema for PostgreSQL, version 6: second factors
-- (store.SecondFactors). Secrets arrive sealed by the caller; recovery
-- codes and challenges only as hashes.

CREATE TABLE IF NOT EXISTS gatehouse_factors (
	id           text        NOT NULL PRIMARY KEY,
	user_id      text        NOT NULL REFERENCES gatehouse_users (id) ON DELETE CASCADE,
	type         text        NOT NULL,
	name         text        NOT NULL DEFAULT '',
	secret       bytea       NOT NULL,
	created_at   timestamptz,
	confirmed_at timestamptz,
	last_used_at timestamptz,
	last_step    bigint      NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS gatehouse_factors_user ON gatehouse_factors (user_id);

CREATE TABLE IF NOT EXISTS gatehouse_recovery_codes (
	user_id text  NOT NULL REFERENCES gatehouse_users (id) ON DELETE CASCADE,
	hash    bytea NOT NULL,
	PRIMARY KEY (user_id, hash)
);

CREATE TABLE IF NOT EXISTS gatehouse_challenges (
	hash             bytea       NOT NULL PRIMARY KEY,
	user_id          text        NOT NULL REFERENCES gatehouse_users (id) ON DELETE CASCADE,
	binding          bytea       NOT NULL,
	authenticated_at timestamptz,
	expires_at       timestamptz NOT NULL,
	attempts         integer     NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS gatehouse_challenges_user ON gatehouse_challenges (user_id);
CREATE INDEX IF NOT EXISTS gatehouse_challenges_expires ON gatehouse_challenges (expires_at);
