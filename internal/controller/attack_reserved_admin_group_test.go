package controller

import (
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

// An organization's admin writes spec.admins. A Group subject named like
// another organization's admin group (orgkeeper:org:<other>:admins, which
// the tokens of that organization's admins and of everyone who switched
// into it carry) would bind users of another organization, which
// spec.admins never does; so would any other reserved name. Such subjects
// bind nobody.
func TestAdminSubjectsBindNoReservedGroupName(t *testing.T) {
	acme := st.Ptr(st.Org("acme", st.WithParent("platform"),
		st.WithAdminGroups("orgkeeper:org:globex:admins", "ORGKEEPER:org:globex:admins", "system:masters", "acme-admins"),
		st.WithAdminUsers("orgkeeper:org:globex:admins"))) // a user of acme by that name, if any
	got := adminSubjects([]*iamv1.Organization{acme})
	want := []rbacv1.Subject{
		{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "orgkeeper:orgkeeper:org:acme:admins"},
		{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "orgkeeper:acme-admins"},
		{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "orgkeeper:acme:orgkeeper:org:globex:admins"},
	}
	if len(got) != len(want) {
		t.Fatalf("adminSubjects = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("adminSubjects = %v, want %v", got, want)
		}
	}
}

// The admin who wrote a reserved name learns from RBACReady why it grants
// nothing.
func TestRBACReadySaysWhichAdminsBindNobody(t *testing.T) {
	acme := st.Ptr(st.Org("acme", st.WithParent("platform"), st.WithAdminGroups("system:masters", "acme-admins")))
	if got := ignoredAdminsNote(acme); got != `; spec.admins group "system:masters" binds nobody: names starting with orgkeeper: or system: are reserved` {
		t.Fatalf("note = %q", got)
	}
	if got := ignoredAdminsNote(st.Ptr(st.Org("acme", st.WithAdminGroups("acme-admins")))); got != "" {
		t.Fatalf("note without reserved names = %q", got)
	}
}
