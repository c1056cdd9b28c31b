package rules

import (
	"testing"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
)

func TestAdminGroupIsReservedAndPerOrganization(t *testing.T) {
	if got := AdminGroup("acme"); got != "orgkeeper:org:acme:admins" {
		t.Fatalf("AdminGroup = %q", got)
	}
	if AdminGroup("acme") == AdminGroup("acme-eu") {
		t.Fatal("two organizations share an admin group")
	}
}

func TestAdministersIsWhatTheOperatorsRBACBinds(t *testing.T) {
	admins := []iamv1.Subject{
		{Kind: iamv1.SubjectUser, Name: "Bob@Acme.example"},
		{Kind: iamv1.SubjectGroup, Name: "acme-it"},
		{Kind: iamv1.SubjectUser, Name: ""},
		{Kind: iamv1.SubjectGroup, Name: ""},
	}
	for _, c := range []struct {
		name      string
		username  string
		adminRole bool
		groups    []string
		want      bool
	}{
		{"the admin role", "carol@acme.example", true, nil, true},
		{"a User of spec.admins, any ASCII case (RBAC sees both lower-cased)", "bob@acme.EXAMPLE", false, nil, true},
		{"a member of a Group of spec.admins", "dave@acme.example", false, []string{"staff", "acme-it"}, true},
		{"groups compare exactly, as RBAC does", "dave@acme.example", false, []string{"ACME-IT"}, false},
		{"nobody named", "erin@acme.example", false, []string{"staff"}, false},
		{"an empty subject names nobody", "", false, []string{""}, false},
		{"a group name is not a user name", "acme-it", false, nil, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Administers("acme", admins, c.username, c.adminRole, c.groups); got != c.want {
				t.Fatalf("Administers = %v, want %v", got, c.want)
			}
		})
	}
}

func TestAdministersMatchesTheSubjectNamesTheRoleBindingsCarry(t *testing.T) {
	// The RoleBinding subject for a spec.admins User of acme is the name
	// kube-apiserver gives acme's user of that username, and no other
	// organization's.
	name, group := KubeAdminSubject("acme", iamv1.Subject{Kind: iamv1.SubjectUser, Name: "Bob@acme.example"})
	if group || name != KubeUser("acme", "bob@acme.example") || name == KubeUser("acme-eu", "bob@acme.example") {
		t.Fatalf("KubeAdminSubject(User) = %q, %v", name, group)
	}
	name, group = KubeAdminSubject("acme", iamv1.Subject{Kind: iamv1.SubjectGroup, Name: "acme-it"})
	if !group || name != KubeGroup("acme-it") {
		t.Fatalf("KubeAdminSubject(Group) = %q, %v", name, group)
	}
}
