package oidc

import (
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
)

var _ op.Client = (*client)(nil)

// client presents a snapshot client to the op package.
type client struct {
	c        *snapshot.Client
	loginURL func(authRequestID string) string
	devMode  bool
}

func newClient(c *snapshot.Client, loginURL func(string) string, devMode bool) *client {
	return &client{c: c, loginURL: loginURL, devMode: devMode}
}

func (c *client) GetID() string                    { return c.c.ID }
func (c *client) RedirectURIs() []string           { return c.c.RedirectURIs }
func (c *client) PostLogoutRedirectURIs() []string { return c.c.PostLogoutRedirectURIs }

// ApplicationType is Web for Confidential clients. A Public client is Native
// when it registered a loopback or custom-scheme redirect URI (RFC 8252),
// otherwise a browser application (UserAgent).
func (c *client) ApplicationType() op.ApplicationType {
	if !c.c.IsPublic() {
		return op.ApplicationTypeWeb
	}
	for _, u := range c.c.RedirectURIs {
		if !strings.HasPrefix(u, "https://") {
			return op.ApplicationTypeNative
		}
	}
	return op.ApplicationTypeUserAgent
}

// AuthMethod is none for Public clients. Confidential clients may send the
// secret with HTTP Basic or in the form (the provider accepts both).
func (c *client) AuthMethod() oidc.AuthMethod {
	if c.c.IsPublic() {
		return oidc.AuthMethodNone
	}
	return oidc.AuthMethodBasic
}

func (c *client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}

func (c *client) GrantTypes() []oidc.GrantType {
	gs := grantTypesOf(c.c)
	out := make([]oidc.GrantType, len(gs))
	for i, g := range gs {
		out[i] = oidc.GrantType(g)
	}
	return out
}

func (c *client) LoginURL(id string) string { return c.loginURL(id) }

func (c *client) AccessTokenType() op.AccessTokenType {
	if c.c.AccessTokenFormat == iamv1.AccessTokenFormatOpaque {
		return op.AccessTokenTypeBearer
	}
	return op.AccessTokenTypeJWT
}

func (c *client) IDTokenLifetime() time.Duration { return c.c.IDTokenLifetime }

// DevMode relaxes the op package's redirect URI scheme checks; it is on only
// when the issuer itself is plain http on loopback (orgkeeper dev).
func (c *client) DevMode() bool { return c.devMode }

func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

// IsScopeAllowed allows no scope beyond the standard ones.
func (c *client) IsScopeAllowed(string) bool { return false }

// IDTokenUserinfoClaimsAssertion puts the profile and email claims into the
// ID token even when an access token is issued too: relying parties such as
// kube-apiserver read them from the ID token only.
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return true }

func (c *client) ClockSkew() time.Duration { return 0 }

// registeredRedirect reports whether the client, as the current snapshot
// serves it, still accepts uri as a redirect URI
// (snapshot.Client.AcceptsRedirectURI). It
// is the check of /authorize, made again at the callback and before a code
// is saved: an auth request lives up to its lifetime, and a redirect URI
// removed from the application meanwhile must get no code.
func (s *Storage) registeredRedirect(clientID, uri string) bool {
	return s.snapshot().Client(clientID).AcceptsRedirectURI(uri)
}
