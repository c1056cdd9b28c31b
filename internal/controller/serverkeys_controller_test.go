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

var _ = Describe("Server keys", func() {
	// Each spec runs its own reconciler on a namespace of its own, with a
	// clock it controls, so that rotating does not disturb the suite's keys.
	var (
		ns  string
		now time.Time
		r   *ServerKeyReconciler
	)
	secretKey := func() types.NamespacedName {
		return types.NamespacedName{Namespace: ns, Name: projection.ServerKeySecret}
	}
	readKeys := func() *keys.ServerKeys {
		GinkgoHelper()
		s := &corev1.Secret{}
		Expect(k8s.Get(ctx, secretKey(), s)).To(Succeed())
		k, err := keys.ServerKeysFromSecretData(s.Data)
		Expect(err).NotTo(HaveOccurred())
		return k
	}
	BeforeEach(func() {
		ns = "serverkeys-" + utilrand.String(6)
		Expect(k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
		now = time.Now().UTC().Truncate(time.Second)
		r = &ServerKeyReconciler{Client: k8s, SystemNamespace: ns, RotationPeriod: time.Hour, Now: func() time.Time { return now }}
	})

	It("creates the crypto and CSRF keys in a labelled Secret and requeues for the rotation", func() {
		res, err := r.Reconcile(ctx, reconcile.Request{})
		Expect(err).NotTo(HaveOccurred())
		Expect(res.RequeueAfter).To(Equal(time.Hour))
		s := &corev1.Secret{}
		Expect(k8s.Get(ctx, secretKey(), s)).To(Succeed())
		Expect(s.Labels).To(HaveKeyWithValue(iamv1.LabelManagedBy, iamv1.ManagedByValue))
		k := readKeys()
		Expect(k.Created).To(BeTemporally("==", now))
		Expect(k.PreviousCrypto).To(BeNil())
	})

	It("leaves the keys alone until the rotation is due, then rotates keeping the previous ones", func() {
		_, err := r.Reconcile(ctx, reconcile.Request{})
		Expect(err).NotTo(HaveOccurred())
		first := readKeys()

		now = now.Add(59 * time.Minute)
		res, err := r.Reconcile(ctx, reconcile.Request{})
		Expect(err).NotTo(HaveOccurred())
		Expect(res.RequeueAfter).To(Equal(time.Minute))
		Expect(readKeys().Equal(first)).To(BeTrue(), "keys changed before the rotation was due")

		now = now.Add(time.Minute)
		_, err = r.Reconcile(ctx, reconcile.Request{})
		Expect(err).NotTo(HaveOccurred())
		rotated := readKeys()
		Expect(rotated.Crypto).NotTo(Equal(first.Crypto))
		Expect(rotated.CSRF).NotTo(Equal(first.CSRF))
		Expect(rotated.PreviousCrypto).To(HaveValue(Equal(first.Crypto)))
		Expect(rotated.PreviousCSRF).To(HaveValue(Equal(first.CSRF)))
		Expect(rotated.Crypto).To(Equal(*first.NextCrypto), "the next keys, published a period ahead, become current")
		Expect(rotated.CSRF).To(Equal(*first.NextCSRF))
	})

	rotatedKeySecretSpecs(projection.ServerKeySecret, map[string][]byte{keys.ServerKeyCrypto: []byte("short")},
		func(d map[string][]byte) error { _, err := keys.ServerKeysFromSecretData(d); return err },
		func() string { return ns }, func() reconcile.Reconciler { return r })
})
