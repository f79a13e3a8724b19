package main

import (
	"bytes"
	"context"
	"regexp"
	"testing"

	"github.com/gatehouse-go/gatehouse/auth/password"
)

// The calibrate mode prints parameters that the suite's -argon2 flag and
// password.NewArgon2id accept; a target no hash meets gives the floor.
func TestCalibrateMode(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := calibrate(context.Background(), []string{"-target", "1us", "-max-memory", "12"}, &out, &errOut); err != nil {
		t.Fatalf("calibrate: %v\n%s", err, errOut.String())
	}
	m := regexp.MustCompile(`argon2id (m=\d+,t=\d+,p=\d+): one hash took`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no parameters in the output:\n%s", out.String())
	}
	p, err := parseArgon2Params(m[1])
	if err != nil {
		t.Fatal(err)
	}
	if want := (password.Argon2Params{Time: 3, MemoryKiB: 12288, Threads: 4}); p != want {
		t.Errorf("parameters %+v, want the floor %+v", p, want)
	}
	if _, err := password.NewArgon2id(p); err != nil {
		t.Errorf("NewArgon2id(%+v): %v", p, err)
	}
	if !bytes.Contains(out.Bytes(), []byte("too slow for the target")) {
		t.Errorf("no warning that the floor is over the target:\n%s", out.String())
	}
	if !bytes.Contains(out.Bytes(), []byte("-argon2 "+m[1])) {
		t.Errorf("no suite command for the parameters:\n%s", out.String())
	}
}

func TestCalibrateModeFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-max-memory", "11"},
		{"-max-memory", "1025"},
		{"-target", "0s"},
		{"extra"},
	} {
		var out, errOut bytes.Buffer
		if err := calibrate(context.Background(), args, &out, &errOut); err == nil {
			t.Errorf("calibrate %q: no error", args)
		}
	}
}
