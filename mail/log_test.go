package mail_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-go/gatehouse/mail"
)

// recorder is a slog.Handler that keeps every record.
type recorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records = append(r.records, rec.Clone())
	return nil
}
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *recorder) WithGroup(string) slog.Handler      { return r }

func (r *recorder) all() []slog.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.records)
}

// attrs returns rec's attributes as strings.
func attrs(rec slog.Record) map[string]string {
	out := map[string]string{}
	rec.Attrs(func(a slog.Attr) bool {
		out[a.Key] = a.Value.String()
		return true
	})
	return out
}

// The sentinels stand for the secrets a body carries.
const (
	sentinelToken = "SENTINEL-TOKEN-5f1c0b"
	sentinelCode  = "931577"
	sentinelLink  = "https://example.com/reset?token=SENTINEL-LINK-77aa"
)

func secretMessage() mail.Message {
	return mail.Message{
		Kind:    mail.KindResetPassword,
		From:    sender,
		To:      []mail.Address{{Name: "Alice Secret-Name", Email: "alice@example.com"}, {Email: "bob@example.net"}},
		Subject: "Reset your password",
		Text:    "Your code: " + sentinelCode + "\nLink: " + sentinelLink + "\nToken: " + sentinelToken + "\n",
		HTML:    `<p><a href="` + sentinelLink + `">Reset</a> ` + sentinelToken + " " + sentinelCode + "</p>",
	}
}

// SECURITY.md #63 and #49: Log records who and what, never the body, so the
// token, code and link in it never reach a log.
func TestLogNeverLogsBodies(t *testing.T) {
	rec := &recorder{}
	var text, json bytes.Buffer
	handlers := []slog.Handler{rec, slog.NewTextHandler(&text, nil), slog.NewJSONHandler(&json, nil)}
	for _, h := range handlers {
		if err := mail.NewLog(slog.New(h)).Send(context.Background(), secretMessage()); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}

	records := rec.all()
	if len(records) != 1 {
		t.Fatalf("got %d records, want 1", len(records))
	}
	if records[0].Level != slog.LevelInfo {
		t.Errorf("level = %v, want INFO", records[0].Level)
	}
	got := attrs(records[0])
	want := map[string]string{
		"kind":    "reset_password",
		"from":    "no-reply@example.org",
		"to":      "alice@example.com, bob@example.net",
		"subject": "Reset your password",
		"html":    "true",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("attribute %s = %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("attributes = %v, want exactly %v", got, want)
	}

	for name, out := range map[string]string{"text": text.String(), "json": json.String(), "record": records[0].Message + " " + strings.Join(mapValues(got), " ")} {
		for _, secret := range []string{sentinelToken, sentinelCode, "SENTINEL-LINK", "Secret-Name"} {
			if strings.Contains(out, secret) {
				t.Errorf("%s output contains %q:\n%s", name, secret, out)
			}
		}
	}
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func TestLogRefuses(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	invalid := secretMessage()
	invalid.Subject = "x\nlevel=ERROR msg=forged"
	tests := []struct {
		name string
		ctx  context.Context
		m    mail.Message
		want error
	}{
		{"canceled context", canceled, secretMessage(), context.Canceled},
		{"invalid message", context.Background(), invalid, mail.ErrInvalidMessage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			err := mail.NewLog(slog.New(rec)).Send(tt.ctx, tt.m)
			if !errors.Is(err, tt.want) {
				t.Errorf("Send = %v, want %v", err, tt.want)
			}
			if n := len(rec.all()); n != 0 {
				t.Errorf("logged %d records", n)
			}
		})
	}
}

// A nil logger discards: library code never writes to the global logger.
// Not parallel: it swaps slog's default.
func TestLogNilLoggerDiscards(t *testing.T) {
	rec := &recorder{}
	old := slog.Default()
	slog.SetDefault(slog.New(rec))
	t.Cleanup(func() { slog.SetDefault(old) })

	if err := mail.NewLog(nil).Send(context.Background(), secretMessage()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if n := len(rec.all()); n != 0 {
		t.Errorf("the default logger got %d records, want 0", n)
	}
}
