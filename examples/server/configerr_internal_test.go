package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"log/slog"
	"net"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/auth/jwt"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/store/memstore"
)

type nopSink struct{}

func (nopSink) RecordEvent(context.Context, auth.Event) {}

// everything returns options and deps with every value set, as unlike
// the defaults as the flags allow.
func everything(t *testing.T) (options, deps) {
	t.Helper()
	var o options
	fs := newFlagSet(&o)
	err := fs.Parse([]string{
		"-access-ttl", "20m", "-refresh-ttl", "48h", "-idle-timeout", "2h", "-require-email-verification", "-passwordless",
		"-base-url", "https://auth.example.com", "-smtp-from", "Example <no-reply@example.com>", "-session-cache", "30s",
		"-max-concurrent-hashes", "1",
	})
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signing, err := jwt.Ed25519Key("k1", priv)
	if err != nil {
		t.Fatal(err)
	}
	issuer, err := jwt.New(jwt.Config{Issuer: tokenName, Audience: tokenName, SigningKey: signing})
	if err != nil {
		t.Fatal(err)
	}
	d := deps{
		store: memstore.New(), counters: memstore.New(), audit: nopSink{}, mailer: mail.Discard{},
		from: mail.Address{Name: "Example", Email: "no-reply@example.com"}, key: key, factor: key, issuer: issuer,
		baseURL: o.baseURL, logger: slog.New(slog.DiscardHandler), invalidator: auth.LocalInvalidator{},
	}
	return o, d
}

// setFields returns the paths ("Config.Sessions.TTL") of the fields of c
// that are not zero, descending into the groups of package auth.
func setFields(prefix string, v reflect.Value) []string {
	var paths []string
	for i := range v.NumField() {
		f, fv := v.Type().Field(i), v.Field(i)
		path := prefix + "." + f.Name
		if fv.Kind() == reflect.Struct && f.Type.PkgPath() == reflect.TypeFor[auth.Config]().PkgPath() {
			paths = append(paths, setFields(path, fv)...)
			continue
		}
		if !fv.IsZero() {
			paths = append(paths, path)
		}
	}
	return paths
}

// TestConfigSourcesComplete: every auth.Config field the server sets is
// in configSources, so that an error about it names where it comes from;
// every flag listed exists, and every field listed is a real field.
func TestConfigSourcesComplete(t *testing.T) {
	o, d := everything(t)
	cfg := managerConfig(o, d)
	var listed []string
	for _, s := range configSources {
		listed = append(listed, s.field)
	}
	set := setFields("Config", reflect.ValueOf(cfg))
	for _, path := range set {
		if !slices.Contains(listed, path) {
			t.Errorf("managerConfig sets %s, which configSources does not list", path)
		}
	}
	fs := newFlagSet(new(options))
	for _, s := range configSources {
		if !slices.Contains(set, s.field) {
			t.Errorf("configSources lists %s, which managerConfig does not set", s.field)
		}
		for _, name := range strings.Fields(s.from) {
			if strings.HasPrefix(name, "-") && fs.Lookup(name[1:]) == nil {
				t.Errorf("%s: no flag %s", s.field, name)
			}
		}
	}
	// And the Manager takes them.
	if _, err := auth.New(cfg); err != nil {
		t.Fatal(err)
	}
}

// TestExplain: errors name flags; a field that no flag sets names the
// flags that constrain it.
func TestExplain(t *testing.T) {
	var o options
	fs := newFlagSet(&o)
	if err := fs.Parse([]string{"-refresh-ttl", "1m"}); err != nil {
		t.Fatal(err)
	}
	_, d := everything(t)
	_, err := auth.New(managerConfig(o, d))
	var ve *auth.ValidationError
	if !errors.As(err, &ve) || ve.Field != "Config.Sessions.IdleTimeout" {
		t.Fatalf("auth.New with -refresh-ttl 1m: %v", err)
	}
	const want = "invalid -idle-timeout 168h0m0s (the default): must be at least -access-ttl (15m0s), but is cut to -refresh-ttl (1m0s)"
	if got := explain(err, fs); got != want {
		t.Errorf("explain:\n got %s\nwant %s", got, want)
	}

	// Without its flag, the idle timeout is explained by the flags that
	// constrain it.
	var without []configSource
	for _, s := range configSources {
		if s.field != "Config.Sessions.IdleTimeout" {
			without = append(without, s)
		}
	}
	const wantNoFlag = "auth.Config.Sessions.IdleTimeout, which no flag sets, follows from -access-ttl and -refresh-ttl: must be at least -access-ttl (15m0s), but is cut to -refresh-ttl (1m0s)"
	if got := explainWith(err, fs, without); got != wantNoFlag {
		t.Errorf("explain without -idle-timeout:\n got %s\nwant %s", got, wantNoFlag)
	}

	for _, c := range []struct {
		err  error
		want string
	}{
		{&auth.ValidationError{Field: "Config.Limits.LoginHardStop", Reason: "must be more than Limits.LoginFreeFailures"},
			"auth.Config.Limits.LoginHardStop, which no flag sets or constrains (a bug in this server): must be more than Limits.LoginFreeFailures"},
		{&auth.ValidationError{Field: "Config.Tokens.SigningKey", Reason: "must be at least 32 random bytes"},
			"GATEHOUSE_SIGNING_KEY: must be at least 32 random bytes"},
		{&auth.ValidationError{Field: "Config.BaseURL", Reason: "must be an absolute http(s) URL"},
			`invalid -base-url "" (the default): must be an absolute http(s) URL`},
		// A request field, such as the admin's email, is not a flag's.
		{&auth.ValidationError{Field: "email", Reason: "is not an email address"}, "auth: email: is not an email address"},
		{errors.New("other"), "other"},
	} {
		if got := explain(c.err, fs); got != c.want {
			t.Errorf("explain(%v):\n got %s\nwant %s", c.err, got, c.want)
		}
	}
}

// TestListenerURL: the default base URL is the bound address, with
// localhost for an unspecified host, and https when serving TLS.
func TestListenerURL(t *testing.T) {
	for _, c := range []struct {
		addr string
		tls  bool
		want string
	}{
		{"127.0.0.1:7272", false, "http://127.0.0.1:7272"},
		{"127.0.0.1:8443", true, "https://127.0.0.1:8443"},
		{"0.0.0.0:7272", false, "http://localhost:7272"},
		{"[::]:7272", true, "https://localhost:7272"},
		{"[::1]:7272", false, "http://[::1]:7272"},
	} {
		addr, err := net.ResolveTCPAddr("tcp", c.addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := listenerURL(addr, c.tls); got != c.want {
			t.Errorf("listenerURL(%s, tls %v) = %s, want %s", c.addr, c.tls, got, c.want)
		}
	}
}

// TestPasskeyConfig: the RP ID and origin follow -base-url; a loopback
// address becomes localhost (WebAuthn refuses IP addresses), and where
// passkeys cannot work (another IP address, plain http beyond localhost)
// they stay off rather than failing the start.
func TestPasskeyConfig(t *testing.T) {
	for _, c := range []struct {
		base, rpID, origin string
	}{
		{"http://127.0.0.1:7272", "localhost", "http://localhost:7272"},
		{"http://[::1]:7272", "localhost", "http://localhost:7272"},
		{"http://localhost:7272", "localhost", "http://localhost:7272"},
		{"https://Login.Example.com", "login.example.com", "https://login.example.com"},
		{"https://example.com:8443/app", "example.com", "https://example.com:8443"},
		{"http://example.com", "", ""},
		{"https://192.0.2.7", "", ""},
		{"", "", ""},
	} {
		p := passkeyConfig(c.base)
		if p.RPID != c.rpID || (c.origin == "") != (len(p.Origins) == 0) || (c.origin != "" && p.Origins[0] != c.origin) {
			t.Errorf("passkeyConfig(%q) = %+v, want RP ID %q and origin %q", c.base, p, c.rpID, c.origin)
		}
		if p.RPID == "" {
			continue
		}
		o, d := everything(t)
		d.baseURL = c.base
		cfg := managerConfig(o, d)
		if _, err := auth.New(cfg); err != nil {
			t.Errorf("passkeyConfig(%q): New refuses it: %v", c.base, err)
		}
	}
}
