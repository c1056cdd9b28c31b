package rules

import (
	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
)

// mfaStrictness orders the MFA policies from the least to the most strict;
// a value that is not a policy is 0.
func mfaStrictness(p iamv1.MFAPolicy) int {
	switch p {
	case iamv1.MFADisabled:
		return 1
	case iamv1.MFAOptional:
		return 2
	case iamv1.MFARequired:
		return 3
	}
	return 0
}

// InheritMFA is an organization's effective login.mfa, given its parent's
// effective one and the value its own spec sets (a valid policy; the
// caller drops the rest). An organization's administrators may tighten what
// they inherit but not loosen it (Disabled < Optional < Required): a child
// that asks for less than its parent gets the parent's policy, and weakened
// is true so that its status can say so. Without this an admin of a
// sub-organization could switch off a second factor that an ancestor
// requires for the whole subtree.
func InheritMFA(parent, own iamv1.MFAPolicy) (effective iamv1.MFAPolicy, weakened bool) {
	if mfaStrictness(own) < mfaStrictness(parent) {
		return parent, true
	}
	return own, false
}

// InheritPassword is an organization's effective login.password, given its
// parent's effective one and the value its own spec sets. An ancestor that
// turns local passwords off (federated sign-in only) decides for its whole
// subtree: a child may turn them off too but not back on, and weakened is
// true when it asked to.
func InheritPassword(parent, own bool) (effective bool, weakened bool) {
	if own && !parent {
		return false, true
	}
	return own, false
}
