package e2e

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"net/http"
	"net/url"

	"github.com/chromedp/chromedp"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/oauth2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/connector/upstreamtest"
)

var _ = Describe("An invitation accepted through an identity provider in headless Chromium", Ordered, func() {
	const org, email = "acme-invc", "cora@acme-invc.example"
	var spki string

	BeforeAll(func() {
		requireChromium()
		o := &iamv1.Organization{
			ObjectMeta: metav1.ObjectMeta{Namespace: "acme", Name: org},
			Spec:       iamv1.OrganizationSpec{DisplayName: "ACME Chromium"},
		}
		create(o)
		eventuallyReady(o)
		create(&iamv1.IdentityProvider{
			ObjectMeta: metav1.ObjectMeta{Namespace: org, Name: "corp"},
			Spec: iamv1.IdentityProviderSpec{
				DisplayName:  "Corp SSO",
				OIDC:         &iamv1.OIDCIdentityProvider{Issuer: upstream.URL, ClientID: upstreamtest.FakeClientID},
				Provisioning: &iamv1.Provisioning{Mode: iamv1.ProvisioningModeExistingUsersOnly},
			},
		})
		update(o, func(o *iamv1.Organization) { o.Spec.Login = &iamv1.LoginSettings{IdentityProviders: []string{"corp"}} })
		eventuallyReady(o)

		// The Fake has no login page: its authorization endpoint signs Cora
		// in at once and sends the browser back, as a provider with a
		// remembered session would.
		upstream.Set(func(f *upstreamtest.Fake) {
			f.Claims = func(c map[string]any) { c["email"], c["email_verified"] = email, true }
			f.Handlers = map[string]http.HandlerFunc{"/authorize": func(w http.ResponseWriter, r *http.Request) {
				cb := upstream.Authorize(GinkgoTB(), upstream.URL+r.URL.RequestURI())
				http.Redirect(w, r, cb.URL.String(), http.StatusSeeOther)
			}}
		})
		DeferCleanup(func() { upstream.Set(func(f *upstreamtest.Fake) { f.Claims, f.Handlers = nil, nil }) })

		// Chromium trusts the Fake's test certificate, and only it.
		// (Verification is off only to read the certificate.)
		u, err := url.Parse(upstream.URL)
		Expect(err).NotTo(HaveOccurred())
		conn, err := tls.Dial("tcp", u.Host, &tls.Config{InsecureSkipVerify: true})
		Expect(err).NotTo(HaveOccurred())
		sum := sha256.Sum256(conn.ConnectionState().PeerCertificates[0].RawSubjectPublicKeyInfo)
		Expect(conn.Close()).To(Succeed())
		spki = base64.StdEncoding.EncodeToString(sum[:])
	})

	It("goes from the mailed link through the provider's button to a ready account, then signs in to the application through it", func() {
		invite(org, "cora", email)
		link := mailTo(email, 1)[0].Link()
		// The page offers the provider once the server serves it.
		Eventually(func(g Gomega) {
			_, ok := formWithAction(newBrowser().get(link), "/login/invitation/idp")
			g.Expect(ok).To(BeTrue())
		}).Should(Succeed())

		c := newChromeWith(false, chromedp.Flag("ignore-certificate-errors-spki-list", spki))
		var heading, message string
		c.run("accepting the invitation through the provider",
			chromedp.Navigate(link),
			chromedp.WaitReady(`form.idp button`, chromedp.ByQuery),
			chromedp.Click(`form.idp button`, chromedp.ByQuery),
			chromedp.WaitVisible(`[role="status"]`, chromedp.ByQuery),
			chromedp.Text(`h1`, &heading, chromedp.ByQuery),
			chromedp.Text(`[role="status"]`, &message, chromedp.ByQuery))
		Expect(heading).To(Equal("Your account is ready"))
		Expect(message).To(ContainSubstring("Corp SSO"))
		Eventually(func() iamv1.OrgUserState { return getUser(org, "cora").Status.State }).Should(Equal(iamv1.OrgUserStateActive))

		a := authorize(portal, oauth2.SetAuthURLParam("organization", org))
		c.run("signing in through the provider",
			chromedp.Navigate(a.URL),
			chromedp.WaitReady(`form.idp button`, chromedp.ByQuery),
			chromedp.Click(`form.idp button`, chromedp.ByQuery))
		tok, err := portal.Exchange(ctx, codeFrom(c.waitForRedirect(portalRedirect()), a, portalRedirect()), oauth2.VerifierOption(a.Verifier))
		Expect(err).NotTo(HaveOccurred())
		s := verified(tok)
		Expect(s.IDToken.Subject).To(Equal(getUser(org, "cora").Status.ID))
		Expect(s.Claims).To(HaveKeyWithValue("email", email))
		c.expectCleanConsole()
	})
})
