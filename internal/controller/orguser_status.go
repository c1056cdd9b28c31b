package controller

import (
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/rules"
)

// userOutcome collects what one reconcile pass of an OrgUser found;
// setUserStatus turns it into status.state and conditions.
type userOutcome struct {
	organization check // the user lives in an organization's namespace
	identifiers  check // its email and username are its own in the organization
	password     check // the initial password, if any, is in the credential store
	served       check // the OIDC server serves this generation
	// initialSecret says what became of the initial password Secret once
	// the password is stored (deleted, or kept and why).
	initialSecret check
	// invitation is the InvitationSent condition's check; it has not run
	// when no invitation is asked for (or it was accepted).
	invitation check
	// claims is what the token-claim rules leave out (ClaimsRestricted).
	claims claimsOutcome
	// err is an unexpected error that ends the pass; it is retried.
	err error
}

// readyChecks is the ordered chain that decides Ready.
func (o *userOutcome) readyChecks() []check {
	return []check{o.organization, o.identifiers, o.password, o.served}
}

// setUserStatus sets status.state and the Ready, ClaimsRestricted and
// InitialPasswordConsumed conditions.
func setUserStatus(u *iamv1.OrgUser, out *userOutcome, now time.Time) {
	u.Status.State = userState(u, now)
	meta.SetStatusCondition(&u.Status.Conditions, readyCondition(u.Generation, out.readyChecks(), out.err,
		"the user is "+string(u.Status.State)))
	meta.SetStatusCondition(&u.Status.Conditions, claimsCondition(u.Generation, out.claims))
	if out.invitation.ran {
		meta.SetStatusCondition(&u.Status.Conditions, invitationCondition(u.Generation, out.invitation))
	} else if out.err == nil {
		meta.RemoveStatusCondition(&u.Status.Conditions, iamv1.ConditionInvitationSent)
	}
	if c, ok := initialPasswordCondition(u, out); ok {
		meta.SetStatusCondition(&u.Status.Conditions, c)
	} else {
		meta.RemoveStatusCondition(&u.Status.Conditions, iamv1.ConditionInitialPasswordConsumed)
	}
}

// revokeOnDisable ends every session of a user that this pass sees
// disabled for the first time (status.state was not Disabled yet): it sets
// status.sessionsRevokedAt, which the server compares with each session's
// and refresh token's authentication time (snapshot.User.SessionRevoked).
// Re-enabling keeps the time, so nothing issued before it comes back.
func revokeOnDisable(u *iamv1.OrgUser, now time.Time) {
	if u.Spec.Disabled && u.Status.State != iamv1.OrgUserStateDisabled {
		t := metav1.NewTime(rules.SessionsRevokedAt(now))
		u.Status.SessionsRevokedAt = &t
	}
}

// userState is where the user stands: Disabled by spec, Locked until
// status.lockedUntil, Invited while an invitation is asked for and the
// user has neither a password nor a linked identity, else Active.
func userState(u *iamv1.OrgUser, now time.Time) iamv1.OrgUserState {
	switch {
	case u.Spec.Disabled:
		return iamv1.OrgUserStateDisabled
	case u.Status.LockedUntil != nil && u.Status.LockedUntil.After(now):
		return iamv1.OrgUserStateLocked
	case u.Spec.Invitation != nil && u.Spec.Invitation.Send && !u.Status.PasswordSet && len(u.Status.FederatedIdentities) == 0:
		return iamv1.OrgUserStateInvited
	}
	return iamv1.OrgUserStateActive
}

// userIdentifiers are the names a user signs in with (rules.Claimant).
func userIdentifiers(u *iamv1.OrgUser) []string { return rules.ClaimantOf(u).Identifiers() }

// identifiersCheck decides whether u may sign in with its email and
// username, given holders: other users of its organization that share one of
// its identifiers and hold their own. The rule is
// rules.UserIdentifierConflict, by which the snapshot builder serves users
// too, so the condition says what the server does.
func identifiersCheck(u *iamv1.OrgUser, holders []iamv1.OrgUser) check {
	cs := make([]rules.Claimant, len(holders))
	for i := range holders {
		cs[i] = rules.ClaimantOf(&holders[i])
	}
	if c := rules.UserIdentifierConflict(rules.ClaimantOf(u), cs); c.Conflicted() {
		return failed(c.Reason, "%s", c.Message)
	}
	return passed(iamv1.ReasonReconciled, "email and username are unique in the organization")
}

// claimsOutcome is what the token-claim rules leave out of the user's
// tokens (rules.TokenGroups, rules.EmailVerified).
type claimsOutcome struct {
	ran              bool
	dropped          []rules.DroppedGroup
	unverifiedDomain string
}

// claimsCondition is the ClaimsRestricted condition: True, naming what was
// dropped and why, when tokens carry less than the spec says. It never
// names anything but group names and a domain, which the spec holds anyway.
func claimsCondition(gen int64, c claimsOutcome) metav1.Condition {
	cond := metav1.Condition{Type: iamv1.ConditionClaimsRestricted, ObservedGeneration: gen}
	if !c.ran {
		cond.Status, cond.Reason, cond.Message = metav1.ConditionUnknown, iamv1.ReasonReconciling, "not checked yet"
		return cond
	}
	var parts []string
	var reserved, foreign []string
	for _, d := range c.dropped {
		if d.BoundBy == "" {
			reserved = append(reserved, fmt.Sprintf("%q", d.Group))
		} else {
			foreign = append(foreign, fmt.Sprintf("%q (an admin group of organization %q)", d.Group, d.BoundBy))
		}
	}
	if len(foreign) > 0 {
		parts = append(parts, "spec.groups "+strings.Join(foreign, ", ")+
			" are left out of the groups claim: a group that an organization outside this one's subtree binds as admins is never put into this user's tokens")
	}
	if len(reserved) > 0 {
		parts = append(parts, "spec.groups "+strings.Join(reserved, ", ")+
			" are left out of the groups claim: names starting with system: or orgkeeper: are reserved")
	}
	if c.unverifiedDomain != "" {
		parts = append(parts, fmt.Sprintf("email_verified is false although spec.emailVerified is true: the domain %s is not a verified domain "+
			"of this organization or one of its descendants", c.unverifiedDomain))
	}
	if len(parts) == 0 {
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, iamv1.ReasonClaimsAsWritten,
			"tokens carry spec.groups and spec.emailVerified as written"
		return cond
	}
	cond.Status, cond.Reason, cond.Message = metav1.ConditionTrue, iamv1.ReasonClaimsRestricted, strings.Join(parts, "; ")
	return cond
}

// initialPasswordCondition is the InitialPasswordConsumed condition, set
// while spec.initialPasswordSecretRef is: True once the password is hashed
// into the credential store (the message says whether the Secret was
// deleted), else the password check's failure.
func initialPasswordCondition(u *iamv1.OrgUser, out *userOutcome) (metav1.Condition, bool) {
	ref := u.Spec.InitialPasswordSecretRef
	if ref == nil {
		return metav1.Condition{}, false
	}
	cond := metav1.Condition{Type: iamv1.ConditionInitialPasswordConsumed, ObservedGeneration: u.Generation}
	switch {
	case u.Status.PasswordSet && out.initialSecret.ran:
		cond.Status, cond.Reason, cond.Message = metav1.ConditionTrue, out.initialSecret.reason, out.initialSecret.message
	case u.Status.PasswordSet:
		cond.Status, cond.Reason, cond.Message = metav1.ConditionTrue, iamv1.ReasonReconciled,
			"the user has a password; spec.initialPasswordSecretRef is not read again"
	case out.password.ran && !out.password.ok:
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, out.password.reason, out.password.message
	default:
		cond.Status, cond.Reason, cond.Message = metav1.ConditionUnknown, iamv1.ReasonReconciling, "not checked yet"
	}
	return cond, true
}

// invitationCondition is the InvitationSent condition from its check.
func invitationCondition(gen int64, c check) metav1.Condition {
	cond := metav1.Condition{Type: iamv1.ConditionInvitationSent, ObservedGeneration: gen,
		Status: metav1.ConditionFalse, Reason: c.reason, Message: c.message}
	if c.ok {
		cond.Status = metav1.ConditionTrue
	}
	return cond
}
