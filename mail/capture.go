package mail

import (
	"context"
	"slices"
	"sync"
)

// Capture is a mailer that keeps messages in memory, for tests. Its Send
// validates each message ([Message.Validate]) and records a copy; Messages,
// Last and Wait read them back, and FailNext makes sends fail on demand so
// that retry and error paths can be tested. It is safe for concurrent use.
// The zero value is ready to use.
type Capture struct {
	mu       sync.Mutex
	msgs     []Message
	attempts int
	failN    int
	failErr  error
	// changed is closed (and replaced) whenever msgs grows or is reset.
	changed chan struct{}
}

// NewCapture returns an empty [Capture].
func NewCapture() *Capture {
	return &Capture{}
}

// Send records a copy of m. It returns ctx's error if ctx is done, the error
// given to [Capture.FailNext] while failures are pending, and an error
// wrapping [ErrInvalidMessage] if m is invalid; in those cases nothing is
// recorded.
func (c *Capture) Send(ctx context.Context, m Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.attempts++
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.failN > 0 {
		c.failN--
		return c.failErr
	}
	if err := m.Validate(); err != nil {
		return err
	}
	c.msgs = append(c.msgs, copyMessage(m))
	c.notifyLocked()
	return nil
}

// FailNext makes the next n calls to [Capture.Send] return err without
// recording anything, replacing any failures still pending. n <= 0 or a nil
// err cancels pending failures.
func (c *Capture) FailNext(err error, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err == nil || n <= 0 {
		c.failN, c.failErr = 0, nil
		return
	}
	c.failN, c.failErr = n, err
}

// Attempts returns how many times Send was called, including calls that
// failed, since the Capture was made or last reset.
func (c *Capture) Attempts() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.attempts
}

// Messages returns copies of the recorded messages, oldest first.
func (c *Capture) Messages() []Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.copyLocked()
}

// Last returns a copy of the most recent message, and false if there is none.
func (c *Capture) Last() (Message, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.msgs) == 0 {
		return Message{}, false
	}
	return copyMessage(c.msgs[len(c.msgs)-1]), true
}

// Wait blocks until at least n messages have been recorded and returns
// copies of all of them. If ctx ends first, it returns the messages recorded
// so far with ctx's error; bound it with [context.WithTimeout].
func (c *Capture) Wait(ctx context.Context, n int) ([]Message, error) {
	for {
		c.mu.Lock()
		if len(c.msgs) >= n {
			msgs := c.copyLocked()
			c.mu.Unlock()
			return msgs, nil
		}
		if c.changed == nil {
			c.changed = make(chan struct{})
		}
		changed := c.changed
		c.mu.Unlock()

		select {
		case <-changed:
		case <-ctx.Done():
			return c.Messages(), ctx.Err()
		}
	}
}

// Reset forgets the recorded messages, the attempt count and any pending
// failures. Waiters keep waiting for their count to be reached anew.
func (c *Capture) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs = nil
	c.attempts = 0
	c.failN, c.failErr = 0, nil
	c.notifyLocked()
}

func (c *Capture) notifyLocked() {
	if c.changed != nil {
		close(c.changed)
		c.changed = nil
	}
}

func (c *Capture) copyLocked() []Message {
	out := make([]Message, len(c.msgs))
	for i, m := range c.msgs {
		out[i] = copyMessage(m)
	}
	return out
}

// copyMessage returns m with its own To slice, so neither the sender nor a
// reader can change a recorded message.
func copyMessage(m Message) Message {
	m.To = slices.Clone(m.To)
	return m
}
