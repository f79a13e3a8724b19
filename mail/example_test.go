package mail_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/gatehouse-go/gatehouse/mail"
)

// A test hands a Capture to the code under test as its mailer, then waits
// for the mail and reads the code out of it.
func ExampleCapture() {
	mailer := mail.NewCapture()

	// The code under test sends, usually from another goroutine.
	go func() {
		_ = mailer.Send(context.Background(), mail.Message{
			Kind:    mail.KindVerifyEmail,
			To:      []mail.Address{{Email: "alice@example.com"}},
			Subject: "Verify your email address",
			Text:    "Your code: 123456\n",
		})
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msgs, err := mailer.Wait(ctx, 1)
	if err != nil {
		fmt.Println("no mail:", err)
		return
	}
	fmt.Println(msgs[0].Kind, msgs[0].To[0].Email)
	fmt.Print(msgs[0].Text)
	// Output:
	// verify_email alice@example.com
	// Your code: 123456
}

// FailNext makes sends fail, to test how the code under test copes with a
// mail server that is down.
func ExampleCapture_FailNext() {
	mailer := mail.NewCapture()
	errDown := errors.New("mail server down")
	mailer.FailNext(errDown, 2)

	m := mail.Message{To: []mail.Address{{Email: "alice@example.com"}}, Subject: "Hi", Text: "Hello\n"}
	for range 3 {
		err := mailer.Send(context.Background(), m)
		fmt.Println(errors.Is(err, errDown))
	}
	fmt.Println(len(mailer.Messages()), "delivered in", mailer.Attempts(), "attempts")
	// Output:
	// true
	// true
	// false
	// 1 delivered in 3 attempts
}

func ExampleTemplates() {
	renderer := mail.DefaultTemplates()
	m, err := renderer.Render(context.Background(), mail.Data{
		Kind:      mail.KindResetPassword,
		To:        mail.Address{Name: "Alice", Email: "alice@example.com"},
		AppName:   "Wonderland",
		Token:     "q8Yc2Lk",
		Link:      "https://wonderland.example/reset?token=q8Yc2Lk",
		ExpiresIn: 30 * time.Minute,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("Subject:", m.Subject)
	fmt.Print(m.Text)
	// Output:
	// Subject: Reset your password for Wonderland
	// Hello Alice,
	//
	// Someone asked to reset the password of your account alice@example.com at Wonderland.
	//
	// Open this link to choose a new password:
	// https://wonderland.example/reset?token=q8Yc2Lk
	//
	// If the link does not open, paste this token into Wonderland instead:
	// q8Yc2Lk
	//
	// The link and the token are valid for 30 minutes and can be used once.
	//
	// If you did not ask to reset your password, ignore this email: your password stays unchanged.
}

// Set adds a locale (or overrides the default English). A Data Locale of
// "de-CH" uses "de-CH" templates, then "de", then "en", kind by kind.
func ExampleTemplates_Set() {
	renderer := mail.DefaultTemplates()
	err := renderer.Set("it", mail.KindVerifyEmail, mail.Template{
		Subject: "Conferma il tuo indirizzo email",
		Text: `Il tuo codice: {{.Code}}
È valido per {{minutes (or .CodeExpiresIn .ExpiresIn)}} minuti.`,
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	// A subject may not show a secret: Set refuses it.
	err = renderer.Set("it", mail.KindVerifyEmail, mail.Template{Subject: "Codice {{.Code}}", Text: "{{.Code}}"})
	fmt.Println(errors.Is(err, mail.ErrInvalidTemplate))

	// "it-CH" falls back to "it" for the verification message, and to
	// English for the kind that has no Italian template.
	for _, kind := range []mail.Kind{mail.KindVerifyEmail, mail.KindPasswordChanged} {
		m, err := renderer.Render(context.Background(), mail.Data{
			Kind:          kind,
			To:            mail.Address{Email: "lucia@example.ch"},
			Locale:        "it-CH",
			Code:          "482910",
			CodeExpiresIn: 10 * time.Minute,
		})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(m.Subject)
	}
	// Output:
	// true
	// Conferma il tuo indirizzo email
	// Your password was changed
}

// An application whose users mostly read German makes German the default:
// users without a known language, and those whose language has no
// templates, get German; English stays the last resort.
func ExampleTemplates_SetDefaultLocale() {
	renderer := mail.DefaultTemplates()
	if err := renderer.SetDefaultLocale("de"); err != nil {
		fmt.Println(err)
		return
	}
	for _, locale := range []string{"", "fr", "en-GB", "de-AT"} {
		m, err := renderer.Render(context.Background(), mail.Data{
			Kind:    mail.KindResetPassword,
			To:      mail.Address{Email: "kim@example.com"},
			AppName: "Example",
			Locale:  locale,
		})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%q: %s\n", locale, m.Subject)
	}
	// Output:
	// "": Passwort zurücksetzen für Example
	// "fr": Passwort zurücksetzen für Example
	// "en-GB": Reset your password for Example
	// "de-AT": Passwort zurücksetzen für Example
}

// With a fixed Date and Rand, Compose is deterministic.
func ExampleCompose() {
	var b bytes.Buffer
	err := mail.Compose(&b, mail.Message{
		To:      []mail.Address{{Name: "山田 太郎", Email: "yamada@example.jp"}},
		Subject: "Grüße",
		Text:    "Hallo!\n",
	}, mail.ComposeOptions{
		DefaultFrom: mail.Address{Name: "Example", Email: "no-reply@example.com"},
		Date:        time.Date(2026, 11, 28, 6, 11, 49, 0, time.UTC),
		Rand:        bytes.NewReader(make([]byte, 64)),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	// The message has CRLF line endings; print it with LF.
	fmt.Print(strings.ReplaceAll(b.String(), "\r\n", "\n"))
	// Output:
	// From: "Example" <no-reply@example.com>
	// To: =?utf-8?q?=E5=B1=B1=E7=94=B0_=E5=A4=AA=E9=83=8E?= <yamada@example.jp>
	// Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=
	// Date: Sat, 28 Nov 2026 06:11:49 +0000
	// Message-ID: <00000000000000000000000000000000@example.com>
	// Auto-Submitted: auto-generated
	// MIME-Version: 1.0
	// Content-Type: text/plain; charset=utf-8
	// Content-Transfer-Encoding: 7bit
	//
	// Hallo!
}

// Log shows that mail would have been sent without the body, which holds
// secrets.
func ExampleLog() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		// Drop the time so that the output is stable.
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{}
			}
			return a
		},
	}))
	mailer := mail.NewLog(logger)
	_ = mailer.Send(context.Background(), mail.Message{
		Kind:    mail.KindResetPassword,
		To:      []mail.Address{{Name: "Alice", Email: "alice@example.com"}},
		Subject: "Reset your password",
		Text:    "Token: q8Yc2Lk\n",
	})
	// Output:
	// level=INFO msg="mail not sent (logged)" kind=reset_password from="" to=alice@example.com subject="Reset your password" html=false
}

func ExampleFolder() {
	dir, err := os.MkdirTemp("", "outbox")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	mailer := mail.NewFolder(dir, mail.Address{Name: "Example", Email: "no-reply@example.com"})
	err = mailer.Send(context.Background(), mail.Message{
		To:      []mail.Address{{Email: "alice@example.com"}},
		Subject: "Verify your email address",
		Text:    "Your code: 123456\n",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	files, _ := os.ReadDir(dir)
	for _, f := range files {
		fmt.Println(strings.HasSuffix(f.Name(), ".eml"))
	}
	// Output:
	// true
}

// A production mailer: STARTTLS on port 587 with credentials from the
// environment. NewSMTP only checks the configuration; the first Send
// connects. (This example is compiled, not run.)
func ExampleNewSMTP() {
	mailer, err := mail.NewSMTP(mail.SMTPConfig{
		Addr:     "smtp.example.com:587",
		From:     mail.Address{Name: "Example", Email: "no-reply@example.com"},
		Username: os.Getenv("SMTP_USER"),
		Password: os.Getenv("SMTP_PASSWORD"),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	// Pass mailer to auth.New as Config.Mailer. To send one yourself:
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = mailer.Send(ctx, mail.Message{
		To:      []mail.Address{{Name: "Alice", Email: "alice@example.com"}},
		Subject: "Hello",
		Text:    "Hello Alice!\n",
	})
	switch {
	case err == nil:
	case errors.Is(err, mail.ErrPermanent):
		fmt.Println("will not be delivered:", err)
	default:
		fmt.Println("try again later:", err)
	}
}

// TLSMode reads its text form, so it can be a command-line flag.
func ExampleTLSMode() {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	var mode mail.TLSMode
	fs.TextVar(&mode, "smtp-tls", mail.TLSStartTLS, "starttls, tls or none")
	if err := fs.Parse([]string{"-smtp-tls", "tls"}); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(mode == mail.TLSImplicit, mode)
	// Output:
	// true tls
}
