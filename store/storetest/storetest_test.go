package storetest_test

import "testing"

// TestExampleRun runs the conformance test that ExampleRun shows, so that
// the example is known to work and not only to compile.
func TestExampleRun(t *testing.T) { conformance(t) }
