package oidc

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	httphelper "github.com/zitadel/oidc/v3/pkg/http"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/orgkeeper/orgkeeper/internal/rules"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
)

// backChannelInput checks a request to the token, introspection or
// revocation endpoint before anything reads it: POST, parameters only in
// the body (RFC 6749 sections 2.3.1 and 3.2; the op package would read
// the query string too, and credentials in a URL end up in logs), bounded,
// and at most one client authentication method. It has answered with a
// JSON error when it returns false.
func (h *handler) backChannelInput(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		backChannelError(w, r, oidc.ErrInvalidRequest().WithDescription("use POST"))
		return false
	}
	if r.URL.RawQuery != "" {
		backChannelError(w, r, oidc.ErrInvalidRequest().WithDescription("send the parameters in the request body, not in the query string"))
		return false
	}
	if berr := parseBounded(w, r); berr != nil {
		backChannelError(w, r, oidc.ErrInvalidRequest().WithDescription("%s", berr.msg))
		return false
	}
	if _, _, basic := r.BasicAuth(); basic && r.PostForm.Has("client_secret") {
		backChannelError(w, r, oidc.ErrInvalidRequest().WithDescription("use one client authentication method: HTTP Basic or client_secret in the body, not both"))
		return false
	}
	return true
}

// authenticateClient authenticates a Confidential client by HTTP Basic
// (client_secret_basic, with the form-encoding of RFC 6749 section 2.3.1)
// or by client_id and client_secret in the body (client_secret_post): the
// methods discovery advertises for introspection.
func (h *handler) authenticateClient(r *http.Request) (string, *oidc.Error) {
	id, secret, cerr := clientCredentials(r)
	if cerr != nil {
		return "", cerr
	}
	if id == "" || secret == "" {
		return "", oidc.ErrInvalidClient().WithDescription("client authentication is required (client_secret_basic or client_secret_post)")
	}
	if _, err := h.storage.authenticate(id, secret); err != nil {
		return "", oidc.ErrInvalidClient().WithDescription("invalid client_id or client_secret")
	}
	return id, nil
}

// clientCredentials reads the client_id and secret a client sent, by HTTP
// Basic (form-encoded, RFC 6749 section 2.3.1) or in the body; either may be
// empty. It checks nothing but their encoding.
func clientCredentials(r *http.Request) (id, secret string, _ *oidc.Error) {
	id, secret, basic := r.BasicAuth()
	if !basic {
		return r.PostForm.Get("client_id"), r.PostForm.Get("client_secret"), nil
	}
	id, err1 := url.QueryUnescape(id)
	secret, err2 := url.QueryUnescape(secret)
	if err1 != nil || err2 != nil {
		return "", "", oidc.ErrInvalidClient().WithDescription("malformed HTTP Basic credentials")
	}
	return id, secret, nil
}

// introspect is RFC 7662 introspection, in place of the op package's, which
// ignores client_secret_post and answers errors in text/plain. A token is
// active only for the client it was issued to, and only while its grant
// holds (see tokenInfoFor and introspectRefreshToken); anything else is
// {"active":false}, whatever the reason, so that introspection tells a
// client nothing about other clients' tokens.
func (h *handler) introspect(w http.ResponseWriter, r *http.Request) {
	clientID, cerr := h.authenticateClient(r)
	if cerr != nil {
		backChannelError(w, r, cerr)
		return
	}
	token := r.PostForm.Get("token")
	if token == "" {
		backChannelError(w, r, oidc.ErrInvalidRequest().WithDescription("token is required"))
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	ctx := r.Context()
	if r.PostForm.Get("token_type_hint") == "refresh_token" {
		if resp, ok := h.introspectRefreshToken(ctx, token, clientID); ok {
			httphelper.MarshalJSON(w, resp)
			return
		}
	}
	if tokenID, subject, ok := h.accessTokenIDAndSubject(ctx, token); ok {
		resp := new(oidc.IntrospectionResponse)
		if err := h.storage.SetIntrospectionFromToken(ctx, resp, tokenID, subject, clientID); err == nil {
			resp.Active = true
			httphelper.MarshalJSON(w, resp)
			return
		}
	}
	if resp, ok := h.introspectRefreshToken(ctx, token, clientID); ok {
		httphelper.MarshalJSON(w, resp)
		return
	}
	httphelper.MarshalJSON(w, &oidc.IntrospectionResponse{})
}

// accessTokenIDAndSubject reads an access token this provider issued: an
// opaque one is decrypted ("tokenID:subject"), a JWT verified.
func (h *handler) accessTokenIDAndSubject(ctx context.Context, token string) (string, string, bool) {
	if plain, err := h.provider.Crypto().Decrypt(token); err == nil {
		id, sub, ok := strings.Cut(plain, ":")
		if !ok || strings.Contains(sub, ":") {
			return "", "", false
		}
		return id, sub, true
	}
	claims, err := op.VerifyAccessToken[*oidc.AccessTokenClaims](ctx, token, h.provider.AccessTokenVerifier(ctx))
	if err != nil {
		return "", "", false
	}
	return claims.JWTID, claims.Subject, true
}

// refreshTokenType is the token_type of an introspected refresh token. RFC
// 7662 leaves it open for tokens that are not access tokens.
const refreshTokenType = "refresh_token"

// introspectRefreshToken answers for a refresh token of clientID that is
// live: not expired, revoked or rotated, and its grant still holds,
// including the revocation of the sign-in it rests on. It returns false for
// anything else. Presenting a token that was already rotated revokes its
// family here as at the token endpoint (session.Store treats any
// presentation of a used token as a leak).
func (h *handler) introspectRefreshToken(ctx context.Context, token, clientID string) (*oidc.IntrospectionResponse, bool) {
	rt, err := h.storage.cfg.Sessions.GetRefreshToken(ctx, token)
	if err != nil || rt.ClientID != clientID {
		return nil, false
	}
	now := h.storage.now()
	if !now.Before(rt.ExpiresAt) {
		return nil, false
	}
	g, err := resolveSession(h.storage.snapshot(), rt.ClientID, rt.Subject, rt.OrgID, rt.AuthTime, rt.AMR, now)
	if err != nil {
		return nil, false
	}
	info := new(oidc.UserInfo)
	userClaims(info, g.user, g.org, g.client.ID, rt.Scopes)
	resp := &oidc.IntrospectionResponse{Active: true}
	resp.SetUserInfo(info)
	resp.Scope = rt.Scopes
	resp.ClientID = rt.ClientID
	resp.TokenType = refreshTokenType
	resp.Audience = oidc.Audience(rt.Audience)
	if len(resp.Audience) == 0 {
		resp.Audience = oidc.Audience{rt.ClientID}
	}
	resp.Expiration = oidc.FromTime(rt.ExpiresAt)
	if !rt.IssuedAt.IsZero() {
		resp.IssuedAt = oidc.FromTime(rt.IssuedAt)
	}
	if !rt.AuthTime.IsZero() {
		resp.AuthTime = oidc.FromTime(rt.AuthTime)
	}
	resp.AuthenticationMethodsReferences = rt.AMR
	resp.Issuer = h.issuer
	return resp, true
}

// LogoutConfirmer asks the user whether to sign out. The provider uses it
// for end-session requests without an id_token_hint: any page can send a
// browser there, so such a request is not proof that the user wants to
// leave. login.Handler implements it.
type LogoutConfirmer interface {
	// ConfirmLogout writes a page with a plain HTML form that posts fields,
	// unchanged, back to action, with its CSRF token.
	ConfirmLogout(w http.ResponseWriter, r *http.Request, action string, fields url.Values)
	// LogoutConfirmed reports whether the POST r was sent by that form in
	// this browser. When it was not, it has written the refusal.
	LogoutConfirmed(w http.ResponseWriter, r *http.Request) bool
}

// logoutConfirmField marks the confirmation form's POST.
const logoutConfirmField = "confirm"

// endSession serves RP-initiated logout. With an id_token_hint the op
// package validates the hint and ends the session in one navigation, as
// the hint shows that the relying party (which received the ID token)
// sent the browser. Without one, the request is validated (client and
// exact post_logout_redirect_uri) and the user is asked to confirm; only
// the confirmation's POST, CSRF-checked by the login UI, ends the session.
func (h *handler) endSession(w http.ResponseWriter, r *http.Request, next http.Handler) {
	if h.cookie != "" {
		if c, err := r.Cookie(h.cookie); err == nil && c.Value != "" {
			r = r.WithContext(withLoginSession(r.Context(), c.Value))
		}
	}
	if r.Form.Get("id_token_hint") != "" {
		next.ServeHTTP(w, r)
		return
	}
	req, err := op.ParseEndSessionRequest(r, h.provider.Decoder())
	if err != nil {
		op.RequestError(w, r, err, nil)
		return
	}
	validated, err := op.ValidateEndSessionRequest(r.Context(), req, h.provider)
	if err == nil {
		err = h.storage.checkPostLogoutRedirect(validated)
	}
	if err != nil {
		op.RequestError(w, r, err, nil)
		return
	}
	if h.logout == nil {
		op.RequestError(w, r, oidc.ErrInvalidRequest().WithDescription("id_token_hint is required to sign out"), nil)
		return
	}
	if r.Method == http.MethodPost && r.PostForm.Has(logoutConfirmField) {
		if h.logout.LogoutConfirmed(w, r) {
			next.ServeHTTP(w, r)
		}
		return
	}
	fields := url.Values{logoutConfirmField: {"yes"}}
	for _, k := range []string{"client_id", "post_logout_redirect_uri", "state", "ui_locales"} {
		if v := r.Form.Get(k); v != "" {
			fields.Set(k, v)
		}
	}
	h.logout.ConfirmLogout(w, r, h.provider.EndSessionEndpoint().Absolute(h.issuer), fields)
}

// checkPostLogoutRedirect applies Orgkeeper's exact matching of
// post-logout redirect URIs to a request the op package validated (it lets
// a native client's loopback URI differ in host and port).
func (s *Storage) checkPostLogoutRedirect(req *op.EndSessionRequest) error {
	if req.ClientID != "" && req.RedirectURI != "" && req.RedirectURI != s.cfg.DefaultLogoutRedirectURI {
		c := s.snapshot().Client(req.ClientID)
		if c == nil || !postLogoutURIMatches(c, req.RedirectURI) {
			return oidc.ErrInvalidRequest().WithDescription("post_logout_redirect_uri invalid")
		}
	}
	return nil
}

// resolveSession is resolveUserGrant for a grant that rests on a sign-in at
// authTime with the methods amr (a code, a refresh token, an access token):
// it also refuses when that sign-in was revoked since, by the one rule
// snapshot.User.SessionRevoked (re-enabling the user does not lift it: the
// revocation time stays in the status), and when the sign-in no longer
// meets the organization's effective MFA policy, by the rule the login
// pages apply (rules.AMRSatisfies): turning login.mfa to Required retires
// the password-only refresh token families at once, not when they expire.
func resolveSession(snap *snapshot.Snapshot, clientID, userID, orgID string, authTime time.Time, amr []string, now time.Time) (userGrant, error) {
	g, err := resolveUserGrant(snap, clientID, userID, orgID, now)
	if err != nil {
		return g, err
	}
	if g.user.SessionRevoked(authTime) {
		return userGrant{}, fmt.Errorf("%w: the sign-in session was revoked (the user was disabled or an organization suspended); sign in again", errNotAllowed)
	}
	if !rules.AMRSatisfies(g.org.Login.MFA, amr) {
		return userGrant{}, fmt.Errorf("%w: the organization now requires a second factor, which this sign-in did not use; sign in again", errNotAllowed)
	}
	return g, nil
}

// userinfo serves OIDC userinfo in place of the op package's, which answers
// a missing or invalid token in text/plain. The token comes from the
// Authorization header (RFC 6750 section 2.1) or a form body (2.2), never
// the query string (the interceptor refuses that); every refusal is a 401
// with a WWW-Authenticate challenge and a JSON body (RFC 6750 section 3).
func (h *handler) userinfo(w http.ResponseWriter, r *http.Request) {
	token, fromHeader := bearerToken(r)
	if !fromHeader {
		token = r.PostForm.Get("access_token")
	}
	w.Header().Set("Cache-Control", "no-store")
	if token == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="orgkeeper"`)
		httphelper.MarshalJSONWithStatus(w, oidc.ErrInvalidRequest().WithDescription("an access token is required"), http.StatusUnauthorized)
		return
	}
	invalid := func(desc string) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="orgkeeper", error="invalid_token"`)
		httphelper.MarshalJSONWithStatus(w, &oidc.Error{ErrorType: "invalid_token", Description: desc}, http.StatusUnauthorized)
	}
	tokenID, subject, ok := h.accessTokenIDAndSubject(r.Context(), token)
	if !ok {
		invalid("the access token is invalid or expired")
		return
	}
	info := new(oidc.UserInfo)
	if err := h.storage.SetUserinfoFromToken(r.Context(), info, tokenID, subject, ""); err != nil {
		invalid("the access token is no longer valid for userinfo")
		return
	}
	httphelper.MarshalJSON(w, info)
}

// bearerToken returns the token of an "Authorization: Bearer" header.
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(token), true
}
