package oidc

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/orgkeeper/orgkeeper/internal/rules"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
)

// Claim names of api.md section 7 beyond the standard ones.
const (
	ClaimOrgID     = "org_id"
	ClaimOrgHandle = "org_handle"
	ClaimOrgName   = "org_name"
	ClaimOrgPath   = "org_path"
	ClaimRoles     = "roles"
	ClaimGroups    = "groups"
	ClaimAMR       = "amr"
)

// SupportedClaims are announced in discovery.
var SupportedClaims = []string{
	"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "amr", "azp", "at_hash", "c_hash",
	"email", "email_verified", "name", "given_name", "family_name", "preferred_username",
	ClaimOrgID, ClaimOrgHandle, ClaimOrgName, ClaimOrgPath, ClaimRoles, ClaimGroups, "act",
}

// orgClaims adds the org_* claims of org.
func orgClaims(set func(string, any), org *snapshot.Org) {
	if org == nil {
		return
	}
	set(ClaimOrgID, org.ID)
	set(ClaimOrgHandle, org.Name)
	set(ClaimOrgName, org.DisplayName)
	set(ClaimOrgPath, nonNil(org.Path))
}

// userClaims fills the claims of a user at a client: sub, the profile claims
// the scopes ask for, the organization, roles and groups. roles and groups
// are always present (possibly empty), so that relying parties can tell
// "none" from "not sent".
func userClaims(info *oidc.UserInfo, u *snapshot.User, org *snapshot.Org, clientID string, scopes []string) {
	info.Subject = u.ID
	if hasScope(scopes, oidc.ScopeEmail) {
		info.Email = u.Email
		info.EmailVerified = oidc.Bool(u.EmailVerified)
	}
	if hasScope(scopes, oidc.ScopeProfile) {
		info.Name = u.DisplayName
		info.GivenName = u.GivenName
		info.FamilyName = u.FamilyName
		info.PreferredUsername = u.Username
	}
	orgClaims(info.AppendClaims, org)
	if org != nil && org != u.Org {
		// Only an organization switch (resolveSwitch) puts a user in
		// another organization: an administrator of an ancestor, who has
		// no application roles there and only the target's admin group.
		info.AppendClaims(ClaimRoles, []string{})
		info.AppendClaims(ClaimGroups, rules.SwitchGroups(org.Path))
		return
	}
	info.AppendClaims(ClaimRoles, nonNil(u.RolesFor(clientID)))
	info.AppendClaims(ClaimGroups, nonNil(u.Groups))
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// SetUserinfoFromScopes fills the ID token's claims from the user's own
// organization; SetUserinfoFromRequest then corrects the organization from
// the request.
func (s *Storage) SetUserinfoFromScopes(_ context.Context, info *oidc.UserInfo, userID, clientID string, scopes []string) error {
	u := s.snapshot().UserByID(userID)
	if u == nil {
		return oidc.ErrInvalidGrant().WithDescription("the user no longer exists")
	}
	userClaims(info, u, u.Org, clientID, scopes)
	return nil
}

// SetUserinfoFromRequest sets the organization claims of the ID token from
// the grant (code or refresh token), checking it once more.
func (s *Storage) SetUserinfoFromRequest(_ context.Context, info *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	g, ok := req.(grantRequest)
	if !ok {
		return nil
	}
	ug, err := resolveSession(s.snapshot(), g.GetClientID(), g.GetSubject(), g.orgID(), g.GetAuthTime(), g.GetAMR(), s.now())
	if err != nil {
		return oidc.ErrInvalidGrant().WithDescription("%s", err.Error())
	}
	userClaims(info, ug.user, ug.org, ug.client.ID, scopes)
	return nil
}

// SetUserinfoFromToken serves /userinfo: the claims of the user the access
// token is for, as its scopes allow, if the grant still holds. Machine
// tokens have no userinfo.
func (s *Storage) SetUserinfoFromToken(_ context.Context, info *oidc.UserInfo, tokenID, subject, _ string) error {
	ti, g, err := s.tokenInfoFor(tokenID, subject)
	if err != nil {
		return oidc.ErrAccessDenied().WithDescription("%s", err.Error())
	}
	if g.user == nil {
		return oidc.ErrAccessDenied().WithDescription("a client credentials token has no userinfo")
	}
	userClaims(info, g.user, g.org, g.client.ID, ti.Scopes)
	if len(ti.AMR) > 0 {
		info.AppendClaims(ClaimAMR, ti.AMR)
	}
	return nil
}

// SetIntrospectionFromToken serves /introspect for the client the token was
// issued to; for any other client the token is reported inactive. A token
// whose grant no longer holds is inactive too.
func (s *Storage) SetIntrospectionFromToken(_ context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	ti, g, err := s.tokenInfoFor(tokenID, subject)
	if err != nil {
		return err
	}
	if ti.ClientID != clientID {
		return errors.New("token of another client")
	}
	if g.user != nil {
		info := new(oidc.UserInfo)
		userClaims(info, g.user, g.org, g.client.ID, ti.Scopes)
		resp.SetUserInfo(info)
	} else {
		resp.Subject = subject
		orgClaims(func(k string, v any) {
			if resp.Claims == nil {
				resp.Claims = map[string]any{}
			}
			resp.Claims[k] = v
		}, g.org)
	}
	resp.Scope = ti.Scopes
	resp.ClientID = ti.ClientID
	resp.TokenType = oidc.BearerToken
	resp.Audience = oidc.Audience{ti.ClientID}
	resp.Expiration = oidc.FromTime(time.Unix(ti.Expiry, 0))
	resp.AuthenticationMethodsReferences = ti.AMR
	if ti.Switched && g.user != nil {
		resp.Actor = actorClaims("", g.user.ID, g.user.Org)
	}
	if ti.AuthTime != 0 {
		resp.AuthTime = oidc.FromTime(time.Unix(ti.AuthTime, 0))
	}
	return nil
}

// GetPrivateClaimsFromScopes is the fallback of GetPrivateClaimsFromRequest
// (the op package prefers the latter).
func (s *Storage) GetPrivateClaimsFromScopes(_ context.Context, userID, clientID string, scopes []string) (map[string]any, error) {
	u := s.snapshot().UserByID(userID)
	if u == nil {
		return nil, nil
	}
	info := new(oidc.UserInfo)
	userClaims(info, u, u.Org, clientID, scopes)
	return accessTokenClaims(info, nil, scopes), nil
}

// GetPrivateClaimsFromRequest returns the JWT access token's claims beyond
// the registered ones. The op package passes the scopes without profile and
// email; the access token carries those claims too (api.md), so the
// request's own scopes decide.
func (s *Storage) GetPrivateClaimsFromRequest(_ context.Context, req op.TokenRequest, _ []string) (map[string]any, error) {
	switch r := req.(type) {
	case *clientCredentialsRequest:
		claims := map[string]any{}
		if len(r.scopes) > 0 {
			claims["scope"] = strings.Join(r.scopes, " ")
		}
		orgClaims(func(k string, v any) { claims[k] = v }, r.org)
		return claims, nil
	case grantRequest:
		ug, err := resolveSession(s.snapshot(), r.GetClientID(), r.GetSubject(), r.orgID(), r.GetAuthTime(), r.GetAMR(), s.now())
		if err != nil {
			return nil, oidc.ErrInvalidGrant().WithDescription("%s", err.Error())
		}
		info := new(oidc.UserInfo)
		userClaims(info, ug.user, ug.org, ug.client.ID, r.GetScopes())
		return accessTokenClaims(info, r.GetAMR(), r.GetScopes()), nil
	default:
		return nil, nil
	}
}

// accessTokenClaims flattens userinfo claims (without sub, which the token
// has already) into the access token's private claims.
func accessTokenClaims(info *oidc.UserInfo, amr, scopes []string) map[string]any {
	claims := make(map[string]any, len(info.Claims)+10)
	for k, v := range info.Claims {
		claims[k] = v
	}
	set := func(k, v string) {
		if v != "" {
			claims[k] = v
		}
	}
	set("email", info.Email)
	if info.Email != "" {
		claims["email_verified"] = bool(info.EmailVerified)
	}
	set("name", info.Name)
	set("given_name", info.GivenName)
	set("family_name", info.FamilyName)
	set("preferred_username", info.PreferredUsername)
	if len(amr) > 0 {
		claims[ClaimAMR] = amr
	}
	if len(scopes) > 0 {
		claims["scope"] = strings.Join(scopes, " ")
	}
	return claims
}
