package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// OrgUserSpec is the profile and the access of one user of an organization.
type OrgUserSpec struct {
	// email is the user's email address, such as alice@acme.example. Users
	// sign in with it, invitations go to it, and it is the email claim.
	// It must be unique within the organization: a second OrgUser with the
	// same address (compared without regard to case) gets Ready=False,
	// reason DuplicateEmail, and cannot sign in.
	// +required
	// +kubebuilder:validation:MinLength=3
	// +kubebuilder:validation:MaxLength=254
	// +kubebuilder:validation:XValidation:rule=`self.matches('^[A-Za-z0-9!#$%&\'*+/=?^_{|}~-]+([.][A-Za-z0-9!#$%&\'*+/=?^_{|}~-]+)*@([A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?[.])+[A-Za-z]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?$')`,message="spec.email must be a plain email address such as alice@acme.example (ASCII, no display name, a domain with at least two labels)"
	// +kubebuilder:validation:XValidation:rule="self.indexOf('@') <= 64",message="spec.email: the part before '@' must be at most 64 characters"
	Email string `json:"email"`

	// emailVerified asserts that the user controls the email address. Set
	// it only when you have checked the address. Defaults to false. Tokens
	// say email_verified: true only when this is true and the email's
	// domain is a verified domain of this organization or one of its
	// descendants: an admin cannot vouch for addresses at another
	// organization's domain. Otherwise the ClaimsRestricted condition names
	// the domain.
	// +optional
	EmailVerified bool `json:"emailVerified,omitempty"`

	// username is an optional second name to sign in with, and the
	// preferred_username claim; when unset, the email address is used for both.
	// Letters, digits and . _ @ + -, at most 254 characters. It must not equal
	// another user's username or email in the organization.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=254
	// +kubebuilder:validation:XValidation:rule="self.matches('^[A-Za-z0-9._@+-]+$')",message="spec.username may contain only letters, digits and . _ @ + -"
	Username string `json:"username,omitempty"`

	// displayName is the user's full name as shown on pages and in the name
	// claim, such as "Alice Liddell". At most 256 characters.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	DisplayName string `json:"displayName,omitempty"`

	// givenName is the user's first name, the given_name claim.
	// At most 128 characters.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	GivenName string `json:"givenName,omitempty"`

	// familyName is the user's last name, the family_name claim.
	// At most 128 characters.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	FamilyName string `json:"familyName,omitempty"`

	// roles are the user's roles in the organization itself (not application
	// roles: those are in applicationRoles and make the roles claim). The
	// role "admin" makes the user an
	// administrator of the organization: the user gets the group
	// orgkeeper:org:<organization>:admins and, through it, the organization's
	// admin rights in Kubernetes. Names are 1 to 63 letters, digits or
	// - _ . :, starting and ending with a letter or digit; at most 32 roles.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=63
	// +kubebuilder:validation:items:XValidation:rule="self.matches('^[A-Za-z0-9]([-A-Za-z0-9_.:]*[A-Za-z0-9])?$')",message="each entry of spec.roles must be 1 to 63 letters, digits or - _ . :, starting and ending with a letter or digit"
	Roles []string `json:"roles,omitempty"`

	// groups are added to the groups claim, for applications (and
	// Kubernetes) that authorize by group. At most 64 groups of at most 256
	// characters. Names starting with "system:" or "orgkeeper:" are refused:
	// Kubernetes and Orgkeeper grant privileges by them. A group that an
	// Organization outside this organization's subtree (an ancestor, a
	// sibling or a cousin) binds as a Group in spec.admins is left out of
	// tokens (compared without regard to case), so no admin can hand out
	// another part of the tree's privileges; the ClaimsRestricted condition
	// names what was left out and why.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=256
	// +kubebuilder:validation:items:XValidation:rule="!self.startsWith('system:') && !self.startsWith('orgkeeper:')",message="spec.groups: names starting with system: or orgkeeper: are reserved"
	// +kubebuilder:validation:items:XValidation:rule="self == self.trim() && !self.matches('[[:cntrl:]]')",message="spec.groups: a group name must not start or end with whitespace or contain control characters"
	Groups []string `json:"groups,omitempty"`

	// applicationRoles assign roles that a SharedApplication defines (in its
	// spec.roles) to this user. They appear in the roles claim of tokens
	// for that application only. An entry for an application that is not
	// shared with the organization, or a role the application does not
	// define, puts nothing in tokens. At most 32 applications.
	// +optional
	// +listType=map
	// +listMapKey=application
	// +kubebuilder:validation:MaxItems=32
	ApplicationRoles []ApplicationRoleAssignment `json:"applicationRoles,omitempty"`

	// disabled stops the user from signing in while keeping the account.
	// Sign-in attempts are refused and refresh tokens already issued stop
	// working; set it back to false (the default) to restore access.
	// +optional
	Disabled bool `json:"disabled,omitempty"`

	// initialPasswordSecretRef names a key of a Secret in this namespace
	// that holds the user's first password. It is read once, while the user
	// has no password: the password is hashed into the credential store in
	// the system namespace, and then Orgkeeper deletes the Secret, so that
	// the plaintext does not outlive its use (every admin of the
	// organization can read its Secrets). It is never read again: a Secret
	// re-created under that name (by GitOps, for example) is deleted too
	// without being read, so take it out of your repository. A Secret that
	// has an owner or is not of type Opaque is left in place. The
	// InitialPasswordConsumed condition says what happened. Changing a
	// password later is done by the password reset and invitation flows.
	// +optional
	InitialPasswordSecretRef *SecretKeyReference `json:"initialPasswordSecretRef,omitempty"`

	// invitation onboards the user by email instead of (or besides) an
	// initial password.
	// +optional
	Invitation *OrgUserInvitation `json:"invitation,omitempty"`
}

// ApplicationRoleAssignment gives a user roles of one SharedApplication.
type ApplicationRoleAssignment struct {
	// application is the client ID (status.clientID) of a SharedApplication
	// that is shared with the user's organization (or registered by it): the
	// application's name for one registered by the root organization, and
	// "<organization>/<name>" for one registered by any other organization.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=127
	// +kubebuilder:validation:XValidation:rule="self.matches('^([a-z0-9]([-a-z0-9]*[a-z0-9])?/)?[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="spec.applicationRoles[].application must be the client ID of a SharedApplication: its name (a DNS label), or <organization>/<name> for one registered below the root organization"
	Application string `json:"application"`

	// roles are names from the application's spec.roles, put in the roles
	// claim of the application's tokens. 1 to 32 roles.
	// +required
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=63
	// +kubebuilder:validation:items:XValidation:rule="self.matches('^[A-Za-z0-9]([-A-Za-z0-9_.:]*[A-Za-z0-9])?$')",message="spec.applicationRoles[].roles: each role must be 1 to 63 letters, digits or - _ . :, starting and ending with a letter or digit"
	Roles []string `json:"roles"`
}

// SecretKeyReference names one key of a Secret in the namespace of the
// object that refers to it.
type SecretKeyReference struct {
	// name is the name of the Secret, in the same namespace as the object
	// that refers to it.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')",message="the Secret name must be lowercase letters, digits, '-' and '.', starting and ending with a letter or digit"
	Name string `json:"name"`

	// key is the key within the Secret's data, such as password or
	// client-secret.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches('^[-._a-zA-Z0-9]+$')",message="the Secret key may contain only letters, digits, '-', '_' and '.'"
	Key string `json:"key"`
}

// OrgUserInvitation asks Orgkeeper to invite the user by email.
type OrgUserInvitation struct {
	// send, when true, makes Orgkeeper email spec.email a link to set a
	// password and sign in, once, as long as the user has no password yet.
	// status.invitation records when it was sent and when the link expires
	// (72 hours by default, --invitation-ttl), and the InvitationSent
	// condition says whether it went out. To send a new link (after the
	// old one expired, say), give the annotation
	// iam.orgkeeper.io/resend-invitation a new value. Defaults to false.
	// +optional
	Send bool `json:"send,omitempty"`
}

// OrgUserState is where an OrgUser stands, as shown in status.state.
// +kubebuilder:validation:Enum=Invited;Active;Disabled;Locked
type OrgUserState string

const (
	// OrgUserStateInvited: an invitation was sent and the user has not
	// accepted it yet (no password set, never signed in).
	OrgUserStateInvited OrgUserState = "Invited"
	// OrgUserStateActive: the user may sign in.
	OrgUserStateActive OrgUserState = "Active"
	// OrgUserStateDisabled: spec.disabled is true; the user cannot sign in.
	OrgUserStateDisabled OrgUserState = "Disabled"
	// OrgUserStateLocked: sign-in is refused after repeated failed attempts
	// until status.lockedUntil.
	OrgUserStateLocked OrgUserState = "Locked"
)

// OrgUserStatus is what Orgkeeper knows about the user. It never holds a
// password, a hash or a TOTP seed.
type OrgUserStatus struct {
	// observedGeneration is the metadata.generation that the conditions
	// describe.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// id is the user's stable identifier, the sub claim: the OrgUser's
	// metadata.uid. It never changes while the object exists.
	// +optional
	ID string `json:"id,omitempty"`

	// state is Invited, Active, Disabled or Locked.
	// +optional
	State OrgUserState `json:"state,omitempty"`

	// passwordSet is true once the user has a password in the credential
	// store (from initialPasswordSecretRef, an invitation or a reset).
	// +optional
	PasswordSet bool `json:"passwordSet,omitempty"`

	// mfaEnrolled is true once the user has enrolled a second factor (TOTP).
	// +optional
	MFAEnrolled bool `json:"mfaEnrolled,omitempty"`

	// lastLoginTime is when the user last signed in successfully.
	// +optional
	LastLoginTime *metav1.Time `json:"lastLoginTime,omitempty"`

	// failedLogins counts failed sign-in attempts since the last successful
	// one; too many lock the account for a while.
	// +optional
	// +kubebuilder:validation:Minimum=0
	FailedLogins int32 `json:"failedLogins,omitempty"`

	// lockedUntil is set while the account is locked after repeated failed
	// sign-ins; sign-in is refused until then.
	// +optional
	LockedUntil *metav1.Time `json:"lockedUntil,omitempty"`

	// sessionsRevokedAt is when Orgkeeper last ended all of the user's
	// sessions (for example when spec.disabled was set): sign-in sessions
	// and refresh tokens that authenticated before it are refused, also
	// after the user is enabled again.
	// +optional
	SessionsRevokedAt *metav1.Time `json:"sessionsRevokedAt,omitempty"`

	// federatedIdentities are the accounts at upstream identity providers
	// that are linked to this user.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=32
	FederatedIdentities []FederatedIdentity `json:"federatedIdentities,omitempty"`

	// invitation tells when the invitation email was sent and when its link
	// expires.
	// +optional
	Invitation *OrgUserInvitationStatus `json:"invitation,omitempty"`

	// conditions: Ready is True when the user can sign in as specified (the
	// OIDC server serves this generation); ClaimsRestricted is True when
	// tokens carry less than spec.groups or spec.emailVerified say, and
	// names what and why; InitialPasswordConsumed reports on
	// spec.initialPasswordSecretRef; InvitationSent on spec.invitation.
	// See the Reason* constants.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// FederatedIdentity is an account at an upstream identity provider that is
// linked to an OrgUser.
type FederatedIdentity struct {
	// identityProvider is the name of the IdentityProvider.
	// +required
	// +kubebuilder:validation:MaxLength=63
	IdentityProvider string `json:"identityProvider"`

	// organization is the ancestor organization that owns the identity
	// provider when it is inherited (spec.inheritable); empty when the
	// provider belongs to the user's own organization.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Organization string `json:"organization,omitempty"`

	// subject is the user's sub claim at the identity provider.
	// +required
	// +kubebuilder:validation:MaxLength=256
	Subject string `json:"subject"`
}

// OrgUserInvitationStatus records an invitation email.
type OrgUserInvitationStatus struct {
	// sentAt is when the invitation was sent.
	// +optional
	SentAt *metav1.Time `json:"sentAt,omitempty"`

	// expiresAt is when the invitation link stops working.
	// +optional
	ExpiresAt *metav1.Time `json:"expiresAt,omitempty"`
}

// OrgUser is a user of an organization, in the organization's namespace. Its
// metadata.uid is the user's stable subject identifier. Passwords and second
// factors are kept in the system namespace, never here.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=orguser,categories=orgkeeper
// +kubebuilder:printcolumn:name="Email",type=string,JSONPath=`.spec.email`
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=`.status.state`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type OrgUser struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the user's profile and access, written by administrators.
	// +required
	Spec OrgUserSpec `json:"spec"`

	// status is written by Orgkeeper.
	// +optional
	Status OrgUserStatus `json:"status,omitzero"`
}

// +kubebuilder:object:root=true

// OrgUserList is a list of OrgUsers.
type OrgUserList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []OrgUser `json:"items"`
}

// GetConditions returns the object's conditions.
func (o *OrgUser) GetConditions() []metav1.Condition { return o.Status.Conditions }

func init() {
	SchemeBuilder.Register(&OrgUser{}, &OrgUserList{})
}
