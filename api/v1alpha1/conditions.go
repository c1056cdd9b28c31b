package v1alpha1

// Condition types. Every kind has a Ready condition; the others are listed on
// the kinds that set them.
const (
	// ConditionReady summarises the object: True once everything it asks for
	// is in place (and, for kinds the OIDC server uses, being served).
	ConditionReady = "Ready"

	// ConditionNamespaceReady (Organization): the organization's namespace
	// exists, is labelled as the organization's and is not being deleted.
	ConditionNamespaceReady = "NamespaceReady"
	// ConditionRBACReady (Organization): the RoleBindings that delegate
	// administration of the organization are in place and exact.
	ConditionRBACReady = "RBACReady"
	// ConditionDomainsVerified (Organization): every claimed domain is
	// verified and may route logins.
	ConditionDomainsVerified = "DomainsVerified"
	// ConditionSuspended (Organization): True while spec.suspended is set.
	// The operator ends every session of the organization's subtree
	// (status.sessionsRevokedAt) when it sees this turn True.
	ConditionSuspended = "Suspended"

	// ConditionDiscoveryReady (IdentityProvider): the upstream issuer's
	// discovery document was fetched and is usable.
	ConditionDiscoveryReady = "DiscoveryReady"
	// ConditionSecretFound (IdentityProvider, SharedApplication): the
	// referenced Secret and key exist.
	ConditionSecretFound = "SecretFound"
)

// Condition reasons shared by several kinds.
const (
	// ReasonReconciled: everything the object asks for is in place.
	ReasonReconciled = "Reconciled"
	// ReasonReconciling: the operator is still working on the object.
	ReasonReconciling = "Reconciling"
	// ReasonDeleting: the object is being deleted.
	ReasonDeleting = "Deleting"
	// ReasonInvalidSpec: the object passed schema validation but cannot be
	// used as written; the message names the field.
	ReasonInvalidSpec = "InvalidSpec"
	// ReasonOrganizationNotFound: the object lives in a namespace that belongs
	// to no Organization, or refers to an Organization that does not exist.
	ReasonOrganizationNotFound = "OrganizationNotFound"
	// ReasonSecretNotFound: a referenced Secret or key does not exist.
	ReasonSecretNotFound = "SecretNotFound"
	// ReasonWaitingForServer: the object is valid but the OIDC server does not
	// serve its current generation yet.
	ReasonWaitingForServer = "WaitingForServer"
)

// Organization condition reasons.
const (
	// ReasonMultipleRoots: another Organization in the system namespace is the
	// root already; there is one root per installation.
	ReasonMultipleRoots = "MultipleRoots"
	// ReasonNamespaceConflict: a namespace with the organization's name exists
	// and does not belong to it; nothing in it is touched.
	ReasonNamespaceConflict = "NamespaceConflict"
	// ReasonNamespaceTerminating: the organization's namespace is still being
	// deleted (for example after the organization was deleted and re-created).
	ReasonNamespaceTerminating = "NamespaceTerminating"
	// ReasonParentNotReady: the parent organization has no place in the
	// hierarchy yet (it is new, in conflict or being deleted).
	ReasonParentNotReady = "ParentNotReady"
	// ReasonHierarchyCycle: following parents from this organization leads
	// back to it.
	ReasonHierarchyCycle = "HierarchyCycle"
	// ReasonDeletionBlocked: deletionPolicy is Block and child organizations
	// or users still exist; the message names them.
	ReasonDeletionBlocked = "DeletionBlocked"
	// ReasonRootOnlySetting: a setting that only the root organization may
	// carry (selfService, domainVerification) is set on a non-root one.
	ReasonRootOnlySetting = "RootOnlySetting"
	// ReasonNoDomains: the organization claims no domains.
	ReasonNoDomains = "NoDomains"
	// ReasonAllVerified: every claimed domain is verified.
	ReasonAllVerified = "AllVerified"
	// ReasonSuspended (condition Suspended): spec.suspended is set; nobody
	// of the organization's subtree can sign in.
	ReasonSuspended = "Suspended"
	// ReasonNotSuspended (condition Suspended): spec.suspended is not set.
	ReasonNotSuspended = "NotSuspended"
)

// DomainReason says why a claimed domain is not verified.
// +kubebuilder:validation:Enum=Pending;Conflict;Failed
type DomainReason string

const (
	// DomainPending: waiting for the DNS TXT record in verificationRecord.
	DomainPending DomainReason = "Pending"
	// DomainConflict: another organization holds the domain.
	DomainConflict DomainReason = "Conflict"
	// DomainFailed: the DNS check failed (see the message).
	DomainFailed DomainReason = "Failed"
)

// OrgUser, SharedApplication and IdentityProvider condition reasons.
const (
	// ReasonDuplicateEmail (OrgUser): another OrgUser of the organization has
	// the same email; emails are unique within an organization.
	ReasonDuplicateEmail = "DuplicateEmail"
	// ReasonDuplicateUsername (OrgUser): the username equals another
	// OrgUser's username or email in the organization.
	ReasonDuplicateUsername = "DuplicateUsername"
	// ReasonSharedOrganizationNotFound (SharedApplication): an organization
	// listed in spec.sharing.organizations does not exist in the registering
	// organization's subtree.
	ReasonSharedOrganizationNotFound = "SharedOrganizationNotFound"
)

// Labels and annotations the operator puts on what it creates.
const (
	// LabelOrganization names the organization a namespace or RBAC object
	// belongs to.
	LabelOrganization = "iam.orgkeeper.io/organization"
	// AnnotationOrganizationUID holds the UID of the Organization that owns a
	// namespace; a namespace without a matching UID is never touched.
	AnnotationOrganizationUID = "iam.orgkeeper.io/organization-uid"
	// LabelManagedBy marks objects created by the operator
	// (app.kubernetes.io/managed-by=orgkeeper).
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// ManagedByValue is the value of LabelManagedBy.
	ManagedByValue = "orgkeeper"
	// FinalizerOrganization holds an Organization until its subtree and
	// namespace are dealt with according to its deletionPolicy.
	FinalizerOrganization = "iam.orgkeeper.io/organization"
)

// SharedApplication condition reasons added with its reconciler.
const (
	// ReasonSecretConflict (SharedApplication): the Secret that would hold
	// the generated client secret exists and belongs to something else;
	// nothing in it is changed. Delete it, or name it in
	// spec.clientSecretRef to use it.
	ReasonSecretConflict = "SecretConflict"
)

// Reasons and conditions added with the token-claim rules, the login policy
// check and the IdentityProvider reconciler.
const (
	// ConditionClaimsRestricted (OrgUser): True when tokens carry less than
	// the spec says: groups that another part of the organization tree binds
	// as admins, or names with a reserved prefix, are left out of the groups
	// claim, or email_verified is false although spec.emailVerified is true
	// because the email's domain is not verified for the user's organization
	// or one of its descendants. The message names what was dropped and
	// why. It does not affect Ready: the user can sign in.
	ConditionClaimsRestricted = "ClaimsRestricted"
	// ReasonClaimsRestricted (OrgUser, ClaimsRestricted=True): see the
	// condition's message for what was dropped.
	ReasonClaimsRestricted = "ClaimsRestricted"
	// ReasonClaimsAsWritten (OrgUser, ClaimsRestricted=False): tokens carry
	// spec.groups and spec.emailVerified as written.
	ReasonClaimsAsWritten = "ClaimsAsWritten"

	// ReasonMFAUnavailable (Organization): the effective login.mfa is
	// Required, but Orgkeeper does not offer a second factor yet, so
	// password sign-ins to the organization are refused.
	ReasonMFAUnavailable = "MFAUnavailable"

	// ReasonIssuerUnreachable (IdentityProvider, DiscoveryReady False): the
	// issuer's discovery document could not be fetched: the provider did not
	// answer, answered with an error, too slowly or too much. It is retried
	// with backoff and clears on its own once the provider answers.
	ReasonIssuerUnreachable = "IssuerUnreachable"
	// ReasonDiscoveryInvalid (IdentityProvider, DiscoveryReady False): the
	// discovery document cannot be used: it names another issuer than
	// spec.oidc.issuer, an endpoint is missing or does not use https, or
	// spec.oidc.issuer itself is not allowed. The message says which; the
	// spec or the provider's configuration must change.
	ReasonDiscoveryInvalid = "DiscoveryInvalid"

	// ReasonPolicyWeakened (Organization): spec.login asks for less than an
	// ancestor sets for its subtree (mfa less strict, or password true where
	// an ancestor allows federated sign-in only). The ancestor's setting
	// applies; the message names the field.
	ReasonPolicyWeakened = "PolicyWeakened"
)

// The initial password's condition (OrgUser).
const (
	// ConditionInitialPasswordConsumed (OrgUser, while
	// spec.initialPasswordSecretRef is set): True once the password is
	// hashed into the credential store; the message says that the Secret
	// was deleted from the organization's namespace (or why it was kept).
	ConditionInitialPasswordConsumed = "InitialPasswordConsumed"
	// ReasonSecretDeleted (OrgUser, InitialPasswordConsumed=True): the
	// initial password Secret was deleted after its value was hashed.
	ReasonSecretDeleted = "SecretDeleted"
	// ReasonSecretKept (OrgUser, InitialPasswordConsumed=True): the
	// password is stored, but the Secret belongs to something else (it has
	// an owner or is not of type Opaque) and was left in place; it is never
	// read again.
	ReasonSecretKept = "SecretKept"
)

// The invitation's condition (OrgUser).
const (
	// ConditionInvitationSent (OrgUser, while spec.invitation.send is set
	// and no password is set): True once the invitation is in the outbox
	// (status.invitation says when, and until when its link works); False
	// with a reason saying why it was not sent or no longer works.
	ConditionInvitationSent = "InvitationSent"
	// ReasonInvitationQueued (InvitationSent=True): the invitation is in
	// the outbox or sent; the link works until status.invitation.expiresAt.
	ReasonInvitationQueued = "InvitationQueued"
	// ReasonInvitationExpired (InvitationSent=False): the link expired
	// before it was used; change AnnotationResendInvitation to send a new
	// one.
	ReasonInvitationExpired = "InvitationExpired"
	// ReasonMailNotConfigured (InvitationSent=False): the manager has no
	// outgoing mail (no --smtp-host) or no sign-in pages for the link to
	// lead to (no --issuer-url), so nothing is sent.
	ReasonMailNotConfigured = "MailNotConfigured"
	// ReasonInvitationBlocked (InvitationSent=False): the user cannot be
	// invited as written (disabled, or its email is not its own in the
	// organization); the message says what to fix.
	ReasonInvitationBlocked = "InvitationBlocked"
)
