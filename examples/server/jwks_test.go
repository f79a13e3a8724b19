package main_test

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
)

// edFiles is an Ed25519 key pair written as the PEM files openssl makes.
type edFiles struct {
	priv, pub string // the files
	kid       string // the RFC 7638 thumbprint, computed by go-jose
}

func writeEdFiles(t *testing.T, dir, name string) edFiles {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p8, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	pkix, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	f := edFiles{priv: filepath.Join(dir, name+".pem"), pub: filepath.Join(dir, name+".pub.pem")}
	if err := os.WriteFile(f.priv, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix}), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	f.kid = base64.RawURLEncoding.EncodeToString(sum)
	return f
}

// jwks fetches the server's key set and returns it with its Cache-Control.
func (s *server) jwks(t *testing.T) (jose.JSONWebKeySet, string) {
	t.Helper()
	res, err := s.client.Get(s.url + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/jwk-set+json" {
		t.Fatalf("GET /.well-known/jwks.json: %d %q %s", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatalf("go-jose cannot read the JWKS: %v\n%s", err, body)
	}
	return set, res.Header.Get("Cache-Control")
}

func kidsOf(set jose.JSONWebKeySet) []string {
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.KeyID)
	}
	return kids
}

// joseVerify verifies an access token with go-jose and the key set alone,
// as another service would, and returns its kid.
func joseVerify(set jose.JSONWebKeySet, token string) (string, error) {
	tok, err := josejwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		return "", err
	}
	kid := tok.Headers[0].KeyID
	keys := set.Key(kid)
	if len(keys) != 1 {
		return kid, os.ErrNotExist
	}
	var c josejwt.Claims
	if err := tok.Claims(keys[0].Key, &c); err != nil {
		return kid, err
	}
	return kid, c.Validate(josejwt.Expected{Issuer: "gatehouse", AnyAudience: josejwt.Audience{"gatehouse"}, Time: time.Now()})
}

// TestEd25519Rotation: with -ed25519-key the server signs with Ed25519 and
// serves its JWKS, which go-jose verifies the tokens with; a rotation done
// as the README says keeps old tokens valid through the overlap, here and
// at the consumer, and the removed key's tokens then fail.
func TestEd25519Rotation(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	t.Parallel()
	bin := buildServer(t)
	dir := t.TempDir()
	oldKey, newKey := writeEdFiles(t, dir, "old"), writeEdFiles(t, dir, "new")
	args := []string{"-db", filepath.Join(dir, "gh.db"), "-maildir", filepath.Join(dir, "mail")}
	run := func(extra ...string) *server {
		t.Helper()
		return start(t, bin, nil, append(slices.Clone(args), extra...)...)
	}

	s := run("-ed25519-key", oldKey.priv)
	set, cc := s.jwks(t)
	if got := kidsOf(set); !slices.Equal(got, []string{oldKey.kid}) || cc != "public, max-age=600" {
		t.Fatalf("JWKS kids %v, Cache-Control %q", got, cc)
	}
	s.registerUser(t)
	oldTok, _ := s.login(t, userEmail, userPW)
	if kid, err := joseVerify(set, oldTok); err != nil || kid != oldKey.kid {
		t.Fatalf("go-jose: kid %q, %v", kid, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "gh.db.key")); err == nil {
		t.Error("an HS256 key file was made although -ed25519-key is given")
	}
	s.stop(t)

	// Step 1: publish the new key, verify-only.
	s = run("-ed25519-key", oldKey.priv, "-ed25519-verify-keys", newKey.pub, "-jwks-max-age", "90s")
	set, cc = s.jwks(t)
	if got := kidsOf(set); !slices.Equal(got, []string{oldKey.kid, newKey.kid}) || cc != "public, max-age=90" {
		t.Fatalf("step 1: JWKS kids %v, Cache-Control %q", got, cc)
	}
	s.stop(t)

	// Step 3: sign with the new key, keep the old one verify-only (the new
	// key's own public file, left in the list, counts once).
	s = run("-ed25519-key", newKey.priv, "-ed25519-verify-keys", oldKey.pub+","+newKey.pub)
	set, _ = s.jwks(t)
	if got := kidsOf(set); !slices.Equal(got, []string{newKey.kid, oldKey.kid}) {
		t.Fatalf("step 3: JWKS kids %v", got)
	}
	newTok, _ := s.login(t, userEmail, userPW)
	for _, c := range []struct {
		tok, kid string
	}{{oldTok, oldKey.kid}, {newTok, newKey.kid}} {
		if kid, err := joseVerify(set, c.tok); err != nil || kid != c.kid {
			t.Fatalf("step 3, go-jose: kid %q (want %q), %v", kid, c.kid, err)
		}
		s.want(t, s.call(t, "GET", "/v2/user", "", "", c.tok), 200)
	}
	s.stop(t)

	// Step 5: the old key is gone.
	s = run("-ed25519-key", newKey.priv)
	set, _ = s.jwks(t)
	if got := kidsOf(set); !slices.Equal(got, []string{newKey.kid}) {
		t.Fatalf("step 5: JWKS kids %v", got)
	}
	if _, err := joseVerify(set, oldTok); err == nil {
		t.Fatal("go-jose accepted the removed key's token")
	}
	if _, err := joseVerify(set, newTok); err != nil {
		t.Fatalf("go-jose: %v", err)
	}
	s.want(t, s.call(t, "GET", "/v2/user", "", "", oldTok), 401)
	s.want(t, s.call(t, "GET", "/v2/user", "", "", newTok), 200)
	s.stop(t)

	// Without -ed25519-key (HS256) there is no JWKS.
	s = run()
	res, err := s.client.Get(s.url + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 404 {
		t.Fatalf("HS256 server: GET /.well-known/jwks.json answered %d", res.StatusCode)
	}
}

// TestEd25519KeyErrors: bad key files and flag combinations are refused
// by name, with advice, before the server listens.
func TestEd25519KeyErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	t.Parallel()
	bin := buildServer(t)
	dir := t.TempDir()
	k := writeEdFiles(t, dir, "k")
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		env  []string
		args []string
		want []string
	}{
		{"a public key to sign with", nil, []string{"-ed25519-key", k.pub}, []string{"-ed25519-key " + k.pub, "PRIVATE KEY", "openssl genpkey -algorithm ed25519"}},
		{"not PEM", nil, []string{"-ed25519-key", garbage}, []string{"-ed25519-key " + garbage, "openssl genpkey"}},
		{"a missing file", nil, []string{"-ed25519-key", filepath.Join(dir, "none.pem")}, []string{"-ed25519-key", "no such file"}},
		{"a private key to verify with", nil, []string{"-ed25519-key", k.priv, "-ed25519-verify-keys", k.priv}, []string{"-ed25519-verify-keys " + k.priv, "public keys only", "openssl pkey"}},
		{"verify keys alone", nil, []string{"-ed25519-verify-keys", k.pub}, []string{"-ed25519-verify-keys needs -ed25519-key"}},
		{"both kinds of signing key", []string{keyVar + "=" + strings.Repeat("ab", 32)}, []string{"-ed25519-key", k.priv}, []string{"-ed25519-key and " + keyVar + " are both set"}},
		{"a max-age too long", nil, []string{"-ed25519-key", k.priv, "-jwks-max-age", "48h"}, []string{"invalid -jwks-max-age 48h0m0s: must be between 1s and 24h0m0s"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"-addr", "127.0.0.1:0", "-db", filepath.Join(dir, "gh.db"), "-maildir", filepath.Join(dir, "mail")}, c.args...)
			e := runToExit(t, bin, c.env, args...)
			if e.code == 0 || strings.Contains(e.stdout, "listening on") {
				t.Fatalf("exit %d; printed %q", e.code, e.stdout)
			}
			for _, w := range c.want {
				if !strings.Contains(e.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, e.stderr)
				}
			}
		})
	}
}

// TestReadmeEd25519Keys runs the README's key-making block, as written,
// and starts the server with the files it makes.
func TestReadmeEd25519Keys(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	t.Parallel()
	needTools(t, "bash", "openssl")
	dir := t.TempDir()
	cmd := exec.Command("bash", "-c", "set -euo pipefail\n"+readmeBlock(t, "readme-ed25519"))
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the key block failed: %v\n%s", err, out)
	}
	info, err := os.Stat(filepath.Join(dir, "ed25519.pem"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("ed25519.pem: %v, %v", info, err)
	}
	bin := buildServer(t)
	args := []string{"-db", filepath.Join(dir, "gh.db"), "-maildir", filepath.Join(dir, "mail"),
		"-ed25519-key", filepath.Join(dir, "ed25519.pem"), "-ed25519-verify-keys", filepath.Join(dir, "ed25519.pub.pem")}
	s := start(t, bin, nil, args...)
	set, _ := s.jwks(t)
	if len(set.Keys) != 1 {
		t.Fatalf("JWKS of the README's keys: %v (its public file should count once)", kidsOf(set))
	}
	s.stop(t)
	const warning = "readable by others"
	if strings.Contains(s.stderr.String(), warning) {
		t.Errorf("the README's key file draws the permission warning:\n%s", s.stderr.String())
	}
	// Without the chmod, the server warns.
	if err := os.Chmod(filepath.Join(dir, "ed25519.pem"), 0o644); err != nil {
		t.Fatal(err)
	}
	s = start(t, bin, nil, args...)
	s.stop(t)
	if !strings.Contains(s.stderr.String(), warning) {
		t.Errorf("a key file readable by others drew no warning:\n%s", s.stderr.String())
	}
}
