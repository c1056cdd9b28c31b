package controller

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
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
