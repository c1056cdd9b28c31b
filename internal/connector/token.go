package connector

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// tokenResponse is the part of the token endpoint's answer used.
type tokenResponse struct {
	IDToken     string `json:"id_token"`
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
}

// exchange redeems the code at the token endpoint (RFC 6749 section 4.1.3)
// with the PKCE verifier and the client's credentials.
func (o *OIDC) exchange(ctx context.Context, m *metadata, p PendingState, code string) (*tokenResponse, error) {
	form := url.Values{
		"grant_type":   {"authorization_code"},
		"code":         {code},
		"redirect_uri": {p.RedirectURI},
	}
	if p.CodeVerifier != "" {
		form.Set("code_verifier", p.CodeVerifier)
	}
	basic := o.clientSecret != "" && !m.secretInBody()
	if !basic {
		form.Set("client_id", o.clientID)
		if o.clientSecret != "" {
			form.Set("client_secret", o.clientSecret)
		}
	}
	req, err := http.NewRequest(http.MethodPost, m.TokenEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, newError(ReasonMisconfigured, nil, "%s: token endpoint is not a URL", o.key)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic {
		// RFC 6749 section 2.3.1: both are form-encoded before Basic.
		req.SetBasicAuth(url.QueryEscape(o.clientID), url.QueryEscape(o.clientSecret))
	}
	status, _, body, err := o.client.do(ctx, "token request", req)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		err := statusError("token request", o.key.String(), status, body)
		if e, ok := err.(*Error); ok && e.Upstream != nil && (e.Upstream.Code == "invalid_client" || e.Upstream.Code == "unauthorized_client") {
			// The provider refuses Orgkeeper itself (a wrong client ID or
			// secret, a client not allowed the code flow): no user can
			// sign in until an administrator fixes it.
			e.Reason = ReasonMisconfigured
		}
		return nil, err
	}
	var t tokenResponse
	if err := json.Unmarshal(body, &t); err != nil {
		return nil, newError(ReasonInvalidToken, nil, "the token response of %s is not JSON", o.key)
	}
	if t.IDToken == "" {
		return nil, newError(ReasonInvalidToken, nil, "the token response of %s has no id_token; is openid among the scopes?", o.key)
	}
	if t.TokenType != "" && !strings.EqualFold(t.TokenType, "bearer") {
		t.AccessToken = "" // not usable at userinfo as a bearer token
	}
	return &t, nil
}

// idClaims are the ID token's claims, raw, for the claim mappings, plus
// the standard ones decoded.
type idClaims map[string]any

func (c idClaims) subject() string { s, _ := c["sub"].(string); return s }

// verifyIDToken checks the ID token as OpenID Connect Core section 3.1.3.7
// asks: an allowed asymmetric algorithm, a signature by a key of the
// provider's JWKS, iss equal to the issuer, the client among aud (and as
// azp when present or when there are several audiences), exp in the
// future, iat and nbf not in the future, and the pending nonce.
func (o *OIDC) verifyIDToken(ctx context.Context, keys *keySet, raw, nonce string) (idClaims, error) {
	jws, err := jose.ParseSigned(raw, allowedAlgs)
	if err != nil {
		return nil, newError(ReasonBadSignature, nil, "the ID token of %s is not a JWS with an allowed algorithm: %v", o.key, err)
	}
	payload, err := keys.verify(ctx, jws)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var claims idClaims
	if err := dec.Decode(&claims); err != nil || claims == nil {
		return nil, newError(ReasonInvalidToken, nil, "the ID token's claims of %s are not a JSON object", o.key)
	}
	if iss, _ := claims["iss"].(string); iss != o.issuer {
		return nil, newError(ReasonWrongIssuer, nil, "the ID token was issued by %q, not %q", printable(iss, 256), o.issuer)
	}
	aud, ok := audience(claims["aud"])
	if !ok || !slices.Contains(aud, o.clientID) {
		return nil, newError(ReasonWrongAudience, nil, "the ID token is for audience %q, not client %q", printable(strings.Join(aud, ","), 256), o.clientID)
	}
	azp, hasAZP := claims["azp"].(string)
	if (hasAZP || len(aud) > 1) && azp != o.clientID {
		return nil, newError(ReasonWrongAudience, nil, "the ID token's authorized party is %q, not client %q", printable(azp, 256), o.clientID)
	}
	now := o.cfg.Now()
	exp, ok := numericDate(claims["exp"])
	if !ok {
		return nil, newError(ReasonInvalidToken, nil, "the ID token has no exp")
	}
	if !now.Add(-o.cfg.ClockSkew).Before(exp) {
		return nil, newError(ReasonTokenExpired, nil, "the ID token expired at %s", exp.UTC().Format(time.RFC3339))
	}
	for _, name := range []string{"iat", "nbf"} {
		if t, ok := numericDate(claims[name]); ok && t.After(now.Add(o.cfg.ClockSkew)) {
			return nil, newError(ReasonTokenExpired, nil, "the ID token's %s is in the future (%s)", name, t.UTC().Format(time.RFC3339))
		}
	}
	got, _ := claims["nonce"].(string)
	if subtle.ConstantTimeCompare([]byte(got), []byte(nonce)) != 1 {
		return nil, newError(ReasonNonceMismatch, nil, "the ID token's nonce is not the pending one")
	}
	if sub := claims.subject(); sub == "" || len(sub) > maxSubjectLen {
		return nil, newError(ReasonInvalidToken, nil, "the ID token's sub is empty or longer than %d bytes", maxSubjectLen)
	}
	return claims, nil
}

// audience reads aud: one string or an array of strings.
func audience(v any) ([]string, bool) {
	switch a := v.(type) {
	case string:
		return []string{a}, true
	case []any:
		out := make([]string, 0, len(a))
		for _, x := range a {
			s, ok := x.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}

// numericDate reads a NumericDate (seconds since the epoch, maybe with a
// fraction).
func numericDate(v any) (time.Time, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return time.Time{}, false
	}
	f, err := n.Float64()
	if err != nil || f < 0 || f > 1e11 {
		return time.Time{}, false
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)), true
}
