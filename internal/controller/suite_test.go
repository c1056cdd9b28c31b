package controller

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/connector/upstreamtest"
	"github.com/orgkeeper/orgkeeper/internal/controller/projection"
	"github.com/orgkeeper/orgkeeper/internal/devenv"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
)

const systemNamespace = "orgkeeper-system"

var (
	cfg        *rest.Config
	k8s        client.Client
	env        *devenv.Env
	ctx        context.Context
	cancel     context.CancelFunc
	testScheme = runtime.NewScheme()
	// snapshots is what the OIDC server would serve, built by the projection.
	snapshots *snapshot.Store
)

func TestControllers(t *testing.T) {
	RegisterFailHandler(Fail)
	suiteT = t
	RunSpecs(t, "Controller Suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	ctx, cancel = context.WithCancel(context.Background())
	Expect(clientgoscheme.AddToScheme(testScheme)).To(Succeed())
	Expect(iamv1.AddToScheme(testScheme)).To(Succeed())

	// A real kube-apiserver and etcd, with kube-controller-manager's namespace
	// and garbage-collector controllers so that deletions complete as in a
	// cluster; the CRDs and the org-admin ClusterRole are installed.
	var err error
	env, err = devenv.Start(ctx, devenv.Options{WithControllerManager: true})
	Expect(err).NotTo(HaveOccurred(), "run the tests with `make test`, which builds the control plane")
	cfg = env.Config
	k8s, err = client.New(cfg, client.Options{Scheme: testScheme})
	Expect(err).NotTo(HaveOccurred())
	Expect(devenv.EnsureNamespace(ctx, k8s, systemNamespace)).To(Succeed())

	// IdentityProviders of the specs use upstreams on loopback, rechecked
	// often so that an upstream going away shows quickly.
	idpUpstream = upstreamtest.NewFake(suiteT)
	opts := Options{SystemNamespace: systemNamespace, MaxConcurrentReconciles: 4,
		AllowLoopbackIssuers: true, DiscoveryRecheckPeriod: discoveryRecheck}
	// Domains are verified over real DNS: a server on loopback whose records
	// the specs publish and withdraw (organization_dns_test.go).
	opts.DomainResolver, opts.DomainRecheckPeriod = startDNSZone(), domainRecheck
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:  testScheme,
		Cache:   CacheOptions(opts),
		Metrics: metricsserver.Options{BindAddress: "0"},
	})
	Expect(err).NotTo(HaveOccurred())
	// The projection, as every replica runs it, so that statuses carry the
	// snapshot build's Problems and Ready means "served".
	snapshots = &snapshot.Store{}
	proj := &projection.Projection{Reader: mgr.GetClient(), SystemNamespace: systemNamespace, Snapshots: snapshots, AllowLoopbackIssuers: true}
	Expect(proj.SetupWithManager(mgr)).To(Succeed())
	opts.Server = proj
	// Invitations go through the outbox to a real SMTP server on loopback
	// (orguser_invitation_test.go).
	opts.Mail = startSuiteMail(snapshots)
	Expect(SetupWithManager(mgr, opts)).To(Succeed())
	go func() {
		defer GinkgoRecover()
		Expect(mgr.Start(ctx)).To(Succeed())
	}()
	SetDefaultEventuallyTimeout(60 * time.Second) // generous: a shared machine can be slow; passing specs return at once
	SetDefaultEventuallyPollingInterval(50 * time.Millisecond)
})

var _ = AfterSuite(func() {
	cancel()
	if env != nil {
		Expect(env.Stop()).To(Succeed())
	}
})
