package rules

import (
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
)

const testSystemNamespace = "orgkeeper-system"

// testOrg is an Organization named name in namespace ns, created at
// second sec of a fixed hour. (This package cannot use snapshottest: it
// imports rules.)
func testOrg(ns, name string, sec int) *iamv1.Organization {
	return &iamv1.Organization{ObjectMeta: metav1.ObjectMeta{
		Namespace: ns, Name: name, UID: types.UID("uid-" + ns + "-" + name),
		CreationTimestamp: metav1.NewTime(time.Date(2026, 1, 1, 0, 0, sec, 0, time.UTC)),
	}}
}

// nsOf is the namespace the reconciler makes for o.
func nsOf(o *iamv1.Organization) *corev1.Namespace {
	return NewNamespace(o)
}

// mapHierarchy is a Hierarchy over a list of organizations and namespaces.
type mapHierarchy struct {
	orgs       []*iamv1.Organization
	namespaces map[string]*corev1.Namespace
}

func newMapHierarchy(orgs []*iamv1.Organization, namespaces ...*corev1.Namespace) *mapHierarchy {
	h := &mapHierarchy{orgs: orgs, namespaces: map[string]*corev1.Namespace{}}
	for _, ns := range namespaces {
		h.namespaces[ns.Name] = ns
	}
	return h
}

func (h *mapHierarchy) NamespaceOwner(name string) (*iamv1.Organization, bool) {
	named := false
	for _, o := range h.orgs {
		if o.Name != name {
			continue
		}
		named = true
		if NamespaceHolds(h.namespaces[name], o) {
			return o, true
		}
	}
	return nil, named
}

func (h *mapHierarchy) Root() string {
	var roots []*iamv1.Organization
	for _, o := range h.orgs {
		if o.Namespace == testSystemNamespace {
			roots = append(roots, o)
		}
	}
	return ChooseRoot(roots)
}

func TestChooseRoot(t *testing.T) {
	cases := []struct {
		name string
		orgs []*iamv1.Organization
		want string
	}{
		{"no candidates means no root", nil, ""},
		{"the only candidate is the root", []*iamv1.Organization{testOrg(testSystemNamespace, "platform", 0)}, "platform"},
		{"the oldest candidate is the root whatever its name",
			[]*iamv1.Organization{testOrg(testSystemNamespace, "aaa", 9), testOrg(testSystemNamespace, "zzz", 0)}, "zzz"},
		{"candidates created in the same second are ordered by name",
			[]*iamv1.Organization{testOrg(testSystemNamespace, "zzz", 0), testOrg(testSystemNamespace, "aaa", 0)}, "aaa"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := ChooseRoot(tc.orgs); got != tc.want {
				t.Fatalf("ChooseRoot = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestNamespaceBelongsTo(t *testing.T) {
	acme := testOrg("platform", "acme", 0)
	edit := func(f func(ns *corev1.Namespace)) *corev1.Namespace {
		ns := nsOf(acme)
		f(ns)
		return ns
	}
	deleting := edit(func(ns *corev1.Namespace) { ns.DeletionTimestamp = &metav1.Time{Time: time.Unix(1, 0)} })
	cases := []struct {
		name          string
		ns            *corev1.Namespace
		org           *iamv1.Organization
		belongs, hold bool
	}{
		{"the namespace the reconciler made belongs to the organization and holds it", nsOf(acme), acme, true, true},
		{"a namespace being deleted still belongs to it but holds nothing", deleting, acme, true, false},
		{"a namespace annotated with another UID is another's (a recreated organization of that name)",
			edit(func(ns *corev1.Namespace) { ns.Annotations[iamv1.AnnotationOrganizationUID] = "uid-other" }), acme, false, false},
		{"a namespace labelled for another organization is not acme's",
			edit(func(ns *corev1.Namespace) { ns.Labels[iamv1.LabelOrganization] = "globex" }), acme, false, false},
		{"a namespace that another tool relabelled as managed by it is nobody's (the operator's cache no longer sees it)",
			edit(func(ns *corev1.Namespace) { ns.Labels[iamv1.LabelManagedBy] = "Helm" }), acme, false, false},
		{"a namespace of another name is not acme's, whatever it says",
			edit(func(ns *corev1.Namespace) { ns.Name = "acme-copy" }), acme, false, false},
		{"a namespace without labels or annotations (somebody else's) is nobody's",
			&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "acme"}}, acme, false, false},
		{"an organization without a UID owns nothing",
			nsOf(&iamv1.Organization{ObjectMeta: metav1.ObjectMeta{Name: "acme"}}), &iamv1.Organization{ObjectMeta: metav1.ObjectMeta{Name: "acme"}}, false, false},
		{"no namespace belongs to nobody", nil, acme, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := NamespaceBelongsTo(tc.ns, tc.org); got != tc.belongs {
				t.Errorf("NamespaceBelongsTo = %v, want %v", got, tc.belongs)
			}
			if got := NamespaceHolds(tc.ns, tc.org); got != tc.hold {
				t.Errorf("NamespaceHolds = %v, want %v", got, tc.hold)
			}
		})
	}
}

func TestPlace(t *testing.T) {
	sys := testSystemNamespace
	platform := testOrg(sys, "platform", 0)
	other := testOrg(sys, "other", 5)
	acme := testOrg("platform", "acme", 1)
	eu := testOrg("acme", "acme-eu", 2)
	stray := testOrg("default", "stray", 3)
	// A forged loop: x lives in y's namespace and y in x's, and each
	// namespace is annotated for the other's organization.
	x, y := testOrg("y", "x", 4), testOrg("x", "y", 4)
	// An organization named like its grandparent.
	again := testOrg("acme", "platform", 6)
	all := []*iamv1.Organization{platform, other, acme, eu, stray, x, y, again}

	cases := []struct {
		name       string
		org        *iamv1.Organization
		namespaces []*corev1.Namespace
		wantReason string
		wantPath   []string
	}{
		{"the root sits alone at the top, before its namespace exists", platform, nil, "", []string{"platform"}},
		{"a second organization in the system namespace is refused as a second root",
			other, []*corev1.Namespace{nsOf(platform)}, iamv1.ReasonMultipleRoots, nil},
		{"an organization in a namespace of no organization has no parent", stray, nil, iamv1.ReasonOrganizationNotFound, nil},
		{"a child of a parent without a namespace waits for it", acme, nil, iamv1.ReasonParentNotReady, nil},
		{"a child of a parent whose namespace is being deleted waits",
			acme, []*corev1.Namespace{func() *corev1.Namespace {
				ns := nsOf(platform)
				ns.DeletionTimestamp = &metav1.Time{Time: time.Unix(1, 0)}
				return ns
			}()}, iamv1.ReasonParentNotReady, nil},
		{"a child of a parent whose namespace is somebody else's waits",
			acme, []*corev1.Namespace{{ObjectMeta: metav1.ObjectMeta{Name: "platform"}}}, iamv1.ReasonParentNotReady, nil},
		{"a child sits under its parent once the parent's namespace holds it",
			acme, []*corev1.Namespace{nsOf(platform)}, "", []string{"platform", "acme"}},
		{"a grandchild waits while an ancestor's namespace is missing",
			eu, []*corev1.Namespace{nsOf(acme)}, iamv1.ReasonParentNotReady, nil},
		{"a grandchild extends the whole path",
			eu, []*corev1.Namespace{nsOf(platform), nsOf(acme)}, "", []string{"platform", "acme", "acme-eu"}},
		{"a chain of namespaces that does not end at the root places nothing",
			x, []*corev1.Namespace{nsOf(x), nsOf(y)}, iamv1.ReasonHierarchyCycle, nil},
		{"an organization named like one of its ancestors would be its own ancestor",
			again, []*corev1.Namespace{nsOf(platform), nsOf(acme)}, iamv1.ReasonHierarchyCycle, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := Place(tc.org, sys, newMapHierarchy(all, tc.namespaces...))
			if p.Reason != tc.wantReason || !slices.Equal(p.Path(), tc.wantPath) && tc.wantPath != nil {
				t.Fatalf("Place = %q %v (%s), want %q %v", p.Reason, p.Path(), p.Message, tc.wantReason, tc.wantPath)
			}
			if p.Placed() != (tc.wantPath != nil) {
				t.Fatalf("Placed = %v, want %v", p.Placed(), tc.wantPath != nil)
			}
			if !p.Placed() && p.Message == "" {
				t.Fatal("an organization without a place gets no message")
			}
			if p.Placed() && (p.Chain[len(p.Chain)-1] != tc.org || p.Chain[0].Name != "platform") {
				t.Fatalf("Chain = %v, want the root down to the organization", p.Path())
			}
		})
	}
}

// A loop of namespaces longer than MaxDepth that never names one
// organization twice still ends.
func TestPlaceEndsOnALongForgedLoop(t *testing.T) {
	const n = MaxDepth + 10
	orgs := make([]*iamv1.Organization, n)
	for i := range orgs {
		orgs[i] = testOrg("o"+strings.Repeat("x", (i+1)%n), "o"+strings.Repeat("x", i), 0)
	}
	var namespaces []*corev1.Namespace
	for _, o := range orgs {
		namespaces = append(namespaces, nsOf(o))
	}
	p := Place(orgs[0], testSystemNamespace, newMapHierarchy(orgs, namespaces...))
	if p.Placed() || p.Reason != iamv1.ReasonHierarchyCycle {
		t.Fatalf("Place = %q %v, want a HierarchyCycle", p.Reason, p.Path())
	}
}
