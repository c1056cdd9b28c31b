package e2e

import (
	gooidc "github.com/coreos/go-oidc/v3/oidc"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/oauth2"
)

var _ = Describe("Signing in to a shared application", func() {
	It("routes erin by her email domain, and the relying party verifies her ID token and its organization claims", func() {
		a := authorize(portal)
		f := signIn(a.URL, "erin@eu.acme.example", password)
		Expect(f.Steps).To(Equal([]string{"/login/identifier", "/login/password"}),
			"identifier-first page, then the password page of the discovered organization")
		code := codeFrom(f, a, portalRedirect())

		tok, err := portal.Exchange(ctx, code, oauth2.VerifierOption(a.Verifier))
		Expect(err).NotTo(HaveOccurred())
		s := verified(tok)

		eu, erin := getOrg("acme", "acme-eu"), getUser("acme-eu", "erin")
		Expect(eu.Status.ID).NotTo(BeEmpty())
		Expect(erin.Status.ID).NotTo(BeEmpty())
		Expect(s.IDToken.Issuer).To(Equal(issuer))
		Expect(s.IDToken.Subject).To(Equal(erin.Status.ID))
		Expect(s.Claims).To(HaveKeyWithValue("org_handle", "acme-eu"))
		Expect(s.Claims).To(HaveKeyWithValue("org_path", []any{"platform", "acme", "acme-eu"}))
		Expect(s.Claims).To(HaveKeyWithValue("org_name", "ACME Europe"))
		Expect(s.Claims).To(HaveKeyWithValue("org_id", eu.Status.ID))
		Expect(s.Claims).To(HaveKeyWithValue("email", "erin@eu.acme.example"))
		Expect(s.Claims).To(HaveKeyWithValue("amr", ContainElement("pwd")))
	})

	It("skips the identifier page for a login_hint in a verified domain", func() {
		a := authorize(portal, oauth2.SetAuthURLParam("login_hint", "erin@eu.acme.example"))
		f := signIn(a.URL, "erin@eu.acme.example", password)
		Expect(f.Steps).To(Equal([]string{"/login/password"}))
		tok, err := portal.Exchange(ctx, codeFrom(f, a, portalRedirect()), oauth2.VerifierOption(a.Verifier))
		Expect(err).NotTo(HaveOccurred())
		Expect(verified(tok).Claims).To(HaveKeyWithValue("org_handle", "acme-eu"))
	})

	It("takes the organization from the organization parameter", func() {
		a := authorize(portal, oauth2.SetAuthURLParam("organization", "acme-eu"))
		f := signIn(a.URL, "erin@eu.acme.example", password)
		Expect(f.Steps).To(Equal([]string{"/login/password"}))
		tok, err := portal.Exchange(ctx, codeFrom(f, a, portalRedirect()), oauth2.VerifierOption(a.Verifier))
		Expect(err).NotTo(HaveOccurred())
		s := verified(tok)
		Expect(s.Claims).To(HaveKeyWithValue("org_handle", "acme-eu"))
		Expect(s.IDToken.Subject).To(Equal(getUser("acme-eu", "erin").Status.ID))
	})

	It("gives alice her application roles and the org admins group, and userinfo says the same", func() {
		s := loginPortal("alice@acme.example")
		acme, alice := getOrg("platform", "acme"), getUser("acme", "alice")
		Expect(s.IDToken.Subject).To(Equal(alice.Status.ID))
		Expect(s.Claims).To(HaveKeyWithValue("roles", ContainElement("buyer")))
		Expect(s.Claims).To(HaveKeyWithValue("groups", ContainElement("orgkeeper:org:acme:admins")))
		Expect(s.Claims).To(HaveKeyWithValue("org_handle", "acme"))

		info, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(s.Token))
		Expect(err).NotTo(HaveOccurred())
		var claims map[string]any
		Expect(info.Claims(&claims)).To(Succeed())
		Expect(info.Subject).To(Equal(alice.Status.ID))
		Expect(claims).To(HaveKeyWithValue("org_id", acme.Status.ID))
		Expect(claims).To(HaveKeyWithValue("org_handle", "acme"))
		Expect(claims).To(HaveKeyWithValue("org_name", "ACME Corporation"))
		Expect(claims).To(HaveKeyWithValue("org_path", []any{"platform", "acme"}))
		Expect(claims).To(HaveKeyWithValue("roles", ContainElement("buyer")))
		Expect(claims).To(HaveKeyWithValue("groups", ContainElement("orgkeeper:org:acme:admins")))
	})

	// api.md section 7: roles are the user's roles for this client in this
	// org; alice's org role admin travels in groups, not in roles.
	It("puts only the client's application roles into alice's roles claim", func() {
		s := loginPortal("alice@acme.example")
		Expect(s.Claims).To(HaveKeyWithValue("roles", []any{"buyer"}))
		info, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(s.Token))
		Expect(err).NotTo(HaveOccurred())
		var claims map[string]any
		Expect(info.Claims(&claims)).To(Succeed())
		Expect(claims).To(HaveKeyWithValue("roles", []any{"buyer"}))
	})

	It("rotates refresh tokens, and reusing a rotated one revokes the whole family", func() {
		s := loginPortal("alice@acme.example")
		rt1 := s.Token.RefreshToken
		Expect(rt1).NotTo(BeEmpty())

		tok2, err := refresh(rt1)
		Expect(err).NotTo(HaveOccurred())
		rt2 := tok2.RefreshToken
		Expect(rt2).NotTo(BeEmpty())
		Expect(rt2).NotTo(Equal(rt1), "the refresh token rotates")
		Expect(tok2.AccessToken).NotTo(Equal(s.Token.AccessToken))

		_, err = refresh(rt1)
		Expect(err).To(HaveOccurred(), "a rotated refresh token is refused")
		Expect(oauthError(err)).To(Equal("invalid_grant"))

		_, err = refresh(rt2)
		Expect(err).To(HaveOccurred(), "replaying a rotated token revokes its family, the newest token too")
		Expect(oauthError(err)).To(Equal("invalid_grant"))
	})

	It("lets the public client sign in with PKCE and no secret", func() {
		a := authorize(spa)
		f := signIn(a.URL, "erin@eu.acme.example", password)
		tok, err := spa.Exchange(ctx, codeFrom(f, a, spaRedirect()), oauth2.VerifierOption(a.Verifier))
		Expect(err).NotTo(HaveOccurred())
		raw, _ := tok.Extra("id_token").(string)
		idt, err := provider.Verifier(&gooidc.Config{ClientID: "spa"}).Verify(ctx, raw)
		Expect(err).NotTo(HaveOccurred())
		Expect(idt.Subject).To(Equal(getUser("acme-eu", "erin").Status.ID))
	})
})
