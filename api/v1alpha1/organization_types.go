package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// SubjectKind is the kind of an RBAC subject that administers an organization.
// +kubebuilder:validation:Enum=User;Group
type SubjectKind string

const (
	// SubjectUser is a user of the organization that lists it, by username
	// (spec.username, or the email when none is set). The operator binds the
	// Kubernetes user orgkeeper:<organization>:<username> (lower case), the
	// name kube-apiserver gives that user's tokens from this issuer.
	SubjectUser SubjectKind = "User"
	// SubjectGroup is a group as users' tokens carry it (spec.groups of
	// OrgUsers). The operator binds the Kubernetes group
	// orgkeeper:<group>, the name kube-apiserver gives it.
	SubjectGroup SubjectKind = "Group"
)

// Subject is a user or group that administers an organization. Names are
// Orgkeeper's: the operator binds the Kubernetes names that kube-apiserver
// gives this issuer's tokens (all starting with orgkeeper:), so no other
// authenticator's user or group, and no user of another organization, is
// ever bound by it.
type Subject struct {
	// kind is User or Group.
	// +required
	Kind SubjectKind `json:"kind"`

	// name is the username of a user of this organization (kind User; case
	// does not matter) or a group name as OrgUsers' spec.groups carry it
	// (kind Group; case-sensitive, as in RBAC). A group whose name starts
	// with "orgkeeper:" or "system:" (in any case) binds nobody: such names
	// belong to Orgkeeper and Kubernetes, never to an organization's users.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Name string `json:"name"`
}

// Domain is a lower-case DNS domain such as acme.example.
// +kubebuilder:validation:MinLength=3
// +kubebuilder:validation:MaxLength=253
// +kubebuilder:validation:Pattern=`^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]([-a-z0-9]{0,61}[a-z0-9])?$`
type Domain string

// HTTPSURL is an absolute https:// URL.
// +kubebuilder:validation:MaxLength=2048
// +kubebuilder:validation:XValidation:rule="isURL(self) && url(self).getScheme() == 'https' && size(url(self).getHostname()) > 0",message="must be an absolute https:// URL"
type HTTPSURL string

// Color is a colour in the form #RRGGBB.
// +kubebuilder:validation:Pattern=`^#[0-9A-Fa-f]{6}$`
type Color string

// Branding is how the login pages of an organization look. Every unset field
// is inherited from the nearest ancestor that sets it.
type Branding struct {
	// logoURL is the https URL of the logo shown on the login pages.
	// +optional
	LogoURL HTTPSURL `json:"logoURL,omitempty"`

	// faviconURL is the https URL of the favicon of the login pages.
	// +optional
	FaviconURL HTTPSURL `json:"faviconURL,omitempty"`

	// primaryColor is the colour of buttons and links, as #RRGGBB.
	// +optional
	PrimaryColor Color `json:"primaryColor,omitempty"`

	// backgroundColor is the page background colour, as #RRGGBB.
	// +optional
	BackgroundColor Color `json:"backgroundColor,omitempty"`

	// textColor is the colour of body text, as #RRGGBB.
	// +optional
	TextColor Color `json:"textColor,omitempty"`
}

// MFAPolicy says whether users of an organization use a second factor (TOTP).
// +kubebuilder:validation:Enum=Disabled;Optional;Required
type MFAPolicy string

const (
	// MFADisabled: no second factor is offered.
	MFADisabled MFAPolicy = "Disabled"
	// MFAOptional: users may enrol a second factor.
	MFAOptional MFAPolicy = "Optional"
	// MFARequired: users must enrol and use a second factor.
	MFARequired MFAPolicy = "Required"
)

// LoginSettings are the ways users of an organization sign in. Every unset
// field is inherited from the nearest ancestor that sets it; the root's unset
// fields take the documented defaults.
type LoginSettings struct {
	// password allows sign-in with a local password. Default (at the root):
	// true. Below an organization whose effective value is false (federated
	// sign-in only), true is not applied: passwords stay off and the status
	// shows reason PolicyWeakened.
	// +optional
	Password *bool `json:"password,omitempty"`

	// identityProviders are the names of IdentityProviders offered on the
	// login page, in this order. Each must be an IdentityProvider of this
	// organization, or an inheritable one of an ancestor.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=20
	// +kubebuilder:validation:items:MaxLength=63
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	IdentityProviders []string `json:"identityProviders,omitempty"`

	// autoRedirect sends the browser straight to the identity provider when
	// exactly one is offered and password login is off. Default: false.
	// +optional
	AutoRedirect *bool `json:"autoRedirect,omitempty"`

	// mfa is Disabled, Optional or Required (TOTP). Default (at the root):
	// Optional. It can be stricter than the parent's effective value but not
	// looser (Disabled < Optional < Required): a looser value is not applied,
	// the parent's applies and the status shows reason PolicyWeakened.
	// +optional
	MFA MFAPolicy `json:"mfa,omitempty"`

	// selfRegistration lets people whose email is in a verified domain of the
	// organization sign up by themselves. Default: false.
	// +optional
	SelfRegistration *bool `json:"selfRegistration,omitempty"`
}

// ApprovalMode says how self-service signups become organizations.
// +kubebuilder:validation:Enum=Automatic;Manual
type ApprovalMode string

const (
	// ApprovalAutomatic: a signup becomes an organization at once.
	ApprovalAutomatic ApprovalMode = "Automatic"
	// ApprovalManual: a root administrator approves each signup.
	ApprovalManual ApprovalMode = "Manual"
)

// SelfService configures self-service signup of new organizations. Root only.
type SelfService struct {
	// enabled turns self-service signup of organizations on.
	// +optional
	Enabled bool `json:"enabled,omitempty"`

	// approval is Automatic or Manual (default).
	// +optional
	// +kubebuilder:default=Manual
	Approval ApprovalMode `json:"approval,omitempty"`
}

// DomainVerificationMode says how claimed domains are verified.
// +kubebuilder:validation:Enum=DNS;None
type DomainVerificationMode string

const (
	// DomainVerificationDNS: a domain is verified once a TXT record
	// _orgkeeper-challenge.<domain> holds the value in status.
	DomainVerificationDNS DomainVerificationMode = "DNS"
	// DomainVerificationNone: claimed domains are trusted (for installations
	// where only trusted people create organizations).
	DomainVerificationNone DomainVerificationMode = "None"
)

// DeletionPolicy says what deleting an organization does to its subtree.
// +kubebuilder:validation:Enum=Block;Cascade
type DeletionPolicy string

const (
	// DeletionBlock: deletion waits until no child organization and no user
	// is left, and says what is in the way.
	DeletionBlock DeletionPolicy = "Block"
	// DeletionCascade: the operator deletes the whole subtree, bottom-up,
	// including users, then the organization's namespace.
	DeletionCascade DeletionPolicy = "Cascade"
)

// OrganizationSpec is what an organization should be.
type OrganizationSpec struct {
	// displayName is the organization's name for people, shown on login pages
	// and in the org_name claim.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=200
	DisplayName string `json:"displayName"`

	// description is free text for administrators.
	// +optional
	// +kubebuilder:validation:MaxLength=1000
	Description string `json:"description,omitempty"`

	// domains are the email domains of the organization's people (for
	// example acme.example). Once verified, a user typing alice@acme.example
	// at the login page is routed to this organization. Lower case.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=50
	Domains []Domain `json:"domains,omitempty"`

	// admins are the delegated administrators: each gets full control of the
	// Orgkeeper objects and Secrets in this organization's namespace and in
	// the namespaces of all its descendants, and may get, update and patch
	// this Organization object itself. The group orgkeeper:org:<name>:admins
	// gets the same rights.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=50
	Admins []Subject `json:"admins,omitempty"`

	// branding is the look of the login pages. Unset fields inherit from the
	// nearest ancestor.
	// +optional
	Branding *Branding `json:"branding,omitempty"`

	// login is how users sign in. Unset fields inherit from the nearest
	// ancestor.
	// +optional
	Login *LoginSettings `json:"login,omitempty"`

	// selfService configures self-service signup of organizations. Only the
	// root organization may set it.
	// +optional
	SelfService *SelfService `json:"selfService,omitempty"`

	// domainVerification is DNS (the default) or None, for the whole
	// installation. Only the root organization may set it.
	// +optional
	DomainVerification DomainVerificationMode `json:"domainVerification,omitempty"`

	// suspended stops all logins and token refreshes for this organization
	// and its whole subtree. Setting it also ends every sign-in session and
	// refresh token there (status.sessionsRevokedAt); lifting the suspension
	// does not bring them back, so users sign in again. Nothing is deleted.
	// +optional
	Suspended bool `json:"suspended,omitempty"`

	// deletionPolicy is Block (the default: deletion waits until no child
	// organization and no user is left) or Cascade (deleting the organization
	// deletes its whole subtree, users included).
	// +optional
	// +kubebuilder:default=Block
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`
}

// DomainStatus is the verification state of one claimed domain.
type DomainStatus struct {
	// name is the domain.
	Name Domain `json:"name"`

	// verified is true when the domain routes logins to this organization.
	Verified bool `json:"verified"`

	// verificationRecord is the DNS TXT record that proves control of the
	// domain, as "<name> TXT <value>".
	// +optional
	VerificationRecord string `json:"verificationRecord,omitempty"`

	// reason says why the domain is not verified: Pending (waiting for the
	// TXT record), Conflict (another organization holds it) or Failed.
	// +optional
	Reason DomainReason `json:"reason,omitempty"`

	// message explains the reason.
	// +optional
	Message string `json:"message,omitempty"`
}

// OrganizationStatus is what the operator observed and did.
type OrganizationStatus struct {
	// observedGeneration is the generation last reconciled successfully.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// id is the organization's stable identifier (its metadata.uid), the
	// org_id claim in tokens.
	// +optional
	ID string `json:"id,omitempty"`

	// namespace is the organization's own namespace.
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// parent is the name of the parent organization; empty for the root.
	// +optional
	Parent string `json:"parent,omitempty"`

	// path lists organization names from the root to this organization.
	// +optional
	// +listType=atomic
	Path []string `json:"path,omitempty"`

	// depth is the number of ancestors (0 for the root).
	// +optional
	Depth int32 `json:"depth,omitempty"`

	// domains is the verification state of each claimed domain.
	// +optional
	// +listType=map
	// +listMapKey=name
	Domains []DomainStatus `json:"domains,omitempty"`

	// sessionsRevokedAt is when Orgkeeper last ended every session of the
	// organization's users and of its subtree (for example when
	// spec.suspended was set): sign-in sessions and refresh tokens that
	// authenticated before it are refused, also after the suspension is
	// lifted.
	// +optional
	SessionsRevokedAt *metav1.Time `json:"sessionsRevokedAt,omitempty"`

	// conditions: Ready, NamespaceReady, RBACReady, DomainsVerified, Suspended.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Organization is a business customer, partner, subsidiary or department. It
// lives in its parent organization's namespace (the root lives in the system
// namespace) and owns a namespace of its own name, where its users,
// applications, identity providers and child organizations live.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=org;orgs,categories=orgkeeper
// +kubebuilder:printcolumn:name="Display Name",type=string,JSONPath=`.spec.displayName`
// +kubebuilder:printcolumn:name="Parent",type=string,JSONPath=`.status.parent`
// +kubebuilder:printcolumn:name="Depth",type=integer,JSONPath=`.status.depth`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="size(self.metadata.name) <= 63 && self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="metadata.name must be a DNS label (lower case letters, digits and '-', at most 63 characters): it is also the organization's namespace"
// +kubebuilder:validation:XValidation:rule="self.metadata.name != 'default' && !self.metadata.name.startsWith('kube-') && !self.metadata.name.startsWith('orgkeeper-')",message="metadata.name is reserved: 'default', 'kube-*' and 'orgkeeper-*' cannot be organization names"
type Organization struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is what the organization should be.
	// +required
	Spec OrganizationSpec `json:"spec"`

	// status is what the operator observed.
	// +optional
	Status OrganizationStatus `json:"status,omitempty"`
}

// OrganizationList is a list of Organizations.
//
// +kubebuilder:object:root=true
type OrganizationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Organization `json:"items"`
}

// GetConditions returns the organization's conditions.
func (o *Organization) GetConditions() []metav1.Condition { return o.Status.Conditions }

// SetConditions replaces the organization's conditions.
func (o *Organization) SetConditions(c []metav1.Condition) { o.Status.Conditions = c }

func init() {
	SchemeBuilder.Register(&Organization{}, &OrganizationList{})
}
