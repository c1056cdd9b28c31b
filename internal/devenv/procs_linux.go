//go:build linux

package devenv

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// setProcAttr puts cmd in a process group of its own, so that Ctrl-C in a
// terminal reaches only us (we stop the children in order) and killGroup ends
// everything it started, and asks the kernel to kill it if we die first.
// (The kernel ties that to the thread that forked, and Go ends a thread only
// when a goroutine locked to it exits, which nothing here does.)
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// killGroup sends sig to the process group that pid leads (every process
// Start launches leads its own group).
func killGroup(pid int, sig syscall.Signal) error {
	return syscall.Kill(-pid, sig)
}

// alive reports whether pid names a running, not yet reaped process.
func alive(pid int) bool {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	// A zombie has exited: state "Z" follows the parenthesised command name.
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2] != 'Z'
	}
	return true
}

// parentPID returns pid's parent, or 0 when pid does not exist.
func parentPID(pid int) int {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0
	}
	fields := strings.Fields(string(stat[i+1:])) // state, ppid, ...
	if len(fields) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(fields[1])
	return ppid
}

// commandLine returns pid's arguments, or nil when it does not exist.
func commandLine(pid int) []string {
	raw, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil || len(raw) == 0 {
		return nil
	}
	return strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
}

// findChild returns the pid of our child process whose command line contains
// every one of marks, or 0. envtest does not tell which pids it started, so we
// recognise them by the directories and ports in their flags.
func findChild(marks ...string) int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	self := os.Getpid()
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || parentPID(pid) != self {
			continue
		}
		line := strings.Join(commandLine(pid), " ")
		found := true
		for _, m := range marks {
			if !strings.Contains(line, m) {
				found = false
				break
			}
		}
		if found {
			return pid
		}
	}
	return 0
}
