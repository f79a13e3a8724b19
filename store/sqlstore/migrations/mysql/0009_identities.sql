-- Gatehouse schema for MySQL and MariaDB, version 9: federated identities
-- and started federated logins (store.Identities). Provider tokens arrive
-- sealed by the caller; flows hold only hashes. Every statement may run
-- again.

CREATE TABLE IF NOT EXISTS gatehouse_identities (
	issuer         VARBINARY(512) NOT NULL,
	subject        VARBINARY(255) NOT NULL,
	user_id        VARBINARY(128) NOT NULL,
	provider       VARBINARY(64)  NOT NULL DEFAULT '',
	email          TEXT           NOT NULL,
	email_verified BOOLEAN        NOT NULL DEFAULT FALSE,
	created_at     DATETIME(6),
	last_login_at  DATETIME(6),
	tokens         BLOB,
	PRIMARY KEY (issuer, subject),
	KEY gatehouse_identities_user (user_id),
	CONSTRAINT gatehouse_identities_user_fk FOREIGN KEY (user_id)
		REFERENCES gatehouse_users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS gatehouse_federation_flows (
	hash       VARBINARY(64)  NOT NULL,
	binding    VARBINARY(64)  NOT NULL,
	provider   VARBINARY(64)  NOT NULL,
	return_to  TEXT           NOT NULL,
	user_id    VARBINARY(128) NOT NULL DEFAULT '',
	created_at DATETIME(6),
	expires_at DATETIME(6)    NOT NULL,
	PRIMARY KEY (hash),
	KEY gatehouse_federation_flows_expires (expires_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
