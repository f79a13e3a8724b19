package mail

import (
	"bytes"
	"context"
	"fmt"
	htmltemplate "html/template"
	"slices"
	"strconv"
	"strings"
	"sync"
	texttemplate "text/template"
	"time"
)

// DefaultLocale is the locale [Templates] falls back to last: the one whose
// built-in templates cover every [Kind]. [DefaultTemplates] fills it and
// [GermanLocale].
const DefaultLocale = "en"

// GermanLocale is the second locale with built-in templates for every
// [Kind], in German with the formal "Sie".
const GermanLocale = "de"

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
//	duration d   d in words: "10 minutes", "1 hour 30 minutes", "1 day"
//	datetime t   t in UTC: "2 January 2026 at 15:04 UTC"
//	minutes d    whole minutes in d (an int)
//	hours d      whole hours in d
//	days d       whole days in d
//
// duration and datetime speak the language of the locale the template is
// set for: German for "de" and its regions ("10 Minuten", "2. Januar 2026
// um 15:04 UTC"), English for every other language. Templates in other
// languages build their own words from minutes, hours and days, for
// example {{with or .CodeExpiresIn .ExpiresIn}}{{minutes .}} minuti{{end}}.
type Template struct {
	Subject string
	Text    string
	HTML    string
}

// Templates is a [Renderer] built from text/template and html/template
// sources, per [Kind] and locale. [DefaultTemplates] returns one with
// English and German templates for every kind; [Templates.Set] overrides
// one kind in one locale or adds a locale.
//
// Render picks the template for a kind by the [Data] Locale: the exact
// locale ("de-CH"), then its base language ("de"), then the default locale
// set with [Templates.SetDefaultLocale] and its base language, then
// [DefaultLocale] ("en"). An empty Locale starts at the default locale.
// Locales match case-insensitively and "_" counts as "-". The fallback is
// per kind, so a locale may override only some kinds.
//
// Templates is safe for concurrent use, including Set concurrently with
// Render; a Render sees each kind's template either before or after a
// concurrent Set. The zero value has no templates.
type Templates struct {
	mu sync.RWMutex
	// byLocale maps a normalized locale to the templates set for it.
	byLocale map[string]map[Kind]*compiled
	// defaultLocale is the normalized locale set by SetDefaultLocale, or
	// "" for DefaultLocale.
	defaultLocale string
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
	BySuperuser   bool
}

// kinds lists every Kind the package knows, in declaration order.
var kinds = [...]Kind{
	KindVerifyEmail,
	KindResetPassword,
	KindPasswordChanged,
	KindChangeEmail,
	KindEmailChangeNotice,
	KindSignupAttempt,
	KindAccountDeleted,
	KindAccountDeactivated,
	KindAccountReactivated,
	KindFactorAdded,
	KindFactorRemoved,
	KindRecoveryCodesRegenerated,
	KindRecoveryCodeUsed,
	KindEmailLogin,
}

func knownKind(k Kind) bool {
	return slices.Contains(kinds[:], k)
}

// DefaultTemplates returns new [Templates] holding the built-in templates
// for every [Kind]: English under [DefaultLocale] and German under
// [GermanLocale], with [DefaultLocale] as the default locale. Each call
// returns an independent value, so changes made with Set never leak between
// users.
func DefaultTemplates() *Templates {
	t := &Templates{}
	for _, k := range kinds {
		for locale, tpl := range map[string]Template{DefaultLocale: defaultTemplate(k), GermanLocale: germanTemplate(k)} {
			if err := t.Set(locale, k, tpl); err != nil {
				// The built-in templates are tested; this cannot happen.
				panic(err)
			}
		}
	}
	return t
}

// SetDefaultLocale makes locale the one Render uses for [Data] without a
// Locale, and the fallback for a Locale without templates of its own,
// before [DefaultLocale]. For an application whose users mostly read German,
// SetDefaultLocale("de") sends German to users without a known language
// and to those whose language has no templates.
//
// The locale need not have templates yet (kinds it lacks fall back to
// DefaultLocale). SetDefaultLocale returns an error wrapping
// [ErrInvalidTemplate], and changes nothing, when locale is not a
// plausible language tag. It is safe to call concurrently with Render.
func (t *Templates) SetDefaultLocale(locale string) error {
	key, ok := normalizeLocale(locale)
	if !ok {
		return fmt.Errorf("%w: locale %q is not a language tag", ErrInvalidTemplate, locale)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.defaultLocale = key
	return nil
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
	c, err := compile(tpl, key)
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
// language, the default locale and its base language, and then
// DefaultLocale, or nil.
func (t *Templates) lookup(locale string, k Kind) *compiled {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var chain [5]string
	for _, l := range fallbacks(chain[:0], locale, t.defaultLocale) {
		if c := t.byLocale[l][k]; c != nil {
			return c
		}
	}
	return nil
}

// fallbacks appends to dst the normalized locales to try for locale, most
// specific first, given the default locale def ("" for DefaultLocale).
func fallbacks(dst []string, locale, def string) []string {
	for _, l := range [...]string{locale, def} {
		if key, ok := normalizeLocale(l); ok {
			dst = append(dst, key)
			if lang := language(key); lang != key {
				dst = append(dst, lang)
			}
		}
	}
	return append(dst, DefaultLocale)
}

// language returns the language subtag of a normalized locale ("de" for
// "de-ch").
func language(key string) string {
	if i := strings.IndexByte(key, '-'); i > 0 {
		return key[:i]
	}
	return key
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

// compile parses tpl for the normalized locale key, whose language decides
// the words of the duration and datetime functions.
func compile(tpl Template, key string) (*compiled, error) {
	if strings.TrimSpace(tpl.Subject) == "" {
		return nil, fmt.Errorf("empty Subject")
	}
	if strings.TrimSpace(tpl.Text) == "" {
		return nil, fmt.Errorf("empty Text")
	}
	var c compiled
	var err error
	fm := funcs(language(key))
	if c.subject, err = texttemplate.New("subject").Funcs(fm).Parse(tpl.Subject); err != nil {
		return nil, err
	}
	if c.text, err = texttemplate.New("text").Funcs(fm).Parse(tpl.Text); err != nil {
		return nil, err
	}
	if strings.TrimSpace(tpl.HTML) != "" {
		if c.html, err = htmltemplate.New("html").Funcs(htmltemplate.FuncMap(fm)).Parse(tpl.HTML); err != nil {
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
		BySuperuser:   d.BySuperuser,
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
			BySuperuser:   true,
		},
		{Kind: k, To: Address{Email: to.Email}},
	}
}

// funcs returns the functions templates may call in language lang; see
// [Template].
func funcs(lang string) texttemplate.FuncMap {
	w := english
	if lang == "de" {
		w = german
	}
	return texttemplate.FuncMap{
		"duration": w.duration,
		"datetime": w.datetime,
		"minutes":  func(d time.Duration) int { return int(d / time.Minute) },
		"hours":    func(d time.Duration) int { return int(d / time.Hour) },
		"days":     func(d time.Duration) int { return int(d / (24 * time.Hour)) },
	}
}

// words are the units and formats of one language: singular and plural of
// second, minute, hour and day, the month names, and how a date is written.
type words struct {
	units  [4][2]string
	months [12]string
	// date formats day, month name, year, hour and minute.
	date func(day int, month string, year, hour, min int) string
}

var (
	english = &words{
		units:  [4][2]string{{"second", "seconds"}, {"minute", "minutes"}, {"hour", "hours"}, {"day", "days"}},
		months: [12]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
		date: func(day int, month string, year, hour, min int) string {
			return fmt.Sprintf("%d %s %d at %02d:%02d UTC", day, month, year, hour, min)
		},
	}
	german = &words{
		units:  [4][2]string{{"Sekunde", "Sekunden"}, {"Minute", "Minuten"}, {"Stunde", "Stunden"}, {"Tag", "Tage"}},
		months: [12]string{"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"},
		date: func(day int, month string, year, hour, min int) string {
			return fmt.Sprintf("%d. %s %d um %02d:%02d UTC", day, month, year, hour, min)
		},
	}
)

// duration writes d, rounded down to the minute (or the second below a
// minute), in words.
func (w *words) duration(d time.Duration) string {
	const second, minute, hour, day = 0, 1, 2, 3
	if d <= 0 {
		return w.count(0, minute)
	}
	if d < time.Minute {
		return w.count(int(d/time.Second), second)
	}
	days, rest := int(d/(24*time.Hour)), d%(24*time.Hour)
	hours, rest := int(rest/time.Hour), rest%time.Hour
	minutes := int(rest / time.Minute)
	var parts []string
	if days > 0 {
		parts = append(parts, w.count(days, day))
	}
	if hours > 0 {
		parts = append(parts, w.count(hours, hour))
	}
	if minutes > 0 {
		parts = append(parts, w.count(minutes, minute))
	}
	return strings.Join(parts, " ")
}

func (w *words) count(n, unit int) string {
	if n == 1 {
		return "1 " + w.units[unit][0]
	}
	return strconv.Itoa(n) + " " + w.units[unit][1]
}

// datetime writes t in UTC, to the minute.
func (w *words) datetime(t time.Time) string {
	t = t.UTC()
	return w.date(t.Day(), w.months[t.Month()-1], t.Year(), t.Hour(), t.Minute())
}
