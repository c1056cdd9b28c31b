package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/orgkeeper/orgkeeper/config"
	"github.com/orgkeeper/orgkeeper/internal/app"
	"github.com/orgkeeper/orgkeeper/internal/clientip"
	"github.com/orgkeeper/orgkeeper/internal/connector"
	"github.com/orgkeeper/orgkeeper/internal/controller"
	"github.com/orgkeeper/orgkeeper/internal/devenv"
	"github.com/orgkeeper/orgkeeper/internal/dnsverify"
	"github.com/orgkeeper/orgkeeper/internal/kubeauth"
)

// devFlags are the flags of `orgkeeper dev`.
type devFlags struct {
	stateDir       string
	noSamples      bool
	httpAddr       string
	demoAddr       string
	upstreamAddr   string
	trustedProxies string
	readyTimeout   time.Duration
	sessions       sessionFlags
	mail           mailFlags
	dns            dnsFlags
	log            zap.Options
}

func newDevCommand() *cobra.Command {
	fl := &devFlags{log: devLogOptions()}
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run Orgkeeper on this machine, with no cluster",
		Long: `Run everything on this machine: an embedded etcd, kube-apiserver and
kube-controller-manager (namespace and garbage-collector controllers), the
Orgkeeper CRDs, the operator, and the demo organizations of config/samples.

It serves the OIDC issuer and login pages on --http-addr and a demo
application that signs in through it on --demo-addr. On --upstream-addr it
runs globex's corporate identity provider, a second issuer with users of its
own: anyone signing in with a globex.example address is sent there and, the
first time, created in globex. The demo organizations'
email domains are verified over DNS as in a real installation: dev starts a
small DNS server on loopback that publishes their TXT records (or uses
--dns-resolver). The demo users and the provider's users get
fresh random passwords, printed at start (development only).

Once the issuer serves the demo world it prints one line containing
"orgkeeper dev ready", the issuer, the demo application and the path of
<state-dir>/kubeconfig, which kubectl and other tools can use:

  kubectl --kubeconfig .orgkeeper-dev/kubeconfig get organizations -A

The issuer serves HTTPS with a certificate from a CA made at each start
(<state-dir>/issuer-ca.crt; your browser warns about it once per start),
and the API server trusts its tokens: <state-dir>/kubeconfig-admins signs
in as an organization admin through the kubectl-org plugin (make dev builds
it into bin/):

  KUBECONFIG=.orgkeeper-dev/kubeconfig-admins kubectl org login

Every start begins with an empty cluster; nothing is kept after exit.
Components' logs are in <state-dir>/logs. Ctrl-C stops everything; a second
Ctrl-C kills what is still running.

The control-plane binaries come from $KUBEBUILDER_ASSETS, or are built once
by hack/envtest/build.sh when run inside the repository (` + "`make dev`" + `
does both).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			setupLogging(&fl.log)
			ctx, in := notifyInterrupts()
			return runDev(ctx, in, cmd.OutOrStdout(), fl)
		},
	}
	f := cmd.Flags()
	f.StringVar(&fl.stateDir, "state-dir", ".orgkeeper-dev", "directory for the kubeconfig, logs and mail outbox")
	f.BoolVar(&fl.noSamples, "no-samples", false, "start with no organizations instead of the demo world of config/samples")
	f.StringVar(&fl.httpAddr, "http-addr", "127.0.0.1:8080",
		"OIDC server: loopback address to serve the issuer and login pages on; the issuer URL is https://<http-addr>, its CA <state-dir>/issuer-ca.crt")
	f.StringVar(&fl.trustedProxies, "trusted-proxies", "",
		"comma-separated CIDRs (or addresses) of reverse proxies in front of the issuer; only they may name the client's address in X-Forwarded-For or Forwarded. Empty: trust none")
	f.StringVar(&fl.demoAddr, "demo-addr", "127.0.0.1:9090",
		`address of the demo application; the demo-app sample registers http://127.0.0.1:9090/callback; "" disables it`)
	f.StringVar(&fl.upstreamAddr, "upstream-addr", "127.0.0.1:9091",
		`loopback address of globex's corporate identity provider (its issuer is http://localhost:<port>); "" runs none and leaves out the sample that uses it`)
	f.DurationVar(&fl.readyTimeout, "ready-timeout", 2*time.Minute,
		"how long the demo organizations may take to become Ready before dev gives up")
	fl.sessions.add(cmd)
	fl.mail.add(cmd, "Empty: each message is written to <state-dir>/outbox/ as an .eml file, and its link is logged")
	fl.dns.add(cmd, "host:port of a DNS server to verify domains with, instead of the demo DNS server that dev starts on loopback "+
		"(it publishes the verification records of the demo organizations' domains)")
	addLogFlags(cmd, &fl.log)
	return cmd
}

func runDev(ctx context.Context, in *interrupts, out io.Writer, fl *devFlags) (retErr error) {
	log := ctrl.Log.WithName("dev")
	// The issuer speaks HTTPS, from a CA made for this run, because
	// kube-apiserver trusts https issuers only; the API server is started
	// trusting it (docs/kubectl.md).
	issuer := "https://" + fl.httpAddr
	issuerTLS, err := devenv.WriteIssuerTLS(fl.stateDir, time.Now())
	if err != nil {
		return err
	}
	authn, err := kubeauth.ConfigurationYAML(kubeauth.Options{IssuerURL: issuer, CA: issuerTLS.CA})
	if err != nil {
		return err
	}
	env, err := devenv.Start(ctx, devenv.Options{
		StateDir:              fl.stateDir,
		WithControllerManager: true,
		Log:                   log,
		AuthenticationConfig:  authn,
	})
	if err != nil {
		return ignoreCanceled(ctx, err)
	}
	in.onForce(env.Kill)
	defer func() { retErr = errors.Join(retErr, env.Stop()) }()

	kubeconfig := filepath.Join(env.StateDir, "kubeconfig")
	if err := env.WriteKubeconfig(kubeconfig); err != nil {
		return err
	}
	scheme, err := app.NewScheme()
	if err != nil {
		return err
	}
	c, err := client.New(env.Config, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	// In a cluster the manifests create the system namespace; here we do.
	if err := devenv.EnsureNamespace(ctx, c, defaultSystemNamespace); err != nil {
		return ignoreCanceled(ctx, err)
	}

	sessions, closeSessions, err := fl.sessions.open(ctx)
	if err != nil {
		return err
	}
	defer closeSessions()
	adminsKubeconfig := filepath.Join(env.StateDir, "kubeconfig-admins")
	if err := env.WriteExecKubeconfig(adminsKubeconfig, "orgkeeper", devenv.PluginExec(issuer, issuerTLS.CAFile)); err != nil {
		return err
	}
	proxies, err := clientip.ParseTrustedProxies(fl.trustedProxies)
	if err != nil {
		return err
	}
	sender, err := fl.mail.sender()
	if err != nil {
		return err
	}
	if sender == nil {
		sender = outbox(env.StateDir, ctrl.Log.WithName("mail"))
	}
	var samples []*unstructured.Unstructured
	if !fl.noSamples {
		if samples, err = config.Samples(); err != nil {
			return fmt.Errorf("reading the embedded samples: %w", err)
		}
	}
	resolver, err := devResolver(ctx, c, samples, &fl.dns, log)
	if err != nil {
		return err
	}
	mgr, srv, err := app.NewManager(env.Config, app.Settings{
		Controller: controller.Options{SystemNamespace: defaultSystemNamespace, AllowLoopbackIssuers: true,
			DomainResolver: resolver, DomainRecheckPeriod: fl.dns.recheckPeriod},
		MetricsAddr:     "0",
		HealthAddr:      "0",
		Issuer:          issuer,
		HTTPAddr:        fl.httpAddr,
		TLSCertFile:     issuerTLS.CertFile,
		TLSKeyFile:      issuerTLS.KeyFile,
		ClientIP:        proxies.ClientIP,
		Sessions:        sessions,
		Mail:            sender,
		InvitationTTL:   fl.mail.invitationTTL,
		PerOrganization: fl.mail.perOrg,
		ResetTTL:        fl.mail.resetTTL,
		RegistrationTTL: fl.mail.registrationTTL,
		Signup:          fl.mail.signup.options(),
		SignupTTL:       fl.mail.signup.ttl,
		// dev may sign in at an upstream on loopback over plain http, as
		// the reconciler and the snapshot allow there (never in manager).
		Connectors: connector.NewRegistry(connector.Config{AllowLoopbackHTTP: true}),
		Log:        ctrl.Log.WithName("oidc"),
	})
	if err != nil {
		return err
	}
	// The steps below stop when the manager fails, and the manager stops
	// (before the control plane, in the deferred calls) when we return.
	steps, stopSteps := context.WithCancel(ctx)
	defer stopSteps()
	mgrCtx, stopMgr := context.WithCancel(ctx)
	mgrDone := make(chan struct{})
	var mgrErr error
	go func() {
		defer close(mgrDone)
		mgrErr = mgr.Start(mgrCtx)
		stopSteps()
	}()
	defer func() {
		stopMgr()
		<-mgrDone
		if mgrErr != nil {
			retErr = errors.Join(retErr, fmt.Errorf("manager: %w", mgrErr))
		}
	}()
	// stepErr drops the error of a step cut short by Ctrl-C (a normal way
	// to stop) or by the manager's failure (reported by the deferred call).
	stepErr := func(err error) error {
		if steps.Err() != nil {
			return nil
		}
		return err
	}

	if !mgr.GetCache().WaitForCacheSync(steps) {
		return stepErr(errors.New("the manager's caches did not sync"))
	}
	var logins, upstreamLogins []devenv.DemoLogin
	demo, upstreamIssuer := "", ""
	if !fl.noSamples {
		if samples, upstreamIssuer, upstreamLogins, err = startUpstream(steps, samples, issuer, fl.upstreamAddr, log); err != nil {
			return stepErr(err)
		}
		log.Info("applying the demo world", "objects", len(samples))
		if err := devenv.ApplyObjects(steps, c, samples, fl.readyTimeout, log); err != nil {
			return stepErr(err)
		}
		if logins, err = devenv.DemoPasswords(steps, c, samples); err != nil {
			return stepErr(err)
		}
		if err := devenv.WaitForReady(steps, c, devenv.ServedKinds(samples), fl.readyTimeout); err != nil {
			return stepErr(err)
		}
		if fl.demoAddr != "" {
			url, err := devenv.StartDemoAppWithClient(steps, c, issuer, fl.demoAddr, issuerTLS.HTTPClient(), log)
			if err != nil {
				return stepErr(err)
			}
			demo = ", demo app " + url
		}
	}
	if err := devenv.WaitUntil(steps, fl.readyTimeout, func() error { return srv.Ready(nil) }); err != nil {
		return stepErr(fmt.Errorf("the issuer did not get ready: %w", err))
	}
	if steps.Err() != nil {
		return nil
	}
	for _, l := range logins {
		fmt.Fprintf(out, "demo user %-24s password %s  (organization %s)\n", l.Email, l.Password, l.Organization)
	}
	for _, l := range upstreamLogins {
		fmt.Fprintf(out, "sso user  %-24s password %s  (at %s, globex's corporate sign-in)\n", l.Email, l.Password, upstreamIssuer)
	}
	fmt.Fprintf(out, "organization admins: KUBECONFIG=%s kubectl org login (the issuer's CA is %s)\n",
		adminsKubeconfig, issuerTLS.CAFile)
	fmt.Fprintf(out, "orgkeeper dev ready: issuer %s%s, kubeconfig %s (kubectl --kubeconfig %s get organizations -A)\n",
		issuer, demo, kubeconfig, kubeconfig)
	<-steps.Done()
	log.Info("stopping")
	return nil
}

// startUpstream starts globex's corporate identity provider on addr and
// points the samples' globex-sso IdentityProvider at it. With addr "" it
// runs none and leaves that sample out, which would point at nothing.
func startUpstream(ctx context.Context, samples []*unstructured.Unstructured, issuer, addr string, log logr.Logger) ([]*unstructured.Unstructured, string, []devenv.DemoLogin, error) {
	if addr == "" {
		return devenv.WithoutUpstreamSample(samples), "", nil, nil
	}
	up, err := devenv.StartUpstream(ctx, devenv.UpstreamOptions{
		Addr:        addr,
		RedirectURI: devenv.UpstreamRedirectURI(issuer),
		Log:         log.WithName("corporate-idp"),
	})
	if err != nil {
		return nil, "", nil, err
	}
	if _, err := devenv.PointSamplesAtUpstream(samples, up); err != nil {
		return nil, "", nil, err
	}
	log.Info("globex's corporate identity provider started", "issuer", up.Issuer)
	return samples, up.Issuer, up.Logins, nil
}

// devResolver is the resolver that verifies domains in dev: the one that
// --dns-resolver names, else the demo DNS server, which publishes the records
// of the samples' domains (until ctx ends), so that the demo world verifies
// its domains over DNS as a real installation does.
func devResolver(ctx context.Context, c client.Reader, samples []*unstructured.Unstructured, fl *dnsFlags, log logr.Logger) (*dnsverify.Resolver, error) {
	if fl.resolver == "" {
		dns, err := devenv.StartDemoDNS(ctx, c, samples, "127.0.0.1:0", log)
		if err != nil {
			return nil, err
		}
		fl = &dnsFlags{resolver: dns.Addr()}
	}
	return fl.open()
}

// ignoreCanceled drops err when ctx was cancelled by Ctrl-C: that is a
// normal way to stop, even in the middle of starting.
func ignoreCanceled(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}
