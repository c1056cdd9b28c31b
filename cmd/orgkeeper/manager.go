package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/orgkeeper/orgkeeper/internal/app"
	"github.com/orgkeeper/orgkeeper/internal/clientip"
	"github.com/orgkeeper/orgkeeper/internal/controller"
)

const defaultSystemNamespace = "orgkeeper-system"

// serverFlags configure the OIDC server.
type serverFlags struct {
	issuerURL         string
	httpAddr          string
	tlsCertFile       string
	tlsKeyFile        string
	keyRotationPeriod time.Duration
	trustedProxies    string
	upstreamNetworks  string
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
	f.StringVar(&s.trustedProxies, "trusted-proxies", "",
		"OIDC server: comma-separated CIDRs (or addresses) of reverse proxies in front of it, e.g. 10.0.0.0/8. Only requests from them may name the client's address in X-Forwarded-For or Forwarded, which the sign-in limits per address use. Empty: trust none, use the connection's address")
	f.StringVar(&s.upstreamNetworks, "upstream-allowed-networks", "",
		"comma-separated CIDRs of non-public networks (private, link-local, loopback...) where organizations' identity providers may be reached, e.g. 10.20.0.0/16 for a corporate provider inside your network. Empty: providers are contacted on public addresses only, so that an organization admin cannot make the operator call the cluster's own services or a cloud metadata endpoint")
	f.DurationVar(&s.keyRotationPeriod, "key-rotation-period", controller.DefaultKeyRotationPeriod,
		"how long a signing key signs, and the server's crypto and CSRF keys are used, before the next ones take over; the previous keys stay accepted one more period")
}

// managerFlags are the flags of `orgkeeper manager`.
type managerFlags struct {
	kubeconfig              string
	systemNamespace         string
	leaderElect             bool
	leaseDuration           time.Duration
	renewDeadline           time.Duration
	retryPeriod             time.Duration
	metricsAddr             string
	metricsMaxOrgs          int
	metricsMaxClients       int
	healthAddr              string
	pprofAddr               string
	maxConcurrentReconciles int
	kubeAPIQPS              float32
	kubeAPIBurst            int
	shutdownDelay           time.Duration
	shutdownTimeout         time.Duration
	server                  serverFlags
	sessions                sessionFlags
	mail                    mailFlags
	dns                     dnsFlags
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
--leader-elect: one reconciles, all serve. Several replicas behind one
issuer need --session-store=redis, so that a sign-in started on one replica
finishes on another; the default memory store serves a single replica. The
keys that replicas must share (token signing keys, the crypto key of codes
and the CSRF key) live in Secrets in the system namespace, made and rotated
by the leader.

With --issuer-url it also serves the OIDC issuer and login pages on
--http-addr, on every replica.

Probes: GET /healthz and /readyz on --health-addr (ready once the caches are
synced and, with the issuer on, it has its first snapshot and signing keys).
Metrics: HTTPS on --metrics-addr, for callers allowed by RBAC to get the
non-resource URL /metrics.

On SIGTERM (or SIGINT) /readyz fails at once; the issuer keeps serving for
--shutdown-delay, then stops accepting connections and lets the requests in
flight finish within --shutdown-timeout before the process exits. A second
signal exits at once.`,
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
		"elect one leader among replicas to run the reconcilers (Lease "+app.LeaderElectionID+" in the system namespace)")
	f.DurationVar(&fl.leaseDuration, "leader-elect-lease-duration", 15*time.Second,
		"how long a standby replica waits after the leader's last renewal before it takes over")
	f.DurationVar(&fl.renewDeadline, "leader-elect-renew-deadline", 10*time.Second,
		"how long the leader keeps trying to renew before it gives up leading (shorter than the lease duration)")
	f.DurationVar(&fl.retryPeriod, "leader-elect-retry-period", 2*time.Second,
		"how often replicas try to acquire or renew the lease")
	f.StringVar(&fl.metricsAddr, "metrics-addr", ":8443", `address to serve Prometheus metrics on over HTTPS; "0" disables`)
	f.IntVar(&fl.metricsMaxOrgs, "metrics-max-organizations", 100,
		"distinct organizations (and identity providers) that get their own metric series; later ones are counted as \"other\". 0: none")
	f.IntVar(&fl.metricsMaxClients, "metrics-max-clients", 100,
		"distinct clients (applications) that get their own metric series; later ones are counted as \"other\". 0: none")
	f.StringVar(&fl.healthAddr, "health-addr", ":8081", `address to serve /healthz and /readyz on; "0" disables`)
	f.StringVar(&fl.pprofAddr, "pprof-addr", "",
		`address to serve Go profiling (/debug/pprof/) on, over plain HTTP and without authentication: use a loopback address, and only to measure; empty or "0" disables`)
	f.IntVar(&fl.maxConcurrentReconciles, "max-concurrent-reconciles", 16, "reconciles run in parallel, per kind")
	f.Float32Var(&fl.kubeAPIQPS, "kube-api-qps", 200, "sustained requests per second to the API server")
	f.IntVar(&fl.kubeAPIBurst, "kube-api-burst", 400, "burst of requests to the API server")
	f.DurationVar(&fl.shutdownDelay, "shutdown-delay", app.DefaultShutdownDelay,
		"on SIGTERM, how long the issuer keeps serving with /readyz failing before it stops accepting connections, so that load balancers stop sending it requests first")
	f.DurationVar(&fl.shutdownTimeout, "shutdown-timeout", app.DefaultShutdownTimeout,
		"on SIGTERM, how long requests in flight may take to finish once the issuer stops accepting connections; then they are cut off. The pod's termination grace period must exceed --shutdown-delay plus this")
	fl.server.add(cmd, ":8080")
	fl.sessions.add(cmd)
	fl.mail.add(cmd, "Empty: no mail is sent (invitations wait, and \"Forgot password?\" is not offered)")
	fl.dns.add(cmd, "host:port of the DNS server that looks up the TXT records verifying organizations' domains "+
		"(domainVerification DNS), e.g. 10.96.0.10:53; empty: the system's resolver")
	addLogFlags(cmd, &fl.log)
	return cmd
}

func runManager(ctx context.Context, fl *managerFlags) error {
	cfg, err := loadKubeconfig(fl.kubeconfig)
	if err != nil {
		return err
	}
	cfg.QPS, cfg.Burst = fl.kubeAPIQPS, fl.kubeAPIBurst
	proxies, err := clientip.ParseTrustedProxies(fl.server.trustedProxies)
	if err != nil {
		return err
	}
	upstreamNetworks, err := clientip.ParseNetworks("--upstream-allowed-networks", fl.server.upstreamNetworks)
	if err != nil {
		return err
	}
	sender, err := fl.mail.sender()
	if err != nil {
		return err
	}
	resolver, err := fl.dns.open()
	if err != nil {
		return err
	}
	sessions, closeSessions, err := fl.sessions.open(ctx)
	if err != nil {
		return err
	}
	defer closeSessions()
	mgr, _, err := app.NewManager(cfg, app.Settings{
		Controller: controller.Options{
			SystemNamespace:         fl.systemNamespace,
			MaxConcurrentReconciles: fl.maxConcurrentReconciles,
			KeyRotationPeriod:       fl.server.keyRotationPeriod,
			DomainResolver:          resolver,
			DomainRecheckPeriod:     fl.dns.recheckPeriod,
			UpstreamAllowedNetworks: upstreamNetworks,
		},
		LeaderElect:     fl.leaderElect,
		LeaseDuration:   fl.leaseDuration,
		RenewDeadline:   fl.renewDeadline,
		RetryPeriod:     fl.retryPeriod,
		MetricsAddr:     fl.metricsAddr,
		Metrics:         app.MetricsSettings{MaxOrganizations: labelCap(fl.metricsMaxOrgs), MaxClients: labelCap(fl.metricsMaxClients)},
		HealthAddr:      fl.healthAddr,
		Issuer:          fl.server.issuerURL,
		HTTPAddr:        fl.server.httpAddr,
		TLSCertFile:     fl.server.tlsCertFile,
		TLSKeyFile:      fl.server.tlsKeyFile,
		ClientIP:        proxies.ClientIP,
		Sessions:        sessions,
		Log:             ctrl.Log.WithName("oidc"),
		ShutdownDelay:   fl.shutdownDelay,
		ShutdownTimeout: fl.shutdownTimeout,
		Mail:            sender,
		InvitationTTL:   fl.mail.invitationTTL,
		PerOrganization: fl.mail.perOrg,
		ResetTTL:        fl.mail.resetTTL,
		RegistrationTTL: fl.mail.registrationTTL,
		Signup:          fl.mail.signup.options(),
		SignupTTL:       fl.mail.signup.ttl,
		PprofAddr:       fl.pprofAddr,
	})
	if err != nil {
		return err
	}
	if sender == nil {
		ctrl.Log.Info("no --smtp-host: no mail is sent; invitations wait and password resets are not offered")
	}
	if fl.server.issuerURL == "" {
		ctrl.Log.Info("no --issuer-url: the OIDC server is off, only the reconcilers run")
	}
	ctrl.Log.Info("starting the manager", "systemNamespace", fl.systemNamespace, "leaderElection", fl.leaderElect,
		"issuer", fl.server.issuerURL, "httpAddr", fl.server.httpAddr, "sessionStore", fl.sessions.store, "dnsResolver", resolver.String())
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

// labelCap turns a --metrics-max-* flag into app.MetricsSettings' terms,
// where 0 is the default and a negative number means none.
func labelCap(n int) int {
	if n <= 0 {
		return -1
	}
	return n
}
