package e2e

import (
	"net/http"
	"slices"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/oauth2"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
)

func portalApp() *iamv1.SharedApplication {
	a := &iamv1.SharedApplication{}
	a.Namespace, a.Name = "platform", "portal"
	return a
}

var _ = Describe("Live changes, without a restart", func() {
	It("accepts a redirect URI added through the API", func() {
		added := rp.URL + "/callback-" + oauth2.GenerateVerifier()[:8]
		conf := portal
		conf.RedirectURL = added
		Expect(newBrowser().get(authorize(conf).URL).Status).To(Equal(http.StatusBadRequest), "not registered yet")

		update(portalApp(), func(a *iamv1.SharedApplication) { a.Spec.RedirectURIs = append(a.Spec.RedirectURIs, added) })
		DeferCleanup(func() {
			app := portalApp()
			update(app, func(a *iamv1.SharedApplication) {
				a.Spec.RedirectURIs = slices.DeleteFunc(a.Spec.RedirectURIs, func(u string) bool { return u == added })
			})
			eventuallyReady(app)
		})

		Eventually(func(g Gomega) {
			p := newBrowser().get(authorize(conf).URL)
			g.Expect(p.Location).NotTo(BeNil())
			g.Expect(p.Location.Path).To(Equal("/login"))
		}).Should(Succeed())

		a := authorize(conf)
		code := codeFrom(signIn(a.URL, "alice@acme.example", password), a, added)
		tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(a.Verifier))
		Expect(err).NotTo(HaveOccurred())
		Expect(verified(tok).Claims).To(HaveKeyWithValue("org_handle", "acme"))
	})

	It("follows a change of sharing: acme's users are refused, globex's admitted", func() {
		update(portalApp(), func(a *iamv1.SharedApplication) {
			a.Spec.Sharing = &iamv1.ApplicationSharing{Mode: iamv1.SharingModeSelected, Organizations: []string{"globex"}}
		})
		DeferCleanup(func() {
			app := portalApp()
			update(app, func(a *iamv1.SharedApplication) {
				a.Spec.Sharing = &iamv1.ApplicationSharing{Mode: iamv1.SharingModeSelected,
					Organizations: []string{"acme"}, IncludeSubOrganizations: true}
			})
			eventuallyReady(app)
			loginPortal("alice@acme.example")
		})
		app := portalApp()
		eventuallyReady(app)
		Expect(app.Status.SharedWith).To(ConsistOf("globex"))

		a := authorize(portal)
		f := signIn(a.URL, "alice@acme.example", password)
		expectNoCode(f, http.StatusForbidden)
		back := continueLink(f.Last)
		Expect(back).NotTo(BeNil())
		Expect(back.Query().Get("error")).To(Equal("access_denied"))

		s := loginPortal("gabe@globex.example")
		Expect(s.Claims).To(HaveKeyWithValue("org_handle", "globex"))
	})
})
