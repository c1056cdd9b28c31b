package devenv

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
)

// pidRecord is the content of <state dir>/pids.json: who started which
// processes, so that a Start after a killed run can end them.
type pidRecord struct {
	Owner     int        `json:"owner"`
	Processes []*tracked `json:"processes"`
}

func pidFile(stateDir string) string { return filepath.Join(stateDir, "pids.json") }

func writePIDFile(stateDir string, procs []*tracked) error {
	return writePIDFileAs(stateDir, os.Getpid(), procs)
}

func writePIDFileAs(stateDir string, owner int, procs []*tracked) error {
	data, err := json.MarshalIndent(pidRecord{Owner: owner, Processes: procs}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(pidFile(stateDir), data, 0o644)
}

// reapLeftovers ends the processes that a killed run with the same state
// directory left behind (etcd and kube-apiserver keep running when their
// parent dies), and removes their temporary directories. It refuses to touch
// processes whose parent is still the run that started them: that run is
// alive and using the directory.
func reapLeftovers(stateDir string, log logr.Logger) error {
	data, err := os.ReadFile(pidFile(stateDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var rec pidRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		log.Info("ignoring an unreadable pid file", "file", pidFile(stateDir), "error", err.Error())
		return os.Remove(pidFile(stateDir))
	}
	for _, p := range rec.Processes {
		if p == nil || !alive(p.PID) || !isBinary(p.PID, p.Name) {
			continue // gone, or the pid now belongs to something else
		}
		if rec.Owner != os.Getpid() && parentPID(p.PID) == rec.Owner {
			return fmt.Errorf("state directory %s is in use by process %d (another `orgkeeper dev`?); "+
				"stop it or use another --state-dir", stateDir, rec.Owner)
		}
		log.Info("ending a process left behind by an earlier run", "name", p.Name, "pid", p.PID)
		_ = killGroup(p.PID, syscall.SIGKILL)
		waitGone(p.PID, 5*time.Second)
	}
	for _, p := range rec.Processes {
		if p != nil && isTempDir(p.Dir) {
			_ = os.RemoveAll(p.Dir)
		}
	}
	return os.Remove(pidFile(stateDir))
}

// isBinary reports whether pid runs the program called name.
func isBinary(pid int, name string) bool {
	args := commandLine(pid)
	return len(args) > 0 && filepath.Base(args[0]) == name
}

// isTempDir reports whether dir is one of envtest's temporary directories,
// the only ones reapLeftovers may remove.
func isTempDir(dir string) bool {
	return dir != "" && filepath.Dir(dir) == filepath.Clean(os.TempDir()) &&
		strings.HasPrefix(filepath.Base(dir), "k8s_test_framework_")
}

// logTail returns the last lines of a log file, formatted to follow an error
// message, or "" when there is nothing to show.
func logTail(path string) string {
	data, err := os.ReadFile(path)
	if err != nil || len(bytes.TrimSpace(data)) == 0 {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return fmt.Sprintf("\n--- last lines of %s:\n%s", path, strings.Join(lines, "\n"))
}
