package e2e

import (
	"net/http"
	"strings"

	"github.com/chromedp/chromedp"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/orgkeeper/orgkeeper/internal/oidc"
)

// Issue 6 item 1: a sign-in link (the auth request ID) sent to someone else
// does not let its sender finish the sign-in with their account.
var _ = Describe("Auth requests bound to the browser that started them", func() {
	It("show the victim's signed-in Chromium the wrong-browser page for the attacker's link, and give the attacker no code", func() {
		// The victim signs in to portal in Chromium: an SSO session.
		c := newChrome(false)
		a := authorize(portal)
		c.openAuthorization(a.URL)
		c.submitIdentifier("alice@acme.example")
		c.submitPassword(password)
		codeFrom(c.waitForRedirect(portalRedirect()), a, portalRedirect())

		// The attacker starts his own authorization and sends the link.
		attacker := newBrowser()
		start := attacker.get(authorize(portal).URL)
		Expect(start.Location).NotTo(BeNil())
		Expect(start.Location.Path).To(Equal("/login"))
		id := start.Location.Query().Get("authRequestID")
		Expect(id).NotTo(BeEmpty())

		var heading string
		c.run("opening the attacker's sign-in link",
			chromedp.Navigate(start.Location.String()),
			chromedp.Text(`h1`, &heading, chromedp.ByQuery))
		Expect(strings.TrimSpace(heading)).To(Equal("This sign-in was started in another browser"))
		Expect(c.currentURL()).To(HavePrefix(issuer+"/login"), "the victim's browser stays on the issuer")

		// The attacker's browser at the callback gets no code.
		cb := attacker.get(oidc.CallbackURL(issuer, id))
		if cb.Location != nil {
			Expect(cb.Location.Query().Get("code")).To(BeEmpty(), "the attacker got a code")
		} else {
			Expect(cb.Status).To(BeNumerically(">=", http.StatusBadRequest))
		}
		c.expectCleanConsole()
	})
})
