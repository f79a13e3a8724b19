package httpapi

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

// trickyStrings are strings whose JSON encoding needs every escape.
var trickyStrings = []string{
	"", "plain", `quote " and \ backslash`, "<script>&amp;</script>", "\x00\x01\x1f\x7f",
	"\b\f\n\r\t", "line\u2028sep\u2029para", "bad \xff utf-8 \xc3", "😀 é ß ı İ",
	"\ufffd already", "\xed\xa0\x80 surrogate bytes", "ends with \xe2\x80",
}

// TestUserEncoding: the hand-written encoding of GET /user is byte for byte
// what encoding/json writes for the same user.
func TestUserEncoding(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	pick := func() string {
		if rnd.IntN(3) == 0 {
			return ""
		}
		return trickyStrings[rnd.IntN(len(trickyStrings))]
	}
	for i := range 500 {
		u := &store.User{
			ID: pick(), Email: pick(), Name: pick(), Bio: pick(), ProfilePicture: pick(), PendingEmail: pick(),
			IsActive: rnd.IntN(2) == 0, IsSuperuser: rnd.IntN(2) == 0, IsVerified: rnd.IntN(2) == 0,
			CreatedAt: time.Unix(rnd.Int64N(4e9), rnd.Int64N(1e9)).In(time.FixedZone("X", 3600)),
			UpdatedAt: time.Unix(rnd.Int64N(4e9), 0).UTC(),
		}
		// The change is pending, expired or of unknown expiry.
		now := time.Unix(2e9, 0)
		u.PendingEmailExpiresAt = [...]time.Time{{}, now.Add(time.Hour), now.Add(-time.Hour)}[rnd.IntN(3)]
		mfa := rnd.IntN(2) == 0
		want, err := json.Marshal(envelope[userJSON]{Results: newUserJSON(u, now, mfa)})
		if err != nil {
			t.Fatal(err)
		}
		if got := appendUserResult(nil, u, now, mfa); !bytes.Equal(got, want) {
			t.Fatalf("case %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

// FuzzAppendString: appendString agrees with encoding/json on any input.
func FuzzAppendString(f *testing.F) {
	for _, s := range trickyStrings {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("%q:\n got %s\nwant %s", s, got, want)
		}
	})
}
