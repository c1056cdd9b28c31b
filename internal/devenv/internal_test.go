package devenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestIsReady(t *testing.T) {
	cases := []struct {
		name   string
		status map[string]any
		ready  bool
	}{
		{"an object without status is not ready", nil, false},
		{"an object with Ready=True for its generation is ready",
			map[string]any{"observedGeneration": int64(2), "conditions": []any{
				map[string]any{"type": "Ready", "status": "True"}}}, true},
		{"an object whose status is for an older generation is not ready",
			map[string]any{"observedGeneration": int64(1), "conditions": []any{
				map[string]any{"type": "Ready", "status": "True"}}}, false},
		{"an object with Ready=False is not ready",
			map[string]any{"conditions": []any{
				map[string]any{"type": "NamespaceReady", "status": "True"},
				map[string]any{"type": "Ready", "status": "False", "reason": "ParentNotReady"}}}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obj := &unstructured.Unstructured{Object: map[string]any{}}
			obj.SetGeneration(2)
			if tc.status != nil {
				obj.Object["status"] = tc.status
			}
			if got, why := isReady(obj); got != tc.ready {
				t.Errorf("isReady = %v (%s), want %v", got, why, tc.ready)
			}
		})
	}
}

func TestReapLeftoversEndsProcessesOfADeadRun(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("leftovers are found through /proc")
	}
	sleep := exec.Command("sleep", "60")
	setProcAttr(sleep)
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sleep.Process.Kill(); _ = sleep.Wait() })
	dead := exec.Command("true") // a run that has exited: its pid is the owner
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	if err := writePIDFileAs(dir, dead.Process.Pid, []*tracked{{Name: "sleep", PID: sleep.Process.Pid}}); err != nil {
		t.Fatal(err)
	}
	if err := reapLeftovers(dir, logr.Discard()); err != nil {
		t.Fatalf("reapLeftovers: %v", err)
	}
	waitGone(sleep.Process.Pid, 5*time.Second)
	if alive(sleep.Process.Pid) {
		t.Errorf("the leftover process %d is still running", sleep.Process.Pid)
	}
	if _, err := os.Stat(filepath.Join(dir, "pids.json")); !os.IsNotExist(err) {
		t.Errorf("pids.json should be gone, stat: %v", err)
	}
}

func TestReapLeftoversRefusesADirectoryInUse(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("leftovers are found through /proc")
	}
	// A live run: a shell that started a sleep and waits for it.
	owner := exec.Command("sh", "-c", "sleep 60 & echo $!; wait")
	setProcAttr(owner)
	out, err := owner.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := owner.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = killGroup(owner.Process.Pid, 9); _ = owner.Wait() })
	var child int
	buf := make([]byte, 32)
	n, _ := out.Read(buf)
	for _, b := range buf[:n] {
		if b >= '0' && b <= '9' {
			child = child*10 + int(b-'0')
		}
	}

	// The shell prints the child's pid as it forks; wait until the child has
	// become `sleep`, which is what reapLeftovers recognises.
	for deadline := time.Now().Add(10 * time.Second); !isBinary(child, "sleep"); {
		if time.Now().After(deadline) {
			t.Fatalf("child %d never became sleep", child)
		}
		time.Sleep(10 * time.Millisecond)
	}
	dir := t.TempDir()
	if err := writePIDFileAs(dir, owner.Process.Pid, []*tracked{{Name: "sleep", PID: child}}); err != nil {
		t.Fatal(err)
	}
	if err := reapLeftovers(dir, logr.Discard()); err == nil {
		t.Fatal("reapLeftovers should refuse a state directory whose run is alive")
	}
	if !alive(child) {
		t.Error("the live run's process was killed")
	}
}
