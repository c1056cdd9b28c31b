package v1alpha1

// Onboarding: invitations, password resets and self-registration.
const (
	// AnnotationResendInvitation, on an OrgUser with spec.invitation.send,
	// asks for a new invitation: whenever its value changes (any value up
	// to 63 characters; a timestamp is handy), the previous link stops
	// working and a new one is mailed, valid for the full period again.
	//
	//	kubectl annotate orguser alice iam.orgkeeper.io/resend-invitation="$(date +%s)" --overwrite
	AnnotationResendInvitation = "iam.orgkeeper.io/resend-invitation"

	// LabelSelfRegistered marks OrgUsers created by self-registration
	// (value "true").
	LabelSelfRegistered = "iam.orgkeeper.io/self-registered"

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
	// outgoing mail (no --smtp-host), so nothing is sent.
	ReasonMailNotConfigured = "MailNotConfigured"
	// ReasonInvitationBlocked (InvitationSent=False): the user cannot be
	// invited as written (disabled, or its email is not its own in the
	// organization); the message says what to fix.
	ReasonInvitationBlocked = "InvitationBlocked"
)
