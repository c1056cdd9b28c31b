package e2e

import (
	"net/http"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/oauth2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/connector/upstreamtest"
	"github.com/orgkeeper/orgkeeper/internal/credentials"
)

var _ = Describe("Accepting an invitation through the organization's identity provider", Ordered, func() {
	const org, email = "acme-inv", "iris@acme-inv.example"
	BeforeAll(func() {
		o := &iamv1.Organization{
			ObjectMeta: metav1.ObjectMeta{Namespace: "acme", Name: org},
			Spec:       iamv1.OrganizationSpec{DisplayName: "ACME Invited"},
		}
		create(o)
		eventuallyReady(o)
		idp := &iamv1.IdentityProvider{
			ObjectMeta: metav1.ObjectMeta{Namespace: org, Name: "corp"},
			Spec: iamv1.IdentityProviderSpec{
				DisplayName:  "Corp SSO",
				OIDC:         &iamv1.OIDCIdentityProvider{Issuer: upstream.URL, ClientID: upstreamtest.FakeClientID},
				Provisioning: &iamv1.Provisioning{Mode: iamv1.ProvisioningModeExistingUsersOnly},
			},
		}
		// (The operator's own discovery does not trust the Fake's test
		// certificate; the server's connectors do, and serve it.)
		create(idp)
		update(o, func(o *iamv1.Organization) {
			o.Spec.Login = &iamv1.LoginSettings{IdentityProviders: []string{"corp"}}
		})
		eventuallyReady(o)
		// The provider's account is Iris's, with her address, verified.
		upstream.Set(func(f *upstreamtest.Fake) {
			f.Claims = func(c map[string]any) { c["email"], c["email_verified"], c["name"] = email, true, "Iris Upstream" }
		})
		DeferCleanup(func() { upstream.Set(func(f *upstreamtest.Fake) { f.Claims = nil }) })
	})

	It("links the provider's account from the mailed link, once, and the user then signs in through it", func() {
		u := invite(org, "iris", email)
		link := mailTo(email, 1)[0].Link()
		Expect(link).To(HavePrefix(issuer + "/login/invitation?"))

		b := newBrowser()
		var button form
		Eventually(func(g Gomega) {
			p := b.get(link)
			g.Expect(p.Status).To(Equal(http.StatusOK), p.Body)
			var ok bool
			button, ok = formWithAction(p, "/login/invitation/idp")
			g.Expect(ok).To(BeTrue(), "the invitation page offers no provider:\n%s", p.Body)
		}).Should(Succeed())
		button.Fields.Set("idp", "corp")
		p := b.post(button.Action.String(), button.Fields)
		Expect(p.Location).NotTo(BeNil(), "no redirect to the provider:\n%s", p.Body)
		Expect(p.Location.String()).To(HavePrefix(upstream.URL + "/"))
		cb := upstream.Authorize(GinkgoTB(), p.Location.String())
		Expect(cb.URL.String()).To(HavePrefix(issuer + "/login/callback/oidc?"))

		// The answer opened in another browser accepts nothing.
		other := newBrowser().get(cb.URL.String())
		Expect(other.Status).To(BeNumerically(">=", 400))

		done := b.get(cb.URL.String())
		Expect(done.Status).To(Equal(http.StatusOK), done.Body)
		Expect(done.Body).To(ContainSubstring("Your account is ready"))
		Expect(done.Body).To(ContainSubstring("Corp SSO"))
		Expect(b.get(cb.URL.String()).Status).To(Equal(http.StatusBadRequest), "a replayed answer")

		want := iamv1.FederatedIdentity{IdentityProvider: "corp", Subject: upstreamtest.FakeSubject}
		Eventually(func(g Gomega) {
			cur := getUser(org, "iris")
			g.Expect(cur.Status.State).To(Equal(iamv1.OrgUserStateActive))
			g.Expect(cur.Status.FederatedIdentities).To(ConsistOf(want))
		}).Should(Succeed())
		cred := credentialOf(u)
		Expect(cred.Data).To(HaveKey(credentials.InvitationAcceptedKey))
		Expect(cred.Data).NotTo(HaveKey(credentials.PasswordHashKey))
		// The link is spent: the page says so, and no password can be set.
		Expect(newBrowser().get(link).Status).To(Equal(http.StatusBadRequest))

		// Signing in to the application through the provider finds Iris
		// (the provider creates no accounts: ExistingUsersOnly).
		sb := newBrowser()
		a := authorize(portal, oauth2.SetAuthURLParam("organization", org))
		var signInButton form
		Eventually(func(g Gomega) {
			page := sb.follow(sb.get(a.URL))
			var ok bool
			signInButton, ok = formWithAction(page, "/login/idp")
			g.Expect(ok).To(BeTrue(), "no provider on the sign-in page:\n%s", page.Body)
		}).Should(Succeed())
		signInButton.Fields.Set("idp", "corp")
		at := sb.post(signInButton.Action.String(), signInButton.Fields)
		Expect(at.Location).NotTo(BeNil(), at.Body)
		last := sb.follow(sb.get(upstream.Authorize(GinkgoTB(), at.Location.String()).URL.String()))
		code := codeFrom(flow{Last: last, Response: last.Location}, a, portalRedirect())
		tok, err := portal.Exchange(ctx, code, oauth2.VerifierOption(a.Verifier))
		Expect(err).NotTo(HaveOccurred())
		s := verified(tok)
		Expect(s.IDToken.Subject).To(Equal(string(getUser(org, "iris").UID)))
		Expect(s.Claims["org_handle"]).To(Equal(org))
		Expect(s.Claims["email"]).To(Equal(email))
		Expect(s.Claims["amr"]).To(ContainElement("fed"))
	})
})
