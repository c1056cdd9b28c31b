package chart

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
	buildDir  string
)

// managerBinary builds ./cmd/orgkeeper of this repository once, in the root
// module (so with the manager's own dependency versions, not this module's).
// $ORGKEEPER_MANAGER_BINARY names a binary to test instead (such as the one
// make image puts in the image).
func managerBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("ORGKEEPER_MANAGER_BINARY"); bin != "" {
		return bin
	}
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "orgkeeper-chart-test-")
		if buildErr != nil {
			return
		}
		binary = filepath.Join(buildDir, "orgkeeper")
		cmd := exec.Command("go", "build", "-o", binary, "./cmd/orgkeeper")
		cmd.Dir = repoRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/orgkeeper: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var listeners []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range listeners {
		_ = l.Close()
	}
	return ports
}

// TestManagerBecomesReadyWithTheRenderedArguments runs the manager binary
// with exactly the arguments of the rendered Deployment (plus --kubeconfig,
// standing in for the in-cluster service account) against the test
// apiserver, and waits for the readiness the probes ask for and for the
// issuer to serve discovery at the URL the values name.
func TestManagerBecomesReadyWithTheRenderedArguments(t *testing.T) {
	ports := freePorts(t, 3)
	issuer := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	runRenderedManager(t, issuer, ports, fmt.Sprintf(`
issuer: {url: %q}
ports: {http: %d, health: %d, metrics: %d}
`, issuer, ports[0], ports[1], ports[2]))
}

// TestManagerBecomesReadyOnRedisWithTheRenderedArguments does the same for a
// three-replica render on the Redis session store, against a real
// redis-server (the manager pings Redis at start).
func TestManagerBecomesReadyOnRedisWithTheRenderedArguments(t *testing.T) {
	redisServer, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("no redis-server (Debian package redis-server)")
	}
	bin := managerBinary(t)
	if help, _ := exec.Command(bin, "manager", "--help").CombinedOutput(); !strings.Contains(string(help), "--session-store ") {
		t.Skip("this manager has no --session-store flag yet")
	}
	ports := freePorts(t, 4)
	redis := exec.Command(redisServer, "--port", strconv.Itoa(ports[3]), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := redis.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = redis.Process.Kill()
		_ = redis.Wait()
	}()
	issuer := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	runRenderedManager(t, issuer, ports, fmt.Sprintf(`
replicaCount: 3
issuer: {url: %q}
ports: {http: %d, health: %d, metrics: %d}
sessionStore: {type: redis, redis: {addr: "127.0.0.1:%d", keyPrefix: "chart-test:"}}
`, issuer, ports[0], ports[1], ports[2], ports[3]))
}

// runRenderedManager renders values, starts the manager with the rendered
// arguments and --kubeconfig, and waits until /readyz answers 200 on
// ports[1] and discovery at issuer names issuer.
func runRenderedManager(t *testing.T, issuer string, ports []int, values string) {
	t.Helper()
	runManagerWithArgs(t, issuer, ports, mustRender(t, values).managerArgs(t))
}

// runManagerWithArgs is runRenderedManager for arguments already rendered
// (and, where a test stands in for mounted volumes, rewritten).
func runManagerWithArgs(t *testing.T, issuer string, ports []int, args []string) string {
	t.Helper()
	e, c := controlPlane(t)
	ensureNamespace(t, c, releaseNamespace)
	bin := managerBinary(t)

	if !slices.Contains(args, "--issuer-url="+issuer) {
		t.Fatalf("rendered args %v lack the issuer", args)
	}

	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := e.WriteKubeconfig(kubeconfig); err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(filepath.Join(dir, "manager.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.Command(bin, append(slices.Clone(args), "--kubeconfig="+kubeconfig)...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			out, _ := os.ReadFile(logFile.Name())
			t.Logf("manager log:\n%s", tail(string(out), 60))
		}
	}()

	g := NewWithT(t)
	hc := &http.Client{Timeout: 5 * time.Second}
	readyz := fmt.Sprintf("http://127.0.0.1:%d/readyz", ports[1])
	g.Eventually(func() error {
		select {
		case err := <-exited:
			exited <- err
			return StopTrying(fmt.Sprintf("the manager exited: %v", err))
		default:
		}
		resp, err := hc.Get(readyz)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: %s", readyz, resp.Status)
		}
		return nil
	}).WithTimeout(2 * time.Minute).WithPolling(250 * time.Millisecond).Should(Succeed())

	resp, err := hc.Get(issuer + "/.well-known/openid-configuration")
	g.Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
	var discovery struct {
		Issuer string `json:"issuer"`
	}
	g.Expect(json.NewDecoder(resp.Body).Decode(&discovery)).To(Succeed())
	g.Expect(discovery.Issuer).To(Equal(issuer))
	out, err := os.ReadFile(logFile.Name())
	g.Expect(err).NotTo(HaveOccurred())
	return string(out)
}

// TestManagerAcceptsEveryRenderedArgument parses the arguments of every
// sample render with the manager's own command line: flags are parsed before
// --help is honoured, so an unknown flag or a malformed value fails. (The
// Secret files need not exist for that; reading them is the manager's start,
// which the tests that run it cover.)
func TestManagerAcceptsEveryRenderedArgument(t *testing.T) {
	bin := managerBinary(t)
	out, err := exec.Command(bin, "manager", "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("manager --help: %v\n%s", err, out)
	}
	help := string(out)
	for name, values := range sampleRenders {
		t.Run(name, func(t *testing.T) {
			args := mustRender(t, values).managerArgs(t)
			for _, a := range args[1:] {
				flag, _, _ := strings.Cut(a, "=")
				if !strings.Contains(help, flag+" ") {
					t.Errorf("the chart renders %s, which the manager does not have", flag)
				}
			}
			if t.Failed() {
				return
			}
			out, err := exec.Command(bin, append(slices.Clone(args), "--help")...).CombinedOutput()
			if err != nil {
				var exit *exec.ExitError
				if errors.As(err, &exit) {
					t.Fatalf("the manager refuses the rendered arguments %v:\n%s", args, out)
				}
				t.Fatal(err)
			}
		})
	}
}

func tail(s string, lines int) string {
	all := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}
