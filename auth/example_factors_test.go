package auth_test

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/store/memstore"
)

// A user enrols a TOTP authenticator; from then on Login answers with a
// Challenge instead of tokens, and CompleteLogin with a code from the app
// finishes the login. The code here comes from the same library an
// authenticator app implements.
func ExampleManager_CompleteLogin() {
	ctx := context.Background()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	m, err := auth.New(auth.Config{
		Store:  memstore.New(),
		Mailer: mail.Discard{},
		Tokens: auth.TokenConfig{SigningKey: exampleKey},
		Factors: auth.FactorConfig{
			Enabled: true,
			// Load 32 random bytes from configuration; never hard-code them.
			Keys: []auth.FactorKey{{ID: "2026-01", Key: bytes.Repeat([]byte{1}, 32)}},
		},
		Now: func() time.Time { return now },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	const pw = "correct horse battery staple"
	if _, err := m.Register(ctx, auth.Registration{Email: "ada@example.com", Password: pw}); err != nil {
		fmt.Println(err)
		return
	}
	res, err := m.Login(ctx, "ada@example.com", pw)
	if err != nil {
		fmt.Println(err)
		return
	}
	id, err := m.Authenticate(ctx, res.Tokens.AccessToken)
	if err != nil {
		fmt.Println(err)
		return
	}

	// Enrol: show enr.URI as the QR code enr.QRPNG, then confirm with a
	// first code. The first factor brings ten recovery codes, shown once.
	enr, err := m.EnrollTOTP(ctx, id, pw, "phone")
	if err != nil {
		fmt.Println(err)
		return
	}
	code, _ := totp.GenerateCode(enr.Secret, now)
	conf, err := m.ConfirmTOTP(ctx, id, enr.FactorID, code)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("recovery codes:", len(conf.RecoveryCodes))

	// Half a minute later, a new login.
	now = now.Add(30 * time.Second)
	res, err = m.Login(ctx, "ada@example.com", pw)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("tokens after the password:", res.Tokens != nil)
	fmt.Println("challenge methods:", res.Challenge.Methods)

	code, _ = totp.GenerateCode(enr.Secret, now)
	res, err = m.CompleteLogin(ctx, res.Challenge.Token, auth.MethodTOTP, code)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("tokens after the code:", res.Tokens != nil)
	// Output:
	// recovery codes: 10
	// tokens after the password: false
	// challenge methods: [totp recovery_code]
	// tokens after the code: true
}
