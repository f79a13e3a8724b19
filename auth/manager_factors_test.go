package auth_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"image/png"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/memstore"
)

// factorKey is the application key of the factor tests.
var factorKey = auth.FactorKey{ID: "k1", Key: bytes.Repeat([]byte{7}, 32)}

// withFactors turns second factors on with factorKey.
func withFactors(c *auth.Config) {
	c.Factors = auth.FactorConfig{Enabled: true, Keys: []auth.FactorKey{factorKey}}
}

// noLimits switches throttling off, for tests that make many attempts.
func noLimits(c *auth.Config) { c.Limits = auth.Limits{Disabled: true} }

// mfaUser is a user with a confirmed TOTP factor.
type mfaUser struct {
	email    string
	user     *store.User
	id       *auth.Identity // a session from before the factor
	factorID string
	secret   string
	codes    []string
}

// code returns the user's TOTP code at t, as an authenticator app shows it.
func (u *mfaUser) code(t testing.TB, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCode(u.secret, at)
	if err != nil {
		t.Fatalf("GenerateCode: %v", err)
	}
	return c
}

// enrolled registers email, logs in, enrols and confirms a TOTP factor.
// The confirmation uses the previous time step's code, so that the current
// step's code is still unused.
func (e *env) enrolled(t testing.TB, email string) *mfaUser {
	t.Helper()
	ctx := context.Background()
	u := &mfaUser{email: email, user: e.register(t, email)}
	res := e.login(t, email)
	u.id = e.identity(t, res.Tokens.AccessToken)
	enr, err := e.m.EnrollTOTP(ctx, u.id, goodPassword, "phone")
	if err != nil {
		t.Fatalf("EnrollTOTP: %v", err)
	}
	u.factorID, u.secret = enr.FactorID, enr.Secret
	conf, err := e.m.ConfirmTOTP(ctx, u.id, enr.FactorID, u.code(t, e.clock.Now().Add(-30*time.Second)))
	if err != nil {
		t.Fatalf("ConfirmTOTP: %v", err)
	}
	u.codes = conf.RecoveryCodes
	return u
}

// challenge logs u in with the password and returns the challenge token.
func (e *env) challenge(t testing.TB, u *mfaUser) string {
	t.Helper()
	res := e.login(t, u.email)
	if res.Challenge == nil {
		t.Fatalf("Login of an enrolled user: no challenge")
	}
	return res.Challenge.Token
}

// SECURITY.md #77: secrets have 160 bits; the enrolment gives the secret,
// an otpauth URI for SHA-1, 6 digits, 30 s, and a PNG QR code.
func TestEnrollTOTP(t *testing.T) {
	e := newEnv(t, withFactors)
	e.register(t, "ada@example.com")
	id := e.identity(t, e.login(t, "ada@example.com").Tokens.AccessToken)
	enr, err := e.m.EnrollTOTP(context.Background(), id, goodPassword, "")
	wantErr(t, "EnrollTOTP", err, nil)
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(enr.Secret)
	if err != nil || len(raw) < 20 {
		t.Errorf("secret %q: %d bytes (%v), want at least 20 (160 bits)", enr.Secret, len(raw), err)
	}
	u, err := url.Parse(enr.URI)
	if err != nil || u.Scheme != "otpauth" || u.Host != "totp" {
		t.Fatalf("URI %q is not an otpauth://totp URI", enr.URI)
	}
	q := u.Query()
	if q.Get("secret") != enr.Secret || q.Get("issuer") != "Gatehouse" || q.Get("algorithm") != "SHA1" || q.Get("digits") != "6" || q.Get("period") != "30" {
		t.Errorf("URI parameters %v", q)
	}
	if !strings.Contains(u.Path, "ada@example.com") {
		t.Errorf("URI path %q does not name the account", u.Path)
	}
	if _, err := png.Decode(bytes.NewReader(enr.QRPNG)); err != nil {
		t.Errorf("QR code is not a PNG: %v", err)
	}
	// Pending: Login does not ask for it, and it is not listed.
	if res := e.login(t, "ada@example.com"); res.Challenge != nil || res.Tokens == nil {
		t.Error("a pending factor already changes Login")
	}
	if fs, err := e.m.Factors(context.Background(), id); err != nil || len(fs) != 0 {
		t.Errorf("Factors with one pending = %v, %v; want none", fs, err)
	}
}

// SECURITY.md #82: enrolment takes effect with a first valid code, and the
// first factor brings 10 recovery codes of at least 112 bits; the user is
// mailed and each step is an event.
func TestConfirmTOTP(t *testing.T) {
	e := newEnv(t, withFactors)
	ctx := context.Background()
	e.register(t, "ada@example.com")
	id := e.identity(t, e.login(t, "ada@example.com").Tokens.AccessToken)
	enr, err := e.m.EnrollTOTP(ctx, id, goodPassword, "phone")
	wantErr(t, "EnrollTOTP", err, nil)
	u := &mfaUser{secret: enr.Secret}
	_, err = e.m.ConfirmTOTP(ctx, id, enr.FactorID, wrongTOTP(t, u, e.clock.Now()))
	wantErr(t, "ConfirmTOTP with a wrong code", err, auth.ErrInvalidCode)
	_, err = e.m.ConfirmTOTP(ctx, id, "no-such-factor", u.code(t, e.clock.Now()))
	wantErr(t, "ConfirmTOTP of an unknown factor", err, auth.ErrNotFound)
	conf, err := e.m.ConfirmTOTP(ctx, id, enr.FactorID, u.code(t, e.clock.Now()))
	wantErr(t, "ConfirmTOTP", err, nil)
	if len(conf.RecoveryCodes) != auth.RecoveryCodeCount {
		t.Fatalf("%d recovery codes, want %d", len(conf.RecoveryCodes), auth.RecoveryCodeCount)
	}
	seen := map[string]bool{}
	for _, c := range conf.RecoveryCodes {
		// 26 base32 characters carry 130 bits, of which 128 are random.
		if n := len(strings.ReplaceAll(c, "-", "")); n != 26 || seen[c] {
			t.Errorf("recovery code %q: %d characters or repeated", c, n)
		}
		seen[c] = true
	}
	_, err = e.m.ConfirmTOTP(ctx, id, enr.FactorID, u.code(t, e.clock.Now().Add(30*time.Second)))
	wantErr(t, "ConfirmTOTP again", err, auth.ErrNotFound)
	fs, err := e.m.Factors(ctx, id)
	if err != nil || len(fs) != 1 || fs[0].ID != enr.FactorID || fs[0].Name != "phone" || fs[0].Type != store.FactorTOTP {
		t.Errorf("Factors = %+v, %v", fs, err)
	}
	e.lastMailTo(t, "ada@example.com", mail.KindFactorAdded)
	if n := len(e.events.ofType(auth.EventFactorEnroll)); n != 1 {
		t.Errorf("%d factor_enroll events, want 1", n)
	}
	if ev := e.events.ofType(auth.EventFactorConfirm); len(ev) != 4 || ev[2].Outcome != auth.OutcomeSuccess || ev[3].Reason != "unknown_factor" {
		t.Errorf("factor_confirm events %+v; want 4, the third a success", ev)
	}

	// A second factor brings no new codes.
	enr2, err := e.m.EnrollTOTP(ctx, id, goodPassword, "tablet")
	wantErr(t, "EnrollTOTP of a second", err, nil)
	u2 := &mfaUser{secret: enr2.Secret}
	conf2, err := e.m.ConfirmTOTP(ctx, id, enr2.FactorID, u2.code(t, e.clock.Now()))
	wantErr(t, "ConfirmTOTP of a second", err, nil)
	if conf2.RecoveryCodes != nil {
		t.Error("a second factor replaced the recovery codes")
	}
}

// A pending enrolment that waited over an hour cannot be confirmed.
func TestConfirmTOTPPendingExpires(t *testing.T) {
	e := newEnv(t, withFactors)
	e.register(t, "ada@example.com")
	id := e.identity(t, e.login(t, "ada@example.com").Tokens.AccessToken)
	enr, err := e.m.EnrollTOTP(context.Background(), id, goodPassword, "")
	wantErr(t, "EnrollTOTP", err, nil)
	e.clock.Advance(time.Hour)
	u := &mfaUser{secret: enr.Secret}
	_, err = e.m.ConfirmTOTP(context.Background(), id, enr.FactorID, u.code(t, e.clock.Now()))
	wantErr(t, "ConfirmTOTP after an hour", err, auth.ErrNotFound)
}

// SECURITY.md #80: the password step's answer carries no token and starts
// no session; the challenge is short-lived; completing it issues the
// tokens.
func TestLoginChallenge(t *testing.T) {
	e := newEnv(t, withFactors)
	ctx := context.Background()
	u := e.enrolled(t, "ada@example.com")
	before, _ := e.store.UserSessions(ctx, u.user.ID, e.clock.Now())
	res, err := e.m.Login(ctx, u.email, goodPassword)
	wantErr(t, "Login", err, nil)
	if res.Challenge == nil || res.Tokens != nil || res.Session != nil {
		t.Fatalf("Login of an enrolled user = %+v; want only a challenge", res)
	}
	if got := res.Challenge.Methods; len(got) != 2 || got[0] != auth.MethodTOTP || got[1] != auth.MethodRecoveryCode {
		t.Errorf("Methods = %v", got)
	}
	if ttl := res.Challenge.ExpiresAt.Sub(e.clock.Now()); ttl <= 0 || ttl > 5*time.Minute {
		t.Errorf("challenge lives %v, want at most 5m", ttl)
	}
	after, _ := e.store.UserSessions(ctx, u.user.ID, e.clock.Now())
	if len(after) != len(before) {
		t.Errorf("the password step started a session: %d sessions, had %d", len(after), len(before))
	}
	if ev := e.events.ofType(auth.EventLoginChallenge); len(ev) != 1 || ev[0].Outcome != auth.OutcomeSuccess {
		t.Errorf("login_challenge events %+v", ev)
	}
	// The store keeps the SHA-256 of the token, not the token.
	raw, _ := base64.RawURLEncoding.DecodeString(res.Challenge.Token)
	sum := sha256.Sum256(raw)
	if _, _, err := e.store.ReserveChallengeAttempt(ctx, sum[:], e.clock.Now(), auth.MaxChallengeAttempts); err != nil {
		t.Errorf("no challenge stored under the token's hash: %v", err)
	}
	if _, _, err := e.store.ReserveChallengeAttempt(ctx, []byte(res.Challenge.Token), e.clock.Now(), auth.MaxChallengeAttempts); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a challenge is stored under the plain token: %v", err)
	}

	done, err := e.m.CompleteLogin(ctx, res.Challenge.Token, auth.MethodTOTP, u.code(t, e.clock.Now()))
	wantErr(t, "CompleteLogin", err, nil)
	if done.Tokens == nil || done.Session == nil || done.Challenge != nil {
		t.Fatalf("CompleteLogin = %+v; want tokens", done)
	}
	if id := e.identity(t, done.Tokens.AccessToken); id.User.ID != u.user.ID {
		t.Errorf("session of %s, want %s", id.User.ID, u.user.ID)
	}
	if ev := e.events.ofType(auth.EventLogin); ev[len(ev)-1].Outcome != auth.OutcomeSuccess || ev[len(ev)-1].SessionID != done.Session.ID {
		t.Errorf("last login event %+v", ev[len(ev)-1])
	}
}

// SECURITY.md #80: a completed challenge cannot be used again, and one
// older than its TTL is refused.
func TestChallengeSingleUseAndExpiry(t *testing.T) {
	e := newEnv(t, withFactors)
	ctx := context.Background()
	u := e.enrolled(t, "ada@example.com")
	tok := e.challenge(t, u)
	_, err := e.m.CompleteLogin(ctx, tok, auth.MethodTOTP, u.code(t, e.clock.Now()))
	wantErr(t, "CompleteLogin", err, nil)
	e.clock.Advance(30 * time.Second)
	_, err = e.m.CompleteLogin(ctx, tok, auth.MethodTOTP, u.code(t, e.clock.Now()))
	wantErr(t, "CompleteLogin with a used challenge", err, auth.ErrInvalidChallenge)

	tok = e.challenge(t, u)
	e.clock.Advance(5 * time.Minute)
	_, err = e.m.CompleteLogin(ctx, tok, auth.MethodTOTP, u.code(t, e.clock.Now()))
	wantErr(t, "CompleteLogin after the TTL", err, auth.ErrInvalidChallenge)

	for _, bad := range []string{"", "not-a-token", strings.Repeat("A", 43)} {
		_, err = e.m.CompleteLogin(ctx, bad, auth.MethodTOTP, u.code(t, e.clock.Now()))
		wantErr(t, "CompleteLogin("+bad+")", err, auth.ErrInvalidChallenge)
	}
}

// SECURITY.md #80: a challenge is refused after the password changed or
// the account was disabled since the password step.
func TestChallengeBoundToAccountState(t *testing.T) {
	e := newEnv(t, withFactors)
	ctx := context.Background()
	u := e.enrolled(t, "ada@example.com")
	tok := e.challenge(t, u)
	e.clock.Advance(time.Second)
	if err := e.m.ChangePassword(ctx, u.id, goodPassword, "a brand new passphrase here"); err != nil {
		t.Fatalf("ChangePassword: %v", err)
	}
	_, err := e.m.CompleteLogin(ctx, tok, auth.MethodTOTP, u.code(t, e.clock.Now()))
	wantErr(t, "CompleteLogin after a password change", err, auth.ErrInvalidChallenge)

	res, err := e.m.Login(ctx, u.email, "a brand new passphrase here")
	wantErr(t, "Login with the new password", err, nil)
	if _, err := e.store.UpdateUser(ctx, u.user.ID, store.UserUpdate{IsActive: ptr(false), UpdatedAt: e.clock.Now()}); err != nil {
		t.Fatalf("deactivating: %v", err)
	}
	_, err = e.m.CompleteLogin(ctx, res.Challenge.Token, auth.MethodTOTP, u.code(t, e.clock.Now()))
	wantErr(t, "CompleteLogin after deactivation", err, auth.ErrAccountDisabled)
}

// SECURITY.md #77: ±1 step of drift; a code two steps old is refused, one
// of the next step is accepted.
func TestTOTPDrift(t *testing.T) {
	e := newEnv(t, withFactors)
	ctx := context.Background()
	u := e.enrolled(t, "ada@example.com") // used the step before now
	now := e.clock.Now()
	for _, tc := range []struct {
		name string
		at   time.Time
		want error
	}{
		{"two steps old", now.Add(-60 * time.Second), auth.ErrInvalidCode},
		{"two steps ahead", now.Add(60 * time.Second), auth.ErrInvalidCode},
		{"next step", now.Add(30 * time.Second), nil},
	} {
		_, err := e.m.CompleteLogin(ctx, e.challenge(t, u), auth.MethodTOTP, u.code(t, tc.at))
		wantErr(t, tc.name, err, tc.want)
	}
}

// SECURITY.md #78: the same valid code twice → the second is refused, even
// on a fresh challenge; so is an older code after a newer one.
func TestTOTPCodeOnce(t *testing.T) {
	e := newEnv(t, withFactors)
	ctx := context.Background()
	u := e.enrolled(t, "ada@example.com")
	code := u.code(t, e.clock.Now())
	_, err := e.m.CompleteLogin(ctx, e.challenge(t, u), auth.MethodTOTP, code)
	wantErr(t, "first use", err, nil)
	_, err = e.m.CompleteLogin(ctx, e.challenge(t, u), auth.MethodTOTP, code)
	wantErr(t, "second use", err, auth.ErrInvalidCode)
	// The step before the accepted one is inside the drift window but not
	// after the last accepted step.
	_, err = e.m.CompleteLogin(ctx, e.challenge(t, u), auth.MethodTOTP, u.code(t, e.clock.Now().Add(-30*time.Second)))
	wantErr(t, "an older step", err, auth.ErrInvalidCode)
}

// SECURITY.md #78: 20 goroutines submit one valid code on 20 challenges →
// exactly one login succeeds.
func TestTOTPConcurrentOneWinner(t *testing.T) {
	e := newEnv(t, withFactors, noLimits)
	ctx := context.Background()
	u := e.enrolled(t, "ada@example.com")
	toks := make([]string, 20)
	for i := range toks {
		toks[i] = e.challenge(t, u)
	}
	code := u.code(t, e.clock.Now())
	errs := make([]error, len(toks))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range toks {
		wg.Go(func() {
			<-start
			_, errs[i] = e.m.CompleteLogin(ctx, toks[i], auth.MethodTOTP, code)
		})
	}
	close(start)
	wg.Wait()
	ok, reused := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, auth.ErrInvalidCode):
			reused++
		default:
			t.Errorf("unexpected error %v", err)
		}
	}
	if ok != 1 || reused != 19 {
		t.Errorf("%d logins succeeded and %d were refused, want 1 and 19", ok, reused)
	}
}

// wrongTOTP returns a 6-digit code that is not u's code at any step near
// now.
func wrongTOTP(t testing.TB, u *mfaUser, now time.Time) string {
	t.Helper()
	near := map[string]bool{}
	for d := -2; d <= 2; d++ {
		near[u.code(t, now.Add(time.Duration(d)*30*time.Second))] = true
	}
	for _, c := range []string{"000000", "111111", "222222", "333333", "444444", "555555"} {
		if !near[c] {
			return c
		}
	}
	t.Fatal("no wrong code")
	return ""
}

// SECURITY.md #79: after 5 wrong codes the challenge is dead: the 6th
// answer is refused even when right.
func TestChallengeDiesAfterFiveWrong(t *testing.T) {
	e := newEnv(t, withFactors, noLimits)
	ctx := context.Background()
	u := e.enrolled(t, "ada@example.com")
	tok := e.challenge(t, u)
	bad := wrongTOTP(t, u, e.clock.Now())
	for i := range auth.MaxChallengeAttempts {
		_, err := e.m.CompleteLogin(ctx, tok, auth.MethodTOTP, bad)
		wantErr(t, "wrong code "+string(rune('1'+i)), err, auth.ErrInvalidCode)
	}
	_, err := e.m.CompleteLogin(ctx, tok, auth.MethodTOTP, u.code(t, e.clock.Now()))
	wantErr(t, "right code after 5 wrong", err, auth.ErrInvalidChallenge)
	// The code was not spent: a fresh challenge takes it.
	_, err = e.m.CompleteLogin(ctx, e.challenge(t, u), auth.MethodTOTP, u.code(t, e.clock.Now()))
	wantErr(t, "right code on a new challenge", err, nil)
}

// SECURITY.md #79: the attempt counter survives concurrency: of 20
// concurrent wrong answers on one challenge at most 5 are checked.
func TestChallengeAttemptsConcurrent(t *testing.T) {
	e := newEnv(t, withFactors, noLimits)
	u := e.enrolled(t, "ada@example.com")
	tok := e.challenge(t, u)
	bad := wrongTOTP(t, u, e.clock.Now())
	errs := make([]error, 20)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() { _, errs[i] = e.m.CompleteLogin(context.Background(), tok, auth.MethodTOTP, bad) })
	}
	wg.Wait()
	checked, dead := 0, 0
	for _, err := range errs {
		switch {
		case errors.Is(err, auth.ErrInvalidCode):
			checked++
		case errors.Is(err, auth.ErrInvalidChallenge):
			dead++
		default:
			t.Errorf("unexpected %v", err)
		}
	}
	if checked != auth.MaxChallengeAttempts || dead != 20-auth.MaxChallengeAttempts {
		t.Errorf("%d answers checked and %d refused, want %d and %d", checked, dead, auth.MaxChallengeAttempts, 20-auth.MaxChallengeAttempts)
	}
}

// SECURITY.md #79: wrong codes feed the account's throttle (429 with
// Retry-After) under the password limits, and the right password does not
// reset their count: after 5 wrong codes even the right one waits on a
// fresh challenge.
func TestWrongCodesThrottleAccount(t *testing.T) {
	e := newEnv(t, withFactors)
	ctx := context.Background()
	u := e.enrolled(t, "ada@example.com")
	tok := e.challenge(t, u)
	bad := wrongTOTP(t, u, e.clock.Now())
	for i := range auth.MaxChallengeAttempts {
		_, err := e.m.CompleteLogin(ctx, tok, auth.MethodTOTP, bad)
		wantErr(t, "wrong code "+string(rune('1'+i)), err, auth.ErrInvalidCode)
	}
	tok = e.challenge(t, u) // the password step still answers
	_, err := e.m.CompleteLogin(ctx, tok, auth.MethodTOTP, u.code(t, e.clock.Now()))
	var te *auth.ThrottledError
	if !errors.As(err, &te) || te.RetryAfter <= 0 || !errors.Is(err, auth.ErrThrottled) {
		t.Fatalf("right answer after 5 wrong: %v, want a *ThrottledError", err)
	}
	// Once the wait has passed, a right answer succeeds and clears the
	// count.
	e.clock.Advance(te.RetryAfter)
	_, err = e.m.CompleteLogin(ctx, tok, auth.MethodTOTP, u.code(t, e.clock.Now()))
	wantErr(t, "right answer after the wait", err, nil)
	e.clock.Advance(30 * time.Second)
	_, err = e.m.CompleteLogin(ctx, e.challenge(t, u), auth.MethodTOTP, u.code(t, e.clock.Now()))
	wantErr(t, "the next login", err, nil)
}

// SECURITY.md #81: recovery codes are single-use, their use is an event
// and a mail, and regenerating invalidates the old set.
func TestRecoveryCodes(t *testing.T) {
	e := newEnv(t, withFactors)
	ctx := context.Background()
	u := e.enrolled(t, "ada@example.com")
	// Typed sloppily: case and dashes do not matter.
	typed := strings.ToUpper(strings.ReplaceAll(u.codes[0], "-", " "))
	res, err := e.m.CompleteLogin(ctx, e.challenge(t, u), auth.MethodRecoveryCode, typed)
	wantErr(t, "CompleteLogin with a recovery code", err, nil)
	if res.Tokens == nil {
		t.Fatal("no tokens")
	}
	if ev := e.events.ofType(auth.EventRecoveryCodeUsed); len(ev) != 1 || ev[0].UserID != u.user.ID {
		t.Errorf("recovery_code_used events %+v", ev)
	}
	e.lastMailTo(t, u.email, mail.KindRecoveryCodeUsed)
	_, err = e.m.CompleteLogin(ctx, e.challenge(t, u), auth.MethodRecoveryCode, u.codes[0])
	wantErr(t, "the same recovery code again", err, auth.ErrInvalidCode)

	e.clock.Advance(auth.DefaultRecentLogin) // u.id's login is no longer recent
	_, err = e.m.RegenerateRecoveryCodes(ctx, u.id, "")
	wantErr(t, "RegenerateRecoveryCodes without a password", err, auth.ErrReauthRequired)
	fresh, err := e.m.RegenerateRecoveryCodes(ctx, u.id, goodPassword)
	wantErr(t, "RegenerateRecoveryCodes", err, nil)
	if len(fresh) != auth.RecoveryCodeCount {
		t.Fatalf("%d new codes", len(fresh))
	}
	e.lastMailTo(t, u.email, mail.KindRecoveryCodesRegenerated)
	_, err = e.m.CompleteLogin(ctx, e.challenge(t, u), auth.MethodRecoveryCode, u.codes[1])
	wantErr(t, "an old code after regenerating", err, auth.ErrInvalidCode)
	_, err = e.m.CompleteLogin(ctx, e.challenge(t, u), auth.MethodRecoveryCode, fresh[9])
	wantErr(t, "a new code", err, nil)
	_, err = e.m.CompleteLogin(ctx, e.challenge(t, u), "sms", "123456")
	wantErr(t, "an unknown method", err, auth.ErrInvalidCode)
}

// spyFactorStore records what the Manager hands the store.
type spyFactorStore struct {
	*memstore.Store
	mu      sync.Mutex
	secrets [][]byte
	hashes  [][]byte
}

func (s *spyFactorStore) CreateFactor(ctx context.Context, f *store.Factor) error {
	s.mu.Lock()
	s.secrets = append(s.secrets, bytes.Clone(f.Secret))
	s.mu.Unlock()
	return s.Store.CreateFactor(ctx, f)
}

func (s *spyFactorStore) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes [][]byte) error {
	s.mu.Lock()
	for _, h := range hashes {
		s.hashes = append(s.hashes, bytes.Clone(h))
	}
	s.mu.Unlock()
	return s.Store.ReplaceRecoveryCodes(ctx, userID, hashes)
}

// SECURITY.md #81: what the store receives holds no plaintext secret or
// code: the TOTP secret is sealed (AES-GCM, with the key's ID), recovery
// codes are hashed. A secret sealed under a removed key no longer opens;
// with the old key kept behind a new one (rotation) it does.
func TestFactorSecretsAtRest(t *testing.T) {
	spy := &spyFactorStore{Store: memstore.New()}
	useSpy := func(c *auth.Config) { c.Store, c.Limits.Store = spy, spy }
	e := newEnv(t, useSpy, withFactors)
	u := e.enrolled(t, "ada@example.com")
	raw, _ := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(u.secret)
	if len(spy.secrets) != 1 {
		t.Fatalf("%d factors created", len(spy.secrets))
	}
	sealed := spy.secrets[0]
	if bytes.Contains(sealed, []byte(u.secret)) || bytes.Contains(sealed, raw) {
		t.Error("the stored factor holds the plaintext secret")
	}
	if !bytes.Contains(sealed, []byte(factorKey.ID)) {
		t.Error("the stored factor does not name its key")
	}
	if len(spy.hashes) != auth.RecoveryCodeCount {
		t.Fatalf("%d recovery hashes stored", len(spy.hashes))
	}
	for _, h := range spy.hashes {
		for _, c := range u.codes {
			plain := strings.ReplaceAll(c, "-", "")
			if bytes.Contains(h, []byte(c)) || bytes.Contains(h, []byte(plain)) {
				t.Error("a stored recovery hash holds its code")
			}
		}
	}

	// The same store under another key: the secret does not open.
	other := auth.FactorKey{ID: "k2", Key: bytes.Repeat([]byte{9}, 32)}
	e2 := newEnv(t, useSpy, func(c *auth.Config) {
		c.Factors = auth.FactorConfig{Enabled: true, Keys: []auth.FactorKey{other}}
	})
	tok := e2.challenge(t, u)
	_, err := e2.m.CompleteLogin(context.Background(), tok, auth.MethodTOTP, u.code(t, e2.clock.Now()))
	wantErr(t, "a secret sealed under a removed key", err, auth.ErrInvalidCode)
	// Rotation: the new key first, the old one kept.
	e3 := newEnv(t, useSpy, func(c *auth.Config) {
		c.Factors = auth.FactorConfig{Enabled: true, Keys: []auth.FactorKey{other, factorKey}}
	})
	tok = e3.challenge(t, u)
	_, err = e3.m.CompleteLogin(context.Background(), tok, auth.MethodTOTP, u.code(t, e3.clock.Now()))
	wantErr(t, "after rotation with the old key kept", err, nil)
}

// SECURITY.md #82: removing a factor or regenerating codes with only a
// stale session (no password) is refused; a wrong password too; with it,
// the change is made, is an event and mails the user.
func TestFactorChangeNeedsProof(t *testing.T) {
	e := newEnv(t, withFactors)
	ctx := context.Background()
	u := e.enrolled(t, "ada@example.com")
	e.clock.Advance(auth.DefaultRecentLogin) // u.id's login is no longer recent
	err := e.m.RemoveFactor(ctx, u.id, u.factorID, "")
	wantErr(t, "RemoveFactor without a password", err, auth.ErrReauthRequired)
	err = e.m.RemoveFactor(ctx, u.id, u.factorID, "wrong password")
	wantErr(t, "RemoveFactor with a wrong password", err, auth.ErrInvalidPassword)
	_, err = e.m.EnrollTOTP(ctx, u.id, "", "")
	wantErr(t, "EnrollTOTP without a password", err, auth.ErrReauthRequired)
	_, err = e.m.RegenerateRecoveryCodes(ctx, u.id, "wrong password")
	wantErr(t, "RegenerateRecoveryCodes with a wrong password", err, auth.ErrInvalidPassword)
	if res := e.login(t, u.email); res.Challenge == nil {
		t.Fatal("the refused removal removed the factor")
	}
	if has, err := e.m.HasFactors(ctx, u.user.ID); err != nil || !has {
		t.Errorf("HasFactors before the removal = %t, %v; want true", has, err)
	}
	err = e.m.RemoveFactor(ctx, u.id, "unknown", goodPassword)
	wantErr(t, "RemoveFactor of an unknown factor", err, auth.ErrNotFound)
	err = e.m.RemoveFactor(ctx, u.id, u.factorID, goodPassword)
	wantErr(t, "RemoveFactor", err, nil)
	e.lastMailTo(t, u.email, mail.KindFactorRemoved)
	ev := e.events.ofType(auth.EventFactorRemove)
	if len(ev) == 0 || ev[len(ev)-1].Outcome != auth.OutcomeSuccess {
		t.Errorf("factor_remove events %+v", ev)
	}
	if res := e.login(t, u.email); res.Challenge != nil || res.Tokens == nil {
		t.Error("Login still asks for a removed factor")
	}
	if has, err := e.m.HasFactors(ctx, u.user.ID); err != nil || has {
		t.Errorf("HasFactors after the removal = %t, %v; want false", has, err)
	}
	if n, _ := e.store.CountRecoveryCodes(ctx, u.user.ID); n != 0 {
		t.Errorf("%d recovery codes survive the last factor", n)
	}
}

// SECURITY.md #84 (reset part): a superuser removes another user's
// factors, audited and mailed, without reading them; others may not.
func TestResetFactors(t *testing.T) {
	e := newEnv(t, withFactors)
	ctx := context.Background()
	u := e.enrolled(t, "ada@example.com")
	err := e.m.ResetFactors(ctx, u.id, u.user.ID)
	wantErr(t, "ResetFactors by the user", err, auth.ErrForbidden)
	admin, _ := e.superuser(t, "root@example.com")
	err = e.m.ResetFactors(ctx, admin, "f0000000-0000-4000-8000-000000000000")
	wantErr(t, "ResetFactors of an unknown user", err, auth.ErrNotFound)
	err = e.m.ResetFactors(ctx, admin, u.user.ID)
	wantErr(t, "ResetFactors", err, nil)
	if res := e.login(t, u.email); res.Challenge != nil {
		t.Error("Login still asks for a factor after the reset")
	}
	msg := e.lastMailTo(t, u.email, mail.KindFactorRemoved)
	if !strings.Contains(msg.Text, "administrator") {
		t.Errorf("the reset notice does not say an administrator did it:\n%s", msg.Text)
	}
	ev := e.events.ofType(auth.EventFactorsReset)
	if len(ev) != 2 || ev[1].Outcome != auth.OutcomeSuccess || ev[1].ActorID != admin.User.ID || ev[1].UserID != u.user.ID {
		t.Errorf("factors_reset events %+v", ev)
	}
}

// Factors need a key (a clear error at New) and a capable store (a clear
// sentinel from every factor operation).
func TestFactorsConfig(t *testing.T) {
	base := func() auth.Config {
		return auth.Config{Store: memstore.New(), Mailer: mail.Discard{}, Tokens: auth.TokenConfig{SigningKey: testKey}}
	}
	for _, tc := range []struct {
		name  string
		f     auth.FactorConfig
		field string
	}{
		{"no key", auth.FactorConfig{Enabled: true}, "Config.Factors.Keys"},
		{"short key", auth.FactorConfig{Enabled: true, Keys: []auth.FactorKey{{ID: "a", Key: make([]byte, 16)}}}, "Config.Factors.Keys[0].Key"},
		{"no key ID", auth.FactorConfig{Enabled: true, Keys: []auth.FactorKey{{Key: make([]byte, 32)}}}, "Config.Factors.Keys[0].ID"},
		{"key ID twice", auth.FactorConfig{Enabled: true, Keys: []auth.FactorKey{factorKey, factorKey}}, "Config.Factors.Keys[1].ID"},
		{"long challenge", auth.FactorConfig{ChallengeTTL: 6 * time.Minute}, "Config.Factors.ChallengeTTL"},
		{"long recent login", auth.FactorConfig{RecentLogin: 2 * time.Hour}, "Config.Factors.RecentLogin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base()
			cfg.Factors = tc.f
			_, err := auth.New(cfg)
			var ve *auth.ValidationError
			if !errors.As(err, &ve) || ve.Field != tc.field {
				t.Errorf("New: %v, want a ValidationError for %s", err, tc.field)
			}
		})
	}

	t.Run("store without factors", func(t *testing.T) {
		e := newEnv(t, withFactors, func(c *auth.Config) { c.Store = struct{ store.Store }{c.Store} })
		e.register(t, "ada@example.com")
		res := e.login(t, "ada@example.com")
		id := e.identity(t, res.Tokens.AccessToken)
		_, err := e.m.EnrollTOTP(context.Background(), id, goodPassword, "")
		wantErr(t, "EnrollTOTP", err, auth.ErrFactorsUnavailable)
		_, err = e.m.CompleteLogin(context.Background(), strings.Repeat("A", 43), auth.MethodTOTP, "123456")
		wantErr(t, "CompleteLogin", err, auth.ErrFactorsUnavailable)
	})
	t.Run("factors off", func(t *testing.T) {
		e := newEnv(t)
		e.register(t, "ada@example.com")
		id := e.identity(t, e.login(t, "ada@example.com").Tokens.AccessToken)
		_, err := e.m.Factors(context.Background(), id)
		wantErr(t, "Factors", err, auth.ErrFactorsUnavailable)
	})
}

// SECURITY.md #82 (recent login): within Config.Factors.RecentLogin of
// the session's login a factor change needs no password, though a wrong
// one given is still refused; once the login is older it needs the
// password again, and a refresh does not make it recent. Email and
// password changes never take a recent login instead of the password.
func TestFactorChangeRecentLogin(t *testing.T) {
	ctx := context.Background()
	t.Run("fresh login", func(t *testing.T) {
		e := newEnv(t, withFactors)
		u := e.enrolled(t, "ada@example.com")
		e.clock.Advance(auth.DefaultRecentLogin - time.Second)
		codes, err := e.m.RegenerateRecoveryCodes(ctx, u.id, "")
		wantErr(t, "RegenerateRecoveryCodes on a fresh login without a password", err, nil)
		if len(codes) != auth.RecoveryCodeCount {
			t.Errorf("%d codes", len(codes))
		}
		e.lastMailTo(t, u.email, mail.KindRecoveryCodesRegenerated)
		_, err = e.m.EnrollTOTP(ctx, u.id, "wrong password", "")
		wantErr(t, "EnrollTOTP on a fresh login with a wrong password", err, auth.ErrInvalidPassword)
		_, err = e.m.EnrollTOTP(ctx, u.id, "", "")
		wantErr(t, "EnrollTOTP on a fresh login without a password", err, nil)
		err = e.m.RemoveFactor(ctx, u.id, u.factorID, "")
		wantErr(t, "RemoveFactor on a fresh login without a password", err, nil)
		e.lastMailTo(t, u.email, mail.KindFactorRemoved)
		if ev := e.events.ofType(auth.EventFactorRemove); len(ev) != 1 || ev[0].Outcome != auth.OutcomeSuccess {
			t.Errorf("factor_remove events %+v", ev)
		}

		// Not for the account itself.
		other := "ada@example.org"
		_, err = e.m.UpdateProfile(ctx, u.id, auth.ProfileUpdate{Email: &other})
		wantErr(t, "an email change on a fresh login without a password", err, auth.ErrReauthRequired)
		err = e.m.ChangePassword(ctx, u.id, "", "a new password that is long")
		if err == nil {
			t.Error("a password change on a fresh login without the current password succeeded")
		}
	})
	t.Run("stale session", func(t *testing.T) {
		e := newEnv(t, withFactors)
		u := e.enrolled(t, "ada@example.com")
		e.clock.Advance(auth.DefaultRecentLogin)
		_, err := e.m.RegenerateRecoveryCodes(ctx, u.id, "")
		wantErr(t, "RegenerateRecoveryCodes on a stale session", err, auth.ErrReauthRequired)
		err = e.m.RemoveFactor(ctx, u.id, u.factorID, "")
		wantErr(t, "RemoveFactor on a stale session", err, auth.ErrReauthRequired)
		_, err = e.m.EnrollTOTP(ctx, u.id, "", "")
		wantErr(t, "EnrollTOTP on a stale session", err, auth.ErrReauthRequired)
		if has, _ := e.m.HasFactors(ctx, u.user.ID); !has {
			t.Error("a refused removal removed the factor")
		}
		ev := e.events.ofType(auth.EventFactorRemove)
		if len(ev) != 1 || ev[0].Outcome != auth.OutcomeFailure || ev[0].Reason != "reauth_required" {
			t.Errorf("factor_remove events %+v", ev)
		}
		err = e.m.RemoveFactor(ctx, u.id, u.factorID, goodPassword)
		wantErr(t, "RemoveFactor on a stale session with the password", err, nil)
	})
	t.Run("refresh does not renew it", func(t *testing.T) {
		e := newEnv(t, withFactors)
		e.register(t, "ada@example.com")
		res := e.login(t, "ada@example.com")
		e.clock.Advance(4 * time.Minute)
		pair, err := e.m.Refresh(ctx, res.Tokens.RefreshToken)
		wantErr(t, "Refresh", err, nil)
		id := e.identity(t, pair.AccessToken)
		e.clock.Advance(time.Minute)
		_, err = e.m.EnrollTOTP(ctx, id, "", "")
		wantErr(t, "EnrollTOTP five minutes after the login, one after a refresh", err, auth.ErrReauthRequired)
	})
	t.Run("negative RecentLogin always asks", func(t *testing.T) {
		e := newEnv(t, withFactors, func(c *auth.Config) { c.Factors.RecentLogin = -1 })
		e.register(t, "ada@example.com")
		res := e.login(t, "ada@example.com")
		_, err := e.m.EnrollTOTP(ctx, e.identity(t, res.Tokens.AccessToken), "", "")
		wantErr(t, "EnrollTOTP on a fresh login with RecentLogin < 0", err, auth.ErrReauthRequired)
	})
}

// A password reset of a user with a second factor (SECURITY.md #82,
// decision "reset and factors"): the mailed link alone changes the
// password and ends every session, but keeps the factors, so the next
// login with the new password still answers a challenge, not tokens; a
// challenge made before the reset dies with the old password.
func TestResetKeepsFactors(t *testing.T) {
	e := newEnv(t, withFactors)
	ctx := context.Background()
	u := e.enrolled(t, "ada@example.com")
	before := e.challenge(t, u)
	if err := e.m.RequestPasswordReset(ctx, u.email); err != nil {
		t.Fatal(err)
	}
	token := tokenIn(t, e.lastMailTo(t, u.email, mail.KindResetPassword))
	e.clock.Advance(time.Second)
	const next = "a brand new passphrase for ada"
	wantErr(t, "ResetPassword", e.m.ResetPassword(ctx, token, next), nil)
	if live, _ := e.store.UserSessions(ctx, u.user.ID, e.clock.Now()); len(live) != 0 {
		t.Errorf("%d sessions survive the reset", len(live))
	}
	if has, err := e.m.HasFactors(ctx, u.user.ID); err != nil || !has {
		t.Fatalf("HasFactors after the reset = %t, %v; want true", has, err)
	}
	_, err := e.m.CompleteLogin(ctx, before, auth.MethodTOTP, u.code(t, e.clock.Now()))
	wantErr(t, "a challenge from before the reset", err, auth.ErrInvalidChallenge)
	res, err := e.m.Login(ctx, u.email, next)
	wantErr(t, "Login with the new password", err, nil)
	if res.Challenge == nil || res.Tokens != nil {
		t.Fatalf("Login after the reset: %+v, want a challenge and no tokens", res)
	}
	done, err := e.m.CompleteLogin(ctx, res.Challenge.Token, auth.MethodTOTP, u.code(t, e.clock.Now()))
	wantErr(t, "CompleteLogin after the reset", err, nil)
	if done.Tokens == nil {
		t.Fatal("no tokens")
	}
}
