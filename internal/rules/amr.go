package rules

import (
	"slices"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
)

// SecondFactorAMR are the amr values (RFC 8176) that count as a second
// factor.
var SecondFactorAMR = []string{"otp", "hwk", "swk", "mfa"}

// AMRSatisfies reports whether a sign-in that used the methods amr meets
// the MFA policy of the organization it is for: under Required, one of them
// must be a second factor. It is the one rule for both the login pages (may
// this sign-in, or this SSO session, complete an authorization) and the
// token endpoint, introspection and userinfo (may tokens of an earlier
// sign-in still be used after the policy became stricter).
func AMRSatisfies(policy iamv1.MFAPolicy, amr []string) bool {
	if policy != iamv1.MFARequired {
		return true
	}
	return slices.ContainsFunc(amr, func(m string) bool { return slices.Contains(SecondFactorAMR, m) })
}
