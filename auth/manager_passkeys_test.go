package auth_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/internal/passkeytest"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/memstore"
)

const (
	testRPID   = "example.com"
	testOrigin = "https://login.example.com"
)

// withPasskeys turns second factors and passkeys on.
func withPasskeys(c *auth.Config) {
	withFactors(c)
	c.Factors.Passkeys = auth.PasskeyConfig{RPID: testRPID, Origins: []string{testOrigin}}
}

// passkeyUser is a user with a registered passkey held by key.
type passkeyUser struct {
	email    string
	user     *store.User
	id       *auth.Identity
	key      *passkeytest.Authenticator
	factorID string
	codes    []string
}

// registerPasskey registers email, logs in and registers a passkey.
func (e *env) registerPasskey(t testing.TB, email string) *passkeyUser {
	t.Helper()
	u := &passkeyUser{email: email, user: e.register(t, email), key: passkeytest.New(testOrigin)}
	u.id = e.identity(t, e.login(t, email).Tokens.AccessToken)
	u.factorID, u.codes = e.addPasskey(t, u.id, u.key)
	return u
}

// addPasskey registers key for id's user.
func (e *env) addPasskey(t testing.TB, id *auth.Identity, key *passkeytest.Authenticator) (string, []string) {
	t.Helper()
	ctx := context.Background()
	c, err := e.m.BeginPasskeyRegistration(ctx, id, goodPassword, "laptop")
	if err != nil {
		t.Fatalf("BeginPasskeyRegistration: %v", err)
	}
	cred, err := key.Register(c.Options, passkeytest.Forge{})
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	reg, err := e.m.FinishPasskeyRegistration(ctx, id, c.ID, string(cred))
	if err != nil {
		t.Fatalf("FinishPasskeyRegistration: %v", err)
	}
	return reg.FactorID, reg.RecoveryCodes
}

// passkeyLogin runs a passwordless login with key, forged by f.
func (e *env) passkeyLogin(t testing.TB, key *passkeytest.Authenticator, f passkeytest.Forge) (*auth.LoginResult, error) {
	t.Helper()
	ctx := context.Background()
	c, err := e.m.BeginPasskeyLogin(ctx)
	if err != nil {
		t.Fatalf("BeginPasskeyLogin: %v", err)
	}
	cred, err := key.Assert(c.Options, f)
	if err != nil {
		t.Fatalf("Assert: %v", err)
	}
	return e.m.PasskeyLogin(ctx, c.ID, string(cred))
}

// SECURITY.md #83: registration (attestation "none", a discoverable
// credential), listing, the notice, recovery codes on the first factor, a
// passwordless login with user verification, and the second-factor login.
func TestPasskeyRegisterAndLogin(t *testing.T) {
	e := newEnv(t, withPasskeys)
	ctx := context.Background()
	u := e.registerPasskey(t, "ada@example.com")
	if len(u.codes) != auth.RecoveryCodeCount {
		t.Errorf("first factor: %d recovery codes, want %d", len(u.codes), auth.RecoveryCodeCount)
	}
	if m := e.lastMailTo(t, u.email, mail.KindPasskeyAdded); m.Kind != mail.KindPasskeyAdded {
		t.Error("no passkey notice")
	}
	fs, err := e.m.Factors(ctx, u.id)
	wantErr(t, "Factors", err, nil)
	if len(fs) != 1 || fs[0].Type != store.FactorPasskey || fs[0].Name != "laptop" || fs[0].ID != u.factorID {
		t.Fatalf("Factors = %+v, want the passkey", fs)
	}
	// The stored row holds the credential sealed, found by its ID.
	f, _, err := e.store.PasskeyByCredentialID(ctx, u.key.CredentialID)
	wantErr(t, "PasskeyByCredentialID", err, nil)
	if strings.Contains(string(f.Secret), string(u.key.CredentialID)) || !f.Confirmed() {
		t.Error("the stored credential is not sealed, or the passkey is not confirmed")
	}

	res, err := e.passkeyLogin(t, u.key, passkeytest.Forge{})
	wantErr(t, "PasskeyLogin", err, nil)
	if res.Tokens == nil || res.Challenge != nil || res.User.ID != u.user.ID {
		t.Fatalf("PasskeyLogin = %+v, want tokens for the user", res)
	}
	if got := e.events.ofType(auth.EventPasskeyUse); len(got) != 1 || got[0].Outcome != auth.OutcomeSuccess {
		t.Errorf("passkey_use events = %+v, want one success", got)
	}

	// As a second factor after the password.
	pw := e.login(t, u.email)
	if pw.Challenge == nil || !contains(pw.Challenge.Methods, auth.MethodPasskey) || contains(pw.Challenge.Methods, auth.MethodTOTP) {
		t.Fatalf("password login: %+v, want a challenge offering passkey, not totp", pw.Challenge)
	}
	opts, err := e.m.PasskeyChallengeOptions(ctx, pw.Challenge.Token)
	wantErr(t, "PasskeyChallengeOptions", err, nil)
	if !strings.Contains(string(opts.Options), b64(u.key.CredentialID)) {
		t.Errorf("challenge options %s do not allow the user's credential", opts.Options)
	}
	cred, err := u.key.Assert(opts.Options, passkeytest.Forge{NoUV: true}) // UV is not needed as a second factor
	if err != nil {
		t.Fatal(err)
	}
	done, err := e.m.CompleteLogin(ctx, pw.Challenge.Token, auth.MethodPasskey, string(cred))
	wantErr(t, "CompleteLogin(passkey)", err, nil)
	if done == nil || done.Tokens == nil {
		t.Fatal("CompleteLogin(passkey): no tokens")
	}

	// Removal through RemoveFactor: the passkey no longer logs in.
	wantErr(t, "RemoveFactor", e.m.RemoveFactor(ctx, u.id, u.factorID, goodPassword), nil)
	_, err = e.passkeyLogin(t, u.key, passkeytest.Forge{})
	wantErr(t, "PasskeyLogin(removed)", err, auth.ErrInvalidPasskey)
	if res := e.login(t, u.email); res.Challenge != nil {
		t.Error("a challenge after the only passkey was removed")
	}
}

// SECURITY.md #83: an assertion made for another origin is refused, for a
// registration, a passwordless login and a second factor.
func TestPasskeyOtherOrigin(t *testing.T) {
	e := newEnv(t, withPasskeys)
	ctx := context.Background()
	u := e.registerPasskey(t, "ada@example.com")
	_, err := e.passkeyLogin(t, u.key, passkeytest.Forge{Origin: "https://evil.example.net"})
	wantErr(t, "PasskeyLogin(other origin)", err, auth.ErrInvalidPasskey)

	other := passkeytest.New("https://evil.example.net")
	c, err := e.m.BeginPasskeyRegistration(ctx, u.id, goodPassword, "")
	wantErr(t, "BeginPasskeyRegistration", err, nil)
	cred, _ := other.Register(c.Options, passkeytest.Forge{})
	_, err = e.m.FinishPasskeyRegistration(ctx, u.id, c.ID, string(cred))
	wantErr(t, "FinishPasskeyRegistration(other origin)", err, auth.ErrInvalidPasskey)
	if fs, _ := e.m.Factors(ctx, u.id); len(fs) != 1 {
		t.Errorf("%d factors after the refused registration, want 1", len(fs))
	}
}

// SECURITY.md #83: an assertion whose authenticator data is for another RP
// ID is refused.
func TestPasskeyOtherRPID(t *testing.T) {
	e := newEnv(t, withPasskeys)
	ctx := context.Background()
	u := e.registerPasskey(t, "ada@example.com")
	_, err := e.passkeyLogin(t, u.key, passkeytest.Forge{RPID: "evil.example.net"})
	wantErr(t, "PasskeyLogin(other RP ID)", err, auth.ErrInvalidPasskey)

	pw := e.login(t, u.email)
	opts, err := e.m.PasskeyChallengeOptions(ctx, pw.Challenge.Token)
	wantErr(t, "PasskeyChallengeOptions", err, nil)
	cred, _ := u.key.Assert(opts.Options, passkeytest.Forge{RPID: "login.example.com"})
	_, err = e.m.CompleteLogin(ctx, pw.Challenge.Token, auth.MethodPasskey, string(cred))
	wantErr(t, "CompleteLogin(other RP ID)", err, auth.ErrInvalidPasskey)
}

// SECURITY.md #83: an assertion for an earlier challenge, or a replay of a
// used one, is refused; challenges have at least 128 bits.
func TestPasskeyReplayedChallenge(t *testing.T) {
	e := newEnv(t, withPasskeys)
	ctx := context.Background()
	u := e.registerPasskey(t, "ada@example.com")
	first, err := e.m.BeginPasskeyLogin(ctx)
	wantErr(t, "BeginPasskeyLogin", err, nil)
	var o struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(first.Options, &o); err != nil || len(o.PublicKey.Challenge) < 22 {
		t.Fatalf("challenge %q (%v): want at least 128 bits", o.PublicKey.Challenge, err)
	}
	old, _ := u.key.Assert(first.Options, passkeytest.Forge{})
	_, err = e.m.PasskeyLogin(ctx, first.ID, string(old))
	wantErr(t, "PasskeyLogin(first)", err, nil)
	// The same assertion again: its ceremony is spent.
	_, err = e.m.PasskeyLogin(ctx, first.ID, string(old))
	wantErr(t, "PasskeyLogin(replayed)", err, auth.ErrInvalidChallenge)
	// Replayed into a fresh ceremony: the challenge differs.
	second, _ := e.m.BeginPasskeyLogin(ctx)
	_, err = e.m.PasskeyLogin(ctx, second.ID, string(old))
	wantErr(t, "PasskeyLogin(old assertion, new ceremony)", err, auth.ErrInvalidPasskey)
	// A forged challenge.
	_, err = e.passkeyLogin(t, u.key, passkeytest.Forge{Challenge: []byte("0123456789abcdef")})
	wantErr(t, "PasskeyLogin(forged challenge)", err, auth.ErrInvalidPasskey)
}

// SECURITY.md #83: a signature counter that goes back (a cloned
// authenticator) is refused and reported; an authenticator without a
// counter keeps working.
func TestPasskeyCounterRegression(t *testing.T) {
	e := newEnv(t, withPasskeys)
	u := e.registerPasskey(t, "ada@example.com")
	for range 2 {
		_, err := e.passkeyLogin(t, u.key, passkeytest.Forge{})
		wantErr(t, "PasskeyLogin", err, nil)
	}
	stale := uint32(1)
	_, err := e.passkeyLogin(t, u.key, passkeytest.Forge{SignCount: &stale})
	wantErr(t, "PasskeyLogin(counter went back)", err, auth.ErrInvalidPasskey)
	var clones int
	for _, ev := range e.events.ofType(auth.EventPasskeyUse) {
		if ev.Outcome == auth.OutcomeFailure && ev.Reason == "sign_count_regressed" && ev.UserID == u.user.ID {
			clones++
		}
	}
	if clones != 1 {
		t.Errorf("%d sign_count_regressed events, want 1", clones)
	}
	_, err = e.passkeyLogin(t, u.key, passkeytest.Forge{})
	wantErr(t, "PasskeyLogin(counter forward again)", err, nil)

	zero := passkeytest.New(testOrigin)
	zero.Counterless = true
	e.addPasskey(t, u.id, zero)
	for i := range 2 {
		_, err := e.passkeyLogin(t, zero, passkeytest.Forge{})
		wantErr(t, "PasskeyLogin(counterless) "+string(rune('1'+i)), err, nil)
	}
}

// SECURITY.md #83: a passwordless login needs user verification.
func TestPasskeyPasswordlessNeedsUV(t *testing.T) {
	e := newEnv(t, withPasskeys)
	u := e.registerPasskey(t, "ada@example.com")
	_, err := e.passkeyLogin(t, u.key, passkeytest.Forge{NoUV: true})
	wantErr(t, "PasskeyLogin(no UV)", err, auth.ErrInvalidPasskey)
	c, _ := e.m.BeginPasskeyLogin(context.Background())
	if !strings.Contains(string(c.Options), `"userVerification":"required"`) {
		t.Errorf("login options %s do not require user verification", c.Options)
	}
}

// SECURITY.md #83: another user's passkey does not answer a user's
// challenge, nor log in as them; wrong assertions count on the account.
func TestPasskeyForeignCredential(t *testing.T) {
	e := newEnv(t, withPasskeys)
	ctx := context.Background()
	ada := e.registerPasskey(t, "ada@example.com")
	bob := e.registerPasskey(t, "bob@example.com")
	pw := e.login(t, ada.email)
	opts, err := e.m.PasskeyChallengeOptions(ctx, pw.Challenge.Token)
	wantErr(t, "PasskeyChallengeOptions", err, nil)
	cred, _ := bob.key.Assert(opts.Options, passkeytest.Forge{})
	_, err = e.m.CompleteLogin(ctx, pw.Challenge.Token, auth.MethodPasskey, string(cred))
	wantErr(t, "CompleteLogin(bob's passkey for ada)", err, auth.ErrInvalidPasskey)

	// Bob's credential with Ada's user handle: the handle must match.
	forged := *bob.key
	forged.UserHandle = ada.key.UserHandle
	_, err = e.passkeyLogin(t, &forged, passkeytest.Forge{})
	wantErr(t, "PasskeyLogin(bob's key, ada's handle)", err, auth.ErrInvalidPasskey)
	// An unknown credential.
	_, err = e.passkeyLogin(t, passkeytest.New(testOrigin).WithHandle(ada.key.UserHandle), passkeytest.Forge{})
	wantErr(t, "PasskeyLogin(unknown credential)", err, auth.ErrInvalidPasskey)
}

// SECURITY.md #83: a ceremony is used once and only for its purpose and
// user; an expired one is dead.
func TestPasskeyCeremonyReuse(t *testing.T) {
	e := newEnv(t, withPasskeys)
	ctx := context.Background()
	ada := e.registerPasskey(t, "ada@example.com")
	bob := e.registerPasskey(t, "bob@example.com")

	c, err := e.m.BeginPasskeyRegistration(ctx, ada.id, goodPassword, "")
	wantErr(t, "BeginPasskeyRegistration", err, nil)
	key := passkeytest.New(testOrigin)
	cred, _ := key.Register(c.Options, passkeytest.Forge{})
	_, err = e.m.FinishPasskeyRegistration(ctx, bob.id, c.ID, string(cred))
	wantErr(t, "FinishPasskeyRegistration(ada's ceremony, bob's session)", err, auth.ErrInvalidChallenge)
	_, err = e.m.FinishPasskeyRegistration(ctx, ada.id, c.ID, string(cred))
	wantErr(t, "FinishPasskeyRegistration(after the foreign attempt spent it)", err, auth.ErrInvalidChallenge)

	c, _ = e.m.BeginPasskeyRegistration(ctx, ada.id, goodPassword, "")
	cred, _ = key.Register(c.Options, passkeytest.Forge{})
	_, err = e.m.FinishPasskeyRegistration(ctx, ada.id, c.ID, string(cred))
	wantErr(t, "FinishPasskeyRegistration", err, nil)
	_, err = e.m.FinishPasskeyRegistration(ctx, ada.id, c.ID, string(cred))
	wantErr(t, "FinishPasskeyRegistration(reused)", err, auth.ErrInvalidChallenge)

	// A registration ID is no login ID.
	c, _ = e.m.BeginPasskeyRegistration(ctx, ada.id, goodPassword, "")
	login, _ := ada.key.Assert(c.Options, passkeytest.Forge{})
	_, err = e.m.PasskeyLogin(ctx, c.ID, string(login))
	wantErr(t, "PasskeyLogin(registration ID)", err, auth.ErrInvalidChallenge)

	// Expired.
	l, _ := e.m.BeginPasskeyLogin(ctx)
	login, _ = ada.key.Assert(l.Options, passkeytest.Forge{})
	e.clock.Advance(5*time.Minute + time.Second)
	_, err = e.m.PasskeyLogin(ctx, l.ID, string(login))
	wantErr(t, "PasskeyLogin(expired)", err, auth.ErrInvalidChallenge)

	// Registration needs the current password.
	_, err = e.m.BeginPasskeyRegistration(ctx, ada.id, "", "")
	wantErr(t, "BeginPasskeyRegistration(no password)", err, auth.ErrReauthRequired)
}

func TestPasskeyConfig(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(*auth.PasskeyConfig)
		field string
	}{
		{"no origins", func(p *auth.PasskeyConfig) { p.Origins = nil }, "Config.Factors.Passkeys.Origins"},
		{"origin of another site", func(p *auth.PasskeyConfig) { p.Origins = []string{"https://example.org"} }, "Config.Factors.Passkeys.Origins[0]"},
		{"suffix without a dot", func(p *auth.PasskeyConfig) { p.Origins = []string{"https://badexample.com"} }, "Config.Factors.Passkeys.Origins[0]"},
		{"http", func(p *auth.PasskeyConfig) { p.Origins = []string{"http://example.com"} }, "Config.Factors.Passkeys.Origins[0]"},
		{"a path", func(p *auth.PasskeyConfig) { p.Origins = []string{"https://example.com/login"} }, "Config.Factors.Passkeys.Origins[0]"},
		{"RP ID with a scheme", func(p *auth.PasskeyConfig) { p.RPID = "https://example.com" }, "Config.Factors.Passkeys.RPID"},
		{"long timeout", func(p *auth.PasskeyConfig) { p.Timeout = 10 * time.Minute }, "Config.Factors.Passkeys.Timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := validConfig(t)
			withPasskeys(&cfg)
			tc.edit(&cfg.Factors.Passkeys)
			_, err := auth.New(cfg)
			var ve *auth.ValidationError
			if !errors.As(err, &ve) || ve.Field != tc.field {
				t.Errorf("New = %v, want a ValidationError for %s", err, tc.field)
			}
		})
	}
	t.Run("needs factors", func(t *testing.T) {
		cfg := validConfig(t)
		cfg.Factors.Passkeys = auth.PasskeyConfig{RPID: testRPID, Origins: []string{testOrigin}}
		var ve *auth.ValidationError
		if _, err := auth.New(cfg); !errors.As(err, &ve) || ve.Field != "Config.Factors.Passkeys" {
			t.Errorf("New = %v, want a ValidationError for Config.Factors.Passkeys", err)
		}
	})
	t.Run("localhost", func(t *testing.T) {
		cfg := validConfig(t)
		withPasskeys(&cfg)
		cfg.Factors.Passkeys = auth.PasskeyConfig{RPID: "localhost", Origins: []string{"http://localhost:8080"}}
		if _, err := auth.New(cfg); err != nil {
			t.Errorf("New(localhost over http) = %v", err)
		}
	})
}

// validConfig is a minimal valid Config over memstore.
func validConfig(t testing.TB) auth.Config {
	t.Helper()
	return auth.Config{Store: memstore.New(), Mailer: mail.Discard{}, Tokens: auth.TokenConfig{SigningKey: testKey}, Password: auth.PasswordConfig{Hasher: newSpyHasher()}}
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// SECURITY.md #79, #83: wrong passwordless assertions count against the
// account as wrong passwords do; the account is then throttled.
func TestPasskeyWrongAssertionsThrottle(t *testing.T) {
	e := newEnv(t, withPasskeys)
	u := e.registerPasskey(t, "ada@example.com")
	for i := range 5 {
		_, err := e.passkeyLogin(t, u.key, passkeytest.Forge{NoUV: true})
		wantErr(t, "PasskeyLogin(no UV) "+string(rune('1'+i)), err, auth.ErrInvalidPasskey)
	}
	_, err := e.passkeyLogin(t, u.key, passkeytest.Forge{})
	wantErr(t, "PasskeyLogin after 5 wrong", err, auth.ErrThrottled)
	_, err = e.m.Login(context.Background(), u.email, goodPassword)
	wantErr(t, "Login after 5 wrong assertions", err, auth.ErrThrottled)
}

// SECURITY.md #83: every passwordless passkey login begun keeps a
// ceremony in the store, so one client IP may begin only
// Limits.IPPasskeyLoginsPerHour of them an hour; other IPs are not
// affected, and the window ends.
func TestPasskeyLoginBeginsLimitedPerIP(t *testing.T) {
	e := newEnv(t, withPasskeys, func(c *auth.Config) { c.Limits.IPPasskeyLoginsPerHour = 3 })
	a := auth.ContextWithClient(context.Background(), auth.Client{IP: mustAddr("198.51.100.7")})
	b := auth.ContextWithClient(context.Background(), auth.Client{IP: mustAddr("198.51.100.8")})
	for i := range 3 {
		if _, err := e.m.BeginPasskeyLogin(a); err != nil {
			t.Fatalf("BeginPasskeyLogin %d: %v", i+1, err)
		}
	}
	_, err := e.m.BeginPasskeyLogin(a)
	wantErr(t, "BeginPasskeyLogin over the IP's limit", err, auth.ErrThrottled)
	_, err = e.m.BeginPasskeyLogin(b)
	wantErr(t, "BeginPasskeyLogin from another IP", err, nil)
	e.clock.Advance(time.Hour + time.Second)
	_, err = e.m.BeginPasskeyLogin(a)
	wantErr(t, "BeginPasskeyLogin an hour later", err, nil)
}

// SECURITY.md #82: registering a passkey is a factor change. Within
// Config.Factors.RecentLogin of the login it needs no password; later it
// does, and a wrong one is refused even on a fresh login.
func TestPasskeyRegistrationRecentLogin(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, withPasskeys)
	e.register(t, "ada@example.com")
	id := e.identity(t, e.login(t, "ada@example.com").Tokens.AccessToken)

	_, err := e.m.BeginPasskeyRegistration(ctx, id, "wrong password", "")
	wantErr(t, "BeginPasskeyRegistration on a fresh login with a wrong password", err, auth.ErrInvalidPassword)
	e.clock.Advance(auth.DefaultRecentLogin - time.Second)
	c, err := e.m.BeginPasskeyRegistration(ctx, id, "", "")
	wantErr(t, "BeginPasskeyRegistration on a fresh login without a password", err, nil)
	key := passkeytest.New(testOrigin)
	cred, err := key.Register(c.Options, passkeytest.Forge{})
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	_, err = e.m.FinishPasskeyRegistration(ctx, id, c.ID, string(cred))
	wantErr(t, "FinishPasskeyRegistration", err, nil)

	e.clock.Advance(time.Second)
	_, err = e.m.BeginPasskeyRegistration(ctx, id, "", "")
	wantErr(t, "BeginPasskeyRegistration on a stale session without a password", err, auth.ErrReauthRequired)
	_, err = e.m.BeginPasskeyRegistration(ctx, id, goodPassword, "")
	wantErr(t, "BeginPasskeyRegistration on a stale session with the password", err, nil)
}
