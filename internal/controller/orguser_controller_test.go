package controller

import (
	"encoding/json"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/credentials"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

func getUser(namespace, name string) *iamv1.OrgUser {
	GinkgoHelper()
	return get(newUser(), namespace, name)
}

func newUser() *iamv1.OrgUser { return &iamv1.OrgUser{} }

func updateUser(namespace, name string, mutate func(*iamv1.OrgUser)) {
	GinkgoHelper()
	update(newUser, namespace, name, mutate)
}

// eventuallyUserReady waits for the user's Ready condition.
func eventuallyUserReady(namespace, name string, status metav1.ConditionStatus, reason string) *iamv1.OrgUser {
	GinkgoHelper()
	return eventuallyConditionOf(newUser, namespace, name, iamv1.ConditionReady, status, reason)
}

func credentialSecret(u *iamv1.OrgUser) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: systemNamespace, Name: credentials.SecretName(string(u.UID))}}
}

var _ = Describe("OrgUser", func() {
	const org = "ou"
	BeforeEach(func() {
		ensureRoot()
		ensureOrg(org, rootName)
	})

	It("hashes the initial password into the system namespace and never reads it again", func() {
		const password = "Tr0ub4dor&3-horse"
		initial := createFrom(st.Secret(org, "alice-initial", "password", password))
		createFrom(st.User(org, "alice", "alice@ou.example", st.WithInitialPassword("alice-initial", "password")))

		u := eventuallyUserReady(org, "alice", metav1.ConditionTrue, iamv1.ReasonReconciled)
		Expect(u.Status.PasswordSet).To(BeTrue())
		Expect(u.Status.ID).To(Equal(string(u.UID)))
		Expect(u.Status.State).To(Equal(iamv1.OrgUserStateActive))
		Expect(u.Finalizers).To(ContainElement(credentials.Finalizer))

		cred := credentialSecret(u)
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(cred), cred)).To(Succeed())
		Expect(cred.Labels).To(HaveKeyWithValue(credentials.LabelOrgUser, "alice"))
		Expect(cred.Labels).To(HaveKeyWithValue(iamv1.LabelOrganization, org))
		Expect(cred.Labels).To(HaveKeyWithValue(credentials.LabelCredentialUser, string(u.UID)))
		hash := string(cred.Data[credentials.PasswordHashKey])
		Expect(hash).To(HavePrefix("$argon2id$v=19$m=19456,t=2,p=1$"))
		Expect(credentials.Verify(hash, password)).To(BeTrue())
		Expect(credentials.Verify(hash, password+"x")).To(BeFalse())

		// Neither the password nor its hash is in the user's status or in events.
		status, err := json.Marshal(u.Status)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(status)).NotTo(Or(ContainSubstring(password), ContainSubstring("argon2")))
		var notes []string
		Eventually(func(g Gomega) {
			evs := &eventsv1.EventList{}
			g.Expect(k8s.List(ctx, evs, client.InNamespace(org))).To(Succeed())
			notes = nil
			for _, e := range evs.Items {
				if e.Regarding.Name == "alice" {
					notes = append(notes, e.Reason+": "+e.Note)
				}
			}
			g.Expect(notes).To(ContainElement(HavePrefix("PasswordSet:")))
		}).Should(Succeed())
		for _, n := range notes {
			Expect(n).NotTo(Or(ContainSubstring(password), ContainSubstring("argon2")))
		}

		// The initial password Secret is deleted once hashed; nothing else
		// changes.
		eventuallyGone(initial)
		Consistently(func(g Gomega) {
			u := getUser(org, "alice")
			g.Expect(meta.IsStatusConditionTrue(u.Status.Conditions, iamv1.ConditionReady)).To(BeTrue(), readyMessage(u.Status.Conditions))
			g.Expect(u.Status.PasswordSet).To(BeTrue())
			now := &corev1.Secret{}
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(cred), now)).To(Succeed())
			g.Expect(now.ResourceVersion).To(Equal(cred.ResourceVersion))
		}, "2s").Should(Succeed())
	})

	It("reports a missing initial password Secret or key, naming it, until it is there", func() {
		createFrom(st.User(org, "bob", "bob@ou.example", st.WithInitialPassword("bob-initial", "password")))
		u := eventuallyUserReady(org, "bob", metav1.ConditionFalse, iamv1.ReasonSecretNotFound)
		Expect(readyMessage(u.Status.Conditions)).To(ContainSubstring(`"bob-initial"`))
		Expect(u.Status.PasswordSet).To(BeFalse())

		s := createFrom(st.Secret(org, "bob-initial", "pw", "correct horse battery staple"))
		Eventually(func() string { return readyMessage(getUser(org, "bob").Status.Conditions) }).Should(ContainSubstring(`no key "password"`))

		s.Data = map[string][]byte{"password": []byte("correct horse battery staple")}
		Expect(k8s.Update(ctx, s)).To(Succeed())
		u = eventuallyUserReady(org, "bob", metav1.ConditionTrue, iamv1.ReasonReconciled)
		Expect(u.Status.PasswordSet).To(BeTrue())
	})

	It("refuses a duplicate email, naming the older user, and admits the newer one once the older is gone", func() {
		first := createFrom(st.User(org, "carol", "carol@ou.example"))
		eventuallyUserReady(org, "carol", metav1.ConditionTrue, iamv1.ReasonReconciled)
		createFrom(st.User(org, "carol2", "Carol@OU.example"))
		u := eventuallyUserReady(org, "carol2", metav1.ConditionFalse, iamv1.ReasonDuplicateEmail)
		Expect(readyMessage(u.Status.Conditions)).To(ContainSubstring(`"carol"`))
		Consistently(func() bool {
			return meta.IsStatusConditionTrue(getUser(org, "carol").Status.Conditions, iamv1.ConditionReady)
		}, "1s").Should(BeTrue(), "the older user keeps its email")

		Expect(k8s.Delete(ctx, first)).To(Succeed())
		eventuallyGone(first)
		eventuallyUserReady(org, "carol2", metav1.ConditionTrue, iamv1.ReasonReconciled)
	})

	It("refuses a username that is another user's email", func() {
		createFrom(st.User(org, "dana", "dana@ou.example"))
		eventuallyUserReady(org, "dana", metav1.ConditionTrue, iamv1.ReasonReconciled)
		createFrom(st.User(org, "dana-impostor", "impostor@ou.example", st.WithUsername("dana@ou.example")))
		u := eventuallyUserReady(org, "dana-impostor", metav1.ConditionFalse, iamv1.ReasonDuplicateUsername)
		Expect(readyMessage(u.Status.Conditions)).To(ContainSubstring(`"dana"`))

		updateUser(org, "dana-impostor", func(u *iamv1.OrgUser) { u.Spec.Username = "impostor" })
		eventuallyUserReady(org, "dana-impostor", metav1.ConditionTrue, iamv1.ReasonReconciled)
	})

	It("deletes the credential Secret with the user", func() {
		createFrom(st.Secret(org, "dave-initial", "password", "dave's first password"))
		createFrom(st.User(org, "dave", "dave@ou.example", st.WithInitialPassword("dave-initial", "password")))
		u := eventuallyUserReady(org, "dave", metav1.ConditionTrue, iamv1.ReasonReconciled)
		cred := credentialSecret(u)
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(cred), cred)).To(Succeed())

		Expect(k8s.Delete(ctx, u)).To(Succeed())
		eventuallyGone(u)
		eventuallyGone(cred)
	})

	It("shows a disabled user as Disabled and an invited one as Invited", func() {
		createFrom(st.User(org, "erin", "erin@ou.example", st.Disabled()))
		u := eventuallyUserReady(org, "erin", metav1.ConditionTrue, iamv1.ReasonReconciled)
		Expect(u.Status.State).To(Equal(iamv1.OrgUserStateDisabled))

		updateUser(org, "erin", func(u *iamv1.OrgUser) {
			u.Spec.Disabled = false
			u.Spec.Invitation = &iamv1.OrgUserInvitation{Send: true}
		})
		Eventually(func() iamv1.OrgUserState { return getUser(org, "erin").Status.State }).Should(Equal(iamv1.OrgUserStateInvited))
	})

	It("reports a user outside an organization's namespace and stores nothing for it", func() {
		Expect(k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "plain-users"}})).To(Succeed())
		createFrom(st.Secret("plain-users", "stray-initial", "password", "whatever it is"))
		createFrom(st.User("plain-users", "stray", "stray@plain.example", st.WithInitialPassword("stray-initial", "password")))
		u := eventuallyUserReady("plain-users", "stray", metav1.ConditionFalse, iamv1.ReasonOrganizationNotFound)
		Expect(u.Status.PasswordSet).To(BeFalse())
		Expect(apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKeyFromObject(credentialSecret(u)), &corev1.Secret{}))).To(BeTrue())

		// It can still be deleted.
		Expect(k8s.Delete(ctx, u)).To(Succeed())
		eventuallyGone(u)
	})
})
