package controller

import (
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/rules"
	"github.com/orgkeeper/orgkeeper/internal/validation"
)

// This file holds the pure decisions of the Organization reconciler: where an
// organization sits in the hierarchy, who administers it, and which of its
// domains it holds. They take objects and return values; the reconciler does
// the reading and writing.

// placement is where an organization sits in the hierarchy.
type placement struct {
	check
	parent string
	path   []string
}

// chooseRoot returns the name of the root among the Organizations in the
// system namespace: the oldest, then the smallest name.
func chooseRoot(candidates []iamv1.Organization) string {
	var root *iamv1.Organization
	for i := range candidates {
		if root == nil || rules.Older(&candidates[i].ObjectMeta, &root.ObjectMeta) < 0 {
			root = &candidates[i]
		}
	}
	if root == nil {
		return ""
	}
	return root.Name
}

// place decides where org sits. parent is the Organization named like org's
// namespace (nil if none); root is the name of the installation's root.
func place(org *iamv1.Organization, systemNamespace string, parent *iamv1.Organization, root string) placement {
	if org.Namespace == systemNamespace {
		if org.Name != root {
			return placement{check: failed(iamv1.ReasonMultipleRoots,
				"organization %q is already the root of this installation, and there is one root; "+
					"create %q in the namespace of its parent organization instead (for example %q)", root, org.Name, root)}
		}
		return placement{check: passed(iamv1.ReasonReconciled, "root organization"), path: []string{org.Name}}
	}
	if parent == nil {
		return placement{check: failed(iamv1.ReasonOrganizationNotFound,
			"namespace %q belongs to no organization; an Organization lives in its parent organization's namespace "+
				"(the root lives in %q)", org.Namespace, systemNamespace)}
	}
	if len(parent.Status.Path) == 0 || parent.Status.Namespace != org.Namespace {
		return placement{check: failed(iamv1.ReasonParentNotReady,
			"parent organization %q has no namespace of its own yet; see its status", parent.Name)}
	}
	if slices.Contains(parent.Status.Path, org.Name) {
		return placement{check: failed(iamv1.ReasonHierarchyCycle,
			"organization %q would be its own ancestor (path %s)", org.Name, strings.Join(parent.Status.Path, "/"))}
	}
	path := make([]string, 0, len(parent.Status.Path)+1)
	path = append(append(path, parent.Status.Path...), org.Name)
	return placement{check: passed(iamv1.ReasonReconciled, "placed under %q", parent.Name), parent: parent.Name, path: path}
}

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
			s := rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: rules.KubeUser(o.Name, a.Name)}
			if a.Kind == iamv1.SubjectGroup {
				s = rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: rules.KubeGroup(a.Name)}
			}
			add(s)
		}
	}
	return out
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

// verificationValue is the value of the TXT record that proves control of a
// domain for an organization: derived from the organization's UID, so it is
// stable, differs between organizations and cannot be guessed before the
// Organization exists.
func verificationValue(uid, domain string) string {
	sum := sha256.Sum256([]byte("orgkeeper-domain-verification\x00" + uid + "\x00" + domain))
	return "orgkeeper-verify=" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:20]))
}

// VerificationRecord is the TXT record, as shown in status, that verifies
// domain for the organization with the given UID.
func VerificationRecord(uid, domain string) string {
	return "_orgkeeper-challenge." + domain + " TXT " + verificationValue(uid, domain)
}

// resolveDomains decides the state of each domain org claims. claimants maps
// each of org's domains to the organizations that claim it (org among them
// or not). rules.DomainHolder decides who holds each domain, the same rule
// by which the snapshot routes logins: a domain stays with the organization
// whose status shows it verified; otherwise, under None, the oldest claimant
// gets it, and under DNS org waits for its TXT record (the DNS check itself
// runs elsewhere).
func resolveDomains(org *iamv1.Organization, mode iamv1.DomainVerificationMode, claimants map[iamv1.Domain][]*iamv1.Organization) []iamv1.DomainStatus {
	if len(org.Spec.Domains) == 0 {
		return nil
	}
	out := make([]iamv1.DomainStatus, 0, len(org.Spec.Domains))
	for _, d := range org.Spec.Domains {
		st := iamv1.DomainStatus{Name: d, VerificationRecord: VerificationRecord(string(org.UID), string(d))}
		if err := validation.Domain(string(d)); err != nil {
			// The snapshot never routes a domain that fails validation
			// (stored before a CRD rule existed): say so rather than show
			// it verified.
			st.VerificationRecord = ""
			st.Reason = iamv1.DomainFailed
			st.Message = err.Error() + "; remove it from spec.domains or correct it"
			out = append(out, st)
			continue
		}
		claims := []rules.DomainClaim{{Org: &org.ObjectMeta, Verified: holdsDomain(org, d)}}
		for _, o := range claimants[d] {
			if o.UID != org.UID && slices.Contains(o.Spec.Domains, d) {
				claims = append(claims, rules.DomainClaim{Org: &o.ObjectMeta, Verified: holdsDomain(o, d)})
			}
		}
		switch holder := rules.DomainHolder(mode, claims); {
		case holder > 0:
			// The holder is not named: it may be a sibling or an ancestor,
			// which this organization's admins must not learn of. The
			// root's admins find it by the domain (kubectl get org -A).
			st.Reason = iamv1.DomainConflict
			st.Message = "another organization already holds this domain; it stays with that organization until it " +
				"releases it. Remove the domain from spec.domains, or ask the installation's administrators"
		case holder == 0:
			st.Verified = true
		default:
			st.Reason = iamv1.DomainPending
			st.Message = "publish the TXT record in verificationRecord to verify this domain"
		}
		out = append(out, st)
	}
	return out
}

// holdsDomain reports whether the organization's status shows domain d
// verified: it holds d.
func holdsDomain(o *iamv1.Organization, d iamv1.Domain) bool {
	return slices.ContainsFunc(o.Status.Domains, func(s iamv1.DomainStatus) bool { return s.Name == d && s.Verified })
}

// domainsCheck summarises domain states as the DomainsVerified condition.
func domainsCheck(domains []iamv1.DomainStatus) check {
	if len(domains) == 0 {
		return passed(iamv1.ReasonNoDomains, "the organization claims no domains")
	}
	var conflict, invalid, pending []string
	for _, d := range domains {
		switch {
		case d.Verified:
		case d.Reason == iamv1.DomainConflict:
			conflict = append(conflict, string(d.Name))
		case d.Reason == iamv1.DomainFailed:
			invalid = append(invalid, string(d.Name))
		default:
			pending = append(pending, string(d.Name))
		}
	}
	switch {
	case len(conflict) > 0:
		return failed(string(iamv1.DomainConflict), "held by another organization: %s", strings.Join(conflict, ", "))
	case len(invalid) > 0:
		return failed(string(iamv1.DomainFailed), "not valid domains (see status.domains): %s", strings.Join(invalid, ", "))
	case len(pending) > 0:
		return failed(string(iamv1.DomainPending), "waiting for DNS verification: %s", strings.Join(pending, ", "))
	}
	return passed(iamv1.ReasonAllVerified, "all %d domains are verified", len(domains))
}

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
