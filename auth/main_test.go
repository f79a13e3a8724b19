package auth_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: the
// Manager's background mail and request work must always finish
// (SECURITY.md #75).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
