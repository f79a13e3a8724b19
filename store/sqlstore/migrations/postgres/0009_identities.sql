-- Gatehouse schema for PostgreSQL, version 9: federated identities and
-- started federated logins (store.Identities). Provider tokens arrive
-- sealed by the caller; flows hold only hashes.

CREATE TABLE IF NOT EXISTS gatehouse_identities (
	issuer         text        NOT NULL,
	subject        text        NOT NULL,
	user_id        text        NOT NULL REFERENCES gatehouse_users (id) ON DELETE CASCADE,
	provider       text        NOT NULL DEFAULT '',
	email          text        NOT NULL DEFAULT '',
	email_verified boolean     NOT NULL DEFAULT false,
	created_at     timestamptz,
	last_login_at  timestamptz,
	tokens         bytea,
	PRIMARY KEY (issuer, subject)
);
CREATE INDEX IF NOT EXISTS gatehouse_identities_user ON gatehouse_identities (user_id);

CREATE TABLE IF NOT EXISTS gatehouse_federation_flows (
	hash       bytea       NOT NULL PRIMARY KEY,
	binding    bytea       NOT NULL,
	provider   text        NOT NULL,
	return_to  text        NOT NULL DEFAULT '',
	user_id    text        NOT NULL DEFAULT '',
	created_at timestamptz,
	expires_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS gatehouse_federation_flows_expires ON gatehouse_federation_flows (expires_at);
