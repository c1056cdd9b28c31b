//go:build unix

package main

import (
	"os"
	"syscall"
)

// lockFile takes an exclusive lock on path (created 0600), so that two
// kubectl processes needing a new token do not both spend the same refresh
// token: the issuer rotates refresh tokens and treats a second use as a
// leak, revoking the whole sign-in.
func lockFile(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		_ = f.Close()
		return nil, err
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		_ = f.Close()
	}, nil
}
