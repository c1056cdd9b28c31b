package controller

import (
	"context"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
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

// Whether deleting an organization cascades depends on its ancestors: the
// parent is the organization whose namespace the child lives in. An admin
// elsewhere can create an organization of the parent's name (it gets
// NamespaceConflict), give it deletionPolicy Cascade, and keep it in
// deletion with a finalizer of their own. While the real parent's status
// says nothing yet (a new organization's first status is held back),
// status cannot tell the two apart; the namespace can.
func TestADeletionCascadesOnlyFromTheParentThatOwnsTheNamespace(t *testing.T) {
	ctx := context.Background()
	now := metav1.Now()
	orgs := []iamv1.Organization{
		st.Org("platform"),
		st.Org("evil", st.WithParent("platform")),
		st.Org("newco", st.WithParent("platform")),
		st.Org("sales", st.WithParent("newco")),
	}
	st.PlaceOrgs(orgs)
	newco, sales := &orgs[2], &orgs[3]
	newco.Status = iamv1.OrganizationStatus{} // its first status is held back
	sales.Finalizers = []string{iamv1.FinalizerOrganization}
	sales.DeletionTimestamp = &now // deleted by newco's admins, deletionPolicy Block
	squatter := st.Org("newco", st.WithParent("evil"))
	squatter.Spec.DeletionPolicy = iamv1.DeletionCascade
	squatter.Finalizers = []string{"evil.example/keep"}
	squatter.DeletionTimestamp = &now
	objs := []client.Object{&squatter, &orgs[0], &orgs[1], newco, sales,
		st.Ptr(st.User("sales", "sam", "sam@sales.example"))}
	for i := range orgs[:4] {
		ns := st.OrgNamespace(&orgs[i])
		objs = append(objs, &ns)
	}
	c := scaleClient(t).WithObjects(objs...).Build()
	r := &OrganizationReconciler{Client: c, APIReader: c, SystemNamespace: st.SystemNamespace}
	if _, err := r.Reconcile(ctx, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(sales)}); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(ctx, types.NamespacedName{Namespace: "sales", Name: "sam"}, &iamv1.OrgUser{}); err != nil {
		t.Fatalf("sales's user: %v; the deletion of sales (policy Block) cascaded from the squatter's", err)
	}
	got := &iamv1.Organization{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(sales), got); err != nil {
		t.Fatal(err)
	}
	if ready := meta.FindStatusCondition(got.Status.Conditions, iamv1.ConditionReady); ready == nil || ready.Reason != iamv1.ReasonDeletionBlocked {
		t.Fatalf("Ready = %+v, want reason %s", ready, iamv1.ReasonDeletionBlocked)
	}
}
