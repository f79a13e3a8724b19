package mail

// The built-in German templates, in the formal "Sie". They follow the
// English ones sentence by sentence; secrets (Code, Link, Token) appear only
// in the bodies. In German letters the sentence after the greeting starts in
// lower case.

const (
	greetingTextDE = `Hallo{{with .To.Name}} {{.}}{{end}},

`
	whenTextDE = `{{if not .Time.IsZero}} am {{datetime .Time}}{{end}}`

	htmlHeadDE = `<!DOCTYPE html>
<html lang="de">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
</head>
<body style="font-family:sans-serif;line-height:1.5;color:#222">
<p>Hallo{{with .To.Name}} {{.}}{{end}},</p>
`
)

// secretsTextDE is the German secretsText: purpose is a clause that follows
// "Öffnen Sie diesen Link" and "Fügen Sie diesen Token in <app> ein", such
// as ", um ein neues Passwort zu wählen".
func secretsTextDE(purpose string) string {
	return `
{{- if .Code}}

Ihr Code: {{.Code}}
{{- with or .CodeExpiresIn .ExpiresIn}}
Er ist {{duration .}} lang gültig.
{{- end}}
{{- end}}
{{- if .Link}}

Öffnen Sie diesen Link` + purpose + `:
{{.Link}}
{{- end}}
{{- if .Token}}

{{if .Link}}Falls sich der Link nicht öffnen lässt, fügen Sie stattdessen diesen Token in {{or .AppName "die Anwendung"}} ein:{{else}}Fügen Sie diesen Token in {{or .AppName "die Anwendung"}} ein` + purpose + `:{{end}}
{{.Token}}
{{- end}}
{{- if and (or .Link .Token) .ExpiresIn}}

{{if and .Link .Token}}Der Link und der Token sind{{else if .Link}}Der Link ist{{else}}Der Token ist{{end}} {{duration .ExpiresIn}} lang gültig und nur einmal verwendbar.
{{- end}}`
}

// secretsHTMLDE is the HTML counterpart of secretsTextDE, with button as
// the text of the link.
func secretsHTMLDE(button, purpose string) string {
	return `
{{- if .Code}}
<p>Ihr Code:</p>
<p style="font-size:1.5em;font-weight:bold;letter-spacing:0.2em">{{.Code}}</p>
{{- with or .CodeExpiresIn .ExpiresIn}}
<p>Er ist {{duration .}} lang gültig.</p>
{{- end}}
{{- end}}
{{- if .Link}}
<p><a href="{{.Link}}" style="display:inline-block;padding:0.6em 1em;background:#1a56db;color:#fff;text-decoration:none;border-radius:4px">` + button + `</a></p>
<p>Falls die Schaltfläche nicht funktioniert, öffnen Sie diese Adresse:<br>{{.Link}}</p>
{{- end}}
{{- if .Token}}
<p>{{if .Link}}Falls sich der Link nicht öffnen lässt, fügen Sie stattdessen diesen Token in {{or .AppName "die Anwendung"}} ein:{{else}}Fügen Sie diesen Token in {{or .AppName "die Anwendung"}} ein` + purpose + `:{{end}}</p>
<p style="font-family:monospace;word-break:break-all">{{.Token}}</p>
{{- end}}
{{- if and (or .Link .Token) .ExpiresIn}}
<p>{{if and .Link .Token}}Der Link und der Token sind{{else if .Link}}Der Link ist{{else}}Der Token ist{{end}} {{duration .ExpiresIn}} lang gültig und nur einmal verwendbar.</p>
{{- end}}`
}

// germanTemplate returns the built-in German template for k.
func germanTemplate(k Kind) Template {
	switch k {
	case KindVerifyEmail:
		return Template{
			Subject: `Bestätigen Sie Ihre E-Mail-Adresse{{with .AppName}} für {{.}}{{end}}`,
			Text: greetingTextDE +
				`bitte bestätigen Sie, dass {{.To.Email}} Ihre E-Mail-Adresse{{with .AppName}} für {{.}}{{end}} ist.` +
				secretsTextDE(", um Ihre E-Mail-Adresse zu bestätigen") + `

Falls Sie das nicht angefordert haben, können Sie diese E-Mail ignorieren.`,
			HTML: htmlHeadDE +
				`<p>bitte bestätigen Sie, dass {{.To.Email}} Ihre E-Mail-Adresse{{with .AppName}} für {{.}}{{end}} ist.</p>` +
				secretsHTMLDE("E-Mail-Adresse bestätigen", ", um Ihre E-Mail-Adresse zu bestätigen") + `
<p>Falls Sie das nicht angefordert haben, können Sie diese E-Mail ignorieren.</p>` + htmlFoot,
		}
	case KindEmailLogin:
		return Template{
			Subject: `Anmelden{{with .AppName}} bei {{.}}{{end}}`,
			Text: greetingTextDE +
				`jemand möchte sich ohne Passwort bei Ihrem Konto {{.To.Email}}{{with .AppName}} bei {{.}}{{end}} anmelden.` +
				secretsTextDE(", um sich anzumelden") + `

Wer diese E-Mail hat, kann sich bei Ihrem Konto anmelden: Leiten Sie sie nicht weiter. Falls Sie sich nicht anmelden wollten, ignorieren Sie diese E-Mail.`,
			HTML: htmlHeadDE +
				`<p>jemand möchte sich ohne Passwort bei Ihrem Konto {{.To.Email}}{{with .AppName}} bei {{.}}{{end}} anmelden.</p>` +
				secretsHTMLDE("Anmelden", ", um sich anzumelden") + `
<p>Wer diese E-Mail hat, kann sich bei Ihrem Konto anmelden: Leiten Sie sie nicht weiter. Falls Sie sich nicht anmelden wollten, ignorieren Sie diese E-Mail.</p>` + htmlFoot,
		}
	case KindResetPassword:
		return Template{
			Subject: `Passwort zurücksetzen{{with .AppName}} für {{.}}{{end}}`,
			Text: greetingTextDE +
				`jemand möchte das Passwort Ihres Kontos {{.To.Email}}{{with .AppName}} bei {{.}}{{end}} zurücksetzen.` +
				secretsTextDE(", um ein neues Passwort zu wählen") + `

Falls Sie das nicht angefordert haben, ignorieren Sie diese E-Mail: Ihr Passwort bleibt unverändert.`,
			HTML: htmlHeadDE +
				`<p>jemand möchte das Passwort Ihres Kontos {{.To.Email}}{{with .AppName}} bei {{.}}{{end}} zurücksetzen.</p>` +
				secretsHTMLDE("Neues Passwort wählen", ", um ein neues Passwort zu wählen") + `
<p>Falls Sie das nicht angefordert haben, ignorieren Sie diese E-Mail: Ihr Passwort bleibt unverändert.</p>` + htmlFoot,
		}
	case KindPasswordChanged:
		return Template{
			Subject: `Ihr Passwort{{with .AppName}} für {{.}}{{end}} wurde geändert`,
			Text: greetingTextDE +
				`das Passwort Ihres Kontos {{.To.Email}}{{with .AppName}} bei {{.}}{{end}} wurde` + whenTextDE + ` geändert.

Wenn Sie das selbst waren, müssen Sie nichts weiter tun.

Wenn nicht, kennt möglicherweise jemand anderes Ihr Passwort: Setzen Sie es sofort zurück und wenden Sie sich an uns.
{{- with .Link}}

{{.}}
{{- end}}`,
			HTML: htmlHeadDE +
				`<p>das Passwort Ihres Kontos {{.To.Email}}{{with .AppName}} bei {{.}}{{end}} wurde` + whenTextDE + ` geändert.</p>
<p>Wenn Sie das selbst waren, müssen Sie nichts weiter tun.</p>
<p>Wenn nicht, kennt möglicherweise jemand anderes Ihr Passwort: {{with .Link}}<a href="{{.}}">Setzen Sie es sofort zurück</a>{{else}}Setzen Sie es sofort zurück{{end}} und wenden Sie sich an uns.</p>` + htmlFoot,
		}
	case KindChangeEmail:
		return Template{
			Subject: `Bestätigen Sie Ihre neue E-Mail-Adresse{{with .AppName}} für {{.}}{{end}}`,
			Text: greetingTextDE +
				`bitte bestätigen Sie, dass Sie {{.To.Email}} als E-Mail-Adresse Ihres Kontos{{with .AppName}} bei {{.}}{{end}} verwenden möchten.` +
				secretsTextDE(", um die neue Adresse {{.To.Email}} zu bestätigen") + `

Falls Sie das nicht angefordert haben, ignorieren Sie diese E-Mail: Die Adresse des Kontos bleibt dann unverändert.`,
			HTML: htmlHeadDE +
				`<p>bitte bestätigen Sie, dass Sie {{.To.Email}} als E-Mail-Adresse Ihres Kontos{{with .AppName}} bei {{.}}{{end}} verwenden möchten.</p>` +
				secretsHTMLDE("Neue Adresse bestätigen", ", um die neue Adresse {{.To.Email}} zu bestätigen") + `
<p>Falls Sie das nicht angefordert haben, ignorieren Sie diese E-Mail: Die Adresse des Kontos bleibt dann unverändert.</p>` + htmlFoot,
		}
	case KindEmailChangeNotice:
		return Template{
			Subject: `Die E-Mail-Adresse Ihres Kontos{{with .AppName}} bei {{.}}{{end}} wird geändert`,
			Text: greetingTextDE +
				`jemand hat` + whenTextDE + ` angefordert, die E-Mail-Adresse Ihres Kontos{{with .AppName}} bei {{.}}{{end}} von {{.To.Email}}{{with .NewEmail}} in {{.}}{{end}} zu ändern.

Wenn Sie das waren, müssen Sie nichts weiter tun.

Wenn nicht, kennt jemand anderes Ihr Passwort.
{{- if or .Link .Token}} Brechen Sie die Änderung ab: Damit wird sie gestoppt und jedes Gerät abgemeldet.
{{- else}} Setzen Sie Ihr Passwort sofort zurück und wenden Sie sich an uns.
{{- end}}` + secretsTextDE(", um die Änderung abzubrechen") + `
{{- if or .Link .Token}}

Setzen Sie danach Ihr Passwort zurück und wenden Sie sich an uns.
{{- end}}`,
			HTML: htmlHeadDE +
				`<p>jemand hat` + whenTextDE + ` angefordert, die E-Mail-Adresse Ihres Kontos{{with .AppName}} bei {{.}}{{end}} von {{.To.Email}}{{with .NewEmail}} in {{.}}{{end}} zu ändern.</p>
<p>Wenn Sie das waren, müssen Sie nichts weiter tun.</p>
{{- if or .Link .Token}}
<p>Wenn nicht, kennt jemand anderes Ihr Passwort. Brechen Sie die Änderung ab: Damit wird sie gestoppt und jedes Gerät abgemeldet.</p>` +
				secretsHTMLDE("Änderung abbrechen", ", um die Änderung abzubrechen") + `
<p>Setzen Sie danach Ihr Passwort zurück und wenden Sie sich an uns.</p>
{{- else}}
<p>Wenn nicht, kennt jemand anderes Ihr Passwort: Setzen Sie es sofort zurück und wenden Sie sich an uns.</p>
{{- end}}` + htmlFoot,
		}
	case KindSignupAttempt:
		return Template{
			Subject: `Registrierungsversuch mit Ihrer E-Mail-Adresse{{with .AppName}} bei {{.}}{{end}}`,
			Text: greetingTextDE +
				`jemand hat` + whenTextDE + ` versucht, mit Ihrer E-Mail-Adresse {{.To.Email}} ein neues Konto{{with .AppName}} bei {{.}}{{end}} anzulegen. Sie haben bereits ein Konto, daher wurde nichts geändert.

Wenn Sie das waren, melden Sie sich stattdessen mit Ihrem bestehenden Konto an, oder setzen Sie Ihr Passwort zurück, falls Sie es vergessen haben.
{{- with .Link}}

{{.}}
{{- end}}

Wenn nicht, können Sie diese E-Mail ignorieren.`,
			HTML: htmlHeadDE +
				`<p>jemand hat` + whenTextDE + ` versucht, mit Ihrer E-Mail-Adresse {{.To.Email}} ein neues Konto{{with .AppName}} bei {{.}}{{end}} anzulegen. Sie haben bereits ein Konto, daher wurde nichts geändert.</p>
<p>Wenn Sie das waren, {{with .Link}}<a href="{{.}}">melden Sie sich</a>{{else}}melden Sie sich{{end}} stattdessen mit Ihrem bestehenden Konto an, oder setzen Sie Ihr Passwort zurück, falls Sie es vergessen haben.</p>
<p>Wenn nicht, können Sie diese E-Mail ignorieren.</p>` + htmlFoot,
		}
	case KindAccountDeleted:
		return Template{
			Subject: `Ihr Konto{{with .AppName}} bei {{.}}{{end}} wurde gelöscht`,
			Text: greetingTextDE +
				`Ihr Konto {{.To.Email}}{{with .AppName}} bei {{.}}{{end}} wurde` + whenTextDE + `{{if .BySuperuser}} von einem Administrator{{end}} gelöscht. Sie können sich damit nicht mehr anmelden, und jedes damit angemeldete Gerät wurde abgemeldet.
{{- if .BySuperuser}}

Falls Sie das für einen Irrtum halten, wenden Sie sich an uns.
{{- else}}

Wenn Sie das selbst waren, müssen Sie nichts weiter tun.

Wenn nicht, kannte jemand anderes Ihr Passwort: Wenden Sie sich an uns.
{{- end}}
{{- with .Link}}

{{.}}
{{- end}}`,
			HTML: htmlHeadDE +
				`<p>Ihr Konto {{.To.Email}}{{with .AppName}} bei {{.}}{{end}} wurde` + whenTextDE + `{{if .BySuperuser}} von einem Administrator{{end}} gelöscht. Sie können sich damit nicht mehr anmelden, und jedes damit angemeldete Gerät wurde abgemeldet.</p>
{{- if .BySuperuser}}
<p>Falls Sie das für einen Irrtum halten, {{with .Link}}<a href="{{.}}">wenden Sie sich an uns</a>{{else}}wenden Sie sich an uns{{end}}.</p>
{{- else}}
<p>Wenn Sie das selbst waren, müssen Sie nichts weiter tun.</p>
<p>Wenn nicht, kannte jemand anderes Ihr Passwort: {{with .Link}}<a href="{{.}}">Wenden Sie sich an uns</a>{{else}}Wenden Sie sich an uns{{end}}.</p>
{{- end}}` + htmlFoot,
		}
	case KindAccountDeactivated:
		return Template{
			Subject: `Ihr Konto{{with .AppName}} bei {{.}}{{end}} wurde deaktiviert`,
			Text: greetingTextDE +
				`Ihr Konto {{.To.Email}}{{with .AppName}} bei {{.}}{{end}} wurde` + whenTextDE + ` von einem Administrator deaktiviert. Sie können sich nicht mehr anmelden, und jedes angemeldete Gerät wurde abgemeldet.

Falls Sie das für einen Irrtum halten, wenden Sie sich an uns.
{{- with .Link}}

{{.}}
{{- end}}`,
			HTML: htmlHeadDE +
				`<p>Ihr Konto {{.To.Email}}{{with .AppName}} bei {{.}}{{end}} wurde` + whenTextDE + ` von einem Administrator deaktiviert. Sie können sich nicht mehr anmelden, und jedes angemeldete Gerät wurde abgemeldet.</p>
<p>Falls Sie das für einen Irrtum halten, {{with .Link}}<a href="{{.}}">wenden Sie sich an uns</a>{{else}}wenden Sie sich an uns{{end}}.</p>` + htmlFoot,
		}
	case KindAccountReactivated:
		return Template{
			Subject: `Ihr Konto{{with .AppName}} bei {{.}}{{end}} wurde wieder aktiviert`,
			Text: greetingTextDE +
				`Ihr Konto {{.To.Email}}{{with .AppName}} bei {{.}}{{end}} wurde` + whenTextDE + ` von einem Administrator wieder aktiviert. Sie können sich wieder anmelden; falls Sie Ihr Passwort nicht mehr wissen, setzen Sie es zuerst zurück.

Falls Sie das nicht erwartet haben, wenden Sie sich an uns.
{{- with .Link}}

{{.}}
{{- end}}`,
			HTML: htmlHeadDE +
				`<p>Ihr Konto {{.To.Email}}{{with .AppName}} bei {{.}}{{end}} wurde` + whenTextDE + ` von einem Administrator wieder aktiviert. Sie können sich wieder anmelden; falls Sie Ihr Passwort nicht mehr wissen, setzen Sie es zuerst zurück.</p>
<p>Falls Sie das nicht erwartet haben, {{with .Link}}<a href="{{.}}">wenden Sie sich an uns</a>{{else}}wenden Sie sich an uns{{end}}.</p>` + htmlFoot,
		}
	}
	if t, ok := factorTemplateDE(k); ok {
		return t
	}
	return Template{}
}
