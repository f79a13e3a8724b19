package sqlstore

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

// CreateSession stores sess with refreshHash as its current refresh token
// and sets the user's LastLoginAt to sess.CreatedAt, in one transaction. It
// returns [store.ErrNotFound] for an unknown user and [store.ErrConflict]
// when the session ID or the refresh hash is in use.
func (s *Store) CreateSession(ctx context.Context, sess *store.Session, refreshHash []byte) error {
	args := s.sessionArgs(sess)
	hash := bytes.Clone(refreshHash)
	err := s.write(ctx, func(q querier) error {
		var id string
		if err := q.row(ctx, qLockUser, sess.UserID).Scan(&id); err != nil {
			return notFound(err)
		}
		if _, err := q.exec(ctx, qCreateSession, args...); err != nil {
			return conflict(err)
		}
		if _, err := q.exec(ctx, qInsertToken, hash, sess.ID); err != nil {
			return conflict(err)
		}
		_, err := q.exec(ctx, qSetLastLogin, s.d.nullable(sess.CreatedAt), sess.UserID)
		return err
	})
	return wrap("create session", err)
}

// SessionUser returns the session with that ID and its user, read in one
// query, or [store.ErrNotFound]. It does not check liveness.
func (s *Store) SessionUser(ctx context.Context, id string) (*store.Session, *store.User, error) {
	q, err := s.read(ctx)
	if err != nil {
		return nil, nil, wrap("session user", err)
	}
	sess, u := new(store.Session), new(store.User)
	if err := q.row(ctx, qSessionUser, id).Scan(append(s.sessionDest(sess), s.userDest(u)...)...); err != nil {
		return nil, nil, wrap("session user", notFound(err))
	}
	return sess, u, nil
}

// UserSessions returns the user's sessions that are live at now, newest (by
// CreatedAt) first.
func (s *Store) UserSessions(ctx context.Context, userID string, now time.Time) ([]store.Session, error) {
	q, err := s.read(ctx)
	if err != nil {
		return nil, wrap("user sessions", err)
	}
	at := s.d.instant(now)
	rows, err := q.query(ctx, qUserSessions, userID, at, at)
	if err != nil {
		return nil, wrap("user sessions", err)
	}
	defer rows.Close()
	var out []store.Session
	for rows.Next() {
		var sess store.Session
		if err := rows.Scan(s.sessionDest(&sess)...); err != nil {
			return nil, wrap("user sessions", err)
		}
		out = append(out, sess)
	}
	return out, wrap("user sessions", rows.Err())
}

// RevokeSession deletes the session and its refresh tokens. It returns
// [store.ErrNotFound] unless a session with that ID belongs to userID.
func (s *Store) RevokeSession(ctx context.Context, userID, id string) error {
	err := s.write(ctx, func(q querier) error {
		n, err := lockRows(ctx, q, qLockOwnedSession, id, userID)
		if err != nil {
			return err
		}
		if n == 0 {
			return store.ErrNotFound
		}
		return deleteSession(ctx, q, id)
	})
	return wrap("revoke session", err)
}

// RevokeUserSessions deletes every session of the user except the one whose
// ID is except, with their refresh tokens, and returns how many sessions it
// deleted.
func (s *Store) RevokeUserSessions(ctx context.Context, userID, except string) (int, error) {
	var n int64
	err := s.write(ctx, func(q querier) error {
		var err error
		n, err = s.revokeSessions(ctx, q, userID, except)
		return err
	})
	if err != nil {
		return 0, wrap("revoke user sessions", err)
	}
	return int(n), nil
}

// revokeSessions deletes the user's sessions but except (none when empty),
// with their refresh tokens, and returns how many sessions it deleted. It
// locks the sessions before touching their tokens, the order in which a
// rotation takes them, so a rotation either finishes first (and its new
// token is deleted here) or finds its session gone.
func (s *Store) revokeSessions(ctx context.Context, q querier, userID, except string) (int64, error) {
	if _, err := lockRows(ctx, q, qLockUserSessionsExcept, userID, except); err != nil {
		return 0, err
	}
	if _, err := q.exec(ctx, qDeleteUserTokensExcept, userID, except); err != nil {
		return 0, err
	}
	return q.execN(ctx, qDeleteUserSessionsExcept, userID, except)
}

// deleteSession deletes a locked session and its refresh tokens.
func deleteSession(ctx context.Context, q querier, id string) error {
	if _, err := q.exec(ctx, qDeleteSessionTokens, id); err != nil {
		return err
	}
	_, err := q.exec(ctx, qDeleteSession, id)
	return err
}

// lockRows runs a locking SELECT and returns how many rows it locked.
func lockRows(ctx context.Context, q querier, id qid, args ...any) (int, error) {
	rows, err := q.query(ctx, id, args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		n++
	}
	return n, rows.Err()
}

// RotateRefreshToken replaces r.Old with r.New as [store.RefreshTokens]
// describes, in one transaction, and returns the updated session and its
// user. It locks the token's session first and only then reads the token:
// every change to a session's tokens happens under the session's lock, so
// of concurrent rotations of one token exactly one finds it current, and
// the others, run after it, find it rotated.
func (s *Store) RotateRefreshToken(ctx context.Context, r store.Rotation) (*store.Session, *store.User, error) {
	old, next := bytes.Clone(r.Old), bytes.Clone(r.New)
	now := r.Now.UTC().Truncate(time.Microsecond)
	var (
		sess  *store.Session
		u     *store.User
		reuse *store.ReuseError
	)
	err := s.write(ctx, func(q querier) error {
		sess, u, reuse = nil, nil, nil
		cur, owner := new(store.Session), new(store.User)
		var rotatedAt time.Time
		if s.d == Postgres {
			dest := append([]any{timeCol{s.d, &rotatedAt}}, s.sessionDest(cur)...)
			if err := q.row(ctx, qRotateLockJoin, old).Scan(append(dest, s.userDest(owner)...)...); err != nil {
				return notFound(err)
			}
		} else {
			if err := q.row(ctx, qRotateSessionLock, old).Scan(s.sessionDest(cur)...); err != nil {
				return notFound(err)
			}
			var sessionID string
			dest := append([]any{timeCol{s.d, &rotatedAt}, &sessionID}, s.userDest(owner)...)
			if err := q.row(ctx, qRotateToken, cur.UserID, old).Scan(dest...); err != nil {
				return notFound(err) // the session was revoked meanwhile
			}
			if sessionID != cur.ID {
				return store.ErrNotFound // unreachable: a token never changes session
			}
		}
		if !rotatedAt.IsZero() {
			grace := r.ReuseGrace > 0 && now.Sub(rotatedAt) < r.ReuseGrace
			if !grace {
				if err := deleteSession(ctx, q, cur.ID); err != nil {
					return err
				}
			}
			// Commit the revocation; the caller gets the reuse error.
			reuse = &store.ReuseError{SessionID: cur.ID, UserID: cur.UserID, Revoked: !grace}
			return nil
		}
		if !cur.Live(now) {
			return fmt.Errorf("session expired: %w", store.ErrNotFound)
		}
		idle := r.IdleExpiresAt.UTC().Truncate(time.Microsecond)
		if idle.After(cur.ExpiresAt) {
			idle = cur.ExpiresAt
		}
		cur.LastUsedAt, cur.IdleExpiresAt = now, idle
		if r.IP != "" {
			cur.IP = r.IP
		}
		if r.UserAgent != "" {
			cur.UserAgent = r.UserAgent
		}
		at, idleAt := s.d.instant(now), s.d.instant(idle)
		switch s.d {
		case Postgres:
			if _, err := q.exec(ctx, qRotateApply, next, cur.ID, at, old, at, idleAt, cur.IP, cur.UserAgent, cur.ID); err != nil {
				return conflict(err)
			}
		case MySQL:
			if _, err := q.exec(ctx, qInsertToken, next, cur.ID); err != nil {
				return conflict(err)
			}
			if _, err := q.exec(ctx, qRotateApply, at, at, idleAt, cur.IP, cur.UserAgent, old, cur.ID); err != nil {
				return err
			}
		default:
			if _, err := q.exec(ctx, qInsertToken, next, cur.ID); err != nil {
				return conflict(err)
			}
			if _, err := q.exec(ctx, qMarkRotated, at, old); err != nil {
				return err
			}
			if _, err := q.exec(ctx, qUpdateRotatedSession, at, idleAt, cur.IP, cur.UserAgent, cur.ID); err != nil {
				return err
			}
		}
		sess, u = cur, owner
		return nil
	})
	switch {
	case err != nil:
		return nil, nil, wrap("rotate refresh token", err)
	case reuse != nil:
		return nil, nil, reuse
	}
	return sess, u, nil
}

// DeleteExpired deletes the sessions that are not live at before, with
// their refresh tokens, the secrets, login challenges, federation flows
// and email logins whose ExpiresAt is not after before and the counters
// that have expired at before, in one transaction. It returns the number
// of sessions, secrets, challenges, flows, email logins and counters
// deleted; refresh tokens are not counted. The expiry columns are indexed,
// so a call costs what it deletes, not the size of the tables.
func (s *Store) DeleteExpired(ctx context.Context, before time.Time) (int, error) {
	at := s.d.instant(before)
	var n int64
	err := s.write(ctx, func(q querier) error {
		if _, err := lockRows(ctx, q, qLockExpiredSessions, at, at); err != nil {
			return err
		}
		if _, err := q.exec(ctx, qExpireTokens, at, at); err != nil {
			return err
		}
		sessions, err := q.execN(ctx, qExpireSessions, at, at)
		if err != nil {
			return err
		}
		secrets, err := q.execN(ctx, qExpireSecrets, at)
		if err != nil {
			return err
		}
		challenges, err := q.execN(ctx, qExpireChallenges, at)
		if err != nil {
			return err
		}
		flows, err := q.execN(ctx, qExpireFlows, at)
		if err != nil {
			return err
		}
		logins, err := q.execN(ctx, qExpireEmailLogins, at)
		if err != nil {
			return err
		}
		counters, err := q.execN(ctx, qExpireCounters, at)
		n = sessions + secrets + challenges + flows + logins + counters
		return err
	})
	if err != nil {
		return 0, wrap("delete expired", err)
	}
	return int(n), nil
}
