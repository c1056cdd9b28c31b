package oidc

// Organization switch: RFC 8693 token exchange at the token endpoint.
//
// An administrator of an organization exchanges a token of their own
// sign-in (an access token or an ID token that this issuer gave the same
// application) for tokens of one of the organization's descendants:
//
//	grant_type=urn:ietf:params:oauth:grant-type:token-exchange
//	subject_token=<token>  subject_token_type=urn:ietf:params:oauth:token-type:{access_token,id_token}
//	organization=<descendant>  [requested_token_type=...]  [scope=...]
//
// The op package mints the new tokens (op.CreateAccessToken,
// op.CreateIDToken, and the claims hooks of op.TokenExchangeStorage) and
// decrypts opaque subject tokens, but
// its own TokenExchange handler does not fit: it authenticates clients by
// HTTP Basic only (no client_secret_post, no public clients), answers a
// bad subject token with invalid_request, and its request type reports no
// amr, the current time as auth_time and no act claim. The token
// interceptor therefore serves the grant here, with the request type
// exchangeRequest, and the decision itself is rules.DecideSwitch.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	httphelper "github.com/zitadel/oidc/v3/pkg/http"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/keys"
	"github.com/orgkeeper/orgkeeper/internal/rules"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
)

var (
	_ op.TokenExchangeStorage = (*Storage)(nil)
	_ op.TokenExchangeRequest = (*exchangeRequest)(nil)
	_ op.TokenActorRequest    = (*exchangeRequest)(nil)
)

// idTokenIssuedTokenType is the token_type of a token exchange response
// that issues an ID token: it is not an access token (RFC 8693 section
// 2.2.1).
const idTokenIssuedTokenType = "N_A"

// grantTypesSupported is what discovery announces: the grants every
// server has, and token exchange only while some application enables it.
func (h *handler) grantTypesSupported() []oidc.GrantType {
	out := slices.Clone(supportedGrantTypes)
	for _, c := range h.storage.snapshot().Clients() {
		if c.HasGrantType(iamv1.GrantTypeTokenExchange) {
			return append(out, oidc.GrantTypeTokenExchange)
		}
	}
	return out
}

// tokenExchange serves the token exchange grant. backChannelInput has
// bounded the request and refused a query string and a second client
// authentication method. Every refusal is a JSON OAuth error.
func (h *handler) tokenExchange(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	ctx := r.Context()
	c, cerr := h.exchangeClient(r)
	if cerr != nil {
		op.RequestError(w, r, cerr, nil)
		return
	}
	var req oidc.TokenExchangeRequest
	if err := h.provider.Decoder().Decode(&req, r.PostForm); err != nil {
		op.RequestError(w, r, oidc.ErrInvalidRequest().WithDescription("the token exchange request cannot be parsed"), nil)
		return
	}
	x, err := h.validateExchange(ctx, c, &req, r.PostForm.Get("organization"))
	if err != nil {
		op.RequestError(w, r, err, nil)
		return
	}
	resp, err := h.exchangeResponse(ctx, x, c)
	if err != nil {
		op.RequestError(w, r, err, nil)
		return
	}
	httphelper.MarshalJSON(w, resp)
}

// exchangeClient authenticates the client of a token exchange: a
// Confidential one by HTTP Basic or client_id and client_secret in the
// body, a Public one by client_id alone (auth method none). A public
// client proves nothing about itself, which is why the subject token must
// have been issued to the very client that exchanges it.
func (h *handler) exchangeClient(r *http.Request) (*snapshot.Client, *oidc.Error) {
	id, secret, cerr := clientCredentials(r)
	if cerr != nil {
		return nil, cerr
	}
	if id == "" {
		return nil, oidc.ErrInvalidClient().WithDescription("client_id is required")
	}
	c := h.storage.snapshot().Client(id)
	switch {
	case c == nil:
		return nil, oidc.ErrInvalidClient().WithDescription("invalid client_id or client_secret")
	case c.IsPublic():
		if secret != "" {
			return nil, oidc.ErrInvalidClient().WithDescription("a public client has no client secret")
		}
	case !c.CheckSecret(secret):
		return nil, oidc.ErrInvalidClient().WithDescription("invalid client_id or client_secret")
	}
	if !c.HasGrantType(iamv1.GrantTypeTokenExchange) {
		return nil, oidc.ErrUnauthorizedClient().WithDescription("the application does not enable the token exchange grant (spec.grantTypes)")
	}
	return c, nil
}

// subjectToken is what a verified subject token says.
type subjectToken struct {
	clientID string
	userID   string
	orgID    string
	authTime time.Time
	amr      []string
	// scopes were granted to the token; an exchange may narrow them.
	scopes []string
	expiry time.Time
	// switched marks a token that was itself obtained by a switch.
	switched bool
}

// errSubjectToken is the answer to any subject token that this issuer did
// not issue, or that is expired or malformed: the client learns nothing
// about which check failed.
func errSubjectToken() *oidc.Error {
	return oidc.ErrInvalidGrant().WithDescription("the subject_token is not a valid, unexpired token of this issuer of the given subject_token_type")
}

// validateExchange checks a token exchange request, cheapest checks first,
// and returns what to issue. Errors (RFC 8693 section 2.2.2, RFC 6749
// section 5.2):
//
//   - invalid_request: a missing or unsupported parameter, an actor token,
//     no organization, the user's own organization;
//   - invalid_target: a resource, or an audience other than the client;
//   - invalid_grant: the subject token is not a live token of this issuer
//     for this client (expired, foreign, badly signed, of another client,
//     itself from a switch), or its sign-in no longer holds (user disabled
//     or deleted, organization suspended, session revoked);
//   - invalid_scope: a scope beyond the subject token's;
//   - access_denied: rules.DecideSwitch refuses (not an admin, not below,
//     not shared, suspended, second factor required).
func (h *handler) validateExchange(ctx context.Context, c *snapshot.Client, req *oidc.TokenExchangeRequest, orgName string) (*exchangeRequest, error) {
	switch {
	case req.SubjectToken == "":
		return nil, oidc.ErrInvalidRequest().WithDescription("subject_token is required")
	case req.SubjectTokenType == "":
		return nil, oidc.ErrInvalidRequest().WithDescription("subject_token_type is required")
	case req.ActorToken != "" || req.ActorTokenType != "":
		return nil, oidc.ErrInvalidRequest().WithDescription("actor_token is not supported: an administrator switches organization with their own token alone")
	case req.SubjectTokenType != oidc.AccessTokenType && req.SubjectTokenType != oidc.IDTokenType:
		return nil, oidc.ErrInvalidRequest().WithDescription("subject_token_type must be %s or %s", oidc.AccessTokenType, oidc.IDTokenType)
	case req.RequestedTokenType != "" && req.RequestedTokenType != oidc.AccessTokenType && req.RequestedTokenType != oidc.IDTokenType:
		return nil, oidc.ErrInvalidRequest().WithDescription("requested_token_type must be %s or %s", oidc.AccessTokenType, oidc.IDTokenType)
	case len(req.Resource) > 0:
		return nil, oidc.ErrInvalidTarget().WithDescription("resource is not supported: the tokens are for the requesting application")
	case len(req.Audience) > 1 || len(req.Audience) == 1 && req.Audience[0] != c.ID:
		return nil, oidc.ErrInvalidTarget().WithDescription("the only audience is the requesting application itself")
	case orgName == "":
		return nil, oidc.ErrInvalidRequest().WithDescription("organization is required: name the organization to switch into")
	}
	requested := req.RequestedTokenType
	if requested == "" {
		requested = oidc.AccessTokenType
	}

	sub, ok := h.verifySubjectToken(ctx, req.SubjectToken, req.SubjectTokenType)
	if !ok {
		return nil, errSubjectToken()
	}
	now := h.storage.now()
	if !now.Before(sub.expiry) {
		return nil, errSubjectToken()
	}
	if sub.clientID != c.ID {
		return nil, oidc.ErrInvalidGrant().WithDescription("the subject_token was issued to another application; exchange a token of this application")
	}
	if sub.switched {
		return nil, oidc.ErrInvalidGrant().WithDescription("a token obtained by switching organization cannot be exchanged again; exchange the administrator's own token")
	}
	snap := h.storage.snapshot()
	if snap.UserByID(sub.userID) == nil {
		return nil, oidc.ErrInvalidGrant().WithDescription("the subject_token does not name a user")
	}
	g, err := resolveSession(snap, c.ID, sub.userID, sub.orgID, sub.authTime, sub.amr, now)
	if err != nil {
		return nil, oidc.ErrInvalidGrant().WithDescription("%s", err.Error())
	}
	scopes, err := exchangeScopes(req.Scopes, sub.scopes)
	if err != nil {
		return nil, err
	}
	target := snap.Org(orgName)
	d := switchDecision(g, orgName, target, sub.amr)
	switch {
	case d.Refusal == rules.SwitchSameOrganization:
		return nil, oidc.ErrInvalidRequest().WithDescription("%s", d.Message)
	case !d.Allowed():
		return nil, oidc.ErrAccessDenied().WithDescription("%s", d.Message)
	}
	return &exchangeRequest{
		clientID:    c.ID,
		subject:     g.user.ID,
		actorOrg:    g.user.Org,
		targetID:    target.ID,
		scopes:      scopes,
		amr:         sub.amr,
		authTime:    sub.authTime,
		notAfter:    sub.expiry,
		requested:   requested,
		subjectType: req.SubjectTokenType,
		issuer:      h.issuer,
	}, nil
}

// verifySubjectToken verifies a token this issuer issued, of the type the
// client says it is: an access token (an opaque one decrypts, a JWT
// verifies; its ID carries the grant, see tokenInfo) or an ID token. A JWT
// access token presented as an ID token is refused (it has a jti, which ID
// tokens of this issuer never have), and so is an ID token presented as an
// access token (it has no jti).
//
// The verification of a signed token is cached (token_exchange_cache.go):
// it depends only on the token, its type and the served keys. Everything
// that depends on the current state is the caller's, on every exchange.
func (h *handler) verifySubjectToken(ctx context.Context, token string, typ oidc.TokenType) (subjectToken, bool) {
	ks := h.storage.cfg.Keys.KeySet()
	signed := typ == oidc.IDTokenType || typ == oidc.AccessTokenType && strings.Count(token, ".") == 2
	if !signed {
		st, _, ok := h.verifySubjectTokenOnce(ctx, ks, token, typ)
		return st, ok
	}
	now := h.storage.now()
	key := subjectKey(typ, token)
	if st, ok := h.subjects.get(key, ks, now); ok {
		return st, true
	}
	st, kid, ok := h.verifySubjectTokenOnce(ctx, ks, token, typ)
	if ok {
		h.subjects.put(key, st, kid, now)
	}
	return st, ok
}

// verifySubjectTokenOnce is verifySubjectToken without the cache. It also
// returns the ID of the key that signed a signed token ("" for an opaque
// one).
func (h *handler) verifySubjectTokenOnce(ctx context.Context, ks *keys.KeySet, token string, typ oidc.TokenType) (subjectToken, string, bool) {
	switch typ {
	case oidc.AccessTokenType:
		var id, subject, kid string
		if strings.Count(token, ".") == 2 {
			var c subjectClaims
			var ok bool
			if kid, ok = h.verifyJWT(ks, token, &c); !ok {
				return subjectToken{}, "", false
			}
			id, subject = c.JWTID, c.Subject
		} else {
			var ok bool
			if id, subject, ok = h.accessTokenIDAndSubject(ctx, token); !ok {
				return subjectToken{}, "", false
			}
		}
		info, err := decodeTokenInfo(id)
		if err != nil || subject == "" {
			return subjectToken{}, "", false
		}
		st := subjectToken{clientID: info.ClientID, userID: subject, orgID: info.OrgID, amr: info.AMR,
			scopes: info.Scopes, expiry: time.Unix(info.Expiry, 0), switched: info.Switched}
		if info.AuthTime != 0 {
			st.authTime = time.Unix(info.AuthTime, 0)
		}
		return st, kid, true
	case oidc.IDTokenType:
		var c subjectClaims
		kid, ok := h.verifyJWT(ks, token, &c)
		if !ok || c.JWTID != "" || c.Subject == "" {
			return subjectToken{}, "", false
		}
		clientID := c.AuthorizedParty
		if clientID == "" && len(c.Audience) == 1 {
			clientID = c.Audience[0]
		}
		if clientID == "" || !slices.Contains(c.Audience, clientID) {
			return subjectToken{}, "", false
		}
		st := subjectToken{clientID: clientID, userID: c.Subject, orgID: c.OrgID,
			authTime: c.AuthTime.AsTime(), amr: c.AMR, expiry: c.Expiration.AsTime(), switched: c.Actor != nil}
		// An ID token does not list its scopes; the claims it carries show
		// which of the user's scopes it was issued with.
		st.scopes = []string{oidc.ScopeOpenID}
		if c.PreferredUsername != "" {
			st.scopes = append(st.scopes, oidc.ScopeProfile)
		}
		if c.Email != "" {
			st.scopes = append(st.scopes, oidc.ScopeEmail)
		}
		return st, kid, true
	}
	return subjectToken{}, "", false
}

// subjectClaims are the claims of a subject token that an exchange reads.
type subjectClaims struct {
	Issuer            string           `json:"iss"`
	Subject           string           `json:"sub"`
	Audience          oidc.Audience    `json:"aud"`
	AuthorizedParty   string           `json:"azp"`
	Expiration        oidc.Time        `json:"exp"`
	AuthTime          oidc.Time        `json:"auth_time"`
	AMR               []string         `json:"amr"`
	JWTID             string           `json:"jti"`
	Actor             *json.RawMessage `json:"act"`
	OrgID             string           `json:"org_id"`
	Email             string           `json:"email"`
	PreferredUsername string           `json:"preferred_username"`
}

// verifyJWT verifies a JWS of this issuer and decodes its payload into
// claims: exactly one signature, by the served key (current, previous or
// next) that its kid names, with that key's algorithm, and iss this
// issuer. It returns the key's ID. Expiry is the caller's
// (validateExchange, with the provider's clock). It is what
// op.VerifyAccessToken and op.VerifyIDTokenHint check, with one parse of
// the token and no key list built per call.
//
// A token in the exact shape this issuer signs is decided by the fast path
// (token_exchange_jws.go): a lookup of its header, one signature check
// over the signing input, one decoding of the payload. Any other input is
// parsed by go-jose, which decides it as it always did.
func (h *handler) verifyJWT(ks *keys.KeySet, token string, claims *subjectClaims) (string, bool) {
	if ks == nil {
		return "", false
	}
	payload, k, outcome := h.jwsHeaders.of(ks).verifyServed(token)
	switch outcome {
	case jwsInvalid:
		return "", false
	case jwsUndecided:
		jws, err := jose.ParseSigned(token, ks.SignatureAlgorithms())
		if err != nil || len(jws.Signatures) != 1 {
			return "", false
		}
		hdr := jws.Signatures[0].Protected
		var ok bool
		k, ok = ks.Key(hdr.KeyID)
		if !ok || hdr.Algorithm != string(k.Algorithm()) {
			return "", false
		}
		if payload, err = jws.Verify(k.Signer().Public()); err != nil {
			return "", false
		}
	}
	if json.Unmarshal(payload, claims) != nil || claims.Issuer != h.issuer {
		return "", false
	}
	return k.ID(), true
}

// exchangeScopes are the scopes of the exchanged tokens: the requested
// ones, each of which the subject token must have, or else all of the
// subject token's. offline_access is never granted: an exchange issues no
// refresh token.
func exchangeScopes(requested, granted []string) ([]string, error) {
	granted = slices.DeleteFunc(slices.Clone(granted), func(s string) bool { return s == oidc.ScopeOfflineAccess })
	if len(requested) == 0 {
		return granted, nil
	}
	out := make([]string, 0, len(requested))
	for _, s := range requested {
		if !slices.Contains(granted, s) {
			return nil, oidc.ErrInvalidScope().WithDescription("scope %q was not granted to the subject_token", s)
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out, nil
}

// switchDecision applies rules.DecideSwitch to a resolved grant of the
// administrator's own organization and the requested one (target nil when
// no organization of that name is served).
func switchDecision(g userGrant, name string, target *snapshot.Org, amr []string) rules.SwitchDecision {
	r := rules.SwitchRequest{UserPath: g.user.Org.Path, Admin: g.user.Administrator, Target: name, AMR: amr}
	if target != nil {
		r.TargetPath = target.Path
		r.Shared = g.client.SharedWith(target.Name)
		r.TargetSuspended = target.Suspended
		r.TargetMFA = target.Login.MFA
	}
	return rules.DecideSwitch(r)
}

// resolveSwitch is resolveSession for tokens of a switch: the sign-in
// must still hold in the user's own organization (user enabled, not
// revoked, organization not suspended, its MFA policy met, application
// shared with it) and the switch must still be allowed into the target.
// Every later use of such a token (its claims, userinfo, introspection)
// re-checks both, so that demoting an administrator, suspending the
// target or unsharing the application stops its tokens at once.
func resolveSwitch(snap *snapshot.Snapshot, clientID, userID, targetID string, authTime time.Time, amr []string, now time.Time) (userGrant, error) {
	g, err := resolveSession(snap, clientID, userID, "", authTime, amr, now)
	if err != nil {
		return userGrant{}, err
	}
	target := snap.OrgByID(targetID)
	if target == nil {
		return userGrant{}, fmt.Errorf("%w: the organization switched into no longer exists", errNotAllowed)
	}
	if d := switchDecision(g, target.Name, target, amr); !d.Allowed() {
		return userGrant{}, fmt.Errorf("%w: %s", errNotAllowed, d.Message)
	}
	g.org = target
	return g, nil
}

// exchangeResponse mints the tokens of an allowed switch with the op
// package: an access token (with an ID token when the scopes include
// openid), or an ID token alone when that was requested. Neither outlives
// the subject token, so an exchange never extends what a token grants in
// time; no refresh token is issued.
func (h *handler) exchangeResponse(ctx context.Context, x *exchangeRequest, sc *snapshot.Client) (*oidc.TokenExchangeResponse, error) {
	c := h.storage.newClient(sc)
	issuer := op.IssuerFromContext(ctx)
	// The op package adds the validity to its own clock; the remaining
	// life of the subject token is measured with the provider's.
	idValidity := min(sc.IDTokenLifetime, x.notAfter.Sub(h.storage.now()))
	resp := &oidc.TokenExchangeResponse{IssuedTokenType: x.requested, Scopes: x.scopes}
	switch x.requested {
	case oidc.IDTokenType:
		idt, err := op.CreateIDToken(ctx, issuer, x, idValidity, "", "", h.provider.Storage(), c)
		if err != nil {
			return nil, err
		}
		resp.AccessToken, resp.TokenType, resp.ExpiresIn = idt, idTokenIssuedTokenType, uint64(idValidity.Seconds())
	default:
		at, _, validity, err := op.CreateAccessToken(ctx, x, c.AccessTokenType(), h.provider, c, "")
		if err != nil {
			return nil, err
		}
		validity = max(min(validity, x.notAfter.Sub(h.storage.now())), 0)
		resp.AccessToken, resp.TokenType, resp.ExpiresIn = at, oidc.BearerToken, uint64(validity.Seconds())
		if hasScope(x.scopes, oidc.ScopeOpenID) {
			if resp.IDToken, err = op.CreateIDToken(ctx, issuer, x, idValidity, at, "", h.provider.Storage(), c); err != nil {
				return nil, err
			}
		}
	}
	return resp, nil
}

// exchangeRequest is a switch that validateExchange allowed: the
// administrator (subject) acting in the target organization at the client.
type exchangeRequest struct {
	clientID string
	subject  string
	// actorOrg is the administrator's own organization, named in act.
	actorOrg    *snapshot.Org
	targetID    string
	scopes      []string
	amr         []string
	authTime    time.Time
	notAfter    time.Time
	requested   oidc.TokenType
	subjectType oidc.TokenType
	issuer      string
}

func (x *exchangeRequest) GetAMR() []string                              { return x.amr }
func (x *exchangeRequest) GetAudience() []string                         { return []string{x.clientID} }
func (x *exchangeRequest) GetResourses() []string                        { return nil }
func (x *exchangeRequest) GetAuthTime() time.Time                        { return x.authTime }
func (x *exchangeRequest) GetClientID() string                           { return x.clientID }
func (x *exchangeRequest) GetScopes() []string                           { return x.scopes }
func (x *exchangeRequest) GetSubject() string                            { return x.subject }
func (x *exchangeRequest) GetRequestedTokenType() oidc.TokenType         { return x.requested }
func (x *exchangeRequest) GetExchangeSubject() string                    { return x.subject }
func (x *exchangeRequest) GetExchangeSubjectTokenType() oidc.TokenType   { return x.subjectType }
func (x *exchangeRequest) GetExchangeSubjectTokenIDOrToken() string      { return "" }
func (x *exchangeRequest) GetExchangeSubjectTokenClaims() map[string]any { return nil }
func (x *exchangeRequest) GetExchangeActor() string                      { return "" }
func (x *exchangeRequest) GetExchangeActorTokenType() oidc.TokenType     { return "" }
func (x *exchangeRequest) GetExchangeActorTokenIDOrToken() string        { return "" }
func (x *exchangeRequest) GetExchangeActorTokenClaims() map[string]any   { return nil }

// SetCurrentScopes, SetRequestedTokenType and SetSubject are part of
// op.TokenExchangeRequest for storages that adjust a request the op
// package built; validateExchange builds this one complete.
func (x *exchangeRequest) SetCurrentScopes(scopes []string)        { x.scopes = scopes }
func (x *exchangeRequest) SetRequestedTokenType(tt oidc.TokenType) { x.requested = tt }
func (x *exchangeRequest) SetSubject(subject string)               { x.subject = subject }

// GetActor is the act claim (RFC 8693 section 4.1) of the tokens: the
// administrator, by their stable ID, and the organization they administer
// from. The op package puts it into the JWT access token and the ID token.
func (x *exchangeRequest) GetActor() *oidc.ActorClaims {
	return actorClaims(x.issuer, x.subject, x.actorOrg)
}

// actorClaims names the acting administrator in an act claim.
func actorClaims(issuer, userID string, org *snapshot.Org) *oidc.ActorClaims {
	a := &oidc.ActorClaims{Issuer: issuer, Subject: userID}
	if org != nil {
		a.Claims = map[string]any{ClaimOrgID: org.ID, ClaimOrgHandle: org.Name}
	}
	return a
}

// errExchangeOnlyByHandler answers the op package's own token exchange
// path, which the token interceptor never lets a request reach.
var errExchangeOnlyByHandler = errors.New("token exchange requests are validated by the provider's token interceptor")

// ValidateTokenExchangeRequest implements op.TokenExchangeStorage. The op
// package calls it only from its own TokenExchange handler, which this
// provider does not route to (see tokenExchange); it refuses anything but
// a request that validateExchange built.
func (s *Storage) ValidateTokenExchangeRequest(_ context.Context, req op.TokenExchangeRequest) error {
	if _, ok := req.(*exchangeRequest); !ok {
		return oidc.ErrServerError().WithParent(errExchangeOnlyByHandler)
	}
	return nil
}

// CreateTokenExchangeRequest implements op.TokenExchangeStorage; nothing
// is stored for an exchange.
func (s *Storage) CreateTokenExchangeRequest(context.Context, op.TokenExchangeRequest) error {
	return nil
}

// GetPrivateClaimsFromTokenExchangeRequest is the JWT access token's
// claims of a switch: the target organization's org_* claims, no
// application roles and the target's admin group (userClaims), checked
// once more against the current snapshot.
func (s *Storage) GetPrivateClaimsFromTokenExchangeRequest(_ context.Context, req op.TokenExchangeRequest) (map[string]any, error) {
	x, ok := req.(*exchangeRequest)
	if !ok {
		return nil, oidc.ErrServerError().WithParent(errExchangeOnlyByHandler)
	}
	g, err := resolveSwitch(s.snapshot(), x.clientID, x.subject, x.targetID, x.authTime, x.amr, s.now())
	if err != nil {
		return nil, oidc.ErrAccessDenied().WithDescription("%s", err.Error())
	}
	info := new(oidc.UserInfo)
	userClaims(info, g.user, g.org, g.client.ID, x.scopes)
	return accessTokenClaims(info, x.amr, x.scopes), nil
}

// SetUserinfoFromTokenExchangeRequest is the ID token's claims of a
// switch, as GetPrivateClaimsFromTokenExchangeRequest.
func (s *Storage) SetUserinfoFromTokenExchangeRequest(_ context.Context, info *oidc.UserInfo, req op.TokenExchangeRequest) error {
	x, ok := req.(*exchangeRequest)
	if !ok {
		return oidc.ErrServerError().WithParent(errExchangeOnlyByHandler)
	}
	g, err := resolveSwitch(s.snapshot(), x.clientID, x.subject, x.targetID, x.authTime, x.amr, s.now())
	if err != nil {
		return oidc.ErrAccessDenied().WithDescription("%s", err.Error())
	}
	userClaims(info, g.user, g.org, g.client.ID, x.scopes)
	return nil
}

// issueSwitched is Storage.issue for a switch: the access token's ID
// carries the target organization and marks the token as switched, so
// that userinfo and introspection resolve it with resolveSwitch and a
// further exchange refuses it. It expires with the subject token at the
// latest.
func (s *Storage) issueSwitched(x *exchangeRequest) (userGrant, string, time.Time, error) {
	now := s.now()
	g, err := resolveSwitch(s.snapshot(), x.clientID, x.subject, x.targetID, x.authTime, x.amr, now)
	if err != nil {
		return userGrant{}, "", time.Time{}, oidc.ErrAccessDenied().WithDescription("%s", err.Error())
	}
	rid, err := randomID()
	if err != nil {
		return userGrant{}, "", time.Time{}, err
	}
	exp := now.Add(g.client.AccessTokenLifetime)
	if x.notAfter.Before(exp) {
		exp = x.notAfter
	}
	info := tokenInfo{ID: rid, ClientID: g.client.ID, OrgID: g.org.ID, Scopes: x.scopes, AMR: x.amr,
		Expiry: exp.Unix(), Switched: true}
	if !x.authTime.IsZero() {
		info.AuthTime = x.authTime.Unix()
	}
	id, err := info.encode()
	return g, id, exp, err
}
