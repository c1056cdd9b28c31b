package controller

import (
	"context"
	"slices"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
)

// relatedOrgs requeues the organizations whose outcome depends on another
// one: its parent while that is being deleted (a child that appears or goes
// may block or unblock the deletion), its children and, when admins or the path change, all its
// descendants (their RoleBindings include its admins), the other claimants of
// its domains, and the other candidates for root.
func (r *OrganizationReconciler) relatedOrgs() handler.EventHandler {
	return handler.Funcs{
		CreateFunc: func(ctx context.Context, e event.CreateEvent, q queue) {
			r.enqueueRelated(ctx, q, e.Object.(*iamv1.Organization), true)
		},
		DeleteFunc: func(ctx context.Context, e event.DeleteEvent, q queue) {
			r.enqueueRelated(ctx, q, e.Object.(*iamv1.Organization), true)
		},
		UpdateFunc: func(ctx context.Context, e event.UpdateEvent, q queue) {
			old, cur := e.ObjectOld.(*iamv1.Organization), e.ObjectNew.(*iamv1.Organization)
			subtree := !slices.Equal(old.Spec.Admins, cur.Spec.Admins) ||
				!slices.Equal(old.Status.Path, cur.Status.Path) ||
				old.Status.Namespace != cur.Status.Namespace ||
				old.DeletionTimestamp.IsZero() != cur.DeletionTimestamp.IsZero() ||
				old.Spec.DomainVerification != cur.Spec.DomainVerification ||
				old.Spec.DeletionPolicy != cur.Spec.DeletionPolicy
			domains := !slices.Equal(old.Spec.Domains, cur.Spec.Domains) || !domainStatusEqual(old.Status.Domains, cur.Status.Domains)
			if subtree {
				r.enqueueRelated(ctx, q, cur, true)
				r.enqueueRelated(ctx, q, old, false) // domains it no longer claims
			} else if domains {
				r.enqueueRelated(ctx, q, cur, false)
				r.enqueueRelated(ctx, q, old, false)
			}
		},
	}
}

func (r *OrganizationReconciler) enqueueRelated(ctx context.Context, q queue, o *iamv1.Organization, structural bool) {
	add := func(list *iamv1.OrganizationList, opts ...client.ListOption) {
		if err := r.List(ctx, list, opts...); err != nil {
			return
		}
		for i := range list.Items {
			if list.Items[i].UID != o.UID {
				q.Add(reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
			}
		}
	}
	for _, d := range o.Spec.Domains {
		add(&iamv1.OrganizationList{}, client.MatchingFields{indexOrgDomain: string(d)})
	}
	if !structural {
		return
	}
	add(&iamv1.OrganizationList{}, client.InNamespace(o.Name))
	add(&iamv1.OrganizationList{}, client.MatchingFields{indexOrgAncestor: o.Name})
	if o.Namespace == r.SystemNamespace {
		add(&iamv1.OrganizationList{}, client.InNamespace(r.SystemNamespace))
	} else if parent, err := r.orgByName(ctx, o.Namespace); err == nil && parent != nil && !parent.DeletionTimestamp.IsZero() {
		// Only a parent being deleted depends on its children (they block
		// its deletion, or their going unblocks it). Requeueing every parent
		// on each child's change would, under a storm of new organizations,
		// fill the queue with passes that change nothing. A parent whose
		// deletion starts after this event lists its children then: both
		// come through the same informer, in order.
		q.Add(reconcile.Request{NamespacedName: client.ObjectKeyFromObject(parent)})
	}
}

func domainStatusEqual(a, b []iamv1.DomainStatus) bool {
	return slices.EqualFunc(a, b, func(x, y iamv1.DomainStatus) bool { return x.Name == y.Name && x.Verified == y.Verified })
}

// byOrgLabel maps a namespace, Role or RoleBinding the operator made to the
// Organization named in its label, so drift (an edited or deleted
// RoleBinding) is repaired at once.
func (r *OrganizationReconciler) byOrgLabel() handler.EventHandler {
	return handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, obj client.Object) []reconcile.Request {
		name := obj.GetLabels()[iamv1.LabelOrganization]
		if name == "" {
			return nil
		}
		return listRequests(ctx, r, &iamv1.OrganizationList{}, client.MatchingFields{indexOrgName: name})
	})
}

// deletingOrgOfNamespace requeues an organization that is being deleted when
// one of its users changes, so a deletion blocked by users proceeds as soon
// as the last one is gone.
func (r *OrganizationReconciler) deletingOrgOfNamespace() handler.EventHandler {
	return handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, obj client.Object) []reconcile.Request {
		org, err := r.orgByName(ctx, obj.GetNamespace())
		if err != nil || org == nil || org.DeletionTimestamp.IsZero() {
			return nil
		}
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: org.Namespace, Name: org.Name}}}
	})
}
