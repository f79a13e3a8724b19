package httpapi

import (
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/store"
)

// The response bodies. Each lists its fields explicitly: nothing reaches
// the wire by accident, and no password hash or other secret has a field
// to travel in (SECURITY.md #61).

// envelope is every success: {"results": ...}.
type envelope[T any] struct {
	Results T `json:"results"`
}

// pageEnvelope is a paged list: {"results": [...], "total_entries": N}.
type pageEnvelope[T any] struct {
	Results      []T `json:"results"`
	TotalEntries int `json:"total_entries"`
}

// message is the payload of endpoints that only confirm.
type message struct {
	Message string `json:"message"`
}

// userJSON is a user object (register, user, update).
type userJSON struct {
	ID             string  `json:"id"`
	Email          string  `json:"email"`
	IsActive       bool    `json:"is_active"`
	IsSuperuser    bool    `json:"is_superuser"`
	IsVerified     bool    `json:"is_verified"`
	Name           *string `json:"name"`
	Bio            *string `json:"bio"`
	ProfilePicture *string `json:"profile_picture"`
	CreatedAt      string  `json:"created_at"`
	UpdatedAt      string  `json:"updated_at"`
	// VerificationCodeExpiry is always null: R2R clients expect the field,
	// and when a code expires is nobody's business but the mail's.
	VerificationCodeExpiry *string `json:"verification_code_expiry"`
	// PendingEmail, ours, is the address an email change awaits
	// confirmation for, null when none is pending (or it expired).
	PendingEmail *string `json:"pending_email"`
	// MFAEnabled: the user has a confirmed second factor.
	MFAEnabled bool `json:"mfa_enabled"`
}

// newUserJSON is u as a user object at now (which decides whether an email
// change is still pending).
func newUserJSON(u *store.User, now time.Time, mfa bool) userJSON {
	return userJSON{
		ID:             u.ID,
		Email:          u.Email,
		IsActive:       u.IsActive,
		IsSuperuser:    u.IsSuperuser,
		IsVerified:     u.IsVerified,
		Name:           nullable(u.Name),
		Bio:            nullable(u.Bio),
		ProfilePicture: nullable(u.ProfilePicture),
		CreatedAt:      timestamp(u.CreatedAt),
		UpdatedAt:      timestamp(u.UpdatedAt),
		PendingEmail:   nullable(u.PendingEmailAt(now)),
		MFAEnabled:     mfa,
	}
}

// appendUserResult appends {"results": u} at now to b exactly as
// encoding/json would write newUserJSON(u, now, mfa) (TestUserEncoding checks),
// without reflection: GET /user is the API's hottest path.
func appendUserResult(b []byte, u *store.User, now time.Time, mfa bool) []byte {
	b = append(b, `{"results":{"id":`...)
	b = appendString(b, u.ID)
	b = append(b, `,"email":`...)
	b = appendString(b, u.Email)
	b = append(b, `,"is_active":`...)
	b = strconv.AppendBool(b, u.IsActive)
	b = append(b, `,"is_superuser":`...)
	b = strconv.AppendBool(b, u.IsSuperuser)
	b = append(b, `,"is_verified":`...)
	b = strconv.AppendBool(b, u.IsVerified)
	b = append(b, `,"name":`...)
	b = appendNullable(b, u.Name)
	b = append(b, `,"bio":`...)
	b = appendNullable(b, u.Bio)
	b = append(b, `,"profile_picture":`...)
	b = appendNullable(b, u.ProfilePicture)
	b = append(b, `,"created_at":"`...)
	b = u.CreatedAt.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","updated_at":"`...)
	b = u.UpdatedAt.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","verification_code_expiry":null,"pending_email":`...)
	b = appendNullable(b, u.PendingEmailAt(now))
	b = append(b, `,"mfa_enabled":`...)
	b = strconv.AppendBool(b, mfa)
	return append(b, "}}"...)
}

func appendNullable(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return appendString(b, s)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string with encoding/json's escaping:
// quotes, backslashes and control characters escaped, "<", ">" and "&"
// escaped for HTML safety, U+2028 and U+2029 escaped for JavaScript, and
// invalid UTF-8 replaced by U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// userRowJSON is a row of users_overview.
type userRowJSON struct {
	UserID      string  `json:"user_id"`
	Email       string  `json:"email"`
	IsSuperuser bool    `json:"is_superuser"`
	IsActive    bool    `json:"is_active"`
	IsVerified  bool    `json:"is_verified"`
	CreatedAt   string  `json:"created_at"`
	UpdatedAt   string  `json:"updated_at"`
	NumSessions int     `json:"num_sessions"`
	LastLoginAt *string `json:"last_login_at"`
	// FailedLogins24h counts the failed logins with the user's email in
	// the last 24 hours; null when the Manager keeps no audit runs.
	FailedLogins24h *int `json:"failed_logins_24h"`
	// MFAEnabled: the user has a confirmed second factor
	// (store.User.HasFactors, kept by the store: no extra read).
	MFAEnabled bool `json:"mfa_enabled"`
}

func newUserRowJSON(s store.UserSummary) userRowJSON {
	row := userRowJSON{
		UserID:      s.User.ID,
		Email:       s.User.Email,
		IsSuperuser: s.User.IsSuperuser,
		IsActive:    s.User.IsActive,
		IsVerified:  s.User.IsVerified,
		CreatedAt:   timestamp(s.User.CreatedAt),
		UpdatedAt:   timestamp(s.User.UpdatedAt),
		NumSessions: s.Sessions,
		MFAEnabled:  s.User.HasFactors,
	}
	if !s.User.LastLoginAt.IsZero() {
		t := timestamp(s.User.LastLoginAt)
		row.LastLoginAt = &t
	}
	return row
}

// tokenJSON is one token of a pair.
type tokenJSON struct {
	Token     string `json:"token"`
	TokenType string `json:"token_type"`
}

// tokenPairJSON is what login and refresh answer.
type tokenPairJSON struct {
	AccessToken  tokenJSON `json:"access_token"`
	RefreshToken tokenJSON `json:"refresh_token"`
}

func newTokenPairJSON(p *auth.TokenPair) tokenPairJSON {
	return tokenPairJSON{
		AccessToken:  tokenJSON{Token: p.AccessToken, TokenType: "access"},
		RefreshToken: tokenJSON{Token: p.RefreshToken, TokenType: "refresh"},
	}
}

// nullable maps "" to null.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// timestamp formats t as RFC 3339 in UTC.
func timestamp(t time.Time) string {
	return t.UTC().Format(time.RFC3339Nano)
}

// ok writes a success.
func ok[T any](w http.ResponseWriter, results T) {
	writeJSON(w, http.StatusOK, envelope[T]{Results: results})
}
