package auth

import (
	"encoding/base32"
	"testing"
	"time"

	"github.com/pquerna/otp"
)

// TestTOTPRFC6238Vectors: SECURITY.md #77 — the SHA-1 test vectors of RFC
// 6238 Appendix B (8 digits, 30 s steps) come out of the code path that
// checks logins.
func TestTOTPRFC6238Vectors(t *testing.T) {
	secret := base32.StdEncoding.EncodeToString([]byte("12345678901234567890"))
	for _, tc := range []struct {
		unix int64
		want string
	}{
		{59, "94287082"},
		{1111111109, "07081804"},
		{1111111111, "14050471"},
		{1234567890, "89005924"},
		{2000000000, "69279037"},
		{20000000000, "65353130"},
	} {
		got, err := totpCode(secret, tc.unix/totpPeriod, otp.DigitsEight)
		if err != nil || got != tc.want {
			t.Errorf("T=%d: %q, %v; want %q", tc.unix, got, err, tc.want)
		}
	}
}

// TestMatchTOTPWindow: SECURITY.md #77 — matchTOTP accepts the steps
// now−1, now and now+1 and reports which, and nothing further out.
func TestMatchTOTPWindow(t *testing.T) {
	secret := base32.StdEncoding.EncodeToString([]byte("12345678901234567890"))
	now := time.Unix(1111111111, 0)
	cur := now.Unix() / totpPeriod
	for d := int64(-3); d <= 3; d++ {
		code, err := totpCode(secret, cur+d, otp.DigitsSix)
		if err != nil {
			t.Fatal(err)
		}
		step, ok := matchTOTP(secret, code, now)
		want := d >= -1 && d <= 1
		if ok != want || ok && step != cur+d {
			t.Errorf("step now%+d: matched %t at %d; want %t", d, ok, step, want)
		}
	}
	for _, bad := range []string{"", "12345", "1234567", "abcdef"} {
		if _, ok := matchTOTP(secret, bad, now); ok {
			t.Errorf("matchTOTP(%q) accepted", bad)
		}
	}
}

// TestMatchTOTPPrefersLatestStep: when two neighbouring steps share a code
// (one pair in a million), the later step is reported, so a code whose
// earlier twin was used is not refused as a replay.
func TestMatchTOTPPrefersLatestStep(t *testing.T) {
	secret := base32.StdEncoding.EncodeToString([]byte("12345678901234567890"))
	// Steps 910737 and 910738 of the RFC's secret share a code (found by
	// a search over the steps from 0).
	const s int64 = 910737
	a, _ := totpCode(secret, s, otp.DigitsSix)
	b, _ := totpCode(secret, s+1, otp.DigitsSix)
	if a != b {
		t.Fatalf("steps %d and %d: codes %s and %s, want equal", s, s+1, a, b)
	}
	code, _ := totpCode(secret, s, otp.DigitsSix)
	now := time.Unix((s+1)*totpPeriod, 0) // steps s, s+1, s+2 are in the window
	step, ok := matchTOTP(secret, code, now)
	if !ok || step != s+1 {
		t.Errorf("matched %t at step %d; want step %d", ok, step, s+1)
	}
}
