package controller

import (
	"fmt"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/rules"
)

// This file holds the pure decisions of the Organization reconciler: who
// administers an organization, and which of its domains it holds (where it
// sits is rules.Place, which the snapshot shares). They take objects and return values; the reconciler does
// the reading and writing.

// adminSubjects returns the RBAC subjects that administer an organization,
// given the chain of organizations from the root down to it (or down to the
// organization whose own admins are wanted, when chain has one element):
// each one's admin group and spec.admins, without duplicates, in a stable
// order. The names are those kube-apiserver gives the holders of this
// issuer's tokens (rules.KubeGroup, rules.KubeUser): a spec.admins User is
// a user of the organization that names it, a Group a value of the groups
// claim. A name that no token can produce would bind nobody, and a raw name
// would bind whatever the cluster's other authenticators call that.
func adminSubjects(chain []*iamv1.Organization) []rbacv1.Subject {
	var out []rbacv1.Subject
	seen := map[rbacv1.Subject]bool{}
	add := func(s rbacv1.Subject) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, o := range chain {
		add(rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: rules.KubeGroup(rules.AdminGroup(o.Name))})
		for _, a := range o.Spec.Admins {
			if !rules.BindsAdminSubject(a) {
				continue
			}
			name, group := rules.KubeAdminSubject(o.Name, a)
			kind := rbacv1.UserKind
			if group {
				kind = rbacv1.GroupKind
			}
			add(rbacv1.Subject{Kind: kind, APIGroup: rbacv1.GroupName, Name: name})
		}
	}
	return out
}

// ignoredAdminsNote tells, for RBACReady's message, which of the
// organization's own spec.admins bind nobody (rules.BindsAdminSubject), so
// that an admin who wrote one learns why it grants nothing.
func ignoredAdminsNote(org *iamv1.Organization) string {
	var ignored []string
	for _, a := range org.Spec.Admins {
		if a.Name != "" && !rules.BindsAdminSubject(a) {
			ignored = append(ignored, fmt.Sprintf("%s %q", strings.ToLower(string(a.Kind)), a.Name))
		}
	}
	if len(ignored) == 0 {
		return ""
	}
	return "; spec.admins " + strings.Join(ignored, ", ") + " binds nobody: names starting with orgkeeper: or system: are reserved"
}

// Names of the RBAC objects the operator maintains. The colon keeps them apart
// from anything an organization admin may create, and from each other.
const (
	// adminBindingName is the RoleBinding in every organization namespace.
	adminBindingName = "orgkeeper:admins"
	// OrgAdminClusterRole is the ClusterRole that adminBindingName binds.
	OrgAdminClusterRole = "orgkeeper-org-admin"
)

// selfRoleName is the Role and RoleBinding in the parent's namespace that let
// an organization's admins manage their own Organization object.
func selfRoleName(org string) string { return "orgkeeper:org:" + org }

// rootOnlyCheck refuses root-only settings on other organizations.
func rootOnlyCheck(org *iamv1.Organization, isRoot bool) check {
	if isRoot {
		return passed(iamv1.ReasonReconciled, "")
	}
	var fields []string
	if org.Spec.SelfService != nil {
		fields = append(fields, "spec.selfService")
	}
	if org.Spec.DomainVerification != "" {
		fields = append(fields, "spec.domainVerification")
	}
	if len(fields) > 0 {
		return failed(iamv1.ReasonRootOnlySetting,
			"%s can only be set on the root organization; remove it from %q", strings.Join(fields, " and "), org.Name)
	}
	return passed(iamv1.ReasonReconciled, "")
}

// blockedMessage says what keeps an organization with deletionPolicy Block
// from being deleted.
func blockedMessage(children, users []string) string {
	const show = 5
	list := func(kind string, names []string) string {
		slices.Sort(names)
		if len(names) > show {
			return fmt.Sprintf("%d %s (%s, ...)", len(names), kind, strings.Join(names[:show], ", "))
		}
		return fmt.Sprintf("%s %s", kind, strings.Join(names, ", "))
	}
	var parts []string
	if len(children) > 0 {
		parts = append(parts, list("child organizations", children))
	}
	if len(users) > 0 {
		parts = append(parts, list("users", users))
	}
	return "deletion is blocked by " + strings.Join(parts, " and ") +
		"; delete them first, or set spec.deletionPolicy to Cascade to delete the whole subtree"
}

// plural returns one when n is 1, else many, for status messages that count.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
