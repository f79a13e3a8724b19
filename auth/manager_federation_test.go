package auth_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/store"
)

const testIssuer = "https://op.example.com"

func provided(sub, email string, verified bool) auth.FederatedIdentity {
	return auth.FederatedIdentity{Provider: "example", Issuer: testIssuer, Subject: sub, Email: email, EmailVerified: verified, Name: "Fed User"}
}

// TestFederatedLoginCreatesAndFindsBySubject: the first login creates a
// verified passwordless account; later logins find it by (issuer,
// subject) whatever email the provider now claims. SECURITY.md #88.
func TestFederatedLoginCreatesAndFindsBySubject(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	res, err := e.m.FederatedLogin(ctx, provided("sub-1", "Fed@Example.org", true))
	if err != nil {
		t.Fatalf("FederatedLogin: %v", err)
	}
	if res.Tokens == nil || res.Session == nil || res.Challenge != nil {
		t.Fatalf("first login = %+v, want a session and tokens", res)
	}
	u := res.User
	if u.Email != "fed@example.org" || !u.IsVerified || u.PasswordHash != "" {
		t.Errorf("new user = %+v, want fed@example.org, verified, no password", u)
	}
	again, err := e.m.FederatedLogin(ctx, provided("sub-1", "changed@example.org", true))
	if err != nil || again.User.ID != u.ID {
		t.Fatalf("second login = %v, %v; want user %s", again, err, u.ID)
	}
	// The same subject at another issuer is someone else.
	other := provided("sub-1", "other@example.org", true)
	other.Issuer = "https://other.example.com"
	res3, err := e.m.FederatedLogin(ctx, other)
	if err != nil || res3.User.ID == u.ID {
		t.Fatalf("other issuer = %v, %v; want a different user", res3, err)
	}
	if n := len(e.events.ofType(auth.EventFederatedLogin)); n != 3 {
		t.Errorf("%d federated_login events, want 3", n)
	}
}

// TestFederatedLoginUnverifiedEmailNeverTakesOver: a provider claiming a
// victim's email without verifying it gets no account and never the
// victim's; a pre-registered unverified local account is not taken over
// even by a verified claim, with or without LinkVerifiedEmail.
// SECURITY.md #88.
func TestFederatedLoginUnverifiedEmailNeverTakesOver(t *testing.T) {
	for _, link := range []bool{false, true} {
		e := newEnv(t, func(c *auth.Config) {
			c.Federation.LinkVerifiedEmail = link
			c.Verification.Required = link
		})
		ctx := context.Background()
		victim := e.register(t, "victim@example.org") // not verified
		_, err := e.m.FederatedLogin(ctx, provided("attacker", "victim@example.org", false))
		if !errors.Is(err, auth.ErrProviderEmailUnverified) {
			t.Errorf("link=%v: unverified claim: err = %v, want ErrProviderEmailUnverified", link, err)
		}
		_, err = e.m.FederatedLogin(ctx, provided("attacker", "victim@example.org", true))
		if !errors.Is(err, auth.ErrEmailTaken) {
			t.Errorf("link=%v: verified claim on an unverified local account: err = %v, want ErrEmailTaken", link, err)
		}
		ids, err := e.m.Identities(ctx, victim.ID)
		if err != nil || len(ids) != 0 {
			t.Errorf("link=%v: victim's identities = %v, %v; want none", link, ids, err)
		}
		if _, _, err := e.store.IdentityUser(ctx, testIssuer, "attacker"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("link=%v: the attacker's identity was stored: %v", link, err)
		}
	}
}

// TestFederatedLoginLinkVerifiedEmail: with the switch on and both emails
// verified, the first login links to the existing account; off (the
// default), it is refused — and so it is without Verification.Required,
// where a registration counts as verified without proof. SECURITY.md #88.
func TestFederatedLoginLinkVerifiedEmail(t *testing.T) {
	for _, link := range []bool{false, true} {
		e := newEnv(t, func(c *auth.Config) { c.Federation.LinkVerifiedEmail = link; c.Verification.Required = link })
		ctx := context.Background()
		local := e.register(t, "ada@example.org")
		yes := true
		if _, err := e.store.UpdateUser(ctx, local.ID, store.UserUpdate{IsVerified: &yes, UpdatedAt: e.clock.Now()}); err != nil {
			t.Fatal(err)
		}
		res, err := e.m.FederatedLogin(ctx, provided("ada", "ada@example.org", true))
		if !link {
			if !errors.Is(err, auth.ErrEmailTaken) {
				t.Errorf("default: err = %v, want ErrEmailTaken", err)
			}
			continue
		}
		if err != nil || res == nil || res.User.ID != local.ID {
			t.Fatalf("LinkVerifiedEmail: %v, %v; want the local account", res, err)
		}
		if n := len(e.events.ofType(auth.EventIdentityLinked)); n != 1 {
			t.Errorf("%d identity_linked events, want 1", n)
		}
	}
}

// TestLinkListUnlinkIdentity: a logged-in user links, lists and unlinks;
// a passwordless user cannot unlink the last identity, until a password
// is set through the reset flow. SECURITY.md #88.
func TestLinkListUnlinkIdentity(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	res, err := e.m.FederatedLogin(ctx, provided("sub-1", "fed@example.org", true))
	if err != nil {
		t.Fatal(err)
	}
	uid := res.User.ID
	if err := e.m.UnlinkIdentity(ctx, uid, testIssuer, "sub-1"); !errors.Is(err, auth.ErrLastLogin) {
		t.Fatalf("unlink the only identity: %v, want ErrLastLogin", err)
	}
	second := provided("sub-2", "fed2@example.org", true)
	second.Issuer = "https://github.com"
	if err := e.m.LinkIdentity(ctx, uid, second); err != nil {
		t.Fatalf("LinkIdentity: %v", err)
	}
	other := e.register(t, "other@example.org")
	if err := e.m.LinkIdentity(ctx, other.ID, second); !errors.Is(err, auth.ErrIdentityTaken) {
		t.Errorf("linking a taken identity: %v, want ErrIdentityTaken", err)
	}
	if err := e.m.UnlinkIdentity(ctx, other.ID, second.Issuer, second.Subject); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("unlinking someone else's identity: %v, want ErrNotFound", err)
	}
	list, err := e.m.Identities(ctx, uid)
	if err != nil || len(list) != 2 {
		t.Fatalf("Identities = %v, %v; want 2", list, err)
	}
	if err := e.m.UnlinkIdentity(ctx, uid, testIssuer, "sub-1"); err != nil {
		t.Fatalf("unlink one of two: %v", err)
	}
	if err := e.m.UnlinkIdentity(ctx, uid, second.Issuer, second.Subject); !errors.Is(err, auth.ErrLastLogin) {
		t.Fatalf("unlink the last: %v, want ErrLastLogin", err)
	}
	// The passwordless user sets a password by the reset flow.
	if err := e.m.RequestPasswordReset(ctx, "fed@example.org"); err != nil {
		t.Fatalf("RequestPasswordReset: %v", err)
	}
	if err := e.m.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	token := tokenIn(t, e.lastMailTo(t, "fed@example.org", mail.KindResetPassword))
	if err := e.m.ResetPassword(ctx, token, goodPassword); err != nil {
		t.Fatalf("ResetPassword: %v", err)
	}
	if _, err := e.m.Login(ctx, "fed@example.org", goodPassword); err != nil {
		t.Fatalf("Login with the new password: %v", err)
	}
	if err := e.m.UnlinkIdentity(ctx, uid, second.Issuer, second.Subject); err != nil {
		t.Fatalf("unlink the last identity once a password is set: %v", err)
	}
	if n := len(e.events.ofType(auth.EventIdentityUnlinked)); n != 5 {
		t.Errorf("%d identity_unlinked events, want 5 (failures included)", n)
	}
}

// TestFederatedLoginNoLinkWithoutMailVerification: LinkVerifiedEmail
// without Verification.Required links nothing, since every registration
// is then "verified" without proof. SECURITY.md #88.
func TestFederatedLoginNoLinkWithoutMailVerification(t *testing.T) {
	e := newEnv(t, func(c *auth.Config) { c.Federation.LinkVerifiedEmail = true })
	ctx := context.Background()
	pre := e.register(t, "victim@example.org")
	if !pre.IsVerified {
		t.Fatal("setup: without Verification.Required a registration should count as verified")
	}
	if _, err := e.m.FederatedLogin(ctx, provided("victim", "victim@example.org", true)); !errors.Is(err, auth.ErrEmailTaken) {
		t.Fatalf("err = %v, want ErrEmailTaken (the pre-registered account is not taken over)", err)
	}
}

// TestFederatedLoginSecondFactor: a federated login of a user with a
// confirmed factor ends in a challenge with no tokens, completed by
// CompleteLogin like a password login.
func TestFederatedLoginSecondFactor(t *testing.T) {
	e := newEnv(t, withFactors)
	ctx := context.Background()
	u := e.enrolled(t, "mfa@example.org")
	if err := e.m.LinkIdentity(ctx, u.user.ID, provided("mfa-sub", "mfa@example.org", true)); err != nil {
		t.Fatalf("LinkIdentity: %v", err)
	}
	res, err := e.m.FederatedLogin(ctx, provided("mfa-sub", "mfa@example.org", true))
	if err != nil {
		t.Fatalf("FederatedLogin: %v", err)
	}
	if res.Challenge == nil || res.Tokens != nil || res.Session != nil {
		t.Fatalf("result = %+v, want only a challenge", res)
	}
	done, err := e.m.CompleteLogin(ctx, res.Challenge.Token, auth.MethodTOTP, u.code(t, e.clock.Now()))
	if err != nil || done.Tokens == nil || done.User.ID != u.user.ID {
		t.Fatalf("CompleteLogin = %v, %v; want tokens for the user", done, err)
	}
}

// TestProviderTokensSealed: provider tokens given to a login or a link are
// stored only as ciphertext bound to their identity, open with
// ProviderTokens for their user only, and are dropped by a login without
// them; without Factors.Keys keeping them fails and stores nothing.
// SECURITY.md #89.
func TestProviderTokensSealed(t *testing.T) {
	e := newEnv(t, func(c *auth.Config) { c.Factors.Keys = []auth.FactorKey{factorKey} })
	ctx := context.Background()
	secret := []byte(`{"access_token":"provider-at-123","refresh_token":"provider-rt-456"}`)
	fi := provided("sub-t", "tok@example.org", true)
	fi.Tokens = secret
	res, err := e.m.FederatedLogin(ctx, fi)
	if err != nil {
		t.Fatalf("FederatedLogin: %v", err)
	}
	id, _, err := e.store.IdentityUser(ctx, testIssuer, "sub-t")
	if err != nil {
		t.Fatal(err)
	}
	if len(id.Tokens) == 0 || bytes.Contains(id.Tokens, []byte("provider-at-123")) || bytes.Contains(id.Tokens, []byte("provider-rt-456")) {
		t.Fatalf("stored tokens = %q, want ciphertext", id.Tokens)
	}
	got, err := e.m.ProviderTokens(ctx, res.User.ID, testIssuer, "sub-t")
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("ProviderTokens = %q, %v; want the tokens", got, err)
	}
	if _, err := e.m.ProviderTokens(ctx, "someone-else", testIssuer, "sub-t"); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("another user's ProviderTokens: err = %v, want ErrNotFound", err)
	}
	// Identities never hands them out.
	list, err := e.m.Identities(ctx, res.User.ID)
	if err != nil || len(list) != 1 || list[0].Tokens != nil {
		t.Errorf("Identities = %+v, %v; want one without tokens", list, err)
	}
	// Moved to another identity's row, the ciphertext does not open.
	fi2 := provided("sub-u", "tok2@example.org", true)
	res2, err := e.m.FederatedLogin(ctx, fi2)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.TouchIdentity(ctx, store.IdentityLogin{Issuer: testIssuer, Subject: "sub-u", Now: time.Now(), Tokens: id.Tokens}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.ProviderTokens(ctx, res2.User.ID, testIssuer, "sub-u"); !errors.Is(err, auth.ErrTokensUnsealable) {
		t.Errorf("moved ciphertext: err = %v, want ErrTokensUnsealable", err)
	}
	// A login without tokens drops the kept ones.
	if _, err := e.m.FederatedLogin(ctx, provided("sub-t", "tok@example.org", true)); err != nil {
		t.Fatal(err)
	}
	if got, err := e.m.ProviderTokens(ctx, res.User.ID, testIssuer, "sub-t"); err != nil || got != nil {
		t.Errorf("after a login without tokens: %q, %v; want none", got, err)
	}

	// No keys: keeping tokens is refused and creates nothing.
	plain := newEnv(t)
	if _, err := plain.m.FederatedLogin(ctx, fi); !errors.Is(err, auth.ErrTokensUnsealable) {
		t.Errorf("without keys: err = %v, want ErrTokensUnsealable", err)
	}
	if _, _, err := plain.store.IdentityUser(ctx, testIssuer, "sub-t"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("without keys an identity was stored: %v", err)
	}
}
