//go:build !cgo

package mattn_test

// cgo tells whether this test binary was built with cgo, which the driver
// needs; without it the driver only returns errors.
const cgo = false
