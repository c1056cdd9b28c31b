package e2e

import (
	"crypto/sha256"
	"encoding/base64"

	"github.com/chromedp/chromedp"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/oauth2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/apiwrite"
	"github.com/orgkeeper/orgkeeper/internal/connector/upstreamtest/orgkeeperidp"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

// A person signs in through their organization's identity provider in a
// real browser: the email's domain routes them to the provider's own login
// page (another Orgkeeper issuer, on https), and back to the application,
// created just in time.
var _ = Describe("Signing in through an upstream identity provider in headless Chromium", Ordered, func() {
	kim := orgkeeperidp.User{Name: "kim", Password: "a long corporate password", Groups: []string{"engineering"}}
	var corp *orgkeeperidp.Provider

	BeforeAll(func() {
		corp = orgkeeperidp.NewTLS(GinkgoTB(), issuer+"/login/callback/oidc", kim)
		// The corporate domain is held (verified) by acme-corp, so an email
		// in it finds the organization; its provider claims it too.
		org := st.ForCreate(st.Org("acme-corp", st.WithParent("acme"), st.WithDisplayName("ACME Corp Division"),
			st.ClaimingDomains(orgkeeperidp.Domain)))
		create(org)
		eventuallyReady(org)
		create(st.ForCreate(st.Secret("acme-corp", "corp-sso", "client-secret", orgkeeperidp.ClientSecret)))
		idp := st.ForCreate(st.IdP("acme-corp", "corp-sso", st.WithIdPDisplayName("Corp sign-in"),
			st.WithIssuer(corp.URL), st.WithIdPClientID(orgkeeperidp.ClientID), st.WithIdPSecretRef("corp-sso", "client-secret"),
			st.WithIdPDomains(orgkeeperidp.Domain), st.WithProvisioning(iamv1.ProvisioningModeJustInTime)))
		create(idp)
		// (Its Ready condition waits for discovery, which the reconciler
		// cannot do here: the test certificate is trusted by the server's
		// connectors only.) Served once an email of the domain goes there.
		Eventually(func(g Gomega) {
			b := newBrowser()
			p := b.follow(b.get(authorize(portal, oauth2.SetAuthURLParam("login_hint", kim.Email())).URL))
			g.Expect(p.Location).NotTo(BeNil())
			g.Expect(p.Location.String()).To(HavePrefix(corp.URL + "/authorize?"))
		}).Should(Succeed())
	})

	It("routes kim by her email's domain to the provider's login page and back to the application, created in acme-corp", func() {
		// Chromium trusts the upstream's test certificate, and only it.
		spki := sha256.Sum256(corp.Certificate.RawSubjectPublicKeyInfo)
		c := newChromeWith(false, chromedp.Flag("ignore-certificate-errors-spki-list", base64.StdEncoding.EncodeToString(spki[:])))
		a := authorize(portal)
		c.openAuthorization(a.URL)
		// The identifier page's email goes straight to the provider: no
		// organization page, no password form of the issuer.
		c.submitIdentifier(kim.Email())
		Expect(c.currentURL()).To(HavePrefix(corp.URL+"/login"), "the password page is the provider's")
		c.submitPassword(kim.Password)
		code := codeFrom(c.waitForRedirect(portalRedirect()), a, portalRedirect())

		tok, err := portal.Exchange(ctx, code, oauth2.VerifierOption(a.Verifier))
		Expect(err).NotTo(HaveOccurred())
		s := verified(tok)
		Expect(s.Claims).To(HaveKeyWithValue("org_handle", "acme-corp"))
		Expect(s.Claims).To(HaveKeyWithValue("email", kim.Email()))
		Expect(s.Claims["amr"]).To(ContainElement("fed"))
		Expect(s.Claims["groups"]).To(ContainElement("engineering"))
		users := &iamv1.OrgUserList{}
		Expect(k8s.List(ctx, users, client.InNamespace("acme-corp"), client.MatchingLabels{apiwrite.IdentityProviderLabel: "corp-sso"})).To(Succeed())
		Expect(users.Items).To(HaveLen(1))
		Expect(s.IDToken.Subject).To(Equal(string(users.Items[0].UID)))
		// Chromium asks the https upstream for /favicon.ico, which the issuer
		// does not serve (404): not a problem of the pages.
		Expect(c.reported()).To(HaveEach(ContainSubstring(corp.URL+"/favicon.ico")),
			"console errors or CSP violations on the login pages")
	})
})
