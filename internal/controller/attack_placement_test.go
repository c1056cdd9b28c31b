package controller

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

// Attacks on where an organization sits (rules.Place), which the
// reconciler and the snapshot decide from the namespaces alone.
var _ = Describe("Placement attack", func() {
	BeforeEach(func() { ensureRoot() })

	// app.kubernetes.io/managed-by is a label that deployment tools set on
	// what they adopt. The operator's cache, and so the server, sees only
	// namespaces that carry its own value: once another tool's value
	// replaces it, the organization is no longer served, and its status
	// must say why rather than wait for the server forever.
	It("reports a namespace that lost the operator's managed-by label as not the organization's, as the server treats it", func() {
		ensureOrg("ap-relabel", rootName)
		update(func() *corev1.Namespace { return &corev1.Namespace{} }, "", "ap-relabel", func(ns *corev1.Namespace) {
			ns.Labels[iamv1.LabelManagedBy] = "Helm"
		})
		DeferCleanup(func() {
			update(func() *corev1.Namespace { return &corev1.Namespace{} }, "", "ap-relabel", func(ns *corev1.Namespace) {
				ns.Labels[iamv1.LabelManagedBy] = iamv1.ManagedByValue
			})
			eventuallyReady(rootName, "ap-relabel")
		})
		o := eventuallyCondition(rootName, "ap-relabel", iamv1.ConditionReady, metav1.ConditionFalse, iamv1.ReasonNamespaceConflict)
		Expect(readyMessage(o.Status.Conditions)).To(ContainSubstring(iamv1.LabelManagedBy))
		Expect(o.Status.Namespace).To(BeEmpty())

		// A child below it is not placed either, and says so.
		createFrom(st.Org("ap-relabel-child", st.WithParent("ap-relabel")))
		eventuallyCondition("ap-relabel", "ap-relabel-child", iamv1.ConditionReady, metav1.ConditionFalse, iamv1.ReasonParentNotReady)
	})

	// Whoever may patch one namespace (a RoleBinding there granting
	// namespaces update, which Kubernetes honours for the namespace
	// itself) can re-annotate an organization's namespace for another
	// organization of that name, which an admin elsewhere created (it has
	// NamespaceConflict). The namespace then decides: the squatter is
	// placed and served with it, and its admins get the victim's
	// namespace, users and Secrets. Stopping that needs a design decision
	// (an admission policy that lets only the operator set or change the
	// organization label, the managed-by label and the UID annotation of
	// namespaces; or the namespace's UID recorded where only the operator
	// writes, and a namespace never adopted by a second organization).
	It("keeps an organization's namespace with it when somebody re-annotates the namespace for a same-named organization elsewhere", func() {
		Skip("needs a design change: namespace labels and annotations are trusted as they are (see the comment above)")
		ensureOrg("ap-victim", rootName)
		ensureOrg("ap-evil", rootName, st.WithAdminGroups("ap-evil-admins"))
		squatter := createFrom(st.Org("ap-victim", st.WithParent("ap-evil")))
		eventuallyCondition("ap-evil", "ap-victim", iamv1.ConditionReady, metav1.ConditionFalse, iamv1.ReasonNamespaceConflict)

		update(func() *corev1.Namespace { return &corev1.Namespace{} }, "", "ap-victim", func(ns *corev1.Namespace) {
			ns.Annotations[iamv1.AnnotationOrganizationUID] = string(squatter.UID)
		})
		Consistently(func(g Gomega) {
			g.Expect(getOrg(rootName, "ap-victim").Status.Namespace).To(Equal("ap-victim"))
			g.Expect(getOrg("ap-evil", "ap-victim").Status.Namespace).To(BeEmpty())
		}, "5s").Should(Succeed())
	})
})
