package controller

import (
	"encoding/json"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

func newIdP() *iamv1.IdentityProvider { return &iamv1.IdentityProvider{} }

func idpCondition(namespace, name, typ string, status metav1.ConditionStatus, reason string) *iamv1.IdentityProvider {
	GinkgoHelper()
	return eventuallyConditionOf(newIdP, namespace, name, typ, status, reason)
}

var _ = Describe("IdentityProvider", func() {
	const org = "idp-acme"
	BeforeEach(func() {
		ensureRoot()
		ensureOrg(org, rootName)
	})

	It("reports a missing client secret Secret or key without revealing the secret, and recovers once it is fixed", func() {
		createFrom(st.IdP(org, "okta", st.WithIssuer(idpUpstream.URL), st.WithIdPSecretRef("okta-secret", "client-secret")))
		i := idpCondition(org, "okta", iamv1.ConditionSecretFound, metav1.ConditionFalse, iamv1.ReasonSecretNotFound)
		Expect(meta.FindStatusCondition(i.Status.Conditions, iamv1.ConditionSecretFound).Message).To(ContainSubstring(`"okta-secret"`))
		idpCondition(org, "okta", iamv1.ConditionReady, metav1.ConditionFalse, iamv1.ReasonSecretNotFound)

		const secret = "s3cr3t-from-the-upstream-provider"
		s := createFrom(st.Secret(org, "okta-secret", "wrong-key", secret))
		Eventually(func() string {
			c := meta.FindStatusCondition(get(newIdP(), org, "okta").Status.Conditions, iamv1.ConditionSecretFound)
			if c == nil {
				return ""
			}
			return c.Message
		}).Should(ContainSubstring(`no key "client-secret"`))

		s.Data = map[string][]byte{"client-secret": []byte(secret)}
		Expect(k8s.Update(ctx, s)).To(Succeed())
		idpCondition(org, "okta", iamv1.ConditionSecretFound, metav1.ConditionTrue, iamv1.ReasonReconciled)
		i = idpCondition(org, "okta", iamv1.ConditionReady, metav1.ConditionTrue, iamv1.ReasonReconciled)
		Expect(i.Status.ObservedGeneration).To(Equal(i.Generation))

		d := meta.FindStatusCondition(i.Status.Conditions, iamv1.ConditionDiscoveryReady)
		Expect(d).NotTo(BeNil())
		Expect(d.Status).To(Equal(metav1.ConditionTrue))

		status, err := json.Marshal(i.Status)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(status)).NotTo(ContainSubstring(secret))
	})

	It("is ready without a client secret, as a public client with PKCE", func() {
		createFrom(st.IdP(org, "public", st.WithIssuer(idpUpstream.URL)))
		i := idpCondition(org, "public", iamv1.ConditionReady, metav1.ConditionTrue, iamv1.ReasonReconciled)
		Expect(meta.IsStatusConditionTrue(i.Status.Conditions, iamv1.ConditionSecretFound)).To(BeTrue())
	})

	It("reports a provider outside an organization's namespace", func() {
		Expect(k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "plain-idps"}})).To(Succeed())
		createFrom(st.IdP("plain-idps", "stray", st.WithIssuer(idpUpstream.URL)))
		idpCondition("plain-idps", "stray", iamv1.ConditionReady, metav1.ConditionFalse, iamv1.ReasonOrganizationNotFound)
	})
})

var _ = Describe("Organization problems found by the snapshot build", func() {
	BeforeEach(func() { ensureRoot() })

	It("shows a mistyped IdentityProvider name as Ready=False, and Ready once the name is right", func() {
		ensureOrg("typo-acme", rootName)
		createFrom(st.IdP("typo-acme", "acme-okta", st.WithIssuer(idpUpstream.URL)))
		idpCondition("typo-acme", "acme-okta", iamv1.ConditionReady, metav1.ConditionTrue, iamv1.ReasonReconciled)

		updateOrg(rootName, "typo-acme", func(o *iamv1.Organization) {
			o.Spec.Login = &iamv1.LoginSettings{IdentityProviders: []string{"acme-otka"}}
		})
		o := eventuallyCondition(rootName, "typo-acme", iamv1.ConditionReady, metav1.ConditionFalse, iamv1.ReasonInvalidSpec)
		Expect(readyMessage(o.Status.Conditions)).To(ContainSubstring(`"acme-otka"`))

		updateOrg(rootName, "typo-acme", func(o *iamv1.Organization) {
			o.Spec.Login = &iamv1.LoginSettings{IdentityProviders: []string{"acme-okta"}}
		})
		eventuallyReady(rootName, "typo-acme")
	})

	It("is not Ready while its effective login.mfa is Required, set or inherited, and says password sign-ins are refused", func() {
		ensureOrg("mfa-acme", rootName)
		ensureOrg("mfa-acme-eu", "mfa-acme")
		updateOrg(rootName, "mfa-acme", func(o *iamv1.Organization) {
			o.Spec.Login = &iamv1.LoginSettings{MFA: iamv1.MFARequired}
		})
		o := eventuallyCondition(rootName, "mfa-acme", iamv1.ConditionReady, metav1.ConditionFalse, iamv1.ReasonMFAUnavailable)
		Expect(readyMessage(o.Status.Conditions)).To(ContainSubstring("password sign-ins to this organization are refused"))
		eu := eventuallyCondition("mfa-acme", "mfa-acme-eu", iamv1.ConditionReady, metav1.ConditionFalse, iamv1.ReasonMFAUnavailable)
		Expect(readyMessage(eu.Status.Conditions)).To(ContainSubstring("inherited as Required from organization mfa-acme"))

		updateOrg(rootName, "mfa-acme", func(o *iamv1.Organization) {
			o.Spec.Login = &iamv1.LoginSettings{MFA: iamv1.MFAOptional}
		})
		eventuallyReady(rootName, "mfa-acme")
		eventuallyReady("mfa-acme", "mfa-acme-eu")
	})

	It("shows a branding URL that the schema accepts but the login pages cannot use", func() {
		ensureOrg("brand-acme", rootName)
		err := k8s.Get(ctx, types.NamespacedName{Namespace: rootName, Name: "brand-acme"}, &iamv1.Organization{})
		Expect(err).NotTo(HaveOccurred())
		const logo = `https://cdn.acme.example/logo'.svg`
		updateOrg(rootName, "brand-acme", func(o *iamv1.Organization) {
			o.Spec.Branding = &iamv1.Branding{LogoURL: logo}
		})
		o := eventuallyCondition(rootName, "brand-acme", iamv1.ConditionReady, metav1.ConditionFalse, iamv1.ReasonInvalidSpec)
		Expect(readyMessage(o.Status.Conditions)).To(And(ContainSubstring("spec.branding.logoURL"), ContainSubstring("login pages do not accept")))

		updateOrg(rootName, "brand-acme", func(o *iamv1.Organization) {
			o.Spec.Branding = &iamv1.Branding{LogoURL: "https://cdn.acme.example/logo.svg"}
		})
		eventuallyReady(rootName, "brand-acme")
	})
})
