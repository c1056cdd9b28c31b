package rules

import (
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
)

// MaxDepth bounds how many organizations a path from the root may hold. No
// real hierarchy comes near it; it ends the walk of a forged loop of
// namespaces (each annotated for an organization living in the other).
const MaxDepth = 64

// ChooseRoot returns the name of the root among the Organizations in the
// system namespace: the oldest, then the smallest name; "" when there is
// none.
func ChooseRoot(candidates []*iamv1.Organization) string {
	var root *iamv1.Organization
	for _, c := range candidates {
		if root == nil || Older(&c.ObjectMeta, &root.ObjectMeta) < 0 {
			root = c
		}
	}
	if root == nil {
		return ""
	}
	return root.Name
}

// NamespaceBelongsTo reports whether ns is the namespace the operator made
// for org: named and labelled like org, labelled as managed by the
// operator, annotated with its UID, and not older than org. Nothing else
// counts as an organization's namespace, whatever it is called: the
// operator neither changes nor uses a namespace that does not belong to the
// organization of that name. The managed-by label counts because the
// operator's cache, and so the server, sees no namespace without it: a
// namespace that another tool relabelled is nobody's, for the reconciler as
// for the server.
//
// Labels and annotations can be written by whoever may update the
// namespace; creation times only by the API server. The operator makes an
// organization's namespace after the organization (it needs its UID), so a
// namespace older than the organization was made for something else, and
// annotating it for an organization (one of the same name created
// elsewhere, for instance) does not make it that organization's.
func NamespaceBelongsTo(ns *corev1.Namespace, org *iamv1.Organization) bool {
	return ns != nil && org != nil && org.UID != "" && ns.Name == org.Name &&
		ns.Labels[iamv1.LabelOrganization] == org.Name &&
		ns.Labels[iamv1.LabelManagedBy] == iamv1.ManagedByValue &&
		ns.Annotations[iamv1.AnnotationOrganizationUID] == string(org.UID) &&
		!madeBefore(ns, org)
}

// NewNamespace is the namespace the operator makes for org: named and
// labelled like it, labelled as managed by the operator and annotated with
// its UID, so that NamespaceBelongsTo recognises it (and the operator's
// label-filtered cache holds it). The API server stamps its creation time.
func NewNamespace(org *iamv1.Organization) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name:        org.Name,
		Labels:      map[string]string{iamv1.LabelOrganization: org.Name, iamv1.LabelManagedBy: iamv1.ManagedByValue},
		Annotations: map[string]string{iamv1.AnnotationOrganizationUID: string(org.UID)},
	}}
}

// NamespaceClockSkew is how much older than its organization a namespace
// may look and still be the one the operator made for it: creation times
// are whole seconds, stamped by whichever API server took the request.
const NamespaceClockSkew = 5 * time.Second

// madeBefore reports whether ns existed before org was created. Objects
// without a creation time (built by hand, in tests and the development
// environment) are not compared: the API server stamps every stored one.
func madeBefore(ns *corev1.Namespace, org *iamv1.Organization) bool {
	if ns.CreationTimestamp.IsZero() || org.CreationTimestamp.IsZero() {
		return false
	}
	return ns.CreationTimestamp.Add(NamespaceClockSkew).Before(org.CreationTimestamp.Time)
}

// NamespaceHolds reports whether ns is org's namespace and can hold what
// the organization has (its users, applications and sub-organizations):
// it belongs to org and is not being deleted.
func NamespaceHolds(ns *corev1.Namespace, org *iamv1.Organization) bool {
	return NamespaceBelongsTo(ns, org) && ns.DeletionTimestamp.IsZero()
}

// Hierarchy is what Place looks up: the world as the caller sees it (the
// reconciler's cache, or the snapshot's input).
type Hierarchy interface {
	// NamespaceOwner returns the Organization that the namespace of this
	// name holds (NamespaceHolds), or nil; named reports whether any
	// Organization has this name at all.
	NamespaceOwner(namespace string) (owner *iamv1.Organization, named bool)
	// Root is the name of the installation's root (ChooseRoot of the
	// Organizations in the system namespace).
	Root() string
}

// Placement is where an organization sits in the hierarchy, or why it sits
// nowhere.
type Placement struct {
	// Chain holds the organizations from the root down to the placed one;
	// nil when it is not placed.
	Chain []*iamv1.Organization
	// Reason and Message say why it is not placed (an iamv1.Reason*).
	Reason, Message string
}

// Placed reports whether the organization has a place.
func (p Placement) Placed() bool { return len(p.Chain) > 0 }

// Path returns the names along Chain, root first.
func (p Placement) Path() []string {
	path := make([]string, len(p.Chain))
	for i, o := range p.Chain {
		path[i] = o.Name
	}
	return path
}

// Place decides where org sits in the hierarchy. An Organization lives in
// its parent's namespace, and the root in the system namespace; so org's
// parent is the organization that the namespace org lives in holds, and
// its place is under that parent's place, up to the root. Only namespaces
// decide: what any status says plays no part, so the reconciler (which
// writes status.path from this) and the snapshot (which serves from it)
// agree from the moment the namespaces exist.
//
// Place does not look at org's own namespace: an organization has a place
// before its namespace exists (the reconciler creates it once placed).
func Place(org *iamv1.Organization, systemNamespace string, h Hierarchy) Placement {
	chain := []*iamv1.Organization{org}
	for cur := org; cur.Namespace != systemNamespace; {
		parent, named := h.NamespaceOwner(cur.Namespace)
		switch {
		case parent == nil && cur == org && !named:
			return notPlaced(iamv1.ReasonOrganizationNotFound,
				"namespace %q belongs to no organization; an Organization lives in its parent organization's namespace "+
					"(the root lives in %q)", org.Namespace, systemNamespace)
		case parent == nil && cur == org:
			return notPlaced(iamv1.ReasonParentNotReady,
				"parent organization %q has no namespace of its own yet; see its status", org.Namespace)
		case parent == nil:
			return notPlaced(iamv1.ReasonParentNotReady,
				"ancestor organization %q has no namespace of its own; see its status", cur.Namespace)
		case slices.ContainsFunc(chain, func(o *iamv1.Organization) bool { return o.Name == parent.Name }):
			return notPlaced(iamv1.ReasonHierarchyCycle,
				"organization %q would be its own ancestor (path %s)", org.Name, strings.Join(reversedNames(append(chain, parent)), "/"))
		case len(chain) >= MaxDepth:
			// A real hierarchy this deep, or a loop of namespaces too long
			// to tell from one: either way the walk ends here.
			return notPlaced(iamv1.ReasonHierarchyCycle,
				"organization %q would sit more than %d organizations below the top of the hierarchy; "+
					"organizations nest at most %d deep, root included", org.Name, MaxDepth-1, MaxDepth)
		}
		chain = append(chain, parent)
		cur = parent
	}
	top := chain[len(chain)-1]
	if root := h.Root(); top.Name != root {
		if top == org {
			return notPlaced(iamv1.ReasonMultipleRoots,
				"organization %q is already the root of this installation, and there is one root; "+
					"create %q in the namespace of its parent organization instead (for example %q)", root, org.Name, root)
		}
		return notPlaced(iamv1.ReasonParentNotReady,
			"ancestor organization %q is not the root of this installation; see its status", top.Name)
	}
	slices.Reverse(chain)
	return Placement{Chain: chain}
}

func notPlaced(reason, format string, args ...any) Placement {
	return Placement{Reason: reason, Message: fmt.Sprintf(format, args...)}
}

func reversedNames(chain []*iamv1.Organization) []string {
	names := make([]string, len(chain))
	for i, o := range chain {
		names[len(chain)-1-i] = o.Name
	}
	return names
}
