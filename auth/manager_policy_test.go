package auth_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/gatehouse-go/gatehouse/auth"
)

// TestRequireFactorsForSuperusers: SECURITY.md #84 — with
// Config.Factors.RequireForSuperusers, a superuser without a confirmed
// factor is refused superuser operations with ErrMFAEnrollmentRequired
// (also ErrForbidden) but can still enrol; once the factor is confirmed the
// same session has the powers and the superuser's other sessions end.
func TestRequireFactorsForSuperusers(t *testing.T) {
	e := newEnv(t, withFactors, func(c *auth.Config) { c.Factors.RequireForSuperusers = true })
	ctx := context.Background()
	id, res := e.superuser(t, "root@example.com")
	other := e.login(t, "root@example.com")
	err := e.m.AuthorizeSuperuser(ctx, id)
	if !errors.Is(err, auth.ErrMFAEnrollmentRequired) || !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("AuthorizeSuperuser without a factor = %v, want ErrMFAEnrollmentRequired (and ErrForbidden)", err)
	}
	if _, err := e.m.UsersOverview(ctx, id, auth.UsersQuery{}); !errors.Is(err, auth.ErrMFAEnrollmentRequired) {
		t.Fatalf("UsersOverview without a factor = %v, want ErrMFAEnrollmentRequired", err)
	}
	enr, err := e.m.EnrollTOTP(ctx, id, goodPassword, "phone")
	if err != nil {
		t.Fatalf("EnrollTOTP: %v", err)
	}
	code, err := totp.GenerateCode(enr.Secret, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.ConfirmTOTP(ctx, id, enr.FactorID, code); err != nil {
		t.Fatalf("ConfirmTOTP: %v", err)
	}
	id = e.identity(t, res.Tokens.AccessToken)
	if err := e.m.AuthorizeSuperuser(ctx, id); err != nil {
		t.Fatalf("AuthorizeSuperuser after enrolling = %v, want nil", err)
	}
	if _, err := e.m.Authenticate(ctx, other.Tokens.AccessToken); err == nil {
		t.Error("the superuser's other session, from before the factor, still works")
	}
	e.clock.Advance(time.Minute)
}
