package mail

// The built-in English templates. Secrets (Code, Link, Token) appear only in
// the bodies, through the shared blocks built by secretsText and
// secretsHTML.

const (
	greetingText = `Hello{{with .To.Name}} {{.}}{{end}},

`
	whenText = `{{if not .Time.IsZero}} on {{datetime .Time}}{{end}}`

	htmlHead = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
</head>
<body style="font-family:sans-serif;line-height:1.5;color:#222">
<p>Hello{{with .To.Name}} {{.}}{{end}},</p>
`
	htmlFoot = `
</body>
</html>
`
)

// secretsText shows the code, link and token that are set, and how long
// they are valid. purpose says what the link and the token are for: a
// clause that follows "Open this link" and "Paste this token into <app>",
// such as " to choose a new password"; it may use the fields of [Data].
// The token stands on a line of its own, so that it can be copied whole.
func secretsText(purpose string) string {
	return `
{{- if .Code}}

Your code: {{.Code}}
{{- with or .CodeExpiresIn .ExpiresIn}}
It is valid for {{duration .}}.
{{- end}}
{{- end}}
{{- if .Link}}

Open this link` + purpose + `:
{{.Link}}
{{- end}}
{{- if .Token}}

{{if .Link}}If the link does not open, paste this token into {{or .AppName "the app"}} instead:{{else}}Paste this token into {{or .AppName "the app"}}` + purpose + `:{{end}}
{{.Token}}
{{- end}}
{{- if and (or .Link .Token) .ExpiresIn}}

{{if and .Link .Token}}The link and the token are{{else if .Link}}The link is{{else}}The token is{{end}} valid for {{duration .ExpiresIn}} and can be used once.
{{- end}}`
}

// secretsHTML is the HTML counterpart of secretsText, with button as the
// text of the link.
func secretsHTML(button, purpose string) string {
	return `
{{- if .Code}}
<p>Your code:</p>
<p style="font-size:1.5em;font-weight:bold;letter-spacing:0.2em">{{.Code}}</p>
{{- with or .CodeExpiresIn .ExpiresIn}}
<p>It is valid for {{duration .}}.</p>
{{- end}}
{{- end}}
{{- if .Link}}
<p><a href="{{.Link}}" style="display:inline-block;padding:0.6em 1em;background:#1a56db;color:#fff;text-decoration:none;border-radius:4px">` + button + `</a></p>
<p>If the button does not work, open this address:<br>{{.Link}}</p>
{{- end}}
{{- if .Token}}
<p>{{if .Link}}If the link does not open, paste this token into {{or .AppName "the app"}} instead:{{else}}Paste this token into {{or .AppName "the app"}}` + purpose + `:{{end}}</p>
<p style="font-family:monospace;word-break:break-all">{{.Token}}</p>
{{- end}}
{{- if and (or .Link .Token) .ExpiresIn}}
<p>{{if and .Link .Token}}The link and the token are{{else if .Link}}The link is{{else}}The token is{{end}} valid for {{duration .ExpiresIn}} and can be used once.</p>
{{- end}}`
}

// defaultTemplate returns the built-in English template for k.
func defaultTemplate(k Kind) Template {
	switch k {
	case KindVerifyEmail:
		return Template{
			Subject: `Verify your email address{{with .AppName}} for {{.}}{{end}}`,
			Text: greetingText +
				`Please confirm that {{.To.Email}} is your email address{{with .AppName}} for {{.}}{{end}}.` +
				secretsText(" to confirm your email address") + `

If you did not ask for this, you can ignore this email.`,
			HTML: htmlHead +
				`<p>Please confirm that {{.To.Email}} is your email address{{with .AppName}} for {{.}}{{end}}.</p>` +
				secretsHTML("Confirm my email address", " to confirm your email address") + `
<p>If you did not ask for this, you can ignore this email.</p>` + htmlFoot,
		}
	case KindEmailLogin:
		return Template{
			Subject: `Sign in{{with .AppName}} to {{.}}{{end}}`,
			Text: greetingText +
				`Someone asked to sign in to your account {{.To.Email}}{{with .AppName}} at {{.}}{{end}} without a password.` +
				secretsText(" to sign in") + `

Whoever has this email can sign in to your account: do not forward it. If you did not ask to sign in, ignore this email.`,
			HTML: htmlHead +
				`<p>Someone asked to sign in to your account {{.To.Email}}{{with .AppName}} at {{.}}{{end}} without a password.</p>` +
				secretsHTML("Sign in", " to sign in") + `
<p>Whoever has this email can sign in to your account: do not forward it. If you did not ask to sign in, ignore this email.</p>` + htmlFoot,
		}
	case KindResetPassword:
		return Template{
			Subject: `Reset your password{{with .AppName}} for {{.}}{{end}}`,
			Text: greetingText +
				`Someone asked to reset the password of your account {{.To.Email}}{{with .AppName}} at {{.}}{{end}}.` +
				secretsText(" to choose a new password") + `

If you did not ask to reset your password, ignore this email: your password stays unchanged.`,
			HTML: htmlHead +
				`<p>Someone asked to reset the password of your account {{.To.Email}}{{with .AppName}} at {{.}}{{end}}.</p>` +
				secretsHTML("Choose a new password", " to choose a new password") + `
<p>If you did not ask to reset your password, ignore this email: your password stays unchanged.</p>` + htmlFoot,
		}
	case KindPasswordChanged:
		return Template{
			Subject: `Your password{{with .AppName}} for {{.}}{{end}} was changed`,
			Text: greetingText +
				`The password of your account {{.To.Email}}{{with .AppName}} at {{.}}{{end}} was changed` + whenText + `.

If you made this change, you need not do anything.

If you did not, someone else may know your password: reset it at once and contact us.
{{- with .Link}}

{{.}}
{{- end}}`,
			HTML: htmlHead +
				`<p>The password of your account {{.To.Email}}{{with .AppName}} at {{.}}{{end}} was changed` + whenText + `.</p>
<p>If you made this change, you need not do anything.</p>
<p>If you did not, someone else may know your password: {{with .Link}}<a href="{{.}}">reset it</a>{{else}}reset it{{end}} at once and contact us.</p>` + htmlFoot,
		}
	case KindChangeEmail:
		return Template{
			Subject: `Confirm your new email address{{with .AppName}} for {{.}}{{end}}`,
			Text: greetingText +
				`Please confirm that you want to use {{.To.Email}} as the email address of your account{{with .AppName}} at {{.}}{{end}}.` +
				secretsText(" to confirm the change to {{.To.Email}}") + `

If you did not ask for this, ignore this email: the account's address will not change.`,
			HTML: htmlHead +
				`<p>Please confirm that you want to use {{.To.Email}} as the email address of your account{{with .AppName}} at {{.}}{{end}}.</p>` +
				secretsHTML("Confirm my new address", " to confirm the change to {{.To.Email}}") + `
<p>If you did not ask for this, ignore this email: the account's address will not change.</p>` + htmlFoot,
		}
	case KindEmailChangeNotice:
		return Template{
			Subject: `The email address of your account{{with .AppName}} at {{.}}{{end}} is being changed`,
			Text: greetingText +
				`Someone asked to change the email address of your account{{with .AppName}} at {{.}}{{end}} from {{.To.Email}}{{with .NewEmail}} to {{.}}{{end}}` + whenText + `.

If this was you, you need not do anything.

If it was not, someone else knows your password.
{{- if or .Link .Token}} Cancel the change: that stops it and signs every device out.
{{- else}} Reset your password at once and contact us.
{{- end}}` + secretsText(" to cancel the change") + `
{{- if or .Link .Token}}

Then reset your password and contact us.
{{- end}}`,
			HTML: htmlHead +
				`<p>Someone asked to change the email address of your account{{with .AppName}} at {{.}}{{end}} from {{.To.Email}}{{with .NewEmail}} to {{.}}{{end}}` + whenText + `.</p>
<p>If this was you, you need not do anything.</p>
{{- if or .Link .Token}}
<p>If it was not, someone else knows your password. Cancel the change: that stops it and signs every device out.</p>` +
				secretsHTML("Cancel the change", " to cancel the change") + `
<p>Then reset your password and contact us.</p>
{{- else}}
<p>If it was not, someone else knows your password: reset it at once and contact us.</p>
{{- end}}` + htmlFoot,
		}
	case KindSignupAttempt:
		return Template{
			Subject: `Sign-up attempt with your email address{{with .AppName}} at {{.}}{{end}}`,
			Text: greetingText +
				`Someone tried to create a new account{{with .AppName}} at {{.}}{{end}} with your email address {{.To.Email}}` + whenText + `. You already have an account, so nothing was changed.

If this was you, sign in with your existing account instead, or reset your password if you forgot it.
{{- with .Link}}

{{.}}
{{- end}}

If it was not you, you can ignore this email.`,
			HTML: htmlHead +
				`<p>Someone tried to create a new account{{with .AppName}} at {{.}}{{end}} with your email address {{.To.Email}}` + whenText + `. You already have an account, so nothing was changed.</p>
<p>If this was you, {{with .Link}}<a href="{{.}}">sign in</a>{{else}}sign in{{end}} with your existing account instead, or reset your password if you forgot it.</p>
<p>If it was not you, you can ignore this email.</p>` + htmlFoot,
		}
	case KindAccountDeleted:
		return Template{
			Subject: `Your account{{with .AppName}} at {{.}}{{end}} was deleted`,
			Text: greetingText +
				`Your account {{.To.Email}}{{with .AppName}} at {{.}}{{end}} was deleted{{if .BySuperuser}} by an administrator{{end}}` + whenText + `. You can no longer sign in with it, and every device that was signed in to it has been signed out.
{{- if .BySuperuser}}

If you think this is a mistake, contact us.
{{- else}}

If you deleted it, you need not do anything.

If you did not, someone else knew your password: contact us.
{{- end}}
{{- with .Link}}

{{.}}
{{- end}}`,
			HTML: htmlHead +
				`<p>Your account {{.To.Email}}{{with .AppName}} at {{.}}{{end}} was deleted{{if .BySuperuser}} by an administrator{{end}}` + whenText + `. You can no longer sign in with it, and every device that was signed in to it has been signed out.</p>
{{- if .BySuperuser}}
<p>If you think this is a mistake, {{with .Link}}<a href="{{.}}">contact us</a>{{else}}contact us{{end}}.</p>
{{- else}}
<p>If you deleted it, you need not do anything.</p>
<p>If you did not, someone else knew your password: {{with .Link}}<a href="{{.}}">contact us</a>{{else}}contact us{{end}}.</p>
{{- end}}` + htmlFoot,
		}
	case KindAccountDeactivated:
		return Template{
			Subject: `Your account{{with .AppName}} at {{.}}{{end}} was deactivated`,
			Text: greetingText +
				`Your account {{.To.Email}}{{with .AppName}} at {{.}}{{end}} was deactivated by an administrator` + whenText + `. You can no longer sign in, and every device that was signed in has been signed out.

If you think this is a mistake, contact us.
{{- with .Link}}

{{.}}
{{- end}}`,
			HTML: htmlHead +
				`<p>Your account {{.To.Email}}{{with .AppName}} at {{.}}{{end}} was deactivated by an administrator` + whenText + `. You can no longer sign in, and every device that was signed in has been signed out.</p>
<p>If you think this is a mistake, {{with .Link}}<a href="{{.}}">contact us</a>{{else}}contact us{{end}}.</p>` + htmlFoot,
		}
	case KindAccountReactivated:
		return Template{
			Subject: `Your account{{with .AppName}} at {{.}}{{end}} was reactivated`,
			Text: greetingText +
				`Your account {{.To.Email}}{{with .AppName}} at {{.}}{{end}} was reactivated by an administrator` + whenText + `. You can sign in again; if you no longer know your password, reset it first.

If you did not expect this, contact us.
{{- with .Link}}

{{.}}
{{- end}}`,
			HTML: htmlHead +
				`<p>Your account {{.To.Email}}{{with .AppName}} at {{.}}{{end}} was reactivated by an administrator` + whenText + `. You can sign in again; if you no longer know your password, reset it first.</p>
<p>If you did not expect this, {{with .Link}}<a href="{{.}}">contact us</a>{{else}}contact us{{end}}.</p>` + htmlFoot,
		}
	}
	if t, ok := factorTemplateEN(k); ok {
		return t
	}
	return Template{}
}
