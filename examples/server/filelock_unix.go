//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package main

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// fileLocks reports whether this platform has lockFile (flock(2)).
const fileLocks = true

// lockFile opens the file at path, creating it (mode 0600) if need be, and
// takes a flock(2) lock on it without waiting: exclusive, or shared with
// other shared holders. It returns errLocked when another open file (this
// process's or another's) holds a conflicting lock. The lock lasts until
// the returned file is closed, or the process ends, however it ends: the
// kernel releases it, so a crash leaves no stale lock behind. The file
// itself stays (removing it would let a process that opened the old one
// and one that creates a new one both hold "the" lock).
func lockFile(path string, exclusive bool) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	for {
		err = syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errLocked
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return f, nil
}
