package rules

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
)

// deepChain is a real hierarchy: a root and n-1 organizations, each the
// only child of the one above, with the namespaces the reconciler makes.
func deepChain(n int) ([]*iamv1.Organization, []*corev1.Namespace) {
	orgs := []*iamv1.Organization{testOrg(testSystemNamespace, "o0", 0)}
	for i := 1; i < n; i++ {
		orgs = append(orgs, testOrg(orgs[i-1].Name, fmt.Sprintf("o%d", i), 0))
	}
	var namespaces []*corev1.Namespace
	for _, o := range orgs {
		namespaces = append(namespaces, nsOf(o))
	}
	return orgs, namespaces
}

// An admin who nests organizations MaxDepth deep is told about the limit,
// not that the organization would be its own ancestor, which it is not.
func TestPlaceTellsAHierarchyTooDeepFromALoop(t *testing.T) {
	orgs, namespaces := deepChain(MaxDepth)
	if p := Place(orgs[MaxDepth-1], testSystemNamespace, newMapHierarchy(orgs, namespaces...)); !p.Placed() || len(p.Chain) != MaxDepth {
		t.Fatalf("an organization MaxDepth deep, root included, is not placed: %q %s", p.Reason, p.Message)
	}
	orgs, namespaces = deepChain(MaxDepth + 1)
	p := Place(orgs[MaxDepth], testSystemNamespace, newMapHierarchy(orgs, namespaces...))
	if p.Placed() || p.Reason != iamv1.ReasonHierarchyCycle {
		t.Fatalf("Place = %q %v, want not placed", p.Reason, p.Path())
	}
	if strings.Contains(p.Message, "own ancestor") || !strings.Contains(p.Message, fmt.Sprint(MaxDepth)) {
		t.Fatalf("message %q does not name the depth limit", p.Message)
	}
}

// Whoever may update a namespace can write its labels and annotations, not
// its creation time: a namespace that existed before the organization was
// created is not the organization's, however it is annotated.
func TestANamespaceOlderThanTheOrganizationIsNotItsOwn(t *testing.T) {
	acme := testOrg("platform", "acme", 30)
	at := func(sec int) *corev1.Namespace {
		ns := nsOf(acme)
		ns.CreationTimestamp = metav1.NewTime(acme.CreationTimestamp.Add(time.Duration(sec) * time.Second))
		return ns
	}
	cases := []struct {
		name    string
		ns      *corev1.Namespace
		belongs bool
	}{
		{"the namespace the operator made after the organization is its own", at(1), true},
		{"one stamped in the same second is its own", at(0), true},
		{"one that looks a little older (another API server's clock) is its own", at(-int(NamespaceClockSkew / time.Second)), true},
		{"one that existed well before the organization, annotated for it later, is not", at(-30), false},
		{"a namespace built by hand without a creation time is compared by labels alone", nsOf(acme), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := NamespaceBelongsTo(tc.ns, acme); got != tc.belongs {
				t.Fatalf("NamespaceBelongsTo = %v, want %v", got, tc.belongs)
			}
		})
	}
}
