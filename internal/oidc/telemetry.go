package oidc

import (
	"context"

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
