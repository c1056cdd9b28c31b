//go:build unix

package main

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestRenewalLockExcludesOtherProcesses: while one kubectl renews a token,
// another cannot take the lock (flock is per open file, so a second open
// stands for a second process), and can once the first is done.
func TestRenewalLockExcludesOtherProcesses(t *testing.T) {
	p := filepath.Join(t.TempDir(), "entry.lock")
	unlock, err := lockFile(p)
	if err != nil {
		t.Fatal(err)
	}
	other, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := syscall.Flock(int(other.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); !errors.Is(err, syscall.EWOULDBLOCK) {
		t.Fatalf("a second process got the lock while it was held: %v", err)
	}
	unlock()
	if err := syscall.Flock(int(other.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatalf("the lock was not released: %v", err)
	}
	if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("lock file mode: %v %v", st, err)
	}
}
