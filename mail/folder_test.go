package mail_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-go/gatehouse/mail"
)

var emlName = regexp.MustCompile(`^\d{8}T\d{6}\.\d{9}Z-[0-9a-f]{16}\.eml$`)

// readFolder returns the names of the entries in dir, sorted, and fails
// unless every one is a finished .eml file.
func readFolder(tb testing.TB, dir string) []string {
	tb.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatalf("ReadDir: %v", err)
	}
	var names []string
	for _, e := range entries {
		if !emlName.MatchString(e.Name()) {
			tb.Errorf("unexpected entry %q", e.Name())
		}
		names = append(names, e.Name())
	}
	return names
}

func readEML(tb testing.TB, path string) parsed {
	tb.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("ReadFile: %v", err)
	}
	return parse(tb, raw)
}

func TestFolderWritesMessages(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mail", "outbox")
	f := mail.NewFolder(dir, sender)
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("NewFolder touched the file system: Stat = %v", err)
	}

	m := validMessage()
	m.From = mail.Address{}
	m.HTML = "<p>Grüße</p>"
	if err := f.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	names := readFolder(t, dir)
	if len(names) != 1 {
		t.Fatalf("got files %v, want one", names)
	}
	p := readEML(t, filepath.Join(dir, names[0]))
	if p.from[0].Address != sender.Email || p.subject != m.Subject || p.text != crlf(m.Text) || p.html != crlf(m.HTML) {
		t.Errorf("file holds From %v, subject %q, text %q, html %q", p.from[0], p.subject, p.text, p.html)
	}

	if runtime.GOOS == "windows" {
		t.Log("skipping the permission checks: Windows has no Unix modes")
		return
	}
	// SECURITY.md #63: files carry tokens, so only the owner may read them.
	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, names[0]): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s has mode %v, want %v", path, fi.Mode().Perm(), want)
		}
	}
}

func TestFolderOrderAndConcurrency(t *testing.T) {
	t.Run("sequential sends sort in order", func(t *testing.T) {
		dir := t.TempDir()
		f := mail.NewFolder(dir, sender)
		for i := range 20 {
			if err := f.Send(context.Background(), numbered(i)); err != nil {
				t.Fatal(err)
			}
		}
		names := readFolder(t, dir)
		if len(names) != 20 {
			t.Fatalf("got %d files, want 20", len(names))
		}
		for i, name := range names {
			if got := readEML(t, filepath.Join(dir, name)).subject; got != fmt.Sprintf("message %d", i) {
				t.Errorf("file %d (%s) holds %q", i, name, got)
			}
		}
	})
	t.Run("concurrent sends make distinct files", func(t *testing.T) {
		dir := t.TempDir()
		const n = 40
		// Two Folders on one directory share no state but still must not
		// collide.
		folders := []*mail.Folder{mail.NewFolder(dir, sender), mail.NewFolder(dir, sender)}
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				if err := folders[i%2].Send(context.Background(), numbered(i)); err != nil {
					t.Errorf("Send: %v", err)
				}
			})
		}
		wg.Wait()
		names := readFolder(t, dir)
		if len(names) != n {
			t.Fatalf("got %d files, want %d", len(names), n)
		}
		var got []string
		for _, name := range names {
			got = append(got, readEML(t, filepath.Join(dir, name)).subject)
		}
		slices.Sort(got)
		if got = slices.Compact(got); len(got) != n {
			t.Errorf("files hold %d distinct messages, want %d", len(got), n)
		}
	})
}

func TestFolderErrors(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	invalid := validMessage()
	invalid.To[0].Name = "x\nBcc: mallory@evil.example"
	noSender := validMessage()
	noSender.From = mail.Address{}

	tests := []struct {
		name string
		ctx  context.Context
		from mail.Address
		m    mail.Message
		want error
	}{
		{"canceled context", canceled, sender, validMessage(), context.Canceled},
		{"invalid message", context.Background(), sender, invalid, mail.ErrInvalidMessage},
		{"no sender", context.Background(), mail.Address{}, noSender, mail.ErrInvalidMessage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "outbox")
			err := mail.NewFolder(dir, tt.from).Send(tt.ctx, tt.m)
			if !errors.Is(err, tt.want) {
				t.Errorf("Send = %v, want %v", err, tt.want)
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a failed Send created the directory (Stat = %v)", err)
			}
		})
	}
	t.Run("no directory", func(t *testing.T) {
		if err := mail.NewFolder("", sender).Send(context.Background(), validMessage()); err == nil {
			t.Errorf("Send with no directory succeeded")
		}
	})
	t.Run("directory cannot be created", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(file, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		err := mail.NewFolder(filepath.Join(file, "outbox"), sender).Send(context.Background(), validMessage())
		if err == nil {
			t.Errorf("Send into a path under a file succeeded")
		}
	})
	t.Run("directory is not writable", func(t *testing.T) {
		if runtime.GOOS == "windows" || os.Geteuid() == 0 {
			t.Skip("needs Unix permissions enforced for the current user")
		}
		dir := t.TempDir()
		if err := os.Chmod(dir, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(dir, 0o700) })
		if err := mail.NewFolder(dir, sender).Send(context.Background(), validMessage()); err == nil {
			t.Errorf("Send into a read-only directory succeeded")
		}
		if names := readFolder(t, dir); len(names) != 0 {
			t.Errorf("left files behind: %v", names)
		}
	})
}

// A token copies out of a folder's .eml file with grep: the line that holds
// it, taken whole, is the token (or, with a link, the link that ends in it),
// however long the token and whatever the language. Quoted-printable would
// break it with soft line breaks at 76 octets.
func TestFolderTokensGrepWhole(t *testing.T) {
	token := strings.Repeat("Zq9-_", 40) // 200 characters of base64url
	linkRE := regexp.MustCompile(`token=[A-Za-z0-9_-]*`)
	for _, locale := range []string{"en", "de"} {
		for _, link := range []string{"", "https://app.example/reset-password?token=" + token} {
			t.Run(fmt.Sprintf("%s/link=%t", locale, link != ""), func(t *testing.T) {
				dir := t.TempDir()
				d := fullData(mail.KindResetPassword)
				d.Locale, d.Token, d.Link = locale, token, link
				if err := mail.NewFolder(dir, sender).Send(t.Context(), render(t, mail.DefaultTemplates(), d)); err != nil {
					t.Fatal(err)
				}
				raw, err := os.ReadFile(filepath.Join(dir, readFolder(t, dir)[0]))
				if err != nil {
					t.Fatal(err)
				}
				// grep token-prefix: the first line holding the token's
				// start, whole.
				var line string
				for l := range strings.SplitSeq(string(raw), "\r\n") {
					if strings.Contains(l, token[:16]) {
						line = l
						break
					}
				}
				want := token
				if link != "" {
					want = link
				}
				if line != want {
					t.Errorf("the line holding the token is %q, want %q", line, want)
				}
				// grep -o 'token=[A-Za-z0-9_-]*' | tail -1
				if link != "" {
					all := linkRE.FindAllString(string(raw), -1)
					if len(all) == 0 || all[len(all)-1] != "token="+token {
						t.Errorf("grep -o finds %q, want token=%s last", all, token)
					}
				}
			})
		}
	}
}
