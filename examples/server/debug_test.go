package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestDebugAddrLoopbackOnly: -debug-addr refuses any address beyond
// loopback, and on loopback serves the goroutine profile the soak reads.
func TestDebugAddrLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:0", "[::]:0", "example.com:0", "nonsense"} {
		if ln, err := listenDebug(addr); err == nil {
			ln.Close()
			t.Errorf("-debug-addr %s accepted", addr)
		} else if !strings.Contains(err.Error(), "-debug-addr") {
			t.Errorf("-debug-addr %s: the error %q does not name the flag", addr, err)
		}
	}
	ln, err := listenDebug("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: debugHandler()}
	go srv.Serve(ln)
	defer srv.Close()
	resp, err := http.Get("http://" + ln.Addr().String() + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(string(b), "goroutine profile: total ") {
		t.Errorf("status %d, body %.60q", resp.StatusCode, b)
	}
}
