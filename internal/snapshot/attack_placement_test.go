package snapshot_test

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/rules"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

// A new organization is served, and its RoleBindings exist, as soon as its
// namespace holds it; its first status (status.path) may be held back for
// a while (the Organization reconciler's heldStatuses). During that time an
// admin of another organization must not be able to put the new
// organization's admin group into a user's token: kube-apiserver would
// grant that user what the new organization's admins have.
func TestAdminGroupOfANewOrganizationIsForeignBeforeItsFirstStatus(t *testing.T) {
	in := st.World(
		st.Org("platform"),
		st.Org("evil", st.WithParent("platform")),
		st.Org("newco", st.WithParent("platform"), st.WithAdminGroups("newco-admins")),
		st.User("evil", "mallory", "mallory@evil.example", st.WithGroups("newco-admins", "evil-team")),
		st.User("newco", "nora", "nora@newco.example", st.WithGroups("newco-admins")),
	)
	for i := range in.Organizations {
		if o := &in.Organizations[i]; o.Name == "newco" {
			// Its namespace exists (World made it); its status is not written yet.
			o.Status = iamv1.OrganizationStatus{}
		}
	}
	s := st.MustBuild(t, in)
	if s.Org("newco") == nil {
		t.Fatal("newco is not served; the test needs it served from its namespace")
	}
	for _, c := range []struct {
		org, user string
		want      []string
	}{
		{"evil", "mallory", []string{"evil-team"}},
		{"newco", "nora", []string{"newco-admins"}},
	} {
		u := s.UserByID(string(st.UID("user", c.org, c.user)))
		if u == nil {
			t.Fatalf("%s is not served", c.user)
		}
		if !slices.Equal(u.Groups, c.want) {
			t.Errorf("%s: groups = %q, want %q", c.user, u.Groups, c.want)
		}
	}
}

// The server serves only from the operator's namespaces: one whose
// managed-by label another tool replaced is nobody's (the Organization
// reconciler then reports NamespaceConflict), even when it is handed to
// Build, which the projection's label-filtered cache never does.
func TestANamespaceWithoutTheOperatorsManagedByLabelServesNothing(t *testing.T) {
	acme := st.Org("acme", st.WithParent("platform"))
	ns := st.OrgNamespace(&acme)
	ns.Labels[iamv1.LabelManagedBy] = "Helm"
	in := st.World(st.Org("platform"), acme, ns)
	s := st.MustBuild(t, in)
	if s.Org("platform") == nil {
		t.Fatal("the root is not served")
	}
	if s.Org("acme") != nil {
		t.Error("acme is served from a namespace the operator does not manage")
	}
}

// checkPlacementInvariants holds for every input (FuzzBuild): an
// organization is served only from a namespace the operator made for it,
// under the organization whose namespace it lives in, up to a root in the
// system namespace; and no served user carries a group that a served
// organization outside the user's subtree binds as admins, whatever the
// statuses say.
func checkPlacementInvariants(t *testing.T, in snapshot.Input, s *snapshot.Snapshot) {
	t.Helper()
	objects := map[types.UID]*iamv1.Organization{}
	for i := range in.Organizations {
		objects[in.Organizations[i].UID] = &in.Organizations[i]
	}
	namespaces := map[string]*corev1.Namespace{}
	for i := range in.Namespaces {
		namespaces[in.Namespaces[i].Name] = &in.Namespaces[i]
	}
	for _, o := range s.Orgs() {
		obj := objects[o.UID]
		if obj == nil || obj.Name != o.Name {
			t.Fatalf("org %q is served from no Organization of its UID %q", o.Name, o.UID)
		}
		if ns := namespaces[o.Name]; !rules.NamespaceHolds(ns, obj) || ns.Labels[iamv1.LabelManagedBy] != iamv1.ManagedByValue {
			t.Fatalf("org %q is served, but its namespace does not hold it: %+v", o.Name, namespaces[o.Name])
		}
		switch {
		case o.Parent == nil && obj.Namespace != in.SystemNamespace:
			t.Fatalf("org %q is a root outside the system namespace", o.Name)
		case o.Parent != nil && o.Parent.Name != obj.Namespace:
			t.Fatalf("org %q lives in %q but is served under %q", o.Name, obj.Namespace, o.Parent.Name)
		}
	}
	for i := range in.Users {
		su := s.UserByEmail(in.Users[i].Namespace, in.Users[i].Spec.Email)
		if su == nil {
			continue
		}
		for _, g := range su.Groups {
			if g == rules.AdminGroup(su.Org.Name) {
				continue
			}
			for _, binder := range s.Orgs() {
				obj := objects[binder.UID]
				if slices.ContainsFunc(obj.Spec.Admins, func(a iamv1.Subject) bool {
					return a.Kind == iamv1.SubjectGroup && strings.EqualFold(a.Name, g)
				}) && !su.Org.Contains(binder) {
					t.Fatalf("user %q of %q carries %q, which %q outside its subtree binds as admins", su.Name, su.Org.Name, g, binder.Name)
				}
			}
		}
	}
}
