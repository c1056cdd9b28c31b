package rules

import (
	"testing"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
)

// The switch and the RBAC agree: a spec.admins Group with a reserved name
// binds nobody, not even a user whose groups claim carries that name (the
// organization's own admin group, which the admin role decides anyway).
func TestAdministersIgnoresReservedGroupNames(t *testing.T) {
	admins := []iamv1.Subject{{Kind: iamv1.SubjectGroup, Name: AdminGroup("acme")}, {Kind: iamv1.SubjectGroup, Name: "System:Masters"}}
	if Administers("acme", admins, "bob", false, []string{AdminGroup("acme"), "System:Masters"}) {
		t.Fatal("a reserved group name in spec.admins made a user without the admin role an administrator")
	}
	for _, s := range []iamv1.Subject{
		{Kind: iamv1.SubjectGroup, Name: "orgkeeper:org:globex:admins"},
		{Kind: iamv1.SubjectGroup, Name: "OrgKeeper:x"},
		{Kind: iamv1.SubjectGroup, Name: "system:masters"},
		{Kind: iamv1.SubjectGroup, Name: ""},
		{Kind: iamv1.SubjectUser, Name: ""},
	} {
		if BindsAdminSubject(s) {
			t.Errorf("BindsAdminSubject(%+v) = true", s)
		}
	}
	for _, s := range []iamv1.Subject{
		{Kind: iamv1.SubjectGroup, Name: "acme-admins"},
		{Kind: iamv1.SubjectUser, Name: "orgkeeper:org:globex:admins"}, // a username of acme
	} {
		if !BindsAdminSubject(s) {
			t.Errorf("BindsAdminSubject(%+v) = false", s)
		}
	}
}
