package sqlstore

import "strings"

// qid names one of the store's fixed queries.
type qid int

const (
	qCreateUser qid = iota
	qCountAdd
	qCount
	qUserByID
	qUserByEmail
	qUserByIDLock
	qActiveSupersLock
	qUpdateUser
	qDeleteUser
	qDeleteUserTokensExcept
	qDeleteUserSessionsExcept
	qReauthSession
	qDeleteUserSecrets
	qLockUser
	qCreateSession
	qInsertToken
	qSetLastLogin
	qSessionUser
	qUserSessions
	qLockOwnedSession
	qLockUserSessionsExcept
	qLockExpiredSessions
	qRotateSessionLock
	qRotateToken
	qMarkRotated
	qUpdateRotatedSession
	qRotateLockJoin
	qRotateApply
	qDeleteSessionTokens
	qDeleteSession
	qDeleteSecretPurpose
	qInsertSecret
	qSecretOwner
	qSecretLock
	qDeleteSecret
	qReserveAttempt
	qCodeSecret
	qExpireTokens
	qExpireSessions
	qExpireSecrets
	qListPage
	qListPageAfter
	qCounterEnsure
	qCounterLock
	qCounterGet
	qCounterUpdate
	qCounterDelete
	qExpireCounters
	qWriteLock
	qRunInsert
	qRunSeq
	qRunTypeSeq
	qRunSeqsOneType
	qFactorInsert
	qSetHasFactors
	qSyncHasFactors
	qFactorsOfUser
	qFactorByID
	qFactorUse
	qFactorDelete
	qFactorsDeleteUser
	qRecoveryDeleteUser
	qRecoveryInsert
	qRecoveryDelete
	qRecoveryCount
	qChallengeInsert
	qChallengeReserve
	qChallengeGet
	qChallengeDelete
	qChallengesDeleteUser
	qExpireChallenges
	qIdentityInsert
	qIdentityUser
	qIdentitiesOfUser
	qIdentityTouch
	qIdentityOwner
	qIdentityCount
	qIdentityDelete
	qFlowInsert
	qFlowGet
	qFlowDelete
	qExpireFlows
	qEmailLoginDeleteUser
	qEmailLoginInsert
	qEmailLoginReserve
	qEmailLoginByID
	qEmailLoginByHash
	qEmailLoginTake
	qEmailLoginDelete
	qExpireEmailLogins
	qPasskeyByCredential
	qPasskeyGet
	qPasskeyUse
	qPasskeyCount
	qCeremonyInsert
	qCeremonyGet
	qCeremonyDelete
	qExpireCeremonies
	// The PostgreSQL versions of the first statements of the transactions
	// whose commits may be deferred (CreateSession, RevokeSession,
	// RotateRefreshToken) that also turn synchronous_commit off; see
	// commitOffQID.
	qLockUserCommitOff
	qLockOwnedSessionCommitOff
	qRotateLockJoinCommitOff
	// qCounterBatch is the first of the queries of UpdateCounters, which
	// come in one version per kind and number of keys up to preparedBatch;
	// see batchQID.
	qCounterBatch
	// qRowsBatch is the first of the multi-row INSERTs of AppendRuns on
	// SQLite and MySQL, one per table and size of batchRowSizes; see
	// rowsQID.
	qRowsBatch = qCounterBatch + qid(numBatchKinds*preparedBatch)
	numQueries = qRowsBatch + qid(numRowTables*len(batchRowSizes))
)

// batchRowSizes are the row counts of AppendRuns' prepared multi-row
// INSERTs, largest first: a batch's rows are written in chunks of these
// sizes (at most 9 statements for fewer than 512 rows), so that every
// statement is prepared once per connection instead of parsed per batch.
var batchRowSizes = [...]int{256, 128, 64, 32, 16, 8, 4, 2, 1}

// The tables AppendRuns inserts rows into, by rowsQID.
const (
	rowTableRuns = iota
	rowTableEntries
	numRowTables
)

// rowsQID is the prepared INSERT of batchRowSizes[size] rows into table.
func rowsQID(table, size int) qid { return qRowsBatch + qid(table*len(batchRowSizes)+size) }

// preparedBatch is the largest number of keys of an UpdateCounters whose
// queries are prepared; larger batches build theirs per call.
const preparedBatch = 4

// batchKind names one of the statements of UpdateCounters.
type batchKind int

const (
	// batchLock reads the counters of a batch that exist and write-locks
	// them (on SQLite the transaction already holds the database's write
	// lock).
	batchLock batchKind = iota
	// batchInsert creates the counters fn set that did not exist. It fails
	// with a unique violation when a concurrent transaction created one
	// first; UpdateCounters then runs again.
	batchInsert
	// batchUpdate stores the counters fn changed that existed (and are
	// locked).
	batchUpdate
	// batchDelete forgets the counters fn left dead that existed.
	batchDelete
	numBatchKinds
)

// batchQID returns the prepared query of kind k for n keys, 1 ≤ n ≤
// preparedBatch.
func batchQID(k batchKind, n int) qid {
	return qCounterBatch + qid(int(k)*preparedBatch+n-1)
}

// counterCols are the columns of a counter row, in the order of
// counterDest.
const counterCols = "count, start_at, last_at, expires_at"

// batchTemplate returns the template of kind k for n keys in dialect d,
// with ? placeholders and {lock} markers. Rows and their arguments come in
// the order of the keys, which the caller sorts: the order in which rows
// are locked and created.
func batchTemplate(d Dialect, k batchKind, n int) string {
	const insert = "INSERT INTO gatehouse_counters (name, " + counterCols + ") VALUES "
	rows := strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?), ", n), ", ")
	switch k {
	case batchLock:
		return "SELECT name, " + counterCols + " FROM gatehouse_counters WHERE name IN (" + inList(n) + ") ORDER BY name{lock}"
	case batchInsert:
		return insert + rows
	case batchUpdate:
		// An upsert whose rows all exist: one statement for n updates.
		if d == MySQL {
			// VALUES(col) is the value the row would have had: MariaDB's
			// spelling, which MySQL 8 still accepts.
			return insert + rows + " ON DUPLICATE KEY UPDATE count = VALUES(count)," +
				" start_at = VALUES(start_at), last_at = VALUES(last_at), expires_at = VALUES(expires_at)"
		}
		return insert + rows + " ON CONFLICT (name) DO UPDATE SET count = excluded.count," +
			" start_at = excluded.start_at, last_at = excluded.last_at, expires_at = excluded.expires_at"
	case batchDelete:
		return "DELETE FROM gatehouse_counters WHERE name IN (" + inList(n) + ")"
	}
	return ""
}

// Column lists, in the order the scan helpers expect.
const (
	userCols      = "id, email, pending_email, password_hash, name, bio, profile_picture, is_superuser, is_active, is_verified, created_at, updated_at, last_login_at, tokens_valid_after, pending_email_expires_at, has_factors"
	sessionCols   = "id, user_id, created_at, authenticated_at, last_used_at, expires_at, idle_expires_at, ip, user_agent"
	factorCols    = "id, user_id, type, name, secret, created_at, confirmed_at, last_used_at, last_step, credential_id"
	challengeCols = "hash, user_id, binding, authenticated_at, expires_at, attempts"
	identityCols  = "issuer, subject, user_id, provider, email, email_verified, created_at, last_login_at, tokens"
	flowCols      = "hash, binding, provider, return_to, user_id, created_at, expires_at"
	loginCols     = "id, hash, code_hash, user_id, email, created_at, expires_at, code_expires_at, attempts"
	ceremonyCols  = "hash, purpose, user_id, data, created_at, expires_at"
	secretCols    = "hash, code_hash, purpose, user_id, email, created_at, expires_at, code_expires_at, attempts"
)

// prefixed qualifies each column of cols with alias.
func prefixed(alias, cols string) string {
	parts := strings.Split(cols, ", ")
	for i, p := range parts {
		parts[i] = alias + "." + p
	}
	return strings.Join(parts, ", ")
}

// sessionCountCol is the number of sessions of the user aliased u.
const sessionCountCol = "(SELECT COUNT(*) FROM gatehouse_sessions s WHERE s.user_id = u.id)"

// templates are the queries with ? placeholders and {lock} markers (write-lock
// the selected rows), which queries replaces for a dialect.
//
// Transactions lock rows in one order, so that they cannot deadlock each
// other: the active superusers (by ID), a user, the user's sessions (by
// ID), their refresh tokens, the user's secrets. A refresh token is only
// ever changed under its session's lock.
var templates = [numQueries]string{
	qCreateUser:       "INSERT INTO gatehouse_users (" + userCols + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	qCountAdd:         "UPDATE gatehouse_user_count SET n = n + ? WHERE id = 1",
	qCount:            "SELECT n FROM gatehouse_user_count WHERE id = 1",
	qUserByID:         "SELECT " + userCols + " FROM gatehouse_users WHERE id = ?",
	qUserByEmail:      "SELECT " + userCols + " FROM gatehouse_users WHERE email = ?",
	qUserByIDLock:     "SELECT " + userCols + " FROM gatehouse_users WHERE id = ?{lock}",
	qActiveSupersLock: "SELECT id FROM gatehouse_users WHERE is_superuser = TRUE AND is_active = TRUE ORDER BY id{lock}",
	qUpdateUser: "UPDATE gatehouse_users SET email = ?, pending_email = ?, password_hash = ?, name = ?, bio = ?, profile_picture = ?, " +
		"is_superuser = ?, is_active = ?, is_verified = ?, updated_at = ?, tokens_valid_after = ?, pending_email_expires_at = ? WHERE id = ?",
	qDeleteUser:               "DELETE FROM gatehouse_users WHERE id = ?",
	qDeleteUserTokensExcept:   "DELETE FROM gatehouse_refresh_tokens WHERE session_id IN (SELECT id FROM gatehouse_sessions WHERE user_id = ? AND id <> ?)",
	qDeleteUserSessionsExcept: "DELETE FROM gatehouse_sessions WHERE user_id = ? AND id <> ?",
	qReauthSession:            "UPDATE gatehouse_sessions SET authenticated_at = ? WHERE id = ? AND user_id = ?",
	qDeleteUserSecrets:        "DELETE FROM gatehouse_secrets WHERE user_id = ?",
	qLockUser:                 "SELECT id FROM gatehouse_users WHERE id = ?{lock}",
	qCreateSession:            "INSERT INTO gatehouse_sessions (" + sessionCols + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
	qInsertToken:              "INSERT INTO gatehouse_refresh_tokens (hash, session_id) VALUES (?, ?)",
	qSetLastLogin:             "UPDATE gatehouse_users SET last_login_at = ? WHERE id = ?",
	qSessionUser: "SELECT " + prefixed("s", sessionCols) + ", " + prefixed("u", userCols) +
		" FROM gatehouse_sessions s JOIN gatehouse_users u ON u.id = s.user_id WHERE s.id = ?",
	qUserSessions: "SELECT " + sessionCols + " FROM gatehouse_sessions WHERE user_id = ? AND expires_at > ? AND idle_expires_at > ?" +
		" ORDER BY created_at DESC, id",
	qLockOwnedSession:       "SELECT id FROM gatehouse_sessions WHERE id = ? AND user_id = ?{lock}",
	qLockUserSessionsExcept: "SELECT id FROM gatehouse_sessions WHERE user_id = ? AND id <> ? ORDER BY id{lock}",
	qLockExpiredSessions:    "SELECT id FROM gatehouse_sessions WHERE expires_at <= ? OR idle_expires_at <= ? ORDER BY id{lock}",
	// The subquery finds the token's session without locking the token;
	// only the session row is locked.
	qRotateSessionLock: "SELECT " + sessionCols + " FROM gatehouse_sessions" +
		" WHERE id = (SELECT session_id FROM gatehouse_refresh_tokens WHERE hash = ?){lock}",
	qRotateToken: "SELECT t.rotated_at, t.session_id, " + prefixed("u", userCols) +
		" FROM gatehouse_refresh_tokens t JOIN gatehouse_users u ON u.id = ? WHERE t.hash = ?",
	qMarkRotated:          "UPDATE gatehouse_refresh_tokens SET rotated_at = ? WHERE hash = ?",
	qUpdateRotatedSession: "UPDATE gatehouse_sessions SET last_used_at = ?, idle_expires_at = ?, ip = ?, user_agent = ? WHERE id = ?",
	// qRotateLockJoin, qRotateApply and qWriteLock have a version only
	// for the dialects in dialectTemplates.
	qDeleteSessionTokens: "DELETE FROM gatehouse_refresh_tokens WHERE session_id = ?",
	qDeleteSession:       "DELETE FROM gatehouse_sessions WHERE id = ?",
	qDeleteSecretPurpose: "DELETE FROM gatehouse_secrets WHERE user_id = ? AND purpose = ?",
	qInsertSecret:        "INSERT INTO gatehouse_secrets (" + secretCols + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
	qSecretOwner:         "SELECT user_id FROM gatehouse_secrets WHERE hash = ?",
	qSecretLock:          "SELECT " + secretCols + " FROM gatehouse_secrets WHERE hash = ?{lock}",
	qDeleteSecret:        "DELETE FROM gatehouse_secrets WHERE hash = ?",
	qReserveAttempt: "UPDATE gatehouse_secrets SET attempts = attempts + 1" +
		" WHERE user_id = ? AND purpose = ? AND code_hash IS NOT NULL AND code_expires_at > ? AND attempts < ?",
	qCodeSecret: "SELECT " + secretCols + " FROM gatehouse_secrets" +
		" WHERE user_id = ? AND purpose = ? AND code_hash IS NOT NULL AND code_expires_at > ?",
	qExpireTokens: "DELETE FROM gatehouse_refresh_tokens WHERE session_id IN" +
		" (SELECT id FROM gatehouse_sessions WHERE expires_at <= ? OR idle_expires_at <= ?)",
	qExpireSessions: "DELETE FROM gatehouse_sessions WHERE expires_at <= ? OR idle_expires_at <= ?",
	qExpireSecrets:  "DELETE FROM gatehouse_secrets WHERE expires_at <= ?",
	qListPage: "SELECT " + prefixed("u", userCols) + ", " + sessionCountCol +
		" FROM gatehouse_users u ORDER BY u.email LIMIT ? OFFSET ?",
	qListPageAfter: "SELECT " + prefixed("u", userCols) + ", " + sessionCountCol +
		" FROM gatehouse_users u WHERE u.email > ? ORDER BY u.email LIMIT ? OFFSET ?",
	// A missing counter is created expired, so that the hit that follows
	// starts its first life; an existing one is left alone.
	qCounterEnsure:  "INSERT INTO gatehouse_counters (name, count, start_at, last_at, expires_at) VALUES (?, 0, ?, ?, ?) ON CONFLICT (name) DO NOTHING",
	qCounterLock:    "SELECT count, start_at, last_at, expires_at FROM gatehouse_counters WHERE name = ?{lock}",
	qCounterGet:     "SELECT count, start_at, last_at, expires_at FROM gatehouse_counters WHERE name = ?",
	qCounterUpdate:  "UPDATE gatehouse_counters SET count = ?, start_at = ?, last_at = ?, expires_at = ? WHERE name = ?",
	qCounterDelete:  "DELETE FROM gatehouse_counters WHERE name = ?",
	qExpireCounters: "DELETE FROM gatehouse_counters WHERE expires_at <= ?",

	// The audit log (runs.go). qRunSeq and qRunTypeSeq hand out the next
	// place in the log and among the runs of a type, locking their rows.
	qRunInsert:  "INSERT INTO gatehouse_runs (seq, id, run_type, type_seq, user_id, at) VALUES (?, ?, ?, ?, ?, ?)",
	qRunSeq:     "UPDATE gatehouse_run_seqs SET last = last + 1 WHERE run_type = '' RETURNING last",
	qRunTypeSeq: "INSERT INTO gatehouse_run_seqs (run_type, last) VALUES (?, 1) ON CONFLICT (run_type) DO UPDATE SET last = gatehouse_run_seqs.last + 1 RETURNING last",

	// Second factors (factors.go). UseFactor and ReserveChallengeAttempt
	// are conditional UPDATEs, so concurrent calls cannot both pass.
	qFactorInsert:  "INSERT INTO gatehouse_factors (" + factorCols + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	qFactorsOfUser: "SELECT " + factorCols + " FROM gatehouse_factors WHERE user_id = ? ORDER BY created_at, id",
	qFactorByID:    "SELECT " + factorCols + " FROM gatehouse_factors WHERE id = ? AND user_id = ?",
	qFactorUse: "UPDATE gatehouse_factors SET last_step = ?, last_used_at = ?, confirmed_at = COALESCE(confirmed_at, ?)" +
		" WHERE id = ? AND user_id = ? AND last_step < ?",
	qFactorDelete: "DELETE FROM gatehouse_factors WHERE id = ? AND user_id = ?",
	// store.User.HasFactors follows the factors, in the same transaction,
	// which has locked the user first (qLockUser).
	qSetHasFactors: "UPDATE gatehouse_users SET has_factors = ? WHERE id = ?",
	qSyncHasFactors: "UPDATE gatehouse_users SET has_factors = EXISTS" +
		" (SELECT 1 FROM gatehouse_factors f WHERE f.user_id = ? AND f.confirmed_at IS NOT NULL) WHERE id = ?",
	qFactorsDeleteUser:  "DELETE FROM gatehouse_factors WHERE user_id = ?",
	qRecoveryDeleteUser: "DELETE FROM gatehouse_recovery_codes WHERE user_id = ?",
	qRecoveryInsert:     "INSERT INTO gatehouse_recovery_codes (user_id, hash) VALUES (?, ?)",
	qRecoveryDelete:     "DELETE FROM gatehouse_recovery_codes WHERE user_id = ? AND hash = ?",
	qRecoveryCount:      "SELECT COUNT(*) FROM gatehouse_recovery_codes WHERE user_id = ?",
	qChallengeInsert:    "INSERT INTO gatehouse_challenges (" + challengeCols + ") VALUES (?, ?, ?, ?, ?, ?)",
	qChallengeReserve:   "UPDATE gatehouse_challenges SET attempts = attempts + 1 WHERE hash = ? AND expires_at > ? AND attempts < ?",
	qChallengeGet: "SELECT " + prefixed("c", challengeCols) + ", " + prefixed("u", userCols) +
		" FROM gatehouse_challenges c JOIN gatehouse_users u ON u.id = c.user_id WHERE c.hash = ? AND c.expires_at > ?",
	qChallengeDelete:      "DELETE FROM gatehouse_challenges WHERE hash = ?",
	qChallengesDeleteUser: "DELETE FROM gatehouse_challenges WHERE user_id = ?",
	qExpireChallenges:     "DELETE FROM gatehouse_challenges WHERE expires_at <= ?",

	// Federated identities and flows (identities.go). TakeFlow reads the
	// row, then deletes it with the expiry in the condition: the delete
	// that affects the row is the one use.
	qIdentityInsert: "INSERT INTO gatehouse_identities (" + identityCols + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
	qIdentityUser: "SELECT " + prefixed("i", identityCols) + ", " + prefixed("u", userCols) +
		" FROM gatehouse_identities i JOIN gatehouse_users u ON u.id = i.user_id WHERE i.issuer = ? AND i.subject = ?",
	qIdentitiesOfUser: "SELECT " + identityCols + " FROM gatehouse_identities WHERE user_id = ? ORDER BY created_at, issuer, subject",
	qIdentityTouch:    "UPDATE gatehouse_identities SET last_login_at = ?, email = ?, email_verified = ?, tokens = ? WHERE issuer = ? AND subject = ?",
	qIdentityOwner:    "SELECT user_id FROM gatehouse_identities WHERE issuer = ? AND subject = ?",
	qIdentityCount:    "SELECT COUNT(*) FROM gatehouse_identities WHERE user_id = ?",
	qIdentityDelete:   "DELETE FROM gatehouse_identities WHERE issuer = ? AND subject = ? AND user_id = ?",
	qFlowInsert:       "INSERT INTO gatehouse_federation_flows (" + flowCols + ") VALUES (?, ?, ?, ?, ?, ?, ?)",
	qFlowGet:          "SELECT " + flowCols + " FROM gatehouse_federation_flows WHERE hash = ?",
	qFlowDelete:       "DELETE FROM gatehouse_federation_flows WHERE hash = ? AND expires_at > ?",
	qExpireFlows:      "DELETE FROM gatehouse_federation_flows WHERE expires_at <= ?",

	// Passwordless email logins (emaillogins.go). Reserving an attempt is a
	// conditional UPDATE; taking and deleting are DELETEs whose affected
	// count names the one winner.
	qEmailLoginDeleteUser: "DELETE FROM gatehouse_email_logins WHERE user_id = ?",
	qEmailLoginInsert:     "INSERT INTO gatehouse_email_logins (" + loginCols + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
	qEmailLoginReserve:    "UPDATE gatehouse_email_logins SET attempts = attempts + 1 WHERE id = ? AND code_expires_at > ? AND attempts < ?",
	qEmailLoginByID: "SELECT " + prefixed("l", loginCols) + ", " + prefixed("u", userCols) +
		" FROM gatehouse_email_logins l JOIN gatehouse_users u ON u.id = l.user_id WHERE l.id = ? AND l.code_expires_at > ?",
	qEmailLoginByHash: "SELECT " + prefixed("l", loginCols) + ", " + prefixed("u", userCols) +
		" FROM gatehouse_email_logins l JOIN gatehouse_users u ON u.id = l.user_id WHERE l.hash = ? AND l.expires_at > ?",
	qEmailLoginTake:    "DELETE FROM gatehouse_email_logins WHERE hash = ? AND expires_at > ?",
	qEmailLoginDelete:  "DELETE FROM gatehouse_email_logins WHERE id = ?",
	qExpireEmailLogins: "DELETE FROM gatehouse_email_logins WHERE expires_at <= ?",
	// Passkeys and ceremonies (passkeys.go). UsePasskey is a conditional
	// UPDATE on the signature counter; its last argument is 0 for an
	// assertion without a counter (which may follow a stored 0) and -1
	// otherwise (matching no counter). TakeCeremony deletes the row it
	// read: the delete that affects it is the one use.
	qPasskeyByCredential: "SELECT " + prefixed("f", factorCols) + ", " + prefixed("u", userCols) +
		" FROM gatehouse_factors f JOIN gatehouse_users u ON u.id = f.user_id WHERE f.credential_id = ? AND f.type = 'passkey'",
	qPasskeyGet: "SELECT " + factorCols + " FROM gatehouse_factors WHERE id = ? AND user_id = ? AND type = 'passkey'",
	qPasskeyUse: "UPDATE gatehouse_factors SET last_step = ?, last_used_at = ?" +
		" WHERE id = ? AND user_id = ? AND type = 'passkey' AND (last_step < ? OR last_step = ?)",
	qPasskeyCount:     "SELECT COUNT(*) FROM gatehouse_factors WHERE user_id = ? AND type = 'passkey'",
	qCeremonyInsert:   "INSERT INTO gatehouse_ceremonies (" + ceremonyCols + ") VALUES (?, ?, ?, ?, ?, ?)",
	qCeremonyGet:      "SELECT " + ceremonyCols + " FROM gatehouse_ceremonies WHERE hash = ?",
	qCeremonyDelete:   "DELETE FROM gatehouse_ceremonies WHERE hash = ?",
	qExpireCeremonies: "DELETE FROM gatehouse_ceremonies WHERE expires_at <= ?",
}

// dialectTemplates are the queries that only some dialects have (most
// save round trips on the hot path of RotateRefreshToken), and some
// dialects' own versions of templates.
var dialectTemplates = map[Dialect]map[qid]string{
	SQLite: {
		// The first statement of every write transaction: it takes the
		// database's write lock at once (as BEGIN IMMEDIATE would), so that
		// concurrent writers queue on the busy timeout instead of failing
		// to upgrade a read lock.
		qWriteLock: "UPDATE gatehouse_user_count SET n = n WHERE 0",
		// AppendRuns' reservation of a batch of one type: the log's
		// sequence row and the type's in one statement (see
		// reserveSQLiteSeqs).
		qRunSeqsOneType: runSeqsUpsert + "('', ?), (?, ?)" + runSeqsReturning,
	},
	Postgres: {
		// Locks the session, then the token (in the order the OF list
		// gives), and reads the user, in one statement. After waiting for
		// a lock, PostgreSQL re-reads both locked rows, so a token rotated
		// meanwhile is seen as rotated.
		qRotateLockJoin: "SELECT t.rotated_at, " + prefixed("s", sessionCols) + ", " + prefixed("u", userCols) +
			" FROM gatehouse_sessions s JOIN gatehouse_refresh_tokens t ON t.session_id = s.id JOIN gatehouse_users u ON u.id = s.user_id" +
			" WHERE t.hash = ? FOR UPDATE OF s, t",
		// Inserts the new token, marks the old one rotated and updates the
		// session, in one statement. Arguments: new hash, session ID, now,
		// old hash, now, idle deadline, IP, user agent, session ID.
		qRotateApply: "WITH ins AS (INSERT INTO gatehouse_refresh_tokens (hash, session_id) VALUES (?, ?))," +
			" mark AS (UPDATE gatehouse_refresh_tokens SET rotated_at = ? WHERE hash = ?)" +
			" UPDATE gatehouse_sessions SET last_used_at = ?, idle_expires_at = ?, ip = ?, user_agent = ? WHERE id = ?",
	},
	MySQL: {
		// No RETURNING: the new value comes back as LAST_INSERT_ID.
		qRunSeq:     "UPDATE gatehouse_run_seqs SET last = LAST_INSERT_ID(last + 1) WHERE run_type = ''",
		qRunTypeSeq: "INSERT INTO gatehouse_run_seqs (run_type, last) VALUES (?, LAST_INSERT_ID(1)) ON DUPLICATE KEY UPDATE last = LAST_INSERT_ID(last + 1)",
		qCounterEnsure: "INSERT INTO gatehouse_counters (name, count, start_at, last_at, expires_at) VALUES (?, 0, ?, ?, ?)" +
			" ON DUPLICATE KEY UPDATE name = name",
		// Marks the old token rotated and updates the session in one
		// multi-table UPDATE. Arguments: now, now, idle deadline, IP, user
		// agent, old hash, session ID.
		qRotateApply: "UPDATE gatehouse_refresh_tokens t, gatehouse_sessions s" +
			" SET t.rotated_at = ?, s.last_used_at = ?, s.idle_expires_at = ?, s.ip = ?, s.user_agent = ?" +
			" WHERE t.hash = ? AND s.id = ?",
	},
}

// queries returns the templates rewritten for d: markers replaced and
// placeholders rebound; a query the dialect does not have is empty. New
// calls it once.
func queries(d Dialect) [numQueries]string {
	r := strings.NewReplacer("{lock}", d.forUpdate())
	var out [numQueries]string
	for i, t := range templates {
		if alt, ok := dialectTemplates[d][qid(i)]; ok {
			t = alt
		}
		if t != "" {
			out[i] = d.rebind(r.Replace(t))
		}
	}
	if d == Postgres {
		for _, id := range []qid{qLockUser, qLockOwnedSession, qRotateLockJoin} {
			off, _ := commitOffQID(id)
			out[off] = withCommitOff(out[id])
		}
	}
	if d != Postgres { // which takes a batch as arrays (pgBatchInsert)
		for i, n := range batchRowSizes {
			out[rowsQID(rowTableRuns, i)] = d.rebind(d.rowsInsert(runRowsInsert) + valueRows(runRowArgs, n))
			out[rowsQID(rowTableEntries, i)] = d.rebind(d.rowsInsert(entryRowsInsert) + valueRows(entryRowArgs, n))
		}
	}
	for k := range numBatchKinds {
		for n := 1; n <= preparedBatch; n++ {
			if t := batchTemplate(d, k, n); t != "" {
				out[batchQID(k, n)] = d.rebind(r.Replace(t))
			}
		}
	}
	return out
}

// rowsInsert returns insert, a multi-row INSERT of the audit log's runs or
// entries (AppendRuns, AppendRun), for d. On SQLite it is INSERT OR
// ROLLBACK: a statement that writes several rows
// and may abort on a constraint (ABORT, the default, undoes just the
// statement) keeps a statement journal of every page it changes, which
// past 64 KiB SQLite spills to a temporary file it creates for the
// statement. A failed batch is rolled back as a whole anyway, so ROLLBACK
// loses nothing, and with the WITHOUT ROWID tables of migration 13 the
// INSERTs need no journal.
func (d Dialect) rowsInsert(insert string) string {
	if d == SQLite {
		return strings.Replace(insert, "INSERT INTO", "INSERT OR ROLLBACK INTO", 1)
	}
	return insert
}

// commitOffQID returns the version of query id that also turns
// synchronous_commit off for the rest of its transaction (on PostgreSQL;
// see querier.turnOff), if it has one.
func commitOffQID(id qid) (qid, bool) {
	switch id {
	case qLockUser:
		return qLockUserCommitOff, true
	case qLockOwnedSession:
		return qLockOwnedSessionCommitOff, true
	case qRotateLockJoin:
		return qRotateLockJoinCommitOff, true
	}
	return id, false
}

// commitOffCond is the condition withCommitOff adds: an uncorrelated
// subquery, which PostgreSQL runs once, as an InitPlan, before the
// statement reads any row (a one-time filter), so it turns the setting off
// whether or not the statement finds rows; set_config with is_local true
// is SET LOCAL, undone when the transaction ends.
const commitOffCond = " AND (SELECT set_config('synchronous_commit', 'off', true)) = 'off'"

// withCommitOff returns query, a locking SELECT of PostgreSQL whose WHERE
// clause ends before its FOR UPDATE, with commitOffCond added to that
// clause; or "" (no such version) when query has no FOR UPDATE.
func withCommitOff(query string) string {
	where, lock, ok := strings.Cut(query, " FOR UPDATE")
	if !ok {
		return ""
	}
	return where + commitOffCond + " FOR UPDATE" + lock
}

// inList returns n placeholders separated by commas, for an IN list.
func inList(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
