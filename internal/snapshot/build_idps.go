package snapshot

import (
	"slices"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/rules"
	"github.com/orgkeeper/orgkeeper/internal/validation"
)

// Defaults of an upstream OIDC provider (api/v1alpha1.OIDCIdentityProvider),
// applied here too because objects stored before a default existed lack it.
var (
	defaultIdPScopes     = []string{"openid", "email", "profile"}
	defaultClaimMappings = iamv1.ClaimMappings{
		Subject:       "sub",
		Email:         "email",
		EmailVerified: "email_verified",
		Name:          "name",
		GivenName:     "given_name",
		FamilyName:    "family_name",
		Groups:        "groups",
	}
)

// buildIdentityProviders serves the usable identity providers of served
// organizations. An IdP without a usable configuration or with a missing
// client secret is not served: the login pages would offer a button that
// can only fail.
func (b *builder) buildIdentityProviders() {
	idps := make([]*iamv1.IdentityProvider, len(b.in.IdentityProviders))
	for i := range b.in.IdentityProviders {
		idps[i] = &b.in.IdentityProviders[i]
	}
	// Older first: it keeps a home-realm domain that two IdPs list.
	slices.SortFunc(idps, func(x, y *iamv1.IdentityProvider) int { return rules.Older(&x.ObjectMeta, &y.ObjectMeta) })
	for _, in := range idps {
		if idp := b.buildIdentityProvider(in); idp != nil {
			b.serve(KindIdentityProvider, &in.ObjectMeta)
		}
	}
}

func (b *builder) buildIdentityProvider(in *iamv1.IdentityProvider) *IdentityProvider {
	meta := &in.ObjectMeta
	owner := b.s.orgs[in.Namespace]
	if owner == nil {
		b.orgMissing(KindIdentityProvider, meta)
		return nil
	}
	if in.Name == "" || owner.ownIdPs[in.Name] != nil {
		return nil // impossible for stored objects: names are unique per namespace
	}
	spec := &in.Spec
	if spec.Type != "" && spec.Type != iamv1.IdentityProviderTypeOIDC {
		b.problem(KindIdentityProvider, meta, iamv1.ReasonInvalidSpec, "spec.type: %q is not supported; use OIDC", spec.Type)
		return nil
	}
	oidc := spec.OIDC
	if oidc == nil {
		b.problem(KindIdentityProvider, meta, iamv1.ReasonInvalidSpec, "spec.oidc is required for an OIDC identity provider")
		return nil
	}
	if err := validation.IssuerURL(oidc.Issuer, b.in.AllowLoopbackIssuers); err != nil {
		b.problem(KindIdentityProvider, meta, iamv1.ReasonInvalidSpec, "spec.oidc.issuer: %v", err)
		return nil
	}
	if oidc.ClientID == "" {
		b.problem(KindIdentityProvider, meta, iamv1.ReasonInvalidSpec, "spec.oidc.clientID is required")
		return nil
	}
	idp := &IdentityProvider{
		Name:        in.Name,
		Namespace:   in.Namespace,
		UID:         in.UID,
		Generation:  in.Generation,
		Org:         owner,
		DisplayName: spec.DisplayName,
		Type:        iamv1.IdentityProviderTypeOIDC,
		Issuer:      oidc.Issuer,
		ClientID:    oidc.ClientID,
		Scopes:      slices.Clone(oidc.Scopes),
		PKCE:        oidc.PKCE == nil || *oidc.PKCE,
		Inheritable: spec.Inheritable,

		ProvisioningMode:   iamv1.ProvisioningModeJustInTime,
		SyncProfileOnLogin: true,
	}
	if ref := oidc.ClientSecretRef; ref != nil {
		v, ok := b.secretValue(in.Namespace, ref.Name, ref.Key)
		if !ok || len(v) == 0 {
			b.problem(KindIdentityProvider, meta, iamv1.ReasonSecretNotFound,
				"spec.oidc.clientSecretRef: Secret %q in namespace %q has no key %q (or the Secret does not exist); create it with the client secret the provider issued",
				ref.Name, in.Namespace, ref.Key)
			return nil
		}
		idp.ClientSecret = string(v)
	} else {
		// Without a secret, PKCE is the only protection of the code.
		idp.PKCE = true
	}
	if len(idp.Scopes) == 0 {
		idp.Scopes = slices.Clone(defaultIdPScopes)
	}
	idp.ClaimMappings = defaultClaimMappings
	if m := oidc.ClaimMappings; m != nil {
		setIfNotEmpty(&idp.ClaimMappings.Subject, m.Subject)
		setIfNotEmpty(&idp.ClaimMappings.Email, m.Email)
		setIfNotEmpty(&idp.ClaimMappings.EmailVerified, m.EmailVerified)
		setIfNotEmpty(&idp.ClaimMappings.Name, m.Name)
		setIfNotEmpty(&idp.ClaimMappings.GivenName, m.GivenName)
		setIfNotEmpty(&idp.ClaimMappings.FamilyName, m.FamilyName)
		setIfNotEmpty(&idp.ClaimMappings.Groups, m.Groups)
	}
	if p := spec.Provisioning; p != nil {
		switch p.Mode {
		case "":
		case iamv1.ProvisioningModeJustInTime, iamv1.ProvisioningModeExistingUsersOnly:
			idp.ProvisioningMode = p.Mode
		default:
			// Creating users nobody asked for is the riskier mistake.
			idp.ProvisioningMode = iamv1.ProvisioningModeExistingUsersOnly
			b.problem(KindIdentityProvider, meta, iamv1.ReasonInvalidSpec,
				"spec.provisioning.mode: %q is not JustInTime or ExistingUsersOnly; only existing users may sign in until it is fixed", p.Mode)
		}
		idp.DefaultRoles = slices.Clone(p.DefaultRoles)
		if p.SyncProfileOnLogin != nil {
			idp.SyncProfileOnLogin = *p.SyncProfileOnLogin
		}
	}
	if s := in.Status.Discovery; s != nil {
		idp.Discovery = *s
	}
	b.routeHomeRealm(idp, in)
	if owner.ownIdPs == nil {
		owner.ownIdPs = make(map[string]*IdentityProvider)
	}
	owner.ownIdPs[idp.Name] = idp
	return idp
}

// routeHomeRealm keeps the IdP's domains that are verified domains of its
// organization and routes them to it, unless an older IdP of the
// organization routes the domain already.
func (b *builder) routeHomeRealm(idp *IdentityProvider, in *iamv1.IdentityProvider) {
	owner := idp.Org
	for _, raw := range in.Spec.Domains {
		d := normalizeDomain(raw)
		if !slices.Contains(owner.Domains, d) || slices.Contains(idp.Domains, d) {
			continue // unverified domains are ignored until verified, as documented
		}
		if other := owner.homeRealm[d]; other != nil {
			b.problem(KindIdentityProvider, &in.ObjectMeta, iamv1.ReasonInvalidSpec,
				"spec.domains: %q already routes to IdentityProvider %q of organization %q; a domain routes to one provider, remove it from one of them",
				d, other.Name, owner.Name)
			continue
		}
		if owner.homeRealm == nil {
			owner.homeRealm = make(map[string]*IdentityProvider)
		}
		owner.homeRealm[d] = idp
		idp.Domains = append(idp.Domains, d)
	}
}

func setIfNotEmpty(dst *string, v string) {
	if v != "" {
		*dst = v
	}
}
