package controller

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

// What keeps a storm of thousands of new organizations from costing each
// one several trips through a queue thousands long (issue 7, speed).

func scaleClient(t *testing.T) *fake.ClientBuilder {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := iamv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	return fake.NewClientBuilder().WithScheme(scheme).
		WithStatusSubresource(&iamv1.Organization{}).
		WithIndex(&iamv1.Organization{}, indexOrgName, func(o client.Object) []string { return []string{o.GetName()} }).
		WithIndex(&iamv1.Organization{}, indexOrgAncestor, func(o client.Object) []string {
			p := o.(*iamv1.Organization).Status.Path
			if len(p) == 0 {
				return nil
			}
			return append([]string(nil), p[:len(p)-1]...)
		}).
		WithIndex(&iamv1.Organization{}, indexOrgDomain, func(o client.Object) []string {
			var out []string
			for _, d := range o.(*iamv1.Organization).Spec.Domains {
				out = append(out, string(d))
			}
			return out
		})
}

func TestANewOrganizationsFirstPassAddsTheFinalizerAndGoesOn(t *testing.T) {
	root := st.Ptr(st.Org("acme", st.WithAdminUsers("ada@acme.example")))
	c := scaleClient(t).WithObjects(root).Build()
	r := &OrganizationReconciler{Client: c, APIReader: c, SystemNamespace: st.SystemNamespace}
	ctx := context.Background()
	if _, err := r.Reconcile(ctx, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(root)}); err != nil {
		t.Fatal(err)
	}
	got := &iamv1.Organization{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(root), got); err != nil {
		t.Fatal(err)
	}
	if !controllerutil.ContainsFinalizer(got, iamv1.FinalizerOrganization) {
		t.Fatal("no finalizer after the first pass")
	}
	// The same pass went on: namespace and status, without waiting for
	// the finalizer's own event.
	if err := c.Get(ctx, types.NamespacedName{Name: "acme"}, &corev1.Namespace{}); err != nil {
		t.Fatalf("namespace after the first pass: %v", err)
	}
	if got.Status.Namespace != "acme" || len(got.Status.Path) != 1 {
		t.Fatalf("status after the first pass: namespace %q, path %v", got.Status.Namespace, got.Status.Path)
	}
}

func TestAChildRequeuesItsParentOnlyWhileTheParentIsBeingDeleted(t *testing.T) {
	placed := []iamv1.Organization{st.Org("acme"), st.Org("sales", st.WithParent("acme"))}
	st.PlaceOrgs(placed)
	parent, child := &placed[0], &placed[1]
	ctx := context.Background()
	queued := func(p *iamv1.Organization) []reconcile.Request {
		c := scaleClient(t).WithObjects(p, child).Build()
		r := &OrganizationReconciler{Client: c, APIReader: c, SystemNamespace: st.SystemNamespace}
		q := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
		defer q.ShutDown()
		r.enqueueRelated(ctx, q, child, true)
		var out []reconcile.Request
		for q.Len() > 0 {
			req, _ := q.Get()
			out = append(out, req)
			q.Done(req)
		}
		return out
	}
	if reqs := queued(parent); len(reqs) != 0 {
		t.Fatalf("a parent not being deleted was requeued: %v", reqs)
	}
	deleting := parent.DeepCopy()
	deleting.Finalizers = []string{iamv1.FinalizerOrganization}
	deleting.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	reqs := queued(deleting)
	if len(reqs) != 1 || reqs[0].Name != "acme" {
		t.Fatalf("a parent being deleted must be requeued by its child's change, got %v", reqs)
	}
}

func TestAServedAnnouncementJumpsTheQueue(t *testing.T) {
	q := priorityqueue.New[reconcile.Request]("served-test")
	defer q.ShutDown()
	for _, n := range []string{"a", "b", "c"} {
		q.Add(reconcile.Request{NamespacedName: types.NamespacedName{Namespace: "acme", Name: n}})
	}
	served := st.Ptr(st.Org("served", st.WithParent("acme")))
	enqueueServed{}.Generic(context.Background(), event.GenericEvent{Object: served}, q)
	// Items reach the ready set asynchronously; wait for all four.
	deadline := time.Now().Add(10 * time.Second)
	for q.Len() < 4 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	req, prio, _ := q.GetWithPriority()
	if req.Name != "served" || prio != servedPriority {
		t.Fatalf("first out: %v at priority %d, want the served object at %d", req, prio, servedPriority)
	}
}

func TestAServedAnnouncementOnAPlainQueueIsAnAdd(t *testing.T) {
	q := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
	defer q.ShutDown()
	enqueueServed{}.Generic(context.Background(), event.GenericEvent{Object: st.Ptr(st.Org("x", st.WithParent("acme")))}, q)
	if q.Len() != 1 {
		t.Fatalf("queue length %d, want 1", q.Len())
	}
}

// notServing is a Server that serves nothing yet and finds no problem.
type notServing struct{}

func (notServing) ServesObject(snapshot.Kind, metav1.Object) bool { return false }
func (notServing) Problems(snapshot.ObjectKey) []snapshot.Problem { return nil }
func (notServing) Events(snapshot.Kind) <-chan event.GenericEvent { return nil }
func TestAWaitForTheServerRetriesInLineWithOtherWork(t *testing.T) {
	obj := st.Ptr(st.Org("x", st.WithParent("acme")))
	var served check
	res, err := servedResult(notServing{}, snapshot.KindOrganization, obj, &served, []check{passed(iamv1.ReasonReconciled, "")}, reconcile.Result{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.RequeueAfter != servedRetry || res.Priority == nil || *res.Priority != 0 {
		t.Fatalf("result %+v, want a retry after %v at the default priority", res, servedRetry)
	}
}

// switchServer is a Server that serves everything once serving is set.
type switchServer struct{ serving bool }

func (s *switchServer) ServesObject(snapshot.Kind, metav1.Object) bool { return s.serving }
func (*switchServer) Problems(snapshot.ObjectKey) []snapshot.Problem   { return nil }
func (*switchServer) Events(snapshot.Kind) <-chan event.GenericEvent   { return nil }

func TestANewOrganizationsStatusIsWrittenOnceWhenItIsServed(t *testing.T) {
	ctx := context.Background()
	root := st.Ptr(st.Org("acme"))
	statusWrites := 0
	c := scaleClient(t).WithObjects(root).WithInterceptorFuncs(interceptor.Funcs{
		SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
			statusWrites++
			return c.SubResource(sub).Patch(ctx, obj, patch, opts...)
		},
	}).Build()
	srv := &switchServer{}
	clock := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	r := &OrganizationReconciler{Client: c, APIReader: c, SystemNamespace: st.SystemNamespace, Server: srv}
	r.firstStatus.now = func() time.Time { return clock }
	req := reconcile.Request{NamespacedName: client.ObjectKeyFromObject(root)}
	get := func() *iamv1.Organization {
		t.Helper()
		got := &iamv1.Organization{}
		if err := c.Get(ctx, req.NamespacedName, got); err != nil {
			t.Fatal(err)
		}
		return got
	}

	// Not served yet: the namespace is made, the status is held back, and
	// the pass asks to come back.
	for range 3 { // the events of its own writes bring more passes
		res, err := r.Reconcile(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if res.RequeueAfter != servedRetry {
			t.Fatalf("result %+v, want a retry after %v", res, servedRetry)
		}
	}
	if err := c.Get(ctx, types.NamespacedName{Name: "acme"}, &corev1.Namespace{}); err != nil {
		t.Fatalf("namespace: %v", err)
	}
	if statusWrites != 0 || len(get().Status.Conditions) != 0 {
		t.Fatalf("%d status writes before the organization is served (status %+v), want none", statusWrites, get().Status)
	}

	// Served: one write, the whole status.
	srv.serving = true
	if _, err := r.Reconcile(ctx, req); err != nil {
		t.Fatal(err)
	}
	got := get()
	if statusWrites != 1 || !meta.IsStatusConditionTrue(got.Status.Conditions, iamv1.ConditionReady) ||
		got.Status.Namespace != "acme" || len(got.Status.Path) != 1 || got.Status.ObservedGeneration != got.Generation {
		t.Fatalf("after it is served: %d status writes, status %+v; want one write saying Ready", statusWrites, got.Status)
	}
	if len(r.firstStatus.held) != 0 {
		t.Fatalf("still held: %v", r.firstStatus.held)
	}
}

func TestANewOrganizationThatTheServerDoesNotServeSaysSoAfterTheGrace(t *testing.T) {
	ctx := context.Background()
	root := st.Ptr(st.Org("acme"))
	c := scaleClient(t).WithObjects(root).Build()
	clock := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	r := &OrganizationReconciler{Client: c, APIReader: c, SystemNamespace: st.SystemNamespace, Server: notServing{}}
	r.firstStatus.now = func() time.Time { return clock }
	req := reconcile.Request{NamespacedName: client.ObjectKeyFromObject(root)}
	if _, err := r.Reconcile(ctx, req); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(firstStatusGrace)
	ready := reconcileReady(t, r, req)
	if ready == nil || ready.Status != metav1.ConditionFalse || ready.Reason != iamv1.ReasonWaitingForServer {
		t.Fatalf("Ready after the grace = %+v, want False with reason %s", ready, iamv1.ReasonWaitingForServer)
	}
}

func TestANewOrganizationWithAProblemSaysSoAtOnce(t *testing.T) {
	// In a namespace of no organization: nothing to wait for.
	stray := st.Ptr(st.Org("stray", st.WithParent("default")))
	c := scaleClient(t).WithObjects(stray).Build()
	r := &OrganizationReconciler{Client: c, APIReader: c, SystemNamespace: st.SystemNamespace, Server: notServing{}}
	ready := reconcileReady(t, r, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(stray)})
	if ready == nil || ready.Reason != iamv1.ReasonOrganizationNotFound {
		t.Fatalf("Ready = %+v, want reason %s at once", ready, iamv1.ReasonOrganizationNotFound)
	}
}

// reconcileReady runs one pass of r for req and returns the organization's
// Ready condition as stored after it (nil if none).
func reconcileReady(t *testing.T, r *OrganizationReconciler, req reconcile.Request) *metav1.Condition {
	t.Helper()
	ctx := context.Background()
	if _, err := r.Reconcile(ctx, req); err != nil {
		t.Fatal(err)
	}
	got := &iamv1.Organization{}
	if err := r.Get(ctx, req.NamespacedName, got); err != nil {
		t.Fatal(err)
	}
	return meta.FindStatusCondition(got.Status.Conditions, iamv1.ConditionReady)
}
