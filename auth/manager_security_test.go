package auth_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-go/gatehouse/auth"
)

// TestLogsResistInjection: SECURITY.md #64, a client-supplied value with a
// line break cannot forge a log record: every record stays on one line with
// the value quoted.
func TestLogsResistInjection(t *testing.T) {
	var buf lockedBuffer
	e := newEnv(t, func(c *auth.Config) { c.Logger = slog.New(slog.NewTextHandler(&buf, nil)) })
	e.register(t, "ada@example.com")
	ctx := auth.ContextWithClient(t.Context(), auth.Client{IP: mustAddr("192.0.2.1"), UserAgent: "agent\nmsg=\"gatehouse event\" event=login outcome=success"})
	e.m.Login(ctx, "ada@example.com", "wrong password here")
	_, err := e.m.Login(ctx, "a@b.example\nmsg=login_success", goodPassword)
	wantErr(t, "an email with a line break", err, auth.ErrInvalidEmail)
	e.flush(t)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	var logins int
	for _, l := range lines {
		if !strings.HasPrefix(l, "time=") {
			t.Fatalf("a log line does not start a record: %q", l)
		}
		if strings.Contains(l, "event=login") {
			logins++
			if strings.Contains(l, "outcome=success") && !strings.Contains(l, `\n`) {
				t.Fatalf("forged success record: %q", l)
			}
		}
	}
	if logins != 2 {
		t.Fatalf("%d login records, want 2:\n%s", logins, buf.String())
	}
}

// TestRevocationWinsOverConcurrentRefresh: SECURITY.md #72, once logout (or
// a password change, or deletion) returns, no refresh succeeds, and tokens
// from a refresh that won the race are already dead.
func TestRevocationWinsOverConcurrentRefresh(t *testing.T) {
	iterations := 1000
	if testing.Short() {
		iterations = 50
	}
	revokers := map[string]func(e *env, id *auth.Identity) error{
		"logout": func(e *env, id *auth.Identity) error { return e.m.Logout(context.Background(), id) },
		"logout everywhere": func(e *env, id *auth.Identity) error {
			_, err := e.m.LogoutEverywhere(context.Background(), id)
			return err
		},
		"delete": func(e *env, id *auth.Identity) error {
			return e.m.DeleteUser(context.Background(), id, "", goodPassword)
		},
	}
	for name, revoke := range revokers {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			for i := range iterations {
				if _, err := e.m.Register(t.Context(), auth.Registration{Email: "ada@example.com", Password: goodPassword}); err != nil && i == 0 {
					t.Fatal(err)
				}
				res := e.login(t, "ada@example.com")
				id := e.identity(t, res.Tokens.AccessToken)
				var pair *auth.TokenPair
				var wg sync.WaitGroup
				wg.Add(2)
				go func() {
					defer wg.Done()
					pair, _ = e.m.Refresh(context.Background(), res.Tokens.RefreshToken)
				}()
				go func() {
					defer wg.Done()
					if err := revoke(e, id); err != nil {
						t.Errorf("%s: %v", name, err)
					}
				}()
				wg.Wait()
				if pair != nil {
					if _, err := e.m.Authenticate(t.Context(), pair.AccessToken); err == nil {
						t.Fatalf("iteration %d: the winner's access token outlived %s", i, name)
					}
					if _, err := e.m.Refresh(t.Context(), pair.RefreshToken); err == nil {
						t.Fatalf("iteration %d: the winner's refresh token outlived %s", i, name)
					}
				}
				if _, err := e.m.Refresh(t.Context(), res.Tokens.RefreshToken); err == nil {
					t.Fatalf("iteration %d: a refresh succeeded after %s returned", i, name)
				}
			}
		})
	}
}
