package controller

import (
	"context"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

// The server serves a new organization from its namespace while its first
// status is held back. A suspension in that time ends the sessions that
// exist then, and the only record of that moment is status.
// sessionsRevokedAt: holding it back, and then lifting the suspension
// before the status is written, would let those sessions live on.
func TestASuspensionOfANewOrganizationIsNotHeldBack(t *testing.T) {
	ctx := context.Background()
	root := st.Ptr(st.Org("acme"))
	c := scaleClient(t).WithObjects(root).Build()
	srv := &switchServer{}
	clock := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	r := &OrganizationReconciler{Client: c, APIReader: c, SystemNamespace: st.SystemNamespace, Server: srv,
		Now: func() time.Time { return clock }}
	r.firstStatus.now = func() time.Time { return clock }
	req := reconcile.Request{NamespacedName: client.ObjectKeyFromObject(root)}
	reconcileAt := func(d time.Duration) {
		t.Helper()
		clock = clock.Add(d)
		if _, err := r.Reconcile(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	setSuspended := func(v bool) {
		t.Helper()
		o := &iamv1.Organization{}
		if err := c.Get(ctx, req.NamespacedName, o); err != nil {
			t.Fatal(err)
		}
		o.Spec.Suspended = v
		if err := c.Update(ctx, o); err != nil {
			t.Fatal(err)
		}
	}

	reconcileAt(0) // new, not served yet: held
	setSuspended(true)
	reconcileAt(time.Second) // suspended a moment later, still not served
	setSuspended(false)
	srv.serving = true
	reconcileAt(time.Second) // lifted, and served

	got := &iamv1.Organization{}
	if err := c.Get(ctx, req.NamespacedName, got); err != nil {
		t.Fatal(err)
	}
	if !meta.IsStatusConditionTrue(got.Status.Conditions, iamv1.ConditionReady) {
		t.Fatalf("not Ready at the end: %+v", got.Status.Conditions)
	}
	if got.Status.SessionsRevokedAt == nil {
		t.Fatal("the suspension left no status.sessionsRevokedAt: the sessions that existed when it was set outlive it")
	}
}
