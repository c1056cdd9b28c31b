package rules

import (
	"strings"
)

// EmailVerified is the email_verified claim of a user of the organization at
// orgPath: true only when the admin asserted it (spec.emailVerified) and
// the email's domain is verified for, that is held by, the user's
// organization or one of its descendants. holderPath returns the path of
// the organization holding a domain verified, or nil when none does.
//
// Why: spec.emailVerified is written by an organization admin, who could
// otherwise vouch for an address at another organization's domain, and a
// relying party that trusts verified emails would take the user for
// someone of that organization. unverifiedDomain is the email's domain
// when the assertion was dropped, for the OrgUser's status.
//
// snapshot.Build (the claim) and the OrgUser reconciler (the
// ClaimsRestricted condition) both call it.
func EmailVerified(specVerified bool, email string, orgPath []string, holderPath func(domain string) []string) (verified bool, unverifiedDomain string) {
	if !specVerified {
		return false, ""
	}
	d := EmailDomain(email)
	if d == "" {
		return false, ""
	}
	if h := holderPath(d); h != nil && InSubtree(h, orgPath) {
		return true, ""
	}
	return false, d
}

// EmailDomain returns the lower-cased domain of an email address (the part
// after the last '@', without a trailing dot), or "" when there is none.
func EmailDomain(email string) string {
	i := strings.LastIndexByte(email, '@')
	if i < 0 || i == len(email)-1 {
		return ""
	}
	return strings.TrimSuffix(strings.ToLower(email[i+1:]), ".")
}

// SameEmail reports whether a and b are the same address as Orgkeeper
// compares an address that proves who someone is (an upstream identity
// accepting an invitation, a confirmed registration): equal but for the
// case of ASCII letters. Unicode case folding is not used: it makes
// look-alikes equal (the long s "ſ" folds to "s", the Kelvin sign to
// "k"), so an address in another domain could pass for the invited one.
func SameEmail(a, b string) bool {
	return a != "" && lowerASCII(a) == lowerASCII(b)
}
