package connector

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/orgkeeper/orgkeeper/internal/snapshot"
)

// preferredUsernameClaim has no mapping in the API (v1alpha1): it is the
// standard claim.
const preferredUsernameClaim = "preferred_username"

// claimMappings are the upstream claim names read, every one set
// (snapshot defaults them).
type claimMappings struct {
	subject, email, emailVerified, name, givenName, familyName, preferredUsername, groups string
}

func mappingsOf(idp *snapshot.IdentityProvider) claimMappings {
	m := idp.ClaimMappings
	or := func(v, def string) string {
		if v == "" {
			return def
		}
		return v
	}
	return claimMappings{
		subject:           or(m.Subject, "sub"),
		email:             or(m.Email, "email"),
		emailVerified:     or(m.EmailVerified, "email_verified"),
		name:              or(m.Name, "name"),
		givenName:         or(m.GivenName, "given_name"),
		familyName:        or(m.FamilyName, "family_name"),
		preferredUsername: preferredUsernameClaim,
		groups:            or(m.Groups, "groups"),
	}
}

func (m claimMappings) all() []string {
	return []string{m.subject, m.email, m.emailVerified, m.name, m.givenName, m.familyName, m.preferredUsername, m.groups}
}

// missingFrom reports whether a mapped claim is absent from claims: then
// userinfo may have it.
func (m claimMappings) missingFrom(claims idClaims) bool {
	for _, name := range m.all() {
		if _, ok := claims[name]; !ok {
			return true
		}
	}
	return false
}

// identity reads the mapped claims. The subject and email must fit their
// bounds (a cut subject would be another account); names are cut to
// maxNameLen; groups keep the first maxGroups strings of at most
// maxGroupNameLen bytes.
func (m claimMappings) identity(claims idClaims) (Identity, error) {
	var id Identity
	sub, ok := stringClaim(claims[m.subject])
	if !ok || sub == "" || len(sub) > maxSubjectLen {
		return Identity{}, newError(ReasonInvalidToken, nil, "the subject claim %q is missing, not a string, or longer than %d bytes", m.subject, maxSubjectLen)
	}
	id.Subject = sub
	if email, ok := stringClaim(claims[m.email]); ok {
		if len(email) > maxEmailLen {
			return Identity{}, newError(ReasonInvalidToken, nil, "the email claim %q is longer than %d bytes", m.email, maxEmailLen)
		}
		id.Email = email
	}
	id.EmailVerified = boolClaim(claims[m.emailVerified])
	id.Name = nameClaim(claims[m.name])
	id.GivenName = nameClaim(claims[m.givenName])
	id.FamilyName = nameClaim(claims[m.familyName])
	id.PreferredUsername = nameClaim(claims[m.preferredUsername])
	id.Groups = groupsClaim(claims[m.groups])
	return id, nil
}

// stringClaim reads a string, or an integer (some providers send numeric
// IDs), as text.
func stringClaim(v any) (string, bool) {
	switch s := v.(type) {
	case string:
		return s, true
	case json.Number:
		if _, err := s.Int64(); err == nil {
			return s.String(), true
		}
	}
	return "", false
}

// boolClaim is true only for true or "true" (some providers send the
// string): anything else, absent included, is false.
func boolClaim(v any) bool {
	switch b := v.(type) {
	case bool:
		return b
	case string:
		return strings.EqualFold(b, "true")
	}
	return false
}

func nameClaim(v any) string {
	s, _ := v.(string)
	return truncate(s, maxNameLen)
}

func groupsClaim(v any) []string {
	var in []any
	switch g := v.(type) {
	case string:
		in = []any{g}
	case []any:
		in = g
	}
	var out []string
	for _, x := range in {
		s, ok := x.(string)
		if !ok || s == "" || len(s) > maxGroupNameLen {
			continue
		}
		out = append(out, s)
		if len(out) == maxGroups {
			break
		}
	}
	return out
}

// truncate cuts s to at most max bytes on a rune boundary.
func truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	s = s[:max]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// userinfo fetches the userinfo claims with the access token. Only a JSON
// answer is used (a signed or encrypted userinfo is refused).
func (o *OIDC) userinfo(ctx context.Context, endpoint, accessToken string) (idClaims, error) {
	req, err := http.NewRequest(http.MethodGet, endpoint, nil)
	if err != nil {
		return nil, newError(ReasonMisconfigured, nil, "%s: userinfo endpoint is not a URL", o.key)
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	status, mt, body, err := o.client.do(ctx, "userinfo request", req)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, statusError("userinfo request", o.key.String(), status, body)
	}
	if mt != "" && mt != "application/json" {
		return nil, newError(ReasonUserinfoMismatch, nil, "the userinfo response of %s is %q, not application/json", o.key, printable(mt, 64))
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var claims idClaims
	if err := dec.Decode(&claims); err != nil || claims == nil {
		return nil, newError(ReasonUserinfoMismatch, nil, "the userinfo response of %s is not a JSON object", o.key)
	}
	return claims, nil
}
