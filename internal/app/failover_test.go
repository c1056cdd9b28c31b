package app_test

import (
	"context"
	"errors"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/app"
	"github.com/orgkeeper/orgkeeper/internal/app/apptest"
	"github.com/orgkeeper/orgkeeper/internal/controller"
	"github.com/orgkeeper/orgkeeper/internal/devenv"
	"github.com/orgkeeper/orgkeeper/internal/devenv/linktest"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

const systemNamespace = "orgkeeper-system"

// Short leader election settings, so that a failover takes seconds.
const (
	leaseDuration = 4 * time.Second
	renewDeadline = 3 * time.Second
	retryPeriod   = 500 * time.Millisecond
)

// TestStandbyTakesOverWhenTheLeaderDies runs two managers with leader
// election on one API server. The leader is cut off from the API server
// without releasing its Lease, as when its process is killed or its node
// fails; the standby must take the Lease once it expires and reconcile an
// Organization created after the leader died.
func TestStandbyTakesOverWhenTheLeaderDies(t *testing.T) {
	g := NewWithT(t)
	g.SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	env, c := apptest.ControlPlane(t, ctx, devenv.Options{}, systemNamespace)

	// The leader reaches the API server only through a proxy that the
	// test can cut.
	link := linktest.New(t, env.Config.Host)
	leaderCfg := rest.CopyConfig(env.Config)
	leaderCfg.Host = link.URL()
	leader := startManager(t, ctx, leaderCfg)
	g.Eventually(leader.Elected(), 30*time.Second).Should(BeClosed(), "the first manager should become leader")
	standby := startManager(t, ctx, env.Config)

	create(ctx, g, c, st.ForCreate(st.Org("platform", st.WithDisplayName("Platform"),
		st.WithDomainVerification(iamv1.DomainVerificationNone))))
	g.Eventually(func() error { return ready(ctx, c, systemNamespace, "platform") }, time.Minute).Should(Succeed(),
		"the leader reconciles the root organization")
	g.Expect(standby.Elected()).NotTo(BeClosed(), "only one manager leads")
	holder := leaseHolder(ctx, g, c)

	// The leader dies: it stops renewing and never releases the Lease.
	link.Cut()
	create(ctx, g, c, st.ForCreate(st.Org("acme", st.WithParent("platform"), st.WithDisplayName("ACME"),
		st.ClaimingDomains("acme.example"))))
	// The standby may take the Lease only once it has expired, a lease
	// duration after the leader's last renewal; allow one retry period
	// and a few seconds for the reconcile on a busy machine.
	g.Eventually(standby.Elected(), leaseDuration+retryPeriod+10*time.Second).Should(BeClosed(),
		"the standby should take over once the dead leader's Lease expires")
	g.Expect(leaseHolder(ctx, g, c)).NotTo(Equal(holder), "the Lease names the new leader")
	g.Eventually(func() error { return ready(ctx, c, "platform", "acme") }, 30*time.Second).Should(Succeed(),
		"the new leader reconciles an organization created after the old one died")
}

// startManager starts a manager with leader election (reconcilers only) and
// stops it when the test ends.
func startManager(t *testing.T, ctx context.Context, cfg *rest.Config) manager.Manager {
	t.Helper()
	mgr, _, err := app.NewManager(cfg, app.Settings{
		Controller:    controller.Options{SystemNamespace: systemNamespace, MaxConcurrentReconciles: 2},
		LeaderElect:   true,
		LeaseDuration: leaseDuration,
		RenewDeadline: renewDeadline,
		RetryPeriod:   retryPeriod,
		MetricsAddr:   "0",
		HealthAddr:    "0",
		Log:           logf.Log.WithName("failover"),
	})
	if err != nil {
		t.Fatal(err)
	}
	mctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		// The dead leader's Start ends with "leader election lost", as it
		// should; nothing to check here.
		_ = mgr.Start(mctx)
	}()
	t.Cleanup(func() {
		stop()
		select {
		case <-done:
		case <-time.After(time.Minute):
			t.Error("a manager did not stop")
		}
	})
	return mgr
}

func create(ctx context.Context, g Gomega, c client.Client, obj client.Object) {
	g.Expect(c.Create(ctx, obj)).To(Succeed())
}

func ready(ctx context.Context, c client.Client, namespace, name string) error {
	org := &iamv1.Organization{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, org); err != nil {
		return err
	}
	cond := meta.FindStatusCondition(org.Status.Conditions, iamv1.ConditionReady)
	if cond == nil || cond.Status != metav1.ConditionTrue || cond.ObservedGeneration != org.Generation {
		return errors.New("organization " + name + " is not Ready")
	}
	return nil
}

func leaseHolder(ctx context.Context, g Gomega, c client.Client) string {
	lease := &coordinationv1.Lease{}
	g.Expect(c.Get(ctx, client.ObjectKey{Namespace: systemNamespace, Name: app.LeaderElectionID}, lease)).To(Succeed())
	g.Expect(lease.Spec.HolderIdentity).NotTo(BeNil())
	return *lease.Spec.HolderIdentity
}
