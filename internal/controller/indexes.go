package controller

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrl "sigs.k8s.io/controller-runtime/pkg/manager"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
)

// Field indexes on the informer cache. They turn "which organizations are
// below X" and "who else claims this domain" into map lookups, which keeps a
// reconcile cheap with tens of thousands of organizations.
const (
	// indexOrgName: Organization by metadata.name (cluster-unique for placed
	// organizations, because each owns the namespace of its name).
	indexOrgName = "iam.orgkeeper.io/name"
	// indexOrgAncestor: Organization by every ancestor in status.path.
	indexOrgAncestor = "iam.orgkeeper.io/ancestor"
	// indexOrgDomain: Organization by every claimed domain in spec.domains.
	indexOrgDomain = "iam.orgkeeper.io/domain"
)

func setupIndexes(mgr ctrl.Manager) error {
	idx := mgr.GetFieldIndexer()
	ctx := context.Background()
	if err := idx.IndexField(ctx, &iamv1.Organization{}, indexOrgName, func(o client.Object) []string {
		return []string{o.GetName()}
	}); err != nil {
		return err
	}
	if err := idx.IndexField(ctx, &iamv1.Organization{}, indexOrgAncestor, func(o client.Object) []string {
		path := o.(*iamv1.Organization).Status.Path
		if len(path) == 0 {
			return nil
		}
		return append([]string(nil), path[:len(path)-1]...)
	}); err != nil {
		return err
	}
	return idx.IndexField(ctx, &iamv1.Organization{}, indexOrgDomain, func(o client.Object) []string {
		domains := o.(*iamv1.Organization).Spec.Domains
		out := make([]string, len(domains))
		for i, d := range domains {
			out[i] = string(d)
		}
		return out
	})
}
