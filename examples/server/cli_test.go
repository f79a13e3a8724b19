package main_test

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	_ "modernc.org/sqlite"
)

// keyVar is the signing key's variable, spelled apart from its value.
const keyVar = "GATEHOUSE_SIGNING_KEY"

// TestErrorsNameFlags: a bad setting is reported by the flag that sets
// it, never by an auth.Config path the user cannot see, and a flag left at
// its default says so (the -refresh-ttl 1m case: the idle timeout the user
// never set is cut to 1m, below the access-token lifetime).
func TestErrorsNameFlags(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	t.Parallel()
	bin := buildServer(t)
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"-refresh-ttl", "1m"}, []string{"invalid -idle-timeout 168h0m0s (the default): must be at least -access-ttl (15m0s), but is cut to -refresh-ttl (1m0s)"}},
		{[]string{"-access-ttl", "2h"}, []string{"invalid -access-ttl 2h0m0s: must be between 1m0s and 1h0m0s"}},
		{[]string{"-idle-timeout", "10m"}, []string{"invalid -idle-timeout 10m0s: must be at least -access-ttl (15m0s)"}},
		{[]string{"-idle-timeout", "30s"}, []string{"invalid -idle-timeout 30s: must be between 1m0s"}},
		{[]string{"-refresh-ttl", "400d"}, []string{"-refresh-ttl"}}, // a flag parse error
		{[]string{"-base-url", "ftp://example.com"}, []string{`invalid -base-url "ftp://example.com": must be an absolute http(s) URL`}},
		{[]string{"-smtp-addr", "smtp.example.com:587", "-smtp-user", "u"}, []string{"-smtp-user", "-smtp-password"}},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			dir := t.TempDir()
			args := append([]string{"-addr", "127.0.0.1:0", "-db", filepath.Join(dir, "gh.db"), "-maildir", filepath.Join(dir, "mail")}, c.args...)
			// SMTP_PASSWORD is -smtp-password's default: keep it out.
			e := runToExit(t, bin, []string{"SMTP_PASSWORD="}, args...)
			if e.code == 0 {
				t.Fatalf("exit 0; printed %q", e.stdout)
			}
			for _, w := range c.want {
				if !strings.Contains(e.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, e.stderr)
				}
			}
			if strings.Contains(e.stderr, "Config.") {
				t.Errorf("the error names an auth.Config field:\n%s", e.stderr)
			}
			if strings.Contains(e.stdout, "listening on") {
				t.Errorf("it listened: %q", e.stdout)
			}
		})
	}
	t.Run("the idle timeout within bounds is accepted", func(t *testing.T) {
		dir := t.TempDir()
		s := start(t, bin, nil, "-db", filepath.Join(dir, "gh.db"), "-maildir", filepath.Join(dir, "mail"), "-idle-timeout", "20m", "-refresh-ttl", "1h")
		s.stop(t)
	})
}

// TestHelp: -h lists every flag, the idle timeout among them, and the
// paths an application must serve for the links in mail.
func TestHelp(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	t.Parallel()
	e := runToExit(t, buildServer(t), nil, "-h")
	if e.code != 0 {
		t.Fatalf("-h exited %d", e.code)
	}
	help := e.stdout + e.stderr
	for _, want := range []string{
		"-idle-timeout duration", "-tls-cert file", "-tls-key file", "-base-url", "GATEHOUSE_SIGNING_KEY", "GATEHOUSE_ADMIN_PASSWORD",
		"-ed25519-key file", "-ed25519-verify-keys files", "-jwks-max-age duration", "/.well-known/jwks.json",
		"/verify-email?token=", "/reset-password?token=", "/confirm-email?token=", "/cancel-email-change?token=",
		"must serve these paths",
	} {
		if !strings.Contains(help, want) {
			t.Errorf("-h lacks %q:\n%s", want, help)
		}
	}
}

// TestSigningKeyFromEnvironment: a variable that is set must hold a good
// key. Blank used to fall back silently to the key file.
func TestSigningKeyFromEnvironment(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	t.Parallel()
	bin := buildServer(t)
	for _, c := range []struct {
		name, value string
		want        []string
	}{
		{"set but empty", "", []string{keyVar + " is set but empty", "openssl rand -hex 32", "unset it"}},
		{"blank", " \t ", []string{keyVar + " is set but empty"}},
		{"short hex", strings.Repeat("ab", 16), []string{"decodes (as hex) to 16 bytes", "at least 32", "openssl rand -hex 32"}},
		{"short base64", "c2hvcnQga2V5IG9mIHR3ZW50eSBi", []string{"decodes (as base64) to 21 bytes", "openssl rand -hex 32"}},
		{"a password", "my secret password!", []string{"neither hex nor base64", "openssl rand -hex 32"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			db := filepath.Join(dir, "gh.db")
			e := runToExit(t, bin, []string{keyVar + "=" + c.value}, "-addr", "127.0.0.1:0", "-db", db, "-maildir", filepath.Join(dir, "mail"))
			if e.code == 0 {
				t.Fatalf("exit 0; printed %q", e.stdout)
			}
			for _, w := range c.want {
				if !strings.Contains(e.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, e.stderr)
				}
			}
			if _, err := os.Stat(db + ".key"); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("a key file was made or used despite the variable: %v", err)
			}
		})
	}
	t.Run("a good key is used, and no key file is made", func(t *testing.T) {
		dir := t.TempDir()
		db := filepath.Join(dir, "gh.db")
		key := hex.EncodeToString([]byte("thirty-two bytes of test key....")) // 32 bytes
		s := start(t, bin, []string{keyVar + "=" + key}, "-db", db, "-maildir", filepath.Join(dir, "mail"))
		s.stop(t)
		if _, err := os.Stat(db + ".key"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("a key file was made although the variable holds a key: %v", err)
		}
	})
	t.Run("an empty key file", func(t *testing.T) {
		dir := t.TempDir()
		db := filepath.Join(dir, "gh.db")
		if err := os.WriteFile(db+".key", []byte("\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		e := runToExit(t, bin, nil, "-addr", "127.0.0.1:0", "-db", db, "-maildir", filepath.Join(dir, "mail"))
		if e.code == 0 || !strings.Contains(e.stderr, "gh.db.key is empty") || !strings.Contains(e.stderr, "openssl rand -hex 32") {
			t.Fatalf("exit %d:\n%s", e.code, e.stderr)
		}
	})
}

var createdRe = regexp.MustCompile(`^created superuser (\S+) with password (\S+) `)

// printedAdmin returns the admin and password a start printed, if any.
func printedAdmin(lines []string) (email, password string) {
	for _, l := range lines {
		if m := createdRe.FindStringSubmatch(l); m != nil {
			return m[1], m[2]
		}
	}
	return "", ""
}

// TestAdminPasswordSurvivesBindFailure: a start that cannot bind its port
// creates no admin, so no one-time password is printed and lost; the next
// start prints it.
func TestAdminPasswordSurvivesBindFailure(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	t.Parallel()
	bin := buildServer(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	dir := t.TempDir()
	args := []string{"-db", filepath.Join(dir, "gh.db"), "-maildir", filepath.Join(dir, "mail")}
	e := runToExit(t, bin, nil, append([]string{"-addr", taken.Addr().String()}, args...)...)
	if e.code == 0 || !strings.Contains(e.stderr, "-addr "+taken.Addr().String()) || !strings.Contains(e.stderr, "in use") {
		t.Fatalf("with the port taken: exit %d, stderr:\n%s", e.code, e.stderr)
	}
	if strings.Contains(e.stdout, "password") {
		t.Fatalf("the failed start printed %q", e.stdout)
	}
	s := start(t, bin, nil, args...)
	email, password := printedAdmin(s.stdout)
	if email != "admin@example.com" || len(password) < 20 {
		t.Fatalf("the start after the failure printed %q", s.stdout)
	}
	access, _ := s.login(t, email, password)
	if me := s.want(t, s.call(t, "GET", "/v2/user", "", "", access), 200); me["is_superuser"] != true {
		t.Fatalf("the printed admin: %v", me)
	}
}

// TestAdminFromEnvironment: GATEHOUSE_ADMIN_PASSWORD creates the account
// with it; for an existing account with another password the start is
// refused (never silently ignored); a weak one is refused in every case;
// GATEHOUSE_ADMIN_EMAIL alone promotes, or creates with a printed random
// password.
func TestAdminFromEnvironment(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	t.Parallel()
	bin := buildServer(t)
	dir := t.TempDir()
	args := []string{"-db", filepath.Join(dir, "gh.db"), "-maildir", filepath.Join(dir, "mail")}
	env := func(email, password string) []string {
		return []string{"GATEHOUSE_ADMIN_EMAIL=" + email, "GATEHOUSE_ADMIN_PASSWORD=" + password}
	}
	refused := func(t *testing.T, env []string, want ...string) {
		t.Helper()
		e := runToExit(t, bin, env, append([]string{"-addr", "127.0.0.1:0"}, args...)...)
		if e.code == 0 {
			t.Fatalf("the start was not refused; it printed %q", e.stdout)
		}
		for _, w := range want {
			if !strings.Contains(e.stderr, w) {
				t.Errorf("stderr lacks %q:\n%s", w, e.stderr)
			}
		}
	}
	const changedPW = "the root passphrase, changed"

	t.Run("weak password for a new account", func(t *testing.T) {
		refused(t, env(adminEmail, "password"), "GATEHOUSE_ADMIN_PASSWORD is refused", "password")
	})
	t.Run("creates the account", func(t *testing.T) {
		s := start(t, bin, env(adminEmail, adminPW), args...)
		if len(s.stdout) != 0 {
			t.Errorf("printed %q", s.stdout)
		}
		access, _ := s.login(t, adminEmail, adminPW)
		form := `{"current_password":"` + adminPW + `","new_password":"` + changedPW + `"}`
		s.want(t, s.call(t, "POST", "/v2/change_password", "application/json", form, access), 200)
		s.stop(t)
	})
	t.Run("another password for the existing account", func(t *testing.T) {
		refused(t, env(adminEmail, adminPW), "GATEHOUSE_ADMIN_PASSWORD is not the password of "+adminEmail, "Lost admin password", "Unset GATEHOUSE_ADMIN_PASSWORD")
	})
	t.Run("weak password for the existing account", func(t *testing.T) {
		refused(t, env(adminEmail, "admin"), "GATEHOUSE_ADMIN_PASSWORD")
	})
	t.Run("the same password", func(t *testing.T) {
		s := start(t, bin, env(adminEmail, changedPW), args...)
		s.login(t, adminEmail, changedPW)
		s.stop(t)
	})
	t.Run("the email alone keeps the account as it is", func(t *testing.T) {
		s := start(t, bin, []string{"GATEHOUSE_ADMIN_EMAIL=" + adminEmail}, args...)
		if len(s.stdout) != 0 {
			t.Errorf("printed %q", s.stdout)
		}
		access, _ := s.login(t, adminEmail, changedPW)
		if me := s.want(t, s.call(t, "GET", "/v2/user", "", "", access), 200); me["is_superuser"] != true {
			t.Fatalf("the admin: %v", me)
		}
		// A registered user, for the next step.
		s.registerUser(t)
		s.stop(t)
	})
	t.Run("the email alone promotes a user", func(t *testing.T) {
		s := start(t, bin, []string{"GATEHOUSE_ADMIN_EMAIL=" + userEmail}, args...)
		if len(s.stdout) != 0 {
			t.Errorf("printed %q", s.stdout)
		}
		access, _ := s.login(t, userEmail, userPW)
		if me := s.want(t, s.call(t, "GET", "/v2/user", "", "", access), 200); me["is_superuser"] != true {
			t.Fatalf("not promoted: %v", me)
		}
		s.stop(t)
	})
	t.Run("the email alone creates with a printed password", func(t *testing.T) {
		const other = "ops@example.com"
		s := start(t, bin, []string{"GATEHOUSE_ADMIN_EMAIL=" + other}, args...)
		email, password := printedAdmin(s.stdout)
		if email != other || len(password) < 20 {
			t.Fatalf("printed %q", s.stdout)
		}
		s.login(t, other, password)
		s.stop(t)
	})
	t.Run("the password alone", func(t *testing.T) {
		refused(t, []string{"GATEHOUSE_ADMIN_PASSWORD=" + adminPW}, "without GATEHOUSE_ADMIN_EMAIL")
	})
}

// TestLostAdminPasswordRecovery follows the README's recovery: request a
// reset for the admin, open the link from the mail folder, set a password.
func TestLostAdminPasswordRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	t.Parallel()
	dir := t.TempDir()
	maildir := filepath.Join(dir, "mail")
	s := start(t, buildServer(t), nil, "-db", filepath.Join(dir, "gh.db"), "-maildir", maildir)
	email, _ := printedAdmin(s.stdout) // and then lost
	s.want(t, s.call(t, "POST", "/v2/request_password_reset", "application/json", `{"email":"`+email+`"}`, ""), 200)
	p := s.open(t, mailLink(t, maildir, email, "/reset-password"))
	const pw = "a recovered admin passphrase"
	wantPage(t, s.submit(t, p, url.Values{"new_password": {pw}, "confirm_password": {pw}}), 200, "Your password is changed")
	access, _ := s.login(t, email, pw)
	if me := s.want(t, s.call(t, "GET", "/v2/user", "", "", access), 200); me["is_superuser"] != true {
		t.Fatalf("the recovered admin: %v", me)
	}
}

// TestSigningKeyRotation checks the README's rotation advice: after a
// restart with a new key, the access tokens of the old key fail, and the
// refresh token, which no key signs, keeps the session.
func TestSigningKeyRotation(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	t.Parallel()
	bin := buildServer(t)
	dir := t.TempDir()
	args := []string{"-db", filepath.Join(dir, "gh.db"), "-maildir", filepath.Join(dir, "mail")}
	key := func() string {
		b := make([]byte, 32)
		rand.Read(b)
		return keyVar + "=" + hex.EncodeToString(b)
	}
	s := start(t, bin, []string{key()}, args...)
	s.registerUser(t)
	access, refresh := s.login(t, userEmail, userPW)
	s.stop(t)

	s = start(t, bin, []string{key()}, args...)
	s.want(t, s.call(t, "GET", "/v2/user", "", "", access), 401)
	pair := s.want(t, s.call(t, "POST", "/v2/refresh_access_token", "application/json", `"`+refresh+`"`, ""), 200)
	access = pair["access_token"].(map[string]any)["token"].(string)
	s.want(t, s.call(t, "GET", "/v2/user", "", "", access), 200)
}

// TestBackupWhileRunning checks the README's backup advice: VACUUM INTO
// on the live database (in WAL mode) gives a complete copy that a server
// starts on.
func TestBackupWhileRunning(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	t.Parallel()
	bin := buildServer(t)
	dir := t.TempDir()
	db, backup := filepath.Join(dir, "gh.db"), filepath.Join(dir, "backup.db")
	s := start(t, bin, nil, "-db", db, "-maildir", filepath.Join(dir, "mail"))
	s.registerUser(t)

	live, err := sql.Open("sqlite", "file:"+db+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	if _, err := live.ExecContext(t.Context(), "VACUUM INTO ?", backup); err != nil {
		t.Fatalf("VACUUM INTO: %v", err)
	}
	s.stop(t)

	restored := start(t, bin, nil, "-db", backup, "-maildir", filepath.Join(dir, "mail"))
	restored.login(t, userEmail, userPW)
}
