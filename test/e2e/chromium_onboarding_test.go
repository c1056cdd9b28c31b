package e2e

import (
	"github.com/chromedp/chromedp"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/oauth2"
)

var _ = Describe("An invitation in headless Chromium", func() {
	It("goes from the mailed link to a password, then to the application, without JavaScript", func() {
		invite("acme", "cleo", "cleo@acme.example")
		link := mailTo("cleo@acme.example", 1)[0].Link()

		c := newChrome(false)
		var heading string
		c.run("accepting the invitation",
			chromedp.Navigate(link),
			chromedp.WaitReady(`#password`, chromedp.ByQuery),
			chromedp.SendKeys(`#password`, newPassword, chromedp.ByQuery),
			chromedp.SendKeys(`#confirm`, newPassword, chromedp.ByQuery),
			chromedp.Click(`form button[type="submit"]`, chromedp.ByQuery),
			chromedp.WaitVisible(`[role="status"]`, chromedp.ByQuery),
			chromedp.Text(`h1`, &heading, chromedp.ByQuery))
		Expect(heading).To(Equal("Your account is ready"))

		signInWith("cleo@acme.example", newPassword) // the issuer serves the new password

		a := authorize(portal, oauth2.SetAuthURLParam("login_hint", "cleo@acme.example"))
		c.openAuthorization(a.URL)
		c.submitPassword(newPassword)
		tok, err := portal.Exchange(ctx, codeFrom(c.waitForRedirect(portalRedirect()), a, portalRedirect()), oauth2.VerifierOption(a.Verifier))
		Expect(err).NotTo(HaveOccurred())
		s := verified(tok)
		Expect(s.IDToken.Subject).To(Equal(getUser("acme", "cleo").Status.ID))
		Expect(s.Claims).To(HaveKeyWithValue("org_handle", "acme"))
		c.expectCleanConsole()
	})
})
