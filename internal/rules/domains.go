package rules

import (
	"crypto/sha256"
	"encoding/base32"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
)

// DomainProof is what the latest DNS check of one organization's TXT record
// for one domain found.
type DomainProof int

const (
	// ProofUnknown: no check answered (none ran yet, or the resolver failed).
	// The claim keeps the state its status shows.
	ProofUnknown DomainProof = iota
	// ProofFound: the resolver answered and the record holds the
	// organization's value.
	ProofFound
	// ProofAbsent: the resolver answered and the record (or the name) does
	// not hold the organization's value: the domain's owner withdrew it, or
	// never published it.
	ProofAbsent
)

// DomainClaim is one organization's claim of a domain (the domain is in its
// spec.domains).
type DomainClaim struct {
	// Org is the claiming Organization's metadata.
	Org *metav1.ObjectMeta
	// Verified is true when the organization's status already shows the
	// domain verified: it holds the domain.
	Verified bool
	// Proof is the latest DNS check of the claimant's own record. Only the
	// reconciler of that organization knows it; everyone else (the other
	// claimants' reconcilers, the snapshot) passes ProofUnknown and so
	// trusts the claimant's status, which that reconciler wrote from it.
	Proof DomainProof
}

// holds reports whether the claim holds its domain under mode: its status
// shows it verified and, under DNS, the latest check did not find the
// record gone.
func (c DomainClaim) holds(mode iamv1.DomainVerificationMode) bool {
	return c.Verified && (mode == iamv1.DomainVerificationNone || c.Proof != ProofAbsent)
}

// DomainHolder decides which of the organizations claiming one domain holds
// it, and returns its index in claims, or -1 when none does yet.
//
// A domain verified for an organization stays with it, whatever the age or
// name of a later claimant and under either verification mode: among the
// claimants that hold it, the oldest (Older) keeps it; several can only
// show it after a race (two checks that found their records before either
// status was written) or a hand-edited status. Under DNS a holder whose
// record the latest check found gone holds it no more. Only when nobody
// holds it does anyone get it: under None the oldest claimant, under DNS the
// oldest claimant whose latest check found its record.
func DomainHolder(mode iamv1.DomainVerificationMode, claims []DomainClaim) int {
	if mode == "" {
		mode = iamv1.DomainVerificationDNS
	}
	if h := oldest(claims, func(c DomainClaim) bool { return c.holds(mode) }); h >= 0 {
		return h
	}
	if mode == iamv1.DomainVerificationNone {
		return oldest(claims, func(DomainClaim) bool { return true })
	}
	return oldest(claims, func(c DomainClaim) bool { return c.Proof == ProofFound })
}

// oldest returns the index of the oldest claim that ok accepts, or -1.
func oldest(claims []DomainClaim, ok func(DomainClaim) bool) int {
	found := -1
	for i, c := range claims {
		if ok(c) && (found < 0 || Older(c.Org, claims[found].Org) < 0) {
			found = i
		}
	}
	return found
}

// DomainChallengePrefix is the label under which an organization publishes
// the TXT record that proves it controls a domain.
const DomainChallengePrefix = "_orgkeeper-challenge."

// DomainChallengeName is the DNS name whose TXT record verifies domain.
func DomainChallengeName(domain string) string {
	return DomainChallengePrefix + strings.ToLower(domain)
}

// DomainVerificationValue is the TXT value that proves control of domain for
// the Organization with the given UID. It is derived from the UID, which the
// API server assigns at random when the Organization is created: so it is
// stable for the organization's life, differs between organizations and
// domains (one organization's published record never verifies another's
// claim, nor a re-created organization of the same name), cannot be known
// before the Organization exists, and, being a hash, reveals nothing about
// the organization to whoever reads the public DNS record.
func DomainVerificationValue(uid, domain string) string {
	sum := sha256.Sum256([]byte("orgkeeper-domain-verification\x00" + uid + "\x00" + strings.ToLower(domain)))
	return "orgkeeper-verify=" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:20]))
}

// DomainVerificationRecord is the record as status.domains[].verificationRecord
// shows it: "<name> TXT <value>".
func DomainVerificationRecord(uid, domain string) string {
	return DomainChallengeName(domain) + " TXT " + DomainVerificationValue(uid, domain)
}
