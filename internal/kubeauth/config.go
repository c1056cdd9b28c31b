package kubeauth

import (
	"errors"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	apiserverv1 "k8s.io/apiserver/pkg/apis/apiserver/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/orgkeeper/orgkeeper/internal/rules"
)

// DefaultAudience is the client ID of the SharedApplication that kubectl
// signs in with (config/samples: kubernetes, a Public application of the
// root organization with loopback redirects), and so the audience that
// kube-apiserver requires.
const DefaultAudience = "kubernetes"

// Claims are the ID token claims the configuration reads (see docs/claims.md).
const (
	claimOrgHandle = "org_handle"
	claimUsername  = "preferred_username"
	// claimActor is RFC 8693's act, which only tokens of an organization
	// switch carry.
	claimActor = "act"
)

// dnsLabel is the pattern of an organization name: it has no colon or
// slash, so it cannot run into the rest of a user name.
const dnsLabel = `^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`

// Extra keys kube-apiserver attaches to the user (kubectl auth whoami shows them).
const (
	// ExtraOrganization is the organization's name (org_handle).
	ExtraOrganization = "iam.orgkeeper.io/organization"
	// ExtraOrganizationID is the organization's status.id (org_id).
	ExtraOrganizationID = "iam.orgkeeper.io/organization-id"
	// ExtraOrganizationPath is the organization's path from the root
	// (org_path): kubectl org tree finds the parent's namespace by it.
	ExtraOrganizationPath = "iam.orgkeeper.io/organization-path"
	// ExtraAdministratorOf is, for an administrator who switched
	// organization, their own organization (act.org_handle); absent
	// otherwise.
	ExtraAdministratorOf = "iam.orgkeeper.io/administrator-of"
)

// Options describe the issuer a cluster is to trust.
type Options struct {
	// IssuerURL is --issuer-url: https, as kube-apiserver requires.
	IssuerURL string
	// CA is the PEM bundle kube-apiserver verifies the issuer's serving
	// certificate with; empty means the system's roots.
	CA []byte
	// Audience is the client ID of kubectl's application; empty means
	// DefaultAudience.
	Audience string
}

// Authenticator returns the JWT authenticator for Orgkeeper's issuer:
//
//   - username orgkeeper:<org_handle>:<preferred_username, lower case>
//     (rules.KubeUser), or orgkeeper:<act.org_handle>/<org_handle>:<...>
//     for an administrator who switched organization
//     (rules.KubeSwitchedUser); uid the token's sub;
//   - groups orgkeeper:<each value of the groups claim> (rules.KubeGroup);
//   - the organization's name, ID and path as extra attributes, and for a
//     switched administrator their own organization;
//   - tokens without an organization or a username are refused, and every
//     name is checked to carry the prefix, so that nothing in a token
//     reaches a name outside it.
func Authenticator(o Options) (apiserverv1.JWTAuthenticator, error) {
	if o.IssuerURL == "" {
		return apiserverv1.JWTAuthenticator{}, errors.New("kubeauth: an issuer URL is required")
	}
	aud := o.Audience
	if aud == "" {
		aud = DefaultAudience
	}
	p := rules.KubePrefix
	return apiserverv1.JWTAuthenticator{
		Issuer: apiserverv1.Issuer{
			URL:                  o.IssuerURL,
			Audiences:            []string{aud},
			AudienceMatchPolicy:  apiserverv1.AudienceMatchPolicyMatchAny,
			CertificateAuthority: string(o.CA),
		},
		ClaimValidationRules: []apiserverv1.ClaimValidationRule{
			{
				// An organization name is a DNS label: it has no colon,
				// so it cannot run into the username after it.
				Expression: fmt.Sprintf(`has(claims.%[1]s) && claims.%[1]s.matches('%[2]s')`, claimOrgHandle, dnsLabel),
				Message:    "the token names no organization; sign in again with kubectl org login",
			},
			{
				// A switched token (token exchange) names the administrator's
				// own organization in act; it goes into the user name, so
				// it must be a DNS label as well.
				Expression: fmt.Sprintf(`!has(claims.%[1]s) || (has(claims.%[1]s.%[2]s) && string(claims.%[1]s.%[2]s).matches('%[3]s'))`, claimActor, claimOrgHandle, dnsLabel),
				Message:    "the token of an organization switch does not name the administrator's organization; switch again with kubectl org switch",
			},
			{
				Expression: fmt.Sprintf(`has(claims.%[1]s) && claims.%[1]s != ''`, claimUsername),
				Message:    "the token has no preferred_username; sign in with the profile scope (kubectl org login asks for it)",
			},
		},
		ClaimMappings: apiserverv1.ClaimMappings{
			// Kept in step with rules.KubeUser and rules.KubeSwitchedUser
			// by tests. A switched administrator is not the target's user
			// of the same username: their name carries their own
			// organization (act) and the target.
			Username: apiserverv1.PrefixedClaimOrExpression{
				Expression: fmt.Sprintf(`has(claims.%[4]s) ? '%[1]s' + claims.%[4]s.%[2]s + '/' + claims.%[2]s + ':' + claims.%[3]s.lowerAscii() : '%[1]s' + claims.%[2]s + ':' + claims.%[3]s.lowerAscii()`,
					p, claimOrgHandle, claimUsername, claimActor),
			},
			Groups: apiserverv1.PrefixedClaimOrExpression{Claim: "groups", Prefix: ptr.To(p)},
			UID:    apiserverv1.ClaimOrExpression{Claim: "sub"},
			Extra: []apiserverv1.ExtraMapping{
				{Key: ExtraOrganization, ValueExpression: "claims." + claimOrgHandle},
				{Key: ExtraOrganizationID, ValueExpression: "has(claims.org_id) ? claims.org_id : ''"},
				{Key: ExtraOrganizationPath, ValueExpression: "has(claims.org_path) ? claims.org_path : []"},
				{Key: ExtraAdministratorOf, ValueExpression: fmt.Sprintf("has(claims.%[1]s) ? string(claims.%[1]s.%[2]s) : ''", claimActor, claimOrgHandle)},
			},
		},
		UserValidationRules: []apiserverv1.UserValidationRule{{
			Expression: fmt.Sprintf(`user.username.startsWith('%[1]s') && user.groups.all(g, g.startsWith('%[1]s'))`, p),
			Message:    "Orgkeeper's names all start with " + p,
		}},
	}, nil
}

// Configuration is an AuthenticationConfiguration with the one
// authenticator for the issuer.
func Configuration(o Options) (*apiserverv1.AuthenticationConfiguration, error) {
	a, err := Authenticator(o)
	if err != nil {
		return nil, err
	}
	return &apiserverv1.AuthenticationConfiguration{
		TypeMeta: metav1.TypeMeta{APIVersion: apiserverv1.SchemeGroupVersion.String(), Kind: "AuthenticationConfiguration"},
		JWT:      []apiserverv1.JWTAuthenticator{a},
	}, nil
}

// ConfigurationYAML is Configuration as the file for kube-apiserver's
// --authentication-config.
func ConfigurationYAML(o Options) ([]byte, error) {
	c, err := Configuration(o)
	if err != nil {
		return nil, err
	}
	return yaml.Marshal(c)
}
