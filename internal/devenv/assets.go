package devenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/go-logr/logr"
)

// ErrNoAssets means that no control-plane binaries were given
// ($KUBEBUILDER_ASSETS or Options.AssetsDir) and hack/envtest/build.sh, which
// builds them, was not found above the working directory. Tests skip on it.
var ErrNoAssets = errors.New("no control-plane binaries: set KUBEBUILDER_ASSETS to the folder printed by " +
	"hack/envtest/build.sh (run `make envtest` in the orgkeeper repository), or run from inside the repository")

const (
	etcdBinary              = "etcd"
	apiServerBinary         = "kube-apiserver"
	controllerManagerBinary = "kube-controller-manager"

	buildScript = "hack/envtest/build.sh"
)

// findAssets returns the folder that holds the control-plane binaries: dir if
// set, else $KUBEBUILDER_ASSETS, else what hack/envtest/build.sh prints (it
// builds the binaries on its first run, which takes minutes).
func findAssets(ctx context.Context, dir string, withControllerManager bool, log logr.Logger) (string, error) {
	source := "Options.AssetsDir"
	if dir == "" {
		dir, source = os.Getenv("KUBEBUILDER_ASSETS"), "KUBEBUILDER_ASSETS"
	}
	if dir == "" {
		script, ok := findBuildScript()
		if !ok {
			return "", ErrNoAssets
		}
		log.Info("finding the control-plane binaries (the first run builds them from Go modules, about five minutes)", "script", script)
		var out bytes.Buffer
		cmd := exec.CommandContext(ctx, "bash", script)
		cmd.Stdout = &out
		cmd.Stderr = os.Stderr // progress of a first build
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("%s failed (run `make envtest` to see why): %w", script, err)
		}
		dir, source = strings.TrimSpace(out.String()), script
	}
	want := []string{etcdBinary, apiServerBinary}
	if withControllerManager {
		want = append(want, controllerManagerBinary)
	}
	for _, name := range want {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.IsDir() {
			return "", fmt.Errorf("%s not found in %s (from %s); run `make envtest` and point KUBEBUILDER_ASSETS at the folder it prints", name, dir, source)
		}
	}
	return dir, nil
}

// findBuildScript looks for hack/envtest/build.sh in the working directory and
// its parents, so tests (run in their package's folder) and `go run` from the
// repository find it.
func findBuildScript() (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		p := filepath.Join(dir, buildScript)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}
