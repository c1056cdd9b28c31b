package e2e

import (
	"net/http"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/oauth2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/apiwrite"
)

// organization finds the Organization named name, in whichever namespace.
func organization(name string) *iamv1.Organization {
	GinkgoHelper()
	list := &iamv1.OrganizationList{}
	Expect(k8s.List(ctx, list)).To(Succeed())
	for i := range list.Items {
		if list.Items[i].Name == name {
			return &list.Items[i]
		}
	}
	Fail("no Organization " + name)
	return nil
}

// setSelfRegistration sets name's login.selfRegistration.
func setSelfRegistration(name string, on bool) {
	GinkgoHelper()
	o := organization(name)
	patch := client.MergeFrom(o.DeepCopy())
	if o.Spec.Login == nil {
		o.Spec.Login = &iamv1.LoginSettings{}
	}
	o.Spec.Login.SelfRegistration = &on
	Expect(k8s.Patch(ctx, o, patch)).To(Succeed())
}

// registrationForm opens a sign-in for email at portal and follows
// "Create account", once the snapshot offers it.
func registrationForm(email string) (*browser, page) {
	GinkgoHelper()
	var b *browser
	var href string
	Eventually(func(g Gomega) {
		b = newBrowser()
		p := b.follow(b.get(authorize(portal, oauth2.SetAuthURLParam("login_hint", email)).URL))
		start := strings.Index(p.Body, `href="/login/register?`)
		g.Expect(start).To(BeNumerically(">=", 0), "no Create account on:\n%s", p.Body)
		href = p.Body[start+len(`href="`):]
		href = strings.ReplaceAll(href[:strings.Index(href, `"`)], "&amp;", "&")
	}).Should(Succeed())
	form := b.get(issuer + href)
	Expect(form.Status).To(Equal(http.StatusOK), form.Body)
	return b, form
}

func (b *browser) register(form page, name, email, pw string) page {
	GinkgoHelper()
	fm, ok := findForm(form)
	Expect(ok).To(BeTrue())
	fm.Fields.Set("name", name)
	fm.Fields.Set("email", email)
	fm.Fields.Set("password", pw)
	fm.Fields.Set("confirm", pw)
	return b.post(fm.Action.String(), fm.Fields)
}

var _ = Describe("Self-registration", func() {
	It("creates the account of a verified domain only after the mailed link, and the person signs in", func() {
		setSelfRegistration("acme-eu", true)
		DeferCleanup(func() { setSelfRegistration("acme-eu", false) })
		const email = "sofia@eu.acme.example"

		By("refusing an address at another organization's domain")
		b, form := registrationForm(email)
		parent := b.register(form, "Sofia", "sofia@acme.example", newPassword)
		Expect(parent.Status).To(Equal(http.StatusUnprocessableEntity))
		Expect(parent.Body).To(ContainSubstring("Only addresses at a domain of"))

		By("answering alike for an address that has an account")
		sent := b.register(form, "Sofia Europa", email, newPassword)
		Expect(sent.Status).To(Equal(http.StatusOK), sent.Body)
		b2, form2 := registrationForm("erin@eu.acme.example")
		known := b2.register(form2, "Erin", "erin@eu.acme.example", newPassword)
		Expect(known.Status).To(Equal(sent.Status))
		Expect(strings.ReplaceAll(visibleText(known), "erin@eu.acme.example", "X")).To(Equal(strings.ReplaceAll(visibleText(sent), email, "X")))

		msgs := mailTo(email, 1)
		Expect(msgs[0].Subject()).To(ContainSubstring("ACME Europe"))
		link := msgs[0].Link()
		Expect(link).To(HavePrefix(issuer + "/login/register/confirm?"))
		name := apiwrite.SelfRegisteredUserName(email)
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: "acme-eu", Name: name}, &iamv1.OrgUser{})).NotTo(Succeed(), "the user exists before the link was followed")

		By("creating the user when the link's button is pressed")
		rb := newBrowser()
		p := rb.get(link)
		Expect(p.Status).To(Equal(http.StatusOK), p.Body)
		fm, ok := findForm(p)
		Expect(ok).To(BeTrue())
		done := rb.post(fm.Action.String(), fm.Fields)
		Expect(done.Status).To(Equal(http.StatusOK), done.Body)
		Expect(done.Body).To(ContainSubstring("Your account is ready"))
		u := getUser("acme-eu", name)
		Expect(u.Labels).To(HaveKeyWithValue(iamv1.LabelSelfRegistered, "true"))
		Expect(u.Spec.EmailVerified).To(BeTrue())
		Expect(u.Spec.Roles).To(BeEmpty())

		s := signInWith(email, newPassword)
		Expect(s.IDToken.Subject).To(Equal(getUser("acme-eu", name).Status.ID))
		Expect(s.Claims).To(HaveKeyWithValue("org_handle", "acme-eu"))
		Expect(s.Claims).To(HaveKeyWithValue("email", email))
		Expect(s.Claims).To(HaveKeyWithValue("email_verified", true))

		By("refusing the link a second time")
		Expect(newBrowser().get(link).Status).To(Equal(http.StatusBadRequest))
		outboxDrained()
		// The address with an account got the account-exists message (with
		// a reset link) instead of a confirmation link.
		erinMail := smtpServer.To("erin@eu.acme.example")
		Expect(erinMail).To(HaveLen(1))
		Expect(erinMail[0].Subject()).To(ContainSubstring("already have"))
		Expect(erinMail[0].Link()).To(HavePrefix(issuer + "/login/reset/confirm?"))
	})
})
