package e2e

import (
	"strings"

	"github.com/chromedp/chromedp"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/oauth2"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
)

// The login pages in a real browser (style.md, Tests: "with a real browser
// (headless Chromium) for the pages"; api.md section 7: plain HTML forms
// that work without JavaScript, the organization's branding after
// discovery).
var _ = Describe("The login pages in headless Chromium", func() {
	It("sign erin in through the identifier-first page with JavaScript disabled, and the code is hers in acme-eu", func() {
		c := newChrome(false)
		a := authorize(portal)
		c.openAuthorization(a.URL)
		c.submitIdentifier("erin@eu.acme.example")
		c.submitPassword(password)
		code := codeFrom(c.waitForRedirect(portalRedirect()), a, portalRedirect())

		tok, err := portal.Exchange(ctx, code, oauth2.VerifierOption(a.Verifier))
		Expect(err).NotTo(HaveOccurred())
		s := verified(tok)
		Expect(s.Claims).To(HaveKeyWithValue("org_handle", "acme-eu"))
		Expect(s.IDToken.Subject).To(Equal(getUser("acme-eu", "erin").Status.ID))
		c.expectCleanConsole()
	})

	It("show the discovered organization's name and primary colour, and the public client gets a code", func() {
		const green, greenRGB = "#0A7D32", "rgb(10, 125, 50)"
		eu := &iamv1.Organization{}
		eu.Namespace, eu.Name = "acme", "acme-eu"
		update(eu, func(o *iamv1.Organization) { o.Spec.Branding = &iamv1.Branding{PrimaryColor: green} })
		DeferCleanup(func() {
			update(eu, func(o *iamv1.Organization) { o.Spec.Branding = nil })
			eventuallyReady(eu)
		})
		Eventually(func(g Gomega) {
			b := newBrowser()
			p := b.follow(b.get(authorize(spa, oauth2.SetAuthURLParam("login_hint", "erin@eu.acme.example")).URL))
			g.Expect(p.Body).To(ContainSubstring("--ok-primary:" + green))
		}).Should(Succeed(), "the issuer serves acme-eu's new branding")

		c := newChrome(true)
		a := authorize(spa)
		c.openAuthorization(a.URL)
		var before string
		c.run("reading the identifier page",
			chromedp.Evaluate(`getComputedStyle(document.querySelector('form button[type="submit"]')).backgroundColor`, &before))
		Expect(before).To(Equal("rgb(47, 79, 127)"), "before discovery the page has the neutral colour")

		c.submitIdentifier("erin@eu.acme.example")
		var orgName, heading, background, foreground string
		c.run("reading the password page",
			chromedp.WaitVisible(`.org-name`, chromedp.ByQuery),
			chromedp.Text(`.org-name`, &orgName, chromedp.ByQuery),
			chromedp.Text(`h1`, &heading, chromedp.ByQuery),
			chromedp.Evaluate(`getComputedStyle(document.querySelector('form button[type="submit"]')).backgroundColor`, &background),
			chromedp.Evaluate(`getComputedStyle(document.querySelector('form button[type="submit"]')).color`, &foreground))
		Expect(strings.TrimSpace(orgName)).To(Equal("ACME Europe"))
		Expect(heading).To(ContainSubstring("ACME Europe"))
		Expect(background).To(Equal(greenRGB), "the submit button has acme-eu's primary colour")
		Expect(foreground).To(Equal("rgb(255, 255, 255)"), "white text on the dark primary colour")

		c.submitPassword(password)
		code := codeFrom(c.waitForRedirect(spaRedirect()), a, spaRedirect())
		tok, err := spa.Exchange(ctx, code, oauth2.VerifierOption(a.Verifier))
		Expect(err).NotTo(HaveOccurred())
		Expect(jwtClaims(tok.AccessToken)).To(HaveKeyWithValue("org_handle", "acme-eu"))
		c.expectCleanConsole()
	})

	It("show the same generic message for a wrong password as for an unknown user", func() {
		c := newChrome(true)
		c.openAuthorization(authorize(portal).URL)
		c.submitIdentifier("erin@eu.acme.example")
		c.submitPassword("not " + password)
		wrongPassword := c.formError()
		Expect(c.currentURL()).To(HavePrefix(issuer+"/login"), "still on the login page")

		c.openAuthorization(authorize(portal).URL)
		c.submitIdentifier("nobody@eu.acme.example")
		c.submitPassword(password)
		unknownUser := c.formError()

		Expect(wrongPassword).NotTo(BeEmpty())
		Expect(wrongPassword).To(Equal(unknownUser), "the page does not tell whether the account exists")
		Expect(wrongPassword).NotTo(ContainSubstring("nobody"))
		c.expectCleanConsole()
	})

	It("report no console errors or CSP violations on the identifier, password, error and problem pages", func() {
		c := newChrome(true)
		c.openAuthorization(authorize(portal).URL)
		c.submitIdentifier("erin@eu.acme.example")
		c.submitPassword("not " + password)
		c.formError()
		c.run("opening a problem page",
			chromedp.Navigate(authorize(portal, oauth2.SetAuthURLParam("organization", "no-such-org")).URL),
			chromedp.WaitVisible(`p.error`, chromedp.ByQuery))
		c.expectCleanConsole()

		// The listener sees violations of this CSP: a style without the
		// nonce is refused and reported.
		c.run("adding a style the CSP forbids",
			chromedp.Evaluate(`(() => { const s = document.createElement('style'); s.textContent = 'body{color:red}'; document.head.appendChild(s); return true })()`, nil))
		Eventually(c.reported).WithTimeout(chromeStepTimeout).Should(
			ContainElement(ContainSubstring("style-src")), "a CSP violation is detected")
	})
})
