package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/orgkeeper/orgkeeper/internal/controller"
)

const (
	defaultSystemNamespace = "orgkeeper-system"
	leaderElectionID       = "orgkeeper-leader"
)

// serverFlags configure the OIDC server. They are accepted and documented
// now so that manifests can set them; the server reads them once it ships.
type serverFlags struct {
	issuerURL   string
	httpAddr    string
	tlsCertFile string
	tlsKeyFile  string
	dnsResolver string
}

func (s *serverFlags) add(cmd *cobra.Command, httpAddr string) {
	f := cmd.Flags()
	f.StringVar(&s.issuerURL, "issuer-url", "",
		"OIDC server: the issuer URL that tokens carry and clients discover, e.g. https://login.example.com. HTTPS, except on loopback")
	f.StringVar(&s.httpAddr, "http-addr", httpAddr,
		"OIDC server: address to serve the issuer, login pages and OAuth endpoints on")
	f.StringVar(&s.tlsCertFile, "tls-cert-file", "",
		"OIDC server: PEM certificate (chain) to serve HTTPS with; without it the server speaks plain HTTP (for a TLS-terminating proxy)")
	f.StringVar(&s.tlsKeyFile, "tls-key-file", "", "OIDC server: PEM private key of --tls-cert-file")
	f.StringVar(&s.dnsResolver, "dns-resolver", "",
		"DNS server (host:port) for domain verification TXT lookups. Default: the system's resolver")
}

// managerFlags are the flags of `orgkeeper manager`.
type managerFlags struct {
	kubeconfig              string
	systemNamespace         string
	leaderElect             bool
	metricsAddr             string
	healthAddr              string
	maxConcurrentReconciles int
	kubeAPIQPS              float32
	kubeAPIBurst            int
	server                  serverFlags
	log                     zap.Options
}

func newManagerCommand() *cobra.Command {
	fl := &managerFlags{}
	cmd := &cobra.Command{
		Use:   "manager",
		Short: "Run the operator (in a cluster, or against --kubeconfig)",
		Long: `Run the Orgkeeper operator: it reconciles Organizations, OrgUsers,
SharedApplications and IdentityProviders into namespaces, RBAC and the
configuration of the OIDC server.

Inside a cluster it uses its service account. Outside, it uses --kubeconfig,
else $KUBECONFIG, else ~/.kube/config. The CRDs and the system namespace must
exist (the manifests in config/ create them). Run several replicas with
--leader-elect: one reconciles, all serve.

Probes: GET /healthz and /readyz on --health-addr (ready once the caches are
synced). Metrics: HTTPS on --metrics-addr, for callers allowed by RBAC to get
the non-resource URL /metrics.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			setupLogging(&fl.log)
			ctx, _ := notifyInterrupts()
			return runManager(ctx, fl)
		},
	}
	f := cmd.Flags()
	f.StringVar(&fl.kubeconfig, "kubeconfig", "",
		"kubeconfig to reach the API server. Default: in-cluster config, else $KUBECONFIG, else ~/.kube/config")
	f.StringVar(&fl.systemNamespace, "system-namespace", defaultSystemNamespace,
		"namespace of the operator, the root Organization, signing keys and users' credentials")
	f.BoolVar(&fl.leaderElect, "leader-elect", false,
		"elect one leader among replicas to run the reconcilers (Lease "+leaderElectionID+" in the system namespace)")
	f.StringVar(&fl.metricsAddr, "metrics-addr", ":8443", `address to serve Prometheus metrics on over HTTPS; "0" disables`)
	f.StringVar(&fl.healthAddr, "health-addr", ":8081", `address to serve /healthz and /readyz on; "0" disables`)
	f.IntVar(&fl.maxConcurrentReconciles, "max-concurrent-reconciles", 16, "reconciles run in parallel, per kind")
	f.Float32Var(&fl.kubeAPIQPS, "kube-api-qps", 200, "sustained requests per second to the API server")
	f.IntVar(&fl.kubeAPIBurst, "kube-api-burst", 400, "burst of requests to the API server")
	fl.server.add(cmd, ":8080")
	addLogFlags(cmd, &fl.log)
	return cmd
}

func runManager(ctx context.Context, fl *managerFlags) error {
	cfg, err := loadKubeconfig(fl.kubeconfig)
	if err != nil {
		return err
	}
	cfg.QPS, cfg.Burst = fl.kubeAPIQPS, fl.kubeAPIBurst
	mgr, err := newManager(cfg, managerSettings{
		controller: controller.Options{
			SystemNamespace:         fl.systemNamespace,
			MaxConcurrentReconciles: fl.maxConcurrentReconciles,
		},
		leaderElect: fl.leaderElect,
		metricsAddr: fl.metricsAddr,
		healthAddr:  fl.healthAddr,
	})
	if err != nil {
		return err
	}
	logServerFlags(fl.server)
	ctrl.Log.Info("starting the manager", "systemNamespace", fl.systemNamespace, "leaderElection", fl.leaderElect)
	return mgr.Start(ctx)
}

func loadKubeconfig(path string) (*rest.Config, error) {
	if path == "" {
		return ctrl.GetConfig()
	}
	rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: path}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("loading --kubeconfig %s: %w", path, err)
	}
	return cfg, nil
}

// logServerFlags says what becomes of the OIDC server's flags.
func logServerFlags(s serverFlags) {
	if s.issuerURL != "" || s.tlsCertFile != "" || s.dnsResolver != "" {
		ctrl.Log.Info("the OIDC server is not part of this build; its flags are accepted and not used yet",
			"issuerURL", s.issuerURL, "httpAddr", s.httpAddr)
	}
}

// managerSettings are what `manager` and `dev` choose differently.
type managerSettings struct {
	controller  controller.Options
	leaderElect bool
	metricsAddr string
	healthAddr  string
}

// newManager builds the controller-runtime manager with every reconciler,
// health and readiness checks, metrics and leader election.
func newManager(cfg *rest.Config, s managerSettings) (manager.Manager, error) {
	scheme, err := newScheme()
	if err != nil {
		return nil, err
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme: scheme,
		Cache:  controller.CacheOptions(s.controller),
		Metrics: metricsserver.Options{
			BindAddress:    s.metricsAddr,
			SecureServing:  true,
			FilterProvider: filters.WithAuthenticationAndAuthorization,
			// HTTP/1.1 only: HTTP/2 exposes the server to rapid-reset and
			// stream-cancellation attacks (CVE-2023-44487, CVE-2023-39325).
			TLSOpts: []func(*tls.Config){func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} }},
		},
		HealthProbeBindAddress:        s.healthAddr,
		LeaderElection:                s.leaderElect,
		LeaderElectionID:              leaderElectionID,
		LeaderElectionNamespace:       s.controller.SystemNamespace,
		LeaderElectionReleaseOnCancel: true,
	})
	if err != nil {
		return nil, fmt.Errorf("creating the manager: %w", err)
	}
	if err := controller.SetupWithManager(mgr, s.controller); err != nil {
		return nil, err
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return nil, err
	}
	if err := mgr.AddReadyzCheck("caches", cachesSynced(mgr)); err != nil {
		return nil, err
	}
	return mgr, nil
}

// cachesSynced is ready once the manager's informers have synced.
func cachesSynced(mgr manager.Manager) healthz.Checker {
	return func(req *http.Request) error {
		ctx, cancel := context.WithTimeout(req.Context(), time.Second)
		defer cancel()
		if !mgr.GetCache().WaitForCacheSync(ctx) {
			return errors.New("informer caches are not synced yet")
		}
		return nil
	}
}
