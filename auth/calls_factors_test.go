package auth_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/memstore"
)

// callCounterFactors is a callCounterBatch with store.SecondFactors,
// every call counted.
type callCounterFactors struct{ callCounterBatch }

var _ store.SecondFactors = callCounterFactors{}

func (c callCounterFactors) CreateFactor(ctx context.Context, f *store.Factor) error {
	c.count("CreateFactor")
	return c.inner.CreateFactor(ctx, f)
}
func (c callCounterFactors) UserFactors(ctx context.Context, id string) ([]store.Factor, error) {
	c.count("UserFactors")
	return c.inner.UserFactors(ctx, id)
}
func (c callCounterFactors) UseFactor(ctx context.Context, u store.FactorUse) (*store.Factor, error) {
	c.count("UseFactor")
	return c.inner.UseFactor(ctx, u)
}
func (c callCounterFactors) DeleteFactor(ctx context.Context, uid, id string) error {
	c.count("DeleteFactor")
	return c.inner.DeleteFactor(ctx, uid, id)
}
func (c callCounterFactors) DeleteUserFactors(ctx context.Context, uid string) (int, error) {
	c.count("DeleteUserFactors")
	return c.inner.DeleteUserFactors(ctx, uid)
}
func (c callCounterFactors) ReplaceRecoveryCodes(ctx context.Context, uid string, h [][]byte) error {
	c.count("ReplaceRecoveryCodes")
	return c.inner.ReplaceRecoveryCodes(ctx, uid, h)
}
func (c callCounterFactors) ConsumeRecoveryCode(ctx context.Context, uid string, h []byte) (int, error) {
	c.count("ConsumeRecoveryCode")
	return c.inner.ConsumeRecoveryCode(ctx, uid, h)
}
func (c callCounterFactors) CountRecoveryCodes(ctx context.Context, uid string) (int, error) {
	c.count("CountRecoveryCodes")
	return c.inner.CountRecoveryCodes(ctx, uid)
}
func (c callCounterFactors) PutChallenge(ctx context.Context, ch *store.LoginChallenge) error {
	c.count("PutChallenge")
	return c.inner.PutChallenge(ctx, ch)
}
func (c callCounterFactors) ReserveChallengeAttempt(ctx context.Context, h []byte, now time.Time, n int) (*store.LoginChallenge, *store.User, error) {
	c.count("ReserveChallengeAttempt")
	return c.inner.ReserveChallengeAttempt(ctx, h, now, n)
}
func (c callCounterFactors) DeleteChallenge(ctx context.Context, h []byte) error {
	c.count("DeleteChallenge")
	return c.inner.DeleteChallenge(ctx, h)
}

// TestStoreCallsLoginWithFactors: with second factors on, a login of a
// user without factors makes no factor read (the store keeps
// store.User.HasFactors): the same at most 4 store calls as without them.
func TestStoreCallsLoginWithFactors(t *testing.T) {
	var counting *callCounter
	e := newEnv(t, withFactors, func(c *auth.Config) {
		counting = newCallCounter(c.Store.(*memstore.Store))
		s := callCounterFactors{callCounterBatch{counting}}
		c.Store, c.Limits.Store = s, s
	})
	e.register(t, "ada@example.com")
	ctx := withIP(t.Context(), "203.0.113.9")
	for i := range 2 {
		counting.take()
		if _, err := e.m.Login(ctx, "ada@example.com", goodPassword); err != nil {
			t.Fatalf("Login %d: %v", i+1, err)
		}
		calls, total := counting.take()
		if total > 4 || calls["UserFactors"] != 0 || calls["CountRecoveryCodes"] != 0 {
			t.Fatalf("login %d: %d store calls %s; want at most 4 and no factor read", i+1, total, formatCalls(calls))
		}
	}
}
