package rules

// AdminGroup is the Kubernetes group whose members administer the named
// organization: the operator's RoleBindings name it, and tokens carry it in
// the groups claim of the organization's administrators.
func AdminGroup(org string) string { return "orgkeeper:org:" + org + ":admins" }
