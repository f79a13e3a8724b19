package main_test

import (
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestLoginFloodGets503: with -request-timeout, logins beyond the
// password-hash slots wait for one until their deadline and then get 503
// with Retry-After (SECURITY.md #12): a flood is answered within a bounded
// time, not queued without end.
func TestLoginFloodGets503(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	bin := buildServer(t)
	dir := t.TempDir()
	const timeout = time.Second
	// Every request comes from a client IP of its own (the server trusts
	// the loopback proxy), so that the per-IP limits on registrations and
	// failed logins, which a flood from one address would reach however
	// the machine's load splits it into 401s and 503s, stay out of the way.
	s := start(t, bin, nil, "-db", filepath.Join(dir, "gh.db"), "-maildir", filepath.Join(dir, "mail"), "-request-timeout", timeout.String(), "-trusted-proxies", "127.0.0.1")
	var lastIP atomic.Uint32
	post := func(body string) (*http.Response, error) {
		req, err := http.NewRequest("POST", s.url+"/v2/login", strings.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		n := lastIP.Add(1)
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("198.18.%d.%d", n>>8&0xff, n&0xff))
		return http.DefaultClient.Do(req)
	}
	// The registration's own hash may outlast the deadline on a loaded
	// machine: retry it.
	for i := 0; ; i++ {
		req, err := http.NewRequest("POST", s.url+"/v2/register", strings.NewReader(`{"email":"`+userEmail+`","password":"`+userPW+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("198.19.0.%d", i+1))
		r := s.callReq(t, req)
		if r.status == http.StatusOK {
			break
		}
		if r.status != http.StatusServiceUnavailable || i == 10 {
			t.Fatalf("register: status %d: %v", r.status, r.body)
		}
	}

	// The flood: logins to as many accounts (unknown ones, which cost a
	// hash as known ones do; many logins to one account are throttled
	// instead, SECURITY.md #19). The first makes the dummy hash.
	const flood = 24
	loginForm := func(email string) string {
		return url.Values{"username": {email}, "password": {userPW}, "grant_type": {"password"}}.Encode()
	}
	if resp, err := post(loginForm("first@example.com")); err == nil {
		resp.Body.Close()
	}
	type outcome struct {
		status     int
		retryAfter string
		took       time.Duration
		err        error
	}
	outcomes := make([]outcome, flood)
	var wg sync.WaitGroup
	for i := range flood {
		wg.Go(func() {
			start := time.Now()
			resp, err := post(loginForm(fmt.Sprintf("flood%d@example.com", i)))
			if err != nil {
				outcomes[i] = outcome{err: err}
				return
			}
			resp.Body.Close()
			outcomes[i] = outcome{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), took: time.Since(start)}
		})
	}
	wg.Wait()
	busy := 0
	for i, o := range outcomes {
		switch {
		case o.err != nil:
			t.Fatalf("login %d: %v", i, o.err)
		case o.status == http.StatusServiceUnavailable:
			busy++
			if o.retryAfter == "" {
				t.Errorf("login %d: 503 without Retry-After", i)
			}
			// The deadline, plus one hash that was already running
			// (a generous bound on a loaded machine).
			if o.took > timeout+10*time.Second {
				t.Errorf("login %d: 503 after %v, want soon after the %v deadline", i, o.took, timeout)
			}
		case o.status != http.StatusUnauthorized:
			t.Errorf("login %d: status %d, want 401 (unknown email) or 503", i, o.status)
		}
	}
	if busy == 0 {
		t.Fatalf("no 503 among %d concurrent logins with a %v deadline: %+v", flood, timeout, outcomes)
	}
	t.Logf("%d of %d logins got 503", busy, flood)
	// The server still serves logins.
	for range 20 {
		resp, err := post(loginForm(userEmail))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return
		}
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("login after the flood: status %d, want 200", resp.StatusCode)
		}
	}
	t.Fatal("no login succeeded after the flood")
}

// TestRequestTimeoutFlag: out-of-range values are refused at start.
func TestRequestTimeoutFlag(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	t.Parallel()
	bin := buildServer(t)
	dir := t.TempDir()
	for _, v := range []string{"-1s", "1m"} {
		e := runToExit(t, bin, nil, "-addr", "127.0.0.1:0", "-db", filepath.Join(dir, "gh.db"), "-maildir", filepath.Join(dir, "mail"), "-request-timeout", v)
		if e.code == 0 || !strings.Contains(e.stderr, "-request-timeout") {
			t.Errorf("-request-timeout %s: exit %d, stderr %q; want a refusal naming the flag", v, e.code, e.stderr)
		}
	}
}

// TestMaxConcurrentHashesFlag: a negative -max-concurrent-hashes is
// refused at start, by the flag's name.
func TestMaxConcurrentHashesFlag(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	t.Parallel()
	bin := buildServer(t)
	dir := t.TempDir()
	e := runToExit(t, bin, nil, "-addr", "127.0.0.1:0", "-db", filepath.Join(dir, "gh.db"), "-maildir", filepath.Join(dir, "mail"), "-max-concurrent-hashes", "-1")
	if e.code == 0 || !strings.Contains(e.stderr, "invalid -max-concurrent-hashes -1") {
		t.Errorf("exit %d, stderr %q; want a refusal naming the flag", e.code, e.stderr)
	}
}
