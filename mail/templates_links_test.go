package mail_test

import (
	"cmp"
	"html"
	"strings"
	"testing"

	"github.com/gatehouse-go/gatehouse/mail"
)

// A mail speaks only of what it carries: without a link (auth.Config.BaseURL
// unset) it names no link, button or click, and without a token it asks
// nobody to copy one; with a link it shows it. Every kind, both built-in
// languages, both bodies.
func TestTemplatesMentionOnlyWhatTheyCarry(t *testing.T) {
	// The words that promise a link, per language, in lower case.
	linkWords := map[string][]string{
		"en": {"link", "button", "click"},
		"de": {"link", "schaltfläche", "klicken"},
	}
	variants := []struct {
		name string
		edit func(*mail.Data)
	}{
		{"link and token", func(*mail.Data) {}},
		{"link only", func(d *mail.Data) { d.Token, d.Code = "", "" }},
		{"token without link", func(d *mail.Data) { d.Link = "" }},
		{"no link and no secrets", func(d *mail.Data) { d.Link, d.Token, d.Code = "", "", "" }},
	}
	// The kinds that carry a token when the Manager sends them; the others
	// never get one.
	carriesToken := map[mail.Kind]bool{
		mail.KindVerifyEmail:       true,
		mail.KindResetPassword:     true,
		mail.KindChangeEmail:       true,
		mail.KindEmailChangeNotice: true,
	}
	tpl := mail.DefaultTemplates()
	for _, k := range allKinds {
		for _, locale := range []string{"en", "de"} {
			for _, v := range variants {
				d := fullData(k)
				d.Locale = locale
				if !carriesToken[k] {
					d.Token, d.Code = "", ""
				}
				v.edit(&d)
				m := render(t, tpl, d)
				for _, part := range []struct{ name, body string }{
					{"text", m.Text},
					// Compare what a reader sees: entities decoded.
					{"html", html.UnescapeString(m.HTML)},
				} {
					t.Run(string(k)+"/"+locale+"/"+v.name+"/"+part.name, func(t *testing.T) {
						// The link itself may say anything ("?token=").
						lower := strings.ToLower(part.body)
						if d.Link != "" {
							lower = strings.ReplaceAll(lower, strings.ToLower(d.Link), "")
						}
						if d.Link != "" {
							if !strings.Contains(part.body, d.Link) {
								t.Errorf("mail with a link does not show it:\n%s", part.body)
							}
						} else {
							for _, w := range linkWords[locale] {
								if strings.Contains(lower, w) {
									t.Errorf("mail without a link says %q:\n%s", w, part.body)
								}
							}
							if strings.Contains(lower, "<a ") {
								t.Errorf("mail without a link has an anchor:\n%s", part.body)
							}
						}
						if d.Token != "" {
							if !strings.Contains(part.body, d.Token) {
								t.Errorf("mail with a token does not show it:\n%s", part.body)
							}
						} else if strings.Contains(lower, "token") {
							t.Errorf("mail without a token speaks of one:\n%s", part.body)
						}
					})
				}
			}
		}
	}
}

// The confirmation of a new address says where its token goes and what it
// does: open the link, or paste the token into the application, to confirm
// the change to the new address. Without an application name it says "the
// app".
func TestChangeEmailSaysWhereTheTokenGoes(t *testing.T) {
	tpl := mail.DefaultTemplates()
	tests := []struct {
		locale, app string
		link        bool
		want        string
		// wantHTML is what the HTML says instead, when it differs: with a
		// link, its button.
		wantHTML string
	}{
		{"en", "Wonderland", true, "Open this link to confirm the change to alice@example.com:", ">Confirm my new address</a>"},
		{"en", "Wonderland", false, "Paste this token into Wonderland to confirm the change to alice@example.com:", ""},
		{"en", "", false, "Paste this token into the app to confirm the change to alice@example.com:", ""},
		{"de", "Wonderland", true, "Öffnen Sie diesen Link, um die neue Adresse alice@example.com zu bestätigen:", ">Neue Adresse bestätigen</a>"},
		{"de", "Wonderland", false, "Fügen Sie diesen Token in Wonderland ein, um die neue Adresse alice@example.com zu bestätigen:", ""},
		{"de", "", false, "Fügen Sie diesen Token in die Anwendung ein, um die neue Adresse alice@example.com zu bestätigen:", ""},
	}
	for _, tt := range tests {
		t.Run(tt.locale+"/"+tt.app+"/"+map[bool]string{true: "link", false: "no link"}[tt.link], func(t *testing.T) {
			d := fullData(mail.KindChangeEmail)
			d.Locale, d.AppName = tt.locale, tt.app
			if !tt.link {
				d.Link = ""
			}
			m := render(t, tpl, d)
			if !strings.Contains(m.Text, tt.want) {
				t.Errorf("text lacks %q:\n%s", tt.want, m.Text)
			}
			wantHTML := cmp.Or(tt.wantHTML, tt.want)
			if !strings.Contains(html.UnescapeString(m.HTML), wantHTML) {
				t.Errorf("html lacks %q:\n%s", wantHTML, m.HTML)
			}
			// The token follows on a line of its own, ready to copy.
			if !strings.Contains(m.Text, "\n"+d.Token+"\n") {
				t.Errorf("token is not on a line of its own:\n%s", m.Text)
			}
		})
	}
}
