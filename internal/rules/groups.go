package rules

import (
	"slices"
	"strings"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
)

// ReservedGroupPrefixes start group names that Kubernetes or Orgkeeper grant
// privileges by; a user's own spec.groups never put them into a token. The
// check ignores case, which is stricter than Kubernetes needs.
var ReservedGroupPrefixes = []string{"system:", "orgkeeper:"}

// ReservedGroup reports whether g starts with a reserved prefix.
func ReservedGroup(g string) bool {
	for _, p := range ReservedGroupPrefixes {
		if len(g) >= len(p) && strings.EqualFold(g[:len(p)], p) {
			return true
		}
	}
	return false
}

// AdminGroupBindings indexes the groups that Organizations bind as Group
// subjects in spec.admins (case folded), with the place of each binding
// organization. Build it once with BindAdminGroups and pass it to
// TokenGroups for every user.
type AdminGroupBindings map[string][]OrgPlace

// OrgPlace is an organization and its path from the root (status.path).
type OrgPlace struct {
	Name string
	Path []string
}

// BindAdminGroups indexes the Group subjects of spec.admins of every placed
// organization (one whose status.path ends with its name). An unplaced one
// has no RoleBindings yet, and is indexed once it is placed.
func BindAdminGroups(orgs []iamv1.Organization) AdminGroupBindings {
	out := AdminGroupBindings{}
	for i := range orgs {
		o := &orgs[i]
		if p := o.Status.Path; len(p) > 0 && p[len(p)-1] == o.Name {
			out.Bind(o, p)
		}
	}
	return out
}

// Bind indexes the Group subjects of o's spec.admins as bound by o at path.
// An organization may be indexed at more than one path (its status.path and
// where the namespaces place it, while its status is not written yet): each
// entry only makes a group foreign to more users, never to fewer.
func (b AdminGroupBindings) Bind(o *iamv1.Organization, path []string) {
	for _, s := range o.Spec.Admins {
		if s.Kind != iamv1.SubjectGroup || s.Name == "" {
			continue
		}
		key := strings.ToLower(s.Name)
		b[key] = append(b[key], OrgPlace{Name: o.Name, Path: path})
	}
}

// InSubtree reports whether the organization at path is the one at root or
// one of its descendants.
func InSubtree(path, root []string) bool {
	return len(root) > 0 && len(path) >= len(root) && slices.Equal(path[:len(root)], root)
}

// foreignBinder returns an organization outside the subtree at orgPath whose
// spec.admins bind group, the first by name.
func (b AdminGroupBindings) foreignBinder(group string, orgPath []string) (string, bool) {
	found := ""
	for _, p := range b[strings.ToLower(group)] {
		if !InSubtree(p.Path, orgPath) && (found == "" || p.Name < found) {
			found = p.Name
		}
	}
	return found, found != ""
}

// DroppedGroup is a name of spec.groups that tokens do not carry, and why.
type DroppedGroup struct {
	Group string
	// BoundBy is the organization outside the user's subtree whose
	// spec.admins bind the group; empty when the name is reserved.
	BoundBy string
}

// TokenGroups is the groups claim of a user of the organization at orgPath:
// spec.groups without empty names, duplicates, names with a reserved
// prefix, and names that an organization outside the user's organization's
// subtree binds as an admin Group subject (its ancestors, siblings and
// cousins); then AdminGroup of the organization for its administrators. A
// group that only the user's organization or its descendants bind is kept:
// their admins, who create the user, could grant what it grants anyway.
//
// Why: an organization admin writes spec.groups. Without the filter, an
// admin of a sub-organization could give a user the root's admin group and
// every relying party trusting the groups claim (kube-apiserver above all)
// would grant the user what the root's admins have. Comparisons ignore
// case, which is stricter than Kubernetes needs.
//
// snapshot.Build (the claim) and the OrgUser reconciler (the
// ClaimsRestricted condition) both call it.
func TokenGroups(groups []string, orgPath []string, admin bool, bound AdminGroupBindings) (kept []string, dropped []DroppedGroup) {
	kept = make([]string, 0, len(groups)+1)
	for _, g := range groups {
		if g == "" || slices.Contains(kept, g) || slices.ContainsFunc(dropped, func(d DroppedGroup) bool { return d.Group == g }) {
			continue
		}
		if ReservedGroup(g) {
			dropped = append(dropped, DroppedGroup{Group: g})
			continue
		}
		if by, ok := bound.foreignBinder(g, orgPath); ok {
			dropped = append(dropped, DroppedGroup{Group: g, BoundBy: by})
			continue
		}
		kept = append(kept, g)
	}
	if admin && len(orgPath) > 0 {
		kept = append(kept, AdminGroup(orgPath[len(orgPath)-1]))
	}
	return kept, dropped
}
