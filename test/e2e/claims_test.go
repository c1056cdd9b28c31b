package e2e

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/oauth2"
	"k8s.io/apimachinery/pkg/api/meta"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
)

// Issue 6 item 3: nothing an organization admin writes into an OrgUser
// reaches outside the organization's subtree through a token.
var _ = Describe("Token claims an organization admin cannot forge", func() {
	It("keeps the root's admin group and another organization's verified email out of a sub-organization user's tokens", func() {
		// The root binds platform-team as its admins, as a platform team
		// would; an acme-eu admin then writes a user claiming it, with an
		// address at globex's verified domain asserted verified.
		update(getOrg(systemNamespace, "platform"), func(o *iamv1.Organization) {
			o.Spec.Admins = []iamv1.Subject{{Kind: iamv1.SubjectGroup, Name: "platform-team"}}
		})
		DeferCleanup(func() {
			update(getOrg(systemNamespace, "platform"), func(o *iamv1.Organization) { o.Spec.Admins = nil })
		})
		eventuallyReady(getOrg(systemNamespace, "platform"))
		user("acme-eu", "mallory", "mallory@globex.example", func(u *iamv1.OrgUser) {
			u.Spec.Groups = []string{"platform-team", "eu-team"}
		})
		mallory := getUser("acme-eu", "mallory")
		eventuallyReady(mallory)

		a := authorize(portal, oauth2.SetAuthURLParam("organization", "acme-eu"))
		f := signIn(a.URL, "mallory@globex.example", password)
		tok, err := portal.Exchange(ctx, codeFrom(f, a, portalRedirect()), oauth2.VerifierOption(a.Verifier))
		Expect(err).NotTo(HaveOccurred())
		s := verified(tok)
		Expect(s.Claims).To(HaveKeyWithValue("org_handle", "acme-eu"))
		Expect(s.Claims).To(HaveKeyWithValue("groups", ConsistOf("eu-team")))
		Expect(s.Claims["email_verified"]).NotTo(Equal(true))
		Expect(s.Claims).To(HaveKeyWithValue("email", "mallory@globex.example"))

		// userinfo says the same.
		info, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(s.Token))
		Expect(err).NotTo(HaveOccurred())
		var claims map[string]any
		Expect(info.Claims(&claims)).To(Succeed())
		Expect(claims).To(HaveKeyWithValue("groups", ConsistOf("eu-team")))
		Expect(claims["email_verified"]).NotTo(Equal(true))

		// The status says what was left out and why.
		c := meta.FindStatusCondition(getUser("acme-eu", "mallory").Status.Conditions, iamv1.ConditionClaimsRestricted)
		Expect(c).NotTo(BeNil())
		Expect(c.Message).To(And(ContainSubstring(`"platform-team" (an admin group of organization "platform")`), ContainSubstring("globex.example")))
	})

	It("keeps a verified email at the user's own organization's domain", func() {
		s := loginPortal("alice@acme.example")
		Expect(s.Claims).To(HaveKeyWithValue("email_verified", true))
	})
})
