package controller

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

func TestOwnWritesKnowWhichVersionsTheySuperseded(t *testing.T) {
	at := func(uid, rv string) *iamv1.Organization {
		return &iamv1.Organization{ObjectMeta: metav1.ObjectMeta{Namespace: "platform", Name: "acme", UID: types.UID("uid-acme-" + uid), ResourceVersion: rv}}
	}
	var w ownWrites
	w.wrote(at("1", "12"), "10", "11")
	for _, rv := range []string{"10", "11"} {
		if !w.stale(at("1", rv)) {
			t.Errorf("version %s, superseded by the write, is not stale", rv)
		}
	}
	if w.stale(at("2", "10")) {
		t.Error("another object of the same name (a new UID) is stale")
	}
	// Reading any other version (the write itself, or a later one) ends it.
	w.wrote(at("1", "12"), "10", "11")
	if w.stale(at("1", "12")) {
		t.Error("the version written is stale")
	}
	if w.stale(at("1", "10")) || len(w.m) != 0 {
		t.Errorf("once the written version was read, older ones are not stale any more (they cannot come back): %v", w.m)
	}

	w.wrote(at("1", "11"), "11") // a write that changed nothing
	if len(w.m) != 0 {
		t.Errorf("a write that did not move the version is remembered: %v", w.m)
	}
	w.wrote(at("1", "12"), "11")
	w.forget(client.ObjectKeyFromObject(at("1", "")))
	if len(w.m) != 0 {
		t.Errorf("a forgotten object is remembered: %v", w.m)
	}
}

// A pass queued by the events of the reconciler's own writes, reading the
// organization from a cache that has not caught up with its status write,
// writes nothing: before, it sent the same status again.
func TestAPassFromACacheBehindItsOwnStatusWriteWritesNothing(t *testing.T) {
	ctx := context.Background()
	root := st.Ptr(st.Org("acme"))
	var stale *iamv1.Organization // what a lagging cache returns
	writes := 0
	c := scaleClient(t).WithObjects(root).WithInterceptorFuncs(interceptor.Funcs{
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			if o, ok := obj.(*iamv1.Organization); ok && stale != nil && key == client.ObjectKeyFromObject(stale) {
				stale.DeepCopyInto(o)
				return nil
			}
			return c.Get(ctx, key, obj, opts...)
		},
		Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
			writes++
			return c.Patch(ctx, obj, patch, opts...)
		},
		SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
			writes++
			return c.SubResource(sub).Patch(ctx, obj, patch, opts...)
		},
	}).Build()
	r := &OrganizationReconciler{Client: c, APIReader: c, SystemNamespace: st.SystemNamespace, Server: &switchServer{serving: true}}
	req := reconcile.Request{NamespacedName: client.ObjectKeyFromObject(root)}

	// The version the first pass reads.
	first := &iamv1.Organization{}
	if err := c.Get(ctx, req.NamespacedName, first); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Reconcile(ctx, req); err != nil {
		t.Fatal(err)
	}
	if writes != 2 {
		t.Fatalf("the first pass made %d writes, want the finalizer and the status", writes)
	}
	// The cache still returns the version from before both writes.
	stale = first
	res, err := r.Reconcile(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if writes != 2 {
		t.Fatalf("a pass from the stale cache wrote again (%d writes in all)", writes)
	}
	// It may have been the server's announcement: it comes back soon, and
	// ahead of the line, rather than waiting for the write's own event.
	if res.RequeueAfter != staleRetry || res.Priority == nil || *res.Priority != servedPriority {
		t.Fatalf("result %+v, want a retry after %v at priority %d", res, staleRetry, servedPriority)
	}
	// Once the cache has caught up, passes run as always (and find nothing
	// to write).
	stale = nil
	if _, err := r.Reconcile(ctx, req); err != nil {
		t.Fatal(err)
	}
	if writes != 2 || len(r.own.m) != 0 {
		t.Fatalf("after the cache caught up: %d writes, remembered %v", writes, r.own.m)
	}
}
