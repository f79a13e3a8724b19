package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// child is a server process started by the tool: examples/server or the
// plain baseline server.
type child struct {
	cmd       *exec.Cmd
	URL       string // from its "listening on URL" line
	DebugURL  string // from examples/server's "debug listening on URL" line, with -debug-addr
	waitErr   chan error
	stderrBuf *lockedBuffer
}

// lockedBuffer keeps the last bytes a child wrote to stderr, for errors.
type lockedBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b = append(l.b, p...)
	if len(l.b) > 16<<10 {
		l.b = l.b[len(l.b)-16<<10:]
	}
	return len(p), nil
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b)
}

// buildServer compiles examples/server of the module in the current
// directory into dir and returns the binary's path.
func buildServer(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "gatehouse-server")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/gatehouse-go/gatehouse/examples/server")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building examples/server (run from the Gatehouse module, or give -server-bin): %w", err)
	}
	return bin, nil
}

// startChild starts bin with args and env (added to the tool's own) in
// dir, and waits until it prints its "listening on" line (and, when
// wantDebug, its "debug listening on" line).
func startChild(ctx context.Context, bin string, args, env []string, dir string, wantDebug bool) (*child, error) {
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, waitErr: make(chan error, 1), stderrBuf: &lockedBuffer{}}
	cmd.Stderr = c.stderrBuf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		signalled := false
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "debug listening on "):
				c.DebugURL = strings.TrimPrefix(line, "debug listening on ")
			case strings.HasPrefix(line, "listening on "):
				c.URL = strings.TrimPrefix(line, "listening on ")
			}
			if !signalled && c.URL != "" && (!wantDebug || c.DebugURL != "") {
				signalled = true
				close(ready)
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() { c.waitErr <- cmd.Wait() }()
	select {
	case <-ready:
		return c, nil
	case err := <-c.waitErr:
		return nil, fmt.Errorf("%s exited before it was ready (%v): %s", filepath.Base(bin), err, strings.TrimSpace(c.stderrBuf.String()))
	case <-time.After(30 * time.Second):
		c.stop()
		return nil, fmt.Errorf("%s printed no listening line in 30s", filepath.Base(bin))
	case <-ctx.Done():
		c.stop()
		return nil, ctx.Err()
	}
}

// PID is the child's process id.
func (c *child) PID() int { return c.cmd.Process.Pid }

// stop asks the child to shut down (SIGTERM) and waits up to 20 s before
// killing it. It returns the child's exit error, if any, other than the
// kill.
func (c *child) stop() error {
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-c.waitErr:
		return err
	case <-time.After(20 * time.Second):
		c.cmd.Process.Kill()
		<-c.waitErr
		return errors.New("did not stop within 20s of SIGTERM; killed")
	}
}

// rssBytes reads the resident set size of process pid from
// /proc/PID/status (Linux).
func rssBytes(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest) // "123456 kB"
			if len(f) != 2 || f[1] != "kB" {
				return 0, fmt.Errorf("unexpected VmRSS line %q", line)
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmRSS in /proc/" + strconv.Itoa(pid) + "/status")
}

// cpuTime reads the user and system CPU time that process pid ("self" for
// this one) has used, from /proc/PID/stat (Linux; clock ticks of 1/100 s,
// the USER_HZ of every Linux build the tool runs on).
func cpuTime(pid string) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, err
	}
	return statCPU(pid, b)
}

// statCPU reads utime + stime from the text of /proc/PID/stat.
func statCPU(pid string, b []byte) (time.Duration, error) {
	// The command name, field 2, is in parentheses and may hold spaces:
	// the fields after the last ')' start with field 3, the state.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%s/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%s/stat: %d fields", pid, len(f)+2)
	}
	var ticks int64
	for _, v := range f[11:13] { // utime and stime, fields 14 and 15
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%s/stat: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * (time.Second / 100), nil
}

// goroutines reads the number of goroutines from the pprof listener at
// debugURL (examples/server's -debug-addr): the first line of
// /debug/pprof/goroutine?debug=1 is "goroutine profile: total N".
func goroutines(ctx context.Context, hc *http.Client, debugURL string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", debugURL+"/debug/pprof/goroutine?debug=1", nil)
	if err != nil {
		return 0, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	io.Copy(io.Discard, resp.Body)
	if err != nil {
		return 0, err
	}
	rest, ok := strings.CutPrefix(strings.TrimSpace(line), "goroutine profile: total ")
	if !ok {
		return 0, fmt.Errorf("unexpected goroutine profile line %q", line)
	}
	return strconv.Atoi(rest)
}

// rssPeak samples the RSS of pid every interval until stop is closed and
// returns the largest value seen.
func rssPeak(pid int, interval time.Duration, stop <-chan struct{}) <-chan int64 {
	out := make(chan int64, 1)
	go func() {
		var peak int64
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			if v, err := rssBytes(pid); err == nil && v > peak {
				peak = v
			}
			select {
			case <-stop:
				out <- peak
				return
			case <-t.C:
			}
		}
	}()
	return out
}
