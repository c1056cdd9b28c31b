package rules

import (
	"fmt"
	"slices"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
)

// SwitchRequest is what an organization switch (RFC 8693 token exchange
// with organization=<target>) is decided on: who asks, where they want to
// act, and what the application and the target organization allow.
type SwitchRequest struct {
	// UserPath is status.path of the organization of the user whose
	// token is exchanged (the user's own organization).
	UserPath []string
	// Admin is true when the user administers that organization
	// (Administers: the admin role, or a subject of its spec.admins).
	Admin bool
	// Target is the requested organization's name, as the client sent it.
	Target string
	// TargetPath is status.path of the requested organization; nil when no
	// organization of that name is served.
	TargetPath []string
	// Shared is true when the application is shared with the target.
	Shared bool
	// TargetSuspended is true when the target or one of its ancestors is
	// suspended.
	TargetSuspended bool
	// TargetMFA is the target's effective login.mfa policy.
	TargetMFA iamv1.MFAPolicy
	// AMR are the methods of the sign-in the exchanged token rests on.
	AMR []string
}

// SwitchRefusal says why an organization switch is refused; SwitchAllowed
// when it is not.
type SwitchRefusal int

// The reasons DecideSwitch gives, in the order it checks them.
const (
	SwitchAllowed SwitchRefusal = iota
	// SwitchNotAdmin: the user administers no organization.
	SwitchNotAdmin
	// SwitchSameOrganization: the target is the user's own organization,
	// which the user's token is already for.
	SwitchSameOrganization
	// SwitchNotBelow: the target is not a descendant of the user's
	// organization (an ancestor, a sibling, a cousin) or does not exist.
	SwitchNotBelow
	// SwitchNotShared: the application is not shared with the target.
	SwitchNotShared
	// SwitchSuspended: the target or an organization above it is suspended.
	SwitchSuspended
	// SwitchSecondFactorRequired: the target requires a second factor
	// that the sign-in did not use.
	SwitchSecondFactorRequired
)

// SwitchDecision is DecideSwitch's answer. Message is a sentence for the
// client (an OAuth error_description); it names only the requested
// organization, and says the same for an organization that does not exist
// as for one outside the user's subtree.
type SwitchDecision struct {
	Refusal SwitchRefusal
	Message string
}

// Allowed reports whether the switch may go ahead.
func (d SwitchDecision) Allowed() bool { return d.Refusal == SwitchAllowed }

// DecideSwitch decides whether a user may get tokens for the organization
// at TargetPath by exchanging a token of their own organization: only an
// administrator, only into a strict descendant of their own organization
// (the subtree the operator's RBAC already lets them administer), only
// where the application is shared, not into a suspended organization, and
// only with a sign-in that meets the target's MFA policy (AMRSatisfies).
//
// The order matters for what a refusal tells: a non-administrator learns
// nothing about the target, and an organization outside the user's subtree
// gets the same answer whether or not it exists.
func DecideSwitch(r SwitchRequest) SwitchDecision {
	switch {
	case !r.Admin || len(r.UserPath) == 0:
		return SwitchDecision{SwitchNotAdmin, "only an organization's administrators may switch into its sub-organizations"}
	case slices.Equal(r.TargetPath, r.UserPath):
		return SwitchDecision{SwitchSameOrganization, fmt.Sprintf("the subject token is already for organization %q; use it as it is", r.Target)}
	case len(r.TargetPath) <= len(r.UserPath) || !InSubtree(r.TargetPath, r.UserPath):
		return SwitchDecision{SwitchNotBelow, fmt.Sprintf("organization %q is not below your organization; you may switch only into organizations you administer", r.Target)}
	case !r.Shared:
		return SwitchDecision{SwitchNotShared, fmt.Sprintf("the application is not shared with organization %q", r.Target)}
	case r.TargetSuspended:
		return SwitchDecision{SwitchSuspended, fmt.Sprintf("organization %q is suspended", r.Target)}
	case !AMRSatisfies(r.TargetMFA, r.AMR):
		return SwitchDecision{SwitchSecondFactorRequired, fmt.Sprintf("organization %q requires a second factor, which this sign-in did not use; sign in again with it", r.Target)}
	}
	return SwitchDecision{Refusal: SwitchAllowed}
}

// SwitchGroups is the groups claim of an administrator who switched into
// the organization at targetPath: its AdminGroup only. The administrator's
// own spec.groups belong to their own organization and mean nothing (or
// something else) in the target, and the admin group of their own
// organization would grant, through the operator's RBAC, the whole subtree
// the switch is meant to narrow.
func SwitchGroups(targetPath []string) []string {
	if len(targetPath) == 0 {
		return []string{}
	}
	return []string{AdminGroup(targetPath[len(targetPath)-1])}
}
