package controller

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/controller/projection"
	"github.com/orgkeeper/orgkeeper/internal/keys"
)

var _ = Describe("Signing keys", func() {
	// As for the server keys: a reconciler of its own per spec, on its own
	// namespace, with a clock the spec controls.
	var (
		ns  string
		now time.Time
		r   *SigningKeyReconciler
	)
	secretKey := func() types.NamespacedName {
		return types.NamespacedName{Namespace: ns, Name: projection.SigningKeySecret}
	}
	readKeys := func() *keys.KeySet {
		GinkgoHelper()
		s := &corev1.Secret{}
		Expect(k8s.Get(ctx, secretKey(), s)).To(Succeed())
		set, err := keys.FromSecretData(s.Data)
		Expect(err).NotTo(HaveOccurred())
		return set
	}
	current := func(set *keys.KeySet) *keys.Key {
		GinkgoHelper()
		p, ok := set.Pair(keys.DefaultAlgorithm)
		Expect(ok).To(BeTrue())
		return p.Current
	}
	BeforeEach(func() {
		ns = "signingkeys-" + utilrand.String(6)
		Expect(k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
		now = time.Now().UTC().Truncate(time.Second)
		r = &SigningKeyReconciler{Client: k8s, SystemNamespace: ns, RotationPeriod: time.Hour, Now: func() time.Time { return now }}
	})

	It("creates a key of every algorithm in a labelled Secret and requeues for the rotation", func() {
		res, err := r.Reconcile(ctx, reconcile.Request{})
		Expect(err).NotTo(HaveOccurred())
		Expect(res.RequeueAfter).To(Equal(time.Hour))
		s := &corev1.Secret{}
		Expect(k8s.Get(ctx, secretKey(), s)).To(Succeed())
		Expect(s.Labels).To(HaveKeyWithValue(iamv1.LabelManagedBy, iamv1.ManagedByValue))
		set := readKeys()
		Expect(set.SignatureAlgorithms()).To(ConsistOf(keys.Algorithms()))
		Expect(current(set).Created()).To(BeTemporally("==", now))
	})

	It("leaves the keys alone until the rotation is due, then rotates keeping the previous key published", func() {
		_, err := r.Reconcile(ctx, reconcile.Request{})
		Expect(err).NotTo(HaveOccurred())
		first := current(readKeys())

		now = now.Add(59 * time.Minute)
		res, err := r.Reconcile(ctx, reconcile.Request{})
		Expect(err).NotTo(HaveOccurred())
		Expect(res.RequeueAfter).To(Equal(time.Minute))
		Expect(current(readKeys()).ID()).To(Equal(first.ID()), "the key changed before the rotation was due")

		now = now.Add(time.Minute)
		_, err = r.Reconcile(ctx, reconcile.Request{})
		Expect(err).NotTo(HaveOccurred())
		p, ok := readKeys().Pair(keys.DefaultAlgorithm)
		Expect(ok).To(BeTrue())
		Expect(p.Current.ID()).NotTo(Equal(first.ID()))
		Expect(p.Previous).NotTo(BeNil())
		Expect(p.Previous.ID()).To(Equal(first.ID()))
	})

	rotatedKeySecretSpecs(projection.SigningKeySecret, map[string][]byte{keys.IndexKey: []byte("not json")},
		func(d map[string][]byte) error { _, err := keys.FromSecretData(d); return err },
		func() string { return ns }, func() reconcile.Reconciler { return r })
})
