package password_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/auth/password"
)

// On the real machine, a target no hash can meet gives the ASVS floor (the
// cheapest parameters NewArgon2id accepts), with the time it really took.
func TestCalibrateTinyTarget(t *testing.T) {
	p, took, err := password.Calibrate(context.Background(), time.Microsecond, 12288)
	if err != nil {
		t.Fatal(err)
	}
	if want := (password.Argon2Params{Time: 3, MemoryKiB: 12288, Threads: 4}); p != want {
		t.Errorf("Calibrate = %+v, want the floor %+v", p, want)
	}
	if took <= time.Microsecond {
		t.Errorf("took %v: a 12 MiB argon2id hash cannot take under a microsecond", took)
	}
	h, err := password.NewArgon2id(p)
	if err != nil {
		t.Fatal(err)
	}
	hash, err := h.Hash("calibrated password")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Compare(hash, "calibrated password"); err != nil {
		t.Errorf("Compare: %v", err)
	}
}
