package mail_test

import (
	"context"
	"io"
	"testing"

	"github.com/gatehouse-go/gatehouse/mail"
)

func BenchmarkRenderAndCompose(b *testing.B) {
	tpl := mail.DefaultTemplates()
	ctx := context.Background()
	d := fullData(mail.KindVerifyEmail)
	b.Run("Render", func(b *testing.B) {
		for b.Loop() {
			if _, err := tpl.Render(ctx, d); err != nil {
				b.Fatal(err)
			}
		}
	})
	m := render(b, tpl, d)
	opt := mail.ComposeOptions{DefaultFrom: sender}
	b.Run("Compose", func(b *testing.B) {
		for b.Loop() {
			if err := mail.Compose(io.Discard, m, opt); err != nil {
				b.Fatal(err)
			}
		}
	})
}
