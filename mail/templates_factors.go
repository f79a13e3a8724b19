package mail

// factorNotice builds the template of a notice about second factors: a
// subject, one sentence saying what happened (ending before the time, which
// follows it), and what to do if the user did not do it.
func factorNotice(head, foot, greeting, subject, what, when, advice string) Template {
	return Template{
		Subject: subject,
		Text: greeting + what + when + `.` + "\n\n" + advice + `
{{- with .Link}}

{{.}}
{{- end}}`,
		HTML: head + `<p>` + what + when + `.</p>` + "\n<p>" + advice + `</p>{{with .Link}}
<p><a href="{{.}}">{{.}}</a></p>{{end}}` + foot,
	}
}

// factorTemplateEN is the English template of a second-factor notice, ok
// false for other kinds.
func factorTemplateEN(k Kind) (Template, bool) {
	const advice = `If you did not do this, someone else may be signed in to your account: change your password at once and contact us.`
	account := `{{.To.Email}}{{with .AppName}} at {{.}}{{end}}`
	switch k {
	case KindFactorAdded:
		return factorNotice(htmlHead, htmlFoot, greetingText, `A second factor was added to your account{{with .AppName}} at {{.}}{{end}}`,
			`An authenticator app was added as a second factor to your account `+account, whenText, advice), true
	case KindPasskeyAdded:
		return factorNotice(htmlHead, htmlFoot, greetingText, `A passkey was added to your account{{with .AppName}} at {{.}}{{end}}`,
			`A passkey was registered for your account `+account+`; it can sign you in`, whenText, advice), true
	case KindFactorRemoved:
		return factorNotice(htmlHead, htmlFoot, greetingText, `A second factor was removed from your account{{with .AppName}} at {{.}}{{end}}`,
			`{{if .BySuperuser}}An administrator removed every second factor and recovery code of your account `+account+`{{else}}A second factor was removed from your account `+account+`{{end}}`, whenText, advice), true
	case KindRecoveryCodesRegenerated:
		return factorNotice(htmlHead, htmlFoot, greetingText, `New recovery codes for your account{{with .AppName}} at {{.}}{{end}}`,
			`New recovery codes were made for your account `+account+`; the old ones no longer work`, whenText, advice), true
	case KindRecoveryCodeUsed:
		return factorNotice(htmlHead, htmlFoot, greetingText, `A recovery code was used{{with .AppName}} at {{.}}{{end}}`,
			`A recovery code was used to sign in to your account `+account, whenText, `Each code works once. If you did not do this, someone has your password and a recovery code: change your password, make new recovery codes at once and contact us.`), true
	}
	return Template{}, false
}

// factorTemplateDE is the German template of a second-factor notice.
func factorTemplateDE(k Kind) (Template, bool) {
	const advice = `Wenn Sie das nicht selbst waren, ist möglicherweise jemand anderes in Ihrem Konto angemeldet: Ändern Sie sofort Ihr Passwort und wenden Sie sich an uns.`
	account := `{{.To.Email}}{{with .AppName}} bei {{.}}{{end}}`
	switch k {
	case KindFactorAdded:
		return factorNotice(htmlHeadDE, htmlFoot, greetingTextDE, `Ein zweiter Faktor wurde Ihrem Konto{{with .AppName}} bei {{.}}{{end}} hinzugefügt`,
			`Ihrem Konto `+account+` wurde`, whenTextDE+` eine Authenticator-App als zweiter Faktor hinzugefügt`, advice), true
	case KindPasskeyAdded:
		return factorNotice(htmlHeadDE, htmlFoot, greetingTextDE, `Ein Passkey wurde Ihrem Konto{{with .AppName}} bei {{.}}{{end}} hinzugefügt`,
			`Für Ihr Konto `+account+` wurde`, whenTextDE+` ein Passkey registriert, mit dem man sich anmelden kann`, advice), true
	case KindFactorRemoved:
		return factorNotice(htmlHeadDE, htmlFoot, greetingTextDE, `Ein zweiter Faktor wurde aus Ihrem Konto{{with .AppName}} bei {{.}}{{end}} entfernt`,
			`{{if .BySuperuser}}Ein Administrator hat alle zweiten Faktoren und Wiederherstellungscodes Ihres Kontos `+account+`{{else}}Aus Ihrem Konto `+account+` wurde ein zweiter Faktor{{end}}`, whenTextDE+` entfernt`, advice), true
	case KindRecoveryCodesRegenerated:
		return factorNotice(htmlHeadDE, htmlFoot, greetingTextDE, `Neue Wiederherstellungscodes für Ihr Konto{{with .AppName}} bei {{.}}{{end}}`,
			`Für Ihr Konto `+account+` wurden`, whenTextDE+` neue Wiederherstellungscodes erstellt; die alten gelten nicht mehr`, advice), true
	case KindRecoveryCodeUsed:
		return factorNotice(htmlHeadDE, htmlFoot, greetingTextDE, `Ein Wiederherstellungscode wurde verwendet{{with .AppName}} ({{.}}){{end}}`,
			`Mit einem Wiederherstellungscode hat sich jemand`, whenTextDE+` bei Ihrem Konto `+account+` angemeldet`, `Jeder Code gilt nur einmal. Wenn Sie das nicht selbst waren, kennt jemand Ihr Passwort und einen Wiederherstellungscode: Ändern Sie Ihr Passwort, erstellen Sie sofort neue Wiederherstellungscodes und wenden Sie sich an uns.`), true
	}
	return Template{}, false
}
