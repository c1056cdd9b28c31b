package e2e

import (
	"encoding/json"
	"net/http"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/oauth2/clientcredentials"
)

var _ = Describe("Machine tokens", func() {
	cc := func(org string) clientcredentials.Config {
		return clientcredentials.Config{
			ClientID: portal.ClientID, ClientSecret: portal.ClientSecret,
			TokenURL:       provider.Endpoint().TokenURL,
			EndpointParams: map[string][]string{"organization": {org}},
		}
	}

	It("issues a client credentials token for an organization the application is shared with", func() {
		conf := cc("acme")
		tok, err := conf.Token(ctx)
		Expect(err).NotTo(HaveOccurred())
		// The access token is a JWT signed with the published keys.
		_, err = provider.Verifier(&gooidc.Config{SkipClientIDCheck: true}).Verify(ctx, tok.AccessToken)
		Expect(err).NotTo(HaveOccurred())
		c := jwtClaims(tok.AccessToken)
		Expect(c).To(HaveKeyWithValue("org_handle", "acme"))
		Expect(c).To(HaveKeyWithValue("org_id", getOrg("platform", "acme").Status.ID))
		Expect(c).To(HaveKeyWithValue("org_path", []any{"platform", "acme"}))
	})

	It("refuses client credentials for an organization the application is not shared with", func() {
		conf := cc("globex")
		_, err := conf.Token(ctx)
		Expect(err).To(HaveOccurred())
		Expect(oauthError(err)).To(Equal("access_denied"))
	})
})

var _ = Describe("Signing keys", func() {
	It("publishes an ES256 and an RS256 key, and signs ID tokens with ES256", func() {
		var disco struct {
			JWKSURI string `json:"jwks_uri"`
		}
		Expect(provider.Claims(&disco)).To(Succeed())
		Expect(disco.JWKSURI).NotTo(BeEmpty())
		resp, err := http.Get(disco.JWKSURI)
		Expect(err).NotTo(HaveOccurred())
		defer resp.Body.Close()
		Expect(resp.StatusCode).To(Equal(http.StatusOK))
		var jwks struct {
			Keys []struct {
				Kty string `json:"kty"`
				Alg string `json:"alg"`
				Kid string `json:"kid"`
				Use string `json:"use"`
			} `json:"keys"`
		}
		Expect(json.NewDecoder(resp.Body).Decode(&jwks)).To(Succeed())
		var algs []string
		kids := map[string]string{}
		for _, k := range jwks.Keys {
			algs = append(algs, k.Kty+"/"+k.Alg)
			kids[k.Kid] = k.Alg
		}
		Expect(algs).To(ContainElement("EC/ES256"))
		Expect(algs).To(ContainElement("RSA/RS256"))

		s := loginPortal("alice@acme.example")
		h := jwtHeader(s.RawID)
		Expect(h).To(HaveKeyWithValue("alg", "ES256"))
		kid, _ := h["kid"].(string)
		Expect(kids).To(HaveKeyWithValue(kid, "ES256"), "the ID token's key is in the JWKS")
		// verified() already checked the signature against the JWKS with
		// ES256 as the only accepted algorithm.
	})
})
