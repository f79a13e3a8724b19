package main_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const wantHSTS = "max-age=63072000; includeSubDomains"

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key as
// PEM files in dir, and returns their paths and a pool that trusts it.
func selfSigned(t *testing.T, dir, name string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "gatehouse test " + name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, pool
}

// TestTLS: with -tls-cert and -tls-key the server speaks HTTPS only, sends
// HSTS on every answer, and its mail links use https; without them it
// sends no HSTS (checked in TestMailLinkPages); one without the other, or
// a key that is not the certificate's, is refused by name.
func TestTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	t.Parallel()
	bin := buildServer(t)
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir, "server")
	_, otherKey, _ := selfSigned(t, dir, "other")
	maildir := filepath.Join(dir, "mail")
	args := []string{"-db", filepath.Join(dir, "gh.db"), "-maildir", maildir}

	t.Run("serves HTTPS with HSTS", func(t *testing.T) {
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
		s := startWith(t, bin, client, nil, append(args, "-tls-cert", certFile, "-tls-key", keyFile, "-require-email-verification")...)
		if !strings.HasPrefix(s.url, "https://127.0.0.1:") {
			t.Fatalf("listening on %s", s.url)
		}
		r := s.call(t, "GET", "/v2/health", "", "", "")
		s.want(t, r, 200)
		if h := r.header.Get("Strict-Transport-Security"); h != wantHSTS {
			t.Errorf("HSTS %q, want %q", h, wantHSTS)
		}
		s.registerUser(t)
		link := mailLink(t, maildir, userEmail, "/verify-email")
		p := s.open(t, link) // checks that the link is under s.url, https
		if h := p.header.Get("Strict-Transport-Security"); h != wantHSTS {
			t.Errorf("HSTS on the page %q", h)
		}
		wantPage(t, s.submit(t, p, nil), 200, "verified")

		// Plain HTTP on the same port gets no answer of the API.
		resp, err := http.Get(strings.Replace(s.url, "https://", "http://", 1) + "/v2/health")
		if err == nil {
			defer resp.Body.Close()
			if resp.StatusCode == 200 {
				t.Errorf("plain HTTP was served: %d", resp.StatusCode)
			}
		}
		s.stop(t)
	})
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"certificate alone", []string{"-tls-cert", certFile}, "-tls-cert and -tls-key go together"},
		{"key alone", []string{"-tls-key", keyFile}, "-tls-cert and -tls-key go together"},
		{"key of another certificate", []string{"-tls-cert", certFile, "-tls-key", otherKey}, "-tls-cert " + certFile + ", -tls-key " + otherKey},
		{"missing file", []string{"-tls-cert", certFile + ".missing", "-tls-key", keyFile}, "no such file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := runToExit(t, bin, nil, append(append([]string{"-addr", "127.0.0.1:0"}, args...), c.args...)...)
			if e.code == 0 || !strings.Contains(e.stderr, c.want) {
				t.Fatalf("exit %d, want an error with %q:\n%s", e.code, c.want, e.stderr)
			}
		})
	}
}
