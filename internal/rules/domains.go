package rules

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
)

// DomainClaim is one organization's claim of a domain (the domain is in its
// spec.domains).
type DomainClaim struct {
	// Org is the claiming Organization's metadata.
	Org *metav1.ObjectMeta
	// Verified is true when the organization's status already shows the
	// domain verified: it holds the domain.
	Verified bool
}

// DomainHolder decides which of the organizations claiming one domain holds
// it, and returns its index in claims, or -1 when none does yet.
//
// A domain verified for an organization stays with it, whatever the age or
// name of a later claimant and under either verification mode: among the
// claimants whose status shows it verified, the oldest (Older) keeps it;
// several can only show it after a race or a hand-edited status. Only when
// nobody holds it does anyone get it: under None the oldest claimant, under
// DNS nobody until a TXT record verifies it.
func DomainHolder(mode iamv1.DomainVerificationMode, claims []DomainClaim) int {
	holder := -1
	for i, c := range claims {
		if c.Verified && (holder < 0 || Older(c.Org, claims[holder].Org) < 0) {
			holder = i
		}
	}
	if holder >= 0 || mode != iamv1.DomainVerificationNone {
		return holder
	}
	for i, c := range claims {
		if holder < 0 || Older(c.Org, claims[holder].Org) < 0 {
			holder = i
		}
	}
	return holder
}
