//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package main

import (
	"errors"
	"fmt"
	"os"
)

// errNoFileLocks is lockFile's answer on this platform.
var errNoFileLocks = errors.New("no file locks on this platform")

// fileLocks reports whether this platform has lockFile: not here (Windows
// among others). A SQLite file is then shared without a lock, and
// -session-cache on it needs -redis.
const fileLocks = false

// lockFile is not available on this platform.
func lockFile(path string, exclusive bool) (*os.File, error) {
	return nil, fmt.Errorf("locking %s: %w", path, errNoFileLocks)
}
