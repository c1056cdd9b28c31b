package rules

import iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"

// AdminGroup is the Kubernetes group whose members administer the named
// organization: the operator's RoleBindings name it, and tokens carry it in
// the groups claim of the organization's administrators.
func AdminGroup(org string) string { return "orgkeeper:org:" + org + ":admins" }

// KubeAdminSubject is the Kubernetes name that the operator's RoleBindings
// give a subject of an organization's spec.admins, and whether it is a
// group: a User is a user of that organization (KubeUser), a Group a value
// of the groups claim (KubeGroup). Names the subject as the issuer's
// tokens name their holders, so that nothing else can match it.
func KubeAdminSubject(org string, s iamv1.Subject) (name string, group bool) {
	if s.Kind == iamv1.SubjectGroup {
		return KubeGroup(s.Name), true
	}
	return KubeUser(org, s.Name), false
}

// BindsAdminSubject reports whether a subject of spec.admins binds anyone:
// not a Group whose name has a reserved prefix (ReservedGroupPrefixes).
// Tokens never carry such a name from spec.groups; the only one they
// carry is the admin group (AdminGroup) of the holder's own organization,
// or of the one an administrator switched into. Bound as a subject, it
// would make the admins of another organization, anywhere in the tree,
// administrators of this one, which no user of another organization may
// be by spec.admins.
func BindsAdminSubject(s iamv1.Subject) bool {
	return s.Name != "" && (s.Kind != iamv1.SubjectGroup || !ReservedGroup(s.Name))
}

// Administers reports whether a user of organization org administers it:
// the admin role (adminRole), or a subject of the organization's
// spec.admins that the user's tokens match in kube-apiserver, a User with
// the user's username or a Group among the groups of the user's tokens
// (tokenGroups, the groups claim as rules.TokenGroups made it). It is the
// same set of people that the operator's RBAC lets administer org with
// kubectl, so that what the issuer allows an administrator (switching into
// a sub-organization) and what the cluster allows them cannot disagree.
// Only org's own spec.admins count: an ancestor's name a user of the
// ancestor, never of org.
func Administers(org string, admins []iamv1.Subject, username string, adminRole bool, tokenGroups []string) bool {
	if adminRole {
		return true
	}
	user := KubeUser(org, username)
	for _, s := range admins {
		if !BindsAdminSubject(s) {
			continue
		}
		name, group := KubeAdminSubject(org, s)
		if !group {
			if s.Name != "" && name == user {
				return true
			}
			continue
		}
		for _, g := range tokenGroups {
			if s.Name != "" && KubeGroup(g) == name {
				return true
			}
		}
	}
	return false
}
