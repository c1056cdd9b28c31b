package devenv_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/net/html"
	"golang.org/x/oauth2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/config"
	"github.com/orgkeeper/orgkeeper/internal/apiwrite"
	"github.com/orgkeeper/orgkeeper/internal/app"
	"github.com/orgkeeper/orgkeeper/internal/connector"
	"github.com/orgkeeper/orgkeeper/internal/controller"
	"github.com/orgkeeper/orgkeeper/internal/devenv"
	"github.com/orgkeeper/orgkeeper/internal/dnsverify"
)

// The demo world as `orgkeeper dev` runs it, with the corporate identity
// provider: a globex employee signs in to the demo application through it
// and is created in globex.
var _ = Describe("globex's corporate identity provider in the demo world", Ordered, func() {
	const demoRedirect = "http://127.0.0.1:9090/callback" // the demo-app sample's redirect URI
	var (
		c        client.Client
		issuer   string
		up       *devenv.Upstream
		stopUp   context.CancelFunc
		demo     oauth2.Config
		verifier *gooidc.IDTokenVerifier
	)

	BeforeAll(func(ctx SpecContext) {
		env := startEnv(ctx, devenv.Options{StateDir: GinkgoT().TempDir(), Log: GinkgoLogr})
		scheme, err := app.NewScheme()
		Expect(err).NotTo(HaveOccurred())
		c, err = client.New(env.Config, client.Options{Scheme: scheme})
		Expect(err).NotTo(HaveOccurred())
		Expect(devenv.EnsureNamespace(ctx, c, "orgkeeper-system")).To(Succeed())

		// The demo domains are verified over DNS, as in dev: globex.example
		// routes to the corporate provider only once verified.
		samples, err := config.Samples()
		Expect(err).NotTo(HaveOccurred())
		dnsCtx, stopDNS := context.WithCancel(context.Background())
		DeferCleanup(stopDNS)
		dns, err := devenv.StartDemoDNS(dnsCtx, c, samples, "127.0.0.1:0", GinkgoLogr)
		Expect(err).NotTo(HaveOccurred())
		resolver, err := dnsverify.New(dnsverify.Config{Server: dns.Addr()})
		Expect(err).NotTo(HaveOccurred())

		// The manager as dev wires it, on a port bound first.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		Expect(err).NotTo(HaveOccurred())
		issuer = "http://" + l.Addr().String()
		mgr, srv, err := app.NewManager(env.Config, app.Settings{
			Controller: controller.Options{SystemNamespace: "orgkeeper-system", AllowLoopbackIssuers: true,
				DiscoveryRecheckPeriod: 2 * time.Second, DomainResolver: resolver},
			MetricsAddr: "0",
			HealthAddr:  "0",
			Issuer:      issuer,
			Listener:    l,
			Connectors:  connector.NewRegistry(connector.Config{AllowLoopbackHTTP: true}),
			Log:         GinkgoLogr,
		})
		Expect(err).NotTo(HaveOccurred())
		mgrCtx, stop := context.WithCancel(context.Background())
		mgrDone := make(chan struct{})
		go func() {
			defer GinkgoRecover()
			defer close(mgrDone)
			Expect(mgr.Start(mgrCtx)).To(Succeed())
		}()
		DeferCleanup(func() { stop(); <-mgrDone })

		var upCtx context.Context
		upCtx, stopUp = context.WithCancel(context.Background())
		up, err = devenv.StartUpstream(upCtx, devenv.UpstreamOptions{Addr: "127.0.0.1:0", RedirectURI: devenv.UpstreamRedirectURI(issuer), Log: GinkgoLogr})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { stopUp(); <-up.Done() })
		Expect(up.Issuer).To(HavePrefix("http://localhost:"), "the two issuers must not share a cookie host")

		found, err := devenv.PointSamplesAtUpstream(samples, up)
		Expect(err).NotTo(HaveOccurred())
		Expect(found).To(BeTrue(), "the samples have no %s IdentityProvider", devenv.UpstreamIdentityProvider)
		Expect(devenv.ApplyObjects(ctx, c, samples, 2*time.Minute, GinkgoLogr)).To(Succeed())
		_, err = devenv.DemoPasswords(ctx, c, samples)
		Expect(err).NotTo(HaveOccurred())
		// Every sample object is Ready, the IdentityProvider included: its
		// discovery at the corporate provider succeeded.
		Expect(devenv.WaitForReady(ctx, c, devenv.ServedKinds(samples), 2*time.Minute)).To(Succeed())
		Expect(devenv.WaitUntil(ctx, time.Minute, func() error { return srv.Ready(nil) })).To(Succeed())

		provider, err := gooidc.NewProvider(ctx, issuer)
		Expect(err).NotTo(HaveOccurred())
		secret := &corev1.Secret{}
		Expect(c.Get(ctx, client.ObjectKey{Namespace: "platform", Name: "demo-app-oidc-client"}, secret)).To(Succeed())
		demo = oauth2.Config{
			ClientID: "demo-app", ClientSecret: string(secret.Data["client-secret"]),
			Endpoint: provider.Endpoint(), RedirectURL: demoRedirect,
			Scopes: []string{gooidc.ScopeOpenID, "profile", "email"},
		}
		verifier = provider.Verifier(&gooidc.Config{ClientID: "demo-app", SupportedSigningAlgs: []string{gooidc.ES256}})
	}, NodeTimeout(10*time.Minute))

	password := func(email string) string {
		for _, l := range up.Logins {
			if l.Email == email {
				return l.Password
			}
		}
		Fail("no corporate user " + email)
		return ""
	}

	// signIn signs in to the demo app as email in a fresh browser, starting
	// at the issuer's email page, and returns the ID token's claims.
	signIn := func(ctx context.Context, email, pass string) (map[string]any, error) {
		GinkgoHelper()
		state, pkce := oauth2.GenerateVerifier(), oauth2.GenerateVerifier()
		b := newFormBrowser()
		code, err := b.signIn(demo.AuthCodeURL(state, oauth2.S256ChallengeOption(pkce)), demoRedirect, email, pass, state)
		if err != nil {
			return nil, err
		}
		tok, err := demo.Exchange(ctx, code, oauth2.VerifierOption(pkce))
		Expect(err).NotTo(HaveOccurred())
		raw, _ := tok.Extra("id_token").(string)
		idt, err := verifier.Verify(ctx, raw)
		Expect(err).NotTo(HaveOccurred())
		claims := map[string]any{}
		Expect(idt.Claims(&claims)).To(Succeed())
		return claims, nil
	}

	It("signs a globex employee in to the demo app through it, creating the user in globex just in time", func(ctx SpecContext) {
		claims, err := signIn(ctx, "grace@globex.example", password("grace@globex.example"))
		Expect(err).NotTo(HaveOccurred())
		Expect(claims).To(HaveKeyWithValue("email", "grace@globex.example"))
		Expect(claims).To(HaveKeyWithValue("org_handle", "globex"))
		Expect(claims["amr"]).To(ContainElement("fed"))
		Expect(claims["groups"]).To(ContainElements("engineering", "architects"))

		users := &iamv1.OrgUserList{}
		Expect(c.List(ctx, users, client.InNamespace("globex"), client.MatchingLabels{apiwrite.IdentityProviderLabel: devenv.UpstreamIdentityProvider})).To(Succeed())
		Expect(users.Items).To(HaveLen(1))
		Expect(users.Items[0].Spec.Email).To(Equal("grace@globex.example"))
		Expect(users.Items[0].Spec.DisplayName).To(Equal("Grace Hopper"))
		Expect(claims).To(HaveKeyWithValue("sub", string(users.Items[0].UID)))
	})

	It("checks passwords: a wrong one does not get past the provider", func(ctx SpecContext) {
		_, err := signIn(ctx, "hank@globex.example", "not-"+password("hank@globex.example"))
		Expect(err).To(MatchError(ContainSubstring("stopped at")))
		users := &iamv1.OrgUserList{}
		Expect(c.List(ctx, users, client.InNamespace("globex"))).To(Succeed())
		for _, u := range users.Items {
			Expect(u.Spec.Email).NotTo(Equal("hank@globex.example"))
		}
	})

	It("links gabe's corporate account to his existing globex user, whose email globex has verified", func(ctx SpecContext) {
		gabe := &iamv1.OrgUser{}
		Expect(c.Get(ctx, client.ObjectKey{Namespace: "globex", Name: "gabe"}, gabe)).To(Succeed())
		claims, err := signIn(ctx, "gabe@globex.example", password("gabe@globex.example"))
		Expect(err).NotTo(HaveOccurred())
		Expect(claims).To(HaveKeyWithValue("sub", string(gabe.UID)))
		Expect(c.Get(ctx, client.ObjectKeyFromObject(gabe), gabe)).To(Succeed())
		Expect(gabe.Status.FederatedIdentities).To(ContainElement(HaveField("IdentityProvider", devenv.UpstreamIdentityProvider)))
	})

	It("shows a provider that went away: Ready=False on the IdentityProvider, and globex's error page instead of a sign-in", func(ctx SpecContext) {
		stopUp()
		<-up.Done()
		idp := &iamv1.IdentityProvider{}
		Eventually(func(g Gomega) {
			g.Expect(c.Get(ctx, client.ObjectKey{Namespace: devenv.UpstreamOrganization, Name: devenv.UpstreamIdentityProvider}, idp)).To(Succeed())
			ready := meta.FindStatusCondition(idp.Status.Conditions, iamv1.ConditionReady)
			g.Expect(ready).NotTo(BeNil())
			g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(ready.Message).To(ContainSubstring("localhost"))
		}).WithTimeout(time.Minute).Should(Succeed())
		_, err := signIn(ctx, "grace@globex.example", password("grace@globex.example"))
		Expect(err).To(MatchError(ContainSubstring("stopped at " + issuer)))
	})
})

// formBrowser is a browser without JavaScript that fills in the login
// pages' forms: an email field, then a password field.
type formBrowser struct{ c *http.Client }

func newFormBrowser() *formBrowser {
	jar, err := cookiejar.New(nil)
	Expect(err).NotTo(HaveOccurred())
	return &formBrowser{c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// signIn follows authURL through every redirect and form until the browser
// is sent to redirectURI, and returns the code; it fails when a page has no
// form to go on with (an error page, or a password refused).
func (b *formBrowser) signIn(authURL, redirectURI, email, pass, state string) (string, error) {
	req, _ := http.NewRequest(http.MethodGet, authURL, nil)
	for range 30 {
		resp, err := b.c.Do(req)
		if err != nil {
			return "", err
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); resp.StatusCode/100 == 3 && loc != "" {
			next, err := req.URL.Parse(loc)
			if err != nil {
				return "", err
			}
			if strings.HasPrefix(next.String(), redirectURI+"?") {
				q := next.Query()
				if q.Get("state") != state || q.Get("code") == "" {
					return "", fmt.Errorf("authorization response %s", next)
				}
				return q.Get("code"), nil
			}
			req, _ = http.NewRequest(http.MethodGet, next.String(), nil)
			continue
		}
		action, fields, ok := loginForm(req.URL, string(body))
		if !ok || resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("stopped at %s (%d)", req.URL, resp.StatusCode)
		}
		switch {
		case fields.Has("password") && fields.Get("password") == "":
			if fields.Get("username") == "" {
				fields.Set("username", email)
			}
			fields.Set("password", pass)
		case fields.Has("username") && fields.Get("username") == "":
			fields.Set("username", email)
		default:
			return "", fmt.Errorf("stopped at %s: a form with nothing to fill in", req.URL)
		}
		req, _ = http.NewRequest(http.MethodPost, action.String(), strings.NewReader(fields.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return "", errors.New("too many hops")
}

// loginForm finds the page's form with a username or password input. A
// page that reports a problem (a refused password shows the form again,
// with an alert) yields none, so the sign-in stops there.
func loginForm(base *url.URL, body string) (*url.URL, url.Values, bool) {
	if strings.Contains(body, `role="alert"`) {
		return nil, nil, false // the page reports a problem
	}
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		return nil, nil, false
	}
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode || n.Data != "form" {
			continue
		}
		fields := url.Values{}
		for in := range n.Descendants() {
			if in.Type == html.ElementNode && in.Data == "input" && attrOf(in, "name") != "" {
				fields.Set(attrOf(in, "name"), attrOf(in, "value"))
			}
		}
		if !fields.Has("username") && !fields.Has("password") {
			continue
		}
		action, err := base.Parse(attrOf(n, "action"))
		if err != nil {
			return nil, nil, false
		}
		return action, fields, true
	}
	return nil, nil, false
}

func attrOf(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}
