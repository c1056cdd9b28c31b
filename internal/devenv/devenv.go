package devenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/orgkeeper/orgkeeper/config"
)

// Options configure Start.
type Options struct {
	// StateDir receives the components' logs (logs/*.log), the controller
	// manager's kubeconfig and the pids of the running processes. Empty: a
	// temporary directory that Stop removes. etcd's data and the API server's
	// certificates live in temporary directories either way and are removed by
	// Stop: every Start begins with an empty cluster.
	StateDir string
	// AssetsDir holds etcd, kube-apiserver and kube-controller-manager. Empty:
	// $KUBEBUILDER_ASSETS, else the folder hack/envtest/build.sh prints.
	AssetsDir string
	// WithControllerManager also runs kube-controller-manager with the
	// namespace and garbage-collector controllers, so deleted namespaces go
	// away and owned objects follow their owners.
	WithControllerManager bool
	// CRDs replaces the CRDs that Start installs; nil means the embedded
	// ones of this build. The upgrade test starts with an earlier
	// release's CRDs.
	CRDs []*apiextensionsv1.CustomResourceDefinition
	// StartTimeout bounds the start of each component. Default 60s.
	StartTimeout time.Duration
	// Log receives progress messages. Default: discarded.
	Log logr.Logger
	// AuthenticationConfig, if set, is an AuthenticationConfiguration
	// (kubeauth.ConfigurationYAML) for kube-apiserver's
	// --authentication-config, written to <state-dir>/authentication-config.yaml:
	// it makes the API server trust an issuer's tokens.
	AuthenticationConfig []byte
}

// Env is a running control plane.
type Env struct {
	// Config authenticates as a cluster administrator (group system:masters).
	Config *rest.Config
	// StateDir is the directory of Options.StateDir (absolute), or the
	// temporary one used instead.
	StateDir string

	log       logr.Logger
	tempState bool
	testEnv   *envtest.Environment
	kcm       *process
	logFiles  []*os.File

	mu    sync.Mutex
	procs []*tracked // every process we started, for Kill and the pid file

	stopOnce sync.Once
	stopErr  error
}

// tracked is a process that Start launched.
type tracked struct {
	Name string `json:"name"`
	PID  int    `json:"pid"`
	// Dir is the temporary directory the process works in, removed when a
	// later Start cleans up after a killed run.
	Dir string `json:"dir,omitempty"`
}

// Start launches etcd and kube-apiserver (RBAC authorization on), installs
// Orgkeeper's CRDs (waiting until they are established) and the
// orgkeeper-org-admin ClusterRole, and with WithControllerManager starts
// kube-controller-manager. On error, everything already started is stopped.
// ctx bounds the start only; the processes run until Stop or Kill.
func Start(ctx context.Context, opts Options) (_ *Env, retErr error) {
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 60 * time.Second
	}
	if opts.Log.GetSink() == nil {
		opts.Log = logr.Discard()
	}
	e := &Env{log: opts.Log}
	if err := e.prepareStateDir(opts.StateDir); err != nil {
		return nil, err
	}
	defer func() {
		if retErr != nil {
			retErr = errors.Join(retErr, e.Stop())
		}
	}()

	assets, err := findAssets(ctx, opts.AssetsDir, opts.WithControllerManager, opts.Log)
	if err != nil {
		return nil, err
	}
	crds := opts.CRDs
	if crds == nil {
		if crds, err = config.CRDs(); err != nil {
			return nil, fmt.Errorf("reading the embedded CRDs: %w", err)
		}
	}
	etcdLog, err := e.openLog(etcdBinary)
	if err != nil {
		return nil, err
	}
	apiLog, err := e.openLog(apiServerBinary)
	if err != nil {
		return nil, err
	}

	apiServer := &envtest.APIServer{Out: apiLog, Err: apiLog}
	// envtest defaults to RBAC, but say so: tests rely on SubjectAccessReviews
	// and on requests as non-admin users being authorized by RBAC.
	apiServer.Configure().Set("authorization-mode", "RBAC")
	if len(opts.AuthenticationConfig) > 0 {
		if err := e.configureAuthentication(apiServer, opts.AuthenticationConfig); err != nil {
			return nil, err
		}
	}
	e.testEnv = &envtest.Environment{
		BinaryAssetsDirectory: assets,
		UseExistingCluster:    ptr.To(false), // ignore USE_EXISTING_CLUSTER
		ControlPlane: envtest.ControlPlane{
			Etcd:      &envtest.Etcd{Out: etcdLog, Err: etcdLog},
			APIServer: apiServer,
		},
		ControlPlaneStartTimeout: opts.StartTimeout,
		ControlPlaneStopTimeout:  20 * time.Second,
		CRDInstallOptions: envtest.CRDInstallOptions{
			CRDs:    crds,
			MaxTime: opts.StartTimeout,
		},
	}
	opts.Log.Info("starting etcd and kube-apiserver", "binaries", assets, "logs", filepath.Join(e.StateDir, "logs"))
	started := time.Now()
	cfg, err := e.testEnv.Start()
	e.trackControlPlane()
	if err != nil {
		return nil, fmt.Errorf("starting the control plane: %w%s%s", err,
			logTail(filepath.Join(e.StateDir, "logs", etcdBinary+".log")),
			logTail(filepath.Join(e.StateDir, "logs", apiServerBinary+".log")))
	}
	e.Config = cfg
	opts.Log.Info("control plane started", "url", cfg.Host, "took", time.Since(started).Round(time.Millisecond))

	if err := e.installOrgAdminRole(ctx); err != nil {
		return nil, err
	}
	if opts.WithControllerManager {
		if err := e.startControllerManager(ctx, assets, opts.StartTimeout); err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return e, nil
}

// prepareStateDir creates the state directory and ends what a killed earlier
// run left behind in it.
func (e *Env) prepareStateDir(dir string) error {
	if dir == "" {
		tmp, err := os.MkdirTemp("", "orgkeeper-devenv-")
		if err != nil {
			return err
		}
		e.StateDir, e.tempState = tmp, true
		return nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(abs, "logs"), 0o755); err != nil {
		return err
	}
	e.StateDir = abs
	return reapLeftovers(abs, e.log)
}

func (e *Env) openLog(name string) (*os.File, error) {
	dir := filepath.Join(e.StateDir, "logs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		return nil, err
	}
	e.logFiles = append(e.logFiles, f)
	return f, nil
}

// trackControlPlane finds the pids of etcd and kube-apiserver, which envtest
// does not expose, by the temporary directories in their flags.
func (e *Env) trackControlPlane() {
	cp := e.testEnv.ControlPlane
	if cp.Etcd != nil && cp.Etcd.DataDir != "" {
		if pid := findChild(etcdBinary, "--data-dir="+cp.Etcd.DataDir); pid != 0 {
			e.track(&tracked{Name: etcdBinary, PID: pid, Dir: cp.Etcd.DataDir})
		}
	}
	if cp.APIServer != nil && cp.APIServer.CertDir != "" {
		if pid := findChild(apiServerBinary, "--cert-dir="+cp.APIServer.CertDir); pid != 0 {
			e.track(&tracked{Name: apiServerBinary, PID: pid, Dir: cp.APIServer.CertDir})
		}
	}
}

func (e *Env) track(p *tracked) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.procs = append(e.procs, p)
	if err := writePIDFile(e.StateDir, e.procs); err != nil {
		e.log.Error(err, "recording the control plane's pids; a killed run may leave processes behind")
	}
}

// PIDs returns the process ids of the processes Start launched (each leads
// its own process group).
func (e *Env) PIDs() []int {
	e.mu.Lock()
	defer e.mu.Unlock()
	pids := make([]int, 0, len(e.procs))
	for _, p := range e.procs {
		pids = append(pids, p.PID)
	}
	return pids
}

// installOrgAdminRole creates or replaces the ClusterRole orgkeeper-org-admin
// that the operator binds for delegated administrators.
func (e *Env) installOrgAdminRole(ctx context.Context) error {
	role, err := config.OrgAdminRole()
	if err != nil {
		return err
	}
	c, err := client.New(e.Config, client.Options{})
	if err != nil {
		return err
	}
	err = c.Create(ctx, role)
	if apierrors.IsAlreadyExists(err) {
		err = c.Update(ctx, role)
	}
	if err != nil {
		return fmt.Errorf("installing ClusterRole %s: %w", role.Name, err)
	}
	policies, err := config.Policies()
	if err != nil {
		return err
	}
	for _, p := range policies {
		if err := c.Create(ctx, p); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("installing %s %s: %w", p.GetKind(), p.GetName(), err)
		}
	}
	return waitForOrganizationAdmission(ctx, c)
}

// waitForOrganizationAdmission waits until the API server admits an
// Organization. The finalizer policy (a MutatingAdmissionPolicy) needs the
// schema of the new CRD, which the API server loads a moment after the CRD
// is established; until then it refuses creates with 503 ("There can be a
// delay between when CustomResourceDefinitions are created and when they
// are available"). A dry run goes through admission and stores nothing.
func waitForOrganizationAdmission(ctx context.Context, c client.Client) error {
	probe := &unstructured.Unstructured{}
	probe.SetAPIVersion("iam.orgkeeper.io/v1alpha1")
	probe.SetKind("Organization")
	probe.SetNamespace(metav1.NamespaceDefault)
	probe.SetName("devenv-probe")
	_ = unstructured.SetNestedField(probe.Object, "devenv probe", "spec", "displayName")
	var last error
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		last = c.Create(ctx, probe.DeepCopy(), client.DryRunAll)
		// Any answer but "unavailable" means admission ran (a validation
		// error of the probe is fine).
		return !apierrors.IsServiceUnavailable(last) && !apierrors.IsNotFound(last) && !meta.IsNoMatchError(last), nil
	})
	if err != nil {
		return fmt.Errorf("the API server does not admit Organizations yet: %w (last answer: %v)", err, last)
	}
	return nil
}

// AddUser returns a config that authenticates as the given user and groups,
// with no rights until RBAC grants some.
func (e *Env) AddUser(name string, groups ...string) (*rest.Config, error) {
	u, err := e.testEnv.AddUser(envtest.User{Name: name, Groups: groups}, rest.CopyConfig(e.Config))
	if err != nil {
		return nil, err
	}
	return u.Config(), nil
}

// WriteKubeconfig writes a kubeconfig for the administrator to path (mode
// 0600), for kubectl --kubeconfig and other tools.
func (e *Env) WriteKubeconfig(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return clientcmd.WriteToFile(kubeconfigFor(e.Config, "orgkeeper-dev", "admin"), path)
}

func kubeconfigFor(cfg *rest.Config, cluster, user string) clientcmdapi.Config {
	return clientcmdapi.Config{
		Clusters: map[string]*clientcmdapi.Cluster{cluster: {
			Server:                   cfg.Host,
			CertificateAuthorityData: cfg.CAData,
		}},
		AuthInfos: map[string]*clientcmdapi.AuthInfo{user: {
			ClientCertificateData: cfg.CertData,
			ClientKeyData:         cfg.KeyData,
			Token:                 cfg.BearerToken,
		}},
		Contexts: map[string]*clientcmdapi.Context{cluster: {
			Cluster:   cluster,
			AuthInfo:  user,
			Namespace: "default",
		}},
		CurrentContext: cluster,
	}
}

// Stop ends kube-controller-manager, kube-apiserver and etcd, in that order,
// waiting for each to exit (killing it after a grace period), and removes
// their temporary directories. It is safe to call more than once and from
// several goroutines; later calls return the first call's result.
func (e *Env) Stop() error {
	e.stopOnce.Do(func() { e.stopErr = e.stop() })
	return e.stopErr
}

func (e *Env) stop() error {
	e.log.Info("stopping the control plane")
	var errs []error
	if e.kcm != nil {
		if err := e.kcm.stop(10 * time.Second); err != nil {
			errs = append(errs, fmt.Errorf("stopping kube-controller-manager: %w", err))
		}
	}
	if e.testEnv != nil {
		if err := e.testEnv.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("stopping the control plane: %w", err))
		}
	}
	// envtest gives up on a process that ignores SIGTERM; make sure nothing
	// survives.
	for _, p := range e.tracked() {
		if alive(p.PID) {
			_ = killGroup(p.PID, syscall.SIGKILL)
			waitGone(p.PID, 5*time.Second)
		}
	}
	for _, f := range e.logFiles {
		_ = f.Close()
	}
	_ = os.Remove(pidFile(e.StateDir))
	if e.tempState {
		if err := os.RemoveAll(e.StateDir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Kill ends every process Start launched at once with SIGKILL, without
// cleaning up. For a second Ctrl-C while Stop is slow; Stop may still run.
func (e *Env) Kill() {
	for _, p := range e.tracked() {
		_ = killGroup(p.PID, syscall.SIGKILL)
	}
}

func (e *Env) tracked() []*tracked {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]*tracked(nil), e.procs...)
}

// waitGone waits until pid has exited or timeout has passed.
func waitGone(pid int, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for alive(pid) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
}
