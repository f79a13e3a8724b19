-- Gatehouse schema for MySQL and MariaDB, version 11: passwordless email
-- logins (store.EmailLogins). A login holds only the SHA-256 of its link
-- token and the caller's keyed hash of its short code; a user has at most
-- one. Every statement may run again.

CREATE TABLE IF NOT EXISTS gatehouse_email_logins (
	id              VARBINARY(128) NOT NULL,
	hash            VARBINARY(64)  NOT NULL,
	code_hash       VARBINARY(128) NOT NULL,
	user_id         VARBINARY(128) NOT NULL,
	email           TEXT           NOT NULL,
	created_at      DATETIME(6),
	expires_at      DATETIME(6)    NOT NULL,
	code_expires_at DATETIME(6)    NOT NULL,
	attempts        INT            NOT NULL DEFAULT 0,
	PRIMARY KEY (id),
	UNIQUE KEY gatehouse_email_logins_hash (hash),
	UNIQUE KEY gatehouse_email_logins_user (user_id),
	KEY gatehouse_email_logins_expires (expires_at),
	CONSTRAINT gatehouse_email_logins_user_fk FOREIGN KEY (user_id)
		REFERENCES gatehouse_users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
