//go:build !linux

package devenv

import (
	"os"
	"os/exec"
	"syscall"
)

// Outside Linux the control plane's processes are still stopped by Stop and
// Kill, but they cannot be found through /proc: leftovers of a killed run are
// not detected, and processes are killed one by one, not by group.

func setProcAttr(*exec.Cmd) {}

func killGroup(pid int, sig syscall.Signal) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Signal(sig)
}

func alive(int) bool { return false }

func parentPID(int) int { return 0 }

func commandLine(int) []string { return nil }

func findChild(...string) int { return 0 }
