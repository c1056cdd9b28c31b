package snapshot

import (
	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
)

// reportLoginPolicies records a Problem for every served organization whose
// effective login policy cannot be honoured by this version: login.mfa
// Required, while no second factor exists yet. The login pages refuse
// password sign-ins to such an organization (rather than issue tokens
// with amr [pwd] that the policy forbids), and its status must say why.
func (b *builder) reportLoginPolicies() {
	if len(b.s.preorder) == 0 {
		return
	}
	// Where the policy is set: the organization itself or the nearest
	// ancestor that sets login.mfa to the value that applies (a value that
	// would loosen an ancestor's does not count: the ancestor's applies).
	setsMFA := make(map[string]bool, len(b.in.Organizations))
	for i := range b.in.Organizations {
		c := &b.in.Organizations[i]
		if o := b.s.orgs[c.Name]; o != nil && o.UID == c.UID && c.Spec.Login != nil && c.Spec.Login.MFA == o.Login.MFA {
			setsMFA[c.Name] = true
		}
	}
	for _, o := range b.s.preorder {
		if o.Login.MFA != iamv1.MFARequired {
			continue
		}
		from := "spec.login.mfa is Required"
		for a := o; a != nil; a = a.Parent {
			if setsMFA[a.Name] {
				if a != o {
					from = "spec.login.mfa is inherited as Required from organization " + a.Name
				}
				break
			}
		}
		b.orgProblem(o, iamv1.ReasonMFAUnavailable,
			"%s, but this version of Orgkeeper cannot enrol or check a second factor yet, so password sign-ins to this organization are refused; "+
				"set spec.login.mfa to Optional or Disabled to allow them until MFA is available", from)
	}
}
