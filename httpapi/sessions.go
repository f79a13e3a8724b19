package httpapi

import (
	"errors"
	"net/http"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/httperr"
	"github.com/gatehouse-go/gatehouse/store"
)

// The session endpoints are ours (R2R had none); docs/http-api.md,
// "Sessions", describes them.

var errSessionNotFound = &apiError{Status: http.StatusNotFound, Type: httperr.TypeNotFound, Message: "Session not found"}

// sessionJSON describes a live session to its user or a superuser. It has
// no field for a token or a hash: the ID names the session for revocation
// and is no credential.
type sessionJSON struct {
	ID         string  `json:"id"`
	CreatedAt  string  `json:"created_at"`
	LastUsedAt string  `json:"last_used_at"`
	ExpiresAt  string  `json:"expires_at"`
	IP         *string `json:"ip"`
	UserAgent  *string `json:"user_agent"`
	// Current marks the session of the request's own access token.
	Current bool `json:"current"`
}

// revokedJSON confirms an operation that ended sessions.
type revokedJSON struct {
	Message string `json:"message"`
	Revoked int    `json:"revoked"`
}

func newSessionsJSON(ss []store.Session, id *auth.Identity) []sessionJSON {
	out := make([]sessionJSON, 0, len(ss))
	for _, s := range ss {
		out = append(out, sessionJSON{
			ID:         s.ID,
			CreatedAt:  timestamp(s.CreatedAt),
			LastUsedAt: timestamp(s.LastUsedAt),
			ExpiresAt:  timestamp(s.ExpiresAt),
			IP:         nullable(s.IP),
			UserAgent:  nullable(s.UserAgent),
			Current:    id.Session != nil && s.ID == id.Session.ID,
		})
	}
	return out
}

// listSessions answers GET /sessions: the caller's live sessions, newest
// first.
func (a *API) listSessions(w http.ResponseWriter, r *http.Request) {
	id, _ := auth.IdentityFromContext(r.Context())
	ss, err := a.m.Sessions(r.Context(), id, "")
	if err != nil {
		a.fail(w, r, err, opDefault)
		return
	}
	ok(w, newSessionsJSON(ss, id))
}

// revokeSession answers DELETE /sessions/{session_id}: one of the caller's
// own sessions ends (the current one too, like a logout). A session that
// does not exist, has ended, or is someone else's is 404, the same answer
// for all three (SECURITY.md #57).
func (a *API) revokeSession(w http.ResponseWriter, r *http.Request) {
	sid, err := parseUUID(r.PathValue("session_id"))
	if err != nil {
		a.fail(w, r, errSessionNotFound, opDefault)
		return
	}
	id, _ := auth.IdentityFromContext(r.Context())
	err = a.m.RevokeSession(r.Context(), id, "", sid)
	if errors.Is(err, auth.ErrNotFound) {
		err = errSessionNotFound
	}
	if err != nil {
		a.fail(w, r, err, opDefault)
		return
	}
	ok(w, message{"Session revoked"})
}

// revokeOtherSessions answers POST /sessions/revoke_others: every session
// of the caller but the current one ends. Any body is ignored.
func (a *API) revokeOtherSessions(w http.ResponseWriter, r *http.Request) {
	id, _ := auth.IdentityFromContext(r.Context())
	n, err := a.m.RevokeOtherSessions(r.Context(), id, "")
	if err != nil {
		a.fail(w, r, err, opDefault)
		return
	}
	ok(w, revokedJSON{Message: "Other sessions revoked", Revoked: n})
}

// logoutEverywhere answers POST /logout_everywhere: every session of the
// caller ends, this one included. Any body is ignored.
func (a *API) logoutEverywhere(w http.ResponseWriter, r *http.Request) {
	id, _ := auth.IdentityFromContext(r.Context())
	n, err := a.m.LogoutEverywhere(r.Context(), id)
	if err != nil {
		a.fail(w, r, err, opDefault)
		return
	}
	ok(w, revokedJSON{Message: "Logged out everywhere", Revoked: n})
}

// pathUserID reads the {user_id} of a route, in canonical form. The
// Manager answers ErrNotFound for an unknown user.
func pathUserID(r *http.Request) (string, error) {
	uid, err := parseUUID(r.PathValue("user_id"))
	if err != nil {
		return "", invalidRequest("The user id in the path must be a UUID")
	}
	return uid, nil
}

// userSessions answers GET /users/{user_id}/sessions for superusers.
func (a *API) userSessions(w http.ResponseWriter, r *http.Request) {
	id, _ := auth.IdentityFromContext(r.Context())
	uid, err := pathUserID(r)
	if err != nil {
		a.fail(w, r, err, opDefault)
		return
	}
	ss, err := a.m.Sessions(r.Context(), id, uid)
	if err != nil {
		a.fail(w, r, err, opDefault)
		return
	}
	ok(w, newSessionsJSON(ss, id))
}

// endUserSessions answers DELETE /users/{user_id}/sessions for
// superusers: every session of the user ends (the caller's own included,
// when they name themselves).
func (a *API) endUserSessions(w http.ResponseWriter, r *http.Request) {
	id, _ := auth.IdentityFromContext(r.Context())
	uid, err := pathUserID(r)
	if err != nil {
		a.fail(w, r, err, opDefault)
		return
	}
	var n int
	if uid == id.User.ID {
		n, err = a.m.LogoutEverywhere(r.Context(), id)
	} else {
		n, err = a.m.RevokeOtherSessions(r.Context(), id, uid)
	}
	if err != nil {
		a.fail(w, r, err, opDefault)
		return
	}
	ok(w, revokedJSON{Message: "Sessions revoked", Revoked: n})
}

// forcePasswordReset answers POST /users/{user_id}/force_password_reset
// for superusers: the user's password stops working, every session of the
// user ends, and a reset link goes to the account's address. Any body is
// ignored.
func (a *API) forcePasswordReset(w http.ResponseWriter, r *http.Request) {
	uid, err := pathUserID(r)
	if err != nil {
		a.fail(w, r, err, opDefault)
		return
	}
	id, _ := auth.IdentityFromContext(r.Context())
	if err := a.m.ForcePasswordReset(r.Context(), id, uid); err != nil {
		a.fail(w, r, err, opDefault)
		return
	}
	ok(w, message{"Password reset forced; a reset link was sent to the user"})
}
