// Package browsertest drives a real, headless Chromium from Go tests,
// through github.com/chromedp/chromedp: the one harness for every test of
// this module that needs a browser (pages, cookies, passkeys).
//
// [New] finds the browser (CHROMIUM_PATH, else chromium, chromium-browser or
// google-chrome on PATH). Without one the test is skipped with a message
// saying how to install it — except under CI=true, where a missing browser
// fails the test, so a browser test can never pass CI by being skipped.
// Debian: apt-get install chromium.
//
// The package is internal and imported only by tests.
package browsertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse-go/gatehouse/internal/skipnote"
)

// Timeout bounds each [Browser.Run] call.
const Timeout = 30 * time.Second

// Browser is a headless Chromium with one tab, owned by one test.
type Browser struct {
	t   testing.TB
	ctx context.Context
	dir string
}

// Path returns the browser executable New would use, or an error saying
// how to get one.
func Path() (string, error) {
	if p := os.Getenv("CHROMIUM_PATH"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("CHROMIUM_PATH=%s: %w", p, err)
		}
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no Chromium found (set CHROMIUM_PATH, or install it: apt-get install chromium)")
}

// New starts a headless browser for t and closes it when t ends. Without
// a browser it skips t, or fails it under CI=true.
func New(t testing.TB) *Browser {
	t.Helper()
	path, err := Path()
	if err != nil {
		skipnote.Unavailable(t, "Chromium", "install it with apt-get install chromium, or set CHROMIUM_PATH", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox, // CI runs as root, where Chromium's sandbox refuses to start
		chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx, chromedp.WithErrorf(t.Logf))
	// Start the browser now, so a broken install fails here, clearly. The
	// first call must not carry a timeout: its context is the browser's life.
	if err := chromedp.Do(ctx); err != nil {
		cancelTab()
		cancelAlloc()
		skipnote.Unavailable(t, "Chromium", "check that "+path+" starts headless", fmt.Errorf("starting %s: %w", path, err))
	}
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})
	return &Browser{t: t, ctx: ctx, dir: t.TempDir()}
}

// Context is the tab's chromedp context, for actions that need it
// directly (chromedp.Run, cdproto calls through chromedp.ActionFunc).
func (b *Browser) Context() context.Context { return b.ctx }

// Do runs the actions in the tab, in order, within [Timeout], and fails
// the test when one fails.
func (b *Browser) Do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := b.TryDo(actions...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

// TryDo is Do that returns the error instead of failing the test.
func (b *Browser) TryDo(actions ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(b.ctx, Timeout)
	defer cancel()
	return chromedp.Do(ctx, actions...)
}

// Get runs one action that returns a value, within [Timeout], and fails
// t when it fails.
func Get[T any](t testing.TB, b *Browser, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, Timeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	return v
}

// Dir is the directory where screenshots are written (in the test's temp
// dir, removed after the test).
func (b *Browser) Dir() string { return b.dir }

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// Screenshot writes a full-page PNG of the tab as name.png in [Browser.Dir],
// fails the test when the page is blank (a single colour), and returns the
// file's path.
func (b *Browser) Screenshot(name string) string {
	b.t.Helper()
	buf := Get(b.t, b, chromedp.FullScreenshot(100))
	if err := NonBlank(buf); err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(b.dir, unsafeName.ReplaceAllString(name, "_")+".png")
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		b.t.Fatal(err)
	}
	return path
}

// NonBlank decodes an image (PNG or JPEG, as chromedp captures) and
// reports an error unless it has at least two colours that each cover a
// real part of it: a page that rendered nothing, or only its background,
// is blank.
func NonBlank(img []byte) error {
	m, _, err := image.Decode(bytes.NewReader(img))
	if err != nil {
		return fmt.Errorf("not an image: %w", err)
	}
	r := m.Bounds()
	if r.Empty() {
		return errors.New("the image is empty")
	}
	counts := map[[4]uint32]int{}
	step := max(1, r.Dx()/200)
	total := 0
	for y := r.Min.Y; y < r.Max.Y; y += step {
		for x := r.Min.X; x < r.Max.X; x += step {
			c0, c1, c2, c3 := m.At(x, y).RGBA()
			counts[[4]uint32{c0 >> 12, c1 >> 12, c2 >> 12, c3 >> 12}]++
			total++
		}
	}
	// Anything but the most common colour must cover at least 0.2 %.
	most := 0
	for _, n := range counts {
		most = max(most, n)
	}
	if total-most < total/500+1 {
		return fmt.Errorf("the image is blank: one colour covers %d of %d samples", most, total)
	}
	return nil
}

// Text returns the visible text of the first element matching the CSS
// selector.
func (b *Browser) Text(css string) string {
	b.t.Helper()
	return strings.TrimSpace(Get(b.t, b, chromedp.Text(chromedp.CSS(css))))
}

var _ = png.Decode // NonBlank decodes the PNGs of FullScreenshot(100)
