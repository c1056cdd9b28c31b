package e2e

import (
	"crypto/tls"
	"net/http"
	"net/url"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/net/html"
	"golang.org/x/oauth2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/credentials"
	"github.com/orgkeeper/orgkeeper/internal/mail"
	"github.com/orgkeeper/orgkeeper/internal/mail/mailtest"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

// smtpServer is the suite's relay: a real SMTP server on loopback that
// requires STARTTLS and authentication, and captures what it accepts.
var smtpServer *mailtest.Server

func startMail() mail.Sender {
	GinkgoHelper()
	var err error
	smtpServer, err = mailtest.Start(mailtest.Options{TLS: mailtest.StartTLS, Username: "relay", Password: "relay-secret"})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() { _ = smtpServer.Close() })
	s, err := mail.NewSMTP(mail.SMTPConfig{Host: smtpServer.Host, Port: smtpServer.Port, From: "Sign-in <no-reply@id.example>",
		Username: "relay", Password: "relay-secret", TLS: mail.TLSStartTLS, Timeout: 5 * time.Second,
		TLSConfig: &tls.Config{RootCAs: smtpServer.RootCAs(), MinVersion: tls.VersionTLS12}})
	Expect(err).NotTo(HaveOccurred())
	return s
}

// mailTo waits for the n-th message to addr and returns the first n.
func mailTo(addr string, n int) []mailtest.Message {
	GinkgoHelper()
	Eventually(func() []mailtest.Message { return smtpServer.To(addr) }).Should(HaveLen(n), "mail to %s", addr)
	return smtpServer.To(addr)
}

func invite(org, name, email string) *iamv1.OrgUser {
	GinkgoHelper()
	u := st.ForCreate(st.User(org, name, email, st.WithNames("Invitee "+name, "", ""), st.Invited()))
	create(u)
	return u
}

func credentialOf(u *iamv1.OrgUser) *corev1.Secret {
	GinkgoHelper()
	s := &corev1.Secret{}
	Expect(k8s.Get(ctx, client.ObjectKey{Namespace: systemNamespace, Name: credentials.SecretName(string(getUser(u.Namespace, u.Name).UID))}, s)).To(Succeed())
	return s
}

// setPassword fills and posts the password form of a link page.
func (b *browser) setPassword(p page, pw, confirm string) page {
	GinkgoHelper()
	fm, ok := findForm(p)
	Expect(ok).To(BeTrue(), "no form on %s:\n%s", p.URL, p.Body)
	Expect(fm.Fields).To(HaveKey("csrf_token"))
	fm.Fields.Set("password", pw)
	fm.Fields.Set("confirm", confirm)
	return b.post(fm.Action.String(), fm.Fields)
}

// signInWith signs in to portal with a password that was just set: the
// snapshot serves the new hash a moment after the write, so the first
// attempts may be refused (fewer than the lockout allows).
func signInWith(email, pw string) signedIn {
	GinkgoHelper()
	var s signedIn
	tries := 0
	Eventually(func(g Gomega) {
		tries++
		g.Expect(tries).To(BeNumerically("<=", 4), "a freshly set password keeps being refused")
		a := authorize(portal, oauth2.SetAuthURLParam("login_hint", email))
		f := signIn(a.URL, email, pw)
		g.Expect(f.Response).NotTo(BeNil(), "last page:\n%s", f.Last.Body)
		// A sign-in in the second a revocation rounds up to is refused
		// (the session looks older than it): that is worth another try too.
		g.Expect(f.Response.Query().Get("error")).To(BeEmpty(), "answer: %s", f.Response)
		tok, err := portal.Exchange(ctx, codeFrom(f, a, portalRedirect()), oauth2.VerifierOption(a.Verifier))
		g.Expect(err).NotTo(HaveOccurred())
		s = verified(tok)
	}).WithPolling(time.Second).Should(Succeed())
	return s
}

func withToken(link, org, token string) string {
	u, err := url.Parse(link)
	Expect(err).NotTo(HaveOccurred())
	q := u.Query()
	if org != "" {
		q.Set("org", org)
	}
	if token != "" {
		q.Set("token", token)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

const newPassword = "violet orchid marmalade"

var _ = Describe("Onboarding by invitation", func() {
	It("mails the invitation once; its link sets a password and the user signs in with the organization's claims", func() {
		invite("acme", "ivy", "ivy@acme.example")
		msgs := mailTo("ivy@acme.example", 1)
		Expect(msgs[0].Subject()).To(ContainSubstring("ACME Corporation"))
		link := msgs[0].Link()
		Expect(link).To(HavePrefix(issuer + "/login/invitation?"))
		Eventually(func() iamv1.OrgUserState { return getUser("acme", "ivy").Status.State }).Should(Equal(iamv1.OrgUserStateInvited))

		b := newBrowser()
		p := b.get(link)
		Expect(p.Status).To(Equal(http.StatusOK), p.Body)
		Expect(p.Body).To(ContainSubstring("ivy@acme.example"))

		weak := b.setPassword(p, "Password2024!", "Password2024!")
		Expect(weak.Status).To(Equal(http.StatusUnprocessableEntity))
		Expect(weak.Body).To(ContainSubstring("most common"))
		mismatch := b.setPassword(p, newPassword, newPassword+"x")
		Expect(mismatch.Status).To(Equal(http.StatusUnprocessableEntity))
		Expect(credentialOf(getUser("acme", "ivy")).Data).NotTo(HaveKey(credentials.PasswordHashKey))

		done := b.setPassword(p, newPassword, newPassword)
		Expect(done.Status).To(Equal(http.StatusOK), done.Body)
		Expect(done.Body).To(ContainSubstring("Your account is ready"))
		Eventually(func(g Gomega) {
			u := getUser("acme", "ivy")
			g.Expect(u.Status.PasswordSet).To(BeTrue())
			g.Expect(u.Status.State).To(Equal(iamv1.OrgUserStateActive))
		}).Should(Succeed())
		hash := string(credentialOf(getUser("acme", "ivy")).Data[credentials.PasswordHashKey])

		s := signInWith("ivy@acme.example", newPassword)
		Expect(s.IDToken.Subject).To(Equal(getUser("acme", "ivy").Status.ID))
		Expect(s.Claims).To(HaveKeyWithValue("org_handle", "acme"))
		Expect(s.Claims).To(HaveKeyWithValue("org_name", "ACME Corporation"))
		Expect(s.Claims).To(HaveKeyWithValue("email", "ivy@acme.example"))

		By("accepting a second time, in another browser and with the old form")
		again := newBrowser().get(link)
		Expect(again.Status).To(Equal(http.StatusBadRequest))
		Expect(again.Body).To(ContainSubstring("This link is not valid"))
		replay := b.setPassword(p, "another long passphrase", "another long passphrase")
		Expect(replay.Status).To(Equal(http.StatusBadRequest))
		Expect(string(credentialOf(getUser("acme", "ivy")).Data[credentials.PasswordHashKey])).To(Equal(hash), "nothing changed")
		Expect(smtpServer.To("ivy@acme.example")).To(HaveLen(1))
	})

	It("ends a forged token, another organization's token and an expired link on a clear page, changing nothing", func() {
		invite("acme", "ike", "ike@acme.example")
		link := mailTo("ike@acme.example", 1)[0].Link()
		u, err := url.Parse(link)
		Expect(err).NotTo(HaveOccurred())
		token := u.Query().Get("token")
		b := newBrowser()
		open := b.get(link)
		Expect(open.Status).To(Equal(http.StatusOK))

		forged := token[:len(token)-2] + map[bool]string{true: "AA", false: "BB"}[!strings.HasSuffix(token, "AA")]
		Expect(newBrowser().get(withToken(link, "", forged)).Body).To(ContainSubstring("This link is not valid"))
		Expect(newBrowser().get(withToken(link, "globex", "")).Body).To(ContainSubstring("This link is not valid"))
		Expect(newBrowser().get(withToken(link, "", "garbage")).Status).To(Equal(http.StatusBadRequest))

		By("letting the link expire")
		cred := credentialOf(getUser("acme", "ike"))
		patch := client.MergeFrom(cred.DeepCopy())
		cred.Data[credentials.InvitationExpiresKey] = []byte(credentials.FormatTime(time.Now().Add(-time.Minute)))
		Expect(k8s.Patch(ctx, cred, patch)).To(Succeed())
		Eventually(func() int { return newBrowser().get(link).Status }).Should(Equal(http.StatusGone))
		late := b.setPassword(open, newPassword, newPassword)
		Expect(late.Status).To(Equal(http.StatusGone))
		Expect(late.Body).To(ContainSubstring("expired"))
		Expect(credentialOf(getUser("acme", "ike")).Data).NotTo(HaveKey(credentials.PasswordHashKey))
		Expect(getUser("acme", "ike").Status.State).To(Equal(iamv1.OrgUserStateInvited))
	})
})

// resetForm opens a sign-in for email at portal, follows "Forgot
// password?" and returns the browser and the email form.
func resetForm(email string) (*browser, page) {
	GinkgoHelper()
	b := newBrowser()
	p := b.follow(b.get(authorize(portal, oauth2.SetAuthURLParam("login_hint", email)).URL))
	Expect(p.Body).To(ContainSubstring("Forgot password?"))
	start := strings.Index(p.Body, `href="/login/reset?`)
	Expect(start).To(BeNumerically(">=", 0))
	href := p.Body[start+len(`href="`):]
	href = strings.ReplaceAll(href[:strings.Index(href, `"`)], "&amp;", "&")
	form := b.get(issuer + href)
	Expect(form.Status).To(Equal(http.StatusOK), form.Body)
	return b, form
}

func (b *browser) askReset(form page, email string) page {
	GinkgoHelper()
	fm, ok := findForm(form)
	Expect(ok).To(BeTrue())
	fm.Fields.Set("email", email)
	return b.post(fm.Action.String(), fm.Fields)
}

// visibleText is what a page shows: its text and where its links go,
// without the per-response nonce of its style element and the sign-in's
// ID in the links.
func visibleText(p page) string {
	GinkgoHelper()
	doc, err := html.Parse(strings.NewReader(p.Body))
	Expect(err).NotTo(HaveOccurred())
	var b strings.Builder
	for n := range doc.Descendants() {
		switch {
		case n.Type == html.TextNode && (n.Parent == nil || n.Parent.Data != "style"):
			b.WriteString(strings.TrimSpace(n.Data) + "\n")
		case n.Type == html.ElementNode && n.Data == "a":
			href, _, _ := strings.Cut(attr(n, "href"), "?") // each sign-in has its own ID
			b.WriteString("[" + href + "]\n")
		}
	}
	return b.String()
}

// outboxDrained waits until no message waits in the outbox.
func outboxDrained() {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		list := &corev1.SecretList{}
		g.Expect(k8s.List(ctx, list, client.InNamespace(systemNamespace), client.MatchingLabels{mail.LabelOutbox: mail.StatePending})).To(Succeed())
		g.Expect(list.Items).To(BeEmpty())
	}).Should(Succeed())
}

var _ = Describe("Password reset", func() {
	It("answers alike for unknown addresses, mails one link, and the reset ends the user's other sessions", func() {
		user("acme", "rita", "rita@acme.example")
		eventuallyReady(&iamv1.OrgUser{ObjectMeta: metav1.ObjectMeta{Namespace: "acme", Name: "rita"}})
		before := loginPortal("rita@acme.example")

		b, form := resetForm("rita@acme.example")
		known := b.askReset(form, "rita@acme.example")
		b2, form2 := resetForm("nobody@acme.example")
		unknown := b2.askReset(form2, "nobody@acme.example")
		Expect(known.Status).To(Equal(http.StatusOK))
		Expect(unknown.Status).To(Equal(known.Status))
		Expect(strings.ReplaceAll(visibleText(unknown), "nobody@acme.example", "X")).To(Equal(strings.ReplaceAll(visibleText(known), "rita@acme.example", "X")),
			"the page must not tell whether the account exists")

		link := mailTo("rita@acme.example", 1)[0].Link()
		Expect(link).To(HavePrefix(issuer + "/login/reset/confirm?"))
		rb := newBrowser()
		p := rb.get(link)
		Expect(p.Status).To(Equal(http.StatusOK), p.Body)
		done := rb.setPassword(p, newPassword, newPassword)
		Expect(done.Body).To(ContainSubstring("Your password is changed"))

		By("refusing the refresh tokens of sessions from before the reset")
		rt := before.Token.RefreshToken
		Eventually(func() error {
			tok, err := refresh(rt)
			if err == nil {
				rt = tok.RefreshToken // not revoked yet: keep the rotated one
			}
			return err
		}).Should(HaveOccurred())
		Expect(getUser("acme", "rita").Status.SessionsRevokedAt).NotTo(BeNil())

		s := signInWith("rita@acme.example", newPassword)
		Expect(s.IDToken.Subject).To(Equal(getUser("acme", "rita").Status.ID))
		old := signIn(authorize(portal, oauth2.SetAuthURLParam("login_hint", "rita@acme.example")).URL, "rita@acme.example", password)
		Expect(old.Response).To(BeNil(), "the old password still works")
		Expect(newBrowser().get(link).Status).To(Equal(http.StatusBadRequest), "a reset link works once")

		outboxDrained()
		Expect(smtpServer.To("nobody@acme.example")).To(BeEmpty())
	})

	It("mails one address at most three times an hour, however often the form is posted", func() {
		user("acme", "flo", "flo@acme.example")
		user("acme", "flo2", "flo2@acme.example")
		eventuallyReady(&iamv1.OrgUser{ObjectMeta: metav1.ObjectMeta{Namespace: "acme", Name: "flo"}})
		eventuallyReady(&iamv1.OrgUser{ObjectMeta: metav1.ObjectMeta{Namespace: "acme", Name: "flo2"}})
		b, form := resetForm("flo@acme.example")
		var first string
		for i := range 8 {
			p := b.askReset(form, "flo@acme.example")
			Expect(p.Status).To(Equal(http.StatusOK), "request %d", i+1)
			if i == 0 {
				first = visibleText(p)
			}
			Expect(visibleText(p)).To(Equal(first), "request %d answers differently", i+1)
		}
		// The write queue is first in, first out: once flo2's mail is out
		// and nothing waits, every request for flo has been handled.
		b2, form2 := resetForm("flo2@acme.example")
		b2.askReset(form2, "flo2@acme.example")
		mailTo("flo2@acme.example", 1)
		outboxDrained()
		Expect(smtpServer.To("flo@acme.example")).To(HaveLen(3))
	})
})
