package devenv

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"k8s.io/client-go/tools/clientcmd"
)

// controllerManagerArgs are the flags of kube-controller-manager (1.37).
//
//   - Only the namespace controller (finishes namespace deletion: deletes
//     everything inside, then removes the kubernetes finalizer) and the
//     garbage collector (deletes objects whose owners are gone). Anything
//     else would need nodes, service-account keys or a cloud.
//   - No leader election: there is one instance, and it should start at once.
//   - Serving on a free loopback port with certificates it makes itself in
//     certDir, so Start can wait for /healthz (always allowed, no client
//     certificate needed) and nothing is written to /var/run/kubernetes.
//   - The same admin kubeconfig for delegated authentication and
//     authorization, so it does not look for in-cluster configuration.
//   - Higher client rate limits than the defaults (20/30): deleting a namespace
//     is one request per object, and tests delete many.
func controllerManagerArgs(kubeconfig, certDir string, port int) []string {
	return []string{
		"--kubeconfig=" + kubeconfig,
		"--authentication-kubeconfig=" + kubeconfig,
		"--authorization-kubeconfig=" + kubeconfig,
		"--controllers=namespace-controller,garbage-collector-controller",
		"--leader-elect=false",
		"--use-service-account-credentials=false",
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--cert-dir=" + certDir,
		"--kube-api-qps=200",
		"--kube-api-burst=400",
		"--v=1",
	}
}

// process is a child process we started ourselves, in its own process group.
type process struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed once the process has exited and been reaped
	err  error         // Wait's result, valid after done
}

func startProcess(name, path string, args []string, logFile *os.File) (*process, error) {
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	setProcAttr(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// stop sends SIGTERM to the process group, then SIGKILL after grace.
func (p *process) stop(grace time.Duration) error {
	select {
	case <-p.done:
		return nil
	default:
	}
	pid := p.cmd.Process.Pid
	if err := killGroup(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
	}
	_ = killGroup(pid, syscall.SIGKILL)
	select {
	case <-p.done:
		return fmt.Errorf("%s did not stop within %s and was killed", p.name, grace)
	case <-time.After(5 * time.Second):
		return fmt.Errorf("%s (pid %d) survived SIGKILL", p.name, pid)
	}
}

// startControllerManager runs kube-controller-manager as a cluster admin and
// waits until it reports healthy.
func (e *Env) startControllerManager(ctx context.Context, assets string, timeout time.Duration) error {
	dir := filepath.Join(e.StateDir, controllerManagerBinary)
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, "certs"), 0o700); err != nil {
		return err
	}
	// Full rights: the namespace controller deletes every kind, Orgkeeper's
	// included, which the bootstrap role system:kube-controller-manager does
	// not cover.
	cfg, err := e.AddUser("system:kube-controller-manager", "system:masters")
	if err != nil {
		return fmt.Errorf("creating the controller manager's user: %w", err)
	}
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := clientcmd.WriteToFile(kubeconfigFor(cfg, "local", "kube-controller-manager"), kubeconfig); err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	logFile, err := e.openLog(controllerManagerBinary)
	if err != nil {
		return err
	}
	args := controllerManagerArgs(kubeconfig, filepath.Join(dir, "certs"), port)
	e.log.Info("starting kube-controller-manager (namespace and garbage-collector controllers)")
	p, err := startProcess(controllerManagerBinary, filepath.Join(assets, controllerManagerBinary), args, logFile)
	if err != nil {
		return err
	}
	e.kcm = p
	e.track(&tracked{Name: controllerManagerBinary, PID: p.cmd.Process.Pid})

	if err := waitHealthy(ctx, p, fmt.Sprintf("https://127.0.0.1:%d/healthz", port), timeout); err != nil {
		return fmt.Errorf("kube-controller-manager: %w%s", err, logTail(logFile.Name()))
	}
	return nil
}

// waitHealthy polls url until it answers 200, p exits, or timeout passes.
func waitHealthy(ctx context.Context, p *process, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hc := &http.Client{
		Timeout: 2 * time.Second,
		// Loopback, and the certificate is one it made up at start.
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, //nolint:gosec
	}
	defer hc.CloseIdleConnections()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if resp, err := hc.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.done:
			return fmt.Errorf("exited before becoming healthy (%v)", p.err)
		case <-ctx.Done():
			return fmt.Errorf("not healthy at %s: %w", url, ctx.Err())
		case <-tick.C:
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
