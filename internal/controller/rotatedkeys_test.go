package controller

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// rotatedKeySecretSpecs are the specs that hold for every Secret of keys the
// leader creates and rotates (rotatedKeySecret): it never overwrites a Secret
// it cannot read, and the manager creates it in the system namespace. Call
// it inside the Describe of one kind of keys; ns and r return the spec's
// namespace and reconciler, set by that Describe's BeforeEach.
func rotatedKeySecretSpecs(secretName string, unusable map[string][]byte, parse func(map[string][]byte) error,
	ns func() string, r func() reconcile.Reconciler) {
	It("refuses to overwrite an unusable Secret, and says how to recover", func() {
		Expect(k8s.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns(), Name: secretName},
			Data:       unusable,
		})).To(Succeed())
		_, err := r().Reconcile(ctx, reconcile.Request{})
		Expect(err).To(MatchError(ContainSubstring("delete it to generate new keys")))
		Expect(err).To(MatchError(reconcile.TerminalError(nil)))
		s := &corev1.Secret{}
		Expect(k8s.Get(ctx, types.NamespacedName{Namespace: ns(), Name: secretName}, s)).To(Succeed())
		Expect(s.Data).To(Equal(unusable), "the broken Secret was overwritten")
	})

	It("exists in the system namespace once the manager runs", func() {
		Eventually(func(g Gomega) {
			s := &corev1.Secret{}
			g.Expect(k8s.Get(ctx, types.NamespacedName{Namespace: systemNamespace, Name: secretName}, s)).To(Succeed())
			g.Expect(parse(s.Data)).To(Succeed())
		}).Should(Succeed())
	})
}
