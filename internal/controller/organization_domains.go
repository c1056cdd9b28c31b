package controller

import (
	"fmt"
	"slices"
	"strings"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/rules"
	"github.com/orgkeeper/orgkeeper/internal/validation"
)

// This file holds the pure decisions about an organization's domains: which
// it holds, what its status says about each, and which Events a change
// makes. The DNS checks they weigh are made in organization_dnscheck.go.

// resolveDomains decides the state of each domain org claims. claimants maps
// each of org's domains to the organizations that claim it (org among them
// or not); checks holds the latest DNS check of org's own record for each
// domain (under DNS; nil under None or before any check). rules.DomainHolder
// decides who holds each domain, the same rule by which the snapshot routes
// logins: a domain stays with the organization whose status shows it
// verified, unless that organization's own check found its record gone;
// otherwise, under None, the oldest claimant gets it, and under DNS the
// oldest whose check found its record.
func resolveDomains(org *iamv1.Organization, mode iamv1.DomainVerificationMode,
	claimants map[iamv1.Domain][]*iamv1.Organization, checks map[iamv1.Domain]domainCheck) []iamv1.DomainStatus {
	if len(org.Spec.Domains) == 0 {
		return nil
	}
	out := make([]iamv1.DomainStatus, 0, len(org.Spec.Domains))
	for _, d := range org.Spec.Domains {
		st := iamv1.DomainStatus{Name: d, VerificationRecord: rules.DomainVerificationRecord(string(org.UID), string(d))}
		if err := validation.Domain(string(d)); err != nil {
			// The snapshot never routes a domain that fails validation
			// (stored before a CRD rule existed): say so rather than show
			// it verified.
			st.VerificationRecord = ""
			st.Reason = iamv1.DomainFailed
			st.Message = err.Error() + "; remove it from spec.domains or correct it"
			out = append(out, st)
			continue
		}
		check := checks[d]
		if mode == iamv1.DomainVerificationNone {
			check = domainCheck{}
		}
		claims := []rules.DomainClaim{{Org: &org.ObjectMeta, Verified: holdsDomain(org, d), Proof: check.proof}}
		for _, o := range claimants[d] {
			if o.UID != org.UID && slices.Contains(o.Spec.Domains, d) {
				claims = append(claims, rules.DomainClaim{Org: &o.ObjectMeta, Verified: holdsDomain(o, d)})
			}
		}
		switch holder := rules.DomainHolder(mode, claims); {
		case holder > 0:
			// The holder is not named: it may be a sibling or an ancestor,
			// which this organization's admins must not learn of. The
			// root's admins find it by the domain (kubectl get org -A).
			st.Reason = iamv1.DomainConflict
			st.Message = "another organization already holds this domain; it stays with that organization until it " +
				"releases it. Remove the domain from spec.domains, or ask the installation's administrators"
		case holder == 0:
			st.Verified = true
			if check.err != nil {
				st.Message = fmt.Sprintf("verified; the latest re-check got no answer (%v), so the domain stays verified "+
					"until a check answers; it is retried on its own", check.err)
			}
		case check.err != nil:
			st.Reason = iamv1.DomainFailed
			st.Message = fmt.Sprintf("the DNS check got no answer (%v); it is retried on its own, with growing pauses. "+
				"Check that Orgkeeper's resolver (--dns-resolver) is reachable", check.err)
		case check.proof == rules.ProofAbsent && (holdsDomain(org, d) || previousMessage(org, d) == recordGoneMessage):
			// Said until the record is back, not only in the pass that
			// saw it go.
			st.Reason = iamv1.DomainPending
			st.Message = recordGoneMessage
		default:
			st.Reason = iamv1.DomainPending
			st.Message = "publish the TXT record in verificationRecord to verify this domain; it is checked periodically"
		}
		out = append(out, st)
	}
	return out
}

// recordGoneMessage explains a domain that was verified until its record
// disappeared.
const recordGoneMessage = "the TXT record in verificationRecord is gone, so the domain no longer routes sign-ins; " +
	"publish it again to verify the domain"

// previousMessage is the message that o's status shows for domain d.
func previousMessage(o *iamv1.Organization, d iamv1.Domain) string {
	for _, s := range o.Status.Domains {
		if s.Name == d {
			return s.Message
		}
	}
	return ""
}

// holdsDomain reports whether the organization's status shows domain d
// verified: it holds d.
func holdsDomain(o *iamv1.Organization, d iamv1.Domain) bool {
	return slices.ContainsFunc(o.Status.Domains, func(s iamv1.DomainStatus) bool { return s.Name == d && s.Verified })
}

// domainsCheck summarises domain states as the DomainsVerified condition.
func domainsCheck(domains []iamv1.DomainStatus) check {
	if len(domains) == 0 {
		return passed(iamv1.ReasonNoDomains, "the organization claims no domains")
	}
	var conflict, invalid, pending, unchecked []string
	for _, d := range domains {
		switch {
		case d.Verified:
			if d.Message != "" {
				unchecked = append(unchecked, string(d.Name))
			}
		case d.Reason == iamv1.DomainConflict:
			conflict = append(conflict, string(d.Name))
		case d.Reason == iamv1.DomainFailed:
			invalid = append(invalid, string(d.Name))
		default:
			pending = append(pending, string(d.Name))
		}
	}
	switch {
	case len(conflict) > 0:
		return failed(string(iamv1.DomainConflict), "held by another organization: %s", strings.Join(conflict, ", "))
	case len(invalid) > 0:
		return failed(string(iamv1.DomainFailed), "not verified, see status.domains for why: %s", strings.Join(invalid, ", "))
	case len(pending) > 0:
		return failed(string(iamv1.DomainPending), "waiting for DNS verification: %s", strings.Join(pending, ", "))
	case len(unchecked) > 0:
		return passed(iamv1.ReasonAllVerified, "all %d domains are verified; the latest DNS re-check of %s got no answer "+
			"(see status.domains), they stay verified until a check answers", len(domains), strings.Join(unchecked, ", "))
	}
	return passed(iamv1.ReasonAllVerified, "all %d domains are verified", len(domains))
}

// Event reasons of domain state changes on an Organization.
const (
	EventDomainVerified    = "DomainVerified"
	EventDomainUnverified  = "DomainUnverified"
	EventDomainPending     = "DomainPending"
	EventDomainConflict    = "DomainConflict"
	EventDomainFailed      = "DomainCheckFailed"
	EventDomainCheckFailed = "DomainRecheckFailed"
)

// domainEvent is one Event to emit once the status that it reports is
// written.
type domainEvent struct {
	warning bool
	reason  string
	note    string
}

// domainEvents returns an Event for each domain whose state (verified,
// or the reason it is not) differs between the statuses before and after a
// pass, and for each verified domain whose re-check just began to fail.
// Domains that left spec.domains are released without an Event of their own:
// the spec change that dropped them is the user's act.
func domainEvents(before, after []iamv1.DomainStatus) []domainEvent {
	var out []domainEvent
	for _, a := range after {
		i := slices.IndexFunc(before, func(b iamv1.DomainStatus) bool { return b.Name == a.Name })
		var b iamv1.DomainStatus
		if i >= 0 {
			b = before[i]
		}
		switch {
		case a.Verified && !b.Verified:
			out = append(out, domainEvent{reason: EventDomainVerified,
				note: fmt.Sprintf("domain %s is verified: sign-ins with its email addresses go to this organization", a.Name)})
		case a.Verified && a.Message != "" && b.Message == "":
			out = append(out, domainEvent{warning: true, reason: EventDomainCheckFailed,
				note: fmt.Sprintf("domain %s stays verified, but its DNS re-check got no answer; see status.domains", a.Name)})
		case a.Verified:
		case b.Verified && a.Reason == iamv1.DomainPending:
			out = append(out, domainEvent{warning: true, reason: EventDomainUnverified,
				note: fmt.Sprintf("the TXT record of domain %s is gone: the domain no longer routes sign-ins here", a.Name)})
		case a.Reason == b.Reason && (i >= 0 || a.Reason == ""):
		case a.Reason == iamv1.DomainConflict:
			out = append(out, domainEvent{warning: true, reason: EventDomainConflict,
				note: fmt.Sprintf("domain %s is held by another organization", a.Name)})
		case a.Reason == iamv1.DomainFailed:
			out = append(out, domainEvent{warning: true, reason: EventDomainFailed,
				note: fmt.Sprintf("domain %s could not be checked; see status.domains", a.Name)})
		case a.Reason == iamv1.DomainPending:
			out = append(out, domainEvent{reason: EventDomainPending,
				note: fmt.Sprintf("domain %s waits for its TXT record (see status.domains[].verificationRecord)", a.Name)})
		}
	}
	return out
}
