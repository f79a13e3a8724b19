package pgnotify

import (
	"fmt"
	"slices"
	"testing"

	"github.com/gatehouse-go/gatehouse/store/internal/relisten"
)

// TestPayloadsFitNotify: many keys are split into payloads under the
// NOTIFY limit that together carry every key once, in order.
func TestPayloadsFitNotify(t *testing.T) {
	var keys []string
	for i := range 2000 {
		keys = append(keys, fmt.Sprintf("s:%08d-0000-4000-8000-000000000000", i))
	}
	var got []string
	ps := payloads(keys)
	if len(ps) < 2 {
		t.Fatalf("%d payloads for 2,000 keys", len(ps))
	}
	for _, p := range ps {
		if len(p) > maxPayload {
			t.Fatalf("a payload of %d bytes", len(p))
		}
		got = append(got, relisten.Decode(p)...)
	}
	if !slices.Equal(got, keys) {
		t.Fatal("the payloads do not carry the keys in order")
	}
	if len(payloads(nil)) != 0 {
		t.Fatal("no keys gave a payload")
	}
}
