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
)
