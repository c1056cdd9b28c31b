package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/oauth2"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
)

// endpoints are the back-channel endpoints discovery names.
type endpoints struct {
	Token         string `json:"token_endpoint"`
	Introspection string `json:"introspection_endpoint"`
	EndSession    string `json:"end_session_endpoint"`
}

func discovered() endpoints {
	GinkgoHelper()
	var e endpoints
	Expect(provider.Claims(&e)).To(Succeed())
	Expect(e.Token).NotTo(BeEmpty())
	Expect(e.Introspection).NotTo(BeEmpty())
	Expect(e.EndSession).NotTo(BeEmpty())
	return e
}

// postForm posts form to u (with the query, if any) and decodes the JSON
// answer.
func postForm(u string, form url.Values) (int, map[string]any) {
	GinkgoHelper()
	resp, err := http.Post(u, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	Expect(resp.Header.Get("Content-Type")).To(HavePrefix("application/json"))
	var m map[string]any
	Expect(json.NewDecoder(resp.Body).Decode(&m)).To(Succeed())
	return resp.StatusCode, m
}

var _ = Describe("End session", func() {
	var postLogout string

	BeforeEach(func() {
		postLogout = rp.URL + "/logged-out"
		update(portalApp(), func(a *iamv1.SharedApplication) {
			a.Spec.PostLogoutRedirectURIs = append(a.Spec.PostLogoutRedirectURIs, postLogout)
		})
		DeferCleanup(func() {
			app := portalApp()
			update(app, func(a *iamv1.SharedApplication) {
				a.Spec.PostLogoutRedirectURIs = slices.DeleteFunc(a.Spec.PostLogoutRedirectURIs, func(u string) bool { return u == postLogout })
			})
			eventuallyReady(app)
		})
		eventuallyReady(portalApp())
	})

	// signedInBrowser signs alice in to portal and returns the browser
	// (with its SSO session) and the tokens.
	signedInBrowser := func() (*browser, signedIn) {
		GinkgoHelper()
		b := newBrowser()
		a := authorize(portal)
		code := codeFrom(b.signIn(a.URL, "alice@acme.example", password), a, portalRedirect())
		tok, err := portal.Exchange(ctx, code, oauth2.VerifierOption(a.Verifier))
		Expect(err).NotTo(HaveOccurred())
		return b, verified(tok)
	}
	// hasSSO reports whether the browser gets a code without a form.
	hasSSO := func(b *browser) bool {
		GinkgoHelper()
		p := b.follow(b.get(authorize(portal).URL))
		return p.Location != nil && p.Location.Query().Get("code") != ""
	}
	endSessionURL := func(extra url.Values) string {
		q := url.Values{"client_id": {"portal"}, "post_logout_redirect_uri": {postLogout}, "state": {"bye"}}
		for k, v := range extra {
			q[k] = v
		}
		return discovered().EndSession + "?" + q.Encode()
	}
	expectLoggedOutRedirect := func(p page) {
		GinkgoHelper()
		Expect(p.Location).NotTo(BeNil(), "status %d:\n%s", p.Status, p.Body)
		Expect(p.Location.Query().Get("state")).To(Equal("bye"))
		loc := *p.Location
		loc.RawQuery = ""
		Expect(loc.String()).To(Equal(postLogout))
	}

	It("asks for confirmation without an id_token_hint, keeps the session until then, and ends it on confirmation", func() {
		b, _ := signedInBrowser()
		Expect(hasSSO(b)).To(BeTrue(), "the browser has an SSO session")

		p := b.get(endSessionURL(nil))
		Expect(p.Status).To(Equal(http.StatusOK), "the confirmation page; got:\n%s", p.Body)
		fm, ok := findForm(p)
		Expect(ok).To(BeTrue(), "a form in:\n%s", p.Body)
		Expect(fm.Fields).To(HaveKey("csrf_token"))
		Expect(hasSSO(b)).To(BeTrue(), "showing the confirmation ends nothing")

		withoutToken := url.Values{}
		for k, v := range fm.Fields {
			if k != "csrf_token" {
				withoutToken[k] = v
			}
		}
		Expect(b.post(fm.Action.String(), withoutToken).Status).To(Equal(http.StatusForbidden))
		Expect(hasSSO(b)).To(BeTrue(), "a confirmation without its CSRF token ends nothing")

		expectLoggedOutRedirect(b.post(fm.Action.String(), fm.Fields))
		Expect(hasSSO(b)).To(BeFalse(), "the confirmed logout ended the SSO session")
	})

	It("ends the session in one navigation with a valid id_token_hint", func() {
		b, s := signedInBrowser()
		expectLoggedOutRedirect(b.get(endSessionURL(url.Values{"id_token_hint": {s.RawID}})))
		Expect(hasSSO(b)).To(BeFalse())
	})
})

var _ = Describe("Token and introspection endpoints", func() {
	It("introspects a live refresh token with client_secret_post as active, and the rotated one as inactive", func() {
		s := loginPortal("alice@acme.example")
		rt := s.Token.RefreshToken
		Expect(rt).NotTo(BeEmpty())
		introspect := func(token string) map[string]any {
			GinkgoHelper()
			status, m := postForm(discovered().Introspection, url.Values{
				"token": {token}, "client_id": {portal.ClientID}, "client_secret": {portal.ClientSecret}})
			Expect(status).To(Equal(http.StatusOK))
			return m
		}
		m := introspect(rt)
		Expect(m).To(HaveKeyWithValue("active", true))
		Expect(m).To(HaveKeyWithValue("client_id", "portal"))
		Expect(m).To(HaveKeyWithValue("token_type", "refresh_token"))
		Expect(m).To(HaveKeyWithValue("sub", s.IDToken.Subject))
		Expect(m).To(HaveKeyWithValue("org_handle", "acme"))
		Expect(m).To(HaveKey("exp"))

		_, err := refresh(rt)
		Expect(err).NotTo(HaveOccurred())
		Expect(introspect(rt)).To(Equal(map[string]any{"active": false}))
	})

	It("refuses client credentials in the query string with a JSON invalid_request", func() {
		q := url.Values{"client_id": {portal.ClientID}, "client_secret": {portal.ClientSecret}}
		status, m := postForm(discovered().Token+"?"+q.Encode(), url.Values{"grant_type": {"client_credentials"}})
		Expect(status).To(Equal(http.StatusBadRequest))
		Expect(m).To(HaveKeyWithValue("error", "invalid_request"))
	})
})
