package controller

import (
	"context"
	"crypto/subtle"
	"errors"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/dnsverify"
	"github.com/orgkeeper/orgkeeper/internal/rules"
	"github.com/orgkeeper/orgkeeper/internal/validation"
)

// DefaultDomainRecheckPeriod is how often the TXT record of a verified domain
// is looked up again, so that a record that disappears unverifies it.
const DefaultDomainRecheckPeriod = 5 * time.Minute

// Pauses between DNS checks of one domain.
const (
	// pendingRecheckCap bounds the pause between checks of a domain the
	// organization does not hold, so that a record just published verifies
	// it soon, whatever the recheck period.
	pendingRecheckCap = time.Minute
	// domainFirstRetry is the wait after a first failed check; it doubles
	// with every further failure, up to the domain's usual pause.
	domainFirstRetry = time.Second
	// forcedRecheckGap is the least time between two checks of one domain
	// that spec changes force: an organization admin who patches the object
	// in a loop must not turn Orgkeeper into a DNS query pump.
	forcedRecheckGap = 5 * time.Second
	// domainCheckParallelism bounds the lookups of one pass (an
	// organization claims at most 50 domains).
	domainCheckParallelism = 8
)

// domainCheck is the latest DNS check of one organization's record for one
// domain.
type domainCheck struct {
	at         time.Time
	generation int64
	proof      rules.DomainProof
	err        error // the resolver gave no answer; proof is ProofUnknown
	failures   int   // consecutive failures, for the backoff
}

// pause is how long after c the next check is due: the recheck period for a
// domain the organization holds, at most pendingRecheckCap for one it does
// not, and after failures an exponential backoff capped at that.
func (c domainCheck) pause(period time.Duration, held bool) time.Duration {
	usual := period
	if !held {
		usual = min(period, pendingRecheckCap)
	}
	if c.err == nil {
		return usual
	}
	wait := domainFirstRetry
	for i := 1; i < c.failures && wait < usual; i++ {
		wait *= 2
	}
	return min(wait, usual)
}

// domainChecks remembers the latest check of every organization's domains,
// so that a reconcile triggered by anything else does not ask DNS again
// before a check is due. Only the leader reconciles, so a new leader starts
// afresh and checks each domain once.
type domainChecks struct {
	mu    sync.Mutex
	byOrg map[types.UID]map[iamv1.Domain]domainCheck
}

func (d *domainChecks) get(uid types.UID) map[iamv1.Domain]domainCheck {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[iamv1.Domain]domainCheck, len(d.byOrg[uid]))
	for k, v := range d.byOrg[uid] {
		out[k] = v
	}
	return out
}

func (d *domainChecks) put(uid types.UID, checks map[iamv1.Domain]domainCheck) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.byOrg == nil {
		d.byOrg = map[types.UID]map[iamv1.Domain]domainCheck{}
	}
	if len(checks) == 0 {
		delete(d.byOrg, uid)
		return
	}
	d.byOrg[uid] = checks
}

func (d *domainChecks) forget(uid types.UID) { d.put(uid, nil) }

// checkDomains looks up the TXT record of each of org's domains whose check
// is due and returns the latest check of every domain, and how long until
// the next one is due. A check is due when the domain is new, when the
// organization's spec changed and it does not hold the domain (so editing
// the object asks again at once), or when its pause has passed.
func (r *OrganizationReconciler) checkDomains(ctx context.Context, org *iamv1.Organization) (map[iamv1.Domain]domainCheck, time.Duration) {
	if r.DNS == nil {
		return nil, 0
	}
	now, period := r.now(), r.domainRecheckPeriod()
	last := r.domainChecks.get(org.UID)
	checks := make(map[iamv1.Domain]domainCheck, len(org.Spec.Domains))
	var due []iamv1.Domain
	var next time.Duration
	for _, d := range org.Spec.Domains {
		if validation.Domain(string(d)) != nil {
			continue
		}
		held := holdsDomain(org, d)
		c, ok := last[d]
		if ok && (held || c.generation == org.Generation || now.Sub(c.at) < forcedRecheckGap) {
			if at := c.at.Add(c.pause(period, held)); now.Before(at) {
				checks[d] = c
				if wait := at.Sub(now); next == 0 || wait < next {
					next = wait
				}
				continue
			}
		}
		checks[d] = c // the previous failures count towards the backoff
		due = append(due, d)
	}

	results := make([]domainCheck, len(due))
	var wg sync.WaitGroup
	sem := make(chan struct{}, domainCheckParallelism)
	for i, d := range due {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			results[i] = r.lookupDomain(ctx, org, d)
		}()
	}
	wg.Wait()
	for i, d := range due {
		c := results[i]
		c.at, c.generation = now, org.Generation
		if c.err != nil {
			c.failures = checks[d].failures + 1
		}
		checks[d] = c
		if wait := c.pause(period, holdsDomain(org, d)); next == 0 || wait < next {
			next = wait
		}
	}
	r.domainChecks.put(org.UID, checks)
	return checks, next
}

// lookupDomain asks DNS whether org's record for d is published. The value is
// public (it is in status and in DNS), but it is compared in constant time
// all the same, as every proof is.
func (r *OrganizationReconciler) lookupDomain(ctx context.Context, org *iamv1.Organization, d iamv1.Domain) domainCheck {
	values, err := r.DNS.LookupTXT(ctx, rules.DomainChallengeName(string(d)))
	switch {
	case errors.Is(err, dnsverify.ErrNotFound):
		return domainCheck{proof: rules.ProofAbsent}
	case err != nil:
		return domainCheck{proof: rules.ProofUnknown, err: err}
	}
	want := []byte(rules.DomainVerificationValue(string(org.UID), string(d)))
	found := false
	for _, v := range values {
		if subtle.ConstantTimeCompare([]byte(v), want) == 1 {
			found = true
		}
	}
	if found {
		return domainCheck{proof: rules.ProofFound}
	}
	return domainCheck{proof: rules.ProofAbsent}
}

func (r *OrganizationReconciler) domainRecheckPeriod() time.Duration {
	if r.DomainRecheckPeriod > 0 {
		return r.DomainRecheckPeriod
	}
	return DefaultDomainRecheckPeriod
}

// resolveDomains decides which claimed domains the organization holds, after
// the DNS checks that are due under domainVerification DNS, and returns how
// long until the next check is due (zero: none is).
func (r *OrganizationReconciler) resolveDomains(ctx context.Context, org, root *iamv1.Organization, out *orgOutcome) (time.Duration, error) {
	mode := root.Spec.DomainVerification
	if mode == "" {
		mode = iamv1.DomainVerificationDNS
	}
	claimants := map[iamv1.Domain][]*iamv1.Organization{}
	for _, d := range org.Spec.Domains {
		list := &iamv1.OrganizationList{}
		if err := r.List(ctx, list, client.MatchingFields{indexOrgDomain: string(d)}); err != nil {
			return 0, err
		}
		for i := range list.Items {
			claimants[d] = append(claimants[d], &list.Items[i])
		}
	}
	var checks map[iamv1.Domain]domainCheck
	var recheck time.Duration
	if mode == iamv1.DomainVerificationDNS {
		checks, recheck = r.checkDomains(ctx, org)
	} else {
		r.domainChecks.forget(org.UID)
	}
	before := org.Status.Domains
	org.Status.Domains = resolveDomains(org, mode, claimants, checks)
	out.domains = domainsCheck(org.Status.Domains)
	out.domainEvents = domainEvents(before, org.Status.Domains)
	return recheck, nil
}

// emitDomainEvents records the pass's domain Events on the Organization.
func (r *OrganizationReconciler) emitDomainEvents(org *iamv1.Organization, evs []domainEvent) {
	if r.Recorder == nil {
		return
	}
	for _, e := range evs {
		typ := corev1.EventTypeNormal
		if e.warning {
			typ = corev1.EventTypeWarning
		}
		r.Recorder.Eventf(org, nil, typ, e.reason, "VerifyDomain", "%s", e.note)
	}
}
