package sqlstore_test

import (
	"bytes"
	"encoding/base32"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/internal/testhash"
	"github.com/gatehouse-go/gatehouse/mail"
)

// TestManagerSecondFactors drives enrolment, a login with a challenge and
// its completion through the auth Manager on each dialect, and reads the
// rows back. SECURITY.md #81: the factor row holds no plaintext secret and
// the recovery-code rows no code. SECURITY.md #78: 20 concurrent answers
// with one valid code on 20 challenges → exactly one login.
func TestManagerSecondFactors(t *testing.T) {
	const email, pw = "ada@example.com", "correct horse battery staple"
	for _, tdb := range dialects() {
		t.Run(tdb.name, func(t *testing.T) {
			ctx := t.Context()
			db := tdb.open(t)
			var mu sync.Mutex
			now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			m, err := auth.New(auth.Config{
				Store:    newStore(t, db, tdb.dialect),
				Mailer:   mail.Discard{},
				Tokens:   auth.TokenConfig{SigningKey: bytes.Repeat([]byte{3}, 32)},
				Password: auth.PasswordConfig{Hasher: testhash.Fast{}, LegacyHashers: []auth.Hasher{}},
				Factors:  auth.FactorConfig{Enabled: true, Keys: []auth.FactorKey{{ID: "k1", Key: bytes.Repeat([]byte{5}, 32)}}},
				Limits:   auth.Limits{Disabled: true},
				Now:      func() time.Time { mu.Lock(); defer mu.Unlock(); return now },
			})
			if err != nil {
				t.Fatal(err)
			}
			id := signedIn(t, m, email, pw)
			enr, err := m.EnrollTOTP(ctx, id, pw, "phone")
			if err != nil {
				t.Fatalf("EnrollTOTP: %v", err)
			}
			code, _ := totp.GenerateCode(enr.Secret, now.Add(-30*time.Second))
			conf, err := m.ConfirmTOTP(ctx, id, enr.FactorID, code)
			if err != nil {
				t.Fatalf("ConfirmTOTP: %v", err)
			}

			var sealed []byte
			if err := db.QueryRowContext(ctx, "SELECT secret FROM gatehouse_factors").Scan(&sealed); err != nil {
				t.Fatal(err)
			}
			raw, _ := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(enr.Secret)
			if bytes.Contains(sealed, []byte(enr.Secret)) || bytes.Contains(sealed, raw) {
				t.Error("the factor row holds the plaintext secret")
			}
			rows, err := db.QueryContext(ctx, "SELECT hash FROM gatehouse_recovery_codes")
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for rows.Next() {
				var h []byte
				if err := rows.Scan(&h); err != nil {
					t.Fatal(err)
				}
				n++
				for _, c := range conf.RecoveryCodes {
					if bytes.Contains(h, []byte(strings.ReplaceAll(c, "-", ""))) {
						t.Error("a recovery-code row holds its code")
					}
				}
			}
			rows.Close()
			if n != auth.RecoveryCodeCount {
				t.Errorf("%d recovery-code rows, want %d", n, auth.RecoveryCodeCount)
			}

			toks := make([]string, 20)
			for i := range toks {
				res, err := m.Login(ctx, email, pw)
				if err != nil || res.Challenge == nil || res.Tokens != nil {
					t.Fatalf("Login of an enrolled user = %+v, %v; want a challenge only", res, err)
				}
				toks[i] = res.Challenge.Token
			}
			code, _ = totp.GenerateCode(enr.Secret, now)
			errs := make([]error, len(toks))
			var wg sync.WaitGroup
			for i := range toks {
				wg.Go(func() { _, errs[i] = m.CompleteLogin(ctx, toks[i], auth.MethodTOTP, code) })
			}
			wg.Wait()
			ok := 0
			for _, err := range errs {
				if err == nil {
					ok++
				}
			}
			if ok != 1 {
				t.Errorf("%d of 20 concurrent logins with one code succeeded, want 1 (errors %v)", ok, errs)
			}
			// A recovery code on a fresh challenge, once.
			res, err := m.Login(ctx, email, pw)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := m.CompleteLogin(ctx, res.Challenge.Token, auth.MethodRecoveryCode, conf.RecoveryCodes[3]); err != nil {
				t.Errorf("CompleteLogin with a recovery code: %v", err)
			}
		})
	}
}

// signedIn registers email with pw on m, logs in and returns the session's
// identity.
func signedIn(tb testing.TB, m *auth.Manager, email, pw string) *auth.Identity {
	tb.Helper()
	ctx := tb.Context()
	if _, err := m.Register(ctx, auth.Registration{Email: email, Password: pw}); err != nil {
		tb.Fatal(err)
	}
	res, err := m.Login(ctx, email, pw)
	if err != nil {
		tb.Fatal(err)
	}
	id, err := m.Authenticate(ctx, res.Tokens.AccessToken)
	if err != nil {
		tb.Fatal(err)
	}
	return id
}
