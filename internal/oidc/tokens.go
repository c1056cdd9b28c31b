package oidc

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/orgkeeper/orgkeeper/internal/audit"
	"github.com/orgkeeper/orgkeeper/internal/session"
)

// tokenInfo is what an access token's ID (jti) carries. Access tokens are
// not stored: the ID travels inside the signed JWT or the encrypted opaque
// token, so whatever presents a valid token presents an authentic tokenInfo.
type tokenInfo struct {
	// ID makes every token ID unique.
	ID       string   `json:"i"`
	ClientID string   `json:"c"`
	OrgID    string   `json:"o,omitempty"`
	Scopes   []string `json:"s,omitempty"`
	AMR      []string `json:"m,omitempty"`
	AuthTime int64    `json:"t,omitempty"`
	Expiry   int64    `json:"x"`
	// Switched marks a token of an organization switch (token_exchange.go):
	// OrgID is the organization switched into, not the user's own.
	Switched bool `json:"w,omitempty"`
}

func (t tokenInfo) encode() (string, error) {
	b, err := json.Marshal(t)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func decodeTokenInfo(id string) (tokenInfo, error) {
	var t tokenInfo
	b, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil {
		return t, errors.New("malformed token ID")
	}
	if err := json.Unmarshal(b, &t); err != nil || t.ClientID == "" {
		return t, errors.New("malformed token ID")
	}
	return t, nil
}

func randomID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// issue checks that the request may still get tokens and returns the access
// token's ID and expiry. For user grants it resolves the organization.
func (s *Storage) issue(req op.TokenRequest) (userGrant, string, time.Time, error) {
	if x, ok := req.(*exchangeRequest); ok {
		return s.issueSwitched(x)
	}
	g, ok := req.(grantRequest)
	if !ok {
		return userGrant{}, "", time.Time{}, oidc.ErrUnsupportedGrantType()
	}
	snap := s.snapshot()
	now := s.now()
	var ug userGrant
	if cc, ok := req.(*clientCredentialsRequest); ok {
		ug.client = snap.Client(cc.clientID)
		if ug.client == nil {
			return userGrant{}, "", time.Time{}, oidc.ErrInvalidClient()
		}
		ug.org = cc.org
	} else {
		var err error
		ug, err = resolveSession(snap, g.GetClientID(), g.GetSubject(), g.orgID(), g.GetAuthTime(), g.GetAMR(), now)
		if err != nil {
			return userGrant{}, "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("%s", err.Error())
		}
	}
	rid, err := randomID()
	if err != nil {
		return userGrant{}, "", time.Time{}, err
	}
	exp := now.Add(ug.client.AccessTokenLifetime)
	info := tokenInfo{ID: rid, ClientID: ug.client.ID, Scopes: g.GetScopes(), AMR: g.GetAMR(), Expiry: exp.Unix()}
	if ug.org != nil {
		info.OrgID = ug.org.ID
	}
	if t := g.GetAuthTime(); !t.IsZero() {
		info.AuthTime = t.Unix()
	}
	id, err := info.encode()
	return ug, id, exp, err
}

// CreateAccessToken returns the ID and expiry of an access token without a
// refresh token.
func (s *Storage) CreateAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	ug, id, exp, err := s.issue(req)
	if err == nil {
		s.tokenIssued(ctx, req, ug)
	}
	return id, exp, err
}

// CreateAccessAndRefreshTokens issues a refresh token: the first of a new
// family for a code exchange (the family is the auth request's ID, so that a
// replayed code revokes it), or the successor of the presented token, which
// is rotated atomically (a concurrent or later use of it revokes the
// family).
func (s *Storage) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	ug, id, exp, err := s.issue(req)
	if err != nil {
		return "", "", time.Time{}, err
	}
	rtExp := s.now().Add(ug.client.RefreshTokenLifetime)
	var token string
	switch r := req.(type) {
	case *authRequest:
		if current != "" {
			return "", "", time.Time{}, oidc.ErrInvalidGrant()
		}
		token, _, err = s.cfg.Sessions.CreateRefreshToken(ctx, session.RefreshToken{
			FamilyID:  r.r.ID,
			ClientID:  r.r.ClientID,
			Subject:   r.r.UserID,
			OrgID:     ug.org.ID,
			Scopes:    r.r.Scopes,
			Audience:  r.GetAudience(),
			AMR:       r.r.AMR,
			AuthTime:  r.r.AuthTime,
			ExpiresAt: rtExp,
		})
	case *refreshRequest:
		if current == "" {
			return "", "", time.Time{}, oidc.ErrInvalidGrant()
		}
		token, _, err = s.cfg.Sessions.RotateRefreshToken(ctx, current, r.rt.ClientID, nil, rtExp)
	default:
		return "", "", time.Time{}, oidc.ErrUnsupportedGrantType()
	}
	if r, ok := req.(*refreshRequest); ok && errors.Is(err, session.ErrRefreshTokenReused) {
		s.reused(ctx, audit.EventRefreshTokenReuse, r.rt.ClientID, r.rt.Subject, s.orgName(r.rt.OrgID))
	}
	if err != nil {
		return "", "", time.Time{}, refreshError(err)
	}
	s.tokenIssued(ctx, req, ug)
	return id, token, exp, nil
}

// refreshError turns a session error about a refresh token into the OAuth
// error the client sees.
func refreshError(err error) error {
	switch {
	case errors.Is(err, session.ErrRefreshTokenReused):
		return oidc.ErrInvalidGrant().WithDescription("refresh token reused; the grant is revoked")
	case errors.Is(err, session.ErrRevoked):
		return oidc.ErrInvalidGrant().WithDescription("the grant was revoked")
	case errors.Is(err, session.ErrNotFound):
		return oidc.ErrInvalidGrant().WithDescription("invalid or expired refresh token")
	default:
		return err
	}
}

// TokenRequestByRefreshToken looks the presented token up (a token already
// rotated revokes its family) and checks that the grant still holds: user
// enabled and unlocked, organization not suspended, application still
// shared with it. The op package then compares the client.
func (s *Storage) TokenRequestByRefreshToken(ctx context.Context, token string) (op.RefreshTokenRequest, error) {
	rt, err := s.cfg.Sessions.GetRefreshToken(ctx, token)
	if errors.Is(err, session.ErrRefreshTokenReused) {
		s.reused(ctx, audit.EventRefreshTokenReuse, rt.ClientID, rt.Subject, s.orgName(rt.OrgID))
	}
	if err != nil {
		return nil, refreshError(err)
	}
	if _, err := resolveSession(s.snapshot(), rt.ClientID, rt.Subject, rt.OrgID, rt.AuthTime, rt.AMR, s.now()); err != nil {
		return nil, oidc.ErrInvalidGrant().WithDescription("%s", err.Error())
	}
	return &refreshRequest{rt: rt, scopes: rt.Scopes}, nil
}

// GetRefreshTokenInfo serves revocation: it returns the token value itself
// as the "token ID", because the session store revokes by value.
func (s *Storage) GetRefreshTokenInfo(ctx context.Context, clientID, token string) (string, string, error) {
	rt, err := s.cfg.Sessions.GetRefreshToken(ctx, token)
	if err != nil || rt.ClientID != clientID {
		return "", "", op.ErrInvalidRefreshToken
	}
	return rt.Subject, token, nil
}

// RevokeToken revokes a refresh token of clientID and its whole family. An
// access token cannot be revoked (it is not stored): the request is
// accepted and the token lives until it expires. Unknown tokens are
// accepted too (RFC 7009 section 2.2); another client's token is refused.
func (s *Storage) RevokeToken(ctx context.Context, token, _, clientID string) *oidc.Error {
	rt, err := s.cfg.Sessions.GetRefreshToken(ctx, token)
	switch {
	case err == nil:
		if rt.ClientID != clientID {
			return oidc.ErrInvalidClient().WithDescription("the token was not issued to this client")
		}
		if err := s.cfg.Sessions.RevokeRefreshToken(ctx, token, clientID); err != nil && !errors.Is(err, session.ErrNotFound) {
			return oidc.ErrServerError().WithParent(err)
		}
		if err := s.cfg.Sessions.RevokeRefreshTokenFamily(ctx, rt.FamilyID); err != nil {
			return oidc.ErrServerError().WithParent(err)
		}
		return nil
	case errors.Is(err, session.ErrRefreshTokenReused), errors.Is(err, session.ErrRevoked), errors.Is(err, session.ErrNotFound):
	default:
		return oidc.ErrServerError().WithParent(err)
	}
	if info, err := decodeTokenInfo(token); err == nil && info.ClientID != clientID {
		return oidc.ErrInvalidClient().WithDescription("the token was not issued to this client")
	}
	return nil
}

// ---- client credentials

// ClientCredentials authenticates a Confidential client for the
// client_credentials grant.
func (s *Storage) ClientCredentials(_ context.Context, clientID, clientSecret string) (op.Client, error) {
	c, err := s.authenticate(clientID, clientSecret)
	if err != nil {
		return nil, err
	}
	return s.newClient(c), nil
}

// ClientCredentialsTokenRequest builds the machine token request. With the
// organization parameter (from the token interceptor) the token is for that
// organization, which must not be suspended and must have the application
// shared with it; an unknown organization gets the same answer as one the
// application is not shared with.
func (s *Storage) ClientCredentialsTokenRequest(ctx context.Context, clientID string, scopes []string) (op.TokenRequest, error) {
	snap := s.snapshot()
	c := snap.Client(clientID)
	if c == nil {
		return nil, oidc.ErrInvalidClient()
	}
	req := &clientCredentialsRequest{
		clientID: clientID,
		scopes:   slices.DeleteFunc(slices.Clone(scopes), func(s string) bool { return s == oidc.ScopeOfflineAccess || s == oidc.ScopeOpenID }),
	}
	if name := organizationFrom(ctx); name != "" {
		org := snap.Org(name)
		// Sharing is checked before anything else about the organization,
		// and an unknown organization gets the very same answer, so that a
		// client learns nothing about organizations it is not shared with
		// (not even whether they exist or are suspended).
		if org == nil || !c.SharedWith(org.Name) {
			return nil, oidc.ErrAccessDenied().WithDescription("the application is not shared with the requested organization")
		}
		if err := checkOrgForClient(c, org); err != nil {
			return nil, oidc.ErrAccessDenied().WithDescription("the requested organization is suspended")
		}
		req.org = org
	}
	return req, nil
}

// tokenInfoFor decodes and checks an access token's ID for userinfo and
// introspection: not expired (opaque tokens are not checked by the op
// package), and the grant still holds.
func (s *Storage) tokenInfoFor(tokenID, subject string) (tokenInfo, userGrant, error) {
	info, err := decodeTokenInfo(tokenID)
	if err != nil {
		return info, userGrant{}, err
	}
	now := s.now()
	if !now.Before(time.Unix(info.Expiry, 0)) {
		return info, userGrant{}, errors.New("token expired")
	}
	snap := s.snapshot()
	if subject == info.ClientID && snap.UserByID(subject) == nil {
		// A machine token.
		c := snap.Client(info.ClientID)
		if c == nil {
			return info, userGrant{}, fmt.Errorf("%w: client %q is not served", errNotAllowed, info.ClientID)
		}
		g := userGrant{client: c}
		if info.OrgID != "" {
			g.org = snap.OrgByID(info.OrgID)
			if err := checkOrgForClient(c, g.org); err != nil {
				return info, userGrant{}, err
			}
		}
		return info, g, nil
	}
	var authTime time.Time
	if info.AuthTime != 0 {
		authTime = time.Unix(info.AuthTime, 0)
	}
	if info.Switched {
		g, err := resolveSwitch(snap, info.ClientID, subject, info.OrgID, authTime, info.AMR, now)
		return info, g, err
	}
	g, err := resolveSession(snap, info.ClientID, subject, info.OrgID, authTime, info.AMR, now)
	return info, g, err
}
