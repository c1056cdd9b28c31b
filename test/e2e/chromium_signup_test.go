package e2e

import (
	"github.com/chromedp/chromedp"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
)

var _ = Describe("Self-service signup in headless Chromium", Label("signup"), func() {
	It("goes from the signup form to the mailed link to a new organization with its admin, without JavaScript", func() {
		enableSignup(iamv1.ApprovalAutomatic)
		const handle, email = "hooli", "gavin@hooli.example"

		c := newChrome(false)
		c.run("filling in the signup form",
			chromedp.Navigate(issuer+"/signup"),
			chromedp.WaitReady(`#displayName`, chromedp.ByQuery),
			chromedp.SendKeys(`#displayName`, "Hooli", chromedp.ByQuery),
			chromedp.SendKeys(`#handle`, handle, chromedp.ByQuery),
			chromedp.SendKeys(`#adminName`, "Gavin Belson", chromedp.ByQuery),
			chromedp.SendKeys(`#email`, email, chromedp.ByQuery),
			chromedp.SendKeys(`#password`, newPassword, chromedp.ByQuery),
			chromedp.SendKeys(`#confirm`, newPassword, chromedp.ByQuery),
			chromedp.Click(`form button[type="submit"]`, chromedp.ByQuery))
		Eventually(c.heading).Should(ContainSubstring("Check your email"))
		// Nothing exists before the link is followed.
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: "platform", Name: handle}, &iamv1.Organization{})).NotTo(Succeed())

		link := mailTo(email, 1)[0].Link()
		// The confirmation page only shows a button (mail scanners open
		// links); pressing it creates the organization. A press that comes
		// before the operator has made the namespace says to press again.
		var heading string
		for attempt := 0; ; attempt++ {
			c.run("confirming the signup",
				chromedp.Navigate(link),
				chromedp.WaitReady(`form button[type="submit"]`, chromedp.ByQuery),
				chromedp.Click(`form button[type="submit"]`, chromedp.ByQuery))
			// The page answering the press replaces the confirmation page.
			Eventually(c.heading).ShouldNot(Equal("Create your organization"))
			if heading = c.heading(); heading != "Almost done" || attempt == 5 {
				break
			}
		}
		Expect(heading).To(Equal("Hooli is created"))
		users := &iamv1.OrgUserList{}
		Expect(k8s.List(ctx, users, client.InNamespace(handle))).To(Succeed())
		Expect(users.Items).To(HaveLen(1))
		Expect(users.Items[0].Spec.Email).To(Equal(email))
		Expect(users.Items[0].Spec.Roles).To(ConsistOf("admin"))
		org := &iamv1.Organization{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: "platform", Name: handle}, org)).To(Succeed())
		Expect(org.Spec.Suspended).To(BeFalse(), "approval Automatic makes the organization active at once")
		Expect(org.Spec.Domains).To(ConsistOf(iamv1.Domain("hooli.example")))
		c.expectCleanConsole()
	})
})

// heading is the text of the current page's #heading ("" while there is
// none).
func (c *chrome) heading() string {
	var h string
	c.run("reading the heading", chromedp.Evaluate(`(document.getElementById("heading") || {}).textContent || ""`, &h))
	return h
}
