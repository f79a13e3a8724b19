-- Gatehouse schema for SQLite, version 9: federated identities and
-- started federated logins (store.Identities). Provider tokens arrive
-- sealed by the caller; flows hold only hashes.

CREATE TABLE IF NOT EXISTS gatehouse_identities (
	issuer         text    NOT NULL,
	subject        text    NOT NULL,
	user_id        text    NOT NULL REFERENCES gatehouse_users (id) ON DELETE CASCADE,
	provider       text    NOT NULL DEFAULT '',
	email          text    NOT NULL DEFAULT '',
	email_verified INTEGER NOT NULL DEFAULT 0,
	created_at     INTEGER,
	last_login_at  INTEGER,
	tokens         BLOB,
	PRIMARY KEY (issuer, subject)
);
CREATE INDEX IF NOT EXISTS gatehouse_identities_user ON gatehouse_identities (user_id);

CREATE TABLE IF NOT EXISTS gatehouse_federation_flows (
	hash       BLOB    NOT NULL PRIMARY KEY,
	binding    BLOB    NOT NULL,
	provider   text    NOT NULL,
	return_to  text    NOT NULL DEFAULT '',
	user_id    text    NOT NULL DEFAULT '',
	created_at INTEGER,
	expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS gatehouse_federation_flows_expires ON gatehouse_federation_flows (expires_at);
