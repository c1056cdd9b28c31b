package controller

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/credentials"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

func conditionMessage(conds []metav1.Condition, typ string) string {
	if c := meta.FindStatusCondition(conds, typ); c != nil {
		return c.Message
	}
	return ""
}

var _ = Describe("OrgUser token claims", func() {
	BeforeEach(func() {
		ensureRoot() // binds the group platform-team as its admins
		ensureOrg("cl-acme", rootName)
		ensureOrg("cl-acme-eu", "cl-acme")
		ensureOrg("cl-globex", rootName, st.ClaimingDomains("cl-globex.example"))
	})

	It("names the groups and the email domain that a sub-organization's user cannot carry, and stays Ready", func() {
		createFrom(st.User("cl-acme-eu", "mallory", "mallory@cl-globex.example", st.WithEmailVerified(true), st.WithGroups("platform-team", "eu-team")))
		u := eventuallyConditionOf(newUser, "cl-acme-eu", "mallory", iamv1.ConditionClaimsRestricted, metav1.ConditionTrue, iamv1.ReasonClaimsRestricted)
		msg := conditionMessage(u.Status.Conditions, iamv1.ConditionClaimsRestricted)
		Expect(msg).To(ContainSubstring(`"platform-team" (an admin group of organization "platform")`))
		Expect(msg).To(ContainSubstring("the domain cl-globex.example is not a verified domain"))
		Expect(msg).NotTo(ContainSubstring(`"eu-team"`))
		Expect(meta.IsStatusConditionTrue(u.Status.Conditions, iamv1.ConditionReady)).To(BeTrue(), readyMessage(u.Status.Conditions))

		// A sibling that starts binding eu-team restricts it too.
		updateOrg(rootName, "cl-globex", func(o *iamv1.Organization) {
			o.Spec.Admins = []iamv1.Subject{{Kind: iamv1.SubjectGroup, Name: "eu-team"}}
		})
		Eventually(func() string {
			return conditionMessage(getUser("cl-acme-eu", "mallory").Status.Conditions, iamv1.ConditionClaimsRestricted)
		}).Should(ContainSubstring(`"eu-team" (an admin group of organization "cl-globex")`))

		// Fixing the spec clears the condition.
		updateUser("cl-acme-eu", "mallory", func(u *iamv1.OrgUser) {
			u.Spec.Groups = []string{"eu-staff"}
			u.Spec.Email = "mallory@cl-acme-eu.example"
			u.Spec.EmailVerified = false
		})
		eventuallyConditionOf(newUser, "cl-acme-eu", "mallory", iamv1.ConditionClaimsRestricted, metav1.ConditionFalse, iamv1.ReasonClaimsAsWritten)
	})

	It("lets a user keep a group that only its own organization's subtree binds", func() {
		updateOrg("cl-acme", "cl-acme-eu", func(o *iamv1.Organization) {
			o.Spec.Admins = []iamv1.Subject{{Kind: iamv1.SubjectGroup, Name: "eu-admins"}}
		})
		createFrom(st.User("cl-acme", "alice", "alice@cl-acme.example", st.WithEmailVerified(false), st.WithGroups("eu-admins")))
		eventuallyConditionOf(newUser, "cl-acme", "alice", iamv1.ConditionClaimsRestricted, metav1.ConditionFalse, iamv1.ReasonClaimsAsWritten)
	})
})

var _ = Describe("OrgUser sessions and initial password", func() {
	const org = "sx"
	BeforeEach(func() {
		ensureRoot()
		ensureOrg(org, rootName)
	})

	It("revokes the sessions when the user is disabled and keeps the revocation when re-enabled", func() {
		createFrom(st.User(org, "dora", "dora@sx.example"))
		u := eventuallyUserReady(org, "dora", metav1.ConditionTrue, iamv1.ReasonReconciled)
		Expect(u.Status.SessionsRevokedAt).To(BeNil())

		before := time.Now().Truncate(time.Second)
		updateUser(org, "dora", st.Disabled())
		Eventually(func(g Gomega) {
			u = getUser(org, "dora")
			g.Expect(u.Status.State).To(Equal(iamv1.OrgUserStateDisabled))
			g.Expect(u.Status.SessionsRevokedAt).NotTo(BeNil())
		}).Should(Succeed())
		revoked := u.Status.SessionsRevokedAt.Time
		Expect(revoked).To(BeTemporally(">", before), "every session authenticated before the change is before it")

		updateUser(org, "dora", func(u *iamv1.OrgUser) { u.Spec.Disabled = false })
		Eventually(func() iamv1.OrgUserState { return getUser(org, "dora").Status.State }).Should(Equal(iamv1.OrgUserStateActive))
		u = eventuallyUserReady(org, "dora", metav1.ConditionTrue, iamv1.ReasonReconciled)
		Expect(u.Status.SessionsRevokedAt).NotTo(BeNil())
		Expect(u.Status.SessionsRevokedAt.Time).To(BeTemporally("==", revoked))
	})

	It("deletes the initial password Secret once hashed, says so, and deletes a re-created one without reading it", func() {
		initial := createFrom(st.Secret(org, "ivan-initial", "password", "first password of ivan"))
		createFrom(st.User(org, "ivan", "ivan@sx.example", st.WithInitialPassword("ivan-initial", "password")))
		u := eventuallyConditionOf(newUser, org, "ivan", iamv1.ConditionInitialPasswordConsumed, metav1.ConditionTrue, iamv1.ReasonSecretDeleted)
		Expect(conditionMessage(u.Status.Conditions, iamv1.ConditionInitialPasswordConsumed)).To(ContainSubstring(`Secret "ivan-initial" was deleted`))
		eventuallyGone(initial)
		cred := credentialSecret(u)
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(cred), cred)).To(Succeed())
		hash := string(cred.Data[credentials.PasswordHashKey])
		Expect(credentials.Verify(hash, "first password of ivan")).To(BeTrue())

		// GitOps puts it back, with another value: deleted, not consumed.
		again := createFrom(st.Secret(org, "ivan-initial", "password", "another password"))
		eventuallyGone(again)
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(cred), cred)).To(Succeed())
		Expect(string(cred.Data[credentials.PasswordHashKey])).To(Equal(hash))
		Expect(meta.IsStatusConditionTrue(getUser(org, "ivan").Status.Conditions, iamv1.ConditionReady)).To(BeTrue())
	})

	It("leaves a Secret that belongs to something else in place once the password is stored", func() {
		owner := create(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "owner-of-shared", Namespace: org}})
		shared := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "shared-secret", Namespace: org,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: owner.Name, UID: owner.UID, Controller: ptr.To(false)}}},
			Data: map[string][]byte{"password": []byte("a shared value")}}
		Expect(k8s.Create(ctx, shared)).To(Succeed())
		createFrom(st.User(org, "sam", "sam@sx.example", st.WithInitialPassword("shared-secret", "password")))
		u := eventuallyConditionOf(newUser, org, "sam", iamv1.ConditionInitialPasswordConsumed, metav1.ConditionTrue, iamv1.ReasonSecretKept)
		Expect(u.Status.PasswordSet).To(BeTrue())
		Consistently(func() error { return k8s.Get(ctx, client.ObjectKeyFromObject(shared), &corev1.Secret{}) }, "1s").Should(Succeed())
	})
})
