-- Gatehouse schema for MySQL and MariaDB, version 6: second factors
-- (store.SecondFactors). Secrets arrive sealed by the caller; recovery
-- codes and challenges only as hashes. Every statement may run again.

CREATE TABLE IF NOT EXISTS gatehouse_factors (
	id           VARBINARY(128) NOT NULL,
	user_id      VARBINARY(128) NOT NULL,
	type         VARBINARY(64)  NOT NULL,
	name         TEXT           NOT NULL,
	secret       BLOB           NOT NULL,
	created_at   DATETIME(6),
	confirmed_at DATETIME(6),
	last_used_at DATETIME(6),
	last_step    BIGINT         NOT NULL DEFAULT 0,
	PRIMARY KEY (id),
	KEY gatehouse_factors_user (user_id),
	CONSTRAINT gatehouse_factors_user_fk FOREIGN KEY (user_id)
		REFERENCES gatehouse_users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS gatehouse_recovery_codes (
	user_id VARBINARY(128) NOT NULL,
	hash    VARBINARY(64)  NOT NULL,
	PRIMARY KEY (user_id, hash),
	CONSTRAINT gatehouse_recovery_codes_user_fk FOREIGN KEY (user_id)
		REFERENCES gatehouse_users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS gatehouse_challenges (
	hash             VARBINARY(64)  NOT NULL,
	user_id          VARBINARY(128) NOT NULL,
	binding          VARBINARY(64)  NOT NULL,
	authenticated_at DATETIME(6),
	expires_at       DATETIME(6)    NOT NULL,
	attempts         INT            NOT NULL DEFAULT 0,
	PRIMARY KEY (hash),
	KEY gatehouse_challenges_user (user_id),
	KEY gatehouse_challenges_expires (expires_at),
	CONSTRAINT gatehouse_challenges_user_fk FOREIGN KEY (user_id)
		REFERENCES gatehouse_users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
