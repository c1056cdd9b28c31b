package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ClientType says whether an application can keep a secret.
// +kubebuilder:validation:Enum=Confidential;Public
type ClientType string

const (
	// ClientTypeConfidential: a server-side application that authenticates
	// to the token endpoint with its client secret.
	ClientTypeConfidential ClientType = "Confidential"
	// ClientTypePublic: a browser or native application that cannot keep a
	// secret; it has no client secret and must use PKCE (S256).
	ClientTypePublic ClientType = "Public"
)

// GrantType is an OAuth 2.0 grant type an application may use.
// +kubebuilder:validation:Enum=authorization_code;refresh_token;client_credentials;"urn:ietf:params:oauth:grant-type:token-exchange"
type GrantType string

const (
	// GrantTypeAuthorizationCode: users sign in through the browser
	// (authorization code flow with PKCE).
	GrantTypeAuthorizationCode GrantType = "authorization_code"
	// GrantTypeRefreshToken: the application receives refresh tokens
	// (rotated on each use).
	GrantTypeRefreshToken GrantType = "refresh_token"
	// GrantTypeClientCredentials: the application gets machine tokens for
	// itself with its client secret. Confidential clients only.
	GrantTypeClientCredentials GrantType = "client_credentials"
	// GrantTypeTokenExchange: RFC 8693 token exchange, used to switch an
	// administrator's tokens to a descendant organization.
	GrantTypeTokenExchange GrantType = "urn:ietf:params:oauth:grant-type:token-exchange"
)

// SharingMode says which organizations an application is shared with.
// +kubebuilder:validation:Enum=None;All;Selected
type SharingMode string

const (
	// SharingModeNone: only users of the registering organization may sign in.
	SharingModeNone SharingMode = "None"
	// SharingModeAll: every organization of the registering organization's
	// subtree, present and future.
	SharingModeAll SharingMode = "All"
	// SharingModeSelected: the organizations listed in
	// spec.sharing.organizations (and their descendants with
	// includeSubOrganizations).
	SharingModeSelected SharingMode = "Selected"
)

// AccessTokenFormat is the form of the access tokens an application receives.
// +kubebuilder:validation:Enum=JWT;Opaque
type AccessTokenFormat string

const (
	// AccessTokenFormatJWT: signed JWTs carrying the same claims as the ID
	// token; resource servers verify them with the issuer's JWKS.
	AccessTokenFormatJWT AccessTokenFormat = "JWT"
	// AccessTokenFormatOpaque: random strings; resource servers check them
	// at the introspection endpoint.
	AccessTokenFormatOpaque AccessTokenFormat = "Opaque"
)

// SharedApplicationSpec describes an OIDC client and who may sign in to it.
//
// +kubebuilder:validation:XValidation:rule="!has(self.clientType) || self.clientType != 'Public' || !has(self.grantTypes) || !self.grantTypes.exists(g, g == 'client_credentials')",message="spec.grantTypes: a Public client cannot use client_credentials, because it has no secret to authenticate with",fieldPath=".grantTypes"
// +kubebuilder:validation:XValidation:rule="!has(self.clientType) || self.clientType != 'Public' || !has(self.clientSecretRef)",message="spec.clientSecretRef must not be set for a Public client: public clients have no secret",fieldPath=".clientSecretRef"
// +kubebuilder:validation:XValidation:rule="!has(self.grantTypes) || !self.grantTypes.exists(g, g == 'refresh_token') || self.grantTypes.exists(g, g == 'authorization_code')",message="spec.grantTypes: refresh_token requires authorization_code",fieldPath=".grantTypes"
// +kubebuilder:validation:XValidation:rule="!has(self.grantTypes) || !self.grantTypes.exists(g, g == 'authorization_code') || (has(self.redirectURIs) && self.redirectURIs.size() > 0)",message="spec.redirectURIs must list at least one URI when spec.grantTypes includes authorization_code",fieldPath=".redirectURIs"
// +kubebuilder:validation:XValidation:rule="(has(self.clientType) && self.clientType == 'Public') || !has(self.redirectURIs) || self.redirectURIs.all(u, !u.matches('^[a-z][-a-z0-9+.]*:') || u.startsWith('https:') || u.startsWith('http:'))",message="spec.redirectURIs: custom schemes are allowed only for Public clients (native apps); a Confidential client needs https, or http on 127.0.0.1, [::1] or localhost",fieldPath=".redirectURIs"
// +kubebuilder:validation:XValidation:rule="(has(self.clientType) && self.clientType == 'Public') || !has(self.postLogoutRedirectURIs) || self.postLogoutRedirectURIs.all(u, !u.matches('^[a-z][-a-z0-9+.]*:') || u.startsWith('https:') || u.startsWith('http:'))",message="spec.postLogoutRedirectURIs: custom schemes are allowed only for Public clients (native apps); a Confidential client needs https, or http on 127.0.0.1, [::1] or localhost",fieldPath=".postLogoutRedirectURIs"
type SharedApplicationSpec struct {
	// displayName is the application's name as users see it on the login
	// and consent pages, such as "Partner Portal". 1 to 128 characters.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	DisplayName string `json:"displayName"`

	// logoURL is an https URL of the application's logo, shown on the login
	// page next to the organization's branding.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule=`self.matches('^[!-~]+$') && isURL(self) && url(self).getScheme() == 'https' && url(self).getHostname() != '' && !self.matches('^[a-zA-Z][-a-zA-Z0-9+.]*://[^/?#]*@')`,message="spec.logoURL must be an https URL with a host and no user name, such as https://portal.example/logo.svg"
	LogoURL string `json:"logoURL,omitempty"`

	// clientType is Confidential (default) for a server-side application
	// that keeps a client secret, or Public for a browser or native
	// application: public clients have no secret, must use PKCE with S256
	// and cannot use client_credentials.
	// +optional
	// +kubebuilder:default=Confidential
	ClientType ClientType `json:"clientType,omitempty"`

	// redirectURIs are where users are sent back after signing in; the
	// redirect_uri of a request must equal one of them exactly. Use https;
	// http is allowed only on 127.0.0.1, [::1] and localhost, and Public
	// clients (native apps) may also use a private-use scheme such as
	// com.example.app:/callback. No fragments ('#') and no user names.
	// Required when grantTypes includes authorization_code; at most 32.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=2048
	// +kubebuilder:validation:items:XValidation:rule="self.matches('^[!-~]+$')",message="spec.redirectURIs: a URI must not contain whitespace, control or non-ASCII characters (percent-encode them)"
	// +kubebuilder:validation:items:XValidation:rule="!self.contains('#')",message="spec.redirectURIs: a URI must not contain a fragment ('#')"
	// +kubebuilder:validation:items:XValidation:rule="self.matches('^[a-z][-a-z0-9+.]*:') && isURL(self)",message="spec.redirectURIs: a URI must be absolute, with a lowercase scheme, such as https://app.example/callback"
	// +kubebuilder:validation:items:XValidation:rule="!self.matches('^[a-z][-a-z0-9+.]*://[^/?#]*@')",message="spec.redirectURIs: a URI must not contain a user name or password (the part before '@')"
	// +kubebuilder:validation:items:XValidation:rule="!self.startsWith('http:') || (isURL(self) && url(self).getHostname() in ['127.0.0.1', '::1', 'localhost'])",message="spec.redirectURIs: http is allowed only on 127.0.0.1, [::1] or localhost; use https"
	// +kubebuilder:validation:items:XValidation:rule="!self.startsWith('https:') || (isURL(self) && url(self).getHostname() != '')",message="spec.redirectURIs: an https URI needs a host, such as https://app.example/callback"
	// +kubebuilder:validation:items:XValidation:rule="!self.matches('^(javascript|vbscript|data|file|blob|about|filesystem):')",message="spec.redirectURIs: the javascript:, vbscript:, data:, file:, blob:, about: and filesystem: schemes are not allowed"
	RedirectURIs []string `json:"redirectURIs,omitempty"`

	// postLogoutRedirectURIs are where the end-session endpoint may send
	// users after signing out; the post_logout_redirect_uri of a request
	// must equal one of them exactly. Same rules as redirectURIs; at most 32.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=2048
	// +kubebuilder:validation:items:XValidation:rule="self.matches('^[!-~]+$')",message="spec.postLogoutRedirectURIs: a URI must not contain whitespace, control or non-ASCII characters (percent-encode them)"
	// +kubebuilder:validation:items:XValidation:rule="!self.contains('#')",message="spec.postLogoutRedirectURIs: a URI must not contain a fragment ('#')"
	// +kubebuilder:validation:items:XValidation:rule="self.matches('^[a-z][-a-z0-9+.]*:') && isURL(self)",message="spec.postLogoutRedirectURIs: a URI must be absolute, with a lowercase scheme, such as https://app.example/"
	// +kubebuilder:validation:items:XValidation:rule="!self.matches('^[a-z][-a-z0-9+.]*://[^/?#]*@')",message="spec.postLogoutRedirectURIs: a URI must not contain a user name or password (the part before '@')"
	// +kubebuilder:validation:items:XValidation:rule="!self.startsWith('http:') || (isURL(self) && url(self).getHostname() in ['127.0.0.1', '::1', 'localhost'])",message="spec.postLogoutRedirectURIs: http is allowed only on 127.0.0.1, [::1] or localhost; use https"
	// +kubebuilder:validation:items:XValidation:rule="!self.startsWith('https:') || (isURL(self) && url(self).getHostname() != '')",message="spec.postLogoutRedirectURIs: an https URI needs a host, such as https://app.example/"
	// +kubebuilder:validation:items:XValidation:rule="!self.matches('^(javascript|vbscript|data|file|blob|about|filesystem):')",message="spec.postLogoutRedirectURIs: the javascript:, vbscript:, data:, file:, blob:, about: and filesystem: schemes are not allowed"
	PostLogoutRedirectURIs []string `json:"postLogoutRedirectURIs,omitempty"`

	// grantTypes are the OAuth 2.0 grants the application may use:
	// authorization_code, refresh_token (requires authorization_code),
	// client_credentials (Confidential clients only) and
	// urn:ietf:params:oauth:grant-type:token-exchange (switching to a
	// descendant organization). Defaults to [authorization_code, refresh_token].
	// +optional
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=4
	// +kubebuilder:default={authorization_code,refresh_token}
	GrantTypes []GrantType `json:"grantTypes,omitempty"`

	// roles are the application roles that organizations may assign to
	// their users (OrgUser spec.applicationRoles); assigned roles appear in
	// the roles claim of this application's tokens. At most 64.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=64
	Roles []ApplicationRole `json:"roles,omitempty"`

	// sharing says which organizations of the registering organization's
	// subtree may sign in to the application. Defaults to mode None: only
	// the registering organization.
	// +optional
	// +kubebuilder:default={}
	Sharing *ApplicationSharing `json:"sharing,omitempty"`

	// clientSecretRef names a Secret in this namespace whose key
	// client-secret holds the client secret, for secrets you manage
	// yourself. When unset, a Confidential client gets a generated secret
	// in the Secret <name>-oidc-client (keys client-id and client-secret),
	// owned by this object. Must be unset for Public clients.
	// +optional
	ClientSecretRef *LocalSecretReference `json:"clientSecretRef,omitempty"`

	// tokenLifetimes set how long issued tokens are valid.
	// Defaults: access token 15m, ID token 15m, refresh token 720h.
	// +optional
	// +kubebuilder:default={}
	TokenLifetimes *TokenLifetimes `json:"tokenLifetimes,omitempty"`

	// accessTokenFormat is JWT (default): signed tokens that resource
	// servers verify with the issuer's keys, or Opaque: random strings that
	// resource servers check at the introspection endpoint.
	// +optional
	// +kubebuilder:default=JWT
	AccessTokenFormat AccessTokenFormat `json:"accessTokenFormat,omitempty"`
}

// ApplicationRole is a role that an application understands.
type ApplicationRole struct {
	// name is the role as it appears in the roles claim, such as buyer.
	// 1 to 63 letters, digits or - _ . :, starting and ending with a letter
	// or digit.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="self.matches('^[A-Za-z0-9]([-A-Za-z0-9_.:]*[A-Za-z0-9])?$')",message="spec.roles[].name must be 1 to 63 letters, digits or - _ . :, starting and ending with a letter or digit"
	Name string `json:"name"`

	// description tells organization administrators what the role allows.
	// At most 256 characters.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Description string `json:"description,omitempty"`
}

// ApplicationSharing says which organizations may use an application.
//
// +kubebuilder:validation:XValidation:rule="!has(self.mode) || self.mode != 'Selected' || (has(self.organizations) && self.organizations.size() > 0)",message="spec.sharing.organizations must list at least one organization when spec.sharing.mode is Selected",fieldPath=".organizations"
// +kubebuilder:validation:XValidation:rule="(has(self.mode) && self.mode == 'Selected') || !has(self.organizations) || self.organizations.size() == 0",message="spec.sharing.organizations must be empty unless spec.sharing.mode is Selected",fieldPath=".organizations"
type ApplicationSharing struct {
	// mode is None (default): only the registering organization; All: every
	// organization in the registering organization's subtree, including
	// ones created later; or Selected: the organizations listed in
	// organizations.
	// +optional
	// +kubebuilder:default=None
	Mode SharingMode `json:"mode,omitempty"`

	// organizations are the organizations to share with, when mode is
	// Selected (and only then), named from the registering organization: a
	// name is one of its direct children ("acme"), and a deeper
	// organization is written as its path below it ("acme/acme-eu"), so
	// that no organization created elsewhere under a listed name can
	// receive the application. An entry that names no organization (not
	// created yet, or misspelt) gets Ready=False, reason
	// SharedOrganizationNotFound, and the application is shared with the
	// others. At most 256 entries of at most 255 characters.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=255
	// +kubebuilder:validation:items:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?(/[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')",message="spec.sharing.organizations: each entry must be an organization name (a DNS label of lowercase letters, digits and '-') or a path of such names below the registering organization, such as acme/acme-eu"
	Organizations []string `json:"organizations,omitempty"`

	// includeSubOrganizations, with mode Selected, also shares the
	// application with every descendant of the listed organizations,
	// including ones created later. Defaults to false; ignored for other modes.
	// +optional
	IncludeSubOrganizations bool `json:"includeSubOrganizations,omitempty"`
}

// LocalSecretReference names a Secret in the namespace of the object that
// refers to it.
type LocalSecretReference struct {
	// name is the name of the Secret.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')",message="the Secret name must be lowercase letters, digits, '-' and '.', starting and ending with a letter or digit"
	Name string `json:"name"`
}

// TokenLifetimes set how long tokens are valid. Durations are written like
// 15m, 1h or 1h30m (units ns, us, ms, s, m, h).
type TokenLifetimes struct {
	// accessToken is how long an access token is valid, from 1m to 24h.
	// Defaults to 15m.
	// +optional
	// +kubebuilder:default="15m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule=`self.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$')`,message="spec.tokenLifetimes.accessToken must be a duration such as 15m or 1h30m"
	// +kubebuilder:validation:XValidation:rule=`!self.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$') || (duration(self) >= duration('1m') && duration(self) <= duration('24h'))`,message="spec.tokenLifetimes.accessToken must be between 1m and 24h"
	AccessToken *metav1.Duration `json:"accessToken,omitempty"`

	// idToken is how long an ID token is valid, from 1m to 24h.
	// Defaults to 15m.
	// +optional
	// +kubebuilder:default="15m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule=`self.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$')`,message="spec.tokenLifetimes.idToken must be a duration such as 15m or 1h30m"
	// +kubebuilder:validation:XValidation:rule=`!self.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$') || (duration(self) >= duration('1m') && duration(self) <= duration('24h'))`,message="spec.tokenLifetimes.idToken must be between 1m and 24h"
	IDToken *metav1.Duration `json:"idToken,omitempty"`

	// refreshToken is how long a refresh token is valid, from 5m to 8760h
	// (one year). Refresh tokens are rotated: each use returns a new one.
	// Defaults to 720h (30 days).
	// +optional
	// +kubebuilder:default="720h"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule=`self.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$')`,message="spec.tokenLifetimes.refreshToken must be a duration such as 720h"
	// +kubebuilder:validation:XValidation:rule=`!self.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$') || (duration(self) >= duration('5m') && duration(self) <= duration('8760h'))`,message="spec.tokenLifetimes.refreshToken must be between 5m and 8760h"
	RefreshToken *metav1.Duration `json:"refreshToken,omitempty"`
}

// SharedApplicationStatus is what Orgkeeper resolved for the application.
type SharedApplicationStatus struct {
	// observedGeneration is the metadata.generation that the conditions
	// describe.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// clientID is the OAuth client_id: the SharedApplication's name when the
	// root organization registers it, "<organization>/<name>" otherwise (so
	// no organization can take a client ID another one uses). The generated
	// Secret holds it under the key client-id.
	// +optional
	ClientID string `json:"clientID,omitempty"`

	// clientSecretName is the Secret in this namespace that holds the client
	// secret: spec.clientSecretRef.name, or the generated
	// <name>-oidc-client. Empty for Public clients.
	// +optional
	ClientSecretName string `json:"clientSecretName,omitempty"`

	// sharedWith are the organizations whose users may sign in, resolved
	// from spec.sharing (descendants included), sorted by name. The
	// registering organization is always allowed and not listed.
	// +optional
	// +listType=atomic
	SharedWith []string `json:"sharedWith,omitempty"`

	// conditions: Ready is True when the OIDC server serves this generation
	// of the client. See the Reason* constants.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// SharedApplication is an OIDC client (relying party), registered in an
// organization's namespace (normally the root's) and shared with
// organizations of that organization's subtree. Its name is the OAuth
// client_id and must be a DNS label.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=sharedapp,categories=orgkeeper
// +kubebuilder:printcolumn:name="Display Name",type=string,JSONPath=`.spec.displayName`
// +kubebuilder:printcolumn:name="Client Type",type=string,JSONPath=`.spec.clientType`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Sharing",type=string,JSONPath=`.spec.sharing.mode`,priority=1
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 63 && self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="metadata.name of a SharedApplication must be a DNS label (at most 63 lowercase letters, digits or '-'): it is the OAuth client_id"
type SharedApplication struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec describes the client and its sharing.
	// +required
	Spec SharedApplicationSpec `json:"spec"`

	// status is written by Orgkeeper.
	// +optional
	Status SharedApplicationStatus `json:"status,omitzero"`
}

// +kubebuilder:object:root=true

// SharedApplicationList is a list of SharedApplications.
type SharedApplicationList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []SharedApplication `json:"items"`
}

// GetConditions returns the object's conditions.
func (o *SharedApplication) GetConditions() []metav1.Condition { return o.Status.Conditions }

func init() {
	SchemeBuilder.Register(&SharedApplication{}, &SharedApplicationList{})
}
