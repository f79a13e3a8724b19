package httpapi_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them
// (SECURITY.md #75): handlers whose store blocks must return when their
// context ends, and every server and Manager the tests start must stop.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
