package oidc

import (
	"context"
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/orgkeeper/orgkeeper/internal/session"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
)

// grantRequest is what every token request of this server can say about
// itself: who the tokens are for, at which client, in which organization.
type grantRequest interface {
	op.TokenRequest
	GetClientID() string
	// orgID is the organization the tokens are for; empty means the user's
	// own organization (user grants) or none (machine tokens).
	orgID() string
	GetAMR() []string
	GetAuthTime() time.Time
}

var (
	_ op.AuthRequest         = (*authRequest)(nil)
	_ op.RefreshTokenRequest = (*refreshRequest)(nil)
	_ grantRequest           = (*authRequest)(nil)
	_ grantRequest           = (*refreshRequest)(nil)
	_ grantRequest           = (*clientCredentialsRequest)(nil)
)

// authRequest presents a session.AuthRequest to the op package.
type authRequest struct{ r session.AuthRequest }

func (a *authRequest) GetID() string          { return a.r.ID }
func (a *authRequest) GetACR() string         { return "" }
func (a *authRequest) GetAMR() []string       { return a.r.AMR }
func (a *authRequest) GetAudience() []string  { return []string{a.r.ClientID} }
func (a *authRequest) GetAuthTime() time.Time { return a.r.AuthTime }
func (a *authRequest) GetClientID() string    { return a.r.ClientID }
func (a *authRequest) GetNonce() string       { return a.r.Nonce }
func (a *authRequest) GetRedirectURI() string { return a.r.RedirectURI }
func (a *authRequest) GetScopes() []string    { return a.r.Scopes }
func (a *authRequest) GetState() string       { return a.r.State }
func (a *authRequest) GetSubject() string     { return a.r.UserID }
func (a *authRequest) orgID() string          { return a.r.OrgID }
func (a *authRequest) Done() bool             { return a.r.Done && a.r.UserID != "" }
func (a *authRequest) GetResponseType() oidc.ResponseType {
	return oidc.ResponseType(a.r.ResponseType)
}
func (a *authRequest) GetResponseMode() oidc.ResponseMode {
	return oidc.ResponseMode(a.r.ResponseMode)
}

func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	if a.r.CodeChallenge == "" {
		return nil
	}
	return &oidc.CodeChallenge{
		Challenge: a.r.CodeChallenge,
		Method:    oidc.CodeChallengeMethod(a.r.CodeChallengeMethod),
	}
}

// refreshRequest is a presented refresh token, before rotation.
type refreshRequest struct {
	rt     session.RefreshToken
	scopes []string
}

func (r *refreshRequest) GetAMR() []string       { return r.rt.AMR }
func (r *refreshRequest) GetAuthTime() time.Time { return r.rt.AuthTime }
func (r *refreshRequest) GetClientID() string    { return r.rt.ClientID }
func (r *refreshRequest) GetScopes() []string    { return r.scopes }
func (r *refreshRequest) GetSubject() string     { return r.rt.Subject }
func (r *refreshRequest) orgID() string          { return r.rt.OrgID }

func (r *refreshRequest) GetAudience() []string {
	if len(r.rt.Audience) > 0 {
		return r.rt.Audience
	}
	return []string{r.rt.ClientID}
}

// SetCurrentScopes narrows the scopes of the tokens issued now; the rotated
// refresh token keeps the granted ones (RFC 6749 section 6).
func (r *refreshRequest) SetCurrentScopes(scopes []string) { r.scopes = scopes }

// clientCredentialsRequest is a machine token request: sub is the client ID;
// org is set when the organization parameter named one.
type clientCredentialsRequest struct {
	clientID string
	scopes   []string
	org      *snapshot.Org
}

func (c *clientCredentialsRequest) GetSubject() string     { return c.clientID }
func (c *clientCredentialsRequest) GetAudience() []string  { return []string{c.clientID} }
func (c *clientCredentialsRequest) GetScopes() []string    { return c.scopes }
func (c *clientCredentialsRequest) GetClientID() string    { return c.clientID }
func (c *clientCredentialsRequest) GetAMR() []string       { return nil }
func (c *clientCredentialsRequest) GetAuthTime() time.Time { return time.Time{} }
func (c *clientCredentialsRequest) orgID() string {
	if c.org == nil {
		return ""
	}
	return c.org.ID
}

// Request-scoped values that the op package does not pass to Storage: the
// interceptors in provider.go put them into the context.
type ctxKey int

const (
	ctxOrganization ctxKey = iota
	ctxLoginSession
	ctxCreatedAuthRequest
)

func withOrganization(ctx context.Context, org string) context.Context {
	return context.WithValue(ctx, ctxOrganization, org)
}

func organizationFrom(ctx context.Context) string {
	s, _ := ctx.Value(ctxOrganization).(string)
	return s
}

func withLoginSession(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxLoginSession, id)
}

func loginSessionFrom(ctx context.Context) string {
	s, _ := ctx.Value(ctxLoginSession).(string)
	return s
}

// createdAuthRequest receives the ID of the auth request that
// CreateAuthRequest stored, so that the /authorize interceptor can tell the
// redirect to the login UI from an authorization response.
type createdAuthRequest struct{ id string }

func withCreatedAuthRequest(ctx context.Context, c *createdAuthRequest) context.Context {
	return context.WithValue(ctx, ctxCreatedAuthRequest, c)
}

func createdAuthRequestFrom(ctx context.Context) *createdAuthRequest {
	c, _ := ctx.Value(ctxCreatedAuthRequest).(*createdAuthRequest)
	return c
}

func hasScope(scopes []string, s string) bool { return slices.Contains(scopes, s) }
