package authtest_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: the
// kit's Cleanup must finish the Manager's background work.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
