package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Folder is a mailer that writes each message as an RFC 5322 file (see
// [Compose]) into a directory, for development and manual testing: open the
// files in a mail client or read the links in them.
//
// Bodies are written unencoded whenever their lines fit (see [Compose]), so
// tokens and links are whole in the files. The newest token of the
// built-in templates, which stands alone on a line of the text body (43
// characters of base64url, with or without a link), is one grep away:
//
//	grep -hoE '^[A-Za-z0-9_-]{43}' gatehouse-mail/*.eml | tail -1
//
// With links (auth.Config.BaseURL set), grep -ho 'token=[A-Za-z0-9_-]*'
// finds the tokens in them. The shell sorts the file names, and so the
// messages, oldest first.
//
// Files are named "<UTC time>-<random>.eml", e.g.
// "20261128T061149.123456789Z-9f86d081884c7d65.eml", so that they sort by
// the time they were sent (the messages of one Folder sort in the order of
// their Send calls, even on a coarse clock) and never collide. Each is written to a hidden
// temporary file in the same directory and then renamed, so a reader never
// sees a partial message. The directory is created with mode 0700 if
// missing (an existing directory keeps its mode); files have mode 0600,
// because bodies carry tokens and codes.
//
// Folder is safe for concurrent use.
type Folder struct {
	dir  string
	from Address

	mu   sync.Mutex
	last time.Time // the newest time used in a file name
}

// NewFolder returns a [Folder] writing into dir, with from as the sender of
// messages whose From is empty. It does no I/O: the directory is created by
// the first Send.
func NewFolder(dir string, from Address) *Folder {
	return &Folder{dir: dir, from: from}
}

// Send writes m to a new file in the folder. It returns ctx's error if ctx
// is done, an error wrapping [ErrInvalidMessage] if m is invalid or has no
// sender, and the I/O error if the file cannot be written (in which case no
// file is left behind).
func (f *Folder) Send(ctx context.Context, m Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if f.dir == "" {
		return errors.New("mail: folder: no directory")
	}
	now := f.now()
	var buf bytes.Buffer
	if err := Compose(&buf, m, ComposeOptions{DefaultFrom: f.from, Date: now}); err != nil {
		return fmt.Errorf("mail: folder: %w", err)
	}
	suffix, err := randomHex(rand.Reader, 8)
	if err != nil {
		return fmt.Errorf("mail: folder: %w", err)
	}
	name := now.UTC().Format("20060102T150405.000000000Z") + "-" + suffix + ".eml"

	if err := os.MkdirAll(f.dir, 0o700); err != nil {
		return fmt.Errorf("mail: folder: %w", err)
	}
	if err := writeFileAtomic(ctx, f.dir, name, buf.Bytes()); err != nil {
		return fmt.Errorf("mail: folder: %w", err)
	}
	return nil
}

// now returns the current time, or a nanosecond after the last time it
// returned if the clock has not advanced (coarse clocks) or went back, so
// that the files of one Folder sort in the order they were sent.
func (f *Folder) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now().Round(0)
	if !now.After(f.last) {
		now = f.last.Add(time.Nanosecond)
	}
	f.last = now
	return now
}

// writeFileAtomic writes data to dir/name through a temporary file created
// with mode 0600, which it removes on any failure.
func writeFileAtomic(ctx context.Context, dir, name string, data []byte) (err error) {
	tmp, err := os.CreateTemp(dir, ".partial-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, name))
}
