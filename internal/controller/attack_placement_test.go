package controller

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/rules"
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
	// itself) can write its labels and annotations. Were those enough, an
	// admin elsewhere who also had that right could create an organization
	// of the namespace's name (it gets NamespaceConflict) and annotate the
	// namespace for it: the operator would adopt it and bind the admins
	// there, with all its Secrets, whether it is another organization's
	// namespace or one that was never an organization's. Its creation time,
	// which only the API server writes, is older than the squatter.
	It("does not hand an existing namespace to a newer organization, however it is labelled and annotated", func() {
		ensureOrg("ap-victim", rootName)
		ensureOrg("ap-evil", rootName)
		create(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ap-plain"}})
		// The rule allows for clocks of API servers that disagree a little
		// (rules.NamespaceClockSkew); the squatters are created once both
		// namespaces are clearly older.
		var newest time.Time
		for _, name := range []string{"ap-victim", "ap-plain"} {
			if t := get(&corev1.Namespace{}, "", name).CreationTimestamp.Time; t.After(newest) {
				newest = t
			}
		}
		Eventually(func() bool { return time.Now().After(newest.Add(rules.NamespaceClockSkew + time.Second)) }).
			WithTimeout(rules.NamespaceClockSkew + 5*time.Second).Should(BeTrue())

		squatters := map[string]*iamv1.Organization{}
		for _, name := range []string{"ap-victim", "ap-plain"} {
			squatters[name] = createFrom(st.Org(name, st.WithParent("ap-evil")))
			eventuallyCondition("ap-evil", name, iamv1.ConditionReady, metav1.ConditionFalse, iamv1.ReasonNamespaceConflict)
		}
		victimUID := get(&corev1.Namespace{}, "", "ap-victim").Annotations[iamv1.AnnotationOrganizationUID]
		DeferCleanup(func() {
			update(func() *corev1.Namespace { return &corev1.Namespace{} }, "", "ap-victim", func(ns *corev1.Namespace) {
				ns.Annotations[iamv1.AnnotationOrganizationUID] = victimUID
			})
			eventuallyReady(rootName, "ap-victim")
		})
		for name, sq := range squatters {
			update(func() *corev1.Namespace { return &corev1.Namespace{} }, "", name, func(ns *corev1.Namespace) {
				if ns.Labels == nil {
					ns.Labels = map[string]string{}
				}
				if ns.Annotations == nil {
					ns.Annotations = map[string]string{}
				}
				ns.Labels[iamv1.LabelOrganization] = name
				ns.Labels[iamv1.LabelManagedBy] = iamv1.ManagedByValue
				ns.Annotations[iamv1.AnnotationOrganizationUID] = string(sq.UID)
			})
		}
		evilAdmins := rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: rules.KubeGroup(rules.AdminGroup("ap-evil"))}
		Consistently(func(g Gomega) {
			for _, name := range []string{"ap-victim", "ap-plain"} {
				sq := getOrg("ap-evil", name)
				g.Expect(sq.Status.Namespace).To(BeEmpty(), "the squatter %s took the namespace", name)
				rb := &rbacv1.RoleBinding{}
				err := k8s.Get(ctx, types.NamespacedName{Namespace: name, Name: adminBindingName}, rb)
				if err == nil {
					g.Expect(rb.Subjects).NotTo(ContainElement(evilAdmins), "ap-evil's admins are bound in %s", name)
				} else {
					g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "%v", err)
				}
			}
		}, "3s").Should(Succeed())
	})
})
