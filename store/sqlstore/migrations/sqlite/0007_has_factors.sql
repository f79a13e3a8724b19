-- Gatehouse schema for SQLite, version 7: whether a user has a confirmed
-- second factor of any type (store.User.HasFactors), kept by the factor
-- operations, so that a login or a profile read needs no factor read.
-- Existing users take it from their confirmed factors.

ALTER TABLE gatehouse_users ADD COLUMN has_factors INTEGER NOT NULL DEFAULT 0;

UPDATE gatehouse_users SET has_factors = EXISTS (
	SELECT 1 FROM gatehouse_factors f
	WHERE f.user_id = gatehouse_users.id AND f.confirmed_at IS NOT NULL
);
