package mail_test

import (
	"context"
	"errors"
	"fmt"
	"html"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/mail"
)

var allKinds = []mail.Kind{
	mail.KindVerifyEmail,
	mail.KindResetPassword,
	mail.KindPasswordChanged,
	mail.KindChangeEmail,
	mail.KindEmailChangeNotice,
	mail.KindSignupAttempt,
	mail.KindAccountDeleted,
	mail.KindAccountDeactivated,
	mail.KindAccountReactivated,
	mail.KindFactorAdded,
	mail.KindFactorRemoved,
	mail.KindPasskeyAdded,
	mail.KindRecoveryCodesRegenerated,
	mail.KindRecoveryCodeUsed,
}

// fullData returns data for k with every field set, the secrets set to the
// sentinels of log_test.go.
func fullData(k mail.Kind) mail.Data {
	return mail.Data{
		Kind:          k,
		To:            mail.Address{Name: "Alice Liddell", Email: "alice@example.com"},
		AppName:       "Wonderland",
		Locale:        "en",
		Token:         sentinelToken,
		Code:          sentinelCode,
		Link:          sentinelLink,
		ExpiresIn:     30 * time.Minute,
		CodeExpiresIn: 10 * time.Minute,
		NewEmail:      "alice@new.example",
		Time:          time.Date(2026, 11, 28, 6, 11, 49, 0, time.UTC),
	}
}

func render(tb testing.TB, r mail.Renderer, d mail.Data) mail.Message {
	tb.Helper()
	m, err := r.Render(context.Background(), d)
	if err != nil {
		tb.Fatalf("Render(%s, %q): %v", d.Kind, d.Locale, err)
	}
	return m
}

func TestDefaultTemplatesRenderEveryKind(t *testing.T) {
	tpl := mail.DefaultTemplates()
	// What each kind's bodies must say, beyond the recipient's address.
	mustSay := map[mail.Kind][]string{
		mail.KindVerifyEmail:              {sentinelCode, sentinelLink, sentinelToken, "10 minutes", "30 minutes", "Wonderland"},
		mail.KindResetPassword:            {sentinelLink, sentinelToken, "30 minutes", "ignore this email"},
		mail.KindPasswordChanged:          {"password", "28 November 2026 at 06:11 UTC"},
		mail.KindChangeEmail:              {sentinelCode, sentinelLink, sentinelToken, "30 minutes"},
		mail.KindEmailChangeNotice:        {"alice@new.example", "28 November 2026 at 06:11 UTC"},
		mail.KindSignupAttempt:            {"already have an account"},
		mail.KindAccountDeleted:           {"was deleted on 28 November 2026 at 06:11 UTC", "no longer sign in"},
		mail.KindAccountDeactivated:       {"deactivated", "no longer sign in", "signed out", "28 November 2026 at 06:11 UTC"},
		mail.KindAccountReactivated:       {"reactivated", "sign in again", "28 November 2026 at 06:11 UTC"},
		mail.KindFactorAdded:              {"authenticator app was added", "28 November 2026 at 06:11 UTC", "change your password"},
		mail.KindFactorRemoved:            {"A second factor was removed from your account", "28 November 2026 at 06:11 UTC"},
		mail.KindPasskeyAdded:             {"A passkey was registered", "28 November 2026 at 06:11 UTC", "change your password"},
		mail.KindRecoveryCodesRegenerated: {"New recovery codes", "old ones no longer work", "28 November 2026 at 06:11 UTC"},
		mail.KindRecoveryCodeUsed:         {"recovery code was used to sign in", "28 November 2026 at 06:11 UTC"},
	}
	for _, k := range allKinds {
		t.Run(string(k), func(t *testing.T) {
			d := fullData(k)
			m := render(t, tpl, d)
			if m.Kind != k || len(m.To) != 1 || m.To[0] != d.To || m.From != (mail.Address{}) {
				t.Errorf("Kind %q, To %v, From %v; want %q, [%v], empty", m.Kind, m.To, m.From, k, d.To)
			}
			if err := m.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
			if m.Subject == "" || m.Text == "" || m.HTML == "" {
				t.Fatalf("subject %q, text %d bytes, html %d bytes: want all three", m.Subject, len(m.Text), len(m.HTML))
			}
			for _, s := range append(mustSay[k], d.To.Email, "Hello Alice Liddell") {
				if !strings.Contains(m.Text, s) {
					t.Errorf("text lacks %q:\n%s", s, m.Text)
				}
				if !strings.Contains(html.UnescapeString(m.HTML), s) {
					t.Errorf("html lacks %q:\n%s", s, m.HTML)
				}
			}
			if !strings.HasSuffix(m.Text, "\n") || strings.HasSuffix(m.Text, "\n\n") {
				t.Errorf("text should end with exactly one newline: %q", m.Text[max(0, len(m.Text)-20):])
			}
			// The rendered message composes into a valid RFC 5322 message.
			p := parse(t, compose(t, m, mail.ComposeOptions{DefaultFrom: sender}))
			if p.subject != m.Subject || p.text != crlf(m.Text) || p.html != crlf(m.HTML) {
				t.Errorf("composed message does not read back")
			}
		})
	}
}

func TestDefaultTemplatesMinimalData(t *testing.T) {
	tpl := mail.DefaultTemplates()
	for _, k := range allKinds {
		t.Run(string(k), func(t *testing.T) {
			m := render(t, tpl, mail.Data{Kind: k, To: mail.Address{Email: "alice@example.com"}})
			for _, part := range []string{m.Subject, m.Text, m.HTML} {
				if strings.Contains(part, "<no value>") || strings.Contains(part, "  ") && !strings.Contains(part, "<") {
					t.Errorf("rendering with empty fields left a gap: %q", part)
				}
			}
			if !strings.HasPrefix(m.Text, "Hello,\n") {
				t.Errorf("text starts %q, want a greeting without a name", m.Text[:min(len(m.Text), 20)])
			}
		})
	}
}

// Secrets go in bodies only: subjects show up in notifications and logs.
// SECURITY.md #49, #63.
func TestSecretsOnlyInBodies(t *testing.T) {
	tpl := mail.DefaultTemplates()
	// An override in another locale may not leak them either; it is refused
	// at Set (see TestSetRefusesBadTemplates), so the defaults are what can
	// render.
	for _, k := range allKinds {
		for _, locale := range []string{"en", "de-CH", ""} {
			t.Run(string(k)+"/"+locale, func(t *testing.T) {
				d := fullData(k)
				d.Locale = locale
				m := render(t, tpl, d)
				header := m.Subject + " " + m.From.String()
				for _, a := range m.To {
					header += " " + a.String()
				}
				for _, secret := range []string{d.Token, d.Code, d.Link, "SENTINEL"} {
					if strings.Contains(header, secret) {
						t.Errorf("headers contain %q: %s", secret, header)
					}
				}
			})
		}
	}
}

// HTML bodies escape every value: an application name, an address or a
// display name cannot inject markup, and a javascript: link is neutralized.
func TestTemplatesEscapeHTML(t *testing.T) {
	tpl := mail.DefaultTemplates()
	for _, k := range allKinds {
		t.Run(string(k), func(t *testing.T) {
			d := fullData(k)
			d.AppName = `<script>alert("app")</script>`
			d.NewEmail = `"><script>alert(1)</script>@evil.example`
			d.To.Name = `<img src=x onerror=alert(2)>`
			d.Link = "javascript:alert(3)"
			m := render(t, tpl, d)
			for _, bad := range []string{"<script", "<img", `href="javascript:`} {
				if strings.Contains(m.HTML, bad) {
					t.Errorf("html contains %q:\n%s", bad, m.HTML)
				}
			}
			if !strings.Contains(m.HTML, "&lt;script&gt;") && !strings.Contains(m.HTML, "&lt;img") {
				t.Errorf("html does not show the escaped values:\n%s", m.HTML)
			}
			// The plain-text body is not HTML and shows values as they are.
			if !strings.Contains(m.Text, "<img src=x onerror=alert(2)>") {
				t.Errorf("text altered the name:\n%s", m.Text)
			}
		})
	}
}

func TestTemplatesLocaleFallback(t *testing.T) {
	tpl := mail.DefaultTemplates()
	set := func(locale, subject string) {
		t.Helper()
		err := tpl.Set(locale, mail.KindVerifyEmail, mail.Template{
			Subject: subject + "{{with .AppName}} ({{.}}){{end}}",
			Text:    "Code: {{.Code}}\n",
		})
		if err != nil {
			t.Fatalf("Set(%q): %v", locale, err)
		}
	}
	set("de", "Bestätigen Sie Ihre E-Mail-Adresse")
	set("de-AT", "Bitte bestätigen Sie Ihre E-Mail-Adresse")
	set("PT_br", "Confirme seu endereço de e-mail")

	tests := []struct {
		locale string
		kind   mail.Kind
		want   string
	}{
		{"de", mail.KindVerifyEmail, "Bestätigen Sie Ihre E-Mail-Adresse (Wonderland)"},
		{"de-CH", mail.KindVerifyEmail, "Bestätigen Sie Ihre E-Mail-Adresse (Wonderland)"},
		{"DE_ch", mail.KindVerifyEmail, "Bestätigen Sie Ihre E-Mail-Adresse (Wonderland)"},
		{"de-AT", mail.KindVerifyEmail, "Bitte bestätigen Sie Ihre E-Mail-Adresse (Wonderland)"},
		{"de-at", mail.KindVerifyEmail, "Bitte bestätigen Sie Ihre E-Mail-Adresse (Wonderland)"},
		{"pt-BR", mail.KindVerifyEmail, "Confirme seu endereço de e-mail (Wonderland)"},
		{"pt", mail.KindVerifyEmail, "Verify your email address for Wonderland"},
		{"fr", mail.KindVerifyEmail, "Verify your email address for Wonderland"},
		{"", mail.KindVerifyEmail, "Verify your email address for Wonderland"},
		{"../../etc/passwd", mail.KindVerifyEmail, "Verify your email address for Wonderland"},
		// Fallback is per kind: pt has no reset template, so English;
		// de-CH gets the built-in German one.
		{"pt-BR", mail.KindResetPassword, "Reset your password for Wonderland"},
		{"de-CH", mail.KindResetPassword, "Passwort zurücksetzen für Wonderland"},
		{"de-CH", mail.KindPasswordChanged, "Ihr Passwort für Wonderland wurde geändert"},
	}
	for _, tt := range tests {
		t.Run(tt.locale+"/"+string(tt.kind), func(t *testing.T) {
			d := fullData(tt.kind)
			d.Locale = tt.locale
			if got := render(t, tpl, d).Subject; got != tt.want {
				t.Errorf("subject = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTemplatesOverride(t *testing.T) {
	tpl := mail.DefaultTemplates()
	custom := mail.Template{
		Subject: "Welcome to {{.AppName}}",
		Text:    "Enter {{.Code}} to finish signing up.",
	}
	if err := tpl.Set("en", mail.KindVerifyEmail, custom); err != nil {
		t.Fatalf("Set: %v", err)
	}
	m := render(t, tpl, fullData(mail.KindVerifyEmail))
	if m.Subject != "Welcome to Wonderland" || m.Text != "Enter "+sentinelCode+" to finish signing up.\n" || m.HTML != "" {
		t.Errorf("got subject %q, text %q, html %q", m.Subject, m.Text, m.HTML)
	}
	// Other kinds keep their defaults, and other Templates are untouched.
	if got := render(t, tpl, fullData(mail.KindResetPassword)).Subject; got != "Reset your password for Wonderland" {
		t.Errorf("reset subject = %q", got)
	}
	if got := render(t, mail.DefaultTemplates(), fullData(mail.KindVerifyEmail)).Subject; got != "Verify your email address for Wonderland" {
		t.Errorf("a fresh DefaultTemplates saw the override: %q", got)
	}
}

func TestSetRefusesBadTemplates(t *testing.T) {
	good := mail.Template{Subject: "Hi", Text: "Body {{.Code}}", HTML: "<p>{{.Code}}</p>"}
	with := func(f func(*mail.Template)) mail.Template {
		tpl := good
		f(&tpl)
		return tpl
	}
	tests := []struct {
		name   string
		locale string
		kind   mail.Kind
		tpl    mail.Template
		want   error
	}{
		{"subject does not parse", "en", mail.KindVerifyEmail, with(func(t *mail.Template) { t.Subject = "{{.AppName" }), mail.ErrInvalidTemplate},
		{"text does not parse", "en", mail.KindVerifyEmail, with(func(t *mail.Template) { t.Text = "{{if .Code}}" }), mail.ErrInvalidTemplate},
		{"html does not parse", "en", mail.KindVerifyEmail, with(func(t *mail.Template) { t.HTML = "{{end}}" }), mail.ErrInvalidTemplate},
		{"html escaping fails", "en", mail.KindVerifyEmail, with(func(t *mail.Template) { t.HTML = "<a href='{{.Link}}>x</a>" }), mail.ErrInvalidTemplate},
		{"unknown field in text", "en", mail.KindVerifyEmail, with(func(t *mail.Template) { t.Text = "{{.Password}}" }), mail.ErrInvalidTemplate},
		{"unknown function", "en", mail.KindVerifyEmail, with(func(t *mail.Template) { t.Text = "{{shout .Code}}" }), mail.ErrInvalidTemplate},
		{"fails on empty fields", "en", mail.KindVerifyEmail, with(func(t *mail.Template) { t.Text = "{{index .Code 0}}" }), mail.ErrInvalidTemplate},
		{"token in subject", "en", mail.KindVerifyEmail, with(func(t *mail.Template) { t.Subject = "Your token {{.Token}}" }), mail.ErrInvalidTemplate},
		{"code in subject", "en", mail.KindVerifyEmail, with(func(t *mail.Template) { t.Subject = "{{.Code}} is your code" }), mail.ErrInvalidTemplate},
		{"link in subject", "en", mail.KindResetPassword, with(func(t *mail.Template) { t.Subject = "Reset: {{.Link}}" }), mail.ErrInvalidTemplate},
		{"subject on two lines", "en", mail.KindVerifyEmail, with(func(t *mail.Template) { t.Subject = "Hi\n{{.AppName}} team" }), mail.ErrInvalidTemplate},
		{"empty subject", "en", mail.KindVerifyEmail, with(func(t *mail.Template) { t.Subject = " \n" }), mail.ErrInvalidTemplate},
		{"subject renders empty", "en", mail.KindVerifyEmail, with(func(t *mail.Template) { t.Subject = "{{.AppName}}" }), mail.ErrInvalidTemplate},
		{"empty text", "en", mail.KindVerifyEmail, with(func(t *mail.Template) { t.Text = "" }), mail.ErrInvalidTemplate},
		{"empty locale", "", mail.KindVerifyEmail, good, mail.ErrInvalidTemplate},
		{"one-letter locale", "e", mail.KindVerifyEmail, good, mail.ErrInvalidTemplate},
		{"path as locale", "../en", mail.KindVerifyEmail, good, mail.ErrInvalidTemplate},
		{"locale with space", "en US", mail.KindVerifyEmail, good, mail.ErrInvalidTemplate},
		{"digit language", "12", mail.KindVerifyEmail, good, mail.ErrInvalidTemplate},
		{"unknown kind", "en", mail.Kind("welcome"), good, mail.ErrUnknownKind},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl := mail.DefaultTemplates()
			err := tpl.Set(tt.locale, tt.kind, tt.tpl)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Set = %v, want %v", err, tt.want)
			}
			// The refused template replaced nothing.
			if got := render(t, tpl, fullData(mail.KindVerifyEmail)).Subject; got != "Verify your email address for Wonderland" {
				t.Errorf("subject after a refused Set = %q", got)
			}
		})
	}
	t.Run("the good template is accepted", func(t *testing.T) {
		if err := mail.DefaultTemplates().Set("en", mail.KindVerifyEmail, good); err != nil {
			t.Errorf("Set = %v", err)
		}
	})
}

func TestRenderErrors(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	withData := func(f func(*mail.Data)) mail.Data {
		d := fullData(mail.KindVerifyEmail)
		f(&d)
		return d
	}
	tests := []struct {
		name string
		tpl  *mail.Templates
		ctx  context.Context
		d    mail.Data
		want error
	}{
		{"canceled context", mail.DefaultTemplates(), canceled, fullData(mail.KindVerifyEmail), context.Canceled},
		{"unknown kind", mail.DefaultTemplates(), context.Background(), withData(func(d *mail.Data) { d.Kind = "welcome" }), mail.ErrUnknownKind},
		{"empty kind", mail.DefaultTemplates(), context.Background(), withData(func(d *mail.Data) { d.Kind = "" }), mail.ErrUnknownKind},
		{"no templates", &mail.Templates{}, context.Background(), fullData(mail.KindVerifyEmail), mail.ErrNoTemplate},
		{"invalid recipient", mail.DefaultTemplates(), context.Background(), withData(func(d *mail.Data) { d.To.Email = "not an address" }), mail.ErrInvalidMessage},
		{"line break in name", mail.DefaultTemplates(), context.Background(), withData(func(d *mail.Data) { d.To.Name = "A\r\nBcc: x@evil.example" }), mail.ErrInvalidMessage},
		{"line break in AppName", mail.DefaultTemplates(), context.Background(), withData(func(d *mail.Data) { d.AppName = "App\nBcc: x@evil.example" }), mail.ErrInvalidMessage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.tpl.Render(tt.ctx, tt.d)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Render = %v, want %v", err, tt.want)
			}
			// SECURITY.md #63: errors never carry the secrets.
			for _, secret := range []string{sentinelToken, sentinelCode, "SENTINEL-LINK"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error contains %q: %v", secret, err)
				}
			}
		})
	}
}

func TestTemplateFuncs(t *testing.T) {
	tpl := mail.DefaultTemplates()
	err := tpl.Set("en", mail.KindVerifyEmail, mail.Template{
		Subject: "Expiry",
		Text:    "{{duration .ExpiresIn}}|{{minutes .ExpiresIn}}|{{hours .ExpiresIn}}|{{days .ExpiresIn}}",
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0 minutes|0|0|0"},
		{time.Second, "1 second|0|0|0"},
		{45 * time.Second, "45 seconds|0|0|0"},
		{time.Minute, "1 minute|1|0|0"},
		{10*time.Minute + 30*time.Second, "10 minutes|10|0|0"},
		{time.Hour, "1 hour|60|1|0"},
		{90 * time.Minute, "1 hour 30 minutes|90|1|0"},
		{24 * time.Hour, "1 day|1440|24|1"},
		{49*time.Hour + time.Minute, "2 days 1 hour 1 minute|2941|49|2"},
	}
	for _, tt := range tests {
		t.Run(tt.d.String(), func(t *testing.T) {
			d := fullData(mail.KindVerifyEmail)
			d.ExpiresIn = tt.d
			if got := render(t, tpl, d).Text; got != tt.want+"\n" {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// Set may run while other goroutines render; run with -race.
func TestTemplatesConcurrentUse(t *testing.T) {
	tpl := mail.DefaultTemplates()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 20 {
				err := tpl.Set("de", allKinds[j%len(allKinds)], mail.Template{
					Subject: fmt.Sprintf("Betreff %d", i),
					Text:    "{{.Code}}",
				})
				if err != nil {
					t.Errorf("Set: %v", err)
				}
			}
		})
		wg.Go(func() {
			for j := range 50 {
				d := fullData(allKinds[j%len(allKinds)])
				d.Locale = "de-CH"
				if _, err := tpl.Render(context.Background(), d); err != nil {
					t.Errorf("Render: %v", err)
				}
			}
		})
	}
	wg.Wait()
}

// The notice of a pending email change offers cancelling only when it
// carries the token (and link) that does it, in both languages.
func TestEmailChangeNoticeCancel(t *testing.T) {
	tpl := mail.DefaultTemplates()
	for _, tc := range []struct{ locale, cancel string }{{"en", "Cancel the change"}, {"de", "Brechen Sie die Änderung ab"}} {
		t.Run(tc.locale, func(t *testing.T) {
			with := fullData(mail.KindEmailChangeNotice)
			with.Locale = tc.locale
			m := render(t, tpl, with)
			for _, part := range []string{m.Text, m.HTML} {
				if !strings.Contains(part, tc.cancel) || !strings.Contains(part, sentinelLink) {
					t.Errorf("notice with a token does not offer cancelling:\n%s", part)
				}
			}
			if !strings.Contains(m.Text, sentinelToken) {
				t.Errorf("notice text lacks the token:\n%s", m.Text)
			}
			without := with
			without.Token, without.Link = "", ""
			m = render(t, tpl, without)
			for _, part := range []string{m.Text, m.HTML} {
				if strings.Contains(part, tc.cancel) || strings.Contains(strings.ToLower(part), "link") {
					t.Errorf("notice without a token offers cancelling or names a link:\n%s", part)
				}
			}
		})
	}
}

// The notice of a deleted account says who deleted it, the user or an
// administrator, without naming the administrator, in both languages.
func TestAccountDeletedSaysWho(t *testing.T) {
	tpl := mail.DefaultTemplates()
	tests := []struct {
		locale      string
		bySuperuser bool
		want, not   []string
	}{
		{"en", false, []string{"was deleted on 28 November", "If you deleted it", "someone else knew your password"}, []string{"administrator"}},
		{"en", true, []string{"was deleted by an administrator on 28 November", "contact us"}, []string{"If you deleted it", "password"}},
		{"de", false, []string{"wurde am 28. November 2026 um 06:11 UTC gelöscht", "Wenn Sie das selbst waren", "kannte jemand anderes Ihr Passwort"}, []string{"Administrator"}},
		{"de", true, []string{"wurde am 28. November 2026 um 06:11 UTC von einem Administrator gelöscht", "wenden Sie sich an uns"}, []string{"selbst waren", "Passwort"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/bySuperuser=%t", tt.locale, tt.bySuperuser), func(t *testing.T) {
			d := fullData(mail.KindAccountDeleted)
			d.Locale, d.BySuperuser = tt.locale, tt.bySuperuser
			d.Token, d.Code, d.Link = "", "", ""
			m := render(t, tpl, d)
			for _, part := range []string{m.Text, html.UnescapeString(m.HTML)} {
				for _, w := range tt.want {
					if !strings.Contains(part, w) {
						t.Errorf("lacks %q:\n%s", w, part)
					}
				}
				for _, w := range append(tt.not, "superuser", "Superuser") {
					if strings.Contains(part, w) {
						t.Errorf("says %q:\n%s", w, part)
					}
				}
			}
			if want := map[string]string{"en": "Your account at Wonderland was deleted", "de": "Ihr Konto bei Wonderland wurde gelöscht"}[tt.locale]; m.Subject != want {
				t.Errorf("subject = %q, want %q", m.Subject, want)
			}
		})
	}
}
