package outbox

import (
	"fmt"
	"testing"
	"time"
)

// retryDelay doubles per attempt up to maxRetryDelay and takes off a random
// part of up to half: the n-th wait lies in [d/2, d] for d = base·2^(n−1).
func TestRetryDelay(t *testing.T) {
	tests := []struct {
		base    time.Duration
		attempt int
		max     time.Duration // d
	}{
		{2 * time.Second, 1, 2 * time.Second},
		{2 * time.Second, 2, 4 * time.Second},
		{2 * time.Second, 3, 8 * time.Second},
		{2 * time.Second, 12, maxRetryDelay},
		{time.Hour, 1, time.Hour},
		{time.Hour, 20, maxRetryDelay},
		{time.Millisecond, 40, maxRetryDelay},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v/%d", tt.base, tt.attempt), func(t *testing.T) {
			seen := map[time.Duration]bool{}
			for range 200 {
				d := retryDelay(tt.base, tt.attempt)
				if d < tt.max/2 || d > tt.max {
					t.Fatalf("retryDelay = %v, want within [%v, %v]", d, tt.max/2, tt.max)
				}
				seen[d] = true
			}
			// Jitter: 200 draws from a range this wide are not all equal.
			if len(seen) < 2 {
				t.Errorf("200 delays were all %v: no jitter", retryDelay(tt.base, tt.attempt))
			}
		})
	}
}
