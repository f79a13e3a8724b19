package middleware_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them
// (SECURITY.md #75): the middleware starts none, and the Managers the tests
// build must finish their background work.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
