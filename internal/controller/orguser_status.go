package controller

import (
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
)

// userOutcome collects what one reconcile pass of an OrgUser found;
// setUserStatus turns it into status.state and conditions.
type userOutcome struct {
	organization check // the user lives in an organization's namespace
	identifiers  check // its email and username are its own in the organization
	password     check // the initial password, if any, is in the credential store
	served       check // the OIDC server serves this generation
	// err is an unexpected error that ends the pass; it is retried.
	err error
}

// readyChecks is the ordered chain that decides Ready.
func (o *userOutcome) readyChecks() []check {
	return []check{o.organization, o.identifiers, o.password, o.served}
}

// setUserStatus sets status.state and the Ready condition.
func setUserStatus(u *iamv1.OrgUser, out *userOutcome, now time.Time) {
	u.Status.State = userState(u, now)
	meta.SetStatusCondition(&u.Status.Conditions, readyCondition(u.Generation, out.readyChecks(), out.err,
		"the user is "+string(u.Status.State)))
}

// userState is where the user stands: Disabled by spec, Locked until
// status.lockedUntil, Invited while an invitation is asked for and no
// password is set, else Active.
func userState(u *iamv1.OrgUser, now time.Time) iamv1.OrgUserState {
	switch {
	case u.Spec.Disabled:
		return iamv1.OrgUserStateDisabled
	case u.Status.LockedUntil != nil && u.Status.LockedUntil.After(now):
		return iamv1.OrgUserStateLocked
	case u.Spec.Invitation != nil && u.Spec.Invitation.Send && !u.Status.PasswordSet:
		return iamv1.OrgUserStateInvited
	}
	return iamv1.OrgUserStateActive
}

// userIdentifiers are the names a user signs in with, lower case: the email
// and, when set, the username. Both are compared without regard to case.
func userIdentifiers(u *iamv1.OrgUser) []string {
	ids := []string{strings.ToLower(u.Spec.Email)}
	if un := strings.ToLower(u.Spec.Username); un != "" && un != ids[0] {
		ids = append(ids, un)
	}
	return ids
}

// olderUser orders users by creation time, then by name: of two users who
// claim the same email or username, the older keeps it.
func olderUser(a, b *iamv1.OrgUser) bool {
	ta, tb := a.CreationTimestamp.Time, b.CreationTimestamp.Time
	if !ta.Equal(tb) {
		return ta.Before(tb)
	}
	return a.Name < b.Name
}

// identifiersCheck decides whether u may sign in with its email and
// username, given holders: other users of its organization that share one of
// its identifiers and hold their own (a user refused for a duplicate holds
// nothing, so it cannot block a third one). Of two users who claim a name
// the older keeps it; the newer is refused and told which user holds the
// name. Only specs and creation times count, in the order the snapshot
// builder serves users, so the condition says what the server does.
func identifiersCheck(u *iamv1.OrgUser, holders []iamv1.OrgUser) check {
	email := strings.ToLower(u.Spec.Email)
	username := strings.ToLower(u.Spec.Username)
	if username == email {
		username = "" // a username equal to the user's own email is harmless
	}
	var emailHolder, usernameHolder *iamv1.OrgUser
	for i := range holders {
		o := &holders[i]
		if o.UID == u.UID || !olderUser(o, u) {
			continue
		}
		oEmail, oUsername := strings.ToLower(o.Spec.Email), strings.ToLower(o.Spec.Username)
		if email == oEmail || email == oUsername {
			if emailHolder == nil || olderUser(o, emailHolder) {
				emailHolder = o
			}
		}
		if username != "" && (username == oEmail || username == oUsername) {
			if usernameHolder == nil || olderUser(o, usernameHolder) {
				usernameHolder = o
			}
		}
	}
	switch {
	case emailHolder != nil:
		return failed(iamv1.ReasonDuplicateEmail,
			"spec.email %s is already the email or username of OrgUser %q, created earlier in this organization; "+
				"emails are unique within an organization (case is ignored), so this user cannot sign in until one of them changes",
			email, emailHolder.Name)
	case usernameHolder != nil:
		return failed(iamv1.ReasonDuplicateUsername,
			"spec.username %s is already the email or username of OrgUser %q, created earlier in this organization "+
				"(case is ignored); choose another username", username, usernameHolder.Name)
	}
	return passed(iamv1.ReasonReconciled, "email and username are unique in the organization")
}
