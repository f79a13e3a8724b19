package mail

import (
	"bytes"
	"context"
	"fmt"
	htmltemplate "html/template"
	"strings"
	"sync"
	texttemplate "text/template"
	"time"
)

// DefaultLocale is the locale [Templates] falls back to last, and the one
// [DefaultTemplates] fills.
const DefaultLocale = "en"

// Template is the source of one kind of message in one locale.
//
// Subject and Text are [text/template] sources and are required; HTML is an
// [html/template] source and is optional (without it the message is plain
// text). Text and HTML are executed with the [Data] being rendered. Subject
// is executed with the same fields except Token, Code and Link, so a subject
// that mentions a secret fails to execute (and [Templates.Set] refuses it):
// secrets go in bodies only, since subjects show up in notifications, mail
// lists and logs (see [Log]). The rendered subject and text are trimmed of
// surrounding white space, and the text gets one final newline.
//
// Besides the built-in functions of text/template, templates may call:
//
//	duration d   d in English words: "10 minutes", "1 hour 30 minutes", "1 day"
//	minutes d    whole minutes in d (an int), for other languages
//	hours d      whole hours in d
//	days d       whole days in d
//
// For example, {{with or .CodeExpiresIn .ExpiresIn}}{{minutes .}} Minuten{{end}}.
type Template struct {
	Subject string
	Text    string
	HTML    string
}

// Templates is a [Renderer] built from text/template and html/template
// sources, per [Kind] and locale. [DefaultTemplates] returns one with
// English templates for every kind; [Templates.Set] overrides one kind in
// one locale or adds a locale.
//
// Render picks the template for a kind by the [Data] Locale: the exact
// locale ("de-CH"), then its base language ("de"), then [DefaultLocale]
// ("en"); locales match case-insensitively and "_" counts as "-". The
// fallback is per kind, so a locale may override only some kinds.
//
// Templates is safe for concurrent use, including Set concurrently with
// Render; a Render sees each kind's template either before or after a
// concurrent Set. The zero value has no templates.
type Templates struct {
	mu sync.RWMutex
	// byLocale maps a normalized locale to the templates set for it.
	byLocale map[string]map[Kind]*compiled
}

type compiled struct {
	subject *texttemplate.Template
	text    *texttemplate.Template
	html    *htmltemplate.Template // nil when the kind has no HTML body
}

// subjectData is what a Subject template sees: [Data] without its secrets.
type subjectData struct {
	Kind          Kind
	To            Address
	AppName       string
	Locale        string
	ExpiresIn     time.Duration
	CodeExpiresIn time.Duration
	NewEmail      string
	Time          time.Time
}

// allKinds returns every Kind the package knows, in declaration order.
func allKinds() []Kind {
	return []Kind{
		KindVerifyEmail,
		KindResetPassword,
		KindPasswordChanged,
		KindChangeEmail,
		KindEmailChangeNotice,
		KindSignupAttempt,
	}
}

func knownKind(k Kind) bool {
	switch k {
	case KindVerifyEmail, KindResetPassword, KindPasswordChanged,
		KindChangeEmail, KindEmailChangeNotice, KindSignupAttempt:
		return true
	}
	return false
}

// DefaultTemplates returns new [Templates] holding the built-in English
// templates for every [Kind] under [DefaultLocale]. Each call returns an
// independent value, so changes made with Set never leak between users.
func DefaultTemplates() *Templates {
	t := &Templates{}
	for _, k := range allKinds() {
		if err := t.Set(DefaultLocale, k, defaultTemplate(k)); err != nil {
			// The built-in templates are tested; this cannot happen.
			panic(err)
		}
	}
	return t
}

// Set parses tpl and makes it the template for kind k in locale, replacing
// any earlier one. locale is a language tag such as "en", "de" or "de-CH".
//
// Set refuses, with an error wrapping [ErrInvalidTemplate], a locale that
// is not a plausible language tag, a Subject or Text that is empty or does
// not parse, an HTML that does not parse, and any template that fails to
// execute against sample [Data] for k (with all fields set, and with only
// To set) or that then renders an invalid [Message] (a subject spanning
// lines, say). It returns an error wrapping [ErrUnknownKind] for a kind
// that is not one of the Kind constants.
func (t *Templates) Set(locale string, k Kind, tpl Template) error {
	key, ok := normalizeLocale(locale)
	if !ok {
		return fmt.Errorf("%w: locale %q is not a language tag", ErrInvalidTemplate, locale)
	}
	if !knownKind(k) {
		return fmt.Errorf("%w: %q", ErrUnknownKind, k)
	}
	c, err := compile(tpl)
	if err != nil {
		return fmt.Errorf("%w: %s %s: %w", ErrInvalidTemplate, key, k, err)
	}
	for _, d := range sampleData(k) {
		if _, err := c.render(d); err != nil {
			return fmt.Errorf("%w: %s %s: %w", ErrInvalidTemplate, key, k, err)
		}
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	if t.byLocale == nil {
		t.byLocale = make(map[string]map[Kind]*compiled)
	}
	if t.byLocale[key] == nil {
		t.byLocale[key] = make(map[Kind]*compiled)
	}
	t.byLocale[key][k] = c
	return nil
}

// Render builds the message for d from the template chosen as described on
// [Templates]. The message goes to d.To, with an empty From (the mailer's
// default sender). Render returns ctx's error if ctx is done, an error
// wrapping [ErrUnknownKind] or [ErrNoTemplate] when there is nothing to
// render, and one wrapping [ErrInvalidMessage] when the result is invalid
// (d.To is not a valid address, or d.AppName holds a line break).
func (t *Templates) Render(ctx context.Context, d Data) (Message, error) {
	if err := ctx.Err(); err != nil {
		return Message{}, err
	}
	if !knownKind(d.Kind) {
		return Message{}, fmt.Errorf("mail: render: %w: %q", ErrUnknownKind, d.Kind)
	}
	c := t.lookup(d.Locale, d.Kind)
	if c == nil {
		return Message{}, fmt.Errorf("mail: render %s: %w", d.Kind, ErrNoTemplate)
	}
	m, err := c.render(d)
	if err != nil {
		return Message{}, fmt.Errorf("mail: render %s: %w", d.Kind, err)
	}
	return m, nil
}

// lookup returns the template for k in locale, falling back to the base
// language and then DefaultLocale, or nil.
func (t *Templates) lookup(locale string, k Kind) *compiled {
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, l := range fallbacks(locale) {
		if c := t.byLocale[l][k]; c != nil {
			return c
		}
	}
	return nil
}

// fallbacks returns the normalized locales to try for locale, most specific
// first.
func fallbacks(locale string) []string {
	var out []string
	if key, ok := normalizeLocale(locale); ok {
		out = append(out, key)
		if i := strings.IndexByte(key, '-'); i > 0 {
			out = append(out, key[:i])
		}
	}
	return append(out, DefaultLocale)
}

// normalizeLocale lower-cases locale and turns "_" into "-", and reports
// whether the result looks like a BCP 47 tag: a 2–8 letter language and
// subtags of 1–8 letters or digits.
func normalizeLocale(locale string) (string, bool) {
	key := strings.ToLower(strings.ReplaceAll(locale, "_", "-"))
	if len(key) > 35 {
		return "", false
	}
	for i, sub := range strings.Split(key, "-") {
		if len(sub) < 1 || len(sub) > 8 || (i == 0 && len(sub) < 2) {
			return "", false
		}
		for _, r := range sub {
			isLetter := r >= 'a' && r <= 'z'
			if !isLetter && (i == 0 || r < '0' || r > '9') {
				return "", false
			}
		}
	}
	return key, true
}

func compile(tpl Template) (*compiled, error) {
	if strings.TrimSpace(tpl.Subject) == "" {
		return nil, fmt.Errorf("empty Subject")
	}
	if strings.TrimSpace(tpl.Text) == "" {
		return nil, fmt.Errorf("empty Text")
	}
	var c compiled
	var err error
	if c.subject, err = texttemplate.New("subject").Funcs(texttemplate.FuncMap(funcs())).Parse(tpl.Subject); err != nil {
		return nil, err
	}
	if c.text, err = texttemplate.New("text").Funcs(texttemplate.FuncMap(funcs())).Parse(tpl.Text); err != nil {
		return nil, err
	}
	if strings.TrimSpace(tpl.HTML) != "" {
		if c.html, err = htmltemplate.New("html").Funcs(htmltemplate.FuncMap(funcs())).Parse(tpl.HTML); err != nil {
			return nil, err
		}
	}
	return &c, nil
}

// render executes c for d and validates the result.
func (c *compiled) render(d Data) (Message, error) {
	sd := subjectData{
		Kind:          d.Kind,
		To:            d.To,
		AppName:       d.AppName,
		Locale:        d.Locale,
		ExpiresIn:     d.ExpiresIn,
		CodeExpiresIn: d.CodeExpiresIn,
		NewEmail:      d.NewEmail,
		Time:          d.Time,
	}
	var b bytes.Buffer
	if err := c.subject.Execute(&b, sd); err != nil {
		return Message{}, err
	}
	m := Message{Kind: d.Kind, To: []Address{d.To}, Subject: strings.TrimSpace(b.String())}
	b.Reset()
	if err := c.text.Execute(&b, d); err != nil {
		return Message{}, err
	}
	m.Text = strings.TrimSpace(b.String()) + "\n"
	if c.html != nil {
		b.Reset()
		if err := c.html.Execute(&b, d); err != nil {
			return Message{}, err
		}
		m.HTML = strings.TrimSpace(b.String()) + "\n"
	}
	if err := m.Validate(); err != nil {
		return Message{}, err
	}
	return m, nil
}

// sampleData returns the data Set executes a new template against: one
// value with every field set, and one with only the recipient.
func sampleData(k Kind) []Data {
	to := Address{Name: "Sam Sample", Email: "sam@example.com"}
	return []Data{
		{
			Kind:          k,
			To:            to,
			AppName:       "Example",
			Locale:        DefaultLocale,
			Token:         "sample-token",
			Code:          "123456",
			Link:          "https://example.com/confirm?token=sample-token",
			ExpiresIn:     24 * time.Hour,
			CodeExpiresIn: 10 * time.Minute,
			NewEmail:      "new@example.com",
			Time:          time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		},
		{Kind: k, To: Address{Email: to.Email}},
	}
}

// funcs returns the functions templates may call; see [Template].
func funcs() map[string]any {
	return map[string]any{
		"duration": englishDuration,
		"minutes":  func(d time.Duration) int { return int(d / time.Minute) },
		"hours":    func(d time.Duration) int { return int(d / time.Hour) },
		"days":     func(d time.Duration) int { return int(d / (24 * time.Hour)) },
	}
}

// englishDuration writes d, rounded down to the minute (or the second below
// a minute), in English words.
func englishDuration(d time.Duration) string {
	if d <= 0 {
		return "0 minutes"
	}
	if d < time.Minute {
		return plural(int(d/time.Second), "second")
	}
	days, rest := int(d/(24*time.Hour)), d%(24*time.Hour)
	hours, rest := int(rest/time.Hour), rest%time.Hour
	minutes := int(rest / time.Minute)
	var parts []string
	if days > 0 {
		parts = append(parts, plural(days, "day"))
	}
	if hours > 0 {
		parts = append(parts, plural(hours, "hour"))
	}
	if minutes > 0 {
		parts = append(parts, plural(minutes, "minute"))
	}
	return strings.Join(parts, " ")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
