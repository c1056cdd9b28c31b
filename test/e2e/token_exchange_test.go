package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

// Issue 11 item 3: organization switch by RFC 8693 token exchange, driven
// by golang.org/x/oauth2 (its client credentials client lets the grant
// type be replaced, which makes it a plain token endpoint client) and
// verified with go-oidc against the issuer's published keys.
var _ = Describe("Organization switch by token exchange", Ordered, func() {
	const (
		grant        = "urn:ietf:params:oauth:grant-type:token-exchange"
		accessToken  = "urn:ietf:params:oauth:token-type:access_token"
		idToken      = "urn:ietf:params:oauth:token-type:id_token"
		switchboard  = "switchboard"
		switchedFrom = "acme"
	)
	var (
		conf     oauth2.Config
		verifier *gooidc.IDTokenVerifier
		alice    signedIn
	)
	app := func() *iamv1.SharedApplication {
		a := &iamv1.SharedApplication{}
		a.Namespace, a.Name = "platform", switchboard
		return a
	}
	// exchange switches with subjectToken into org as client id/secret.
	exchange := func(id, secret, subjectToken, subjectType, org string, extra ...string) (*oauth2.Token, error) {
		params := map[string][]string{
			"grant_type":         {grant},
			"subject_token":      {subjectToken},
			"subject_token_type": {subjectType},
			"organization":       {org},
		}
		for i := 0; i+1 < len(extra); i += 2 {
			params[extra[i]] = []string{extra[i+1]}
		}
		cc := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: provider.Endpoint().TokenURL,
			EndpointParams: params, AuthStyle: oauth2.AuthStyleInHeader}
		return cc.Token(ctx)
	}
	grantsInDiscovery := func() []string {
		resp, err := http.Get(issuer + "/.well-known/openid-configuration")
		Expect(err).NotTo(HaveOccurred())
		defer resp.Body.Close()
		var d struct {
			Grants []string `json:"grant_types_supported"`
		}
		Expect(json.NewDecoder(resp.Body).Decode(&d)).To(Succeed())
		return d.Grants
	}
	// othersEnableIt reports whether an application other than switchboard
	// enables token exchange (then discovery keeps announcing it).
	othersEnableIt := func() bool {
		var apps iamv1.SharedApplicationList
		Expect(k8s.List(ctx, &apps)).To(Succeed())
		for _, a := range apps.Items {
			if a.Name != switchboard && slices.Contains(a.Spec.GrantTypes, iamv1.GrantTypeTokenExchange) {
				return true
			}
		}
		return false
	}

	BeforeAll(func() {
		if !othersEnableIt() {
			Expect(grantsInDiscovery()).NotTo(ContainElement(grant), "no application enables token exchange yet")
		}
		redirect := rp.URL + "/switchboard/callback"
		create(st.ForCreate(st.App("platform", switchboard, st.WithAppDisplayName("Switchboard"),
			st.WithRedirectURIs(redirect), st.SharedWith(true, "acme", "globex"),
			st.WithGrantTypes(iamv1.GrantTypeAuthorizationCode, iamv1.GrantTypeRefreshToken, iamv1.GrantTypeTokenExchange))))
		DeferCleanup(func() {
			Expect(client.IgnoreNotFound(k8s.Delete(ctx, app()))).To(Succeed())
			if !othersEnableIt() {
				Eventually(grantsInDiscovery).ShouldNot(ContainElement(grant), "discovery drops the grant with the last application that enables it")
			}
		})
		eventuallyReady(app())
		secret := &corev1.Secret{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: "platform", Name: switchboard + "-oidc-client"}, secret)).To(Succeed())
		conf = oauth2.Config{ClientID: switchboard, ClientSecret: string(secret.Data["client-secret"]),
			Endpoint: provider.Endpoint(), RedirectURL: redirect,
			Scopes: []string{gooidc.ScopeOpenID, "profile", "email"}}
		verifier = provider.Verifier(&gooidc.Config{ClientID: switchboard, SupportedSigningAlgs: []string{gooidc.ES256}})
		alice = signInTo(conf, verifier, "alice@acme.example")
	})

	It("announces the grant in discovery once an application enables it", func() {
		Eventually(grantsInDiscovery).Should(ContainElement(grant))
	})

	It("switches an admin of acme into acme-eu: acme-eu's claims, its admin group, and act naming the admin", func() {
		tok, err := exchange(conf.ClientID, conf.ClientSecret, alice.Token.AccessToken, accessToken, "acme-eu")
		Expect(err).NotTo(HaveOccurred())
		Expect(tok.Extra("issued_token_type")).To(Equal(accessToken))
		Expect(tok.RefreshToken).To(BeEmpty(), "an exchange issues no refresh token")

		raw, _ := tok.Extra("id_token").(string)
		idt, err := verifier.Verify(ctx, raw)
		Expect(err).NotTo(HaveOccurred(), "the ID token verifies with the published keys for the application")
		var claims map[string]any
		Expect(idt.Claims(&claims)).To(Succeed())
		eu := getOrg("acme", "acme-eu")
		Expect(claims).To(HaveKeyWithValue("sub", alice.IDToken.Subject))
		Expect(claims).To(HaveKeyWithValue("org_handle", "acme-eu"))
		Expect(claims).To(HaveKeyWithValue("org_id", eu.Status.ID))
		Expect(claims).To(HaveKeyWithValue("org_path", []any{"platform", "acme", "acme-eu"}))
		Expect(claims).To(HaveKeyWithValue("groups", ConsistOf("orgkeeper:org:acme-eu:admins")))
		Expect(claims).To(HaveKeyWithValue("roles", BeEmpty()))
		Expect(claims).To(HaveKeyWithValue("act", And(
			HaveKeyWithValue("sub", alice.IDToken.Subject),
			HaveKeyWithValue("org_handle", switchedFrom),
			HaveKeyWithValue("org_id", getOrg("platform", switchedFrom).Status.ID))))
		Expect(idt.Expiry).NotTo(BeTemporally(">", alice.IDToken.Expiry.Add(time.Second)), "no longer than the subject token")

		// The access token is a JWT of the issuer for acme-eu too, and
		// userinfo answers for acme-eu.
		_, err = provider.Verifier(&gooidc.Config{SkipClientIDCheck: true}).Verify(ctx, tok.AccessToken)
		Expect(err).NotTo(HaveOccurred())
		Expect(jwtClaims(tok.AccessToken)).To(HaveKeyWithValue("org_handle", "acme-eu"))
		info, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		Expect(err).NotTo(HaveOccurred())
		var ui map[string]any
		Expect(info.Claims(&ui)).To(Succeed())
		Expect(ui).To(HaveKeyWithValue("org_handle", "acme-eu"))
		Expect(ui).To(HaveKeyWithValue("groups", ConsistOf("orgkeeper:org:acme-eu:admins")))
	})

	It("switches with the ID token and returns an ID token alone when asked", func() {
		tok, err := exchange(conf.ClientID, conf.ClientSecret, alice.RawID, idToken, "acme-eu", "requested_token_type", idToken)
		Expect(err).NotTo(HaveOccurred())
		Expect(tok.Extra("issued_token_type")).To(Equal(idToken))
		Expect(tok.TokenType).To(Equal("N_A"))
		idt, err := verifier.Verify(ctx, tok.AccessToken)
		Expect(err).NotTo(HaveOccurred())
		var claims map[string]any
		Expect(idt.Claims(&claims)).To(Succeed())
		Expect(claims).To(HaveKeyWithValue("org_handle", "acme-eu"))
	})

	It("refuses what is not a switch into a descendant the admin administers", func() {
		By("an ancestor, a sibling, the admin's own organization and one that does not exist")
		for org, code := range map[string]string{"platform": "access_denied", "globex": "access_denied", "nowhere": "access_denied", "acme": "invalid_request"} {
			_, err := exchange(conf.ClientID, conf.ClientSecret, alice.Token.AccessToken, accessToken, org)
			Expect(oauthError(err)).To(Equal(code), "switch into %s", org)
		}
		By("a user of acme-eu who is no admin, and a user of globex who is no admin")
		for email, org := range map[string]string{"erin@eu.acme.example": "acme-eu", "gabe@globex.example": "globex"} {
			s := signInTo(conf, verifier, email)
			_, err := exchange(conf.ClientID, conf.ClientSecret, s.Token.AccessToken, accessToken, org)
			Expect(oauthError(err)).To(Equal("access_denied"), "%s", email)
		}
		By("a token with a changed payload, and a token of another issuer")
		_, err := exchange(conf.ClientID, conf.ClientSecret, tampered(alice.Token.AccessToken), accessToken, "acme-eu")
		Expect(oauthError(err)).To(Equal("invalid_grant"))
		_, err = exchange(conf.ClientID, conf.ClientSecret, foreignToken(alice.Token.AccessToken), accessToken, "acme-eu")
		Expect(oauthError(err)).To(Equal("invalid_grant"))
		By("a token obtained by a switch")
		tok, err := exchange(conf.ClientID, conf.ClientSecret, alice.Token.AccessToken, accessToken, "acme-eu")
		Expect(err).NotTo(HaveOccurred())
		_, err = exchange(conf.ClientID, conf.ClientSecret, tok.AccessToken, accessToken, "acme-eu")
		Expect(oauthError(err)).To(Equal("invalid_grant"))
		By("an actor token")
		_, err = exchange(conf.ClientID, conf.ClientSecret, alice.Token.AccessToken, accessToken, "acme-eu", "actor_token", alice.RawID, "actor_token_type", idToken)
		Expect(oauthError(err)).To(Equal("invalid_request"))
		By("an application that does not enable the grant")
		_, err = exchange(portal.ClientID, portal.ClientSecret, alice.Token.AccessToken, accessToken, "acme-eu")
		Expect(oauthError(err)).To(Equal("unauthorized_client"))
	})

	It("refuses a switch into a suspended organization, and serves it again once resumed", func() {
		// An organization of this spec's own: suspending one revokes its
		// users' sessions for good, which no other spec must feel.
		lab := st.ForCreate(st.Org("acme-switch-lab", st.WithParent("acme"), st.WithDisplayName("ACME Switch Lab")))
		create(lab)
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8s.Delete(ctx, lab))).To(Succeed()) })
		eventuallyReady(lab)
		Eventually(func() error {
			_, err := exchange(conf.ClientID, conf.ClientSecret, alice.Token.AccessToken, accessToken, lab.Name)
			return err
		}).Should(Succeed())

		update(lab, func(o *iamv1.Organization) { o.Spec.Suspended = true })
		Eventually(func() string {
			_, err := exchange(conf.ClientID, conf.ClientSecret, alice.Token.AccessToken, accessToken, lab.Name)
			return oauthError(err)
		}).Should(Equal("access_denied"))
		update(lab, func(o *iamv1.Organization) { o.Spec.Suspended = false })
		Eventually(func() error {
			_, err := exchange(conf.ClientID, conf.ClientSecret, alice.Token.AccessToken, accessToken, lab.Name)
			return err
		}).Should(Succeed())
	})
})

// signInTo signs a user in to conf's application in a fresh browser and
// redeems the code.
func signInTo(conf oauth2.Config, v *gooidc.IDTokenVerifier, email string) signedIn {
	GinkgoHelper()
	a := authorize(conf)
	code := codeFrom(signIn(a.URL, email, password), a, conf.RedirectURL)
	tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(a.Verifier))
	Expect(err).NotTo(HaveOccurred())
	raw, _ := tok.Extra("id_token").(string)
	idt, err := v.Verify(ctx, raw)
	Expect(err).NotTo(HaveOccurred())
	s := signedIn{Token: tok, IDToken: idt, RawID: raw}
	Expect(idt.Claims(&s.Claims)).To(Succeed())
	return s
}

// tampered moves a JWT to another organization without re-signing it.
func tampered(token string) string {
	GinkgoHelper()
	parts := strings.Split(token, ".")
	c := jwtClaims(token)
	c["org_handle"] = "acme-eu"
	b, err := json.Marshal(c)
	Expect(err).NotTo(HaveOccurred())
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString(b) + "." + parts[2]
}

// foreignToken is token's claims signed by a key this issuer never had.
func foreignToken(token string) string {
	GinkgoHelper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	Expect(err).NotTo(HaveOccurred())
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
	Expect(err).NotTo(HaveOccurred())
	payload, err := json.Marshal(jwtClaims(token))
	Expect(err).NotTo(HaveOccurred())
	jws, err := signer.Sign(payload)
	Expect(err).NotTo(HaveOccurred())
	out, err := jws.CompactSerialize()
	Expect(err).NotTo(HaveOccurred())
	return out
}
