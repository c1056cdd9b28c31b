package devenv_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/orgkeeper/orgkeeper/internal/devenv"
)

var _ = Describe("Demo passwords", Ordered, func() {
	var c client.Client

	BeforeAll(func(ctx SpecContext) {
		env := startEnv(ctx, devenv.Options{StateDir: GinkgoT().TempDir(), Log: GinkgoLogr})
		var err error
		c, err = client.New(env.Config, client.Options{Scheme: scheme.Scheme})
		Expect(err).NotTo(HaveOccurred())
	}, NodeTimeout(10*time.Minute))

	orgUser := func(name string) *unstructured.Unstructured {
		u := object("iam.orgkeeper.io/v1alpha1", "OrgUser", "default", name)
		u.Object["spec"] = map[string]any{
			"email":                    name + "@demo.example",
			"initialPasswordSecretRef": map[string]any{"name": name + "-initial", "key": "password"},
		}
		return u
	}

	It("makes a password for a new user, and none for a user that has one already (dev restarted)", func(ctx SpecContext) {
		fresh, known := orgUser("fresh"), orgUser("known")
		Expect(c.Create(ctx, known.DeepCopy())).To(Succeed())
		stored := &unstructured.Unstructured{}
		stored.SetGroupVersionKind(known.GroupVersionKind())
		Expect(c.Get(ctx, client.ObjectKeyFromObject(known), stored)).To(Succeed())
		Expect(unstructured.SetNestedField(stored.Object, true, "status", "passwordSet")).To(Succeed())
		Expect(c.Status().Update(ctx, stored)).To(Succeed())

		logins, err := devenv.DemoPasswords(ctx, c, []*unstructured.Unstructured{fresh, known})
		Expect(err).NotTo(HaveOccurred())
		Expect(logins).To(HaveLen(1))
		Expect(logins[0].Email).To(Equal("fresh@demo.example"))
		Expect(c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "fresh-initial"}, &corev1.Secret{})).To(Succeed())
		Expect(apierrors.IsNotFound(c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "known-initial"}, &corev1.Secret{}))).To(BeTrue(),
			"a Secret for a user with a password would be deleted unread, and the printed password would be wrong")
	})
})
