package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/oauth2"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
)

// expectNoCode checks that a sign-in ended on an error page of the issuer,
// with no authorization code anywhere.
func expectNoCode(f flow, status int) {
	GinkgoHelper()
	Expect(f.Response).To(BeNil(), "the browser was sent to the client: %s", f.Response)
	Expect(f.Last.Status).To(Equal(status), "last page at %s:\n%s", f.Last.URL, f.Last.Body)
	Expect(f.Last.Body).NotTo(ContainSubstring("code="))
}

var _ = Describe("Refusals", func() {
	It("answers access_denied to the client for a user of an organization the application is not shared with", func() {
		a := authorize(portal)
		f := signIn(a.URL, "gabe@globex.example", password)
		expectNoCode(f, http.StatusForbidden)
		Expect(f.Steps).To(Equal([]string{"/login/identifier"}), "refused before any password is asked")
		back := continueLink(f.Last)
		Expect(back).NotTo(BeNil(), "the error page offers the way back to the client")
		q := back.Query()
		Expect(q.Get("error")).To(Equal("access_denied"))
		Expect(q.Get("code")).To(BeEmpty())
		Expect(q.Get("state")).To(Equal(a.State))
		Expect(q.Get("iss")).To(Equal(issuer))
		back.RawQuery = ""
		Expect(back.String()).To(Equal(portalRedirect()))
	})

	It("does not sign in a disabled user", func() {
		a := authorize(portal)
		f := signIn(a.URL, "dan@acme.example", password)
		expectNoCode(f, http.StatusForbidden)
		Expect(f.Steps).To(Equal([]string{"/login/identifier", "/login/password"}))
		Expect(f.Last.Body).To(ContainSubstring("Account disabled"))
	})

	It("refuses sign-ins and refresh tokens of a suspended organization until it is resumed", func() {
		s := loginPortal("erin@eu.acme.example")
		eu := &iamv1.Organization{}
		eu.Namespace, eu.Name = "acme", "acme-eu"
		update(eu, func(o *iamv1.Organization) { o.Spec.Suspended = true })
		DeferCleanup(func() {
			update(eu, func(o *iamv1.Organization) { o.Spec.Suspended = false })
			// Other specs sign acme-eu's users in: leave only once the
			// resumption is observed and the revocation instant (rounded up
			// to the next second) is past, so that their new sign-ins are
			// not taken for sessions from before it.
			Eventually(func(g Gomega) {
				o := &iamv1.Organization{}
				g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(eu), o)).To(Succeed())
				c := meta.FindStatusCondition(o.Status.Conditions, iamv1.ConditionSuspended)
				g.Expect(c).NotTo(BeNil())
				g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
				g.Expect(c.ObservedGeneration).To(Equal(o.Generation))
				g.Expect(o.Status.SessionsRevokedAt).NotTo(BeNil())
				g.Expect(time.Now().After(o.Status.SessionsRevokedAt.Add(time.Second))).To(BeTrue())
			}).Should(Succeed())
			Eventually(func(g Gomega) {
				a := authorize(portal)
				f := signIn(a.URL, "erin@eu.acme.example", password)
				g.Expect(f.Response).NotTo(BeNil())
				g.Expect(f.Response.Query().Get("error")).To(BeEmpty())
			}).Should(Succeed(), "erin signs in again once acme-eu is resumed")
		})

		var last flow
		Eventually(func(g Gomega) {
			a := authorize(portal)
			last = signIn(a.URL, "erin@eu.acme.example", password)
			g.Expect(last.Response).To(BeNil())
		}).Should(Succeed(), "the suspension is served")
		expectNoCode(last, http.StatusForbidden)
		Expect(last.Last.Body).To(ContainSubstring("Organization suspended"))

		_, err := refresh(s.Token.RefreshToken)
		Expect(err).To(HaveOccurred(), "the refresh token of a suspended organization's user is refused")
		Expect(oauthError(err)).To(Equal("invalid_grant"))
	})

	It("never redirects to a redirect URI that is not registered exactly", func() {
		u, err := url.Parse(rp.URL)
		Expect(err).NotTo(HaveOccurred())
		port, err := strconv.Atoi(u.Port())
		Expect(err).NotTo(HaveOccurred())
		other := port + 1
		if other > 65535 {
			other = port - 1
		}
		hp := u.Host // 127.0.0.1:port
		variants := map[string]string{
			"an added path segment":         "http://" + hp + "/callback/x",
			"an added query":                "http://" + hp + "/callback?x=1",
			"a fragment":                    "http://" + hp + "/callback#x",
			"a host name in another case":   "http://LocalHost:" + u.Port() + "/callback",
			"a scheme in another case":      "HTTP://" + hp + "/callback",
			"a different port":              fmt.Sprintf("http://127.0.0.1:%d/callback", other),
			"no port":                       "http://127.0.0.1/callback",
			"https":                         "https://" + hp + "/callback",
			"userinfo before the host":      "http://evil@" + hp + "/callback",
			"percent-encoded characters":    "http://" + hp + "/%63allback",
			"a trailing slash":              "http://" + hp + "/callback/",
			"a path traversal":              "http://" + hp + "/x/../callback",
			"another client's redirect URI": spaRedirect(),
		}
		for name, uri := range variants {
			conf := portal
			conf.RedirectURL = uri
			p := newBrowser().get(authorize(conf).URL)
			Expect(p.Location).To(BeNil(), "%s (%s): redirected to %s", name, uri, p.Location)
			Expect(p.Status).To(Equal(http.StatusBadRequest), "%s (%s)", name, uri)
		}
		for _, uri := range []string{portalRedirect(), portalLocalhostRedirect()} {
			conf := portal
			conf.RedirectURL = uri
			p := newBrowser().get(authorize(conf).URL)
			Expect(p.Location).NotTo(BeNil(), "the registered %s is accepted", uri)
			Expect(p.Location.Path).To(Equal("/login"))
		}
	})

	It("redeems a code only once", func() {
		a := authorize(portal)
		code := codeFrom(signIn(a.URL, "alice@acme.example", password), a, portalRedirect())
		_, err := portal.Exchange(ctx, code, oauth2.VerifierOption(a.Verifier))
		Expect(err).NotTo(HaveOccurred())
		_, err = portal.Exchange(ctx, code, oauth2.VerifierOption(a.Verifier))
		Expect(err).To(HaveOccurred())
		Expect(oauthError(err)).To(Equal("invalid_grant"))
	})

	It("refuses a code at a client it was not issued to", func() {
		a := authorize(portal)
		code := codeFrom(signIn(a.URL, "alice@acme.example", password), a, portalRedirect())
		thief := spa
		thief.RedirectURL = portalRedirect()
		_, err := thief.Exchange(ctx, code, oauth2.VerifierOption(a.Verifier))
		Expect(err).To(HaveOccurred())
		Expect(oauthError(err)).To(Equal("invalid_grant"))
	})

	It("refuses a PKCE downgrade: a code obtained with a challenge needs its verifier", func() {
		a := authorize(portal)
		code := codeFrom(signIn(a.URL, "alice@acme.example", password), a, portalRedirect())
		_, err := portal.Exchange(ctx, code)
		Expect(err).To(HaveOccurred())
		Expect(oauthError(err)).To(BeElementOf("invalid_request", "invalid_grant"))
	})

	It("refuses a public client without PKCE", func() {
		state := oauth2.GenerateVerifier()
		p := newBrowser().get(spa.AuthCodeURL(state))
		Expect(p.Location).NotTo(BeNil(), "an error response to the client")
		q := p.Location.Query()
		Expect(q.Get("error")).To(Equal("invalid_request"))
		Expect(q.Get("code")).To(BeEmpty())
		Expect(q.Get("state")).To(Equal(state))
		Expect(q.Get("iss")).To(Equal(issuer))
		Expect(strings.SplitN(p.Location.String(), "?", 2)[0]).To(Equal(spaRedirect()))
	})
})
