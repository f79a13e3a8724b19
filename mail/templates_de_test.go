package mail_test

import (
	"errors"
	"html"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/mail"
)

// The built-in German templates cover every kind, carry the secrets in both
// bodies (never in the subject), and use German durations and dates.
func TestGermanTemplatesRenderEveryKind(t *testing.T) {
	tpl := mail.DefaultTemplates()
	mustSay := map[mail.Kind][]string{
		mail.KindVerifyEmail:              {sentinelCode, sentinelLink, sentinelToken, "10 Minuten lang gültig", "30 Minuten lang gültig", "Wonderland"},
		mail.KindResetPassword:            {sentinelLink, sentinelToken, "30 Minuten", "ignorieren Sie diese E-Mail"},
		mail.KindPasswordChanged:          {"Passwort", "am 28. November 2026 um 06:11 UTC geändert"},
		mail.KindChangeEmail:              {sentinelLink, sentinelToken, "30 Minuten"},
		mail.KindEmailChangeNotice:        {"alice@new.example", "28. November 2026 um 06:11 UTC"},
		mail.KindSignupAttempt:            {"bereits ein Konto"},
		mail.KindAccountDeleted:           {"wurde am 28. November 2026 um 06:11 UTC gelöscht", "nicht mehr anmelden"},
		mail.KindAccountDeactivated:       {"deaktiviert", "nicht mehr anmelden", "abgemeldet", "am 28. November 2026 um 06:11 UTC"},
		mail.KindAccountReactivated:       {"wieder aktiviert", "wieder anmelden", "am 28. November 2026 um 06:11 UTC"},
		mail.KindFactorAdded:              {"Authenticator-App als zweiter Faktor", "am 28. November 2026 um 06:11 UTC"},
		mail.KindFactorRemoved:            {"wurde ein zweiter Faktor", "am 28. November 2026 um 06:11 UTC entfernt"},
		mail.KindPasskeyAdded:             {"ein Passkey registriert", "am 28. November 2026 um 06:11 UTC"},
		mail.KindRecoveryCodesRegenerated: {"neue Wiederherstellungscodes", "die alten gelten nicht mehr"},
		mail.KindRecoveryCodeUsed:         {"Wiederherstellungscode", "am 28. November 2026 um 06:11 UTC"},
	}
	english := mail.DefaultTemplates()
	for _, k := range allKinds {
		for _, locale := range []string{"de", "de-CH", "DE_at"} {
			t.Run(string(k)+"/"+locale, func(t *testing.T) {
				d := fullData(k)
				d.Locale = locale
				m := render(t, tpl, d)
				if err := m.Validate(); err != nil {
					t.Errorf("Validate: %v", err)
				}
				d.Locale = "en"
				if en := render(t, english, d); m.Subject == en.Subject || m.Text == en.Text || m.HTML == en.HTML {
					t.Errorf("German rendering equals the English one:\n%s", m.Text)
				}
				for _, s := range append(mustSay[k], d.To.Email, "Hallo Alice Liddell") {
					if !strings.Contains(m.Text, s) {
						t.Errorf("text lacks %q:\n%s", s, m.Text)
					}
					if !strings.Contains(html.UnescapeString(m.HTML), s) {
						t.Errorf("html lacks %q:\n%s", s, m.HTML)
					}
				}
				if !strings.Contains(m.HTML, `<html lang="de">`) {
					t.Errorf("html does not declare German")
				}
				for _, secret := range []string{sentinelToken, sentinelCode, sentinelLink} {
					if strings.Contains(m.Subject, secret) {
						t.Errorf("subject holds a secret: %q", m.Subject)
					}
				}
				// No English leaks into the German text (a missed block).
				for _, en := range []string{"Hello", " valid ", "Your code", "Open this link", "ignore this"} {
					if strings.Contains(m.Text, en) || strings.Contains(m.HTML, en) {
						t.Errorf("German message contains %q:\n%s", en, m.Text)
					}
				}
			})
		}
	}
}

func TestGermanTemplatesMinimalData(t *testing.T) {
	tpl := mail.DefaultTemplates()
	for _, k := range allKinds {
		t.Run(string(k), func(t *testing.T) {
			m := render(t, tpl, mail.Data{Kind: k, Locale: "de", To: mail.Address{Email: "alice@example.com"}})
			for _, part := range []string{m.Subject, m.Text, m.HTML} {
				if strings.Contains(part, "<no value>") || strings.Contains(part, "  ") && !strings.Contains(part, "<") {
					t.Errorf("rendering with empty fields left a gap: %q", part)
				}
			}
			if !strings.HasPrefix(m.Text, "Hallo,\n") {
				t.Errorf("text starts %q, want a greeting without a name", m.Text[:min(len(m.Text), 20)])
			}
		})
	}
}

// SetDefaultLocale changes where an empty or unknown locale lands, and
// English stays the last resort for kinds the default locale lacks.
func TestSetDefaultLocale(t *testing.T) {
	const (
		enVerify = "Verify your email address for Wonderland"
		deVerify = "Bestätigen Sie Ihre E-Mail-Adresse für Wonderland"
		itVerify = "Conferma il tuo indirizzo email"
		enReset  = "Reset your password for Wonderland"
		deReset  = "Passwort zurücksetzen für Wonderland"
	)
	tests := []struct {
		name   string
		def    string // "" leaves the default alone
		locale string
		kind   mail.Kind
		want   string
	}{
		{"built-in default, empty locale", "", "", mail.KindVerifyEmail, enVerify},
		{"built-in default, unknown locale", "", "fr", mail.KindVerifyEmail, enVerify},
		{"German default, empty locale", "de", "", mail.KindVerifyEmail, deVerify},
		{"German default, unknown locale", "de", "fr-CA", mail.KindVerifyEmail, deVerify},
		{"German default, English asked", "de", "en-US", mail.KindVerifyEmail, enVerify},
		{"regional default falls back to its language", "de-AT", "", mail.KindResetPassword, deReset},
		{"Italian default, kind without Italian", "it", "", mail.KindResetPassword, enReset},
		{"Italian default, kind with Italian", "it", "", mail.KindVerifyEmail, itVerify},
		{"Italian default, German asked", "it", "de", mail.KindVerifyEmail, deVerify},
		{"default without any templates", "sv", "", mail.KindVerifyEmail, enVerify},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl := mail.DefaultTemplates()
			if err := tpl.Set("it", mail.KindVerifyEmail, mail.Template{Subject: itVerify, Text: "{{.Code}}"}); err != nil {
				t.Fatal(err)
			}
			if tt.def != "" {
				if err := tpl.SetDefaultLocale(tt.def); err != nil {
					t.Fatalf("SetDefaultLocale(%q): %v", tt.def, err)
				}
			}
			d := fullData(tt.kind)
			d.Locale = tt.locale
			if got := render(t, tpl, d).Subject; got != tt.want {
				t.Errorf("subject = %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("refuses a malformed locale", func(t *testing.T) {
		tpl := mail.DefaultTemplates()
		if err := tpl.SetDefaultLocale("de"); err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"", "d", "../de", "de CH"} {
			if err := tpl.SetDefaultLocale(bad); !errors.Is(err, mail.ErrInvalidTemplate) {
				t.Errorf("SetDefaultLocale(%q) = %v, want ErrInvalidTemplate", bad, err)
			}
		}
		// The refused calls changed nothing.
		d := fullData(mail.KindVerifyEmail)
		d.Locale = ""
		if got := render(t, tpl, d).Subject; got != deVerify {
			t.Errorf("subject = %q, want %q", got, deVerify)
		}
	})
}

// duration and datetime speak the language of the locale a template is set
// for.
func TestTemplateFuncsByLanguage(t *testing.T) {
	at := time.Date(2026, 3, 7, 18, 5, 0, 0, time.FixedZone("CET", 3600))
	tests := []struct {
		locale string
		d      time.Duration
		want   string
	}{
		{"en", 0, "0 minutes|7 March 2026 at 17:05 UTC"},
		{"de", 0, "0 Minuten|7. März 2026 um 17:05 UTC"},
		{"de", time.Second, "1 Sekunde|7. März 2026 um 17:05 UTC"},
		{"de", 45 * time.Second, "45 Sekunden|7. März 2026 um 17:05 UTC"},
		{"de-CH", time.Minute, "1 Minute|7. März 2026 um 17:05 UTC"},
		{"de", 90 * time.Minute, "1 Stunde 30 Minuten|7. März 2026 um 17:05 UTC"},
		{"de", 24 * time.Hour, "1 Tag|7. März 2026 um 17:05 UTC"},
		{"de", 49*time.Hour + 2*time.Minute, "2 Tage 1 Stunde 2 Minuten|7. März 2026 um 17:05 UTC"},
		{"fr", 2 * time.Hour, "2 hours|7 March 2026 at 17:05 UTC"},
	}
	for _, tt := range tests {
		t.Run(tt.locale+"/"+tt.d.String(), func(t *testing.T) {
			tpl := mail.DefaultTemplates()
			err := tpl.Set(tt.locale, mail.KindPasswordChanged, mail.Template{
				Subject: "x",
				Text:    "{{duration .ExpiresIn}}|{{datetime .Time}}",
			})
			if err != nil {
				t.Fatal(err)
			}
			d := fullData(mail.KindPasswordChanged)
			d.Locale, d.ExpiresIn, d.Time = tt.locale, tt.d, at
			if got := render(t, tpl, d).Text; got != tt.want+"\n" {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
