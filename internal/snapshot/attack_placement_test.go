package snapshot_test

import (
	"slices"
	"testing"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
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
