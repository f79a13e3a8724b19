package main

import (
	"context"
	"io"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/internal/testhash"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/store/sqlstore"
)

// enrolTOTP gives the user a confirmed TOTP factor through a second
// Manager over the app's database and keys (the app has no enrolment page)
// and returns its secret and recovery codes.
func enrolTOTP(t *testing.T, app *testApp, email, password string) (string, []string) {
	t.Helper()
	ctx := context.Background()
	db, err := openSQLite(app.db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st, err := sqlstore.New(db, sqlstore.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	key, err := signingKey(app.db)
	if err != nil {
		t.Fatal(err)
	}
	fkey, err := factorKey(app.db)
	if err != nil {
		t.Fatal(err)
	}
	m, err := auth.New(auth.Config{
		Store: st, Mailer: mail.Discard{}, Tokens: auth.TokenConfig{SigningKey: key},
		Factors:  auth.FactorConfig{Enabled: true, Keys: []auth.FactorKey{{ID: "k1", Key: fkey}}},
		Limits:   auth.Limits{Disabled: true},
		Password: auth.PasswordConfig{Hasher: testhash.Fast{}, LegacyHashers: []auth.Hasher{}}, // as startApp's
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := m.Login(ctx, email, password)
	if err != nil {
		t.Fatal(err)
	}
	id := &auth.Identity{User: res.User, Session: res.Session}
	enr, err := m.EnrollTOTP(ctx, id, password, "phone")
	if err != nil {
		t.Fatal(err)
	}
	code, err := totp.GenerateCode(enr.Secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	conf, err := m.ConfirmTOTP(ctx, id, enr.FactorID, code)
	if err != nil {
		t.Fatal(err)
	}
	return enr.Secret, conf.RecoveryCodes
}

var challengeField = regexp.MustCompile(`name="challenge" value="([^"]+)"`)

// TestLoginWithCode: a user with a second factor gets the code form after
// the right password, and no session; a wrong code keeps the form; the
// right TOTP code, or an unused recovery code, signs in.
func TestLoginWithCode(t *testing.T) {
	app := startApp(t)
	app.newUser(t, adaEmail, adaPW, "Ada")
	secret, recovery := enrolTOTP(t, app, adaEmail, adaPW)

	passwordStep := func(t *testing.T) (string, func(url.Values) (int, string, string)) {
		t.Helper()
		c := app.client(t)
		resp, err := c.PostForm(app.url+"/login", url.Values{"email": {adaEmail}, "password": {adaPW}})
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := challengeField.FindSubmatch(body)
		if resp.StatusCode != 200 || m == nil || !strings.Contains(string(body), "Enter your code") {
			t.Fatalf("POST /login of a user with a factor: %d\n%s", resp.StatusCode, body)
		}
		if app.signedIn(t, c) {
			t.Fatal("the password alone gave a session")
		}
		answer := func(form url.Values) (int, string, string) {
			resp, err := c.PostForm(app.url+"/login/code", form)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return resp.StatusCode, resp.Request.URL.Path, string(body)
		}
		return string(m[1]), func(form url.Values) (int, string, string) {
			st, p, b := answer(form)
			if p == "/account" && !app.signedIn(t, c) {
				t.Fatal("ended on /account without a session")
			}
			return st, p, b
		}
	}

	t.Run("totp", func(t *testing.T) {
		challenge, answer := passwordStep(t)
		status, path, body := answer(url.Values{"challenge": {challenge}, "code": {"000000"}})
		if status != 400 || !strings.Contains(body, "wrong or was used") {
			t.Fatalf("a wrong code: %d %s\n%s", status, path, body)
		}
		next, _ := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
		if _, path, body = answer(url.Values{"challenge": {challenge}, "code": {next}}); path != "/account" {
			t.Fatalf("the right code ended on %s\n%s", path, body)
		}
	})
	t.Run("recovery code", func(t *testing.T) {
		challenge, answer := passwordStep(t)
		if _, path, body := answer(url.Values{"challenge": {challenge}, "code": {strings.ToUpper(recovery[0])}}); path != "/account" {
			t.Fatalf("a recovery code ended on %s\n%s", path, body)
		}
	})
	t.Run("dead challenge", func(t *testing.T) {
		_, answer := passwordStep(t)
		if status, _, body := answer(url.Values{"challenge": {"not-a-challenge"}, "code": {"123456"}}); status != 400 || !strings.Contains(body, "Log in again") {
			t.Fatalf("an unknown challenge: %d\n%s", status, body)
		}
	})
}
