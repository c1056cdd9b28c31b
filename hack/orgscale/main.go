// Command orgscale measures how fast the operator converges a large hierarchy:
// it starts an embedded control plane, runs `orgkeeper manager` as a separate
// process, creates N organizations in a tree of the given depth all at once
// (each as soon as its parent's namespace exists), and reports the time until
// every one is Ready (namespace and RBAC in place) and the manager's peak
// resident memory.
//
//	go run ./hack/orgscale -orgs 1000 -depth 5
//
// With -profile DIR it also serves the manager's /debug/pprof on loopback and
// writes back-to-back CPU profiles and goroutine dumps of the manager, and the
// manager's log, into DIR (one profile per -profile-every), so that each phase
// of the run can be looked at with `go tool pprof`. It always prints the CPU
// seconds that the manager, kube-apiserver and etcd used (docs/scale.md).
//
// `make bench-scale` runs it for 1,000 and 10,000 organizations.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/devenv"
)

const systemNamespace = "orgkeeper-system"

var (
	managerFlags string
	profileDir   string
	profileEvery time.Duration
)

func main() {
	orgs := flag.Int("orgs", 1000, "number of organizations, the root included")
	depth := flag.Int("depth", 5, "levels of the tree, the root included")
	workers := flag.Int("workers", 32, "parallel creators")
	timeout := flag.Duration("timeout", 15*time.Minute, "give up after this long")
	flag.StringVar(&managerFlags, "manager-flags", "", "extra flags for `orgkeeper manager`, space-separated")
	flag.StringVar(&profileDir, "profile", "", "write CPU profiles and goroutine dumps into this directory")
	flag.DurationVar(&profileEvery, "profile-every", 20*time.Second, "length of each CPU profile with -profile")
	flag.Parse()
	if err := run(*orgs, *depth, *workers, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "orgscale:", err)
		os.Exit(1)
	}
}

// node is one organization of the generated tree.
type node struct{ name, parent string }

// tree lays out n organizations over depth levels with an even fan-out.
func tree(n, depth int) []node {
	fanout := 2
	for total(fanout, depth) < n {
		fanout++
	}
	out := []node{{name: "root"}}
	level := []string{"root"}
	for d := 1; d < depth && len(out) < n; d++ {
		var next []string
		for _, p := range level {
			for i := 0; i < fanout && len(out) < n; i++ {
				name := fmt.Sprintf("%s-%d", strings.TrimPrefix(p, "root"), i)
				name = "o" + name
				out = append(out, node{name: name, parent: p})
				next = append(next, name)
			}
		}
		level = next
	}
	return out
}

func total(fanout, depth int) int {
	t := 0
	for d := 0; d < depth; d++ {
		t += int(math.Pow(float64(fanout), float64(d)))
	}
	return t
}

func run(n, depth, workers int, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	stateDir, err := os.MkdirTemp("", "orgscale-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(stateDir)

	log := zap.New(zap.UseDevMode(false), zap.Level(zapcore.ErrorLevel))
	ctrllog.SetLogger(log)
	env, err := devenv.Start(ctx, devenv.Options{StateDir: stateDir, Log: log})
	if err != nil {
		return err
	}
	defer env.Stop()
	kubeconfig := filepath.Join(stateDir, "kubeconfig")
	if err := env.WriteKubeconfig(kubeconfig); err != nil {
		return err
	}
	cfg := env.Config
	cfg.QPS, cfg.Burst = 1000, 2000
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = iamv1.AddToScheme(scheme)
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: systemNamespace}}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	// The tool watches what it waits for (the organizations' namespaces and
	// Ready conditions) instead of asking the API server again and again:
	// listing every organization each poll, or retrying creates whose
	// namespace is not there yet, would be load on the API server that the
	// operator under measurement competes with.
	watched, err := cache.New(cfg, cache.Options{
		Scheme:           scheme,
		DefaultTransform: cache.TransformStripManagedFields(),
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Namespace{}: {Label: labels.SelectorFromSet(labels.Set{iamv1.LabelManagedBy: iamv1.ManagedByValue})},
		},
	})
	if err != nil {
		return err
	}
	for _, obj := range []client.Object{&corev1.Namespace{}, &iamv1.Organization{}} {
		if _, err := watched.GetInformer(ctx, obj); err != nil {
			return err
		}
	}
	go func() { _ = watched.Start(ctx) }()
	if !watched.WaitForCacheSync(ctx) {
		return errors.New("the tool's watches did not sync")
	}

	bin := filepath.Join(stateDir, "orgkeeper")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/orgkeeper")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building orgkeeper: %w", err)
	}
	logDir := stateDir
	if profileDir != "" {
		logDir = profileDir // kept after the run, beside the profiles
		if err := os.MkdirAll(profileDir, 0o755); err != nil {
			return err
		}
	}
	mgrLog, err := os.Create(filepath.Join(logDir, "manager.log"))
	if err != nil {
		return err
	}
	args := []string{"manager", "--kubeconfig", kubeconfig, "--metrics-addr", "0",
		"--health-addr", "127.0.0.1:0", "--system-namespace", systemNamespace}
	pprofAddr := ""
	if profileDir != "" {
		if pprofAddr, err = freeLoopbackAddr(); err != nil {
			return err
		}
		args = append(args, "--pprof-addr", pprofAddr)
	}
	args = append(args, strings.Fields(managerFlags)...)
	mgr := exec.CommandContext(ctx, bin, args...)
	mgr.Stdout, mgr.Stderr = mgrLog, mgrLog
	if err := mgr.Start(); err != nil {
		return err
	}
	defer func() { _ = mgr.Process.Kill(); _ = mgr.Wait() }()
	procs := map[string]int{"manager": mgr.Process.Pid}
	for _, pid := range env.PIDs() {
		procs[processName(pid)] = pid
	}
	cpuBefore := map[string]float64{}
	for name, pid := range procs {
		cpuBefore[name] = cpuSeconds(pid)
	}
	profCtx, stopProfiles := context.WithCancel(ctx)
	var profiles sync.WaitGroup
	defer func() { stopProfiles(); profiles.Wait() }()
	var apiserver *apiserverProfiler
	if profileDir != "" {
		if apiserver, err = newAPIServerProfiler(cfg); err != nil {
			return err
		}
		profiles.Add(1)
		go func() {
			defer profiles.Done()
			profileLoop(profCtx, "http://"+pprofAddr, apiserver)
		}()
	}

	writesBefore, err := writeRequests(ctx, cfg)
	if err != nil {
		return err
	}
	nodes := tree(n, depth)
	fmt.Printf("creating %d organizations, %d levels, with %d workers\n", len(nodes), depth, workers)
	start := time.Now()
	work := make(chan node)
	var created atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for nd := range work {
				if err := create(ctx, c, watched, nd); err != nil {
					errs <- err
					return
				}
				created.Add(1)
			}
		}()
	}
	go func() {
		defer close(work)
		for _, nd := range nodes {
			select {
			case work <- nd:
			case <-ctx.Done():
				return
			}
		}
	}()

	var peak atomic.Int64
	go func() {
		for ctx.Err() == nil {
			if kb := rssKB(mgr.Process.Pid); kb > peak.Load() {
				peak.Store(kb)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}()

	var half time.Duration
	for {
		select {
		case err := <-errs:
			return err
		case <-ctx.Done():
			return fmt.Errorf("timed out: %w (manager log: %s)", ctx.Err(), mgrLog.Name())
		case <-time.After(2 * time.Second):
		}
		list := &iamv1.OrganizationList{}
		if err := watched.List(ctx, list, client.UnsafeDisableDeepCopy); err != nil {
			return err
		}
		ready := 0
		for i := range list.Items {
			if meta.IsStatusConditionTrue(list.Items[i].Status.Conditions, iamv1.ConditionReady) {
				ready++
			}
		}
		fmt.Printf("%6.1fs created %d, ready %d\n", time.Since(start).Seconds(), created.Load(), ready)
		if half == 0 && 2*ready >= len(nodes) {
			half = time.Since(start)
		}
		if ready == len(nodes) {
			break
		}
	}
	elapsed := time.Since(start)
	wg.Wait()
	var cpu []string
	for _, name := range slices.Sorted(maps.Keys(procs)) {
		cpu = append(cpu, fmt.Sprintf("cpu_seconds_%s=%.1f", strings.ReplaceAll(name, "-", "_"), cpuSeconds(procs[name])-cpuBefore[name]))
	}
	writesAfter, err := writeRequests(ctx, cfg)
	if err != nil {
		return err
	}
	perOrg := printWrites(subtractCounts(writesAfter, writesBefore), len(nodes))
	fmt.Printf("RESULT orgs=%d depth=%d all_ready_seconds=%.1f half_ready_seconds=%.1f manager_peak_rss_mib=%.0f writes_per_org=%.2f %s\n",
		len(nodes), depth, elapsed.Seconds(), half.Seconds(), float64(max(peak.Load(), rssKB(mgr.Process.Pid)))/1024,
		perOrg, strings.Join(cpu, " "))
	return nil
}

// create creates one organization once its parent's namespace exists.
func create(ctx context.Context, c client.Client, watched client.Reader, nd node) error {
	ns := nd.parent
	if nd.parent == "" {
		ns = systemNamespace
	}
	for {
		if nd.parent != "" {
			// Wait in memory, on the watch, for the namespace.
			err := watched.Get(ctx, client.ObjectKey{Name: ns}, &corev1.Namespace{})
			if err != nil && !apierrors.IsNotFound(err) {
				return err
			}
			if err != nil {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(20 * time.Millisecond):
				}
				continue
			}
		}
		o := &iamv1.Organization{
			ObjectMeta: metav1.ObjectMeta{Name: nd.name, Namespace: ns},
			Spec: iamv1.OrganizationSpec{DisplayName: "Org " + nd.name,
				Admins: []iamv1.Subject{{Kind: iamv1.SubjectUser, Name: "admin@" + nd.name + ".example"}}},
		}
		err := c.Create(ctx, o)
		if err == nil || apierrors.IsAlreadyExists(err) {
			return nil
		}
		if !apierrors.IsNotFound(err) {
			return err
		}
		select { // the namespace went away again, or the watch ran ahead
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// rssKB is the peak resident set (VmHWM) of a process, in KiB.
func rssKB(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb
		}
	}
	return 0
}

// freeLoopbackAddr returns a loopback address with a port free right now.
func freeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// profileLoop writes back-to-back CPU profiles of the manager and of the
// API server, over the same periods, and a goroutine dump of the manager at
// the start of each, until ctx ends.
func profileLoop(ctx context.Context, mgrURL string, apiserver *apiserverProfiler) {
	secs := max(1, int(profileEvery.Seconds()))
	for i := 0; ctx.Err() == nil; i++ {
		save(ctx, http.DefaultClient, mgrURL+"/debug/pprof/goroutine?debug=1", fmt.Sprintf("manager-goroutines-%02d.txt", i))
		var wg sync.WaitGroup
		wg.Go(func() {
			save(ctx, apiserver.client, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", apiserver.url, secs),
				fmt.Sprintf("kube-apiserver-cpu-%02d.pb.gz", i))
		})
		save(ctx, http.DefaultClient, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", mgrURL, secs), fmt.Sprintf("manager-cpu-%02d.pb.gz", i))
		wg.Wait()
	}
}

// apiserverProfiler reaches kube-apiserver's /debug/pprof (served by
// default, to a user allowed the nonResourceURL) as the tool's own user.
type apiserverProfiler struct {
	client *http.Client
	url    string
}

func newAPIServerProfiler(cfg *rest.Config) (*apiserverProfiler, error) {
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, err
	}
	hc.Timeout = 0
	return &apiserverProfiler{client: hc, url: strings.TrimSuffix(cfg.Host, "/")}, nil
}

// save writes what url returns into profileDir/name.
func save(ctx context.Context, hc *http.Client, url, name string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return
	}
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			fmt.Fprintln(os.Stderr, "orgscale: profile:", err)
			// The manager may not listen yet: do not spin.
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
		return
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		if ctx.Err() == nil {
			fmt.Fprintln(os.Stderr, "orgscale: profile", name, resp.Status, err, string(body[:min(len(body), 200)]))
		}
		return
	}
	_ = os.WriteFile(filepath.Join(profileDir, name), body, 0o644)
}

// processName is the command name of a process (etcd, kube-apiserver).
func processName(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		return strconv.Itoa(pid)
	}
	return strings.TrimSpace(string(b))
}

// cpuSeconds is the user and system CPU time a process has used so far.
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces; the fields after it
	// start past its closing parenthesis: utime and stime are fields 14
	// and 15 of the line, 12 and 13 after the parenthesis.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ is 100 on Linux
}
