package controller

import (
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

// Helpers shared by the specs of every kind.

// conditioned is an object with status conditions.
type conditioned interface {
	client.Object
	GetConditions() []metav1.Condition
}

// create applies the mutations to obj, creates it and returns it.
func create[T client.Object](obj T, mutate ...func(T)) T {
	GinkgoHelper()
	for _, m := range mutate {
		m(obj)
	}
	Expect(k8s.Create(ctx, obj)).To(Succeed())
	return obj
}

// createFrom sends ForCreate's copy of a snapshottest object to the API
// server and returns it as created. It first waits for the object's
// namespace: an organization's namespace appears only once the operator
// has placed the organization, and a spec must not race that.
func createFrom[T st.Object, P interface {
	*T
	client.Object
}](obj T) P {
	GinkgoHelper()
	p := P(st.ForCreate(obj))
	if ns := p.GetNamespace(); ns != "" {
		Eventually(func() error {
			return k8s.Get(ctx, types.NamespacedName{Name: ns}, &corev1.Namespace{})
		}).Should(Succeed(), "namespace %s of the new %T %s", ns, p, p.GetName())
	}
	Expect(k8s.Create(ctx, p)).To(Succeed())
	return p
}

// rootName is the installation's root, which every container's
// organizations sit below.
const rootName = "platform"

// ensureRoot creates the root unless an earlier spec did, and waits until
// it is Ready. Its admins are the group platform-team, which specs of
// delegated administration rely on.
func ensureRoot() {
	GinkgoHelper()
	if apierrors.IsNotFound(k8s.Get(ctx, types.NamespacedName{Namespace: systemNamespace, Name: rootName}, &iamv1.Organization{})) {
		createFrom(st.Org(rootName, st.InSystemNamespace(systemNamespace),
			st.WithDisplayName("Platform"), st.WithAdminGroups("platform-team")))
	}
	eventuallyReady(systemNamespace, rootName)
}

// ensureOrg creates the organization name under parent (st.Org with
// WithParent and opts) unless an earlier spec did, and waits until it is
// Ready. Specs of one container share their organizations this way.
func ensureOrg(name, parent string, opts ...st.OrgOption) {
	GinkgoHelper()
	if apierrors.IsNotFound(k8s.Get(ctx, types.NamespacedName{Namespace: parent, Name: name}, &iamv1.Organization{})) {
		createFrom(st.Org(name, append([]st.OrgOption{st.WithParent(parent)}, opts...)...))
	}
	eventuallyReady(parent, name)
}

// get reads namespace/name into obj and returns it.
func get[T client.Object](obj T, namespace, name string) T {
	GinkgoHelper()
	Expect(k8s.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, obj)).To(Succeed())
	return obj
}

// update applies change to the current object, retrying when the operator's
// status write got in between.
func update[T client.Object](newObj func() T, namespace, name string, change func(T)) {
	GinkgoHelper()
	Eventually(func() error {
		o := get(newObj(), namespace, name)
		change(o)
		return k8s.Update(ctx, o)
	}).Should(Succeed())
}

// eventuallyConditionOf waits until the object's condition has the status
// and reason for its current generation, and returns the object as it was
// then.
func eventuallyConditionOf[T conditioned](newObj func() T, namespace, name, typ string, status metav1.ConditionStatus, reason string) T {
	GinkgoHelper()
	var o T
	Eventually(func(g Gomega) {
		o = newObj()
		g.Expect(k8s.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, o)).To(Succeed())
		c := meta.FindStatusCondition(o.GetConditions(), typ)
		g.Expect(c).NotTo(BeNil(), "condition %s", typ)
		g.Expect(c.Status).To(Equal(status), "condition %s: %s", typ, c.Message)
		g.Expect(c.Reason).To(Equal(reason), "condition %s: %s", typ, c.Message)
		g.Expect(c.ObservedGeneration).To(Equal(o.GetGeneration()))
	}).Should(Succeed())
	return o
}
