package mail_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/mail"
)

// Every mailer satisfies the interface the auth Manager consumes.
var (
	_ auth.Mailer   = (*mail.Capture)(nil)
	_ auth.Mailer   = (*mail.Folder)(nil)
	_ auth.Mailer   = (*mail.Log)(nil)
	_ auth.Mailer   = mail.Discard{}
	_ mail.Renderer = (*mail.Templates)(nil)
)

func numbered(i int) mail.Message {
	m := validMessage()
	m.Subject = fmt.Sprintf("message %d", i)
	return m
}

func subjects(msgs []mail.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.Subject
	}
	return out
}

func TestCaptureRecords(t *testing.T) {
	tests := []struct {
		name string
		new  func() *mail.Capture
	}{
		{"NewCapture", mail.NewCapture},
		{"zero value", func() *mail.Capture { return new(mail.Capture) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.new()
			if _, ok := c.Last(); ok {
				t.Errorf("Last on an empty Capture reported a message")
			}
			if got := c.Messages(); len(got) != 0 {
				t.Errorf("Messages = %v, want none", got)
			}
			ctx := context.Background()
			for i := range 3 {
				if err := c.Send(ctx, numbered(i)); err != nil {
					t.Fatalf("Send: %v", err)
				}
			}
			if got := fmt.Sprint(subjects(c.Messages())); got != "[message 0 message 1 message 2]" {
				t.Errorf("Messages = %s", got)
			}
			last, ok := c.Last()
			if !ok || last.Subject != "message 2" || last.Text != validMessage().Text || last.To[0] != alice {
				t.Errorf("Last = %+v, %v", last, ok)
			}
			if c.Attempts() != 3 {
				t.Errorf("Attempts = %d, want 3", c.Attempts())
			}
			c.Reset()
			if len(c.Messages()) != 0 || c.Attempts() != 0 {
				t.Errorf("after Reset: %d messages, %d attempts", len(c.Messages()), c.Attempts())
			}
			if _, ok := c.Last(); ok {
				t.Errorf("Last after Reset reported a message")
			}
		})
	}
}

func TestCaptureCopies(t *testing.T) {
	c := mail.NewCapture()
	m := validMessage()
	if err := c.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	m.To[0].Email = "changed-by-sender@example.com"
	got := c.Messages()
	got[0].To[0].Email = "changed-by-reader@example.com"
	last, _ := c.Last()
	last.To[0].Email = "changed-by-reader@example.com"
	waited, err := c.Wait(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	waited[0].To[0].Email = "changed-by-waiter@example.com"
	if last, _ := c.Last(); last.To[0] != alice {
		t.Errorf("recorded To = %v, want %v", last.To[0], alice)
	}
}

func TestCaptureRefuses(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	invalid := validMessage()
	invalid.Subject = "x\r\nBcc: mallory@evil.example"
	tests := []struct {
		name string
		ctx  context.Context
		m    mail.Message
		want error
	}{
		{"canceled context", canceled, validMessage(), context.Canceled},
		{"invalid message", context.Background(), invalid, mail.ErrInvalidMessage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mail.NewCapture()
			if err := c.Send(tt.ctx, tt.m); !errors.Is(err, tt.want) {
				t.Errorf("Send = %v, want %v", err, tt.want)
			}
			if n := len(c.Messages()); n != 0 {
				t.Errorf("recorded %d messages", n)
			}
			if c.Attempts() != 1 {
				t.Errorf("Attempts = %d, want 1", c.Attempts())
			}
		})
	}
}

func TestCaptureFailNext(t *testing.T) {
	errSMTP := errors.New("smtp: 451 try again later")
	ctx := context.Background()

	t.Run("fails n sends then records", func(t *testing.T) {
		c := mail.NewCapture()
		c.FailNext(errSMTP, 2)
		for i := range 2 {
			if err := c.Send(ctx, numbered(i)); !errors.Is(err, errSMTP) {
				t.Fatalf("Send %d = %v, want %v", i, err, errSMTP)
			}
		}
		if err := c.Send(ctx, numbered(2)); err != nil {
			t.Fatalf("third Send = %v, want nil", err)
		}
		if got := fmt.Sprint(subjects(c.Messages())); got != "[message 2]" {
			t.Errorf("Messages = %s, want only the third", got)
		}
		if c.Attempts() != 3 {
			t.Errorf("Attempts = %d, want 3", c.Attempts())
		}
	})
	t.Run("replaces pending failures", func(t *testing.T) {
		c := mail.NewCapture()
		c.FailNext(errSMTP, 5)
		errOther := errors.New("other")
		c.FailNext(errOther, 1)
		if err := c.Send(ctx, numbered(0)); !errors.Is(err, errOther) {
			t.Errorf("Send = %v, want %v", err, errOther)
		}
		if err := c.Send(ctx, numbered(1)); err != nil {
			t.Errorf("Send = %v, want nil", err)
		}
	})
	for _, cancel := range []struct {
		name string
		err  error
		n    int
	}{{"nil error cancels", nil, 3}, {"zero n cancels", errSMTP, 0}, {"negative n cancels", errSMTP, -1}} {
		t.Run(cancel.name, func(t *testing.T) {
			c := mail.NewCapture()
			c.FailNext(errSMTP, 3)
			c.FailNext(cancel.err, cancel.n)
			if err := c.Send(ctx, numbered(0)); err != nil {
				t.Errorf("Send = %v, want nil", err)
			}
		})
	}
	t.Run("Reset cancels", func(t *testing.T) {
		c := mail.NewCapture()
		c.FailNext(errSMTP, 3)
		c.Reset()
		if err := c.Send(ctx, numbered(0)); err != nil {
			t.Errorf("Send = %v, want nil", err)
		}
	})
}

func TestCaptureWait(t *testing.T) {
	t.Run("already there", func(t *testing.T) {
		c := mail.NewCapture()
		for i := range 2 {
			c.Send(context.Background(), numbered(i))
		}
		got, err := c.Wait(context.Background(), 2)
		if err != nil || len(got) != 2 {
			t.Errorf("Wait = %d messages, %v; want 2, nil", len(got), err)
		}
		if got, err := c.Wait(context.Background(), 0); err != nil || len(got) != 2 {
			t.Errorf("Wait(0) = %d messages, %v; want 2, nil", len(got), err)
		}
	})
	t.Run("wakes on sends from other goroutines", func(t *testing.T) {
		c := mail.NewCapture()
		const n = 50
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				if err := c.Send(context.Background(), numbered(i)); err != nil {
					t.Errorf("Send: %v", err)
				}
			})
		}
		got, err := c.Wait(context.Background(), n)
		if err != nil || len(got) < n {
			t.Errorf("Wait = %d messages, %v; want %d, nil", len(got), err, n)
		}
		wg.Wait()
		seen := map[string]bool{}
		for _, m := range c.Messages() {
			seen[m.Subject] = true
		}
		if len(seen) != n {
			t.Errorf("recorded %d distinct messages, want %d", len(seen), n)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		c := mail.NewCapture()
		c.Send(context.Background(), numbered(0))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		got, err := c.Wait(ctx, 2)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Wait = %v, want context.DeadlineExceeded", err)
		}
		if len(got) != 1 {
			t.Errorf("Wait returned %d messages, want the 1 recorded", len(got))
		}
	})
	t.Run("cancel", func(t *testing.T) {
		c := mail.NewCapture()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() {
			_, err := c.Wait(ctx, 1)
			done <- err
		}()
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Wait = %v, want context.Canceled", err)
		}
	})
	t.Run("keeps waiting across Reset", func(t *testing.T) {
		c := mail.NewCapture()
		c.Send(context.Background(), numbered(0))
		done := make(chan []mail.Message)
		go func() {
			got, _ := c.Wait(context.Background(), 2)
			done <- got
		}()
		c.Reset()
		c.Send(context.Background(), numbered(1))
		c.Send(context.Background(), numbered(2))
		if got := fmt.Sprint(subjects(<-done)); got != "[message 1 message 2]" {
			t.Errorf("Wait = %s, want the two sent after Reset", got)
		}
	})
}

func TestDiscard(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, m := range []mail.Message{validMessage(), {}} {
		if err := (mail.Discard{}).Send(canceled, m); err != nil {
			t.Errorf("Send = %v, want nil", err)
		}
	}
}
