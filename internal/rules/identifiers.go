package rules

import (
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
)

// Claimant is what the identifier rule reads of an OrgUser: its identity
// (for Older) and the two names it signs in with.
type Claimant struct {
	Meta     *metav1.ObjectMeta
	Email    string
	Username string
}

// ClaimantOf returns the Claimant of an OrgUser.
func ClaimantOf(u *iamv1.OrgUser) Claimant {
	return Claimant{Meta: &u.ObjectMeta, Email: u.Spec.Email, Username: u.Spec.Username}
}

// Identifiers are the names c signs in with, lower case: the email and,
// when set and different from it, the username. Both are compared without
// regard to case, so Alice@ACME.example and alice@acme.example are one name.
func (c Claimant) Identifiers() []string {
	ids := []string{strings.ToLower(c.Email)}
	if un := strings.ToLower(c.Username); un != "" && un != ids[0] {
		ids = append(ids, un)
	}
	return ids
}

// IdentifierConflict is why a user may not sign in with its identifiers.
// The zero value means there is no conflict.
type IdentifierConflict struct {
	// Reason is iamv1.ReasonDuplicateEmail or iamv1.ReasonDuplicateUsername.
	Reason string
	// Holder is the name of the OrgUser that keeps the contested name.
	Holder string
	// Message says what happened and what to do, for the user's status.
	Message string
}

// Conflicted reports whether there is a conflict.
func (c IdentifierConflict) Conflicted() bool { return c.Reason != "" }

// UserIdentifierConflict decides whether u may sign in with its email and
// username in its organization. holders are other users of the same
// organization that share one of u's identifiers and hold their own: a user
// refused for a duplicate holds nothing, so it cannot block a third one.
// Only holders older than u (Older) count: of two users who claim a name,
// the older keeps it, whichever of them uses it as email or as username.
// A username equal to the user's own email is harmless.
//
// The OrgUser reconciler (status) and snapshot.Build (what the issuer
// serves) both decide with this function.
func UserIdentifierConflict(u Claimant, holders []Claimant) IdentifierConflict {
	email := strings.ToLower(u.Email)
	username := strings.ToLower(u.Username)
	if username == email {
		username = ""
	}
	var emailHolder, usernameHolder *Claimant
	for i := range holders {
		o := &holders[i]
		if o.Meta == nil || u.Meta == nil || (o.Meta.UID != "" && o.Meta.UID == u.Meta.UID) || Older(o.Meta, u.Meta) >= 0 {
			continue
		}
		oEmail, oUsername := strings.ToLower(o.Email), strings.ToLower(o.Username)
		if email == oEmail || email == oUsername {
			if emailHolder == nil || Older(o.Meta, emailHolder.Meta) < 0 {
				emailHolder = o
			}
		}
		if username != "" && (username == oEmail || username == oUsername) {
			if usernameHolder == nil || Older(o.Meta, usernameHolder.Meta) < 0 {
				usernameHolder = o
			}
		}
	}
	switch {
	case emailHolder != nil:
		return IdentifierConflict{Reason: iamv1.ReasonDuplicateEmail, Holder: emailHolder.Meta.Name,
			Message: fmt.Sprintf("spec.email %s is already the email or username of OrgUser %q, created earlier in this organization; "+
				"emails are unique within an organization (case is ignored), so this user cannot sign in until one of them changes",
				email, emailHolder.Meta.Name)}
	case usernameHolder != nil:
		return IdentifierConflict{Reason: iamv1.ReasonDuplicateUsername, Holder: usernameHolder.Meta.Name,
			Message: fmt.Sprintf("spec.username %s is already the email or username of OrgUser %q, created earlier in this organization "+
				"(case is ignored); choose another username", username, usernameHolder.Meta.Name)}
	}
	return IdentifierConflict{}
}
