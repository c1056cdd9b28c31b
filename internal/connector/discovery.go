package connector

import (
	"context"
	"fmt"
	"slices"
	"strings"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/validation"
)

// metadata is what the connector uses of a provider's configuration.
type metadata struct {
	AuthorizationEndpoint string   `json:"authorization_endpoint"`
	TokenEndpoint         string   `json:"token_endpoint"`
	JWKSURI               string   `json:"jwks_uri"`
	UserinfoEndpoint      string   `json:"userinfo_endpoint"`
	Issuer                string   `json:"issuer"`
	TokenAuthMethods      []string `json:"token_endpoint_auth_methods_supported"`
	SigningAlgs           []string `json:"id_token_signing_alg_values_supported"`
	// IssParameter is RFC 9207's promise that every authorization response
	// carries iss; then a response without it is refused.
	IssParameter bool `json:"authorization_response_iss_parameter_supported"`
}

const discoveryPath = "/.well-known/openid-configuration"

// discover fetches <issuer>/.well-known/openid-configuration and checks
// that it describes issuer exactly (OpenID Connect Discovery 1.0 section
// 4.3): a document that names another issuer is a misconfiguration or an
// attempt to borrow another provider's keys.
func (c *upstreamClient) discover(ctx context.Context, issuer string) (*metadata, error) {
	var m metadata
	u := strings.TrimSuffix(issuer, "/") + discoveryPath
	if err := c.getJSON(ctx, "discovery", u, nil, &m); err != nil {
		return nil, err
	}
	if m.Issuer != issuer {
		return nil, newError(ReasonMisconfigured, nil,
			"discovery of %s: the document names issuer %q, not %q; spec.oidc.issuer must be exactly the provider's issuer", c.provider, printable(m.Issuer, 256), issuer)
	}
	return &m, nil
}

// check refuses metadata the connector cannot use safely.
func (m *metadata) check(allowLoopbackHTTP bool) error {
	for _, e := range []struct{ name, url string }{
		{"authorization_endpoint", m.AuthorizationEndpoint},
		{"token_endpoint", m.TokenEndpoint},
		{"jwks_uri", m.JWKSURI},
	} {
		if e.url == "" {
			return fmt.Errorf("the provider has no %s", e.name)
		}
		if err := checkEndpoint(e.url, allowLoopbackHTTP); err != nil {
			return fmt.Errorf("%s: %v", e.name, err)
		}
	}
	if m.UserinfoEndpoint != "" {
		if err := checkEndpoint(m.UserinfoEndpoint, allowLoopbackHTTP); err != nil {
			return fmt.Errorf("userinfo_endpoint: %v", err)
		}
	}
	return nil
}

// authStyle is how the client secret travels to the token endpoint:
// client_secret_basic (RFC 6749's default) unless the provider says it
// only takes client_secret_post.
func (m *metadata) secretInBody() bool {
	return len(m.TokenAuthMethods) > 0 &&
		!slices.Contains(m.TokenAuthMethods, "client_secret_basic") &&
		slices.Contains(m.TokenAuthMethods, "client_secret_post")
}

// Discovery is what Discover learned about a provider.
type Discovery struct {
	// Endpoints, as status.discovery records them.
	Endpoints iamv1.IdentityProviderDiscovery
	// IssParameterSupported is the provider's RFC 9207 promise
	// (authorization_response_iss_parameter_supported).
	IssParameterSupported bool
}

// Discover fetches and checks issuer's discovery document exactly as the
// connector does before a sign-in (bounded, with Config.Timeout, the issuer
// named exactly, every endpoint https), for the IdentityProvider
// reconciler to record in status.discovery: one rule for both. Its error is
// an *Error: ReasonUnavailable (unreachable, slow, too big, not JSON: may
// pass on its own) or ReasonMisconfigured (another issuer, an endpoint
// without https, a missing endpoint: the spec or the provider must
// change); its text says which, for the status message.
func Discover(ctx context.Context, issuer string, cfg Config) (Discovery, error) {
	c := cfg.withDefaults()
	if err := validation.IssuerURL(issuer, c.AllowLoopbackHTTP); err != nil {
		return Discovery{}, newError(ReasonMisconfigured, nil, "spec.oidc.issuer: %v", err)
	}
	client := upstreamClient{http: newHTTPClient(&c), cfg: &c, provider: issuer}
	m, err := client.discover(ctx, issuer)
	if err != nil {
		return Discovery{}, err
	}
	if err := m.check(c.AllowLoopbackHTTP); err != nil {
		return Discovery{}, newError(ReasonMisconfigured, nil, "discovery of %s: %v", issuer, err)
	}
	return Discovery{
		Endpoints: iamv1.IdentityProviderDiscovery{
			AuthorizationEndpoint: m.AuthorizationEndpoint,
			TokenEndpoint:         m.TokenEndpoint,
			JWKSURI:               m.JWKSURI,
			UserinfoEndpoint:      m.UserinfoEndpoint,
		},
		IssParameterSupported: m.IssParameter,
	}, nil
}
