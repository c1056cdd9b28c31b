package e2e

import (
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/net/html"
	"golang.org/x/oauth2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/apiwrite"
	"github.com/orgkeeper/orgkeeper/internal/connector"
	"github.com/orgkeeper/orgkeeper/internal/connector/upstreamtest"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

// upstream is the corporate identity provider of the organization acme-fed:
// an https Fake on loopback, which the server's connectors trust.
var upstream *upstreamtest.Fake

// upstreamConnectors starts upstream and returns the server's connector
// registry (BeforeSuite passes it in app.Settings). Loopback is not a
// public address: the registry allows it as an installation would allow
// its corporate network (--upstream-allowed-networks).
func upstreamConnectors() *connector.Registry {
	upstream = upstreamtest.NewTLSFake(GinkgoTB())
	upstream.Set(func(f *upstreamtest.Fake) { f.Public = true })
	return connector.NewRegistry(connector.Config{HTTPClient: upstream.HTTPClient, AllowedNetworks: upstreamNetworks})
}

// upstreamNetworks are where the suite's providers live.
var upstreamNetworks = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

// formWithAction returns the page's form that posts to path.
func formWithAction(p page, path string) (form, bool) {
	doc, err := html.Parse(strings.NewReader(p.Body))
	if err != nil {
		return form{}, false
	}
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode || n.Data != "form" || attr(n, "action") != path {
			continue
		}
		action, err := p.URL.Parse(path)
		if err != nil {
			return form{}, false
		}
		f := form{Action: action, Fields: url.Values{}}
		for c := range n.Descendants() {
			if c.Type == html.ElementNode && c.Data == "input" && attr(c, "name") != "" {
				f.Fields.Set(attr(c, "name"), attr(c, "value"))
				f.Inputs = append(f.Inputs, attr(c, "name"))
			}
		}
		return f, true
	}
	return form{}, false
}

var _ = Describe("Signing in through an organization's upstream identity provider", Ordered, func() {
	BeforeAll(func() {
		org := st.ForCreate(st.Org("acme-fed", st.WithParent("acme"), st.WithDisplayName("ACME Federated")))
		create(org)
		eventuallyReady(org)
		create(st.ForCreate(st.IdP("acme-fed", "corp", st.WithIdPDisplayName("Corp SSO"),
			st.WithIssuer(upstream.URL), st.WithIdPClientID(upstreamtest.FakeClientID),
			st.WithProvisioning(iamv1.ProvisioningModeJustInTime, "member"))))
		update(org, func(o *iamv1.Organization) {
			o.Spec.Login = &iamv1.LoginSettings{IdentityProviders: []string{"corp"}}
		})
		eventuallyReady(org)
	})

	// signInUpstream signs in to portal through corp in a fresh browser and
	// returns the verified tokens.
	signInUpstream := func() signedIn {
		GinkgoHelper()
		b := newBrowser()
		a := authorize(portal, oauth2.SetAuthURLParam("organization", "acme-fed"))
		var button form
		Eventually(func(g Gomega) {
			p := b.follow(b.get(a.URL))
			var ok bool
			button, ok = formWithAction(p, "/login/idp")
			g.Expect(ok).To(BeTrue(), "acme-fed's page offers no provider yet:\n%s", p.Body)
		}).Should(Succeed())
		button.Fields.Set("idp", "corp")
		p := b.post(button.Action.String(), button.Fields)
		Expect(p.Location).NotTo(BeNil(), "no redirect to the provider:\n%s", p.Body)
		Expect(p.Location.String()).To(HavePrefix(upstream.URL + "/"))
		cb := upstream.Authorize(GinkgoTB(), p.Location.String())
		Expect(cb.URL.String()).To(HavePrefix(issuer + "/login/callback/oidc?"))
		last := b.follow(b.get(cb.URL.String()))
		code := codeFrom(flow{Last: last, Response: last.Location}, a, portalRedirect())
		tok, err := portal.Exchange(ctx, code, oauth2.VerifierOption(a.Verifier))
		Expect(err).NotTo(HaveOccurred())
		return verified(tok)
	}

	It("provisions the user just in time in the organization's namespace and signs them in at once", func() {
		s := signInUpstream()
		Expect(s.Claims["amr"]).To(ContainElement("fed"))
		Expect(s.Claims["email"]).To(Equal("pat@fake.example"))
		Expect(s.Claims["org_handle"]).To(Equal("acme-fed"))
		users := &iamv1.OrgUserList{}
		Expect(k8s.List(ctx, users, client.InNamespace("acme-fed"))).To(Succeed())
		Expect(users.Items).To(HaveLen(1))
		u := users.Items[0]
		Expect(s.IDToken.Subject).To(Equal(string(u.UID)))
		Expect(u.Labels).To(HaveKeyWithValue(apiwrite.IdentityProviderLabel, "corp"))
		Expect(u.Spec.Roles).To(Equal([]string{"member"}))
		Expect(u.Status.FederatedIdentities).To(ContainElement(iamv1.FederatedIdentity{IdentityProvider: "corp", Subject: upstreamtest.FakeSubject}))
	})

	It("finds the same user on the next sign-in", func() {
		first := &iamv1.OrgUserList{}
		Expect(k8s.List(ctx, first, client.InNamespace("acme-fed"))).To(Succeed())
		Expect(first.Items).To(HaveLen(1))
		s := signInUpstream()
		Expect(s.IDToken.Subject).To(Equal(string(first.Items[0].UID)))
		again := &iamv1.OrgUserList{}
		Expect(k8s.List(ctx, again, client.InNamespace("acme-fed"))).To(Succeed())
		Expect(again.Items).To(HaveLen(1))
	})

	It("does not let the reconciler drop the federated identity", func() {
		u := &iamv1.OrgUser{ObjectMeta: metav1.ObjectMeta{Namespace: "acme-fed", Name: apiwrite.FederatedUserName("", "corp", upstreamtest.FakeSubject)}}
		// Ready for the current generation: the reconciler has written its
		// status since the provisioner recorded the identity.
		eventuallyReady(u)
		Expect(u.Status.FederatedIdentities).To(Equal([]iamv1.FederatedIdentity{{IdentityProvider: "corp", Subject: upstreamtest.FakeSubject}}))
	})

	It("refuses a callback that no sign-in in this browser is waiting for", func() {
		b := newBrowser()
		p := b.get(issuer + "/login/callback/oidc?code=x&state=y")
		Expect(p.Status).To(Equal(http.StatusBadRequest))
	})
})
