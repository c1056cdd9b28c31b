package e2e

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/oauth2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/apiwrite"
	"github.com/orgkeeper/orgkeeper/internal/connector/upstreamtest"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

// An upstream's groups become the user's groups, under the rule for groups
// in tokens: never a reserved name, never a group that an organization
// outside the user's subtree binds as its administrators.
var _ = Describe("Groups from an upstream identity provider", Ordered, func() {
	const subject = "grp-user-1"
	var groups []string

	BeforeAll(func() {
		own := st.ForCreate(st.Org("acme-grp", st.WithParent("acme"), st.WithDisplayName("ACME Groups"), st.WithAdminGroups("grp-team")))
		sibling := st.ForCreate(st.Org("acme-sib", st.WithParent("acme"), st.WithDisplayName("ACME Sibling"), st.WithAdminGroups("sib-admins")))
		create(own)
		create(sibling)
		eventuallyReady(own)
		eventuallyReady(sibling)
		create(st.ForCreate(st.IdP("acme-grp", "corp", st.WithIdPDisplayName("Corp SSO"),
			st.WithIssuer(upstream.URL), st.WithIdPClientID(upstreamtest.FakeClientID),
			st.WithProvisioning(iamv1.ProvisioningModeJustInTime), st.WithSyncProfileOnLogin(true))))
		update(own, func(o *iamv1.Organization) {
			o.Spec.Login = &iamv1.LoginSettings{IdentityProviders: []string{"corp"}}
		})
		eventuallyReady(own)
		upstream.Set(func(f *upstreamtest.Fake) {
			f.Claims = func(c map[string]any) {
				c["sub"] = subject
				c["groups"] = groups
			}
		})
		DeferCleanup(func() { upstream.Set(func(f *upstreamtest.Fake) { f.Claims = nil }) })
	})

	signIn := func() signedIn {
		GinkgoHelper()
		b := newBrowser()
		a := authorize(portal, oauth2.SetAuthURLParam("organization", "acme-grp"))
		var button form
		Eventually(func(g Gomega) {
			var ok bool
			button, ok = formWithAction(b.follow(b.get(a.URL)), "/login/idp")
			g.Expect(ok).To(BeTrue(), "acme-grp's page offers no provider yet")
		}).Should(Succeed())
		button.Fields.Set("idp", "corp")
		p := b.post(button.Action.String(), button.Fields)
		Expect(p.Location).NotTo(BeNil(), "no redirect to the provider:\n%s", p.Body)
		cb := upstream.Authorize(GinkgoTB(), p.Location.String())
		last := b.follow(b.get(cb.URL.String()))
		code := codeFrom(flow{Last: last, Response: last.Location}, a, portalRedirect())
		tok, err := portal.Exchange(ctx, code, oauth2.VerifierOption(a.Verifier))
		Expect(err).NotTo(HaveOccurred())
		return verified(tok)
	}
	stored := func() *iamv1.OrgUser {
		GinkgoHelper()
		u := &iamv1.OrgUser{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: "acme-grp", Name: apiwrite.FederatedUserName("", "corp", subject)}, u)).To(Succeed())
		return u
	}

	It("keeps the provider's own groups and those of the user's subtree, and never a reserved group or a sibling's admin group", func() {
		groups = []string{"engineering", "grp-team", "sib-admins", "orgkeeper:org:acme:admins", "system:masters"}
		s := signIn()
		Expect(s.Claims["groups"]).To(ConsistOf("engineering", "grp-team"))
		Expect(stored().Spec.Groups).NotTo(ContainElements("orgkeeper:org:acme:admins", "system:masters"))
	})

	It("follows the provider's groups on the next sign-in (syncProfileOnLogin)", func() {
		groups = []string{"engineering", "release-managers", "sib-admins"}
		s := signIn()
		Expect(s.Claims["groups"]).To(ConsistOf("engineering", "release-managers"))
		Expect(stored().Spec.Groups).To(ConsistOf("engineering", "release-managers", "sib-admins"),
			"the stored groups follow the provider; the token rule drops the sibling's group")
	})
})
