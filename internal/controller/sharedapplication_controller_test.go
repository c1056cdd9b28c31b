package controller

import (
	"encoding/base64"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

func getApp(namespace, name string) *iamv1.SharedApplication {
	GinkgoHelper()
	return get(newApp(), namespace, name)
}

func newApp() *iamv1.SharedApplication { return &iamv1.SharedApplication{} }

// updateApp applies mutate to the current application, retrying on conflict.
func updateApp(namespace, name string, mutate func(*iamv1.SharedApplication)) {
	GinkgoHelper()
	update(newApp, namespace, name, mutate)
}

// eventuallyAppCondition waits for one of the application's conditions.
func eventuallyAppCondition(namespace, name, typ string, status metav1.ConditionStatus, reason string) *iamv1.SharedApplication {
	GinkgoHelper()
	return eventuallyConditionOf(newApp, namespace, name, typ, status, reason)
}

func eventuallyAppReady(namespace, name string) *iamv1.SharedApplication {
	return eventuallyAppCondition(namespace, name, iamv1.ConditionReady, metav1.ConditionTrue, iamv1.ReasonReconciled)
}

func readyMessage(conds []metav1.Condition) string {
	c := meta.FindStatusCondition(conds, iamv1.ConditionReady)
	if c == nil {
		return ""
	}
	return c.Message
}

// clientSecret returns the generated client Secret of an application.
func clientSecret(namespace, app string) *corev1.Secret {
	s := &corev1.Secret{}
	ExpectWithOffset(1, k8s.Get(ctx, types.NamespacedName{Namespace: namespace, Name: snapshot.GeneratedClientSecretName(app)}, s)).To(Succeed())
	return s
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

func secretAbsent(namespace, name string) bool {
	return apierrors.IsNotFound(k8s.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, &corev1.Secret{}))
}

var _ = Describe("SharedApplication", func() {
	// Applications are registered by "sa", a subtree of its own, so that
	// organizations other specs create elsewhere do not show up in sharing.
	const reg = "sa"
	BeforeEach(func() {
		ensureRoot()
		ensureOrg(reg, rootName)
	})

	It("generates a strong client secret once, keeps it, regenerates it when deleted and deletes it with the application", func() {
		createFrom(st.App(reg, "portal"))
		a := eventuallyAppReady(reg, "portal")
		Expect(a.Status.ClientID).To(Equal(reg+"/portal"), "an application below the root is qualified by its organization")
		Expect(a.Status.ClientSecretName).To(Equal("portal-oidc-client"))
		eventuallyAppCondition(reg, "portal", iamv1.ConditionSecretFound, metav1.ConditionTrue, iamv1.ReasonReconciled)

		s := clientSecret(reg, "portal")
		Expect(string(s.Data[snapshot.ClientIDKey])).To(Equal(reg + "/portal"))
		secret := string(s.Data[snapshot.ClientSecretKey])
		raw, err := base64.RawURLEncoding.DecodeString(secret)
		Expect(err).NotTo(HaveOccurred(), "the client secret is unpadded base64url")
		Expect(raw).To(HaveLen(32), "256 bits of entropy")
		distinct := map[byte]bool{}
		for _, b := range raw {
			distinct[b] = true
		}
		Expect(len(distinct)).To(BeNumerically(">=", 20), "32 random bytes are almost all distinct")
		Expect(metav1.IsControlledBy(s, a)).To(BeTrue(), "the application owns its Secret")
		Expect(s.Labels).To(HaveKeyWithValue(iamv1.LabelOrganization, reg))

		// The secret shows up nowhere but in the Secret.
		for _, c := range a.Status.Conditions {
			Expect(c.Message).NotTo(ContainSubstring(secret))
		}

		// Another pass (a spec change) keeps the secret as it is.
		updateApp(reg, "portal", func(a *iamv1.SharedApplication) { a.Spec.DisplayName = "Portal, renamed" })
		eventuallyAppReady(reg, "portal")
		Consistently(func() string { return clientSecret(reg, "portal").ResourceVersion }, "1s").Should(Equal(s.ResourceVersion))

		// A second application gets a secret of its own.
		createFrom(st.App(reg, "portal-two"))
		eventuallyAppReady(reg, "portal-two")
		Expect(string(clientSecret(reg, "portal-two").Data[snapshot.ClientSecretKey])).NotTo(Equal(secret))

		// Deleted by hand: a new one, with a new value.
		Expect(k8s.Delete(ctx, s)).To(Succeed())
		Eventually(func(g Gomega) {
			n := &corev1.Secret{}
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(s), n)).To(Succeed())
			g.Expect(n.UID).NotTo(Equal(s.UID))
			g.Expect(string(n.Data[snapshot.ClientSecretKey])).To(HaveLen(43))
			g.Expect(string(n.Data[snapshot.ClientSecretKey])).NotTo(Equal(secret))
		}).Should(Succeed())

		// Deleting the application deletes the Secret (envtest runs no
		// garbage collector: this is the reconciler's own doing).
		Expect(k8s.Delete(ctx, getApp(reg, "portal"))).To(Succeed())
		Eventually(func() bool { return secretAbsent(reg, "portal-oidc-client") }).Should(BeTrue())
		Expect(secretAbsent(reg, "portal-two-oidc-client")).To(BeFalse())
	})

	It("uses the Secret named by clientSecretRef, reporting it missing until it exists", func() {
		createFrom(st.App(reg, "own", st.WithClientSecretRef("own-credentials")))
		a := eventuallyAppCondition(reg, "own", iamv1.ConditionSecretFound, metav1.ConditionFalse, iamv1.ReasonSecretNotFound)
		eventuallyAppCondition(reg, "own", iamv1.ConditionReady, metav1.ConditionFalse, iamv1.ReasonSecretNotFound)
		Expect(readyMessage(a.Status.Conditions)).To(ContainSubstring("own-credentials"))
		Expect(secretAbsent(reg, "own-oidc-client")).To(BeTrue(), "nothing is generated when a Secret is referenced")

		// A Secret without the key is still not enough.
		own := createFrom(st.Secret(reg, "own-credentials", "password", "not-the-right-key"))
		Eventually(func() string { return readyMessage(getApp(reg, "own").Status.Conditions) }).Should(ContainSubstring(`no key "client-secret"`))

		own.Data = map[string][]byte{"client-secret": []byte("my-own-very-long-client-secret-value")}
		Expect(k8s.Update(ctx, own)).To(Succeed())
		a = eventuallyAppReady(reg, "own")
		eventuallyAppCondition(reg, "own", iamv1.ConditionSecretFound, metav1.ConditionTrue, iamv1.ReasonReconciled)
		Expect(a.Status.ClientSecretName).To(Equal("own-credentials"))
		Expect(secretAbsent(reg, "own-oidc-client")).To(BeTrue())
	})

	It("gives a Public client no secret, and removes the generated one when a client becomes Public", func() {
		createFrom(st.App(reg, "spa", st.Public()))
		a := eventuallyAppReady(reg, "spa")
		Expect(a.Status.ClientSecretName).To(BeEmpty())
		Expect(secretAbsent(reg, "spa-oidc-client")).To(BeTrue())

		createFrom(st.App(reg, "native"))
		eventuallyAppReady(reg, "native")
		Expect(secretAbsent(reg, "native-oidc-client")).To(BeFalse())
		updateApp(reg, "native", func(a *iamv1.SharedApplication) { a.Spec.ClientType = iamv1.ClientTypePublic })
		Eventually(func() bool { return secretAbsent(reg, "native-oidc-client") }).Should(BeTrue())
		a = eventuallyAppReady(reg, "native")
		Expect(a.Status.ClientSecretName).To(BeEmpty())
	})

	It("never touches a Secret of the generated name that belongs to something else", func() {
		foreign := createFrom(st.Secret(reg, "clash-oidc-client", "client-secret", "x"))
		createFrom(st.App(reg, "clash"))
		a := eventuallyAppCondition(reg, "clash", iamv1.ConditionReady, metav1.ConditionFalse, iamv1.ReasonSecretConflict)
		Expect(readyMessage(a.Status.Conditions)).To(ContainSubstring("clash-oidc-client"))
		s := &corev1.Secret{}
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(foreign), s)).To(Succeed())
		Expect(s.ResourceVersion).To(Equal(foreign.ResourceVersion), "the Secret was modified")

		// Deleting the application leaves the foreign Secret alone too.
		Expect(k8s.Delete(ctx, a)).To(Succeed())
		Consistently(func() bool { return secretAbsent(reg, "clash-oidc-client") }, "1s").Should(BeFalse())
	})

	It("reports an application outside an organization's namespace and creates nothing for it", func() {
		Expect(k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "plain-apps"}})).To(Succeed())
		createFrom(st.App("plain-apps", "stray"))
		eventuallyAppCondition("plain-apps", "stray", iamv1.ConditionReady, metav1.ConditionFalse, iamv1.ReasonOrganizationNotFound)
		Expect(secretAbsent("plain-apps", "stray-oidc-client")).To(BeTrue())
	})

	Describe("sharing", func() {
		BeforeEach(func() {
			if apierrors.IsNotFound(k8s.Get(ctx, types.NamespacedName{Namespace: reg, Name: "sa-acme"}, &iamv1.Organization{})) {
				createFrom(st.Org("sa-acme", st.WithParent(reg)))
				createFrom(st.Org("sa-globex", st.WithParent(reg)))
				createFrom(st.Org("sa-acme-eu", st.WithParent("sa-acme")))
			}
			eventuallyReady(reg, "sa-acme")
			eventuallyReady(reg, "sa-globex")
			eventuallyReady("sa-acme", "sa-acme-eu")
		})

		It("resolves All to the whole subtree, including organizations created later", func() {
			// Other specs of this container add organizations to the
			// subtree too; the assertions allow for them.
			createFrom(st.App(reg, "everyone", st.SharedWithAll()))
			Eventually(func() []string { return getApp(reg, "everyone").Status.SharedWith }).
				Should(ContainElements("sa-acme", "sa-acme-eu", "sa-globex"))
			a := eventuallyAppReady(reg, "everyone")
			Expect(a.Status.SharedWith).NotTo(ContainElements(reg), "the registering organization is not listed")
			Expect(a.Status.SharedWith).NotTo(ContainElements(rootName), "nothing above the registering organization")
			Expect(a.Status.SharedWith).To(BeEquivalentTo(sortedCopy(a.Status.SharedWith)))

			createFrom(st.Org("sa-globex-jp", st.WithParent("sa-globex")))
			Eventually(func() []string { return getApp(reg, "everyone").Status.SharedWith }).
				Should(ContainElements("sa-acme", "sa-acme-eu", "sa-globex", "sa-globex-jp"))

			// None shares with nobody else.
			createFrom(st.App(reg, "only-us"))
			a = eventuallyAppReady(reg, "only-us")
			Expect(a.Status.SharedWith).To(BeEmpty())
		})

		It("resolves Selected, with and without includeSubOrganizations", func() {
			createFrom(st.App(reg, "picky", st.SharedWith(false, "sa-acme")))
			Eventually(func() []string { return getApp(reg, "picky").Status.SharedWith }).Should(Equal([]string{"sa-acme"}))
			eventuallyAppReady(reg, "picky")

			updateApp(reg, "picky", func(a *iamv1.SharedApplication) { a.Spec.Sharing.IncludeSubOrganizations = true })
			Eventually(func() []string { return getApp(reg, "picky").Status.SharedWith }).Should(Equal([]string{"sa-acme", "sa-acme-eu"}))
			eventuallyAppReady(reg, "picky")
		})

		It("reports listed organizations that do not exist, shares with the others, and picks them up once created", func() {
			createFrom(st.App(reg, "hopeful", st.SharedWith(false, "sa-globex", "sa-initech", rootName)))
			a := eventuallyAppCondition(reg, "hopeful", iamv1.ConditionReady, metav1.ConditionFalse, iamv1.ReasonSharedOrganizationNotFound)
			msg := readyMessage(a.Status.Conditions)
			Expect(msg).To(ContainSubstring("sa-initech"))
			Expect(msg).To(ContainSubstring(rootName), "an organization above the registering one is outside its subtree")
			Expect(msg).NotTo(ContainSubstring("sa-globex"))
			Expect(a.Status.SharedWith).To(Equal([]string{"sa-globex"}))

			// The organization appears: the application picks it up by itself.
			createFrom(st.Org("sa-initech", st.WithParent(reg)))
			Eventually(func() []string { return getApp(reg, "hopeful").Status.SharedWith }).Should(Equal([]string{"sa-globex", "sa-initech"}))
			a = eventuallyAppCondition(reg, "hopeful", iamv1.ConditionReady, metav1.ConditionFalse, iamv1.ReasonSharedOrganizationNotFound)
			Expect(readyMessage(a.Status.Conditions)).NotTo(ContainSubstring("sa-initech"))

			updateApp(reg, "hopeful", func(a *iamv1.SharedApplication) {
				a.Spec.Sharing.Organizations = []string{"sa-globex", "sa-initech"}
			})
			a = eventuallyAppReady(reg, "hopeful")
			Expect(a.Status.SharedWith).To(Equal([]string{"sa-globex", "sa-initech"}))
		})
	})
})
