package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// IdentityProviderType is the protocol spoken with an upstream identity
// provider.
// +kubebuilder:validation:Enum=OIDC
type IdentityProviderType string

const (
	// IdentityProviderTypeOIDC: an OpenID Connect provider, used with the
	// authorization code flow.
	IdentityProviderTypeOIDC IdentityProviderType = "OIDC"
)

// ProvisioningMode says what happens when someone signs in through an
// identity provider for the first time.
// +kubebuilder:validation:Enum=JustInTime;ExistingUsersOnly
type ProvisioningMode string

const (
	// ProvisioningModeJustInTime: an OrgUser is created on first sign-in
	// (or an existing one with the same verified email is linked).
	ProvisioningModeJustInTime ProvisioningMode = "JustInTime"
	// ProvisioningModeExistingUsersOnly: only existing OrgUsers may sign in;
	// an upstream account is linked to the OrgUser with the same verified
	// email, and anyone else is refused.
	ProvisioningModeExistingUsersOnly ProvisioningMode = "ExistingUsersOnly"
)

// IdentityProviderSpec describes an upstream identity provider of an
// organization.
//
// +kubebuilder:validation:XValidation:rule="!has(self.type) || self.type != 'OIDC' || has(self.oidc)",message="spec.oidc is required when spec.type is OIDC",fieldPath=".oidc"
type IdentityProviderSpec struct {
	// displayName is the provider's name on the login page's button, such as
	// "ACME Okta". 1 to 128 characters.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	DisplayName string `json:"displayName"`

	// type is the protocol; v1alpha1 supports OIDC only, the default.
	// +optional
	// +kubebuilder:default=OIDC
	Type IdentityProviderType `json:"type,omitempty"`

	// oidc configures an OpenID Connect provider. Required when type is OIDC.
	// +optional
	OIDC *OIDCIdentityProvider `json:"oidc,omitempty"`

	// domains are email domains whose users go straight to this provider
	// (home-realm discovery), such as acme.example. Only domains that the
	// organization has verified route logins; the others are ignored until
	// they are verified. Lowercase DNS names; at most 32.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=253
	// +kubebuilder:validation:items:XValidation:rule="self.matches('^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?[.])+[a-z]([-a-z0-9]{0,61}[a-z0-9])?$')",message="spec.domains: each entry must be a lowercase domain name with at least two labels, such as acme.example (no trailing dot, no wildcard)"
	Domains []string `json:"domains,omitempty"`

	// provisioning says what happens when someone signs in through this
	// provider for the first time. Defaults to creating the user
	// (JustInTime) and updating the profile at each sign-in.
	// +optional
	// +kubebuilder:default={}
	Provisioning *Provisioning `json:"provisioning,omitempty"`

	// inheritable makes the provider usable by the organization's
	// descendants too (they list it in their login settings by name).
	// Defaults to false: only this organization.
	// +optional
	Inheritable bool `json:"inheritable,omitempty"`
}

// OIDCIdentityProvider is the configuration of an upstream OpenID Connect
// provider. Orgkeeper is a confidential client of it (or a public one with
// PKCE when no client secret is given).
//
// +kubebuilder:validation:XValidation:rule="has(self.clientSecretRef) || !has(self.pkce) || self.pkce",message="spec.oidc.pkce must be true when spec.oidc.clientSecretRef is not set: without a secret, PKCE is the only protection of the code",fieldPath=".pkce"
type OIDCIdentityProvider struct {
	// issuer is the provider's issuer URL, such as https://acme.okta.example.
	// Its discovery document (<issuer>/.well-known/openid-configuration)
	// must be reachable from the operator, and the iss claim of its ID
	// tokens must equal it exactly. https only, no query or fragment. Plain
	// http on 127.0.0.1, [::1] or localhost passes the schema for
	// orgkeeper dev and tests, but a production operator refuses it
	// (DiscoveryReady=False, reason DiscoveryInvalid).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule=`self.matches('^[!-~]+$') && isURL(self) && url(self).getHostname() != '' && (url(self).getScheme() == 'https' || (url(self).getScheme() == 'http' && url(self).getHostname() in ['127.0.0.1', '::1', 'localhost']))`,message="spec.oidc.issuer must be an https URL with a host, such as https://acme.okta.example (plain http only on 127.0.0.1, [::1] or localhost, for orgkeeper dev)"
	// +kubebuilder:validation:XValidation:rule="!self.contains('?') && !self.contains('#')",message="spec.oidc.issuer must not have a query ('?') or fragment ('#')"
	// +kubebuilder:validation:XValidation:rule="!self.matches('^[a-zA-Z][-a-zA-Z0-9+.]*://[^/?#]*@')",message="spec.oidc.issuer must not contain a user name or password (the part before '@')"
	Issuer string `json:"issuer"`

	// clientID is the client_id that the provider assigned to Orgkeeper.
	// When you register Orgkeeper at the provider, give it the redirect URI
	// <issuer>/login/callback/oidc, where <issuer> is Orgkeeper's issuer URL
	// (--issuer-url), exactly: the same URI serves every provider.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:XValidation:rule="self.matches('^[!-~]+$')",message="spec.oidc.clientID must not contain whitespace, control or non-ASCII characters"
	ClientID string `json:"clientID"`

	// clientSecretRef names the Secret (in this namespace) and key that hold
	// the client secret. When unset, Orgkeeper is a public client of the
	// provider and pkce must stay true. A missing Secret or key gives
	// SecretFound=False and Ready=False.
	// +optional
	ClientSecretRef *SecretKeyReference `json:"clientSecretRef,omitempty"`

	// scopes are requested at the provider; they must include openid.
	// Defaults to [openid, email, profile]; at most 32.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=256
	// +kubebuilder:validation:items:XValidation:rule=`self.matches(r'^[!#-\x5b\x5d-~]+$')`,message="spec.oidc.scopes: a scope must not contain whitespace, quotes, backslashes or non-ASCII characters"
	// +kubebuilder:validation:XValidation:rule="self.exists(s, s == 'openid')",message="spec.oidc.scopes must include openid"
	// +kubebuilder:default={openid,email,profile}
	Scopes []string `json:"scopes,omitempty"`

	// pkce sends a PKCE (S256) challenge with each authorization request.
	// Defaults to true; set false only for a provider that rejects PKCE.
	// +optional
	// +kubebuilder:default=true
	PKCE *bool `json:"pkce,omitempty"`

	// claimMappings name the provider's claims that fill in the user's
	// profile. Each defaults to the standard OIDC claim.
	// +optional
	// +kubebuilder:default={}
	ClaimMappings *ClaimMappings `json:"claimMappings,omitempty"`
}

// ClaimMappings name the upstream claims that Orgkeeper reads, from the ID
// token and the userinfo response. Each value is a top-level claim name.
type ClaimMappings struct {
	// subject is the claim that identifies the upstream account, stored in
	// the OrgUser's status.federatedIdentities. It must be stable: changing
	// it makes existing users unknown to the provider. Defaults to sub.
	// +optional
	// +kubebuilder:default=sub
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:XValidation:rule="self.matches('^[!-~]+$')",message="spec.oidc.claimMappings.subject must be a claim name without whitespace"
	Subject string `json:"subject,omitempty"`

	// email is the claim holding the user's email address. Defaults to email.
	// +optional
	// +kubebuilder:default=email
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:XValidation:rule="self.matches('^[!-~]+$')",message="spec.oidc.claimMappings.email must be a claim name without whitespace"
	Email string `json:"email,omitempty"`

	// emailVerified is the boolean claim saying the provider verified the
	// email. An account is linked to an existing OrgUser by email only when
	// it is true and the domain is a verified domain of the organization.
	// Defaults to email_verified.
	// +optional
	// +kubebuilder:default=email_verified
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:XValidation:rule="self.matches('^[!-~]+$')",message="spec.oidc.claimMappings.emailVerified must be a claim name without whitespace"
	EmailVerified string `json:"emailVerified,omitempty"`

	// name is the claim holding the user's full name. Defaults to name.
	// +optional
	// +kubebuilder:default=name
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:XValidation:rule="self.matches('^[!-~]+$')",message="spec.oidc.claimMappings.name must be a claim name without whitespace"
	Name string `json:"name,omitempty"`

	// givenName is the claim holding the user's first name. Defaults to
	// given_name.
	// +optional
	// +kubebuilder:default=given_name
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:XValidation:rule="self.matches('^[!-~]+$')",message="spec.oidc.claimMappings.givenName must be a claim name without whitespace"
	GivenName string `json:"givenName,omitempty"`

	// familyName is the claim holding the user's last name. Defaults to
	// family_name.
	// +optional
	// +kubebuilder:default=family_name
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:XValidation:rule="self.matches('^[!-~]+$')",message="spec.oidc.claimMappings.familyName must be a claim name without whitespace"
	FamilyName string `json:"familyName,omitempty"`

	// groups is the claim holding the user's upstream groups (a list of
	// strings), copied into the user's groups; names starting with system:
	// or orgkeeper: are dropped. Defaults to groups.
	// +optional
	// +kubebuilder:default=groups
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:XValidation:rule="self.matches('^[!-~]+$')",message="spec.oidc.claimMappings.groups must be a claim name without whitespace"
	Groups string `json:"groups,omitempty"`
}

// Provisioning says how users who sign in through an identity provider
// become OrgUsers.
type Provisioning struct {
	// mode is JustInTime (default): an OrgUser is created at the first
	// sign-in, or ExistingUsersOnly: only users that already exist (linked
	// by verified email) may sign in.
	// +optional
	// +kubebuilder:default=JustInTime
	Mode ProvisioningMode `json:"mode,omitempty"`

	// defaultRoles are the organization roles (OrgUser spec.roles) given to
	// users created just in time. Defaults to none; "admin" is allowed but
	// makes every such user an organization administrator. At most 32.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=63
	// +kubebuilder:validation:items:XValidation:rule="self.matches('^[A-Za-z0-9]([-A-Za-z0-9_.:]*[A-Za-z0-9])?$')",message="spec.provisioning.defaultRoles: each role must be 1 to 63 letters, digits or - _ . :, starting and ending with a letter or digit"
	DefaultRoles []string `json:"defaultRoles,omitempty"`

	// syncProfileOnLogin updates the OrgUser's names (and its email, when
	// the provider says it is verified) from the provider's claims at each
	// sign-in, and the groups of users this provider created; the groups
	// of an existing user linked to it stay as its administrators set them.
	// Defaults to true; when false, the profile is copied only when the
	// user is created.
	// +optional
	// +kubebuilder:default=true
	SyncProfileOnLogin *bool `json:"syncProfileOnLogin,omitempty"`
}

// IdentityProviderDiscovery holds the endpoints read from the provider's
// discovery document.
type IdentityProviderDiscovery struct {
	// authorizationEndpoint is where users are sent to sign in.
	// +optional
	AuthorizationEndpoint string `json:"authorizationEndpoint,omitempty"`

	// tokenEndpoint is where Orgkeeper redeems authorization codes.
	// +optional
	TokenEndpoint string `json:"tokenEndpoint,omitempty"`

	// jwksURI is where the provider publishes its signing keys.
	// +optional
	JWKSURI string `json:"jwksURI,omitempty"`

	// userinfoEndpoint is where Orgkeeper reads claims missing from the ID
	// token, if the provider has one.
	// +optional
	UserinfoEndpoint string `json:"userinfoEndpoint,omitempty"`

	// authorizationResponseIssParameterSupported is the provider's promise
	// (RFC 9207) that every authorization response names its issuer in the
	// iss parameter; Orgkeeper then refuses a response without it, which
	// protects against mix-up attacks.
	// +optional
	AuthorizationResponseIssParameterSupported bool `json:"authorizationResponseIssParameterSupported,omitempty"`
}

// IdentityProviderStatus is what Orgkeeper learned about the provider.
type IdentityProviderStatus struct {
	// observedGeneration is the metadata.generation that the conditions
	// describe.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// discovery holds the endpoints from the provider's discovery document,
	// as last fetched for the current spec; it is cleared while discovery
	// fails (see DiscoveryReady).
	// +optional
	Discovery *IdentityProviderDiscovery `json:"discovery,omitempty"`

	// conditions: SecretFound (the client secret exists), DiscoveryReady
	// (the issuer's discovery document was fetched and is usable; checked
	// again periodically, so an unreachable provider shows here) and Ready
	// (discovery works, the configuration is valid and the OIDC server serves
	// this generation; the message names any problem, such as a domain
	// another provider routes). See the Reason* constants.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// IdentityProvider is an upstream identity provider of an organization
// ("bring your own identity"), in the organization's namespace. Its name
// appears in the organization's login settings and must be a DNS label.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=idp,categories=orgkeeper
// +kubebuilder:printcolumn:name="Display Name",type=string,JSONPath=`.spec.displayName`
// +kubebuilder:printcolumn:name="Type",type=string,JSONPath=`.spec.type`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Issuer",type=string,JSONPath=`.spec.oidc.issuer`,priority=1
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 63 && self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="metadata.name of an IdentityProvider must be a DNS label (at most 63 lowercase letters, digits or '-')"
type IdentityProvider struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec configures the provider.
	// +required
	Spec IdentityProviderSpec `json:"spec"`

	// status is written by Orgkeeper.
	// +optional
	Status IdentityProviderStatus `json:"status,omitzero"`
}

// +kubebuilder:object:root=true

// IdentityProviderList is a list of IdentityProviders.
type IdentityProviderList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []IdentityProvider `json:"items"`
}

// GetConditions returns the object's conditions.
func (o *IdentityProvider) GetConditions() []metav1.Condition { return o.Status.Conditions }

func init() {
	SchemeBuilder.Register(&IdentityProvider{}, &IdentityProviderList{})
}
