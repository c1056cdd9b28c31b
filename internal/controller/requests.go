package controller

import (
	"context"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
)

// queue is the work queue that the watches' event handlers add requests to.
type queue = workqueue.TypedRateLimitingInterface[reconcile.Request]

// listRequests lists objects from the cache and returns a reconcile request
// for each; the map functions of the watches use it. A failed list yields
// nothing: the informer's next event brings the object back.
func listRequests(ctx context.Context, c client.Reader, list client.ObjectList, opts ...client.ListOption) []reconcile.Request {
	if err := c.List(ctx, list, opts...); err != nil {
		return nil
	}
	var reqs []reconcile.Request
	_ = meta.EachListItem(list, func(o runtime.Object) error {
		if obj, ok := o.(client.Object); ok {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(obj)})
		}
		return nil
	})
	return reqs
}

// namespaceOrg returns the Organization whose namespace ns is (it is placed
// and owns the namespace of its name), or nil: the organization that users,
// applications and identity providers in ns belong to.
func namespaceOrg(ctx context.Context, c client.Reader, ns string) (*iamv1.Organization, error) {
	list := &iamv1.OrganizationList{}
	if err := c.List(ctx, list, client.MatchingFields{indexOrgName: ns}); err != nil {
		return nil, err
	}
	for i := range list.Items {
		if list.Items[i].Status.Namespace == ns {
			return &list.Items[i], nil
		}
	}
	return nil, nil
}
