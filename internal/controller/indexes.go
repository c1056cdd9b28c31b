package controller

import (
	"context"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrl "sigs.k8s.io/controller-runtime/pkg/manager"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/rules"
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

// Field indexes of the SharedApplication and OrgUser reconcilers, registered
// by their SetupWithManager.
const (
	// indexAppClientSecret: SharedApplication by spec.clientSecretRef.name,
	// so a Secret that appears or changes requeues the applications that
	// use it.
	indexAppClientSecret = "iam.orgkeeper.io/client-secret"
	// indexUserIdentifier: OrgUser by every name it signs in with, lower
	// case: spec.email and spec.username. Combined with the namespace it
	// finds the users of one organization who claim the same identifier.
	indexUserIdentifier = "iam.orgkeeper.io/identifier"
	// indexUserInitialPassword: OrgUser by spec.initialPasswordSecretRef.name.
	indexUserInitialPassword = "iam.orgkeeper.io/initial-password"
	// indexUserGroup: OrgUser by every name in spec.groups, lower case.
	indexUserGroup = "iam.orgkeeper.io/group"
	// indexUserEmailDomain: OrgUser by the domain of spec.email.
	indexUserEmailDomain = "iam.orgkeeper.io/email-domain"
	// indexOrgAdminGroup: Organization by every Group subject of
	// spec.admins, lower case; the token-claim rule looks up who binds a
	// user's groups.
	indexOrgAdminGroup = "iam.orgkeeper.io/admin-group"
	// indexIdPClientSecret: IdentityProvider by
	// spec.oidc.clientSecretRef.name.
	indexIdPClientSecret = "iam.orgkeeper.io/idp-client-secret"
)

func setupSharedApplicationIndexes(mgr ctrl.Manager) error {
	return mgr.GetFieldIndexer().IndexField(context.Background(), &iamv1.SharedApplication{}, indexAppClientSecret, func(o client.Object) []string {
		if ref := o.(*iamv1.SharedApplication).Spec.ClientSecretRef; ref != nil {
			return []string{ref.Name}
		}
		return nil
	})
}

func setupOrgUserIndexes(mgr ctrl.Manager) error {
	idx := mgr.GetFieldIndexer()
	ctx := context.Background()
	if err := idx.IndexField(ctx, &iamv1.OrgUser{}, indexUserIdentifier, func(o client.Object) []string {
		return userIdentifiers(o.(*iamv1.OrgUser))
	}); err != nil {
		return err
	}
	if err := idx.IndexField(ctx, &iamv1.OrgUser{}, indexUserInitialPassword, func(o client.Object) []string {
		if ref := o.(*iamv1.OrgUser).Spec.InitialPasswordSecretRef; ref != nil {
			return []string{ref.Name}
		}
		return nil
	}); err != nil {
		return err
	}
	if err := idx.IndexField(ctx, &iamv1.OrgUser{}, indexUserGroup, func(o client.Object) []string {
		var out []string
		for _, g := range o.(*iamv1.OrgUser).Spec.Groups {
			out = append(out, strings.ToLower(g))
		}
		return out
	}); err != nil {
		return err
	}
	if err := idx.IndexField(ctx, &iamv1.OrgUser{}, indexUserEmailDomain, func(o client.Object) []string {
		if d := rules.EmailDomain(o.(*iamv1.OrgUser).Spec.Email); d != "" {
			return []string{d}
		}
		return nil
	}); err != nil {
		return err
	}
	return idx.IndexField(ctx, &iamv1.Organization{}, indexOrgAdminGroup, func(o client.Object) []string {
		return orgAdminGroups(o.(*iamv1.Organization))
	})
}

func setupIdentityProviderIndexes(mgr ctrl.Manager) error {
	return mgr.GetFieldIndexer().IndexField(context.Background(), &iamv1.IdentityProvider{}, indexIdPClientSecret, func(o client.Object) []string {
		if oidc := o.(*iamv1.IdentityProvider).Spec.OIDC; oidc != nil && oidc.ClientSecretRef != nil {
			return []string{oidc.ClientSecretRef.Name}
		}
		return nil
	})
}
