package oidc

import (
	"context"
	"net/http"
	"net/url"

	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/orgkeeper/orgkeeper/internal/audit"
)

// Grant types: the grant_type label of orgkeeper_tokens_issued_total.
const (
	grantAuthorizationCode = "authorization_code"
	grantRefreshToken      = "refresh_token"
	grantClientCredentials = "client_credentials"
	grantOther             = "other"
)

// grantTypeOf names the grant of a token request.
func grantTypeOf(req op.TokenRequest) string {
	switch req.(type) {
	case *authRequest:
		return grantAuthorizationCode
	case *refreshRequest:
		return grantRefreshToken
	case *clientCredentialsRequest:
		return grantClientCredentials
	}
	return grantOther
}

// tokenIssued counts an access token issued for req under ug. A machine
// token (client_credentials) is also an audit event: no sign-in precedes
// it. User tokens follow a sign-in that was recorded already.
func (s *Storage) tokenIssued(ctx context.Context, req op.TokenRequest, ug userGrant) {
	grant := grantTypeOf(req)
	client := ""
	if ug.client != nil {
		client = ug.client.ID
	}
	s.cfg.Metrics.TokenIssued(grant, client)
	if grant == grantClientCredentials {
		e := audit.Event{Event: audit.EventTokenIssued, Client: client, Reason: grant, Result: audit.ResultSuccess}
		if ug.org != nil {
			e.Organization = ug.org.Name
		}
		s.cfg.Audit.Record(ctx, e)
	}
}

// reused records a code or refresh token presented again: it leaked, and
// the grant it belongs to was revoked.
func (s *Storage) reused(ctx context.Context, event, clientID, userID, org string) {
	if clientID == "" {
		clientID = presentingClient(ctx)
	}
	s.cfg.Audit.Record(ctx, audit.Event{Event: event, Client: clientID, UserID: userID, Organization: org,
		Result: audit.ResultFailure, Reason: "reused"})
}

// orgName is the handle of the served organization with this ID, or "".
func (s *Storage) orgName(id string) string {
	if o := s.snapshot().OrgByID(id); o != nil {
		return o.Name
	}
	return ""
}

type presentingClientKey struct{}

// withPresentingClient keeps the client ID a token request names (HTTP
// Basic or client_id), for the audit line of a refresh token found reused
// at lookup, when the store no longer knows whose it was. The op package
// has authenticated that client by the time the token is looked up.
func withPresentingClient(ctx context.Context, r *http.Request) context.Context {
	id := r.PostForm.Get("client_id")
	if user, _, ok := r.BasicAuth(); ok {
		if u, err := url.QueryUnescape(user); err == nil {
			id = u
		}
	}
	if id == "" {
		return ctx
	}
	return context.WithValue(ctx, presentingClientKey{}, id)
}

// presentingClient is the client ID withPresentingClient kept, or "".
func presentingClient(ctx context.Context) string {
	id, _ := ctx.Value(presentingClientKey{}).(string)
	return id
}
